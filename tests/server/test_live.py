"""The server under load: one encode per tile under a burst, a bounded cache, hot swap with no
failed request, gunicorn, and no 500 for any path."""

from __future__ import annotations

import functools
import shutil
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import mapbox_vector_tile
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from crimetiles.server.app import create_app
from crimetiles.server.config import ServerConfig
from crimetiles.server.context import live_build
from tests.conftest import serve_in_thread
from tests.server.builds import build_tracts
from tests.server.sample_routes import SAMPLE_ARGUMENTS, fill_rule, route_rules, rule_variables
from tests.server.served import readme_command, serving

COLD_TILE = (15, 9202, 12868)  # downtown Durham, above the archive's zooms


def test_burst_on_a_cold_tile_encodes_it_once(durham_build):
    """16 threads ask for one tile at once: one encodes it, the others wait for it or find it
    cached. They start spinning, not blocked, and switch every 10 us instead of 5 ms, so that
    the others ask while the first encodes (woken from a lock, they would arrive after it; on a
    loaded machine some bursts still do: three tiles, three bursts)."""
    app = create_app(ServerConfig(build_dir=durham_build, reload_interval=0))
    service = live_build(app).service
    z, x, y = COLD_TILE
    service.layers.get()  # loaded first: otherwise every thread waits for the load, then finds the tile cached
    for burst, column in enumerate((x, x + 1, x + 2), start=1):
        results = _burst(functools.partial(service.tile, "blockgroups", z, column, y), threads=16)
        assert len(set(results)) == 1 and results[0]
        assert service.stats.encodes == burst and service.stats.cache_misses == burst
        assert service.stats.cache_hits == 15 * burst


def _burst(ask: Callable[[], bytes | None], threads: int) -> list[bytes | None]:
    """`ask()` in `threads` threads at once (see the test above)."""
    arrived: list[int] = []

    def at_once(thread: int) -> bytes | None:
        arrived.append(thread)
        while len(arrived) < threads:
            pass
        return ask()

    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        with ThreadPoolExecutor(threads) as pool:
            return list(pool.map(at_once, range(threads)))
    finally:
        sys.setswitchinterval(switch_interval)


def test_cache_stays_within_its_byte_bound(durham_build):
    bound = 40_000
    app = create_app(ServerConfig(build_dir=durham_build, reload_interval=0, cache_bytes=bound))
    service = live_build(app).service
    for x in range(9195, 9210):
        for y in range(12860, 12870):
            service.tile("hex", 15, x, y)
    assert 0 < service.cache.currsize <= bound
    assert service.stats.encodes == 150


def test_zero_byte_cache_encodes_every_time_and_never_fails(durham_build):
    app = create_app(ServerConfig(build_dir=durham_build, reload_interval=0, cache_bytes=0))
    service = live_build(app).service
    z, x, y = COLD_TILE
    assert service.tile("blockgroups", z, x, y) == service.tile("blockgroups", z, x, y)
    assert service.stats.encodes == 2 and service.cache.currsize == 0


def test_hot_swap_under_load_fails_no_request(durham_incidents, tmp_path):
    build_dir = tmp_path / "build"
    build_tracts(durham_incidents, build_dir, classes=5)
    app = create_app(ServerConfig(build_dir=build_dir, reload_interval=0.05))
    first = live_build(app).service.build_id
    generator = serve_in_thread(app)
    base = next(generator)
    statuses: list[int] = []
    stop = threading.Event()

    def hammer() -> None:
        with requests.Session() as session:
            while not stop.is_set():
                for path in (
                    "/tiles/tracts/10/287/402.mvt",
                    "/tiles/tracts/13/2300/3216.mvt",
                    "/tiles/tracts.json",
                    "/styles/tracts.json",
                ):
                    statuses.append(session.get(base + path, timeout=10).status_code)

    workers = [threading.Thread(target=hammer) for _ in range(4)]
    for worker in workers:
        worker.start()
    try:
        build_tracts(durham_incidents, build_dir, classes=3)
        deadline = time.monotonic() + 20
        while requests.get(base + "/healthz", timeout=10).json()["build_id"] == first and time.monotonic() < deadline:
            time.sleep(0.05)
        breaks = requests.get(base + "/tiles/tracts.json", timeout=10).json()["crimetiles"]["class_breaks"]
    finally:
        stop.set()
        for worker in workers:
            worker.join()
        next(generator, None)
    assert len(breaks) == 2  # 3 classes above zero: the new build is served
    assert statuses and set(statuses) == {200}


def test_failed_reload_keeps_serving_the_old_build(durham_incidents, tmp_path):
    build_dir = tmp_path / "build"
    build_tracts(durham_incidents, build_dir, classes=5)
    app = create_app(ServerConfig(build_dir=build_dir, reload_interval=0))
    live = live_build(app)
    build_id = live.service.build_id
    shutil.rmtree(build_dir.resolve())  # the build the link points to, and nothing left beside it
    assert live.reload_if_changed() is False
    assert app.test_client().get("/tiles/tracts/10/287/402.mvt").status_code == 200
    assert live.service.build_id == build_id


PATH_CHARACTERS = st.one_of(
    st.characters(codec="utf-8", exclude_characters="\x00?#"),
    st.characters(categories=("Nd", "No", "Nl")),  # numbers of every script: ², ١٢, １２, Ⅻ
)
NUMBERS = st.one_of(
    st.sampled_from(["²", "١٢", "１２", "⑨", "𝟙𝟚"]),  # str.isdigit says yes; int() refuses or reads another number
    st.text(alphabet=st.one_of(st.sampled_from("0123456789²¹⁰①"), st.characters(categories=("Nd",))), min_size=1, max_size=5),
)
"""Numbers in any script, often ones that `str.isdigit` accepts but `int()` does not."""


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_no_path_gives_a_500(app, data):
    """Every route at a URL that works, with one URL variable or `?year=` replaced by a number in
    any script or by any text, and maybe extra segments."""
    rule = data.draw(st.sampled_from(sorted(route_rules(app).values())))
    values = {name: SAMPLE_ARGUMENTS[name] for name in rule_variables(rule)} | {"year": "2014"}
    mutated = data.draw(st.sampled_from(sorted(values)))
    stem, dot, extension = values[mutated].partition(".")
    values[mutated] = data.draw(st.one_of(NUMBERS, st.text(alphabet=PATH_CHARACTERS, max_size=12))) + dot + extension
    extra = data.draw(st.one_of(st.just([]), st.lists(st.text(alphabet=PATH_CHARACTERS, max_size=12), min_size=1, max_size=2)))
    path = "/" + "/".join([fill_rule(rule, values.__getitem__), *extra]).lstrip("/")  # "//x" would name a host
    response = app.test_client().get(path, query_string={"year": values["year"]})
    assert response.status_code < 500, (path, values["year"])


def test_gunicorn_serves_the_build_with_the_readme_command(durham_build):
    with serving(readme_command("gunicorn"), durham_build, reload_interval="0") as (base, _):
        tile = requests.get(base + "/tiles/tracts/12/1150/1608.mvt", timeout=10)
        assert tile.status_code == 200
        assert mapbox_vector_tile.decode(tile.content)["tracts"]["features"]
        assert requests.get(base + "/tiles/tracts.json", timeout=10).json()["tiles"] == [
            f"{base}/tiles/tracts/{{z}}/{{x}}/{{y}}.mvt"
        ]

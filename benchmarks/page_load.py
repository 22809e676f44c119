"""First render of the map page on a slow link: time to the first picture of the choropleth and
to MapLibre's first drawn choropleth, bytes sent.

Usage: python benchmarks/page_load.py [--runs 5] [--url URL]

Without --url it builds the Durham demo (`crimetiles synth` + `crimetiles build`) into a temporary
directory and serves it with gunicorn (2 workers x 4 threads) on loopback. Each run opens `/` in a
fresh browser context (cold cache) of Debian's headless Chromium, with Chrome DevTools' network
emulation at 1.6 Mbit/s down, 750 kbit/s up and 150 ms round trip ("Slow 4G"-like), and measures,
in milliseconds from navigation start:
  first picture:  the server's picture of the first view (static/first_view.js) is shown: its load
                  event, then a frame painted with it (none if the map drew first);
  first features: MapLibre has drawn the first view: it has loaded the style and every tile in
                  view (`map.loaded()`) and reports rendered choropleth features
                  (queryRenderedFeatures on the page's fill layers);
  first view:     the earlier of the two: when the user first sees the choropleth;
  bytes:          bytes on the wire (compressed bodies plus headers) of every response the page and
                  its map worker received until the first features;
and prints one line per run and the median; then the same loads without emulation (what the CPU
alone costs: on a machine shared with other jobs that is much of the total, so the load average is
printed too); then when each response of the first throttled run arrived.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import statistics
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from peerlib.demo import build, synth
from peerlib.procs import free_port
from playwright.sync_api import Browser, Request, sync_playwright
from serve import start_gunicorn

CHROMIUM = os.environ.get("CRIMETILES_CHROMIUM", "/usr/bin/chromium")
LINK = {"latency": 150, "downloadThroughput": 1_600_000 / 8, "uploadThroughput": 750_000 / 8}
"""Chrome DevTools Protocol network emulation: round-trip ms, bytes per second each way."""
FIRST_FEATURES = """() => {
  const page = window.crimetiles;
  if (!page || !page.map.loaded()) return false;
  if (page.map.queryRenderedFeatures({layers: page.fillLayers[page.state.layer]}).length === 0) return false;
  window.firstFeaturesMs = window.firstFeaturesMs || performance.now();
  return true;
}"""
FIRST_PICTURE = """
document.addEventListener('load', (event) => {
  if (event.target.id !== 'first-view') return;
  // The picture is shown in its load event; two frames later the frame showing it is painted.
  requestAnimationFrame(() => requestAnimationFrame(() => {
    if (document.getElementById('first-view')) window.firstPictureMs = window.firstPictureMs || performance.now();
  }));
}, true);
"""
TIMEOUT_MS = 120_000


@dataclass(frozen=True)
class Transfer:
    """One response: its URL, bytes on the wire (headers plus the body as sent, compressed or not),
    and when it was requested and finished, in milliseconds from navigation start."""

    url: str
    wire_bytes: int
    started_ms: float
    finished_ms: float


@dataclass(frozen=True)
class PageLoad:
    """One cold load: milliseconds from navigation start to the first picture shown (None: the map
    drew first) and to the first rendered features, and the responses that had arrived by then."""

    first_picture_ms: float | None
    first_features_ms: float
    transfers: tuple[Transfer, ...]

    @property
    def first_view_ms(self) -> float:
        """When the user first sees the choropleth: the picture or the map, whichever came first."""
        return min(self.first_features_ms, self.first_picture_ms or self.first_features_ms)

    @property
    def total_bytes(self) -> int:
        return sum(transfer.wire_bytes for transfer in self.transfers)


def transfer(request: Request, navigation_start_ms: float) -> Transfer:
    """Playwright reports no body size for a worker's main script: its Content-Length counts then.
    A response from the memory cache (negative body size) sent nothing."""
    sizes = request.sizes()
    body = sizes["responseBodySize"]
    if body == 0 and request.failure is None:
        body = int((request.response().headers or {}).get("content-length", 0))
    wire = sizes["responseHeadersSize"] + body if body >= 0 else 0
    started_ms = request.timing["startTime"] - navigation_start_ms
    return Transfer(request.url, wire, started_ms, started_ms + request.timing["responseEnd"])


def load_once(browser: Browser, url: str, link: dict[str, float] | None) -> PageLoad:
    """A cold load of `url` over the emulated `link` (None: loopback as is)."""
    context = browser.new_context(viewport={"width": 1100, "height": 760})
    try:
        page = context.new_page()
        page.add_init_script(FIRST_PICTURE)
        if link:
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Network.emulateNetworkConditions", {"offline": False, **link})
        finished: list[Request] = []
        page.on("requestfinished", lambda request: finished.append(request))
        page.goto(url, wait_until="commit")
        page.wait_for_function(FIRST_FEATURES, polling="raf", timeout=TIMEOUT_MS)
        picture_ms, first_ms, navigation_start_ms = page.evaluate(
            "() => [window.firstPictureMs ?? null, window.firstFeaturesMs, performance.timeOrigin]"
        )
        transfers = (transfer(request, navigation_start_ms) for request in finished)
        return PageLoad(picture_ms, first_ms, tuple(t for t in transfers if t.finished_ms <= first_ms))
    finally:
        context.close()


@contextmanager
def demo_server() -> Iterator[str]:
    """The Durham demo built into a temporary directory and served by gunicorn; yields its URL."""
    with tempfile.TemporaryDirectory() as scratch:
        built = build(synth(Path(scratch) / "incidents"), Path(scratch) / "build")
        port = free_port()
        server = start_gunicorn(built, port, 64 << 20)
        try:
            yield f"http://127.0.0.1:{port}/"
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)


def _seconds(milliseconds: float | None) -> str:
    return "none" if milliseconds is None else f"{milliseconds / 1000:.2f} s"


def report(name: str, loads: list[PageLoad]) -> None:
    for run, load in enumerate(loads, 1):
        print(
            f"{name} run {run}: first view {_seconds(load.first_view_ms)} (picture {_seconds(load.first_picture_ms)}, "
            f"MapLibre's first features {_seconds(load.first_features_ms)}), "
            f"{load.total_bytes / 1000:.0f} kB in {len(load.transfers)} responses by the first features"
        )
    pictures = [load.first_picture_ms for load in loads if load.first_picture_ms is not None]
    print(
        f"{name} median of {len(loads)}: first view {_seconds(statistics.median(load.first_view_ms for load in loads))} "
        f"(picture {_seconds(statistics.median(pictures)) if pictures else 'none'} in {len(pictures)} runs, "
        f"MapLibre's first features {_seconds(statistics.median(load.first_features_ms for load in loads))}), "
        f"{statistics.median(load.total_bytes for load in loads) / 1000:.0f} kB"
    )


def timeline(load: PageLoad) -> None:
    print("responses in the order they finished (requested -> finished, ms from navigation start):")
    for item in sorted(load.transfers, key=lambda item: item.finished_ms):
        print(f"  {item.started_ms:6.0f} -> {item.finished_ms:6.0f} ms {item.wire_bytes / 1000:8.1f} kB  {item.url}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="cold page loads to time (default 5)")
    parser.add_argument("--url", help="an already running server's page (default: build and serve the Durham demo)")
    args = parser.parse_args()
    print(
        f"machine: {platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"link: {LINK['downloadThroughput'] * 8 / 1e6:.1f} Mbit/s down, {LINK['uploadThroughput'] * 8 / 1e3:.0f} kbit/s up, "
        f"{LINK['latency']} ms RTT; cold cache"
    )
    with sync_playwright() as playwright, nullcontext(args.url) if args.url else demo_server() as url:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        print(f"browser: Chromium {browser.version}; page: {url}; load average before: {_load_average()}")
        throttled = [load_once(browser, url, LINK) for _ in range(args.runs)]
        report("throttled", throttled)
        # The same loads without emulation: what the CPU (shared, on a busy machine) alone costs.
        report("loopback", [load_once(browser, url, None) for _ in range(args.runs)])
        print(f"load average after: {_load_average()}; first throttled run, ", end="")
        timeline(throttled[0])
        browser.close()


def _load_average() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


if __name__ == "__main__":
    main()

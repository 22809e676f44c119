"""A URL for every route of the app, naming things the Durham build has: tests walk all routes
(405s, Vary, the path fuzz) without a list to forget a new route in."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask import Flask

SAMPLE_ARGUMENTS = {
    "tileset": "tracts",
    "name": "tracts",
    "layer": "tracts",
    "fmt": "csv",
    "z": "13",
    "x": "2300",
    "y_ext": "3216.mvt",
    "filename": "app.js",
}
"""A value for every URL variable of the app's routes; `/tiles/tracts/13/2300/3216.mvt` is a
tile of downtown Durham above the test build's archive (z0-12), so it is encoded on demand."""
TILE_ROUTE = "/tiles/<tileset>/<z>/<x>/<y_ext>"
"""The tile route, answered in front of Flask (`server/fastpath.py`): not in Flask's URL map."""
VARIABLE = re.compile(r"<(?:[^:>]+:)?([^>]+)>")


def fill_rule(rule: str, value: Callable[[str], str]) -> str:
    """`rule` (`/tiles/<tileset>.json`) with each variable replaced by `value(name)`."""
    return VARIABLE.sub(lambda match: value(match.group(1)), rule)


def rule_variables(rule: str) -> list[str]:
    return VARIABLE.findall(rule)


def route_rules(app: Flask) -> dict[str, str]:
    """endpoint -> URL rule, for every route of the app: Flask's and the tile route (`tile`)."""
    return {"tile": TILE_ROUTE} | {rule.endpoint: rule.rule for rule in app.url_map.iter_rules()}


def sample_urls(app: Flask) -> dict[str, str]:
    """endpoint -> a URL of it that answers 200, for every route of the app."""
    urls = {}
    for endpoint, rule in route_rules(app).items():
        missing = set(rule_variables(rule)) - set(SAMPLE_ARGUMENTS)
        assert not missing, f"add a sample value for {missing} (route {rule}) to SAMPLE_ARGUMENTS"
        urls[endpoint] = fill_rule(rule, SAMPLE_ARGUMENTS.__getitem__)
    return urls

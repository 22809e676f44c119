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
VARIABLE = re.compile(r"<(?:[^:>]+:)?([^>]+)>")


def fill_rule(rule: str, value: Callable[[str], str]) -> str:
    """`rule` (`/tiles/<tileset>.json`) with each variable replaced by `value(name)`."""
    return VARIABLE.sub(lambda match: value(match.group(1)), rule)


def sample_urls(app: Flask) -> dict[str, str]:
    """endpoint -> a URL of it that answers 200, for every route of the app."""
    urls = {}
    for rule in app.url_map.iter_rules():
        missing = set(rule.arguments) - set(SAMPLE_ARGUMENTS)
        assert not missing, f"add a sample value for {missing} (route {rule.rule}) to SAMPLE_ARGUMENTS"
        urls[rule.endpoint] = fill_rule(rule.rule, SAMPLE_ARGUMENTS.__getitem__)
    return urls

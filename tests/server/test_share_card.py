"""A link to the page or the embed unfurls with a picture: their `og:` and `twitter:` meta, parsed
from the served HTML, name the build's title, a description of the view and the absolute URL of
`/map.png` for the page's layer, year and selection, which the app draws at the card's size."""

from __future__ import annotations

import io
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image

from crimetiles.server.app import create_app
from crimetiles.server.config import ServerConfig


class MetaTags(HTMLParser):
    """The `<meta property|name=... content=...>` of a page's head, by property or name."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        key = named.get("property") or named.get("name")
        if tag == "meta" and key and named.get("content") is not None:
            self.tags[key] = named["content"]


def meta_tags(client, url: str, headers: dict[str, str] | None = None) -> dict[str, str]:
    response = client.get(url, headers=headers or {})
    assert response.status_code == 200
    parser = MetaTags()
    parser.feed(response.get_data(as_text=True))
    return parser.tags


def image_query(tags: dict[str, str]) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(tags["og:image"]).query).items()}


@pytest.mark.parametrize("page", ["/", "/embed"])
def test_the_page_names_the_picture_of_its_view_and_the_picture_is_drawn(client, page):
    tags = meta_tags(client, f"{page}?layer=tracts&year=2014&selected=37063000101")
    assert tags["twitter:card"] == "summary_large_image"
    assert tags["og:title"] == "Durham violent incidents (demo)"
    assert tags["og:description"] == (
        "Violent crimes per sq mi by census tracts, 2014: incidents reported by police. "
        "Demo: synthetic locations, real published totals. Data: Durham Neighborhood Compass (DataWorks NC)."
    )
    image = urlsplit(tags["og:image"])
    assert (image.scheme, image.netloc, image.path) == ("http", "localhost", "/map.png")
    assert image_query(tags) == {"layer": "tracts", "year": "2014", "width": "1200", "height": "630", "selected": "37063000101"}
    assert (tags["og:image:width"], tags["og:image:height"]) == ("1200", "630")
    picture = client.get(f"{image.path}?{image.query}")
    assert picture.status_code == 200 and picture.content_type == "image/png"
    assert Image.open(io.BytesIO(picture.data)).size == (1200, 630)


def test_without_a_query_the_card_shows_the_page_default_over_the_build(client):
    tags = meta_tags(client, "/")
    assert image_query(tags) == {"layer": "blockgroups", "year": "all", "width": "1200", "height": "630"}
    assert "average per year, 2012-2016" in tags["og:description"]


def test_an_unknown_layer_or_year_gives_the_default_not_a_broken_picture(client):
    tags = meta_tags(client, "/?layer=nope&year=1999")
    assert image_query(tags) == {"layer": "blockgroups", "year": "all", "width": "1200", "height": "630"}
    image = urlsplit(tags["og:image"])
    assert client.get(f"{image.path}?{image.query}").status_code == 200


def test_behind_a_proxy_the_picture_url_is_the_public_one(client):
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "crime.example.org", "X-Forwarded-Prefix": "/durham"}
    tags = meta_tags(client, "/embed?layer=hex", headers)
    assert tags["og:image"].startswith("https://crime.example.org/durham/map.png?layer=hex&")
    vary = {part.strip() for part in client.get("/embed", headers=headers).headers["Vary"].split(",")}
    assert {"X-Forwarded-Host", "X-Forwarded-Prefix", "X-Forwarded-Proto"} <= vary


def test_with_a_public_url_the_picture_url_is_under_it(durham_build):
    client = create_app(
        ServerConfig(build_dir=durham_build, reload_interval=0, public_url="https://maps.example.org/crime")
    ).test_client()
    assert meta_tags(client, "/", {"X-Forwarded-Host": "elsewhere.example"})["og:image"].startswith(
        "https://maps.example.org/crime/map.png?layer=blockgroups&"
    )

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


def test_a_change_view_link_unfurls_with_the_change_views_picture_and_words(client):
    tags = meta_tags(client, "/?layer=tracts&year=2012&change=2014-2016&selected=37063000101")
    query = {"layer": "tracts", "year": "2016", "change": "2014-2016", "width": "1200", "height": "630"}
    assert image_query(tags) == {**query, "selected": "37063000101"}
    assert tags["og:description"] == (
        "Change in violent crimes per sq mi by census tracts, 2014 to 2016: incidents reported by police. "
        "Demo: synthetic locations, real published totals. Data: Durham Neighborhood Compass (DataWorks NC)."
    )
    assert tags["og:image:alt"] == "Map of change in violent crimes per sq mi by census tracts, 2014 to 2016"
    image = urlsplit(tags["og:image"])
    picture = client.get(f"{image.path}?{image.query}")
    assert picture.status_code == 200 and picture.content_type == "image/png"
    normal = client.get(f"{image.path}?{image.query.replace('&change=2014-2016', '')}")
    assert normal.status_code == 200 and normal.data != picture.data


@pytest.mark.parametrize("change", ["2016-2014", "2014-2014", "1999-2016", "2014-2017", "x", ""])
def test_a_change_the_page_ignores_gives_the_normal_view(client, change):
    tags = meta_tags(client, f"/embed?layer=tracts&year=2014&change={change}")
    assert image_query(tags) == {"layer": "tracts", "year": "2014", "width": "1200", "height": "630"}
    assert tags["og:description"].startswith("Violent crimes per sq mi by census tracts, 2014: ")


class FirstViewPicture(HTMLParser):
    """The `data-src` of the page's first-view picture (`#first-view`)."""

    def __init__(self) -> None:
        super().__init__()
        self.src: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "img" and named.get("id") == "first-view":
            self.src = named["data-src"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("layer=hex&change=2012-2015", {"layer": "hex", "year": "2015", "change": "2012-2015", "bare": "1"}),
        ("layer=hex&year=2013&change=2015-2012", {"layer": "hex", "year": "2013", "bare": "1"}),
    ],
)
@pytest.mark.parametrize("page", ["/", "/embed"])
def test_the_first_view_picture_is_of_the_change_view_the_page_opens_in(client, page, query, expected):
    parser = FirstViewPicture()
    parser.feed(client.get(f"{page}?{query}").get_data(as_text=True))
    src = urlsplit(parser.src)
    assert src.path == "map.png"
    assert {name: values[0] for name, values in parse_qs(src.query).items()} == expected
    assert client.get(f"/map.png?{src.query}&center=-78.9,35.99&zoom=12&width=64&height=48").status_code == 200

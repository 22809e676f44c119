"""The WSGI layer every response passes, the tile answers' and Flask's alike: it adds the headers
they all share and counts each response by its status (`Metrics.count_response`).

Every response gets `X-Content-Type-Options: nosniff`. Those of the paths other origins' scripts
may read (`CORS_PREFIXES`: tiles, TileJSON, styles, downloads, summaries...) get CORS headers: `*`
when every origin is allowed, else the request's `Origin` if it is listed (none otherwise: the
browser then refuses) and `Vary: Origin`; a preflight (`OPTIONS`) also gets the methods and
headers it may use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from crimetiles.server.metrics import Metrics

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
Headers = list[tuple[str, str]]
NOSNIFF = ("X-Content-Type-Options", "nosniff")
CORS_PREFIXES = ("/tiles", "/styles", "/downloads", "/summaries", "/openapi.json", "/healthz")
CORS_EXPOSED = ("Access-Control-Expose-Headers", "ETag, Content-Encoding")
"""What a browser lets another origin's script read beyond the basic headers."""
CORS_PREFLIGHT: Headers = [
    ("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS"),
    ("Access-Control-Allow-Headers", "If-None-Match, Accept-Encoding"),
]
"""Answers to a preflight (`OPTIONS`) only: a browser reads them nowhere else (Fetch standard,
CORS protocol), so a tile does not carry them."""


class EveryResponse:
    """WSGI app: `app`'s responses with the shared headers, for the origins `origins` (`*`: any).
    `start` gives them to a response made beside `app` (the tile fast path's)."""

    def __init__(self, app: WSGIApp, origins: tuple[str, ...], metrics: Metrics) -> None:
        self.app = app
        self.origins = origins
        self.metrics = metrics
        self._any_origin = "*" in origins
        self._plain: Headers = [NOSNIFF]
        self._cors_any: Headers = [NOSNIFF, ("Access-Control-Allow-Origin", "*"), CORS_EXPOSED]
        self._cors_any_preflight = self._cors_any + CORS_PREFLIGHT

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        def start(status: str, headers: Headers, exc_info: Any = None) -> Any:
            return self.start(environ, start_response, status, headers, exc_info)

        return self.app(environ, start)

    def start(
        self, environ: dict[str, Any], start_response: StartResponse, status: str, headers: Headers, exc_info: Any = None
    ) -> Any:
        """Start the response to `environ` with `status` and `headers`, the shared headers added,
        and count it."""
        self.metrics.count_response(int(status[:3]))
        shared, vary_on_origin = self._shared(environ)
        sent = headers + shared
        return start_response(status, _vary_on_origin(sent) if vary_on_origin else sent, exc_info)

    def _shared(self, environ: dict[str, Any]) -> tuple[Headers, bool]:
        """The shared headers of the response to `environ`, and whether it varies on `Origin`."""
        if not environ.get("PATH_INFO", "").startswith(CORS_PREFIXES):
            return self._plain, False
        preflight = environ["REQUEST_METHOD"] == "OPTIONS"
        if self._any_origin:
            return (self._cors_any_preflight if preflight else self._cors_any), False
        origin = environ.get("HTTP_ORIGIN")
        allowed = [("Access-Control-Allow-Origin", origin)] if origin in self.origins else []
        return [NOSNIFF, *allowed, CORS_EXPOSED, *(CORS_PREFLIGHT if preflight else [])], True


def _vary_on_origin(headers: Headers) -> Headers:
    """`headers` with `Origin` added to their `Vary` (one is added if there is none)."""
    for index, (name, value) in enumerate(headers):
        if name.lower() == "vary":
            headers[index] = (name, f"{value}, Origin")
            return headers
    headers.append(("Vary", "Origin"))
    return headers

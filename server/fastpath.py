"""The tile route: a plain WSGI app in front of Flask that answers every request for a tile path
(`/tiles/{tileset}/{z}/{x}/{y}.{mvt|pbf|png}`, any method) with `TileAnswers` and passes every other
request to Flask. A tile costs little to find; what costs is the request and response machinery
around it (routing, contexts, hooks, header objects), which tiles skip.
"""

from __future__ import annotations

from collections.abc import Iterable
from time import perf_counter
from typing import Any

from crimetiles.server.config import ServerConfig
from crimetiles.server.every_response import EveryResponse, StartResponse
from crimetiles.server.live import LiveBuild
from crimetiles.server.metrics import Metrics
from crimetiles.server.params import RASTER_SUFFIX
from crimetiles.server.tile_answer import TileAnswers


class TileFastPath:
    """WSGI app: tiles answered here, with the shared headers of `app` (the layer every other
    response passes), everything else passed to `app`. One `TileAnswers` per build, made again
    when a hot swap brings a new one."""

    def __init__(self, app: EveryResponse, live: LiveBuild, config: ServerConfig, metrics: Metrics) -> None:
        self.app = app
        self.live = live
        self.metrics = metrics
        self._config = config
        self._answers: TileAnswers | None = None

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        started = perf_counter()
        method = environ["REQUEST_METHOD"]
        path = _path(environ)
        answer = self.answers().answer(
            method,
            path,
            environ.get("HTTP_ACCEPT_ENCODING"),
            environ.get("HTTP_IF_NONE_MATCH"),
            environ.get("HTTP_IF_MATCH"),
            environ.get("QUERY_STRING", ""),
        )
        if answer is None:
            return self.app(environ, start_response)
        self.app.start(environ, start_response, answer.status, answer.headers)
        self.metrics.count_tile(perf_counter() - started, answer.from_archive, png=path.endswith(RASTER_SUFFIX))
        return [answer.body] if answer.body and method != "HEAD" else []

    def answers(self) -> TileAnswers:
        """The tile answers of the build being served."""
        service = self.live.service
        answers = self._answers
        if answers is None or answers.service is not service:
            answers = self._answers = TileAnswers(service, self._config.max_age, self._config.ready_tile_bytes)
            self.metrics.serving(service.build_id)
        return answers


def _path(environ: dict[str, Any]) -> str:
    """The request's path as Flask routes it: WSGI gives its UTF-8 bytes as latin-1 characters."""
    path = environ.get("PATH_INFO", "")
    return path if path.isascii() else path.encode("latin-1").decode("utf-8", "replace")

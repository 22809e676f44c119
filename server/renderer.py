"""Loading the modules that draw with Skia, only when a PNG tile or a picture is first asked for
(a worker that serves vector tiles never loads it), with a clear error where Skia cannot load."""

from __future__ import annotations

import importlib
from types import ModuleType

from crimetiles.server.errors import RendererUnavailable

SYSTEM_LIBRARIES = "the GL and EGL libraries (Debian and Ubuntu: apt-get install libegl1 libgl1)"


def drawing_module(name: str) -> ModuleType:
    """`crimetiles.server.<name>`, a module that imports Skia (`raster`, `static_map`);
    `RendererUnavailable` when Skia cannot load here. Any other import error is a bug of
    ours and is raised as it is."""
    try:
        return importlib.import_module(f"crimetiles.server.{name}")
    except ImportError as exc:
        if exc.name != "skia":
            raise
        message = f"PNG tiles and pictures are unavailable here: Skia cannot load ({exc}); it needs {SYSTEM_LIBRARIES}"
        raise RendererUnavailable(message) from None

"""The map's classes stay apart for the common colour-vision deficiencies: each served style's class
colours, as the map draws them (over its background, at the style's opacity; paler where unstable),
through Machado et al. (2009)'s simulation of protanopia, deuteranopia and tritanopia (severity 1),
neighbour against neighbour in CIEDE2000."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

PRINT_OPTIONS = np.get_printoptions()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # colour-science warns that matplotlib (its plotting) is absent
    import colour
np.set_printoptions(**PRINT_OPTIONS)  # colour-science sets NumPy 1.13's on import, for the whole test session

PAGE_BACKGROUND = "#f4f3ef"
"""The map page's background, under the fills (static/map_style.js)."""
VISIONS = [None, "Protanomaly", "Deuteranomaly", "Tritanomaly"]
"""Normal vision, then the three dichromacies (Machado's anomalies at severity 1)."""
APART = 10.0
"""Neighbouring classes differ by at least this CIEDE2000 ΔE: about four just-noticeable differences
(2.3), a difference seen at a glance between two small areas, not only side by side."""
APART_PALER = 5.0
"""Unstable areas are washed paler on purpose (the contrast between classes halves): their
neighbouring classes still differ by twice a just-noticeable difference."""


def srgb(hex_colour: str) -> np.ndarray:
    return np.array([int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])


def over(top: np.ndarray, opacity: float, under: np.ndarray) -> np.ndarray:
    """`top` drawn at `opacity` over `under` (sRGB, blended as the browser's canvas blends)."""
    return opacity * top + (1 - opacity) * under


def seen_lab(colour_srgb: np.ndarray, vision: str | None) -> np.ndarray:
    """CIELAB of an sRGB colour as a viewer with `vision` sees it (Machado's matrices act on linear RGB)."""
    linear = colour.cctf_decoding(colour_srgb, function="sRGB")
    if vision:
        linear = np.clip(colour.matrix_cvd_Machado2009(vision, 1.0) @ linear, 0, 1)
    xyz = colour.RGB_to_XYZ(linear, colour.RGB_COLOURSPACES["sRGB"], apply_cctf_decoding=False)
    return colour.XYZ_to_Lab(xyz)


def neighbour_differences(drawn: list[np.ndarray], vision: str | None) -> list[float]:
    seen = [seen_lab(c, vision) for c in drawn]
    return [float(colour.delta_E(a, b, method="CIE 2000")) for a, b in zip(seen[:-1], seen[1:], strict=True)]


def drawn_classes(style: dict) -> list[np.ndarray]:
    """The class colours (from 0 up) as the map draws them over its background."""
    fills = {layer["id"]: layer["paint"] for layer in style["layers"]}
    return [
        over(srgb(fills[layer_id]["fill-color"]), fills[layer_id]["fill-opacity"], srgb(PAGE_BACKGROUND))
        for layer_id in style["metadata"]["crimetiles:fill-layers"]
    ]


def paler(style: dict, drawn: list[np.ndarray]) -> list[np.ndarray]:
    """`drawn` under the style's wash of unstable areas."""
    wash = next(mark for mark in style["metadata"]["crimetiles:marks"] if mark["mark"] == "unstable")
    return [over(srgb(wash["color"]), wash["opacity"], c) for c in drawn]


@pytest.fixture(scope="module")
def styles(app) -> dict[str, dict]:
    client = app.test_client()
    names = [tileset["name"] for tileset in client.get("/tiles").get_json()["tilesets"]]
    return {name: client.get(f"/styles/{name}.json").get_json() for name in names}


@pytest.mark.filterwarnings("ignore:.*tritanomaly is based on the shift paradigm")
@pytest.mark.parametrize("vision", VISIONS)
def test_neighbouring_classes_stay_apart(styles, vision):
    for name, style in styles.items():
        drawn = drawn_classes(style)
        assert len(drawn) == 6, name  # zero and the default five classes
        assert min(neighbour_differences(drawn, vision)) >= APART, (name, neighbour_differences(drawn, vision))
        pale = paler(style, drawn)
        assert min(neighbour_differences(pale, vision)) >= APART_PALER, (name, neighbour_differences(pale, vision))


def test_the_simulation_tells_apart_what_a_dichromat_confuses():
    red, green = srgb("#d62728"), srgb("#2ca02c")
    normal = neighbour_differences([red, green], None)[0]
    assert normal > 50
    for vision in VISIONS[1:3]:  # red and green merge for protanopia and deuteranopia
        assert neighbour_differences([red, green], vision)[0] < normal / 2

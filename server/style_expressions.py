"""The MapLibre style expressions our styles use, evaluated in Python: filters and paint values of
fill and line layers, for the raster renderer (`server/raster.py`) to draw what MapLibre draws.

A compiled expression is a function of a feature's properties and the zoom. Only the operators
listed in `OPERATORS` are known; any other raises `UnsupportedStyle` when the style is compiled,
so a style that grows an expression the renderer cannot draw fails loudly, not with wrong colours.
Comparisons follow the style spec: comparing values of different types (a missing property is
null) is false, not an error.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from crimetiles.artifact.errors import CrimetilesError

Properties = dict[str, Any]
Expression = Callable[[Properties, float], Any]
"""A compiled expression: (feature properties, zoom) -> value."""


class UnsupportedStyle(CrimetilesError):
    """A style expression, colour or layer the raster renderer cannot draw."""


def compile_expression(expression: Any) -> Expression:
    """A style value (a literal or an expression array) as a function of properties and zoom."""
    if not isinstance(expression, list):
        return lambda properties, zoom: expression
    if not expression or expression[0] not in OPERATORS:
        raise UnsupportedStyle(f"the raster renderer does not know the style expression {expression!r}")
    return OPERATORS[expression[0]](expression[1:])


def _get(args: list[Any]) -> Expression:
    (name,) = args
    return lambda properties, zoom: properties.get(name)


def _has(args: list[Any]) -> Expression:
    (name,) = args
    return lambda properties, zoom: name in properties


def _literal(args: list[Any]) -> Expression:
    (value,) = args
    return lambda properties, zoom: value


def _zoom(args: list[Any]) -> Expression:
    return lambda properties, zoom: zoom


def _comparable(left: Any, right: Any) -> bool:
    numbers = (int, float)
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool)
    return (isinstance(left, numbers) and isinstance(right, numbers)) or type(left) is type(right)


def _comparison(test: Callable[[Any, Any], bool], incomparable: bool = False) -> Callable[[list[Any]], Expression]:
    """`incomparable`: the value when the two sides' types differ (true for `!=` only)."""

    def compile_comparison(args: list[Any]) -> Expression:
        left, right = (compile_expression(arg) for arg in args)

        def compare(properties: Properties, zoom: float) -> bool:
            a, b = left(properties, zoom), right(properties, zoom)
            return test(a, b) if _comparable(a, b) else incomparable

        return compare

    return compile_comparison


def _all(args: list[Any]) -> Expression:
    parts = [compile_expression(arg) for arg in args]
    return lambda properties, zoom: all(part(properties, zoom) for part in parts)


def _any(args: list[Any]) -> Expression:
    parts = [compile_expression(arg) for arg in args]
    return lambda properties, zoom: any(part(properties, zoom) for part in parts)


def _not(args: list[Any]) -> Expression:
    (arg,) = args
    part = compile_expression(arg)
    return lambda properties, zoom: not part(properties, zoom)


def _case(args: list[Any]) -> Expression:
    branches = [
        (compile_expression(test), compile_expression(value)) for test, value in zip(args[:-1:2], args[1:-1:2], strict=True)
    ]
    fallback = compile_expression(args[-1])

    def case(properties: Properties, zoom: float) -> Any:
        for test, value in branches:
            if test(properties, zoom):
                return value(properties, zoom)
        return fallback(properties, zoom)

    return case


def _interpolate(args: list[Any]) -> Expression:
    """`["interpolate", ["linear"], input, stop, value, ...]` over numbers."""
    kind, input_expression, *stops = args
    if kind != ["linear"]:
        raise UnsupportedStyle(f"the raster renderer interpolates linearly only, not {kind!r}")
    value_of = compile_expression(input_expression)
    pairs = list(zip(stops[::2], stops[1::2], strict=True))

    def interpolate(properties: Properties, zoom: float) -> float:
        x = value_of(properties, zoom)
        if x <= pairs[0][0]:
            return pairs[0][1]
        for (x0, y0), (x1, y1) in zip(pairs, pairs[1:], strict=False):
            if x <= x1:
                return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
        return pairs[-1][1]

    return interpolate


def _step(args: list[Any]) -> Expression:
    """`["step", input, value0, stop1, value1, ...]`."""
    input_expression, first, *stops = args
    value_of = compile_expression(input_expression)
    pairs = list(zip(stops[::2], stops[1::2], strict=True))

    def step(properties: Properties, zoom: float) -> Any:
        x, result = value_of(properties, zoom), first
        for stop, value in pairs:
            if x < stop:
                break
            result = value
        return result

    return step


def _minus(args: list[Any]) -> Expression:
    """`["-", a, b]`, or `["-", a]`: its negative."""
    parts = [compile_expression(arg) for arg in args]
    if len(parts) == 1:
        return lambda properties, zoom: -parts[0](properties, zoom)
    left, right = parts
    return lambda properties, zoom: left(properties, zoom) - right(properties, zoom)


def _to_number(args: list[Any]) -> Expression:
    """`["to-number", value]`: a number as is, null and false 0, true 1, a numeric string its value."""
    (arg,) = args
    part = compile_expression(arg)

    def to_number(properties: Properties, zoom: float) -> float:
        value = part(properties, zoom)
        return 0 if value is None else float(value) if isinstance(value, str) else +value

    return to_number


def _match(args: list[Any]) -> Expression:
    """`["match", input, label or [labels], output, ..., fallback]` over string and number labels."""
    input_expression, *cases, fallback_expression = args
    value_of, fallback = compile_expression(input_expression), compile_expression(fallback_expression)
    outputs: dict[Any, Expression] = {}
    for labels, output in zip(cases[::2], cases[1::2], strict=True):
        compiled = compile_expression(output)
        for label in labels if isinstance(labels, list) else [labels]:
            outputs.setdefault(label, compiled)

    def match(properties: Properties, zoom: float) -> Any:
        value = value_of(properties, zoom)
        found = outputs.get(value) if isinstance(value, (str, int, float)) and not isinstance(value, bool) else None
        return (found or fallback)(properties, zoom)

    return match


OPERATORS: dict[str, Callable[[list[Any]], Expression]] = {
    "get": _get,
    "has": _has,
    "literal": _literal,
    "zoom": _zoom,
    "==": _comparison(lambda a, b: a == b),
    "!=": _comparison(lambda a, b: a != b, incomparable=True),
    "<": _comparison(lambda a, b: a < b),
    "<=": _comparison(lambda a, b: a <= b),
    ">": _comparison(lambda a, b: a > b),
    ">=": _comparison(lambda a, b: a >= b),
    "all": _all,
    "any": _any,
    "!": _not,
    "case": _case,
    "interpolate": _interpolate,
    "step": _step,
    "-": _minus,
    "to-number": _to_number,
    "match": _match,
}


def with_field(expression: Any, old: str, new: str) -> Any:
    """`expression` with every `["get", old]` replaced by `["get", new]`: the style drawn for
    another field (a year's density instead of the all-years one), as the page does."""
    if expression == ["get", old]:
        return ["get", new]
    if isinstance(expression, list):
        return [with_field(part, old, new) for part in expression]
    return expression


@lru_cache(maxsize=256)  # a style has a handful of colours
def parse_color(text: str) -> tuple[int, int, int, float]:
    """`#rgb`, `#rrggbb`, `rgb(r, g, b)` or `rgba(r, g, b, a)` -> (r, g, b, alpha 0..1)."""
    value = text.strip().lower()
    if value.startswith("#") and len(value) in (4, 7):
        digits = value[1:] if len(value) == 7 else "".join(c * 2 for c in value[1:])
        return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16), 1.0
    if value.startswith(("rgb(", "rgba(")) and value.endswith(")"):
        parts = [part.strip() for part in value[value.index("(") + 1 : -1].split(",")]
        if len(parts) in (3, 4):
            red, green, blue = (int(part) for part in parts[:3])
            return red, green, blue, float(parts[3]) if len(parts) == 4 else 1.0
    raise UnsupportedStyle(f"the raster renderer does not read the colour {text!r}")

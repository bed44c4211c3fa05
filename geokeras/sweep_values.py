"""The values of one sweep axis, from the text after ``key=``.

    1,2,3                 three values (commas inside brackets and braces belong to a value)
    [1, 2, 3]             the same, when the key does not itself hold a list (see geokeras.sweep)
    range(1,4)            1, 2, 3: Python's range (integers, optional step, stop excluded)
    linspace(0.5,2,4)     0.5, 1.0, 1.5, 2.0: numpy.linspace (num points, stop included)
    logspace(-3,-1,3)     0.001, 0.01, 0.1: numpy.logspace (base 10 unless a 4th argument)

A range may stand among plain values (``0,range(5,8)``). Every value stays YAML text, read by the
YAML 1.2 rules of overrides when the point is resolved; a generated number is written in its
shortest round-trip form (``repr``), so ``linspace(0,1,4)`` gives ``0.3333333333333333``. The
arguments of a range are read by the same rules (``range(010,20)`` is refused as ambiguous).
"""

from __future__ import annotations

import math
import re
from typing import Any, Sequence

from geokeras.errors import GeokerasInputError, shortened
from geokeras.limits import MAX_SWEEP_POINTS
from geokeras.spec.yaml_scalars import AmbiguousScalarError, read_plain_scalar

_RANGE = re.compile(r"\s*(range|linspace|logspace)\s*\((.*)\)\s*", re.S)
_ARGUMENTS = {"range": "start, stop[, step]", "linspace": "start, stop, num", "logspace": "start, stop, num[, base]"}


def split_values(text: str) -> list[str]:
    """``"1,[2,3],{a: 1, b: 2}"`` -> ``["1", "[2,3]", "{a: 1, b: 2}"]``: commas at bracket depth 0."""
    values, depth, current = [], 0, []
    for character in text:
        if character in "[{(":
            depth += 1
        elif character in "]})":
            depth -= 1
        if character == "," and depth == 0:
            values.append("".join(current).strip())
            current = []
        else:
            current.append(character)
    values.append("".join(current).strip())
    return values


def axis_values(text: str) -> list[str]:
    """The values (YAML text each) of ``text``, ranges expanded.

    Raises:
        GeokerasInputError: a malformed or empty range, or more than MAX_SWEEP_POINTS values.
    """
    values: list[str] = []
    for value in split_values(text):
        values.extend(expand_range(value))
        if len(values) > MAX_SWEEP_POINTS:
            raise GeokerasInputError(
                f"expected at most {MAX_SWEEP_POINTS:,} values on one sweep axis (each is a run). "
                f"Received more from {shortened(repr(text), 80)}."
            )
    return values


def flow_list_items(text: str) -> list[str]:
    """``"[1, 2, range(4,6)]"`` -> ``["1", "2", "4", "5"]``: the items of a flow list, ranges expanded."""
    inner = text.strip()[1:-1]
    return axis_values(inner) if inner.strip() else []


def expand_range(value: str) -> list[str]:
    """``range(...)``, ``linspace(...)`` or ``logspace(...)`` as its values; any other value as itself."""
    match = _RANGE.fullmatch(value)
    if match is None:
        return [value]
    name, inner = match.groups()
    written = shortened(repr(value), 80)
    arguments = [_number(item, name, written) for item in split_values(inner)] if inner.strip() else []
    if name == "range":
        numbers: Sequence[Any] = _integer_range(arguments, written)
    else:
        numbers = _spaced(name, arguments, written)
    if not numbers:
        raise GeokerasInputError(f"expected a {name} of at least one value. Received {written}, which is empty.")
    return [repr(number) for number in numbers]


def _number(text: str, name: str, written: str) -> Any:
    try:
        number = read_plain_scalar(text.strip())
    except AmbiguousScalarError as error:
        raise GeokerasInputError(f"in {written}: {error}") from None
    if isinstance(number, bool) or not isinstance(number, (int, float)) or not math.isfinite(number):
        raise GeokerasInputError(
            f"expected {name}({_ARGUMENTS[name]}) with finite numbers as arguments. Received {written}, "
            f"with the argument {shortened(repr(text.strip()), 40)}."
        )
    return number


def _integer_range(arguments: list[Any], written: str) -> range:
    """Python's ``range(stop)``, ``range(start, stop)`` or ``range(start, stop, step)``."""
    if not 1 <= len(arguments) <= 3 or not all(isinstance(item, int) for item in arguments):
        raise GeokerasInputError(
            f"expected range(start, stop[, step]) with 1 to 3 integer arguments (linspace(start, stop, num) "
            f"spaces numbers). Received {written}."
        )
    if len(arguments) == 3 and arguments[2] == 0:
        raise GeokerasInputError(f"expected a range step other than 0. Received {written}.")
    values = range(*arguments)
    _check_count(len(values), written)
    return values


def _spaced(name: str, arguments: list[Any], written: str) -> list[float]:
    """numpy's ``linspace(start, stop, num)`` or ``logspace(start, stop, num[, base])``, as Python floats."""
    import numpy as np

    counts = (3,) if name == "linspace" else (3, 4)
    if len(arguments) not in counts or not isinstance(arguments[2], int) or arguments[2] < 0:
        raise GeokerasInputError(f"expected {name}({_ARGUMENTS[name]}) with an integer num >= 1. Received {written}.")
    _check_count(arguments[2], written)
    start, stop, num = arguments[:3]
    with np.errstate(over="ignore"):  # an overflow is refused below, by name
        if name == "linspace":
            values = np.linspace(start, stop, num)
        else:
            values = np.logspace(start, stop, num, base=arguments[3] if len(arguments) == 4 else 10.0)
    numbers = [float(item) for item in values]
    if not all(math.isfinite(item) for item in numbers):
        raise GeokerasInputError(f"expected {name} to give finite numbers. Received {written}, which overflows.")
    return numbers


def _check_count(count: int, written: str) -> None:
    if count > MAX_SWEEP_POINTS:
        raise GeokerasInputError(
            f"expected at most {MAX_SWEEP_POINTS:,} values on one sweep axis (each is a run). Received "
            f"{written}, which gives {count:,}."
        )

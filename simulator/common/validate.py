"""Validation of config fields and options: one implementation of each rule, one message shape.

Why here: every block's frozen config checks its fields in ``__post_init__``; the rules (an
integer in a range, a finite number in a range, a boolean, one of a list) are the same everywhere,
and so must be the message: ``SOURCE: FIELD = VALUE: what is allowed``. Each bound is stated in
the message, with the reason when it is not obvious (``why``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

from simulator.common.errors import SparsimInputError

__all__ = [
    "is_int",
    "check_int",
    "check_number",
    "check_bool",
    "check_choice",
    "parse_int",
    "parse_number",
    "choice",
    "boolean",
    "positive_int_or_none",
    "positive_number",
    "positive_number_or_none",
    "fraction",
]

_INT_TEXT = re.compile(r"[+-]?[0-9]+")
_NUMBER_TEXT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


def is_int(value: Any) -> bool:
    """A real integer (``bool`` is not one, although Python says it is)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _num(x: float) -> str:
    """A bound as people write it: 1073741824, not 1.07374e+09; 0.001, not 1e-03."""
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


def _why(why: str) -> str:
    return f" ({why})" if why else ""


def _number_rule(lo: float, hi: float, lo_open: bool, unit: str, why: str) -> str:
    u = f" {unit}" if unit else ""
    return f"a finite number in {'(' if lo_open else '['}{_num(lo)}, {_num(hi)}]{u}{_why(why)}"


def check_int(source: str, field: str, value: Any, lo: int, hi: int, why: str = "") -> int:
    """``value`` if it is an integer in ``[lo, hi]``, else one :class:`SparsimInputError`."""
    if not is_int(value) or not lo <= value <= hi:
        raise SparsimInputError(source, field, value, f"an integer from {lo} to {hi}{_why(why)}")
    return value


def check_number(
    source: str, field: str, value: Any, lo: float, hi: float, *, lo_open: bool = False, unit: str = "", why: str = ""
) -> float:
    """``float(value)`` if it is a finite number in ``[lo, hi]`` (``(lo, hi]`` with ``lo_open``)."""
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (lo < value if lo_open else lo <= value) and value <= hi
    if not ok:
        raise SparsimInputError(source, field, value, _number_rule(lo, hi, lo_open, unit, why))
    return float(value)


def check_bool(source: str, field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise SparsimInputError(source, field, value, "true or false")
    return value


def check_choice(source: str, field: str, value: Any, allowed: Iterable[Any]) -> Any:
    allowed = tuple(allowed)
    if not any(value == a and type(value) is type(a) for a in allowed):
        raise SparsimInputError(source, field, value, f"allowed: {', '.join(map(str, allowed))}")
    return value


def parse_int(text: str, source: str, field: str, lo: int, hi: int, why: str = "") -> int:
    """A strict integer from text: ASCII digits with an optional sign, nothing else (``int()``
    alone accepts ``"1_000"``, ``" 7 "`` and non-ASCII digits; ``str.isdigit`` accepts ``"²"``)."""
    s = text.strip() if isinstance(text, str) else text
    if not isinstance(s, str) or not _INT_TEXT.fullmatch(s) or len(s) > 40:
        raise SparsimInputError(source, field, text, f"an integer from {lo} to {hi}{_why(why)}")
    return check_int(source, field, int(s), lo, hi, why)


def parse_number(
    text: str, source: str, field: str, lo: float, hi: float, *, lo_open: bool = False, unit: str = "", why: str = ""
) -> float:
    """A strict finite number from text (no ``nan``, ``inf``, ``1_0`` or non-ASCII digits)."""
    s = text.strip() if isinstance(text, str) else text
    if not isinstance(s, str) or not _NUMBER_TEXT.fullmatch(s) or len(s) > 60:
        raise SparsimInputError(source, field, text, _number_rule(lo, hi, lo_open, unit, why))
    return check_number(source, field, float(s), lo, hi, lo_open=lo_open, unit=unit, why=why)


# ---------------------------------------------------------------------- parameter checkers
# ``(value, field) -> value`` callables for :class:`simulator.common.block.Param` (the caller
# names the source: a spec, a CLI option).


def choice(*allowed: Any):
    """A checker accepting exactly one of ``allowed``."""

    def check(value: Any, field: str) -> Any:
        return check_choice("", field, value, allowed)

    return check


def boolean(value: Any, field: str) -> bool:
    return check_bool("", field, value)


def positive_int_or_none(value: Any, field: str, hi: int = 1 << 20) -> int | None:
    if value is None:
        return None
    return check_int("", field, value, 1, hi, "or null: the workload's own")


def positive_number(value: Any, field: str) -> float:
    return check_number("", field, value, 0, 1e12, lo_open=True)


def positive_number_or_none(value: Any, field: str) -> float | None:
    return None if value is None else positive_number(value, field)


def fraction(value: Any, field: str) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and 0 <= value < 1:
        return float(value)
    raise SparsimInputError("", field, value, "a number in [0, 1)")

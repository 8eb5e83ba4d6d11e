"""Argument types shared by the subcommands: strict, bounded, one line when wrong."""

from __future__ import annotations

import argparse
import contextlib

from simulator.common.errors import SparsimInputError

__all__ = ["int_arg", "positive_int", "nm_arg", "number_arg", "as_options", "add_work_options"]


def int_arg(lo: int, hi: int, why: str = ""):
    """An argparse type: a strict integer in ``[lo, hi]`` (``why`` explains the bound)."""

    def parse(text: str) -> int:
        from simulator.common.validate import parse_int

        try:
            return parse_int(text, "", "", lo, hi, why)
        except SparsimInputError as err:
            raise argparse.ArgumentTypeError(f"{text!r}: {err.allowed}") from None

    parse.__name__ = "integer"
    return parse


#: counts of things (rows, columns, batch): at least one, at most 2**20
positive_int = int_arg(1, 1 << 20)


def number_arg(lo: float, hi: float, *, lo_open: bool = False, unit: str = ""):
    """An argparse type: a strict finite number in ``[lo, hi]`` (``(lo, hi]`` with ``lo_open``)."""

    def parse(text: str) -> float:
        from simulator.common.validate import parse_number

        try:
            return parse_number(text, "", "", lo, hi, lo_open=lo_open, unit=unit)
        except SparsimInputError as err:
            raise argparse.ArgumentTypeError(f"{text!r}: {err.allowed}") from None

    parse.__name__ = "number"
    return parse


def nm_arg(text: str) -> tuple[int, int]:
    """``N:M`` as an argparse type."""
    from workloads.nm import parse_nm

    try:
        return parse_nm(text, "", "")
    except SparsimInputError as err:
        raise argparse.ArgumentTypeError(f"{text!r}: {err.allowed}") from None


def dim_arg(text: str) -> tuple[str, int]:
    """``NAME=VALUE``: a symbolic ONNX dimension bound to a size."""
    from simulator.common.validate import parse_int

    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"{text!r}: NAME=VALUE, e.g. batch=8")
    try:
        return name.strip(), parse_int(value.strip(), "", "", 1, 1 << 24)
    except SparsimInputError as err:
        raise argparse.ArgumentTypeError(f"{text!r}: {err.allowed}") from None


def shape_arg(text: str) -> tuple[str, tuple[int, ...]]:
    """``[INPUT=]d0,d1,...``: an ONNX input's shape (no name: the model's only input)."""
    from simulator.common.validate import parse_int

    name, sep, dims = text.rpartition("=")
    parts = dims.split(",")
    if not dims.strip() or len(parts) > 8:
        raise argparse.ArgumentTypeError(f"{text!r}: [INPUT=]d0,d1,... with 1 to 8 sizes, e.g. 1,3,640,640")
    try:
        return name.strip(), tuple(parse_int(p.strip(), "", "", 1, 1 << 24) for p in parts)
    except SparsimInputError as err:
        raise argparse.ArgumentTypeError(f"{text!r}: {err.allowed}") from None


def add_work_options(parser: argparse.ArgumentParser, progress: bool = True) -> None:
    """``--max-work`` and ``--progress`` (see :mod:`simulator.common.work`); ``main`` applies them
    around the command."""
    from simulator.common.work import DEFAULT_MAX_WORK, format_duration

    parser.add_argument("--max-work", default=None, metavar="DURATION",
                        help=f"refuse a run whose estimated time is over this (default "
                        f"{format_duration(DEFAULT_MAX_WORK)}; e.g. 600, 30m, 2h, 1d)")  # fmt: skip
    if progress:
        parser.add_argument("--progress", default="auto", choices=("auto", "on", "off"),
                            help="progress bar: auto (on a terminal, for runs over ~2 s), on, off")  # fmt: skip


@contextlib.contextmanager
def as_options():
    """A run parameter the library refuses (source ``params``) is the command line's ``--OPTION``."""
    from simulator.api import PARAMS

    try:
        yield
    except SparsimInputError as err:
        if err.source != PARAMS:
            raise
        raise SparsimInputError(f"--{err.field.replace('_', '-')}", err.field, err.value, err.allowed) from None

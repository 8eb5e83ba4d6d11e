"""The ``sparsim`` command line: one entry point, one thin subcommand per library function.

Bad input prints one line, ``sparsim: error: <source>: <field> = <value>: <allowed>``, and exits 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from simulator.errors import SparsimInputError

__all__ = ["main", "build_parser"]


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be >= 1")
    return value


def _cmd_simulate(args: argparse.Namespace) -> int:
    from simulator.outputs import check_output_dir
    from simulator.simulate import simulate, summary_table, write_simulation

    check_output_dir(args.out)
    res = simulate(args.arch, args.workload, batch=args.batch)
    write_simulation(res, args.out)
    print(summary_table(res))
    print(f"wrote {args.out}/layers.csv, layers.parquet, workload.csv, COMPUTE_REPORT.csv")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sparsim",
        description="Simulation and co-design of sparse DL and graph hardware.",
    )
    from simulator import __version__

    parser.add_argument("--version", action="version", version=f"sparsim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser(
        "simulate",
        help="simulate a workload on the N:M systolic array",
        description="Simulate a workload (SCALE-Sim topology or sparsim layer table) "
        "on an array config (sparsim YAML or SCALE-Sim .cfg).",
    )
    p.add_argument("--arch", required=True, help="array config: ARCH.yaml or SCALE-Sim ARCH.cfg")
    p.add_argument("--workload", required=True, help="SCALE-Sim topology CSV, or layer table CSV/Parquet")
    p.add_argument("--batch", type=_positive_int, default=None, help="batch size for every layer")
    p.add_argument("--out", required=True, help="output directory (replaced atomically)")
    p.set_defaults(func=_cmd_simulate)

    from rtl.commands import add_rtl_parser

    add_rtl_parser(sub, _positive_int)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except SparsimInputError as err:
        print(f"sparsim: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

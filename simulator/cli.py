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


def _parse_nm(text: str) -> tuple[int, int]:
    from workloads.nm import parse_nm

    return parse_nm(text, "--nm", "N:M")


def _cmd_simulate(args: argparse.Namespace) -> int:
    from simulator.outputs import check_output_dir
    from simulator.simulate import simulate, summary_table, write_simulation

    check_output_dir(args.out)
    if args.training != "none":
        return _cmd_simulate_training(args)
    res = simulate(args.arch, args.workload, batch=args.batch)
    write_simulation(res, args.out)
    print(summary_table(res))
    print(f"wrote {args.out}/layers.csv, layers.parquet, workload.csv, COMPUTE_REPORT.csv")
    return 0


def _cmd_simulate_training(args: argparse.Namespace) -> int:
    from simulator.config import load_arch
    from simulator.outputs import atomic_output_dir
    from simulator.sat import parse_sat_options, simulate_training_step
    from workloads.io import load_workload

    cfg = load_arch(args.arch)
    nm = _parse_nm(args.nm)
    opts = parse_sat_options(args.sat_options)
    layers = load_workload(args.workload, batch=args.batch)
    res = simulate_training_step(layers, cfg, scheme=args.training, nm=nm, options=opts, clock_mhz=args.clock_mhz)
    with atomic_output_dir(args.out) as tmp:
        res.passes.to_csv(tmp / "passes.csv", index=False)
        res.passes.to_parquet(tmp / "passes.parquet", index=False)
        layers.to_csv(tmp / "workload.csv", index=False)
    s = res.summary
    view = res.passes.groupby("pass", sort=False).agg(
        gemms=("name", "size"),
        cycles=("step_cycles", "sum"),
        dense_macs=("dense_macs", "sum"),
        energy_uj=("energy_pj", lambda e: round(e.sum() / 1e6, 1)),
    )
    print(f"training step: {args.workload}, {args.training} {s['nm']}, options {s['options']}")
    print(view.to_string())
    print(
        f"cycles per step {s['cycles_per_step']:,}; {s['seconds_per_step'] * 1e3:.2f} ms at {args.clock_mhz:g} MHz; "
        f"dense-equivalent {s['dense_equivalent_gops']:,.1f} GOPS; "
        f"energy per step {s['energy_per_step_j'] * 1e3:.3f} mJ; "
        f"{s['gops_per_watt']:,.1f} GOPS/W"
    )
    print(f"wrote {args.out}/passes.csv, passes.parquet, workload.csv")
    return 0


def _cmd_trace(args: argparse.Namespace) -> int:
    from pathlib import Path

    from simulator.outputs import check_output_dir

    out = Path(args.out)
    if out.suffix.lower() not in (".csv", ".parquet"):
        raise SparsimInputError("--out", "extension", out.suffix, "allowed: .csv, .parquet")
    check_output_dir(out.parent)
    if args.model.lower().endswith(".onnx"):
        from workloads.trace_onnx import trace_onnx

        trace = trace_onnx(args.model, batch=args.batch)
    else:
        from workloads.zoo import DEFAULT_SEQ_LEN, trace_zoo

        trace = trace_zoo(args.model, batch=args.batch, seq_len=args.seq_len or DEFAULT_SEQ_LEN)
    if not args.allow_unsupported:
        trace.check(args.model)
    layers = trace.layers
    tmp = out.with_name(f".{out.name}.tmp")
    if args.scalesim:
        from workloads.scalesim_topology import write_scalesim_topology

        write_scalesim_topology(layers, tmp)
    elif out.suffix.lower() == ".parquet":
        layers.to_parquet(tmp, index=False)
    else:
        layers.to_csv(tmp, index=False)
    tmp.replace(out)
    from workloads.lowering import lower_to_gemms

    g = lower_to_gemms(layers)
    print(
        f"{args.model}: {len(layers)} layers ({', '.join(f'{k} {v}' for k, v in layers.op.value_counts().items())}), "
        f"{g.dense_macs.sum() / 1e9:.3f} GMAC"
    )
    print(f"not lowered (listed, not simulated): {trace.unsupported_summary()}")
    print(f"wrote {out}")
    return 0


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from pathlib import Path

    if args.study == "sat":
        from reports.sat_report import reproduce_sat

        out = Path(args.out) if args.out else Path(__file__).resolve().parents[1] / "reports" / "reference" / "sat"
        reproduce_sat(out, quick=args.quick)
    print(f"wrote {out}/README.md and its CSV/PNG files")
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
    p.add_argument(
        "--training",
        default="none",
        choices=("none", "bdwp", "forward-only", "transposable", "dense"),
        help="simulate a whole training step (FF, BP, WU) under this N:M scheme",
    )
    p.add_argument("--nm", default="2:4", help="N:M of the training scheme's sparse passes")
    p.add_argument("--sat-options", default="all", help="comma list of interleave,pregen,offline; or all / none")
    p.add_argument("--clock-mhz", type=float, default=200.0, help="clock for GOPS and ms per step")
    p.set_defaults(func=_cmd_simulate)

    t = sub.add_parser("trace", help="trace a zoo model or an ONNX file into a layer table")
    t.add_argument(
        "model",
        help="zoo name (resnet18, resnet50, vgg16, mobilenet_v1, mobilenet_v2, bert_base, "
        "minilm_l6, vit_b16, gpt2_small) or FILE.onnx",
    )
    t.add_argument("--batch", type=_positive_int, default=1)
    t.add_argument("--seq-len", type=_positive_int, default=None, help="sequence length of text models")
    t.add_argument("--scalesim", action="store_true", help="write SCALE-Sim's topology format instead")
    t.add_argument(
        "--allow-unsupported",
        action="store_true",
        help="list weight layers that cannot be lowered (Conv3d, ConvTranspose...) and go on",
    )
    t.add_argument("--out", required=True, help="FILE.csv or FILE.parquet")
    t.set_defaults(func=_cmd_trace)

    r = sub.add_parser("reproduce", help="regenerate a reproduction report (reports/reference/...)")
    r.add_argument("study", choices=("sat",))
    r.add_argument("--out", default=None, help="output directory (default: reports/reference/STUDY)")
    r.add_argument("--quick", action="store_true", help="fewer models, seeds and epochs (for tests)")
    r.set_defaults(func=_cmd_reproduce)

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

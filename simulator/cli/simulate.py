"""``sparsim simulate``: a workload on the N:M array, for inference (block ``nm_array``) or one
training step (block ``sat``), to tidy tables and SCALE-Sim-format reports."""

from __future__ import annotations

import argparse

import pandas as pd

from simulator.cli._args import nm_arg, number_arg, positive_int
from simulator.common.errors import SparsimInputError

__all__ = ["add_parser", "summary_table"]


def add_parser(sub) -> None:
    p = sub.add_parser(
        "simulate",
        help="simulate a workload on the N:M systolic array",
        description="Simulate a workload (SCALE-Sim topology, sparsim layer table or zoo:NAME) "
        "on an array config (sparsim YAML or SCALE-Sim .cfg).",
    )
    p.add_argument("--arch", required=True, help="array config: ARCH.yaml or SCALE-Sim ARCH.cfg")
    p.add_argument("--workload", required=True, help="SCALE-Sim topology CSV, layer table CSV/Parquet, or zoo:NAME")
    p.add_argument("--batch", type=positive_int, default=None, help="batch size for every layer")
    p.add_argument("--out", required=True, help="output directory (replaced only if sparsim wrote it)")
    p.add_argument(
        "--training",
        default="none",
        choices=("none", "bdwp", "forward-only", "transposable", "dense"),
        help="simulate a whole training step (FF, BP, WU) under this N:M scheme",
    )
    p.add_argument(
        "--nm",
        type=nm_arg,
        default=None,
        help="N:M: of the training scheme's sparse passes (default 2:4); for inference, on every weight",
    )
    p.add_argument("--sat-options", default=None, help="training: comma list of interleave,pregen,offline; all; none")
    p.add_argument(
        "--clock-mhz", type=number_arg(0, 1e5, lo_open=True, unit="MHz"), default=None,
        help="training: clock for GOPS and ms per step (default 200)",
    )  # fmt: skip
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from simulator.common.outputs import check_output_dir
    from simulator.nm_array.config import load_arch
    from workloads.io import load_workload

    check_output_dir(args.out, "simulate")
    if args.training == "none":
        for opt, value in (("--sat-options", args.sat_options), ("--clock-mhz", args.clock_mhz)):
            if value is not None:
                raise SparsimInputError(opt, opt.lstrip("-"), value, "only with --training (a training step)")
    cfg = load_arch(args.arch)
    layers = load_workload(args.workload, batch=args.batch)
    if args.training != "none":
        return _training(args, cfg, layers)
    from simulator.common.block import get_block

    block = get_block("nm_array")
    nm = None if args.nm is None else f"{args.nm[0]}:{args.nm[1]}"
    table = block.run(layers, cfg, nm=nm, source=str(args.workload))
    _write(args.out, table, layers, cfg)
    print(summary_table(table, cfg))
    print(f"wrote {args.out}/layers.csv, layers.parquet, workload.csv, COMPUTE_REPORT.csv")
    return 0


def _write(out, table: pd.DataFrame, layers: pd.DataFrame, cfg) -> None:
    from reports.scalesim_report import write_compute_report
    from simulator.common.outputs import atomic_output_dir

    with atomic_output_dir(out, "simulate") as tmp:
        table.to_csv(tmp / "layers.csv", index=False)
        table.to_parquet(tmp / "layers.parquet", index=False)
        layers.to_csv(tmp / "workload.csv", index=False)
        write_compute_report(table, cfg, tmp / "COMPUTE_REPORT.csv")


def summary_table(s: pd.DataFrame, cfg) -> str:
    """Human-readable per-layer summary with a total line."""
    view = pd.DataFrame(
        {
            "layer": s["name"],
            "M x K x N": s["gemm_m"].astype(str)
            + " x "
            + s["gemm_k"].astype(str)
            + " x "
            + s["gemm_n"].astype(str)
            + s["count"].map(lambda c: f" (x{c})" if c > 1 else ""),
            "N:M": s["nm"],
            "folds": s["folds"],
            "cycles": s["cycles"],
            "stalls": s["stall_cycles"],
            "util %": (s["utilization"] * 100).round(1),
            "DRAM MB": (s["dram_bytes"] / 1e6).round(3),
        }
    )
    total_cycles = int(s["cycles"].sum())
    util = s["dense_macs"].sum() / (cfg.pes * total_cycles)
    head = (
        f"array {cfg.rows}x{cfg.cols} {cfg.dataflow.upper()}"
        f"{' (weight double-buffered)' if cfg.weight_double_buffer else ''}, "
        f"DRAM {'unlimited' if cfg.dram_bw_bytes_per_cycle is None else f'{cfg.dram_bw_bytes_per_cycle:g} B/cycle'}"
    )
    tail = (
        f"total: {len(s)} layers, {total_cycles:,} cycles, {int(s['stall_cycles'].sum()):,} stall cycles, "
        f"{s['dense_macs'].sum():,} dense MACs, utilization {util * 100:.1f}%"
    )
    return "\n".join([head, view.to_string(index=False), tail])


def _training(args: argparse.Namespace, cfg, layers: pd.DataFrame) -> int:
    from simulator.common.block import get_block
    from simulator.common.outputs import atomic_output_dir
    from simulator.nm_array.training_step import parse_sat_options

    block = get_block("sat")
    opts = parse_sat_options(args.sat_options)
    nm = args.nm or (2, 4)
    clock = 200.0 if args.clock_mhz is None else args.clock_mhz
    params = block.check_params(
        {"scheme": args.training, "nm": f"{nm[0]}:{nm[1]}", "interleave": opts.interleave, "pregen": opts.pregen,
         "offline": opts.offline, "clock_mhz": clock}, "--training",
    )  # fmt: skip
    table = block.run(layers, cfg, **block.run_params(params))
    s = block.summarize(table, cfg, **params)
    with atomic_output_dir(args.out, "simulate") as tmp:
        table.to_csv(tmp / "passes.csv", index=False)
        table.to_parquet(tmp / "passes.parquet", index=False)
        layers.to_csv(tmp / "workload.csv", index=False)
    view = table.groupby("pass", sort=False).agg(
        gemms=("name", "size"),
        cycles=("cycles", "sum"),
        dense_macs=("dense_macs", "sum"),
        energy_uj=("energy_pj", lambda e: round(e.sum() / 1e6, 1)),
    )
    options = {k: params[k] for k in ("interleave", "pregen", "offline")}
    print(f"training step: {args.workload}, {args.training} {params['nm']}, options {options}")
    print(view.to_string())
    print(
        f"cycles per step {s['cycles']:,}; {s['seconds'] * 1e3:.2f} ms at {clock:g} MHz; "
        f"dense-equivalent {s['dense_equivalent_gops']:,.1f} GOPS; "
        f"energy per step {s['energy_pj'] * 1e-9:.3f} mJ; "
        f"{s['gops_per_watt']:,.1f} GOPS/W"
    )
    print(f"wrote {args.out}/passes.csv, passes.parquet, workload.csv")
    return 0

"""``sparsim simulate``: a workload on the N:M array, for inference (block ``nm_array``) or one
training step (block ``sat``), to tidy tables and SCALE-Sim-format reports."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from simulator.cli._args import add_work_options, as_options, nm_arg, number_arg, positive_int
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
        "--clock-ghz", type=number_arg(0.01, 100, unit="GHz"), default=None,
        help="the array's clock (overrides the config's clock_ghz): seconds, GOPS, DRAM clocks",
    )  # fmt: skip
    p.add_argument("--clock-mhz", default=None, help=argparse.SUPPRESS)  # renamed: refused with its new name
    p.add_argument(
        "--mapping", default="plain",
        help="plain (the config's dataflow, plain schedule; default), auto (the mapper chooses each layer's "
        "dataflow, tiles and loop order), ws|os|is (that dataflow's plain schedule), or a mapping file "
        "(.yaml/.csv, e.g. a previous run's mapping.yaml or layers.csv)",
    )  # fmt: skip
    p.add_argument(
        "--objective", default=None, choices=("cycles", "energy", "edp", "dram_bytes"),
        help="what --mapping auto minimises per layer (default cycles)",
    )  # fmt: skip
    p.add_argument("--write-mapping", default=None, help="also write the mappings used to this .yaml/.csv file")
    p.add_argument("--force", action="store_true", help="replace an existing --write-mapping file")
    add_work_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from simulator.api import simulate
    from simulator.common.errors import input_context
    from simulator.common.outputs import check_output_dir, check_output_file
    from simulator.nm_array.config import load_arch
    from workloads.io import load_workload

    check_output_dir(args.out, "simulate")
    if args.objective is not None and args.mapping != "auto":
        raise SparsimInputError("--objective", "objective", args.objective, "only with --mapping auto")
    objective = args.objective or "cycles"
    if args.write_mapping is not None:
        check_output_file(args.write_mapping, "--write-mapping", (".yaml", ".yml", ".csv"), force=args.force)
    elif args.force:
        raise SparsimInputError("--force", "force", True, "only with --write-mapping (an output file to replace)")
    if args.clock_mhz is not None:
        raise SparsimInputError("--clock-mhz", "clock-mhz", args.clock_mhz, "renamed --clock-ghz (every clock in "
                                "sparsim is in GHz: the array config's clock_ghz)")  # fmt: skip
    if args.training == "none" and args.sat_options is not None:
        raise SparsimInputError("--sat-options", "sat-options", args.sat_options,
                                "only with --training (a training step)")  # fmt: skip
    elif args.training == "dense" and args.nm is not None:
        raise SparsimInputError("--nm", "nm", f"{args.nm[0]}:{args.nm[1]}",
                                "only with a sparse training scheme (bdwp, forward-only, transposable)")  # fmt: skip
    cfg = load_arch(args.arch)
    if args.clock_ghz is not None:
        cfg = cfg.replace({"clock_ghz": args.clock_ghz}, "--clock-ghz")
    from simulator.nm_array.map_layers import check_mapping_request

    check_mapping_request(args.mapping, objective, cfg)
    if args.mapping not in ("plain", "auto", "ws", "os", "is") and not Path(args.mapping).is_file():
        allowed = "an existing mapping file, or plain, auto, ws, os, is"
        raise SparsimInputError("--mapping", "mapping", args.mapping, allowed)
    layers = load_workload(args.workload, batch=args.batch)
    if args.training != "none":
        return _training(args, cfg, layers)
    nm = None if args.nm is None else f"{args.nm[0]}:{args.nm[1]}"
    with as_options(), input_context(str(args.workload)):
        result = simulate(layers, cfg, block="nm_array", mapping=args.mapping, objective=args.objective, nm=nm)
    table = result.table
    result.to_dir(args.out)
    print(summary_table(table, cfg))
    if result.arrays is not None:
        print(array_summary(result.arrays, int(table["cycles"].sum())))
    if "objective_value" in table.columns:
        print(f"mapper: {objective}, {int(table['mapping_candidates'].sum()):,} candidates costed, "
              f"{int(table['mapping_simulated'].sum()):,} simulated for stalls")  # fmt: skip
    extra = ", arrays.csv" if result.arrays is not None else ""
    print(f"wrote {args.out}/layers.csv, layers.parquet, workload.csv{extra} and SCALE-Sim's COMPUTE_REPORT.csv, "
          "BANDWIDTH_REPORT.csv, DETAILED_ACCESS_REPORT.csv (the columns we reproduce)")  # fmt: skip
    _write_mapping(args, table)
    return 0


def _write_mapping(args: argparse.Namespace, table: pd.DataFrame) -> None:
    from dataflow.nm_array.mapping_file import MAPPING_FIELDS, write_mapping_file
    from simulator.common.outputs import write_file_atomic

    if args.write_mapping is None:
        return
    cols = ["layer", "name"] + (["pass"] if "pass" in table.columns else []) + list(MAPPING_FIELDS[2:])
    write_file_atomic(args.write_mapping, write_mapping_file(args.write_mapping, table[cols]))
    print(f"wrote {args.write_mapping}")


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
    if (s["loop_order"] != "plain").any() or s["dataflow"].nunique() > 1:
        view.insert(
            3,
            "mapping",
            s["dataflow"]
            + " "
            + s["loop_order"]
            + s.apply(lambda r: f" {r.tile_p}/{r.tile_k}/{r.tile_n}" if r.loop_order != "plain" else "", axis=1),
        )
    if "partition" in s.columns:  # a system of arrays: how each layer was spread
        view.insert(3, "partition", s["partition"] + " on " + s["active_arrays"].astype(str))
    total_cycles = int(s["cycles"].sum())
    from simulator.common.bounds import utilization

    util = utilization(int(s["dense_macs"].sum()), cfg.system_pes, total_cycles)
    shapes = ", ".join(f"{a.rows}x{a.cols}" for a in cfg.system_arrays()) if cfg.is_system else ""
    head = (
        (
            f"system of {cfg.system.arrays} arrays ({shapes}) sharing one memory, partition {cfg.system.partition}; "
            if shapes
            else ""
        )
        + (f"each {cfg.pe.dataflow.upper()}" if shapes else f"array {cfg.rows}x{cfg.cols} {cfg.pe.dataflow.upper()}")
        + f"{' (weight double-buffered)' if cfg.pe.weight_double_buffer else ''}, "
        + _memory_text(cfg)
        + (
            f"; operand buffers of {cfg.buffers.banks} banks x {cfg.buffers.bank_width_words} words, "
            f"{cfg.buffers.bank_ports} port(s), layouts ifmap {cfg.buffers.ifmap_layout} / "
            f"filter {cfg.buffers.filter_layout} / ofmap {cfg.buffers.ofmap_layout}"
            if cfg.buffers.banks
            else ""
        )
    )
    sram = int(s["sram_stall_cycles"].sum()) if "sram_stall_cycles" in s.columns else 0
    if sram:
        view.insert(view.columns.get_loc("stalls") + 1, "bank stalls", s["sram_stall_cycles"])
    tail = (
        f"total: {len(s)} layers, {total_cycles:,} cycles, {int(s['stall_cycles'].sum()):,} stall cycles"
        + (f" ({sram:,} on SRAM bank conflicts)" if sram else "")
        + ", "
        f"{s['dense_macs'].sum():,} dense MACs, utilization {util * 100:.1f}%"
    )
    return "\n".join([head, view.to_string(index=False), tail])


def array_summary(per_array: pd.DataFrame, system_cycles: int) -> str:
    """One line per array of a system: its busy cycles against the system's, its traffic."""
    lines = ["per array (arrays.csv has every layer's parts):"]
    for a, g in per_array.groupby("array"):
        busy = int(g["busy_cycles"].sum())
        shape = f"{g['array_rows'].iloc[0]}x{g['array_cols'].iloc[0]}"
        lines.append(
            f"  array {a} ({shape}): {len(g)} layers, busy "
            f"{busy:,} cycles ({100 * busy / max(system_cycles, 1):.1f}% of the system's), "
            f"{int(g['stall_cycles'].sum()):,} stall cycles, DRAM {g['dram_bytes'].sum() / 1e6:.3f} MB"
        )
    return "\n".join(lines)


def _memory_text(cfg) -> str:
    """The memory behind the array(s), as the summary's header names it."""
    if cfg.memory.is_dram:
        return f"DRAM model {Path(cfg.memory.dram).name} ({cfg.memory.mode} level)"
    bw = cfg.memory.bw_bytes_per_cycle
    return "DRAM unlimited" if bw is None else f"DRAM {bw:g} B/cycle"


def _training(args: argparse.Namespace, cfg, layers: pd.DataFrame) -> int:
    from simulator.api import simulate
    from simulator.common.errors import input_context
    from simulator.sat.config import parse_sat_options

    opts = parse_sat_options(args.sat_options)
    nm = args.nm or (2, 4)
    sparse = {} if args.training == "dense" else {"nm": f"{nm[0]}:{nm[1]}"}  # dense: no N:M to give
    with as_options(), input_context(str(args.workload)):
        result = simulate(layers, cfg, training=args.training, mapping=args.mapping, objective=args.objective,
                          interleave=opts.interleave, pregen=opts.pregen, offline=opts.offline,
                          **sparse)  # fmt: skip
    table, s, params = result.table, result.totals, result.params
    result.to_dir(args.out)
    view = table.groupby("pass", sort=False).agg(
        gemms=("name", "size"),
        cycles=("cycles", "sum"),
        dense_macs=("dense_macs", "sum"),
        energy_uj=("energy_pj", lambda e: round(e.sum() / 1e6, 1)),
    )
    options = {k: params[k] for k in ("interleave", "pregen", "offline")}
    scheme = args.training if args.training == "dense" else f"{args.training} {params['nm']}"
    print(f"training step: {args.workload}, {scheme}, options {options}")
    print(view.to_string())
    print(
        f"cycles per step {s['cycles']:,}; {s['seconds'] * 1e3:.2f} ms at {cfg.clock_ghz:g} GHz; "
        f"dense-equivalent {s['dense_equivalent_gops']:,.1f} GOPS; "
        f"energy per step {s['energy_pj'] * 1e-9:.3f} mJ; "
        f"{s['gops_per_watt']:,.1f} GOPS/W"
    )
    print(f"wrote {args.out}/passes.csv, passes.parquet, workload.csv")
    _write_mapping(args, table)
    return 0

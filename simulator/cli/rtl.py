"""``sparsim rtl ...`` subcommands: thin wrappers over :mod:`rtl.tools.export`, :mod:`rtl.tools.runner`,
:mod:`rtl.tools.area`."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from simulator.cli._args import int_arg
from simulator.common.errors import SparsimInputError
from simulator.nm_array.config import ArrayConfig, PEArray

__all__ = ["add_parser"]

DESIGNS = ("nm_array",)
#: dataflows the Amaranth array can be generated for (IS is modelled, not built)
RTL_DATAFLOWS = ("ws", "os")
#: an RTL array side: Verilator builds of a 64x64 array already take minutes
_SIDE = int_arg(1, 64, "larger arrays take minutes to build")
#: a test GEMM side: every output is driven and scored one by one in the simulator
_GEMM = int_arg(1, 4096, "every output is simulated and scored")


def _cfg(args: argparse.Namespace) -> ArrayConfig:
    if args.n < 1 or args.m < 1 or args.n > args.m:
        raise SparsimInputError("--n/--m", "N:M", f"{args.n}:{args.m}", "need 1 <= N <= M")
    return ArrayConfig(
        pe=PEArray(
            rows=args.rows,
            cols=args.cols,
            operand_bits=args.operand_bits,
            acc_bits=args.acc_bits,
            supported_m=tuple(sorted({1, args.m})),
            weight_double_buffer=getattr(args, "double_buffer", False),
            dataflow=args.dataflow,
        )
    )


def _generate(args: argparse.Namespace) -> int:
    from rtl.tools.export import write_nm_array_verilog
    from simulator.common.outputs import atomic_output_dir, check_output_dir

    check_output_dir(args.out, "rtl")
    cfg = _cfg(args)
    with atomic_output_dir(args.out, "rtl") as tmp:
        write_nm_array_verilog(cfg, args.m, tmp)
    path = Path(args.out) / "nm_array.v"
    print(
        f"wrote {path} ({cfg.rows}x{cfg.cols} {cfg.pe.dataflow.upper()} array, {args.m} activation lanes per row, "
        f"{cfg.pe.operand_bits}-bit operands, {cfg.pe.acc_bits}-bit accumulators)"
    )
    return 0


def _test(args: argparse.Namespace) -> int:
    from rtl.tools.runner import run_nm_array_check
    from simulator.common.bits import signed_range
    from workloads.nm import nm_compress, nm_topn_mask

    cfg = _cfg(args)
    n, m = (1, 1) if args.n == args.m else (args.n, args.m)
    rng = np.random.default_rng(args.seed)
    lo, hi = signed_range(cfg.pe.operand_bits)  # operands of the datapath's width
    x = rng.integers(lo, hi + 1, (args.t, args.k), dtype=np.int64)
    w = rng.integers(lo, hi + 1, (args.k, args.ncol), dtype=np.int64)
    values, idx = nm_compress(w * nm_topn_mask(w, n, m), n, m)
    res = run_nm_array_check(
        x,
        values,
        idx,
        n,
        m,
        cfg,
        lanes=args.m,
        sim=args.sim,
        seed=args.seed,
        waves=args.waves,
        build_root=Path(args.build_dir) if args.build_dir else None,
        tag="cli",
    )
    print(res.summary)
    if res.waves is not None:
        print(f"waves: {res.waves}")
    return 0 if res.passed else 1


def _area(args: argparse.Namespace) -> int:
    from rtl.tools.area import synthesize_nm_array
    from simulator.common.outputs import check_output_file, write_file_atomic

    if args.out:
        check_output_file(args.out, suffixes=(".csv",), force=args.force)  # before minutes of synthesis
    cfg = _cfg(args)
    table = synthesize_nm_array(cfg, args.m)
    print(table.to_string(index=False))
    print(
        f"total: {int(table['count'].sum())} cells, {table['ge'].sum():,.0f} GE "
        f"({table['ge'].sum() / cfg.pes:,.0f} GE per PE)"
    )
    if args.out:
        write_file_atomic(args.out, table.to_csv(index=False).encode())
        print(f"wrote {args.out}")
    return 0


def add_parser(sub) -> None:
    rtl = sub.add_parser("rtl", help="RTL: generate Verilog, cross-check it with cocotb, synthesise its area")
    rsub = rtl.add_subparsers(dest="rtl_command", required=True, metavar="ACTION")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("design", choices=DESIGNS)
        p.add_argument(
            "--dataflow",
            choices=RTL_DATAFLOWS,
            default="ws",
            help="ws (weight-stationary) or os (output-stationary); input-stationary has no RTL",
        )
        p.add_argument("--rows", type=_SIDE, default=4, help="PE rows (1-64: larger arrays take minutes to build)")
        p.add_argument("--cols", type=_SIDE, default=4, help="PE columns (1-64)")
        p.add_argument("--n", type=int_arg(1, 64), default=2, help="N of N:M (N = M runs dense)")
        p.add_argument("--m", type=int_arg(1, 64), default=4, help="M of N:M: activation lanes per PE row")
        p.add_argument("--operand-bits", type=int_arg(2, 32), default=8)
        p.add_argument("--acc-bits", type=int_arg(2, 64), default=32)

    g = rsub.add_parser("generate", help="write the design's Verilog (a build output, not committed)")
    common(g)
    g.add_argument("--out", required=True, help="output directory")
    g.set_defaults(func=_generate)

    t = rsub.add_parser("test", help="drive a random GEMM through the RTL and score every output")
    common(t)
    t.add_argument("--sim", choices=("verilator", "icarus"), default="verilator")
    t.add_argument("--t", type=_GEMM, default=8, help="streamed rows (GEMM M, 1-4096)")
    t.add_argument("--k", type=_GEMM, default=24, help="reduced dimension K (1-4096)")
    t.add_argument("--ncol", type=_GEMM, default=6, help="output columns (GEMM N, 1-4096)")
    t.add_argument("--seed", type=int_arg(0, 2**32 - 1), default=0)
    t.add_argument("--double-buffer", action="store_true", help="schedule with weight double-buffering")
    t.add_argument("--waves", action="store_true", help="write a waveform (VCD/FST) of the run")
    t.add_argument("--build-dir", default=None, help="build cache (default: ./sim_build)")
    t.set_defaults(func=_test)

    a = rsub.add_parser("area", help="synthesise with Yosys: cell counts and gate equivalents")
    common(a)
    a.add_argument("--out", default=None, help="also write the table as CSV")
    a.add_argument("--force", action="store_true", help="replace an existing --out file")
    a.set_defaults(func=_area)

"""``sparsim spgemm``: C = A x B by the functional model (checked against scipy.sparse), timed on
the PIUMA-like machine (block ``piuma``)."""

from __future__ import annotations

import argparse

from simulator.cli._args import add_work_options

__all__ = ["add_parser"]


def add_parser(sub) -> None:
    sg = sub.add_parser("spgemm", help="C = A x B on the PIUMA-like machine model")
    sg.add_argument(
        "--algorithm", default=None, help="required (unless --list): inner, outer, gustavson_spa, hash, smash_v1/v2/v3"
    )
    sg.add_argument("--matrix", default=None, help="required (unless --list): built-in name (see --list) or FILE.mtx")
    sg.add_argument("--b", default=None, help="right operand (default: the same matrix)")
    sg.add_argument("--machine", default=None, help="machine config YAML (PiumaConfig keys)")
    sg.add_argument("--out", default=None, help="required (unless --list): output directory")
    sg.add_argument("--list", action="store_true", help="list algorithms and built-in matrices")
    add_work_options(sg)
    sg.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from simulator.common.errors import SparsimInputError
    from simulator.spgemm.config import ALGORITHMS, algorithm

    if args.list:
        from workloads.matrices import MATRICES

        print("algorithms: " + ", ".join(ALGORITHMS))
        print("matrices (or a Matrix Market .mtx file):")
        for name, desc in MATRICES.items():
            print(f"  {name:32s} {desc}")
        return 0
    for opt in ("algorithm", "matrix", "out"):
        if not getattr(args, opt):
            raise SparsimInputError("spgemm", f"--{opt}", None, "required (with --algorithm, --matrix and --out)")
    import numpy as np
    import pandas as pd
    import scipy.io

    from simulator.common.block import get_block
    from simulator.common.outputs import atomic_output_dir, check_output_dir
    from simulator.spgemm.config import SmashConfig, load_machine
    from simulator.spgemm.fl import spgemm
    from workloads.matrices import load_matrix

    check_output_dir(args.out, "spgemm")
    algorithm(args.algorithm)
    machine = load_machine(args.machine)
    a = load_matrix(args.matrix)
    if args.b is None and a.shape[0] != a.shape[1]:
        raise SparsimInputError(
            args.matrix,
            "shape",
            f"{a.shape[0]}x{a.shape[1]}",
            "C = A x A needs a square A; give --b for a rectangular product",
        )
    b = a if args.b is None else load_matrix(args.b)
    c, _ = spgemm(a, b, args.algorithm, smash=SmashConfig.for_machine(machine))
    ref = (a @ b).tocsr()
    scale = float(np.abs(ref.data).max(initial=1.0))
    diff = (c - ref).tocsr()
    if diff.nnz and float(np.abs(diff.data).max()) > 1e-9 * scale + 1e-12 * scale:
        raise RuntimeError("C differs from scipy.sparse: a bug in the functional model")
    block = get_block("spgemm")
    result = block.run((a, b), machine, algorithm=args.algorithm)
    table, stats = result.table.copy(), result.totals
    table.insert(1, "matrix_a", args.matrix)
    table.insert(2, "matrix_b", args.b or args.matrix)
    table["checked_against_scipy"] = True
    with atomic_output_dir(args.out, "spgemm") as tmp:
        scipy.io.mmwrite(str(tmp / "C.mtx"), c)
        table.to_csv(tmp / "stats.csv", index=False)
        pd.DataFrame(table).to_parquet(tmp / "stats.parquet", index=False)
    print(
        f"C = {args.matrix} x {args.b or args.matrix}: {c.shape[0]}x{c.shape[1]}, {c.nnz:,} non-zeros, "
        f"{stats['flops']:,} multiplications; equal to scipy.sparse"
    )
    print(
        f"{args.algorithm} on {machine.cores} cores x {machine.threads_per_core} threads: {stats['cycles']:,} cycles "
        f"({stats['seconds'] * 1e3:.3f} ms at {machine.clock_ghz:g} GHz), issue utilisation "
        f"{stats['issue_utilization']:.2f}, DRAM {stats['dram_bytes'] / 1e6:.2f} MB, "
        f"scratchpad atomics {stats['sp_atomics']:,}, probes {stats['probes']:,}"
    )
    print(f"wrote {args.out}/C.mtx, stats.csv, stats.parquet")
    return 0

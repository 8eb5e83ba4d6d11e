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


def _cmd_spgemm(args: argparse.Namespace) -> int:
    from simulator.piuma import CYCLE_ALGORITHMS

    if args.list:
        from workloads.matrices import MATRICES

        print("algorithms: " + ", ".join(CYCLE_ALGORITHMS))
        print("matrices (or a Matrix Market .mtx file):")
        for name, desc in MATRICES.items():
            print(f"  {name:32s} {desc}")
        return 0
    if not args.algorithm or not args.matrix or not args.out:
        raise SparsimInputError("spgemm", "arguments", "missing", "--algorithm, --matrix and --out are required")
    import numpy as np
    import pandas as pd
    import scipy.io

    from simulator.outputs import atomic_output_dir, check_output_dir
    from simulator.piuma import load_machine, simulate_spgemm
    from workloads.matrices import load_matrix

    check_output_dir(args.out)
    if args.algorithm not in CYCLE_ALGORITHMS:
        raise SparsimInputError("--algorithm", "algorithm", args.algorithm, f"allowed: {', '.join(CYCLE_ALGORITHMS)}")
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
    c, stats = simulate_spgemm(a, b, args.algorithm, machine)
    ref = (a @ b).tocsr()
    tol = 1e-12 * float(np.abs(ref.data).max(initial=1.0))
    diff = (c - ref).tocsr()
    ok = diff.nnz == 0 or float(np.abs(diff.data).max()) <= 1e-9 * float(np.abs(ref.data).max(initial=1.0)) + tol
    if not ok:
        raise RuntimeError("C differs from scipy.sparse: a bug in the functional model")
    stats = {"matrix_a": args.matrix, "matrix_b": args.b or args.matrix, **stats, "checked_against_scipy": ok}
    table = pd.DataFrame([stats])
    with atomic_output_dir(args.out) as tmp:
        scipy.io.mmwrite(str(tmp / "C.mtx"), c)
        table.to_csv(tmp / "stats.csv", index=False)
        table.to_parquet(tmp / "stats.parquet", index=False)
    print(
        f"C = {args.matrix} x {args.b or args.matrix}: {c.shape[0]}x{c.shape[1]}, {c.nnz:,} non-zeros, "
        f"{stats['flops']:,} multiplications; equal to scipy.sparse"
    )
    print(
        f"{args.algorithm} on {machine.cores} cores x {machine.threads_per_core} threads: {stats['cycles']:,} cycles "
        f"({stats['seconds'] * 1e3:.3f} ms at {machine.clock_ghz:g} GHz), issue utilisation "
        f"{stats['issue_utilization']:.2f}, "
        f"DRAM {(stats['dram_read_bytes'] + stats['dram_write_bytes']) / 1e6:.2f} MB, "
        f"scratchpad atomics {stats['sp_atomics']:,}, probes {stats['probes']:,}"
    )
    print(f"wrote {args.out}/C.mtx, stats.csv, stats.parquet")
    return 0


def _cmd_mobile(args: argparse.Namespace) -> int:
    import json

    from simulator.a76_core import load_core
    from simulator.mobile_run import parse_input_shape, run_mobile
    from simulator.outputs import atomic_output_dir, check_output_dir

    check_output_dir(args.out)
    try:
        sparsity = float(args.sparsity)
    except ValueError:
        raise SparsimInputError("--sparsity", "sparsity", args.sparsity, "a number in [0, 1)") from None
    core = load_core(args.core)
    run = run_mobile(args.model, args.pattern, sparsity, core, args.measure_host, parse_input_shape(args.input),
                     args.scope, args.channel_padding)  # fmt: skip
    with atomic_output_dir(args.out) as tmp:
        run.table.to_csv(tmp / "layers.csv", index=False)
        run.table.to_parquet(tmp / "layers.parquet", index=False)
        (tmp / "summary.json").write_text(json.dumps(run.summary, indent=2) + "\n")
    s = run.summary
    print(
        f"{s['model']}: {s['layers']} weight layers, {s['macs'] / 1e6:.1f} M MACs; pattern {s['pattern']} at "
        f"{s['sparsity_target']:.0%} on {s['pruned_layers']} layers ({s['kept_macs'] / 1e6:.1f} M MACs kept)"
    )
    print(
        f"modelled core ({core.freq_ghz:g} GHz): {s['core_ms']:.2f} ms, dense {s['dense_core_ms']:.2f} ms, "
        f"speed-up {s['speedup_vs_dense']:.2f}x"
    )
    if "kept_after" in s:
        print(f"rearrangement: kept magnitude {s['kept_before']:.3f} -> {s['kept_after']:.3f}")
    elif "rearrange_note" in s:
        print(f"rearrangement: {s['rearrange_note']}")
    if args.measure_host:
        print(
            f"host ({s['host_layers_measured']} layers measured): {s['host_ms']:.2f} ms, dense "
            f"{s['host_dense_ms']:.2f} ms, speed-up {s['host_speedup_vs_dense']:.2f}x"
        )
    print(f"wrote {args.out}/layers.csv, layers.parquet, summary.json")
    return 0


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from pathlib import Path

    out = Path(args.out) if args.out else Path(__file__).resolve().parents[1] / "reports" / "reference" / args.study
    if args.study == "sat":
        from reports.sat_report import reproduce_sat

        reproduce_sat(out, quick=args.quick)
    elif args.study == "sparsebytenn":
        from reports.sparsebytenn_report import reproduce_sparsebytenn

        reproduce_sparsebytenn(out, quick=args.quick)
    else:
        from reports.smash_report import reproduce_smash

        reproduce_smash(out, quick=args.quick)
    print(f"wrote {out}/README.md and its CSV/PNG files")
    return 0


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _cmd_sweep(args: argparse.Namespace) -> int:
    import signal

    from simulator.sweep.run import run_sweep

    # Ctrl-C and SIGTERM (a batch scheduler's stop) both stop the sweep cleanly, even when the
    # driver was started with SIGINT ignored (a background job of a non-interactive shell)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        res = run_sweep(
            args.spec,
            args.out,
            executor=args.executor,
            jobs=args.jobs,
            scheduler=args.scheduler,
            resume=args.resume,
            force=args.force,
            progress=args.progress,
        )
    except KeyboardInterrupt:  # before the first point ran (e.g. while a cluster started)
        print("sparsim: sweep interrupted before any point ran", file=sys.stderr)
        return 130
    print(
        f"sweep {res.status}: {res.points} points ({res.resumed} already stored, {res.ran} run: "
        f"{res.ok} ok, {res.errors} errors) in {res.wall_s:.1f} s; results in {res.out}"
    )
    if res.infra_failures:
        print(
            f"sparsim: {res.infra_failures} points not run ({res.first_infra_error}); rerun with --resume",
            file=sys.stderr,
        )
        return 1
    if res.status == "interrupted":
        print(f"sparsim: interrupted; finished points are stored: rerun with --resume --out {res.out}", file=sys.stderr)
        return 130
    print(f"next: sparsim report {res.out}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from reports.sweep_report import write_sweep_report

    out = write_sweep_report(args.results, args.out)
    print(f"wrote {out}/report.html, report.md and its PNG/CSV files")
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

    sg = sub.add_parser("spgemm", help="C = A x B on the PIUMA-like machine model")
    sg.add_argument("--algorithm", default=None, help="inner, outer, gustavson_spa, hash, smash_v1/v2/v3")
    sg.add_argument("--matrix", default=None, help="built-in name (see --list) or FILE.mtx")
    sg.add_argument("--b", default=None, help="right operand (default: the same matrix)")
    sg.add_argument("--machine", default=None, help="machine config YAML (PiumaConfig keys)")
    sg.add_argument("--out", default=None, help="output directory")
    sg.add_argument("--list", action="store_true", help="list algorithms and built-in matrices")
    sg.set_defaults(func=_cmd_spgemm)

    mb = sub.add_parser("mobile", help="prune a mobile CNN and predict its latency on a Cortex-A76-class core")
    mb.add_argument(
        "--model", required=True, help="mobilenet_v1, mobilenet_v2, ppocr_det, ppocr_rec, ppocr_cls or FILE.onnx"
    )
    mb.add_argument("--pattern", required=True, help="dense, unstructured (XNNPACK), block4 (MNN 1x4), group (ours)")
    mb.add_argument("--sparsity", default="0", help="fraction of pruned weights in the pruned layers, in [0, 1)")
    mb.add_argument("--scope", default="layer", choices=("layer", "network"), help="prune each layer or one threshold")
    mb.add_argument(
        "--channel-padding",
        default="zero",
        choices=("zero", "none"),
        help="Cout not a multiple of the group size 4: pad with zero channels (zero) or refuse (none)",
    )
    mb.add_argument("--core", default=None, help="core config YAML (CoreConfig keys); default Snapdragon 855 prime")
    mb.add_argument("--input", default=None, help="input C,H,W (default: the model's own)")
    mb.add_argument("--measure-host", action="store_true", help="also run the host kernels and time them")
    mb.add_argument("--out", required=True, help="output directory (replaced atomically)")
    mb.set_defaults(func=_cmd_mobile)

    r = sub.add_parser("reproduce", help="regenerate a reproduction report (reports/reference/...)")
    r.add_argument("study", choices=("sat", "smash", "sparsebytenn"))
    r.add_argument("--out", default=None, help="output directory (default: reports/reference/STUDY)")
    r.add_argument("--quick", action="store_true", help="fewer models, seeds and epochs (for tests)")
    r.set_defaults(func=_cmd_reproduce)

    sw = sub.add_parser("sweep", help="run a design-space sweep from a spec (see examples/sweeps)")
    sw.add_argument("spec", help="sweep spec YAML")
    sw.add_argument("--out", required=True, help="results directory (a Parquet dataset + provenance)")
    sw.add_argument("--executor", default="local", help="local (process pool), dask (--scheduler) or dask-local")
    sw.add_argument("--jobs", type=_positive_int, default=None, help="worker processes (default: CPU count)")
    sw.add_argument("--scheduler", default=None, help="tcp://HOST:PORT of a Dask scheduler (--executor dask)")
    sw.add_argument("--resume", action="store_true", help="continue a sweep in --out, skipping stored points")
    sw.add_argument("--force", action="store_true", help="replace a sweep already in --out")
    sw.add_argument("--progress", default="auto", help="progress bar: auto (on a terminal), on, off")
    sw.set_defaults(func=_cmd_sweep)

    rp = sub.add_parser("report", help="HTML/Markdown/PNG report of a sweep's results")
    rp.add_argument("results", help="results directory of sparsim sweep")
    rp.add_argument("--out", default=None, help="report directory (default: RESULTS/report)")
    rp.set_defaults(func=_cmd_report)

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

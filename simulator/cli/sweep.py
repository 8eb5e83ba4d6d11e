"""``sparsim sweep`` (a design-space sweep from a spec) and ``sparsim report`` (its report)."""

from __future__ import annotations

import argparse
import sys

from simulator.cli._args import add_work_options, int_arg

__all__ = ["add_parser"]


def add_parser(sub) -> None:
    sw = sub.add_parser("sweep", help="run a design-space sweep from a spec (see examples/sweeps)")
    sw.add_argument("spec", help="sweep spec YAML")
    sw.add_argument("--out", required=True, help="results directory (a Parquet dataset + provenance)")
    sw.add_argument("--executor", default="local", help="local (process pool), dask (--scheduler) or dask-local")
    sw.add_argument("--jobs", type=int_arg(1, 1024), default=None, help="worker processes, 1-1024 (default: CPU count)")
    sw.add_argument("--scheduler", default=None, help="tcp://HOST:PORT of a Dask scheduler (--executor dask)")
    sw.add_argument("--resume", action="store_true", help="continue a sweep in --out, skipping stored points")
    sw.add_argument("--force", action="store_true", help="replace a sweep already in --out")
    sw.add_argument("--progress", default="auto", help="progress bar: auto (on a terminal), on, off")
    add_work_options(sw, progress=False)
    sw.set_defaults(func=run_sweep_cmd)

    rp = sub.add_parser("report", help="HTML/Markdown/PNG report of a sweep's results")
    rp.add_argument("results", help="results directory of sparsim sweep")
    rp.add_argument("--out", default=None, help="report directory (default: RESULTS/report)")
    rp.set_defaults(func=run_report)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def run_sweep_cmd(args: argparse.Namespace) -> int:
    import signal

    from simulator.sweeps.run import run_sweep

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


def run_report(args: argparse.Namespace) -> int:
    from reports.sweep_report import write_sweep_report

    out = write_sweep_report(args.results, args.out)
    print(f"wrote {out}/report.html, report.md and its PNG/CSV files")
    return 0

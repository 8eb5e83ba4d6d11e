"""``sparsim sweep``: expand a spec, skip stored points, run the rest on an executor, store each
result as it arrives.

Stopping: the first Ctrl-C stops submitting, drops queued points and waits for the running ones
(they are stored); a second Ctrl-C abandons those too. Either way every finished point is in the
store and ``--resume`` continues. A driver killed outright loses only its running points (see
:mod:`simulator.sweeps.store`).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import math
import os
import platform
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simulator.common.errors import SparsimInputError
from simulator.common.outputs import mark_sweep_dir, output_lock, verify_output
from simulator.common.work import Work, check_work, terminal_size
from simulator.sweeps.blocks import load_workload
from simulator.sweeps.executors import make_executor
from simulator.sweeps.spec import SweepSpec, Task, expand, load_spec
from simulator.sweeps.store import Store, read_provenance, schema_for, write_json_atomic
from simulator.sweeps.worker import TABLE

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SweepOutcome", "run_sweep", "kept_metrics", "versions"]


@dataclass
class SweepOutcome:
    out: Path
    points: int
    resumed: int
    ran: int = 0
    ok: int = 0
    errors: int = 0
    infra_failures: int = 0
    first_infra_error: str = ""
    status: str = "complete"
    wall_s: float = 0.0
    messages: list[str] = field(default_factory=list)
    #: point key -> its per-row table (``run_sweep(keep_tables=True)``: the reports' sweeps)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


def kept_metrics(spec: SweepSpec) -> dict[str, str]:
    """The metrics stored: those asked for, plus what derived metrics and the report need."""
    need = list(spec.metrics) + [spec.report["objective"]]
    if "speedup" in spec.derived:
        need.append("cycles")
    if spec.derived.get("perf_per_area"):
        need += ["cycles", "dense_macs", "area_mm2"]
    if spec.derived.get("energy"):
        need += ["cycles", "dense_macs", "energy_pj"]
    for pair in spec.report.get("pareto") or []:
        need += pair
    if spec.block.has_area:
        need.append("area_mm2")
    if spec.block.has_energy:
        need.append("energy_pj")
    return {m: t for m, t in spec.block.totals.items() if m in set(need)}


def _axis_types(tasks: list[Task], names: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for n in names:
        kinds = {type(t.axes.get(n)) for t in tasks if t.axes.get(n) is not None}
        if kinds <= {bool} and kinds:
            out[n] = "bool"
        elif kinds <= {int}:
            out[n] = "int"
        elif kinds <= {int, float}:
            out[n] = "float"
        else:
            out[n] = "str"
    return out


def _coerce(tasks: list[Task], types: dict[str, str]) -> None:
    for t in tasks:
        for n, ty in types.items():
            v = t.axes.get(n)
            if v is not None and ty == "float":
                t.axes[n] = float(v)
            elif v is not None and ty == "str" and not isinstance(v, str):
                t.axes[n] = json.dumps(v)


def versions() -> dict[str, str]:
    """Versions that can change a result or its speed."""
    import numba
    import numpy
    import pandas
    import pyarrow

    from simulator.common.version import __version__

    v = {
        "sparsim": __version__,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "pandas": pandas.__version__,
        "pyarrow": pyarrow.__version__,
        "numba": numba.__version__,
        "platform": platform.platform(),
    }
    try:
        import dask
        import distributed

        v["dask"] = dask.__version__
        v["distributed"] = distributed.__version__
    except ImportError:
        pass
    return v


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def _check_dir(out: Path, spec: SweepSpec, resume: bool, force: bool) -> tuple[dict | None, bool]:
    """Check ``out`` without writing; returns (the stored provenance when resuming, replace it?)."""
    from simulator.common.outputs import check_output_path, is_sparsim_output

    check_output_path(out)
    prov = read_provenance(out)
    if prov is not None:
        if resume:
            if prov.get("spec_sha") != spec.sha:
                raise SparsimInputError(
                    "--resume",
                    "spec",
                    spec.path,
                    f"the stored sweep's spec (sha {prov.get('spec_sha')}); use a new --out for a changed spec",
                )
            if prov.get("simulator") != spec.block.simulator:
                raise SparsimInputError(
                    "--resume", "simulator", prov.get("simulator"),
                    f"block {spec.block.name} now runs level {spec.block.simulator!r} and its point keys changed "
                    "(sparsim 0.1 renamed the mobile level a76 -> core): run the sweep into a new --out",
                )  # fmt: skip
            return prov, False
        if not force:
            raise SparsimInputError("--out", "out", str(out), "holds a sweep: pass --resume to continue it or --force")
        why = verify_output(out, "sweep")
        if why is not None:  # --force deletes only what a sweep wrote
            raise SparsimInputError("--force", "out", str(out), f"not replaced: it {why} (nothing changed)")
        return None, True
    if out.exists() and any(out.iterdir()):
        if is_sparsim_output(out, "sweep"):  # a sweep stopped before it stored anything: nothing to lose
            return None, True
        why = verify_output(out, "sweep")
        raise SparsimInputError("--out", "out", str(out), f"an empty or new directory, or a sweep's (with --resume): "
                                f"it exists and {why} (nothing changed)")  # fmt: skip
    return None, False


def _middle(spec: SweepSpec) -> dict[str, Any]:
    """A representative point: every axis at its middle value (a listed axis its middle entry, a
    range its (geometric) midpoint), or the middle one of an explicit ``points:`` list."""
    if spec.sampling["method"] == "points":
        return dict(spec.points[len(spec.points) // 2]) if spec.points else {}
    out: dict[str, Any] = {}
    for a in spec.axes:
        if a.values:
            out[a.name] = a.values[len(a.values) // 2]
        else:
            mid = math.sqrt(a.low * a.high) if a.log else (a.low + a.high) / 2
            out[a.name] = int(round(mid)) if a.integer else mid
    return out


def point_count(spec: SweepSpec) -> int:
    """Points a spec makes per workload (before deduplication), baselines included."""
    method = spec.sampling["method"]
    if method == "points":
        n = len(spec.points)
    elif method == "grid":
        n = math.prod(len(a.values) for a in spec.axes)
    else:
        n = int(spec.sampling["points"])
    return n + len(spec.baselines)


def estimate_sweep(spec: SweepSpec, jobs: int | None = None) -> Work:
    """The sweep's work before any point is built: its points times the block's estimate of a
    representative point (:func:`_middle`) per workload, over the worker processes. Why before
    :func:`expand`: building a million configs is itself minutes of work."""
    block = spec.block
    count = point_count(spec) * len(spec.workloads)
    try:
        cfg, params = block.build({**spec.base, **_middle(spec)})
    except SparsimInputError:
        try:
            cfg, params = block.build(dict(spec.base))
        except SparsimInputError:  # expand() names the bad point
            return Work(count, "points", 0.0, count, "points")
    run = block.run_params(params)
    per_point = sum(block.estimate(load_workload(block.name, w["load"]), cfg, **run).seconds for w in spec.workloads)
    workers = max(1, min(jobs or os.cpu_count() or 1, count))
    seconds = per_point / max(1, len(spec.workloads)) * count / workers
    return Work(count, "points", seconds, count, "points")


def run_sweep(
    spec_path: str | Path | SweepSpec,
    out: str | Path,
    *,
    executor: str = "local",
    jobs: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    force: bool = False,
    progress: str = "auto",
    flush_every: int = 256,
    executor_hook=None,
    keep_tables: bool = False,
) -> SweepOutcome:
    """Run (or resume) a sweep; every input is validated before any point runs. ``keep_tables``
    also returns every point's per-row table (``SweepOutcome.tables``; points a resume skipped
    have none)."""
    from simulator.common.outputs import check_output_path

    check_output_path(out)
    spec = spec_path if isinstance(spec_path, SweepSpec) else load_spec(spec_path)
    _progress_check(progress)
    check_work(estimate_sweep(spec, jobs if executor == "local" else None), spec.path)
    tasks = expand(spec)
    if keep_tables:
        tasks = [dataclasses.replace(t, keep_table=True) for t in tasks]
    names = spec.axis_names
    axis_types = _axis_types(tasks, names)
    _coerce(tasks, axis_types)
    metrics = kept_metrics(spec)
    clash = set(names) & (
        set(metrics) | {"key", "workload", "baseline", "in_sweep", "status", "error", "worker", "config", "params"}
    )
    if clash:
        raise SparsimInputError(spec.path, "axes", sorted(clash)[0], "an axis may not share a result column's name")
    ex = make_executor(executor, jobs, scheduler)
    out = Path(out)
    with output_lock(out):  # one writer: a second sweep (or --force) into this folder is refused
        prov, replace = _check_dir(out, spec, resume, force)
        ex.start()  # an unreachable scheduler fails here, before anything is written
        try:
            if replace:
                shutil.rmtree(out)
            out.mkdir(parents=True, exist_ok=True)
            mark_sweep_dir(out)  # first: a sweep stopped at any moment from here is ours to replace
            run_id = f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
            store = Store(out, schema_for(axis_types, metrics), run_id, flush_every)
            try:
                return _run(spec, tasks, axis_types, metrics, ex, store, out, prov, run_id, progress, executor_hook)
            finally:
                store.close()
        finally:
            ex.shutdown()


def _provenance(spec: SweepSpec, tasks, axis_types, metrics, prov: dict | None) -> dict:
    prov = dict(prov or {})
    for run in prov.get("runs", []):
        if run.get("status") == "running":  # its driver was killed: no end was recorded
            run["status"] = "killed"
    prov.update(
        {
            "name": spec.name,
            "spec_sha": spec.sha,
            "spec_path": str(Path(spec.path).resolve()),
            "spec_text": spec.text,
            "block": spec.block.name,
            "simulator": spec.block.simulator,
            "axes": list(spec.axis_names),
            "axis_types": axis_types,
            "sampling": spec.sampling,
            "metrics": list(metrics),
            "metric_types": dict(metrics),
            "derived": spec.derived,
            "baselines": spec.baselines,
            "report": spec.report,
            "workloads": [w["label"] for w in spec.workloads],
            "points": len(tasks),
            "versions": versions(),
        }
    )
    prov.setdefault("runs", [])
    return prov


def _run(spec, tasks, axis_types, metrics, ex, store: Store, out: Path, prov, run_id, progress, hook) -> SweepOutcome:
    prov = _provenance(spec, tasks, axis_types, metrics, prov)
    (out / "spec.yaml").write_text(spec.text)
    done = store.done_keys()
    todo = [t for t in tasks if t.key not in done]
    res = SweepOutcome(out=out, points=len(tasks), resumed=len(tasks) - len(todo))
    run = {
        "run_id": run_id,
        "started": _now(),
        "executor": ex.name,
        "todo": len(todo),
        "status": "running",
        "recovered_from_journal": store.recovered,
    }
    prov["runs"].append(run)
    write_json_atomic(out / "sweep.json", prov)
    t0 = time.perf_counter()
    bar = _progress(progress, len(todo), spec.name)
    futures: dict[Any, Task] = {}
    handled: set = set()

    def take(f) -> None:
        handled.add(f)
        if f.cancelled():
            return
        err = f.exception()
        if err is not None:
            res.infra_failures += 1
            res.first_infra_error = res.first_infra_error or f"{type(err).__name__}: {err}"
            return
        row = f.result()
        table = row.pop(TABLE, None)
        if table is not None:
            res.tables[row["key"]] = table
        if store.add(row):
            res.ran += 1
            res.ok += row["status"] == "ok"
            res.errors += row["status"] == "error"
        if bar is not None:
            bar.update(1)

    try:
        run["workers"] = ex.workers
        if todo:
            if hook is not None:
                hook(ex)
            for t in todo:
                futures[ex.submit(t)] = t
            try:
                for f in ex.as_completed(list(futures)):
                    take(f)
            except KeyboardInterrupt:
                res.status = "interrupted"
                print(
                    "\nsweep: stopping; waiting for running points (Ctrl-C again to abandon them)",
                    file=sys.stderr,
                    flush=True,
                )
                ex.cancel_pending(futures)
                try:
                    for f in ex.as_completed([f for f in futures if f not in handled and not f.cancelled()]):
                        take(f)
                except KeyboardInterrupt:
                    ex.shutdown(abandon=True)
    finally:
        if bar is not None:
            bar.close()
        store.flush()
        res.wall_s = time.perf_counter() - t0
        if res.status == "complete" and res.infra_failures:
            res.status = "incomplete"
        run.update(
            {
                "ended": _now(),
                "wall_s": round(res.wall_s, 3),
                "stored": res.ran,
                "ok": res.ok,
                "errors": res.errors,
                "infra_failures": res.infra_failures,
                "status": res.status,
            }
        )
        if res.first_infra_error:
            run["first_infra_error"] = res.first_infra_error
        write_json_atomic(out / "sweep.json", prov)
    return res


def _progress_check(mode: str) -> None:
    if mode not in ("auto", "on", "off"):
        raise SparsimInputError("--progress", "progress", mode, "allowed: auto, on, off")


def _progress(mode: str, total: int, name: str):
    if mode == "off" or total == 0 or (mode == "auto" and not sys.stderr.isatty()):
        return None
    from tqdm import tqdm

    tqdm.monitor_interval = 0  # no monitor thread (the pool forks after this)
    return tqdm(
        total=total,
        **terminal_size(),
        unit="pt",
        desc=name,
        file=sys.stderr,
        smoothing=0.05,
        mininterval=0.5,
        bar_format="{desc}: {n_fmt}/{total_fmt} points [{elapsed}<{remaining}, {rate_fmt}]",
    )

"""The results store: a Parquet dataset of finished points that survives ``kill -9``.

Layout of a results directory::

    RESULTS/
      sweep.json                  provenance: the spec, versions, every run's wall time and status
      spec.yaml                   the spec as written
      points/part-RUN-SEG.parquet immutable row groups of finished points (one schema for all)
      points/.journal-RUN-SEG.jsonl   the open segment: one JSON line per finished point
      .lock                       held (flock) by the one driver writing here

Why a journal and immutable parts: a finished point is appended to the open journal with one
``write`` of one line (nothing is buffered in the driver), so a driver killed with SIGKILL loses
only the points still running. Every ``flush_every`` points the journal is compacted into a new
part file, written under a temporary name and renamed (atomic on POSIX); the journal is deleted
only after the rename. Opening a store finishes what a killed driver left: a journal whose part
exists is deleted (it was compacted), any other journal is compacted (a torn last line, from a
kill in the middle of a write, is dropped: that point was not finished), and temporary files are
removed. So a point is stored exactly once and a stored part is never rewritten. Names starting
with ``.`` are skipped by pyarrow, so ``pd.read_parquet("RESULTS/points")`` reads the dataset.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from simulator.common.errors import SparsimInputError

__all__ = ["Store", "read_points", "read_provenance", "write_json_atomic", "FIXED_COLUMNS"]

FIXED_COLUMNS = (
    ("key", pa.string()),
    ("workload", pa.string()),
    ("baseline", pa.string()),
    ("in_sweep", pa.bool_()),
    ("status", pa.string()),
    ("error", pa.string()),
)
TAIL_COLUMNS = (
    ("point_seconds", pa.float64()),
    ("worker", pa.string()),
    ("config", pa.string()),
    ("params", pa.string()),
    ("sparsim_version", pa.string()),
)
_TYPES = {"int": pa.int64(), "float": pa.float64(), "str": pa.string(), "bool": pa.bool_()}


def schema_for(axis_types: dict[str, str], metric_types: dict[str, str]) -> pa.Schema:
    """The one schema of every part: fixed columns, axes, metrics, bookkeeping."""
    fields = [pa.field(n, t) for n, t in FIXED_COLUMNS]
    fields += [pa.field(n, _TYPES[t]) for n, t in axis_types.items()]
    fields += [pa.field(n, _TYPES[t]) for n, t in metric_types.items()]
    fields += [pa.field(n, t) for n, t in TAIL_COLUMNS]
    return pa.schema(fields)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".tmp-{path.name}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class Store:
    """Open (and repair) a results directory for writing; one writer at a time."""

    def __init__(self, root: str | Path, schema: pa.Schema, run_id: str, flush_every: int = 256):
        self.root = Path(root)
        self.points = self.root / "points"
        self.points.mkdir(parents=True, exist_ok=True)
        self.schema = schema
        self.run_id = run_id
        self.flush_every = flush_every
        self._lock = open(self.root / ".lock", "a+")
        try:
            fcntl.flock(self._lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            raise SparsimInputError(
                str(self.root), "results", str(self.root), "in use by another running sweep"
            ) from None
        self.recovered = self._recover()
        self._keys = set(self._stored_keys())
        self._seg = 0
        self._fd: int | None = None
        self._pending = 0

    # ------------------------------------------------------------------ recovery and reading
    def _recover(self) -> int:
        """Finish a killed driver's work; returns how many journal points were compacted."""
        for tmp in self.points.glob(".tmp-*"):
            tmp.unlink()
        n = 0
        for j in sorted(self.points.glob(".journal-*.jsonl")):
            part = self.points / ("part-" + j.name.removeprefix(".journal-").removesuffix(".jsonl") + ".parquet")
            if not part.exists():
                rows = _read_journal(j)
                if rows:
                    self._write_part(part, rows)
                    n += len(rows)
            j.unlink()
        return n

    def _stored_keys(self) -> list[str]:
        keys: list[str] = []
        for part in sorted(self.points.glob("part-*.parquet")):
            keys += pq.read_table(part, columns=["key"]).column("key").to_pylist()
        return keys

    def done_keys(self) -> set[str]:
        return set(self._keys)

    # ------------------------------------------------------------------ writing
    def _journal(self) -> Path:
        return self.points / f".journal-{self.run_id}-{self._seg:05d}.jsonl"

    def add(self, row: dict[str, Any]) -> bool:
        """Append one finished point (ignored, returning False, if its key is already stored)."""
        if row["key"] in self._keys:
            return False
        if self._fd is None:
            self._fd = os.open(self._journal(), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        line = json.dumps({f.name: row.get(f.name) for f in self.schema}, allow_nan=True) + "\n"
        os.write(self._fd, line.encode())
        self._keys.add(row["key"])
        self._pending += 1
        if self._pending >= self.flush_every:
            self.flush()
        return True

    def flush(self) -> None:
        """Compact the open journal into an immutable part."""
        if self._fd is None:
            return
        os.close(self._fd)
        self._fd = None
        j = self._journal()
        rows = _read_journal(j)
        if rows:
            self._write_part(self.points / f"part-{self.run_id}-{self._seg:05d}.parquet", rows)
        j.unlink()
        self._seg += 1
        self._pending = 0

    def _write_part(self, path: Path, rows: list[dict]) -> None:
        table = pa.Table.from_pylist(rows, schema=self.schema)
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink)
        _write_atomic(path, sink.getvalue().to_pybytes())

    def close(self) -> None:
        self.flush()
        fcntl.flock(self._lock.fileno(), fcntl.LOCK_UN)
        self._lock.close()


def _read_journal(path: Path) -> list[dict]:
    rows = []
    with open(path, "rb") as fh:
        for raw in fh:
            if not raw.endswith(b"\n"):
                break  # torn by a kill mid-write: the point was not finished
            try:
                rows.append(json.loads(raw))
            except json.JSONDecodeError:
                break
    return rows


def read_points(root: str | Path, schema: pa.Schema | None = None) -> pd.DataFrame:
    """Every stored point (parts only: open a :class:`Store` first to fold in a killed run's journal).

    A part that is not readable Parquet, or whose columns differ from ``schema``, is one
    :class:`SparsimInputError` naming the file.
    """
    points = Path(root) / "points"
    parts = sorted(points.glob("part-*.parquet"))
    if not parts:
        return pd.DataFrame()
    tables = []
    for part in parts:
        try:
            table = pq.read_table(part)
        except Exception as err:  # noqa: BLE001 - pyarrow raises many types for a corrupt file
            raise SparsimInputError(
                str(part), "part", part.name, f"a readable Parquet part ({type(err).__name__})"
            ) from None
        if schema is not None and not table.schema.equals(schema, check_metadata=False):
            want = {f.name: f.type for f in schema}
            got = {f.name: f.type for f in table.schema}
            bad = next((n for n in want if got.get(n) != want[n]), None) or next(n for n in got if n not in want)
            raise SparsimInputError(
                str(part),
                "column",
                bad,
                f"the sweep's schema ({want.get(bad, 'absent')}, found {got.get(bad, 'absent')})",
            )
        tables.append(table)
    return pa.concat_tables(tables).to_pandas()


#: a sweep's provenance is a few hundred kilobytes even with many runs
MAX_PROVENANCE_BYTES = 64 << 20
#: what a report needs from ``sweep.json``, and its type
_PROVENANCE = {
    "name": str,
    "block": str,
    "simulator": str,
    "axes": list,
    "metrics": list,
    "points": int,
    "derived": dict,
    "report": dict,
    "workloads": list,
    "runs": list,
}


#: the longest name (axis, metric, workload label) or string cell a results store may hold
MAX_NAME = 4096


def read_provenance(root: str | Path) -> dict | None:
    """A results directory's ``sweep.json`` (None when there is none), checked field by field."""
    meta = Path(root) / "sweep.json"
    if not meta.is_file():
        return None
    size = meta.stat().st_size
    if size > MAX_PROVENANCE_BYTES:
        raise SparsimInputError(str(meta), "file", f"{size:,} bytes", f"at most {MAX_PROVENANCE_BYTES:,} bytes")
    try:
        prov = json.loads(meta.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise SparsimInputError(str(meta), "sweep.json", "unreadable", "a sweep's provenance file (JSON)") from None
    if not isinstance(prov, dict):
        raise SparsimInputError(str(meta), "<document>", type(prov).__name__, "a JSON object")
    for key, ty in _PROVENANCE.items():
        v = prov.get(key)
        if not isinstance(v, ty) or (ty is int and isinstance(v, bool)):
            raise SparsimInputError(str(meta), key, v, f"a JSON {ty.__name__} (written by sparsim sweep)")
    from simulator.sweeps.spec import MAX_POINTS

    if not 0 <= prov["points"] <= 2 * MAX_POINTS:  # points and baselines, per workload at most MAX_POINTS
        allowed = f"from 0 to {2 * MAX_POINTS:,} (a sweep's count)"
        raise SparsimInputError(str(meta), "points", prov["points"], allowed)
    for key in ("axes", "metrics", "workloads"):
        if not all(isinstance(x, str) and len(x) <= MAX_NAME for x in prov[key]):
            raise SparsimInputError(str(meta), key, f"{str(prov[key])[:60]}...",
                                    f"a list of names of at most {MAX_NAME} characters")  # fmt: skip
    rep = prov["report"]
    if not isinstance(rep.get("objective", "cycles"), str) or not isinstance(rep.get("top_k", 10), int):
        raise SparsimInputError(str(meta), "report", rep, "objective (a metric name) and top_k (an integer)")
    for key in ("heatmap", "pareto"):
        if rep.get(key) is not None and not isinstance(rep[key], list):
            raise SparsimInputError(str(meta), f"report.{key}", rep[key], "a list or null")
    return prov


def write_json_atomic(path: Path, data: dict) -> None:
    _write_atomic(path, (json.dumps(data, indent=2, sort_keys=False, default=str) + "\n").encode())

"""SpGEMM on the PIUMA-like machine behind the block protocol (``piuma``).

Workload: a pair ``(A, B)`` of scipy CSR matrices; in sweeps a built-in matrix name or a Matrix
Market file, with ``b: same | transpose | NAME`` and a ``seed`` for generated matrices. One run
is one row of :data:`simulator.spgemm.machine.STAT_COLUMNS`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from simulator.common.block import Block, Param
from simulator.common.errors import SparsimInputError
from simulator.common.validate import check_int, choice
from simulator.common.work import Work
from simulator.spgemm.config import ALGORITHMS, PiumaConfig

__all__ = ["SpgemmBlock"]


def _operands(workload) -> tuple:
    """``(A, B)`` as CSR matrices with matching inner dimensions, or one line saying what is wrong."""
    import scipy.sparse as sp

    if not isinstance(workload, tuple | list) or len(workload) != 2:
        raise SparsimInputError(
            "workload", "workload", type(workload).__name__, "a pair (A, B) of scipy.sparse matrices"
        )
    a, b = workload
    for name, m in (("A", a), ("B", b)):
        if not sp.issparse(m) or m.ndim != 2:
            raise SparsimInputError("workload", name, type(m).__name__, "a 2-D scipy.sparse matrix")
    if a.shape[1] != b.shape[0]:
        raise SparsimInputError("workload", "shape", f"{a.shape} x {b.shape}", "A.shape[1] == B.shape[0]")
    return a.tocsr(), b.tocsr()


#: seconds per partial product and per row of A on the machine model (numba), measured by
#: benchmarks/bench_work_estimate.py
PER_FLOP = 2.0e-7
PER_ROW = 2.0e-6
#: seconds per row/column pair of the inner-product algorithm (it merges every pair)
PER_PAIR = 1.5e-6


class SpgemmBlock(Block):
    """``C = A x B`` timed on the machine (:func:`simulator.spgemm.machine.simulate_spgemm`)."""

    name = "spgemm"
    simulator = "cycle"
    command = "spgemm"
    config_type = PiumaConfig
    workload_type = "(A, B): scipy.sparse CSR matrices with A.shape[1] == B.shape[0]"
    workload_kinds = ("matrix",)
    params = {"algorithm": Param("smash_v3", choice(*ALGORITHMS), "SpGEMM algorithm")}
    totals = {
        "cycles": "int",
        "seconds": "float",
        "instructions": "int",
        "issue_utilization": "float",
        "dram_read_bytes": "int",
        "dram_write_bytes": "int",
        "dram_bytes": "int",
        "cache_hit_rate": "float",
        "sp_accesses": "int",
        "sp_atomics": "int",
        "probes": "int",
        "merge_steps": "int",
        "bank_wait_cycles": "int",
        "flops": "int",
        "nnz_c": "int",
        "windows": "int",
        "table_overflows": "int",
    }

    def estimate(self, workload, config: PiumaConfig, **params: Any) -> Work:
        """Partial products (``A[i,k] * B[k,j]``, the flops every algorithm makes and merges): a
        sparse matrix-vector product of A with B's row lengths, so the estimate costs O(nnz(A)).
        The machine model costs about :data:`PER_FLOP` per partial product (its threads' issue,
        hash probes and memory requests are per product)."""
        import numpy as np

        from simulator.spgemm.config import algorithm as algorithm_of

        a, b = _operands(workload)
        flops = float((a @ np.diff(b.indptr).astype(np.float64)).sum())
        if algorithm_of(params.get("algorithm", "smash_v3")).dataflow == "inner":  # every row x column pair
            pairs = float((np.diff(a.indptr) > 0).sum()) * float((np.diff(b.tocsc().indptr) > 0).sum())
            return Work(pairs, "row/column pairs", pairs * PER_PAIR + flops * PER_FLOP, 0, "rows")
        return Work(flops, "partial products", a.shape[0] * PER_ROW + flops * PER_FLOP, 0, "rows")

    def numba_modules(self, config: PiumaConfig) -> tuple[str, ...]:
        return ("simulator.spgemm.cl", "simulator.spgemm.fl", "simulator.spgemm.hashing", "simulator.spgemm.host",
                "dataflow.spgemm.windows")  # fmt: skip

    def _run(self, workload, config: PiumaConfig, *, algorithm: str = "smash_v3") -> tuple[pd.DataFrame, dict]:
        from simulator.spgemm.machine import STAT_COLUMNS, simulate_spgemm

        a, b = _operands(workload)
        return pd.DataFrame([simulate_spgemm(a, b, algorithm, config)], columns=list(STAT_COLUMNS)), {}

    def write(self, result, folder: Path) -> None:
        """``stats.csv``/``.parquet`` (one row: the run's statistics)."""
        result.table.to_csv(folder / "stats.csv", index=False)
        result.table.to_parquet(folder / "stats.parquet", index=False)

    def summarize(self, table: pd.DataFrame, config: PiumaConfig, **params) -> dict[str, Any]:
        row = table.iloc[0]
        return {k: (int(row[k]) if t == "int" else float(row[k])) for k, t in self.totals.items()}

    # ------------------------------------------------------------------ sweep workloads
    def _operand(self, spec: Any, base_dir: Path, where: str, field: str) -> tuple[dict, str]:
        from simulator.common.files import file_digest, spec_file
        from workloads.matrices import MATRICES

        if isinstance(spec, str) and spec in MATRICES:
            return {"name": spec}, spec
        path = spec_file(spec, base_dir, where, field)
        if path.suffix != ".mtx":
            raise SparsimInputError(where, field, str(spec), "a built-in matrix name or a Matrix Market .mtx file")
        return {"name": path.name, "sha": file_digest(path), "path": str(path)}, path.stem

    def workload_spec(self, entry: Any, base_dir: Path, where: str) -> dict[str, Any]:
        if not isinstance(entry, dict) or "matrix" not in entry:
            raise SparsimInputError(where, "workload", entry, "a mapping with matrix (and optional b, seed)")
        unknown = set(entry) - {"matrix", "b", "seed"}
        if unknown:
            key = sorted(map(str, unknown))[0]
            raise SparsimInputError(where, key, entry.get(key), "allowed keys: matrix, b, seed")
        seed = check_int(where, "seed", entry.get("seed", 0), 0, 2**32 - 1)
        a, a_label = self._operand(entry["matrix"], base_dir, where, "matrix")
        b_spec = entry.get("b", "same")
        if b_spec in ("same", "transpose"):
            b, label = {"op": b_spec}, a_label + (" x A^T" if b_spec == "transpose" else " x A")
        else:
            b, b_label = self._operand(b_spec, base_dir, where, "b")
            label = f"{a_label} x {b_label}"
        wid = {"a": {k: v for k, v in a.items() if k != "path"}, "b": {k: v for k, v in b.items() if k != "path"}}
        wid["seed"] = seed
        load = {"a": a.get("path", a["name"]), "b": b.get("path", b.get("name", b.get("op"))), "seed": seed}
        load["b_op"] = b.get("op", "")
        pair = self.load_workload(load)
        if pair[0].shape[1] != pair[1].shape[0]:
            raise SparsimInputError(
                where, "b", b_spec, f"inner dimensions must match: A is {pair[0].shape}, B is {pair[1].shape}"
            )
        return {"label": label, "id": wid, "load": load}

    def load_workload(self, load: dict[str, Any]):
        from workloads.matrices import load_matrix

        a = load_matrix(load["a"], seed=load["seed"])
        if load["b_op"] == "same":
            b = a
        elif load["b_op"] == "transpose":
            b = a.T.tocsr()
        else:
            b = load_matrix(load["b"], seed=load["seed"])
        return a, b

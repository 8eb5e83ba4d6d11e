"""An LLM over a system of arrays: tensor parallelism (Megatron-LM) and a pipeline of layers.

Pure functions of a phase's layer table and the system's size, like the rest of ``dataflow/``;
what a part costs is the simulator's business (:mod:`simulator.llm.cl`).

Tensor parallelism over ``A`` arrays (Shoeybi et al., "Megatron-LM", 2019; ours where marked):

- **column-parallel** Q, K, V, gate and up projections and the LM head: array ``a`` holds the
  ``ceil(out / A)`` output columns of its slice and computes them for every token; no
  communication (the next operator reads its own slice);
- **attention by heads**: each array takes ``ceil(kv_heads / A)`` KV heads and their query heads
  (with more arrays than KV heads, each array holds one KV head, replicated, and
  ``ceil(heads / A)`` query heads): its products are ``[min(g, hq) * tokens, ...]``;
- **row-parallel** O and down projections: array ``a`` reduces over its ``ceil(in / A)`` slice of
  the inner dimension and produces a partial sum of the whole output, which an **all-reduce**
  adds up (ours, arrays sharing one memory: every array writes its partial sums, then the vector
  units read the ``A`` partials and write the sum: ``A * tokens * out`` partial sums read, one
  output written; :func:`allreduce_rows`);
- the largest slice sets the time (slices are ``ceil``), every array streams through the shared
  memory at once (each gets ``1 / A`` of it), and traffic and MACs are the ``A`` slices'.

Data parallelism (ours, a system sharing one memory): the rows of every GEMM (sequences x tokens)
are split evenly over the arrays, each array reading the whole weight; attention products (one
per sequence and KV head) go whole to the arrays. No communication, but every array streams every
weight: the plan for long prompts and large batches (:func:`data_parallel_rows`).

Pipeline parallelism: the layers in ``A`` contiguous stages (``ceil(L / A)`` layers on the
slowest), the batch in ``m`` micro-batches of ``B / m`` sequences; the phase takes
``(m + A - 1)`` stage times (GPipe's fill and drain, Huang et al. 2019), ``min(m, A)`` stages
streaming through the memory at once. It cannot help a single sequence (``m = 1``: the stages run one after
another); it saves the all-reduces. :func:`micro_batches` lists the ``m`` worth trying.
"""

from __future__ import annotations

import math

import pandas as pd

__all__ = ["COLUMN_PARALLEL", "ROW_PARALLEL", "tensor_parallel_rows", "data_parallel_rows", "allreduce_rows",
           "micro_batches", "pipeline_stage_layers"]  # fmt: skip

COLUMN_PARALLEL = ("q_proj", "k_proj", "v_proj", "gate_proj", "up_proj", "lm_head")
ROW_PARALLEL = ("o_proj", "down_proj")


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def tensor_parallel_rows(gemms: pd.DataFrame, arrays: int, heads: int, kv_heads: int,
                         head_dim: int) -> tuple[pd.DataFrame, list[str]]:  # fmt: skip
    """One array's slice of every row of a phase's layer table (``part``/``name`` columns of
    :mod:`workloads.llm.phases`), and how each row was split."""
    out = gemms.copy()
    how = []
    kv_a, hq = _ceil(kv_heads, arrays), _ceil(heads, arrays)
    g = heads // kv_heads
    for i, r in enumerate(gemms.itertuples(index=False)):
        col = out.columns.get_loc
        if r.part == "attention":
            out.iat[i, col("groups")] = kv_a
            out.iat[i, col("gemm_m")] = min(g, hq) * (r.gemm_m // g)
            how.append("tensor: heads")
        elif r.name in ROW_PARALLEL:
            inner = head_dim * hq if r.name == "o_proj" else _ceil(r.gemm_k, arrays)
            out.iat[i, col("gemm_k")] = inner
            how.append("tensor: row-parallel + all-reduce")
        elif r.name in COLUMN_PARALLEL:
            width = head_dim * (hq if r.name == "q_proj" else kv_a) if r.name in ("q_proj", "k_proj", "v_proj") \
                else _ceil(r.gemm_n, arrays)  # fmt: skip
            out.iat[i, col("gemm_n")] = width
            how.append("tensor: column-parallel")
        else:
            raise ValueError(f"no tensor-parallel rule for {r.name}")
    return out, how


def data_parallel_rows(gemms: pd.DataFrame, arrays: int) -> tuple[pd.DataFrame, list[str]]:
    """One array's share of every row: ``ceil(rows / A)`` of a linear's ``batch x m`` rows, or
    ``ceil(products / A)`` whole attention products."""
    out = gemms.copy()
    how = []
    col = out.columns.get_loc
    for i, r in enumerate(gemms.itertuples(index=False)):
        out.iat[i, col("batch")] = 1
        if r.part == "attention":
            out.iat[i, col("groups")] = _ceil(int(r.batch) * int(r.groups), arrays)
            how.append("data: products")
        else:
            out.iat[i, col("gemm_m")] = _ceil(int(r.batch) * int(r.gemm_m), arrays)
            how.append("data: rows")
    return out, how


def allreduce_rows(gemms: pd.DataFrame, arrays: int) -> list[tuple[str, int, int, int, int]]:
    """Element-wise rows ``(name, repeat, elements, read_elems, write_elems)`` of the all-reduce
    after each row-parallel GEMM (``read_elems`` are partial sums, the rest activations)."""
    rows = []
    for r in gemms.itertuples(index=False):
        if r.name in ROW_PARALLEL:
            n = int(r.batch) * int(r.gemm_m) * int(r.gemm_n)
            rows.append((f"{r.name}_allreduce", int(r.repeat), arrays * n, arrays * n, n))
    return rows


def micro_batches(batch: int, arrays: int) -> list[int]:
    """Micro-batch counts worth trying (ours): one (the whole batch), as many as stages (the
    pipeline just full) and one per sequence; those that divide the batch."""
    return sorted({m for m in (1, min(batch, arrays), batch) if batch % m == 0})


def pipeline_stage_layers(layers: int, arrays: int) -> int:
    """Layers on the slowest stage of ``arrays`` contiguous stages."""
    return math.ceil(layers / arrays)

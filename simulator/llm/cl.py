"""The LLM block's cycle model: a serving run (prefill, then decode steps) on the N:M array or a
system of arrays, every GEMM through the array's fold model.

Time of a step (ours). The operators of a step run one after the other, each waiting for the
one before (a transformer's data dependences), so a step's cycles are the sum over its rows of::

    row cycles = fold cycles (compute + SRAM and memory stalls)
               + the row's exposed first load and last write-back (prefetch, drain)
    element-wise row = max(elements / lanes, bytes / peak bytes per cycle)

times the row's repeat (the layer count)::

    decode step at context c (one token per sequence):
    |emb|norm|q|k|v|rot| qk(c) |softmax(c)| pv(c) |o|+|norm|gate|up|act|down|+|  x layers  |norm|head|
    one GEMM row:  [prefetch: first tiles in][ folds: compute + SRAM/DRAM stalls ][drain: last out]

The attention products are unfused (ours, the conservative case): QK^T writes its scores and
PV reads the probabilities through the memory, as two GEMMs and a softmax row; a fused kernel
(FlashAttention) would keep them on chip, which matters most for long prompts.

The fold model's own ``cycles`` leave the first load and the last write-back out
(:mod:`simulator.nm_array.memory`); a step must not, or a decode step (a few folds per layer,
each waiting on its weights) would look free. So the mapper, here, minimises a row's cycles with
them (``exposed_io``): left to the fold model's ``cycles`` it would load a decode GEMV's whole
weight slice as one first tile, stall-free and all exposed. The element-wise operators run on a vector unit of
one lane per array column (ours), streaming their tensors at the memory's peak.

Why no step is simulated twice. A decode step's linears and LM head have the same shapes at
every step; only the two attention products grow with the context. Every distinct GEMM of the
run (prefill's rows, the decode linears once, the attention pair at each context) is simulated
exactly once, and each step's figures are sums of its rows' figures. The fold model simulates
each GEMM on its own (no state crosses rows, :func:`simulator.nm_array.fold.simulate_gemms`),
so this is the step-by-step simulation, not an approximation of it; tests/simulator/llm compare
the two to the cycle at ``T = 64``.

The physical bound beside every step (``bound_cycles``; ``bound_ratio`` = cycles / bound):

- compute: the MACs the array issues (N:M-skipped ones are not) / the system's PEs;
- memory: the bytes that must cross the memory bus at least once, the step's weights (N:M
  condensed values plus ``ceil(log2 M)`` index bits each) plus the KV cache the step reads (the
  tokens cached before it), over the memory's peak bytes per array cycle (a simple channel's
  rate, or the DRAM's data-bus peak; none with an unlimited channel).

The larger of the two is the bound; ``bound`` names it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dataflow.llm_parallel import (
    allreduce_rows,
    data_parallel_rows,
    micro_batches,
    pipeline_stage_layers,
    tensor_parallel_rows,
)
from dataflow.nm_array.schedule import condensed_rows
from simulator.common.errors import SparsimInputError
from simulator.nm_array.config import ArrayConfig
from simulator.nm_array.energy import EnergyTable, energy_pj
from workloads.llm.model import LLMConfig
from workloads.llm.phases import Phase, decode_step, prefill
from workloads.lowering import lower_to_gemms

__all__ = ["ServingRun", "Plan", "plans", "simulate_serving", "simulate_phase",
           "check_capacity", "run_phases", "decode_attention_kernel", "STEP_COLUMNS", "LAYER_COLUMNS"]  # fmt: skip

STEP_COLUMNS = ("phase", "step", "context", "tokens", "cycles", "seconds", "gemm_cycles", "io_cycles",
                "eltwise_cycles", "stall_cycles", "dram_bytes", "weight_bytes", "kv_read_bytes", "kv_write_bytes",
                "dense_macs", "macs", "energy_pj", "compute_bound_cycles", "memory_bound_cycles", "bound_cycles",
                "bound_ratio", "bound")  # fmt: skip
LAYER_COLUMNS = ("phase", "part", "name", "repeat", "steps", "partition", "cycles", "gemm_cycles", "io_cycles",
                 "stall_cycles", "dram_bytes", "dense_macs", "macs", "energy_pj", "compute_bound_cycles",
                 "memory_bound_cycles", "bound", "share")  # fmt: skip
_SUMS = ("cycles", "gemm_cycles", "io_cycles", "stall_cycles", "dram_bytes", "dense_macs", "macs", "energy_pj",
         "compute_bound_cycles", "memory_bound_cycles")  # fmt: skip


@dataclass(frozen=True)
class ServingRun:
    """``steps`` (:data:`STEP_COLUMNS`: the prefill, then each decode step) and ``layers``
    (:data:`LAYER_COLUMNS`: per phase and operator, summed over repeats and steps, with how each
    was spread over a system's arrays), ``arrays`` (None: every array of a plan runs the same
    slice, so one array's figures are the table's) and named facts."""

    steps: pd.DataFrame
    layers: pd.DataFrame
    arrays: pd.DataFrame | None
    info: dict
    #: the plan each phase ran under (``prefill``, ``decode``): what :func:`simulate_phase` takes
    chosen: dict = field(default_factory=dict)


def memory_capacity(cfg: ArrayConfig) -> int | None:
    """Bytes the memory holds (a DRAM model's geometry); None: a simple channel states none."""
    return cfg.memory.dram_config().capacity_bytes if cfg.memory.is_dram else None


def _weight_bytes(model: LLMConfig, cfg: ArrayConfig, nm: tuple[int, int]) -> float:
    """Bytes of every weight a step reads, at the array's operand width
    (:meth:`~workloads.llm.model.LLMConfig.weight_bytes`; the fold model stores the same)."""
    return model.weight_bytes(cfg.pe.word_bytes, nm)


def check_capacity(model: LLMConfig, cfg: ArrayConfig, batch: int, prompt: int, generate: int,
                   nm: tuple[int, int], attention_nm: tuple[int, int] = (1, 1)) -> dict:  # fmt: skip
    """Weights plus the KV cache at the end of the run against the memory's capacity: one line
    when they do not fit (no offload is modelled)."""
    weights = _weight_bytes(model, cfg, nm)
    kv = batch * (prompt + generate - 1) * model.kv_bytes_per_token(cfg.pe.word_bytes, attention_nm)
    cap = memory_capacity(cfg)
    if cap is not None and weights + kv > cap:
        raise SparsimInputError("", "memory", cfg.memory.label,
                                f"room for the weights ({_gb(weights)}) and the KV cache of batch {batch} at context "
                                f"{prompt + generate - 1:,} ({_gb(kv)}): the memory holds {_gb(cap)}; add channels "
                                "(memory.channels), prune (nm) or shorten the run (no offload is modelled)",
                                )  # fmt: skip
    return {"weight_bytes": weights, "kv_cache_bytes": kv, "capacity_bytes": cap}


def _gb(x: float) -> str:
    return f"{x / 1e9:.2f} GB"


@dataclass(frozen=True)
class Plan:
    """How a phase runs on the hardware (:mod:`dataflow.llm_parallel`): ``one`` array,
    ``tensor`` or ``data`` parallel over the system's arrays, a ``pipeline`` of ``micro``
    micro-batches, or ``mixed``: each operator tensor or data parallel as ``choice`` says
    (operator name -> ``tensor``/``data``; an operator it does not name is data parallel).

    Why mixing is sound here (ours): the arrays share one memory and every operator reads its
    inputs from it and writes its outputs to it (unfused), so the next operator can read any
    slice; the only communication a split adds is a row-parallel operator's all-reduce, which
    goes with that operator when it is tensor-split."""

    kind: str
    micro: int = 1
    choice: tuple[tuple[str, str], ...] = ()

    def describe(self, arrays: int, layers: int) -> str:
        if self.kind == "pipeline":
            return (f"pipeline: {arrays} stages of at most {pipeline_stage_layers(layers, arrays)} layers, "
                    f"{self.micro} micro-batch(es)")  # fmt: skip
        if self.kind == "mixed":
            ops = dict(self.choice)
            tensor = sorted({_op(n) for n, k in ops.items() if k == "tensor"})
            return "mixed: tensor " + (", ".join(tensor) or "none") + "; data the rest"
        return {"tensor": "tensor", "data": "data"}.get(self.kind, "one array")


def _op(name: str) -> str:
    """An operator's name without its causal block (``qk_b3`` -> ``qk``)."""
    return name.split("_b")[0] if name[:2] in ("qk", "pv") else name


def plans(cfg: ArrayConfig, batch: int) -> list[Plan]:
    """The plans a run may choose from: one array; or, on a system, tensor parallelism and/or a
    pipeline with every useful micro-batch count (``system.partition``: tensor, pipeline, auto)."""
    if not cfg.is_system:
        return [Plan("one")]
    want = cfg.system.partition
    out = [Plan("tensor")] if want in ("tensor", "auto") else []
    out += [Plan("data")] if want in ("data", "auto") else []
    if want in ("pipeline", "auto"):
        out += [Plan("pipeline", m) for m in micro_batches(batch, cfg.system.arrays)]
    return out


def _issued_macs(gemms: pd.DataFrame) -> np.ndarray:
    """MACs the hardware issues for lowered GEMMs (N:M-skipped ones are not)."""
    kc = [condensed_rows(int(k), int(a), int(b)) if a != b else int(k)
          for k, a, b in zip(gemms["gemm_k"], gemms["nm_n"], gemms["nm_m"], strict=True)]  # fmt: skip
    return gemms["count"].to_numpy() * gemms["gemm_m"].to_numpy() * np.array(kc) * gemms["gemm_n"].to_numpy()


def _slices(p: Phase, plan: Plan, cfg: ArrayConfig, model: LLMConfig):
    """``(rows one array runs, how each row is split, bytes/MACs scale, time factor per row,
    extra element-wise rows, arrays streaming at once)`` of a phase under ``plan``."""
    g = p.gemms
    if plan.kind == "one":
        return g, ["one array"] * len(g), 1, np.ones(len(g)), [], 1
    arrays = cfg.system.arrays
    if plan.kind == "mixed":
        t, d = _slices(p, Plan("tensor"), cfg, model), _slices(p, Plan("data"), cfg, model)
        ops = dict(plan.choice)
        use_t = np.array([ops.get(n) == "tensor" for n in g["name"]])
        part = pd.DataFrame(np.where(use_t[:, None], t[0].to_numpy(), d[0].to_numpy()), columns=g.columns)
        part = part.astype(g.dtypes.to_dict())
        how = [a if u else b for a, b, u in zip(t[1], d[1], use_t, strict=True)]
        split = set(g["name"][use_t])
        extra = [e for e in t[4] if e[0].removesuffix("_allreduce") in split]
        return part, how, arrays, np.ones(len(g)), extra, arrays
    if plan.kind == "data":
        part, how = data_parallel_rows(g, arrays)
        return part, how, arrays, np.ones(len(g)), [], arrays
    if plan.kind == "tensor":
        part, how = tensor_parallel_rows(g, arrays, model.heads, model.kv_heads, model.head_dim)
        extra = [(n, r, e, re_ * cfg.pe.psum_bytes // cfg.pe.word_bytes, w)
                 for n, r, e, re_, w in allreduce_rows(g, arrays)]  # fmt: skip
        return part, how, arrays, np.ones(len(g)), extra, arrays
    m = plan.micro
    part = g.assign(batch=g["batch"] // m)
    stage = pipeline_stage_layers(model.layers, arrays)
    fill = m + arrays - 1
    factor = np.where(g["repeat"].to_numpy() == model.layers, fill * stage / model.layers, float(fill))
    return part, [plan.describe(arrays, model.layers)] * len(g), m, factor, [], min(m, arrays)


def run_phases(phases: list[Phase], cfg: ArrayConfig, model: LLMConfig, plan: Plan, *, mapping: str = "plain",
               objective: str = "cycles", energy: EnergyTable = EnergyTable(), pinned: dict | None = None,
               ) -> list[pd.DataFrame]:  # fmt: skip
    """Per phase, one row per GEMM and element-wise row (``part``, ``name``, ``repeat``,
    ``partition`` and the figures of :data:`_SUMS` per occurrence) under ``plan``: every distinct
    GEMM slice of all the phases simulated once (see the module docstring); ``pinned``: operator
    name -> the mapping its rows run with (the decode attention kernel)."""
    from simulator.nm_array.fold import simulate_gemms
    from simulator.nm_array.map_layers import resolve_mappings

    peak = cfg.peak_bytes_per_cycle()
    acfg = cfg.system_arrays()[0] if cfg.is_system else cfg
    sl = [_slices(p, plan, cfg, model) for p in phases]
    share = sl[0][5]
    allg = pd.concat([s[0] for s in sl], ignore_index=True)
    keys = [tuple(r) for r in allg[list(_KEY)].itertuples(index=False, name=None)]
    first: dict[tuple, int] = {}
    for i, k in enumerate(keys):
        first.setdefault(k, i)
    uniq_idx = sorted(first.values())
    # every row comes from a checked layer table (workloads.llm.phases; the attention pairs from a
    # checked template with only their bounded context changed): not checked again row by row
    uniq = lower_to_gemms(allg.iloc[uniq_idx].drop(columns=["part", "repeat"]), validate=False)
    uniq = uniq.reset_index(drop=True)
    fixed = uniq["name"].isin(list(pinned or {})).to_numpy()
    mappings = [pinned[n] if f else None for n, f in zip(uniq["name"], fixed, strict=True)]
    if not fixed.all():
        free = iter(resolve_mappings(uniq[~fixed], acfg, mapping, objective, energy=energy, share=share,
                                     exposed_io=True)[0])  # fmt: skip
        mappings = [m if m is not None else next(free) for m in mappings]
    stats = simulate_gemms(uniq, acfg, mappings=mappings, share=share)
    stats["energy_pj"] = energy_pj(stats, acfg, energy)["energy_pj"].to_numpy()
    pos = {k: j for j, k in enumerate(keys[i] for i in uniq_idx)}
    out, start = [], 0
    for p, (_, how, scale, factor, extra, _) in zip(phases, sl, strict=True):
        st = stats.iloc[[pos[keys[start + i]] for i in range(len(p.gemms))]].reset_index(drop=True)
        start += len(p.gemms)
        whole = lower_to_gemms(p.gemms.drop(columns=["part", "repeat"]), validate=False)
        io = (st["prefetch_cycles"] + st["drain_cycles"]).to_numpy()
        macs = _issued_macs(whole)
        dram = st["dram_bytes"].to_numpy() * scale
        g = pd.DataFrame({
            "part": p.gemms["part"].to_numpy(), "name": p.gemms["name"].to_numpy(),
            "repeat": p.gemms["repeat"].to_numpy(), "partition": how,
            "cycles": (st["cycles"].to_numpy() + io) * factor, "gemm_cycles": st["cycles"].to_numpy() * factor,
            "io_cycles": io * factor, "stall_cycles": st["stall_cycles"].to_numpy() * factor, "dram_bytes": dram,
            "dense_macs": whole["dense_macs"].to_numpy(), "macs": macs,
            "energy_pj": st["energy_pj"].to_numpy() * scale, "compute_bound_cycles": macs / cfg.system_pes,
            "memory_bound_cycles": dram / peak if peak else 0.0 * dram,
        })  # fmt: skip
        el = p.eltwise
        if extra:
            el = pd.concat([el, pd.DataFrame(extra, columns=el.columns)], ignore_index=True)
        e = _eltwise_rows(el, cfg, peak, energy)
        e.insert(0, "partition", "vector units" if cfg.is_system else "one array")
        e.insert(0, "repeat", el["repeat"].to_numpy())
        e.insert(0, "name", el["name"].to_numpy())
        e.insert(0, "part", "eltwise")
        out.append(pd.concat([g, e], ignore_index=True))
    return out


_KEY = ("op", "batch", "groups", "gemm_m", "gemm_k", "gemm_n", "nm_n", "nm_m")


def _eltwise_rows(el: pd.DataFrame, cfg: ArrayConfig, peak: float | None, energy: EnergyTable) -> pd.DataFrame:
    lanes = sum(a.pe.cols for a in cfg.system_arrays())
    nbytes = (el["read_elems"] + el["write_elems"]) * cfg.pe.word_bytes
    compute = np.ceil(el["elements"] / lanes)
    memory = np.ceil(nbytes / peak) if peak else 0 * compute
    cyc = np.maximum(compute, memory).astype(np.int64)
    return pd.DataFrame({
        "cycles": cyc, "gemm_cycles": 0, "io_cycles": 0, "stall_cycles": cyc - compute.astype(np.int64),
        "dram_bytes": nbytes.astype(np.int64), "dense_macs": 0, "macs": 0,
        "energy_pj": nbytes * energy.dram_pj_per_byte + el["elements"] * energy.mac_pj,
        "compute_bound_cycles": compute, "memory_bound_cycles": nbytes / peak if peak else 0.0 * compute,
    })  # fmt: skip


def _totals(rows: pd.DataFrame) -> dict[str, float]:
    """A step's figures: its rows' times their repeats, summed (:data:`_SUMS`, plus the
    element-wise rows' cycles)."""
    w = rows["repeat"].to_numpy()
    tot = {k: float((rows[k].to_numpy() * w).sum()) for k in _SUMS}
    tot["eltwise_cycles"] = float((rows["cycles"].to_numpy() * w)[(rows["part"] == "eltwise").to_numpy()].sum())
    return tot


def _step_table(tot: dict[str, np.ndarray], kind: str, steps: np.ndarray, contexts: np.ndarray, tokens: int,
                batch: int, model: LLMConfig, cfg: ArrayConfig, weights: float, peak: float | None,
                attention_nm: tuple[int, int] = (1, 1)) -> pd.DataFrame:  # fmt: skip
    """Rows of :data:`STEP_COLUMNS` from per-step totals (arrays, one entry per step) and the
    bounds of the module docstring."""
    kv_tok = model.kv_bytes_per_token(cfg.pe.word_bytes, attention_nm)
    cached = np.zeros(len(steps)) if kind == "prefill" else contexts - 1.0
    kv_read = batch * cached * kv_tok
    compute_b = tot["macs"] / cfg.system_pes
    memory_b = (weights + kv_read) / peak if peak else np.zeros(len(steps))
    bound = np.maximum(compute_b, memory_b)
    cycles = np.rint(tot["cycles"]).astype(np.int64)
    out = pd.DataFrame({"phase": kind, "step": steps, "context": contexts, "tokens": batch * tokens,
                        "cycles": cycles, "seconds": cycles / (cfg.clock_ghz * 1e9)})  # fmt: skip
    for k in ("gemm_cycles", "io_cycles", "eltwise_cycles", "stall_cycles", "dram_bytes"):
        out[k] = np.rint(tot[k]).astype(np.int64)
    out["weight_bytes"] = weights
    out["kv_read_bytes"] = kv_read
    out["kv_write_bytes"] = float(batch * tokens * kv_tok)
    out["dense_macs"] = np.rint(tot["dense_macs"]).astype(np.int64)
    out["macs"] = np.rint(tot["macs"]).astype(np.int64)
    out["energy_pj"] = tot["energy_pj"]
    out["compute_bound_cycles"] = compute_b
    out["memory_bound_cycles"] = memory_b
    out["bound_cycles"] = bound
    with np.errstate(divide="ignore"):
        out["bound_ratio"] = np.where(bound > 0, cycles / np.where(bound > 0, bound, 1), np.inf)
    out["bound"] = np.where(memory_b > compute_b, "memory", "compute")
    return out[list(STEP_COLUMNS)]


def simulate_phase(model: LLMConfig, cfg: ArrayConfig, phase: Phase, batch: int, nm: tuple[int, int], *,
                   step: int = 0, mapping: str = "plain", objective: str = "cycles",
                   energy: EnergyTable = EnergyTable(), pinned: dict | None = None,
                   plan: Plan | None = None, attention_nm: tuple[int, int] = (1, 1)) -> pd.DataFrame:  # fmt: skip
    """One phase simulated on its own, every row of it: its one-row steps table. The twin of
    :func:`simulate_serving`'s shared simulation of all steps (tests compare them per step);
    ``pinned`` and ``plan``: the run's decode attention kernel and its plan for the phase (its
    ``info``; default: the first of :func:`plans`)."""
    plan = plan or plans(cfg, batch)[0]
    (rows,) = run_phases([phase], cfg, model, plan, mapping=mapping, objective=objective, energy=energy,
                         pinned=pinned)  # fmt: skip
    tot = {k: np.array([v]) for k, v in _totals(rows).items()}
    return _step_table(tot, phase.kind, np.array([step]), np.array([phase.context]), phase.tokens, batch, model, cfg,
                       _weight_bytes(model, cfg, nm), cfg.peak_bytes_per_cycle(), attention_nm)  # fmt: skip


def _attention_phase(template: Phase, contexts: np.ndarray) -> Phase:
    """The attention pair of a decode step at every context, as one table (qk, pv, qk, pv, ...)."""
    att = template.gemms[template.gemms["part"] == "attention"]
    qk, pv = att[att["name"] == "qk"], att[att["name"] == "pv"]
    n = len(contexts)
    g = pd.concat([qk, pv], ignore_index=True).iloc[np.tile([0, 1], n)].reset_index(drop=True)
    g["gemm_n"] = np.where(np.arange(2 * n) % 2 == 0, np.repeat(contexts, 2), g["gemm_n"].to_numpy())
    g["gemm_k"] = np.where(np.arange(2 * n) % 2 == 1, np.repeat(contexts, 2), g["gemm_k"].to_numpy())
    return Phase("decode", 1, int(contexts[-1]), g, template.eltwise.iloc[:0])


def decode_attention_kernel(template: Phase, cfg: ArrayConfig, model: LLMConfig, plan: Plan, mapping: str,
                            objective: str, energy: EnergyTable = EnergyTable()) -> dict | None:  # fmt: skip
    """The mappings of the decode attention pair (``qk``, ``pv``) every decode step runs with.

    Ours: a serving system compiles one decode-attention kernel and runs it at every context; it
    is not re-tuned per step. With ``mapping: auto`` the mapper chooses it for the first decode
    step's context (its slice under ``plan``), and every step keeps it. None: no mapper (every
    row runs the one dataflow asked for)."""
    if mapping != "auto":
        return None
    from simulator.nm_array.map_layers import resolve_mappings

    sliced = _slices(template, plan, cfg, model)
    part, share = sliced[0], sliced[5]
    att = part[part["part"] == "attention"]
    gemms = lower_to_gemms(att.drop(columns=["part", "repeat"]), validate=False)
    acfg = cfg.system_arrays()[0] if cfg.is_system else cfg
    chosen, _ = resolve_mappings(gemms, acfg, mapping, objective, energy=energy, share=share, exposed_io=True)
    return dict(zip(att["name"], chosen, strict=True))


def _mixed(phase: Phase, t_rows: pd.DataFrame, d_rows: pd.DataFrame) -> tuple[Plan, pd.DataFrame]:
    """Each operator of ``phase`` tensor or data parallel, whichever takes fewer cycles (a
    row-parallel operator's all-reduce counted with its tensor split; ties: data), and the
    phase's rows under that plan, assembled from the two plans' rows: a GEMM row's figures
    depend on that row alone (:func:`run_phases`, one simulation per distinct slice), so these
    are the rows ``run_phases`` gives the mixed plan (tests compare them)."""
    n = len(phase.gemms)
    names = phase.gemms["name"].to_numpy()
    # the tensor plan's rows past the phase's own: the all-reduces, one per row-parallel operator
    ar = t_rows.iloc[n + len(phase.eltwise):]
    of = ar["name"].str.removesuffix("_allreduce")
    reduce = dict(zip(of, ar["cycles"] * ar["repeat"], strict=True))
    cost_t = t_rows["cycles"].to_numpy()[:n] * t_rows["repeat"].to_numpy()[:n]
    cost_t = cost_t + np.array([reduce.get(x, 0.0) for x in names])
    cost_d = d_rows["cycles"].to_numpy()[:n] * d_rows["repeat"].to_numpy()[:n]
    use_t = cost_t < cost_d
    plan = Plan("mixed", choice=tuple((str(x), "tensor" if u else "data") for x, u in zip(names, use_t, strict=True)))
    gemm = pd.concat([t_rows.iloc[:n][use_t], d_rows.iloc[:n][~use_t]]).sort_index()
    rows = pd.concat([gemm, d_rows.iloc[n:], ar[of.isin(set(names[use_t])).to_numpy()]], ignore_index=True)
    return plan, rows


def plan_floor(phase: Phase, plan: Plan, cfg: ArrayConfig, model: LLMConfig) -> float:
    """A lower bound on ``phase``'s cycles under ``plan`` from its MACs alone: each array's slice
    of a GEMM takes at least its issued MACs over the array's PEs, times the row's time factor
    and repeats (:func:`run_phases` adds stalls, fills and the element-wise rows on top)."""
    part, _, _, factor, _, _ = _slices(phase, plan, cfg, model)
    acfg = cfg.system_arrays()[0] if cfg.is_system else cfg
    macs = _issued_macs(lower_to_gemms(part.drop(columns=["part", "repeat"]), validate=False))
    return float((np.ceil(macs / (acfg.rows * acfg.cols)) * factor * phase.gemms["repeat"].to_numpy()).sum())


def _best(phase: Phase, cfg: ArrayConfig, model: LLMConfig, batch: int, mapping: str, objective: str,
          energy: EnergyTable) -> tuple[Plan, dict[str, float], pd.DataFrame, dict[str, float]]:  # fmt: skip
    """The plan (:func:`plans`, and with ``auto`` the per-operator mix of tensor and data) under
    which ``phase`` takes the fewest cycles (ties: the first listed: tensor, data, pipelines with
    fewer micro-batches first, the mix last), every plan's cycles, the phase's rows under the
    chosen plan, and the plans left unsimulated with their floors.

    A pipeline whose floor (:func:`plan_floor`) is above the best plan simulated before it
    cannot win and is not simulated (branch and bound over plans: on 8 arrays a one-micro-batch
    pipeline runs the prefill's whole-model GEMMs on one array at a time, minutes of mapping to
    learn it is about 8x slower). The tensor and data plans are always simulated: the mix is
    made of their rows."""
    listed = plans(cfg, batch)
    tried, pruned = {}, {}
    for plan in [p for p in listed if p.kind != "pipeline"]:
        (rows,) = run_phases([phase], cfg, model, plan, mapping=mapping, objective=objective, energy=energy)
        tried[plan] = (_totals(rows)["cycles"], rows)
    mixed = None
    if Plan("tensor") in tried and Plan("data") in tried:
        mix, rows = _mixed(phase, tried[Plan("tensor")][1], tried[Plan("data")][1])
        mixed = (mix, (_totals(rows)["cycles"], rows))
    for plan in [p for p in listed if p.kind == "pipeline"]:
        incumbent = min([c for c, _ in tried.values()] + ([mixed[1][0]] if mixed else []), default=math.inf)
        floor = plan_floor(phase, plan, cfg, model)
        if floor > incumbent:
            pruned[plan] = floor
            continue
        (rows,) = run_phases([phase], cfg, model, plan, mapping=mapping, objective=objective, energy=energy)
        tried[plan] = (_totals(rows)["cycles"], rows)
    tried = {p: tried[p] for p in listed if p in tried}  # the listed order, for the ties
    if mixed:
        tried[mixed[0]] = mixed[1]
    best = min(tried, key=lambda p: tried[p][0])
    arrays = cfg.system.arrays if cfg.is_system else 1
    return (best, {p.describe(arrays, model.layers): c for p, (c, _) in tried.items()}, tried[best][1],
            {p.describe(arrays, model.layers): f for p, f in pruned.items()})  # fmt: skip


def simulate_serving(model: LLMConfig, cfg: ArrayConfig, *, batch: int, prompt: int, generate: int,
                     nm: tuple[int, int] = (1, 1), attention_block: int = 128, mapping: str = "plain",
                     objective: str = "cycles", energy: EnergyTable = EnergyTable(),
                     attention_nm: tuple[int, int] = (1, 1)) -> ServingRun:  # fmt: skip
    """Prefill of ``batch`` prompts of ``prompt`` tokens (the first generated token), then
    ``generate - 1`` decode steps (the others), at contexts ``prompt + 1 .. prompt + generate - 1``.

    Every decode step has the same linears, LM head and element-wise rows but the softmax; its
    attention pair is the only GEMM that changes. The run simulates the prefill, one decode
    step (the template) and the attention pair at every context, once each, and adds them up per
    step (:func:`simulate_phase` is the step-by-step twin). On a system, the prefill and the
    decode phase each take the plan that is fastest for them (the decode's judged on its first
    step, then kept: a server does not repartition per token)."""
    facts = check_capacity(model, cfg, batch, prompt, generate, nm, attention_nm)
    peak = cfg.peak_bytes_per_cycle()
    weights = _weight_bytes(model, cfg, nm)
    arrays = cfg.system.arrays if cfg.is_system else 1
    pre = prefill(model, batch, prompt, nm, attention_block, attention_nm)
    contexts = np.arange(prompt + 1, prompt + generate, dtype=np.int64)
    pre_plan, pre_tried, pre_rows, pre_pruned = _best(pre, cfg, model, batch, mapping, objective, energy)
    first = {k: np.array([v]) for k, v in _totals(pre_rows).items()}
    tables = [_step_table(first, "prefill", np.array([0]), np.array([prompt]), prompt, batch, model, cfg, weights,
                          peak, attention_nm)]  # fmt: skip
    layers = [_layer_rows("prefill", pre_rows, 1)]
    facts.update(prefill_partition=pre_plan.describe(arrays, model.layers), prefill_plans_tried=pre_tried,
                 prefill_plans_pruned=pre_pruned)  # fmt: skip
    if len(contexts):
        template = decode_step(model, batch, int(contexts[0]), nm, attention_nm)
        # the template's rows under its plan are what the pinned kernel gives it: the mapper chose
        # that kernel for exactly its attention pair
        plan, tried, tmpl_rows, pruned = _best(template, cfg, model, batch, mapping, objective, energy)
        pinned = decode_attention_kernel(template, cfg, model, plan, mapping, objective, energy)
        (att_rows,) = run_phases([_attention_phase(template, contexts)], cfg, model, plan, mapping=mapping,
                                 objective=objective, energy=energy, pinned=pinned)  # fmt: skip
        varying = tmpl_rows["name"].isin(["qk", "pv", "softmax"]).to_numpy()
        const = _totals(tmpl_rows[~varying])
        soft = template.eltwise[template.eltwise["name"] == "softmax"]
        soft = soft.iloc[np.zeros(len(contexts), dtype=int)].reset_index(drop=True)
        soft[["elements", "read_elems", "write_elems"]] = np.repeat((batch * model.heads * contexts)[:, None], 3, 1)
        soft_rows = _eltwise_rows(soft, cfg, peak, energy).assign(repeat=int(soft["repeat"].iloc[0]))
        w_att = att_rows["repeat"].to_numpy()
        tot = {}
        for k in _SUMS:
            a = (att_rows[k].to_numpy() * w_att).reshape(-1, 2).sum(axis=1)
            tot[k] = const[k] + a + soft_rows[k].to_numpy() * soft_rows["repeat"].to_numpy()
        tot["eltwise_cycles"] = (
            const["eltwise_cycles"] + soft_rows["cycles"].to_numpy() * soft_rows["repeat"].to_numpy()
        )
        tables.append(_step_table(tot, "decode", np.arange(1, generate), contexts, 1, batch, model, cfg, weights,
                                  peak, attention_nm))  # fmt: skip
        soft_rows.insert(0, "partition", tmpl_rows.loc[tmpl_rows["name"] == "softmax", "partition"].iloc[0])
        soft_rows.insert(0, "name", "softmax")
        soft_rows.insert(0, "part", "eltwise")
        dec = pd.concat([tmpl_rows[~varying].assign(times=len(contexts)), att_rows, soft_rows], ignore_index=True)
        layers.append(_layer_rows("decode", dec, len(contexts)))
        facts.update(decode_partition=plan.describe(arrays, model.layers), decode_plans_tried=tried,
                     decode_plans_pruned=pruned,
                     decode_attention_kernel={k: v.describe() for k, v in (pinned or {}).items()})  # fmt: skip
    steps = pd.concat(tables, ignore_index=True)
    nb = len(pre.gemms[pre.gemms["part"] == "attention"]) // 2
    facts.update(causal_tiles=nb * (nb + 1) // 2, dense_tiles=nb * nb, peak_bytes_per_cycle=peak,
                 kv_bytes_per_token=model.kv_bytes_per_token(cfg.pe.word_bytes, attention_nm),
                 parameters=model.parameter_count())  # fmt: skip
    chosen = {"prefill": pre_plan, **({"decode": plan} if len(contexts) else {})}
    return ServingRun(steps, _finish_layers(layers), None, facts, chosen)


def _layer_rows(kind: str, rows: pd.DataFrame, steps: int) -> pd.DataFrame:
    """Per operator of one phase: figures times repeats, summed (attention blocks and decode
    contexts under their operator, ``qk``/``pv``); ``repeat`` is per step."""
    names = rows["name"].str.replace(r"_b\d+$", "", regex=True)
    times = rows["times"].fillna(1) if "times" in rows.columns else 1  # steps a row stands for
    weighted = rows[list(_SUMS)].mul(rows["repeat"] * times, axis=0)
    weighted["part"], weighted["name"] = rows["part"].to_numpy(), names.to_numpy()
    g = weighted.groupby(["part", "name"], sort=False).sum().reset_index()
    g.insert(0, "phase", kind)
    first = rows.groupby([rows["part"], names], sort=False)
    g.insert(3, "repeat", first["repeat"].first().to_numpy())
    g.insert(4, "steps", steps)
    g.insert(5, "partition", first["partition"].first().to_numpy())
    g["bound"] = np.where(g["memory_bound_cycles"] > g["compute_bound_cycles"], "memory", "compute")
    total = g["cycles"].sum()
    g["share"] = g["cycles"] / total if total else 0.0
    return g


def _finish_layers(frames: list[pd.DataFrame]) -> pd.DataFrame:
    out = pd.concat(frames, ignore_index=True)
    for k in ("cycles", "gemm_cycles", "io_cycles", "stall_cycles", "dram_bytes", "dense_macs", "macs"):
        out[k] = out[k].round().astype(np.int64)
    return out[list(LAYER_COLUMNS)]

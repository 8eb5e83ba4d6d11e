"""The LLM block's cycle model: a serving run (prefill, then decode steps) on the N:M array or a
system of arrays, every GEMM through the array's fold model.

Time of a step (ours). The operators of a step run one after the other, each waiting for the
one before (a transformer's data dependences), so a step's cycles are the sum over its rows of::

    row cycles = fold cycles (compute + SRAM and memory stalls)
               + the row's exposed first load and last write-back (prefetch, drain)
    element-wise row = max(elements / lanes, bytes / peak bytes per cycle)

times the row's repeat (the layer count). The fold model's own ``cycles`` leave the first load
and the last write-back out (:mod:`simulator.nm_array.memory`); a step must not, or a decode
step (a few folds per layer, each waiting on its weights) would look free. The element-wise
operators run on a vector unit of one lane per array column (ours), streaming their tensors at the
memory's peak.

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

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dataflow.nm_array.schedule import condensed_rows
from simulator.common.errors import SparsimInputError
from simulator.nm_array.config import ArrayConfig
from simulator.nm_array.energy import EnergyTable, energy_pj
from simulator.nm_array.memory import index_bits
from workloads.llm.model import LLMConfig
from workloads.llm.phases import Phase, decode_step, prefill
from workloads.lowering import lower_to_gemms

__all__ = ["ServingRun", "simulate_serving", "simulate_phase", "peak_bytes_per_cycle", "check_capacity",
           "run_phases", "decode_attention_kernel", "STEP_COLUMNS", "LAYER_COLUMNS"]  # fmt: skip

STEP_COLUMNS = ("phase", "step", "context", "tokens", "cycles", "seconds", "gemm_cycles", "io_cycles",
                "eltwise_cycles", "stall_cycles", "dram_bytes", "weight_bytes", "kv_read_bytes", "kv_write_bytes",
                "dense_macs", "macs", "energy_pj", "compute_bound_cycles", "memory_bound_cycles", "bound_cycles",
                "bound_ratio", "bound")  # fmt: skip
LAYER_COLUMNS = ("phase", "part", "name", "repeat", "steps", "cycles", "gemm_cycles", "io_cycles", "stall_cycles",
                 "dram_bytes", "dense_macs", "macs", "energy_pj", "compute_bound_cycles", "memory_bound_cycles",
                 "bound", "share")  # fmt: skip
_SUMS = ("cycles", "gemm_cycles", "io_cycles", "stall_cycles", "dram_bytes", "dense_macs", "macs", "energy_pj",
         "compute_bound_cycles", "memory_bound_cycles")  # fmt: skip


@dataclass(frozen=True)
class ServingRun:
    """``steps`` (:data:`STEP_COLUMNS`: the prefill, then each decode step) and ``layers``
    (:data:`LAYER_COLUMNS`: per phase and operator, summed over repeats and steps), the system's
    per-array table (or None) and named facts."""

    steps: pd.DataFrame
    layers: pd.DataFrame
    arrays: pd.DataFrame | None
    info: dict


def peak_bytes_per_cycle(cfg: ArrayConfig) -> float | None:
    """The memory's peak bytes per array cycle; None: unlimited (a simple channel without a rate)."""
    if cfg.memory.is_dram:
        return cfg.memory.dram_config().peak_gbps / cfg.clock_ghz
    return cfg.memory.bw_bytes_per_cycle


def memory_capacity(cfg: ArrayConfig) -> int | None:
    """Bytes the memory holds (a DRAM model's geometry); None: a simple channel states none."""
    return cfg.memory.dram_config().capacity_bytes if cfg.memory.is_dram else None


def _weight_bytes(model: LLMConfig, cfg: ArrayConfig, nm: tuple[int, int]) -> float:
    """Bytes of every weight a step reads: the layers' linears (N:M condensed, with index bits)
    and the dense LM head."""
    n, m = nm
    bits = cfg.pe.word_bytes * 8 + (index_bits(m) if n != m else 0)
    linear = sum(condensed_rows(i, n, m) * o for _, i, o in model.linears()) * bits / 8
    return model.layers * linear + model.hidden * model.vocab * cfg.pe.word_bytes


def check_capacity(model: LLMConfig, cfg: ArrayConfig, batch: int, prompt: int, generate: int,
                   nm: tuple[int, int]) -> dict:  # fmt: skip
    """Weights plus the KV cache at the end of the run against the memory's capacity: one line
    when they do not fit (no offload is modelled)."""
    weights = _weight_bytes(model, cfg, nm)
    kv = batch * (prompt + generate - 1) * model.kv_bytes_per_token(cfg.pe.word_bytes)
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


def _simulate_gemms(layers: pd.DataFrame, cfg: ArrayConfig, mapping: str, objective: str, energy: EnergyTable,
                    pinned: dict | None = None) -> tuple[pd.DataFrame, pd.DataFrame | None]:  # fmt: skip
    """Fold-model statistics (plus energy) of every row of a layer table, on an array or a system;
    ``pinned``: operator name -> the mapping its rows run with (the decode attention kernel)."""
    # every row comes from a checked layer table (workloads.llm.phases; the attention pairs from a
    # checked template with only their bounded context changed): not checked again row by row
    gemms = lower_to_gemms(layers.drop(columns=["part", "repeat"]), validate=False)
    if cfg.is_system:
        from simulator.nm_array.system import simulate_system

        res = simulate_system(gemms, cfg, mapping=mapping, objective=objective, energy=energy)
        stats, arrays = res.layers, res.arrays
    else:
        from simulator.nm_array.fold import simulate_gemms
        from simulator.nm_array.map_layers import resolve_mappings

        fixed = gemms["name"].isin(list(pinned or {})).to_numpy()
        mappings = [pinned[n] if f else None for n, f in zip(gemms["name"], fixed, strict=True)]
        if not fixed.all():
            free = iter(resolve_mappings(gemms[~fixed], cfg, mapping, objective, energy=energy)[0])
            mappings = [m if m is not None else next(free) for m in mappings]
        stats, arrays = simulate_gemms(gemms, cfg, mappings=mappings), None
    e = energy_pj(stats, cfg, energy)
    stats = stats.assign(energy_pj=e["energy_pj"].to_numpy())
    return stats.reset_index(drop=True), arrays


_KEY = ("op", "batch", "groups", "gemm_m", "gemm_k", "gemm_n", "nm_n", "nm_m")


def _gemm_rows(stats: pd.DataFrame, cfg: ArrayConfig, peak: float | None) -> pd.DataFrame:
    """Per simulated GEMM: the step-time figures of the module docstring."""
    io = stats["prefetch_cycles"] + stats["drain_cycles"]
    pes = cfg.system_pes
    return pd.DataFrame({
        "cycles": stats["cycles"] + io,
        "gemm_cycles": stats["cycles"],
        "io_cycles": io,
        "stall_cycles": stats["stall_cycles"],
        "dram_bytes": stats["dram_bytes"],
        "dense_macs": stats["dense_macs"],
        "macs": stats["macs"],
        "energy_pj": stats["energy_pj"],
        "compute_bound_cycles": stats["macs"] / pes,
        "memory_bound_cycles": stats["dram_bytes"] / peak if peak else 0.0 * stats["dram_bytes"],
    })  # fmt: skip


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


def run_phases(phases: list[Phase], cfg: ArrayConfig, *, mapping: str = "plain", objective: str = "cycles",
               energy: EnergyTable = EnergyTable(), pinned: dict | None = None,
               ) -> tuple[list[pd.DataFrame], pd.DataFrame | None]:  # fmt: skip
    """Per phase, one row per GEMM and element-wise row (with ``phase``, ``part``, ``name``,
    ``repeat`` and the figures of :data:`_SUMS` per occurrence): every distinct GEMM of all the
    phases simulated once (see the module docstring)."""
    peak = peak_bytes_per_cycle(cfg)
    allg = pd.concat([p.gemms for p in phases], ignore_index=True)
    keys = [tuple(r) for r in allg[list(_KEY)].itertuples(index=False, name=None)]
    first: dict[tuple, int] = {}
    for i, k in enumerate(keys):
        first.setdefault(k, i)
    uniq_idx = sorted(first.values())
    stats, arrays = _simulate_gemms(allg.iloc[uniq_idx].reset_index(drop=True), cfg, mapping, objective, energy,
                                    pinned)  # fmt: skip
    per_unique = _gemm_rows(stats, cfg, peak)
    pos = {k: j for j, k in enumerate(keys[i] for i in uniq_idx)}
    out, start = [], 0
    for p in phases:
        rows = [pos[keys[start + i]] for i in range(len(p.gemms))]
        start += len(p.gemms)
        g = per_unique.iloc[rows].reset_index(drop=True)
        g.insert(0, "name", p.gemms["name"].to_numpy())
        g.insert(0, "repeat", p.gemms["repeat"].to_numpy())
        g.insert(0, "part", p.gemms["part"].to_numpy())
        e = _eltwise_rows(p.eltwise, cfg, peak, energy)
        e.insert(0, "name", p.eltwise["name"].to_numpy())
        e.insert(0, "repeat", p.eltwise["repeat"].to_numpy())
        e.insert(0, "part", "eltwise")
        out.append(pd.concat([g, e], ignore_index=True))
    return out, arrays


def _totals(rows: pd.DataFrame) -> dict[str, float]:
    """A step's figures: its rows' times their repeats, summed (:data:`_SUMS`, plus the
    element-wise rows' cycles)."""
    w = rows["repeat"].to_numpy()
    tot = {k: float((rows[k].to_numpy() * w).sum()) for k in _SUMS}
    tot["eltwise_cycles"] = float((rows["cycles"].to_numpy() * w)[(rows["part"] == "eltwise").to_numpy()].sum())
    return tot


def _step_table(tot: dict[str, np.ndarray], kind: str, steps: np.ndarray, contexts: np.ndarray, tokens: int,
                batch: int, model: LLMConfig, cfg: ArrayConfig, weights: float, peak: float | None,
                ) -> pd.DataFrame:  # fmt: skip
    """Rows of :data:`STEP_COLUMNS` from per-step totals (arrays, one entry per step) and the
    bounds of the module docstring."""
    kv_tok = model.kv_bytes_per_token(cfg.pe.word_bytes)
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
                   energy: EnergyTable = EnergyTable(), pinned: dict | None = None) -> pd.DataFrame:  # fmt: skip
    """One phase simulated on its own, every row of it: its one-row steps table. The twin of
    :func:`simulate_serving`'s shared simulation of all steps (tests compare them per step);
    ``pinned``: the run's decode attention kernel (:func:`decode_attention_kernel`)."""
    (rows,), _ = run_phases([phase], cfg, mapping=mapping, objective=objective, energy=energy, pinned=pinned)
    tot = {k: np.array([v]) for k, v in _totals(rows).items()}
    return _step_table(tot, phase.kind, np.array([step]), np.array([phase.context]), phase.tokens, batch, model, cfg,
                       _weight_bytes(model, cfg, nm), peak_bytes_per_cycle(cfg))  # fmt: skip


def _attention_phase(template: Phase, contexts: np.ndarray) -> Phase:
    """The attention pair of a decode step at every context, as one table (qk, pv, qk, pv, ...)."""
    att = template.gemms[template.gemms["part"] == "attention"]
    qk, pv = att[att["name"] == "qk"], att[att["name"] == "pv"]
    n = len(contexts)
    g = pd.concat([qk, pv], ignore_index=True).iloc[np.tile([0, 1], n)].reset_index(drop=True)
    g["gemm_n"] = np.where(np.arange(2 * n) % 2 == 0, np.repeat(contexts, 2), g["gemm_n"].to_numpy())
    g["gemm_k"] = np.where(np.arange(2 * n) % 2 == 1, np.repeat(contexts, 2), g["gemm_k"].to_numpy())
    return Phase("decode", 1, int(contexts[-1]), g, template.eltwise.iloc[:0])


def decode_attention_kernel(template: Phase, cfg: ArrayConfig, mapping: str, objective: str,
                            energy: EnergyTable = EnergyTable()) -> dict | None:  # fmt: skip
    """The mappings of the decode attention pair (``qk``, ``pv``) every decode step runs with.

    Ours: a serving system compiles one decode-attention kernel and runs it at every context; it
    is not re-tuned per step. With ``mapping: auto`` the mapper chooses it for the first decode
    step's context, and every step keeps it (on one array; a system's parts are mapped per
    GEMM). None: no mapper (every row runs the one dataflow asked for)."""
    if mapping != "auto" or cfg.is_system:
        return None
    from simulator.nm_array.map_layers import resolve_mappings

    att = template.gemms[template.gemms["part"] == "attention"]
    gemms = lower_to_gemms(att.drop(columns=["part", "repeat"]), validate=False)
    chosen, _ = resolve_mappings(gemms, cfg, mapping, objective, energy=energy)
    return dict(zip(att["name"], chosen, strict=True))


def simulate_serving(model: LLMConfig, cfg: ArrayConfig, *, batch: int, prompt: int, generate: int,
                     nm: tuple[int, int] = (1, 1), attention_block: int = 128, mapping: str = "plain",
                     objective: str = "cycles", energy: EnergyTable = EnergyTable()) -> ServingRun:  # fmt: skip
    """Prefill of ``batch`` prompts of ``prompt`` tokens (the first generated token), then
    ``generate - 1`` decode steps (the others), at contexts ``prompt + 1 .. prompt + generate - 1``.

    Every decode step has the same linears, LM head and element-wise rows but the softmax; its
    attention pair is the only GEMM that changes. The run simulates the prefill, one decode
    step (the template) and the attention pair at every context, once each, and adds them up per
    step (:func:`simulate_phase` is the step-by-step twin)."""
    facts = check_capacity(model, cfg, batch, prompt, generate, nm)
    peak = peak_bytes_per_cycle(cfg)
    weights = _weight_bytes(model, cfg, nm)
    pre = prefill(model, batch, prompt, nm, attention_block)
    contexts = np.arange(prompt + 1, prompt + generate, dtype=np.int64)
    phases, pinned = [pre], None
    if len(contexts):
        template = decode_step(model, batch, int(contexts[0]), nm)
        phases += [template, _attention_phase(template, contexts)]
        pinned = decode_attention_kernel(template, cfg, mapping, objective, energy)
    per_phase, arrays = run_phases(phases, cfg, mapping=mapping, objective=objective, energy=energy, pinned=pinned)
    first = {k: np.array([v]) for k, v in _totals(per_phase[0]).items()}
    tables = [_step_table(first, "prefill", np.array([0]), np.array([prompt]), prompt, batch, model, cfg, weights,
                          peak)]  # fmt: skip
    layers = [_layer_rows("prefill", per_phase[0], 1)]
    if len(contexts):
        tmpl_rows, att_rows = per_phase[1], per_phase[2]
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
                                  peak))  # fmt: skip
        soft_rows.insert(0, "name", "softmax")
        soft_rows.insert(0, "part", "eltwise")
        dec = pd.concat([tmpl_rows[~varying].assign(times=len(contexts)), att_rows, soft_rows], ignore_index=True)
        layers.append(_layer_rows("decode", dec, len(contexts)))
    steps = pd.concat(tables, ignore_index=True)
    nb = len(pre.gemms[pre.gemms["part"] == "attention"]) // 2
    facts.update(decode_attention_kernel={k: v.describe() for k, v in (pinned or {}).items()})
    facts.update(causal_tiles=nb * (nb + 1) // 2, dense_tiles=nb * nb, peak_bytes_per_cycle=peak,
                 kv_bytes_per_token=model.kv_bytes_per_token(cfg.pe.word_bytes),
                 parameters=model.parameter_count())  # fmt: skip
    return ServingRun(steps, _finish_layers(layers), arrays, facts)


def _layer_rows(kind: str, rows: pd.DataFrame, steps: int) -> pd.DataFrame:
    """Per operator of one phase: figures times repeats, summed (attention blocks and decode
    contexts under their operator, ``qk``/``pv``); ``repeat`` is per step."""
    names = rows["name"].str.replace(r"_b\d+$", "", regex=True)
    times = rows["times"].fillna(1) if "times" in rows.columns else 1  # steps a row stands for
    weighted = rows[list(_SUMS)].mul(rows["repeat"] * times, axis=0)
    weighted["part"], weighted["name"] = rows["part"].to_numpy(), names.to_numpy()
    g = weighted.groupby(["part", "name"], sort=False).sum().reset_index()
    g.insert(0, "phase", kind)
    g.insert(3, "repeat", rows["repeat"].groupby([rows["part"], names], sort=False).first().to_numpy())
    g.insert(4, "steps", steps)
    g["bound"] = np.where(g["memory_bound_cycles"] > g["compute_bound_cycles"], "memory", "compute")
    total = g["cycles"].sum()
    g["share"] = g["cycles"] / total if total else 0.0
    return g


def _finish_layers(frames: list[pd.DataFrame]) -> pd.DataFrame:
    out = pd.concat(frames, ignore_index=True)
    for k in ("cycles", "gemm_cycles", "io_cycles", "stall_cycles", "dram_bytes", "dense_macs", "macs"):
        out[k] = out[k].round().astype(np.int64)
    return out[list(LAYER_COLUMNS)]

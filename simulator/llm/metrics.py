"""Serving metrics of a run's steps table (:mod:`simulator.llm.cl`): what an LLM server is
judged by.

- ``ttft_s``: time to first token, the prefill's time (the prompt's tokens in, the first new
  token out; queueing is not modelled);
- ``tpot_s``: time per output token after the first, the mean decode step (0 when the run
  generates one token: there is no decode step);
- ``tokens_per_s``: generated tokens of all sequences over the whole run's time;
  ``decode_tokens_per_s``: over the decode steps only (0 without one);
- ``energy_per_token_j``: the run's energy over its generated tokens;
- ``prefill_bound_ratio`` and ``decode_bound_ratio``: simulated time over the physical bound
  (:mod:`simulator.llm.cl`), the prefill's and the decode steps' together;
- ``memory_bound_share``: the share of the run's time spent in memory-bound steps;
- ``kv_cache_bytes``: the KV cache at the end of the run (every token's K and V, written once).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["serving_totals"]


def serving_totals(steps: pd.DataFrame, batch: int) -> dict[str, Any]:
    pre = steps[steps["phase"] == "prefill"]
    dec = steps[steps["phase"] == "decode"]
    seconds = float(steps["seconds"].sum())
    tokens = batch * len(steps)  # the prefill's token and one per decode step, per sequence
    dec_s = float(dec["seconds"].sum())
    energy = float(steps["energy_pj"].sum())
    mem = steps["bound"] == "memory"
    return {
        "cycles": int(steps["cycles"].sum()),
        "seconds": seconds,
        "ttft_s": float(pre["seconds"].sum()),
        "tpot_s": dec_s / len(dec) if len(dec) else 0.0,
        "tokens_per_s": tokens / seconds if seconds else 0.0,
        "decode_tokens_per_s": batch * len(dec) / dec_s if dec_s else 0.0,
        "energy_pj": energy,
        "energy_per_token_j": energy * 1e-12 / tokens if tokens else 0.0,
        "dram_bytes": int(steps["dram_bytes"].sum()),
        "dense_macs": int(steps["dense_macs"].sum()),
        "macs": int(steps["macs"].sum()),
        "prefill_bound_ratio": float(pre["cycles"].sum() / pre["bound_cycles"].sum()) if len(pre) else 0.0,
        "decode_bound_ratio": float(dec["cycles"].sum() / dec["bound_cycles"].sum()) if len(dec) else 0.0,
        "memory_bound_share": float(steps.loc[mem, "cycles"].sum() / max(int(steps["cycles"].sum()), 1)),
        "weight_bytes": float(steps["weight_bytes"].iloc[0]) if len(steps) else 0.0,
        "kv_cache_bytes": float(steps["kv_write_bytes"].sum()),  # every token's K and V, written once
    }

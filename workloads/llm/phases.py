"""An LLM's inference in phases, as layer tables: prefill of a prompt, and each decode step.

Why phases: prefill (``B`` sequences of ``S`` prompt tokens at once) is matrix-matrix work and
compute bound; a decode step (one new token per sequence, attending to everything before it) is
matrix-vector work and bound by the bytes of the weights and the KV cache. Every conclusion about
an N:M array differs between the two, so the workload keeps them apart.

A phase is a :class:`Phase`: the GEMM layer table of **one** transformer layer (all layers have
the same shapes) plus the LM head, each row with how many times it repeats (``repeat``: the
layer count, or 1), and the element-wise operators as rows with no MACs and their bytes.

Rows of one transformer layer (``q`` tokens: ``B * S`` in prefill, ``B`` in a decode step):

- the weight linears, ``[q, in] x [in, out]`` each, with the model's N:M (``nm``);
- attention products, grouped-query: the ``g = heads / kv_heads`` query heads that share a KV
  head are one GEMM against that head's K (``[g*tokens, head_dim] x [head_dim, context]``) and V
  (``[g*tokens, context] x [context, head_dim]``), ``B * kv_heads`` products (``op: matmul``,
  dense: both operands are activations, unless the run asks for N:M attention, ``attention_nm``:
  then K is N:M along the head dimension and V along the tokens, a pruned KV cache). K and V
  are the products' stationary operands, so the KV cache is what they stream from memory;
- **causal prefill, tiled** (ours, FlashAttention's block structure with ``block`` x ``block``
  tiles): query block ``i`` (``block`` prompt tokens) computes the key blocks ``0..i`` only, so a
  prompt of ``nb = ceil(S / block)`` blocks computes ``nb (nb + 1) / 2`` of the ``nb^2`` score
  tiles (the masked half of a diagonal tile is computed and discarded, as a tiled kernel does).
  Each query block is its own pair of rows (``qk_b{i}``, ``pv_b{i}``);
- a decode step at context ``c`` (the new token included) is one pair, against ``c`` keys.

The LM head runs on the last position of each sequence only (``B`` rows): what a server needs to
sample the next token (ours; Hugging Face's ``logits_to_keep``). It stays dense: SparseGPT and
Wanda prune the transformer layers' linears, not the embedding or the head.

Element-wise operators (``ELTWISE_COLUMNS``): norms, rotary embedding, softmax, the MLP's
activation, residual adds, the embedding gather; each reads and writes its tensors once at the
activation precision (ours: unfused, the conservative case; a fused kernel would keep them on
chip). Their time is the simulator's business.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from simulator.common.errors import SparsimInputError
from simulator.common.validate import is_int
from workloads.layers import gemm_layer, layer_table
from workloads.llm.model import LLMConfig

__all__ = ["Phase", "ELTWISE_COLUMNS", "prefill", "decode_step", "MAX_TOKENS", "MAX_BATCH", "causal_blocks",
           "check_run", "training_step"]  # fmt: skip

ELTWISE_COLUMNS = ("name", "repeat", "elements", "read_elems", "write_elems")
#: a prompt or generation longer than this is not a serving run (Llama 3.1's context is 131,072)
MAX_TOKENS = 1 << 22
MAX_BATCH = 1 << 16


@dataclass(frozen=True)
class Phase:
    """One phase's work: ``gemms`` (a layer table, one transformer layer plus the head) with
    ``repeat`` per row, and ``eltwise`` (:data:`ELTWISE_COLUMNS`)."""

    kind: str
    tokens: int  # query tokens per sequence in this phase (S, or 1)
    context: int  # keys the last query attends to
    gemms: pd.DataFrame
    eltwise: pd.DataFrame

    @property
    def repeat(self) -> pd.Series:
        return self.gemms["repeat"]


def causal_blocks(prompt: int, block: int) -> list[tuple[int, int]]:
    """``(queries, keys)`` of every query block of a causal prompt tiled ``block`` x ``block``."""
    out = []
    for lo in range(0, prompt, block):
        hi = min(lo + block, prompt)
        out.append((hi - lo, min(-(-hi // block) * block, prompt)))
    return out


def check_run(model: LLMConfig, batch: int, prompt: int, generate: int, block: int = 128) -> None:
    """A serving run's sizes, refused with one line before anything is built."""
    for key, v, lo, hi in (("batch", batch, 1, MAX_BATCH), ("prompt", prompt, 1, MAX_TOKENS),
                           ("generate", generate, 1, MAX_TOKENS), ("attention_block", block, 1, 1 << 16)):  # fmt: skip
        if not is_int(v) or not lo <= v <= hi:
            raise SparsimInputError("", key, v, f"an integer from {lo} to {hi:,}")
    if prompt + generate - 1 > model.max_positions:
        raise SparsimInputError("", "prompt", prompt, f"with generate {generate}, a context of at most the model's "
                                f"{model.max_positions:,} positions (prompt + generate - 1)")  # fmt: skip


def _linears(model: LLMConfig, batch: int, tokens: int, nm: tuple[int, int]) -> list[dict]:
    return [dict(gemm_layer(name, m=tokens, k=i, n=o, batch=batch, nm=nm), repeat=model.layers, part="linear")
            for name, i, o in model.linears()]  # fmt: skip


def _attention(model: LLMConfig, batch: int, pairs: list[tuple[int, int]], tag: str,
               nm: tuple[int, int] = (1, 1)) -> list[dict]:  # fmt: skip
    """QK^T and PV rows of one layer for ``(queries, keys)`` per row pair; ``nm``: N:M on their
    stationary operands (K along the head dimension, V along the tokens: an N:M-pruned KV cache)."""
    g, dh, rows = model.group, model.head_dim, []
    # a pruned K or V is stored compressed like a weight: the layer table's ``gemm`` (its
    # ``matmul`` means two activations, which have no N:M)
    op = "matmul" if nm[0] == nm[1] else "gemm"
    for i, (q, keys) in enumerate(pairs):
        sfx = f"_{tag}{i}" if len(pairs) > 1 else ""
        rows.append(dict(gemm_layer(f"qk{sfx}", m=g * q, k=dh, n=keys, batch=batch, op=op,
                                    groups=model.kv_heads, nm=nm), repeat=model.layers, part="attention"))  # fmt: skip
        rows.append(dict(gemm_layer(f"pv{sfx}", m=g * q, k=keys, n=dh, batch=batch, op=op,
                                    groups=model.kv_heads, nm=nm), repeat=model.layers, part="attention"))  # fmt: skip
    return rows


def _head(model: LLMConfig, batch: int) -> list[dict]:
    return [dict(gemm_layer("lm_head", m=1, k=model.hidden, n=model.vocab, batch=batch), repeat=1, part="head")]


def _eltwise(model: LLMConfig, batch: int, tokens: int, scores: int) -> pd.DataFrame:
    """Element-wise rows: ``tokens`` per sequence, ``scores`` score entries per head and sequence."""
    q, d, f, L = batch * tokens, model.hidden, model.ffn, model.layers
    rows = [("embed", 1, q * d, q * d, q * d)]
    if model.learned_positions:
        rows.append(("positions", 1, q * d, 2 * q * d, q * d))
    norms = {1: ("attn_norm",), 2: ("attn_norm", "mlp_norm"),
             4: ("attn_norm", "post_attn_norm", "mlp_norm", "post_mlp_norm")}[model.norms]  # fmt: skip
    rows += [(norms[0], L, q * d, q * d, q * d)]
    if model.rotary:
        e = q * (model.heads + model.kv_heads) * model.head_dim
        rows.append(("rotary", L, e, e, e))
    s = batch * model.heads * scores
    rows += [(n, L, q * d, q * d, q * d) for n in norms[1:] if n == "post_attn_norm"]
    rows += [("softmax", L, s, s, s), ("attn_residual", L, q * d, 2 * q * d, q * d)]
    rows += [(n, L, q * d, q * d, q * d) for n in norms[1:] if n != "post_attn_norm"]
    act = ("act_mul", L, q * f, 2 * q * f, q * f) if model.gated_mlp else ("act", L, q * f, q * f, q * f)
    rows += [act, ("mlp_residual", L, q * d, 2 * q * d, q * d), ("final_norm", 1, batch * d, batch * d, batch * d)]
    return pd.DataFrame(rows, columns=list(ELTWISE_COLUMNS))


def _phase(kind: str, tokens: int, context: int, rows: list[dict], eltwise: pd.DataFrame) -> Phase:
    repeat = [r.pop("repeat") for r in rows]
    part = [r.pop("part") for r in rows]
    table = layer_table(rows, kind)
    table.insert(0, "part", part)
    table.insert(1, "repeat", repeat)
    return Phase(kind, tokens, context, table, eltwise)


def prefill(model: LLMConfig, batch: int, prompt: int, nm: tuple[int, int] = (1, 1), block: int = 128,
            attention_nm: tuple[int, int] = (1, 1)) -> Phase:  # fmt: skip
    """The prefill of ``batch`` prompts of ``prompt`` tokens (produces the first new token);
    ``attention_nm``: N:M on the attention products' K and V (default dense)."""
    check_run(model, batch, prompt, 1, block)
    pairs = causal_blocks(prompt, block)
    rows = (_linears(model, batch, prompt, nm) + _attention(model, batch, pairs, "b", attention_nm)
            + _head(model, batch))  # fmt: skip
    scores = sum(q * k for q, k in pairs)
    return _phase("prefill", prompt, prompt, rows, _eltwise(model, batch, prompt, scores))


def decode_step(model: LLMConfig, batch: int, context: int, nm: tuple[int, int] = (1, 1),
                attention_nm: tuple[int, int] = (1, 1)) -> Phase:  # fmt: skip
    """One decode step: one new token per sequence, attending to ``context`` tokens (itself
    included), so the KV cache holds ``context - 1`` tokens before the step and ``context`` after."""
    check_run(model, batch, context, 1)
    rows = (_linears(model, batch, 1, nm) + _attention(model, batch, [(1, context)], "", attention_nm)
            + _head(model, batch))  # fmt: skip
    return _phase("decode", 1, context, rows, _eltwise(model, batch, 1, context))


def training_step(model: LLMConfig, batch: int, seq: int, block: int = 128) -> pd.DataFrame:
    """The forward pass of a causal-LM training step at ``batch`` x ``seq`` tokens, every layer
    written out (``L{i}.q_proj``, ...), as a layer table: the SAT block lowers it to its FF, BP and
    WU GEMMs (:mod:`workloads.training`), so a training step of an LLM runs the path a CNN's does.

    Unlike serving, every position's logits are computed (the loss needs them all), and the
    causal attention is tiled as in :func:`prefill` (``block``); the backward pass of a tiled
    kernel computes the same tiles."""
    check_run(model, batch, seq, 1, block)
    if model.layers * (len(model.linears()) + 2 * len(causal_blocks(seq, block))) > 200_000:
        raise SparsimInputError("", "seq", seq, f"a training step of at most 200,000 GEMMs (block {block})")
    rows = []
    pairs = causal_blocks(seq, block)
    for i in range(model.layers):
        for r in _linears(model, batch, seq, (1, 1)) + _attention(model, batch, pairs, "b"):
            r.pop("repeat")
            r.pop("part")
            r["name"] = f"L{i}.{r['name']}"
            rows.append(r)
    rows.append(gemm_layer("lm_head", m=seq, k=model.hidden, n=model.vocab, batch=batch))
    return layer_table(rows, f"{model.name} training step")

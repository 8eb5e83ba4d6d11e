"""Sparsity patterns for mobile CNN kernels, and magnitude pruning to a target sparsity.

Why patterns: on a phone-class core, sparsity only pays when the kernel can skip work in units
that match its vector registers. A pattern fixes the *unit* that is kept or pruned as a whole;
pruning keeps the units of largest magnitude (L1 norm).

Weights use torch's layout, ``[Cout, Cin/groups, kh, kw]`` for convolutions and ``[Cout, Cin]``
for fully connected layers. Operators (``op``): ``"1x1"``, ``"3x3"`` (any k x k, groups = 1),
``"dw"`` (depthwise), ``"fc"``.

Patterns:

- ``unstructured``: the unit is one weight.
- ``block4`` (MNN's 1x4): 4 consecutive output channels at one input position (one ``(cin, kh,
  kw)``); for depthwise, 4 channels at one kernel position.
- ``block2`` (XNNPACK's 2-wide output-channel blocks; XNNPACK also has 4-wide, which is ``block4``).
- ``group`` (our SparseByteNN-style reading, papers.md): a group of G = 4 consecutive output
  channels (one 128-bit NEON register of fp32) shares one sparsity pattern, with a unit per
  operator: 1x1 conv and FC, one input channel (= block4); k x k conv, one input channel's whole
  k x k kernel (4 x k x k weights), so the kernel skips whole input channels; depthwise, one kernel
  position of the 4 channels. Rearrangement (:mod:`workloads.rearrange`) then chooses which
  channels share a group.

Channel counts not divisible by the group size are padded with zero-weight channels for scoring
(the stated padding rule); the padding never counts as kept magnitude.
"""

from __future__ import annotations

import numpy as np

from simulator.common.errors import SparsimInputError

__all__ = ["PATTERNS", "OPS", "unit_view", "prune_mask", "prune_network", "kept_magnitude"]

PATTERNS = ("dense", "unstructured", "block2", "block4", "group")
OPS = ("1x1", "3x3", "dw", "fc")


def _block(pattern: str) -> int:
    return {"block2": 2, "block4": 4, "group": 4}.get(pattern, 1)


PADDINGS = ("zero", "none")


def unit_view(
    w: np.ndarray, pattern: str, op: str, channel_padding: str = "zero"
) -> tuple[np.ndarray, tuple[int, ...]]:
    """Per-unit L1 scores, shaped ``[units...]``, and the shape used to expand a unit mask back.

    Returns ``(scores, groups_shape)`` where ``scores`` has one entry per unit. With
    ``channel_padding="none"`` a block/group size that does not divide Cout is an error instead
    of being padded with zero channels.
    """
    if channel_padding not in PADDINGS:
        raise SparsimInputError("prune", "channel_padding", channel_padding, f"allowed: {', '.join(PADDINGS)}")
    if pattern not in PATTERNS:
        raise SparsimInputError("prune", "pattern", pattern, f"allowed: {', '.join(PATTERNS)}")
    if op not in OPS:
        raise SparsimInputError("prune", "op", op, f"allowed: {', '.join(OPS)}")
    a = np.abs(np.asarray(w, dtype=np.float64))
    if op == "fc":
        a = a[:, :, None, None]
    if a.ndim != 4:
        raise SparsimInputError("prune", "weight.ndim", a.ndim, "4 for a conv, 2 for fc")
    if pattern in ("dense", "unstructured"):
        return a, a.shape
    b = _block(pattern)
    cout = a.shape[0]
    pad = (-cout) % b
    if pad and channel_padding == "none":
        raise SparsimInputError(
            "prune", "output channels", cout, f"a multiple of the {pattern} size {b} (or channel_padding='zero')"
        )
    if pad:
        a = np.concatenate([a, np.zeros((pad, *a.shape[1:]))], axis=0)
    g = a.reshape(-1, b, *a.shape[1:])  # [Cout/b, b, cin, kh, kw]
    if pattern == "group" and op == "3x3":
        scores = g.sum(axis=(1, 3, 4))  # [groups, cin]: one input channel's whole kernel
    else:
        scores = g.sum(axis=1)  # [groups, cin, kh, kw]
    return scores, a.shape


def _expand(unit_mask: np.ndarray, pattern: str, op: str, shape: tuple[int, ...], cout: int) -> np.ndarray:
    if pattern in ("dense", "unstructured"):
        m = unit_mask
    else:
        b = _block(pattern)
        if pattern == "group" and op == "3x3":
            m = np.broadcast_to(unit_mask[:, None, :, None, None], (shape[0] // b, b, *shape[1:]))
        else:
            m = np.broadcast_to(unit_mask[:, None], (shape[0] // b, b, *shape[1:]))
        m = m.reshape(shape)
    m = m[:cout]
    return m[:, :, 0, 0] if op == "fc" else m


def prune_mask(w: np.ndarray, pattern: str, op: str, sparsity: float, channel_padding: str = "zero") -> np.ndarray:
    """Boolean keep-mask: the largest-L1 units are kept until ``1 - sparsity`` of the units remain."""
    if not (isinstance(sparsity, float | int) and 0.0 <= sparsity < 1.0):
        raise SparsimInputError("prune", "sparsity", sparsity, "a number in [0, 1)")
    scores, shape = unit_view(w, pattern, op, channel_padding)
    cout = np.asarray(w).shape[0]
    if pattern == "dense" or sparsity == 0:
        return np.ones(np.asarray(w).shape, dtype=bool)
    flat = scores.ravel()
    keep = int(round(flat.size * (1.0 - sparsity)))
    order = np.argsort(-flat, kind="stable")
    unit = np.zeros(flat.size, dtype=bool)
    unit[order[:keep]] = True
    return _expand(unit.reshape(scores.shape), pattern, op, shape, cout)


def kept_magnitude(w: np.ndarray, mask: np.ndarray) -> float:
    """Fraction of the layer's L1 weight magnitude that the mask keeps."""
    a = np.abs(np.asarray(w, dtype=np.float64))
    total = a.sum()
    return float((a * mask).sum() / total) if total else 1.0


def prune_network(
    layers: dict[str, tuple[np.ndarray, str]],
    pattern: str,
    sparsity: float,
    scope: str = "layer",
    channel_padding: str = "zero",
) -> dict[str, np.ndarray]:
    """Masks for every layer. ``scope="layer"``: each layer at ``sparsity``. ``scope="network"``:
    one global threshold on unit scores divided by the unit's weight count (so big and small
    units compete fairly), which gives each layer its own sparsity and the network ``sparsity``
    of its units overall."""
    if scope == "layer":
        return {name: prune_mask(w, pattern, op, sparsity, channel_padding) for name, (w, op) in layers.items()}
    if scope != "network":
        raise SparsimInputError("prune", "scope", scope, "allowed: layer, network")
    if not 0.0 <= sparsity < 1.0:
        raise SparsimInputError("prune", "sparsity", sparsity, "a number in [0, 1)")
    views = {}
    allv = []
    for name, (w, op) in layers.items():
        scores, shape = unit_view(w, pattern, op, channel_padding)
        per = np.asarray(w).size / max(scores.size, 1)
        views[name] = (scores, shape, op, np.asarray(w).shape[0])
        allv.append((scores / per).ravel())
    cat = np.concatenate(allv)
    keep = int(round(cat.size * (1.0 - sparsity)))
    thresh = np.sort(cat)[::-1][keep - 1] if keep > 0 else np.inf
    out = {}
    for name, (scores, shape, op, cout) in views.items():
        per = np.asarray(layers[name][0]).size / max(scores.size, 1)
        out[name] = _expand(scores / per >= thresh, pattern, op, shape, cout)
    return out

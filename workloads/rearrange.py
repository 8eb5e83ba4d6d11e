"""Whole-network channel rearrangement for group sparsity (our SparseByteNN-style reading).

Why: a group pattern forces G = 4 consecutive output channels to share one sparsity pattern; if
channels with similar important inputs sit in the same group, more weight magnitude survives
pruning. Permuting a layer's output channels is free when every consumer's input channels (and
every per-channel layer in between: BatchNorm, depthwise convs, activations, pooling) are permuted
the same way; the network's function is unchanged.

How (ours):

1. Trace the model with ``torch.fx`` and split tensors into *channel spaces* (union-find): a
   conv (groups = 1) or linear layer opens a new space for its output; BatchNorm, activations,
   pooling, dropout and depthwise convs pass their input's space through; a residual ``add``
   merges the spaces of its operands (they must share one permutation); ``flatten`` after a
   1 x 1 spatial map passes channels into features. The network input, the network output, and
   any space touched by an operation we do not understand (``cat``, ``view``, grouped convs...)
   are frozen.
2. For each free space, describe every channel by the concatenated unit scores of all the
   layers that produce or per-channel-process it; greedily build groups of 4: the strongest
   unassigned channel seeds a group and takes the 3 most similar (cosine) unassigned channels.
3. Keep the permutation only if it does not lower the total kept magnitude of those layers at the
   target sparsity, so rearranging never loses magnitude.
"""

from __future__ import annotations

import copy
import operator
from dataclasses import dataclass

import numpy as np

from workloads.mobile_patterns import kept_magnitude, prune_mask, unit_view
from workloads.trace_torch import require_torch

__all__ = ["rearrange", "RearrangeResult", "layer_op"]

_PASS_MODULES = (
    "BatchNorm2d",
    "ReLU",
    "ReLU6",
    "Dropout",
    "MaxPool2d",
    "AvgPool2d",
    "AdaptiveAvgPool2d",
    "Identity",
    "Hardswish",
    "SiLU",
    "GELU",
    "Sigmoid",
)


def layer_op(mod) -> str | None:
    """The pattern operator of a conv/linear module, or None when it is not prunable here."""
    torch = require_torch()
    if isinstance(mod, torch.nn.Linear):
        return "fc"
    if isinstance(mod, torch.nn.Conv2d):
        if mod.groups == 1:
            return "1x1" if mod.kernel_size == (1, 1) else "3x3"
        if mod.groups == mod.in_channels == mod.out_channels:
            return "dw"
    return None


class _UF:
    def __init__(self):
        self.parent: dict[int, int] = {}
        self.frozen: set[int] = set()

    def new(self) -> int:
        k = len(self.parent)
        self.parent[k] = k
        return k

    def find(self, k: int) -> int:
        while self.parent[k] != k:
            self.parent[k] = self.parent[self.parent[k]]
            k = self.parent[k]
        return k

    def union(self, a: int, b: int) -> int:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[rb] = ra
            if rb in self.frozen:
                self.frozen.add(ra)
        return ra

    def freeze(self, k: int) -> None:
        self.frozen.add(self.find(k))


@dataclass
class RearrangeResult:
    """The rearranged model, one permutation per free channel space, and kept magnitude before
    and after (fraction of all pruned layers' L1 magnitude)."""

    model: object
    permutations: dict[int, np.ndarray]
    kept_before: float
    kept_after: float


def _spaces(model, example):
    torch = require_torch()
    from torch.fx import symbolic_trace
    from torch.fx.passes.shape_prop import ShapeProp

    gm = symbolic_trace(model)
    ShapeProp(gm).propagate(example)
    uf = _UF()
    space: dict[str, int] = {}
    roles: list[tuple[str, str, int]] = []  # (module name, role, space) role: out / in / through
    mods = dict(gm.named_modules())

    def opaque(node) -> None:
        """An operation we do not see through: freeze its inputs' spaces and give it a frozen one."""
        for a in node.all_input_nodes:
            if space.get(a.name) is not None:
                uf.freeze(space[a.name])
        s = uf.new()
        uf.freeze(s)
        space[node.name] = s

    for node in gm.graph.nodes:

        def src(i=0, node=node):
            a = node.args[i]
            return space.get(a.name) if hasattr(a, "name") else None

        if node.op == "placeholder":
            s = uf.new()
            uf.freeze(s)
            space[node.name] = s
        elif node.op == "call_module":
            mod = mods[node.target]
            kind = type(mod).__name__
            s_in = src()
            op = layer_op(mod)
            if op in ("1x1", "3x3", "fc"):
                if s_in is not None:
                    roles.append((node.target, "in", s_in))
                s = uf.new()
                roles.append((node.target, "out", s))
                space[node.name] = s
            elif op == "dw" or kind in _PASS_MODULES:
                space[node.name] = s_in
                if s_in is not None and (op == "dw" or kind == "BatchNorm2d"):
                    roles.append((node.target, "through", s_in))
            else:
                opaque(node)
        elif node.op in ("call_function", "call_method"):
            tgt = node.target
            if tgt in (operator.add, torch.add, "add", "add_", operator.iadd):
                ins = [space.get(a.name) for a in node.all_input_nodes]
                ins = [s for s in ins if s is not None]
                s = ins[0]
                for other in ins[1:]:
                    s = uf.union(s, other)
                space[node.name] = s
            elif tgt in (torch.flatten, "flatten"):
                s_in = src()
                shape = node.args[0].meta.get("tensor_meta").shape if hasattr(node.args[0], "meta") else None
                if shape is not None and len(shape) == 4 and shape[2] == 1 and shape[3] == 1:
                    space[node.name] = s_in
                else:
                    opaque(node)
            elif tgt in (torch.relu, torch.nn.functional.relu, "relu", "relu_"):
                space[node.name] = src()
            else:
                opaque(node)
        elif node.op == "output":
            for a in node.all_input_nodes:
                if a.name in space and space[a.name] is not None:
                    uf.freeze(space[a.name])
    return gm, uf, [(name, role, uf.find(s)) for name, role, s in roles]


def _weights(mod) -> np.ndarray:
    return mod.weight.detach().cpu().double().numpy()


def _total_kept(mods, names_ops, perm_by_space, pattern, sparsity):
    kept = total = 0.0
    for name, op, s in names_ops:
        w = _weights(mods[name])
        if s is not None and s in perm_by_space:
            w = w[perm_by_space[s]]
        m = prune_mask(w, pattern, op, sparsity)
        mag = np.abs(w).sum()
        kept += kept_magnitude(w, m) * mag
        total += mag
    return kept, total


def _group_channels(feat: np.ndarray, g: int = 4) -> np.ndarray:
    """Greedy groups of ``g``: strongest free channel, then its most cosine-similar free ones."""
    c = feat.shape[0]
    norm = np.linalg.norm(feat, axis=1) + 1e-30
    unit = feat / norm[:, None]
    free = np.ones(c, dtype=bool)
    order = []
    for seed in np.argsort(-norm, kind="stable"):
        if not free[seed]:
            continue
        free[seed] = False
        sims = unit @ unit[seed]
        sims[~free] = -np.inf
        take = [int(i) for i in np.argsort(-sims, kind="stable")[: g - 1] if free[i]]
        for i in take:
            free[i] = False
        order += [int(seed), *take]
    return np.array(order, dtype=np.int64)


def rearrange(model, example, pattern: str = "group", sparsity: float = 0.5) -> RearrangeResult:
    """Rearrange a copy of ``model`` (see the module docstring)."""
    torch = require_torch()
    model = copy.deepcopy(model).eval()
    gm, uf, roles = _spaces(model, example)
    mods = dict(model.named_modules())
    pruned = []  # (module, op, space of its output rows)
    for name, role, s in roles:
        op = layer_op(mods[name]) if name in mods else None
        if role == "out" and op is not None:
            pruned.append((name, op, s))
        elif role == "through" and op == "dw":
            pruned.append((name, op, s))
    before_k, before_t = _total_kept(mods, pruned, {}, pattern, sparsity)
    perms: dict[int, np.ndarray] = {}
    free_spaces = {s for _, _, s in roles if uf.find(s) not in uf.frozen}
    for s in sorted(free_spaces):
        feats = []
        for name, op, sp in pruned:
            if sp == s:
                scores, _ = unit_view(_weights(mods[name]), "unstructured", op)
                feats.append(scores.reshape(scores.shape[0], -1))
        if not feats:
            continue
        feat = np.concatenate(feats, axis=1)
        perm = _group_channels(feat)
        cand = {s: perm}
        k1, _ = _total_kept(mods, [p for p in pruned if p[2] == s], cand, pattern, sparsity)
        k0, _ = _total_kept(mods, [p for p in pruned if p[2] == s], {}, pattern, sparsity)
        if k1 >= k0:
            perms[s] = perm
    with torch.no_grad():
        for name, role, s in roles:
            if s not in perms or name not in mods:
                continue
            p = torch.as_tensor(perms[s])
            mod = mods[name]
            if role in ("out", "through"):
                if isinstance(mod, torch.nn.BatchNorm2d):
                    for attr in ("weight", "bias", "running_mean", "running_var"):
                        t = getattr(mod, attr)
                        if t is not None:
                            t.copy_(t[p])
                else:
                    mod.weight.copy_(mod.weight[p])
                    if mod.bias is not None:
                        mod.bias.copy_(mod.bias[p])
            elif role == "in":
                mod.weight.copy_(mod.weight[:, p])
    after_k, after_t = _total_kept(mods, pruned, {}, pattern, sparsity)
    return RearrangeResult(
        model=model, permutations=perms, kept_before=before_k / before_t, kept_after=after_k / after_t
    )

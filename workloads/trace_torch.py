"""Tracing torch modules into layer tables.

Why hooks plus a function mode: convolutions and linear layers are modules, so forward pre-hooks see
their real input shapes; attention's ``Q @ K^T`` and ``P @ V`` are plain tensor products with no
module, so a :class:`torch.overrides.TorchFunctionMode` catches ``matmul``/``bmm``/``@`` (and
``scaled_dot_product_attention``, lowered to its two products). Running the model on the ``meta``
device propagates shapes without computing anything, so tracing ResNet-50 at batch 32 is instant.

Everything that is not lowered is listed, by module name and type (``BatchNorm2d``, ``ReLU``,
``LayerNorm``...) or by function name (``softmax``, ``gelu``...), in :attr:`Trace.unsupported`:
never silently dropped.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import pandas as pd

from simulator.common.errors import SparsimInputError
from simulator.common.optional import require
from workloads.layers import conv_layer, gemm_layer, layer_table

__all__ = ["Trace", "trace_module", "require_torch"]


def require_torch():
    """Import torch or fail with one line naming the extra to install."""
    return require("torch", "torch")


@dataclass
class Trace:
    """A traced model: the layer table and what was not lowered (name, kind) in call order.

    ``unsupported_compute`` lists the subset that carries weights and real MACs (``Conv3d``,
    ``ConvTranspose2d``, an RNN...): leaving those out would understate the workload, so the CLI
    refuses such a model unless asked to go on (:meth:`check`).
    """

    layers: pd.DataFrame
    unsupported: list[tuple[str, str]] = field(default_factory=list)
    unsupported_compute: list[tuple[str, str]] = field(default_factory=list)

    def unsupported_summary(self) -> str:
        counts = Counter(kind for _, kind in self.unsupported)
        return ", ".join(f"{k} x{n}" for k, n in sorted(counts.items())) or "none"

    def check(self, source: str) -> None:
        """Raise on the first weight-bearing layer that was not lowered."""
        if self.unsupported_compute:
            name, kind = self.unsupported_compute[0]
            raise SparsimInputError(
                f"{source} layer {name}",
                "type",
                kind,
                "not supported (lowered: Conv1d/Conv2d, Linear, matmul/bmm/SDPA); "
                "--allow-unsupported lists it and goes on",
            )


_FUNC_NAMES_UNSUPPORTED = {
    "softmax",
    "log_softmax",
    "layer_norm",
    "batch_norm",
    "group_norm",
    "gelu",
    "relu",
    "relu6",
    "silu",
    "hardswish",
    "tanh",
    "sigmoid",
    "max_pool2d",
    "avg_pool2d",
    "adaptive_avg_pool2d",
    "adaptive_max_pool2d",
    "dropout",
    "embedding",
    "interpolate",
}


def _pair(v) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _conv_padding(mod, k: tuple[int, ...], d: tuple[int, ...], name: str) -> tuple[int, ...]:
    """Numeric padding per axis (``'same'`` resolved; it is symmetric only for odd dilated kernels)."""
    pad = mod.padding
    if isinstance(pad, str):
        if pad == "valid":
            return tuple(0 for _ in k)
        out = []
        for kk, dd in zip(k, d, strict=True):
            total = dd * (kk - 1)
            if total % 2:
                raise SparsimInputError(name, "padding", pad, "'same' with an even dilated kernel is asymmetric")
            out.append(total // 2)
        return tuple(out)
    return tuple(int(v) for v in pad)


def trace_module(model, example_inputs, *, compat: str = "native", on_meta: bool = True) -> Trace:
    """Trace ``model(*example_inputs)`` into a layer table.

    ``example_inputs`` is a tensor or a tuple of tensors (batch size is their leading dimension).
    With ``on_meta`` the model and inputs are moved to the ``meta`` device first (shapes only).
    """
    torch = require_torch()
    from torch import nn
    from torch.nn import functional as F  # noqa: N812
    from torch.overrides import TorchFunctionMode

    if not isinstance(example_inputs, tuple):
        example_inputs = (example_inputs,)
    if on_meta:
        model = model.to("meta")
        example_inputs = tuple(x.to("meta") if isinstance(x, torch.Tensor) else x for x in example_inputs)

    rows: list[dict] = []
    unsupported: list[tuple[str, str]] = []
    compute: list[tuple[str, str]] = []
    depth = [0]  # > 0 while inside a lowered module (its own F.conv/F.linear are not re-counted)
    leaf = [0]  # > 0 while inside an unsupported leaf module (already listed by its type)
    supported = (nn.Conv1d, nn.Conv2d, nn.Linear)

    def pre_hook(name):
        def hook(mod, args):
            depth[0] += 1
            x = args[0]
            if isinstance(mod, nn.Linear):
                lead = math.prod(x.shape[:-1])
                b = int(x.shape[0]) if x.dim() > 1 else 1
                rows.append(
                    gemm_layer(name, m=lead // b, k=mod.in_features, n=mod.out_features, batch=b, compat=compat)
                )
                return
            if isinstance(mod, nn.Conv1d):
                b, c, w = (int(v) for v in x.shape)
                h, k, s, d = 1, (1, mod.kernel_size[0]), (1, mod.stride[0]), (1, mod.dilation[0])
                p = (0, _conv_padding(mod, mod.kernel_size, mod.dilation, name)[0])
            else:
                b, c, h, w = (int(v) for v in x.shape)
                k, s, d = _pair(mod.kernel_size), _pair(mod.stride), _pair(mod.dilation)
                p = _conv_padding(mod, k, d, name)
            if mod.padding_mode != "zeros":
                unsupported.append((name, f"padding_mode={mod.padding_mode}"))
            rows.append(
                conv_layer(
                    name,
                    in_h=h,
                    in_w=w,
                    in_c=c,
                    out_c=mod.out_channels,
                    k_h=k[0],
                    k_w=k[1],
                    stride=s,
                    padding=p,
                    dilation=d,
                    groups=mod.groups,
                    batch=b,
                    compat=compat,
                )
            )

        return hook

    def post_hook(mod, args, out):
        depth[0] -= 1

    handles = []
    for name, mod in model.named_modules():
        if isinstance(mod, supported):
            handles.append(mod.register_forward_pre_hook(pre_hook(name)))
            handles.append(mod.register_forward_hook(post_hook))
        elif not list(mod.children()) and name:

            def enter(m_, a_, n_=name):
                if depth[0] == 0:
                    unsupported.append((n_, type(m_).__name__))
                    heavy = any(p.dim() >= 2 for p in m_.parameters(recurse=False))
                    if heavy and not isinstance(m_, nn.Embedding):
                        compute.append((n_, type(m_).__name__))
                leaf[0] += 1

            def leave(m_, a_, o_):
                leaf[0] -= 1

            handles.append(mod.register_forward_pre_hook(enter))
            handles.append(mod.register_forward_hook(leave))

    counter = Counter()

    def add_matmul(a_shape, b_shape, tag):
        counter[tag] += 1
        name = f"{tag}_{counter[tag]}"
        if len(b_shape) == 1 or len(a_shape) == 1:
            unsupported.append((name, "matmul with a vector"))
            return
        m, k = int(a_shape[-2]), int(a_shape[-1])
        n = int(b_shape[-1])
        lead = torch.broadcast_shapes(tuple(a_shape[:-2]), tuple(b_shape[:-2]))
        b = int(lead[0]) if len(lead) >= 1 else 1
        groups = math.prod(int(v) for v in lead[1:]) if len(lead) >= 2 else 1
        rows.append(gemm_layer(name, m=m, k=k, n=n, batch=b, groups=groups, op="matmul", compat=compat))

    class Mode(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            if depth[0] == 0:
                if func in (torch.matmul, torch.Tensor.matmul, torch.Tensor.__matmul__, torch.bmm, torch.Tensor.bmm):
                    add_matmul(args[0].shape, args[1].shape, "matmul")
                elif func is F.scaled_dot_product_attention:
                    q, k, v = args[0], args[1], args[2]
                    add_matmul(q.shape, tuple(k.shape[:-2]) + (k.shape[-1], k.shape[-2]), "sdpa_qk")
                    add_matmul(tuple(q.shape[:-1]) + (k.shape[-2],), v.shape, "sdpa_pv")
                    unsupported.append((f"sdpa_{counter['sdpa_qk']}", "softmax"))
                elif func in (F.linear, F.conv1d, F.conv2d):
                    unsupported.append((getattr(func, "__name__", str(func)), "functional call outside a module"))
                else:
                    fname = getattr(func, "__name__", "")
                    if fname in _FUNC_NAMES_UNSUPPORTED and leaf[0] == 0:
                        unsupported.append((fname, fname))
            return func(*args, **kwargs)

    try:
        with torch.no_grad(), Mode():
            model(*example_inputs)
    finally:
        for h in handles:
            h.remove()
    if not rows:
        raise SparsimInputError("trace", "model", type(model).__name__, "no conv, linear or matmul layer found")
    return Trace(
        layers=layer_table(rows, source=type(model).__name__), unsupported=unsupported, unsupported_compute=compute
    )

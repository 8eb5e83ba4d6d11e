"""Tracing ONNX files into layer tables, lowered from inferred shapes.

Why shapes and not initializers: a GEMM's dimensions depend on shapes, and real exports produce
their weights in many ways (see :mod:`workloads.onnx_model`, the one loader). Lowered:

- ``Conv`` (1-D as 2-D of height 1), ``QLinearConv``, ``ConvInteger``: a conv layer, whatever
  produces the weight;
- ``ConvTranspose``: the GEMM of its backward-data form, per group ``[N*H*W, Cin/g] x
  [Cin/g, Cout/g*kh*kw]`` (each input pixel scatters a kernel's worth of outputs, col2im);
- ``Gemm``, ``MatMul``, ``QLinearMatMul``, ``MatMulInteger``: a weight layer (``gemm``) when the
  right operand is a constant (initializer, ``Constant``, a chain of value ops over one), otherwise
  a product of two activations (``matmul``: leading dimensions are batch, then groups such as
  heads);
- ``Einsum`` with two operands and a matmul-like equation (every index in one operand only, in
  both and the output: batch, or in both and not the output: reduced).

Every other node is listed by name and op type in :attr:`workloads.trace_torch.Trace.unsupported`,
never dropped silently; nodes with subgraphs (``If``, ``Loop``, ``Scan``) are listed as not lowered.
"""

from __future__ import annotations

import math
from pathlib import Path

from simulator.common.errors import SparsimInputError
from simulator.common.optional import require
from workloads.layers import conv_layer, gemm_layer, layer_table
from workloads.trace_torch import Trace

__all__ = ["trace_onnx", "require_onnx", "einsum_dims"]


def require_onnx():
    """Import onnx or fail with one line naming the extra to install."""
    return require("onnx", "onnx")


def _attrs(node) -> dict:
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


#: op -> (data input, weight input) positions
_CONV_INPUTS = {"Conv": (0, 1), "ConvInteger": (0, 1), "QLinearConv": (0, 3)}
_MATMUL_INPUTS = {"MatMul": (0, 1), "MatMulInteger": (0, 1), "QLinearMatMul": (0, 3)}
_HEAVY = {"LSTM", "GRU", "RNN", "Conv3d", "Einsum"}


def einsum_dims(equation: str, a_shape: tuple, b_shape: tuple) -> tuple[int, int, int, int] | None:
    """``(batch, m, k, n)`` of a matmul-like two-operand einsum, or None."""
    eq = equation.replace(" ", "")
    if "->" not in eq or "..." in eq:
        return None
    lhs, out = eq.split("->")
    ops = lhs.split(",")
    if len(ops) != 2:
        return None
    a, b = ops
    if len(a) != len(a_shape) or len(b) != len(b_shape) or len(set(a)) != len(a) or len(set(b)) != len(b):
        return None
    size = {}
    for idx, s in list(zip(a, a_shape, strict=True)) + list(zip(b, b_shape, strict=True)):
        if size.setdefault(idx, s) != s:
            return None
    batch = [i for i in a if i in b and i in out]
    red = [i for i in a if i in b and i not in out]
    m = [i for i in a if i not in b]
    n = [i for i in b if i not in a]
    if any(i not in out for i in m + n) or set(out) != set(batch + m + n):
        return None
    prod = lambda ix: math.prod(size[i] for i in ix)  # noqa: E731
    return prod(batch), prod(m), prod(red), prod(n)


def trace_onnx(
    path: str | Path,
    batch: int | None = None,
    *,
    seq_len: int | None = None,
    dims: dict[str, int] | None = None,
    input_shapes: dict[str, tuple[int, ...]] | None = None,
) -> Trace:
    """Trace an ONNX file. Symbolic dimensions are bound as :func:`workloads.onnx_model.load_onnx`
    says; ``batch`` also overrides every layer's batch (the file's own is kept otherwise)."""
    import onnx

    from workloads.onnx_model import load_onnx

    om = load_onnx(path, batch=batch, seq_len=seq_len, dims=dims, input_shapes=input_shapes)
    p = om.path
    rows, unsupported, compute = [], [], []
    for i, node in enumerate(om.graph.node):
        name = node.name or f"{node.op_type}_{i}"
        op = node.op_type
        where = f"node {name}"
        if any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS) for a in node.attribute):
            unsupported.append((name, f"{op} subgraph (not lowered)"))
            compute.append((name, f"{op} subgraph"))
            continue
        if op in _CONV_INPUTS:
            xi, wi = _CONV_INPUTS[op]
            a = _attrs(node)
            x = om.shape(node.input[xi], where)
            w = om.shape(node.input[wi], where)
            if len(x) == 3:  # Conv1d: a 2-D conv of height 1
                x, w = (x[0], x[1], 1, x[2]), (w[0], w[1], 1, w[2])
                a = dict(a)
                for key, one in (("strides", 1), ("dilations", 1)):
                    if key in a:
                        a[key] = [one, a[key][0]]
                if "pads" in a:
                    a["pads"] = [0, a["pads"][0], 0, a["pads"][1]]
            if len(x) != 4:
                unsupported.append((name, f"Conv{len(x) - 2}d"))
                compute.append((name, f"Conv{len(x) - 2}d"))
                continue
            y = om.shapes.get(node.output[0])
            pads = _pads(a, x, w, y)
            if pads is None:
                unsupported.append((name, "Conv with asymmetric padding"))
                compute.append((name, "Conv with asymmetric padding"))
                continue
            groups = int(a.get("group", 1))
            if w[1] * groups != x[1]:  # a weight for another input (shape inference does not check this)
                raise SparsimInputError(f"{p} node {name}", "weight in_c", f"{w[1]} x group {groups}",
                                        f"the input's {x[1]} channels (weight {list(w)}, input {list(x)})")  # fmt: skip
            rows.append(conv_layer(name, in_h=x[2], in_w=x[3], in_c=x[1], out_c=w[0], k_h=w[2], k_w=w[3],
                                   stride=tuple(a.get("strides", [1, 1])), padding=pads,
                                   dilation=tuple(a.get("dilations", [1, 1])), groups=int(a.get("group", 1)),
                                   batch=x[0]))  # fmt: skip
        elif op == "ConvTranspose":
            a = _attrs(node)
            x, w = om.shape(node.input[0], where), om.shape(node.input[1], where)
            g = int(a.get("group", 1))
            if len(x) < 3:
                unsupported.append((name, "ConvTranspose of rank < 3"))
                continue
            pix = math.prod(x[2:])
            rows.append(gemm_layer(name, m=pix, k=x[1] // g, n=w[1] * math.prod(w[2:]), batch=x[0], groups=g))
        elif op == "Gemm":
            a = _attrs(node)
            xa, wb = om.shape(node.input[0], where), om.shape(node.input[1], where)
            m, k = (xa[1], xa[0]) if a.get("transA", 0) else (xa[0], xa[1])
            n = wb[0] if a.get("transB", 0) else wb[1]
            if om.is_constant(node.input[1]):
                rows.append(gemm_layer(name, m=1, k=k, n=n, batch=m))
            else:
                rows.append(gemm_layer(name, m=m, k=k, n=n, op="matmul"))
        elif op in _MATMUL_INPUTS:
            ai, bi = _MATMUL_INPUTS[op]
            xa, wb = om.shape(node.input[ai], where), om.shape(node.input[bi], where)
            if len(xa) < 2 or len(wb) < 2:
                unsupported.append((name, "MatMul with a vector"))
                continue
            rows.append(_matmul_row(name, xa, wb, om.is_constant(node.input[bi])))
        elif op == "Einsum":
            eq = _attrs(node).get("equation", b"")
            eq = eq.decode() if isinstance(eq, bytes) else str(eq)
            if len(node.input) != 2:
                unsupported.append((name, f"Einsum {eq!r} (not two operands)"))
                compute.append((name, "Einsum"))
                continue
            xa, wb = om.shape(node.input[0], where), om.shape(node.input[1], where)
            d = einsum_dims(eq, xa, wb)
            if d is None:
                unsupported.append((name, f"Einsum {eq!r} (not matmul-like)"))
                compute.append((name, "Einsum"))
                continue
            b, m, k, n = d
            if om.is_constant(node.input[1]) and b == 1:
                rows.append(gemm_layer(name, m=m, k=k, n=n))
            else:
                rows.append(gemm_layer(name, m=m, k=k, n=n, batch=b, op="matmul"))
        else:
            unsupported.append((name, op))
            if op in _HEAVY:
                compute.append((name, op))
    if not rows:
        raise SparsimInputError(str(p), "graph", p.name, "no Conv, ConvTranspose, Gemm, MatMul or Einsum node found")
    layers = layer_table(rows, source=str(p))
    if batch is not None:
        layers = layers.assign(batch=batch)
    return Trace(layers=layers, unsupported=unsupported, unsupported_compute=compute)


def _matmul_row(name: str, xa: tuple, wb: tuple, weight: bool) -> dict:
    k, n = xa[-1], wb[-1]
    if weight and len(wb) == 2:
        b = xa[0] if len(xa) > 2 else 1
        return gemm_layer(name, m=math.prod(xa[:-1]) // b, k=k, n=n, batch=b)
    lead = xa[:-2] if len(xa) >= len(wb) else wb[:-2]
    b = lead[0] if lead else 1
    groups = math.prod(lead[1:]) if len(lead) > 1 else 1
    return gemm_layer(name, m=xa[-2], k=k, n=n, batch=b, groups=groups, op="matmul")


def _pads(a: dict, x: tuple, w: tuple, y: tuple | None) -> tuple[int, int] | None:
    """Symmetric (pad_h, pad_w) of a conv, resolving ``auto_pad`` from the inferred output shape;
    None when the padding is asymmetric in a way that changes the output size."""
    auto = a.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else str(auto)
    if auto in ("NOTSET", ""):
        pads = list(a.get("pads", [0, 0, 0, 0]))
        if pads[0] == pads[2] and pads[1] == pads[3]:
            return pads[0], pads[1]
        return None
    if auto == "VALID":
        return 0, 0
    if y is None or len(y) != 4 or any(v in (None, 0) for v in y):
        return None
    out = []
    strides = a.get("strides", [1, 1])
    dil = a.get("dilations", [1, 1])
    for d in range(2):
        total = max(0, (y[2 + d] - 1) * strides[d] + (w[2 + d] - 1) * dil[d] + 1 - x[2 + d])
        if total % 2:
            return None
        out.append(total // 2)
    return out[0], out[1]

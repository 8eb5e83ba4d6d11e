"""Tracing ONNX files into layer tables (``Conv``, ``Gemm``, ``MatMul``; shapes inferred).

Why ONNX as well as torch: models arrive from other frameworks, and ONNX files carry real weights
(e.g. the PP-OCR models shipped in ``rapidocr-onnxruntime``). Shapes come from
``onnx.shape_inference``. A ``MatMul`` or ``Gemm`` whose right operand is an initializer is a
weight layer (``gemm``); one between two activations is a ``matmul`` (its leading dimensions:
batch, then groups such as heads). Every other node is listed by name and op type in
:attr:`workloads.trace_torch.Trace.unsupported`, never dropped silently.
"""

from __future__ import annotations

import math
from pathlib import Path

from simulator.common.errors import SparsimInputError
from simulator.common.optional import require
from workloads.layers import conv_layer, gemm_layer, layer_table
from workloads.trace_torch import Trace

__all__ = ["trace_onnx", "require_onnx"]


def require_onnx():
    """Import onnx or fail with one line naming the extra to install."""
    return require("onnx", "onnx")


def _attrs(node) -> dict:
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def trace_onnx(path: str | Path, batch: int | None = None) -> Trace:
    """Trace an ONNX file. ``batch`` overrides every layer's batch (the file's own is kept otherwise)."""
    onnx = require_onnx()
    p = Path(path)
    try:
        model = onnx.load(str(p))
    except FileNotFoundError:
        raise SparsimInputError(str(p), "file", str(p), "no such ONNX file") from None
    except Exception as err:  # protobuf DecodeError and friends
        raise SparsimInputError(str(p), "file", p.name, f"not a readable ONNX model ({type(err).__name__})") from None
    try:
        model = onnx.shape_inference.infer_shapes(model)
    except Exception as err:
        raise SparsimInputError(
            str(p), "shapes", p.name, f"ONNX shape inference failed ({type(err).__name__})"
        ) from None
    g = model.graph
    inits = {t.name: tuple(t.dims) for t in g.initializer}
    shapes: dict[str, tuple] = {}
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        dims = vi.type.tensor_type.shape.dim
        shapes[vi.name] = tuple(d.dim_value if d.HasField("dim_value") else None for d in dims)
    shapes.update(inits)

    def shape(name: str, node) -> tuple[int, ...]:
        s = shapes.get(name)
        if s is None or any(v in (None, 0) for v in s):
            raise SparsimInputError(str(p), f"node {node.name or node.op_type}", name, "needs a fully known shape")
        return s

    rows, unsupported, compute = [], [], []
    heavy_ops = {
        "ConvTranspose",
        "ConvInteger",
        "QLinearConv",
        "LSTM",
        "GRU",
        "RNN",
        "Einsum",
        "QLinearMatMul",
        "MatMulInteger",
    }
    for i, node in enumerate(g.node):
        name = node.name or f"{node.op_type}_{i}"
        op = node.op_type
        if op == "Conv":
            if node.input[1] not in inits:
                unsupported.append((name, "Conv with a non-constant weight"))
                continue
            a = _attrs(node)
            x = shape(node.input[0], node)
            w = inits[node.input[1]]
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
            if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
                unsupported.append((name, "Conv auto_pad"))
                continue
            pads = list(a.get("pads", [0, 0, 0, 0]))
            if pads[0] != pads[2] or pads[1] != pads[3]:
                unsupported.append((name, "Conv with asymmetric padding"))
                continue
            rows.append(
                conv_layer(
                    name,
                    in_h=x[2],
                    in_w=x[3],
                    in_c=x[1],
                    out_c=w[0],
                    k_h=w[2],
                    k_w=w[3],
                    stride=tuple(a.get("strides", [1, 1])),
                    padding=(pads[0], pads[1]),
                    dilation=tuple(a.get("dilations", [1, 1])),
                    groups=int(a.get("group", 1)),
                    batch=x[0],
                )
            )
        elif op == "Gemm":
            a = _attrs(node)
            xa, wb = shape(node.input[0], node), shape(node.input[1], node)
            m, k = (xa[1], xa[0]) if a.get("transA", 0) else (xa[0], xa[1])
            n = wb[0] if a.get("transB", 0) else wb[1]
            if node.input[1] in inits:
                rows.append(gemm_layer(name, m=1, k=k, n=n, batch=m))
            else:
                rows.append(gemm_layer(name, m=m, k=k, n=n, op="matmul"))
        elif op == "MatMul":
            xa, wb = shape(node.input[0], node), shape(node.input[1], node)
            if len(xa) < 2 or len(wb) < 2:
                unsupported.append((name, "MatMul with a vector"))
                continue
            k, n = xa[-1], wb[-1]
            if node.input[1] in inits and len(wb) == 2:
                b = xa[0] if len(xa) > 2 else 1
                rows.append(gemm_layer(name, m=math.prod(xa[:-1]) // b, k=k, n=n, batch=b))
            else:
                lead = xa[:-2] if len(xa) >= len(wb) else wb[:-2]
                b = lead[0] if lead else 1
                groups = math.prod(lead[1:]) if len(lead) > 1 else 1
                rows.append(gemm_layer(name, m=xa[-2], k=k, n=n, batch=b, groups=groups, op="matmul"))
        else:
            unsupported.append((name, op))
            if op in heavy_ops:
                compute.append((name, op))
    if not rows:
        raise SparsimInputError(str(p), "graph", p.name, "no Conv, Gemm or MatMul node found")
    layers = layer_table(rows, source=str(p))
    if batch is not None:
        layers = layers.assign(batch=batch)
    return Trace(layers=layers, unsupported=unsupported, unsupported_compute=compute)

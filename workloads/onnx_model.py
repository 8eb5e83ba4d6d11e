"""One ONNX model loader for ``sparsim trace``, ``sparsim mobile`` and sweeps: read the file
(external data beside it), bind symbolic input dimensions, infer every shape, and know which
tensors are constants and what their values are.

Why one loader: a GEMM's dimensions depend on shapes, not on where its weight comes from. Real
exports produce weights in many ways (initializers; ``Constant`` nodes, as paddle2onnx writes
the PP-OCR models; ``Identity``/``Cast``/``Reshape``/``Transpose`` chains; ``DequantizeLinear``
of quantized weights; graph inputs), so lowering reads shapes from shape inference and asks
:meth:`OnnxModel.is_constant` / :meth:`OnnxModel.value` only where it matters (is this MatMul a
weight layer; N:M statistics need the values).

Binding symbolic dimensions (``dim_param`` names, ``?`` or ``-1``), in this order: an explicit
input shape (``input_shapes``); ``dims[NAME]``; the first dimension of an input with ``batch``;
a dimension whose name contains ``seq`` with ``seq_len``. One left unbound is one error line
naming the input, the dimension and how to bind it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simulator.common.errors import SparsimInputError

__all__ = ["OnnxModel", "load_onnx", "read_onnx", "MAX_ONNX_BYTES", "VALUE_OPS"]

MAX_ONNX_BYTES = 4 << 30
#: ops whose output is a constant when their data input is (values follow through them)
VALUE_OPS = ("Identity", "Cast", "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Flatten", "DequantizeLinear")


@dataclass
class OnnxModel:
    """A loaded, shape-inferred model (see the module docstring)."""

    path: Path
    model: Any
    shapes: dict[str, tuple[int, ...]]
    const_names: set[str]
    _values: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _producer: dict[str, Any] = field(default_factory=dict, repr=False)
    bound: dict[str, int] = field(default_factory=dict)

    @property
    def graph(self):
        return self.model.graph

    def is_constant(self, name: str) -> bool:
        """Whether ``name`` is a compile-time constant (initializer, Constant, ConstantOfShape or a
        value op of one)."""
        return name in self.const_names

    def value(self, name: str) -> np.ndarray | None:
        """The constant's values, or None when it is not a constant (or not evaluable here)."""
        if name in self._values:
            return self._values[name]
        node = self._producer.get(name)
        if node is None or name not in self.const_names:
            return None
        from onnx import helper, numpy_helper

        try:
            if node.op_type == "Constant":
                a = {x.name: helper.get_attribute_value(x) for x in node.attribute}
                v = numpy_helper.to_array(a["value"]) if "value" in a else None
            elif node.op_type == "ConstantOfShape":
                shape = self.value(node.input[0])
                a = {x.name: helper.get_attribute_value(x) for x in node.attribute}
                fill = numpy_helper.to_array(a["value"]).ravel()[0] if "value" in a else 0.0
                v = None if shape is None else np.full(tuple(int(s) for s in shape), fill)
            else:
                v = _apply(node, [self.value(i) if i else None for i in node.input])
        except Exception:  # an op variant we do not evaluate: shapes still work
            v = None
        if v is not None:
            self._values[name] = v
        return v

    def shape(self, name: str, where: str) -> tuple[int, ...]:
        s = self.shapes.get(name)
        if s is None or any(v is None or v <= 0 for v in s):
            raise SparsimInputError(str(self.path), where, name, "needs a fully known shape (bind the model's "
                                    "symbolic dimensions with --dim NAME=VALUE or --input-shape)")  # fmt: skip
        return s


def _apply(node, ins: list[np.ndarray | None]) -> np.ndarray | None:
    from onnx import helper

    a = {x.name: helper.get_attribute_value(x) for x in node.attribute}
    x = ins[0] if ins else None
    if x is None:
        return None
    op = node.op_type
    if op == "Identity":
        return x
    if op == "Cast":
        from onnx import helper as h

        return x.astype(h.tensor_dtype_to_np_dtype(a["to"]))
    if op == "Reshape":
        shape = [int(s) for s in ins[1]]
        shape = [x.shape[i] if s == 0 and not a.get("allowzero", 0) else s for i, s in enumerate(shape)]
        return x.reshape(shape)
    if op == "Transpose":
        return np.transpose(x, a.get("perm"))
    if op in ("Squeeze", "Unsqueeze"):
        axes = a.get("axes") if "axes" in a else (None if len(ins) < 2 or ins[1] is None else list(ins[1]))
        if op == "Squeeze":
            return np.squeeze(x, axis=None if axes is None else tuple(int(v) for v in axes))
        out = x
        for ax in sorted(int(v) % (x.ndim + len(axes)) for v in axes):
            out = np.expand_dims(out, ax)
        return out
    if op == "Flatten":
        axis = a.get("axis", 1) % max(x.ndim, 1)
        return x.reshape(int(np.prod(x.shape[:axis])), -1)
    if op == "DequantizeLinear":
        scale = ins[1]
        zp = ins[2] if len(ins) > 2 and ins[2] is not None else 0
        axis = a.get("axis", 1)
        if np.ndim(scale) == 1 and x.ndim > 1:
            bshape = [1] * x.ndim
            bshape[axis] = -1
            scale = np.reshape(scale, bshape)
            zp = np.reshape(zp, bshape) if np.ndim(zp) == 1 else zp
        return (x.astype(np.float32) - np.asarray(zp, dtype=np.float32)) * scale
    return None


def read_onnx(path: str | Path):
    """The ModelProto of an ONNX file (external data not yet read), or one error line."""
    from workloads.trace_onnx import require_onnx

    onnx = require_onnx()
    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError:
        raise SparsimInputError(str(p), "file", str(p), "no such ONNX file") from None
    if not p.is_file():
        raise SparsimInputError(str(p), "file", str(p), "an ONNX file (it is not a regular file)")
    if size > MAX_ONNX_BYTES:
        raise SparsimInputError(str(p), "file", f"{size:,} bytes", f"at most {MAX_ONNX_BYTES:,} bytes")
    try:
        return onnx.load(str(p), load_external_data=False)
    except Exception as err:  # protobuf DecodeError and friends
        raise SparsimInputError(str(p), "file", p.name, f"not a readable ONNX model ({type(err).__name__})") from None


def _check_opsets(model, p: Path, onnx) -> None:
    """The default domain's opset must be one this onnx knows: an unknown (future or made-up)
    opset's operators have no schema, so their shapes and meaning would be guesses."""
    known = onnx.defs.onnx_opset_version()
    for op in model.opset_import:
        if op.domain in ("", "ai.onnx") and not 1 <= op.version <= known:
            raise SparsimInputError(
                str(p), "opset", op.version, f"an ONNX opset from 1 to {known} (onnx {onnx.__version__})"
            )


def load_onnx(
    path: str | Path,
    *,
    batch: int | None = None,
    seq_len: int | None = None,
    dims: dict[str, int] | None = None,
    input_shapes: dict[str, tuple[int, ...]] | None = None,
    model=None,
) -> OnnxModel:
    """Load ``path`` and bind its symbolic input dimensions (see the module docstring);
    ``model``: the file's ModelProto when the caller has already read it (it is modified).

    The steps: bind every input dimension (:func:`_bind_inputs`), infer shapes
    (:func:`_infer_shapes`), find the constant tensors and their producers
    (:func:`_constants`), and fill the shapes inference left open (:func:`_complete_shapes`).
    """
    from workloads.trace_onnx import require_onnx

    onnx = require_onnx()
    p = Path(path)
    if model is None:
        model = read_onnx(p)
    _check_opsets(model, p, onnx)
    init_names = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in init_names]
    bound = _bind_inputs(p, inputs, batch, seq_len, dict(dims or {}), dict(input_shapes or {}))
    model = _infer_shapes(onnx, model, p)
    g = model.graph
    shapes: dict[str, tuple] = {}
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        tdims = vi.type.tensor_type.shape.dim
        shapes[vi.name] = tuple(d.dim_value if d.HasField("dim_value") else None for d in tdims)
    for t in g.initializer:
        shapes[t.name] = tuple(t.dims)
    consts, producer, values = _constants(onnx, g, init_names)
    om = OnnxModel(path=p, model=model, shapes=shapes, const_names=consts, _values=values, _producer=producer,
                   bound=bound)  # fmt: skip
    _complete_shapes(om, model, shapes, consts, {i.name for i in inputs})
    return om


def _bind_inputs(p: Path, inputs, batch, seq_len, dims: dict[str, int], input_shapes: dict) -> dict[str, int]:
    """Give every symbolic input dimension a size, in place (``--input-shape`` first, then a
    named ``--dim``, ``--batch`` for the first, ``--seq-len`` for a ``*seq*`` name); one line for
    a dimension left unbound and for an option that binds nothing. Returns name -> size."""
    if len(inputs) == 1 and "" in input_shapes:
        input_shapes[inputs[0].name] = input_shapes.pop("")
    for name in input_shapes:
        if name not in {i.name for i in inputs}:
            raise SparsimInputError("--input-shape", "input", name, f"one of the model's inputs: "
                                    f"{', '.join(i.name for i in inputs)}")  # fmt: skip
    used_dims, used_seq, bound = set(), False, {}
    for inp in inputs:
        tdims = inp.type.tensor_type.shape.dim
        given = input_shapes.get(inp.name)
        if given is not None and len(given) != len(tdims):
            if len(given) == len(tdims) - 1:  # C,H,W for an N,C,H,W input: batch first
                given = (batch or 1, *given)
            else:
                raise SparsimInputError("--input-shape", inp.name, ",".join(map(str, given)),
                                        f"{len(tdims)} dimensions")  # fmt: skip
        for j, d in enumerate(tdims):
            label = d.dim_param if d.HasField("dim_param") else ""
            if given is not None:
                value = int(given[j])
            elif d.HasField("dim_value") and d.dim_value > 0:
                continue
            elif label and label in dims:
                value = dims[label]
                used_dims.add(label)
            elif j == 0 and batch is not None:
                value = batch
            elif label and "seq" in label.lower() and seq_len is not None:
                value, used_seq = seq_len, True
            else:
                shown = label or ("?" if not d.HasField("dim_value") else str(d.dim_value))
                raise SparsimInputError(
                    str(p), f"input {inp.name} dimension {j}", shown,
                    "a bound size: --dim NAME=VALUE for a named one, --input-shape for any, "
                    "--batch for the first, --seq-len for a sequence",
                )  # fmt: skip
            if label:
                bound[label] = value
            d.Clear()
            d.dim_value = int(value)
    unused = set(dims) - used_dims - set(bound)
    if unused:
        raise SparsimInputError("--dim", "name", sorted(unused)[0], "a symbolic dimension of the model's inputs")
    if seq_len is not None and not used_seq:
        raise SparsimInputError("--seq-len", "seq_len", seq_len, "a model with a symbolic sequence dimension")
    return bound


def _infer_shapes(onnx, model, p: Path):
    """ONNX shape inference with data propagation (external data read first, when there is any)."""
    try:
        onnx.load_external_data_for_model(model, str(p.parent))
    except Exception:
        pass  # no external data, or unreadable: shapes do not need it
    try:
        return onnx.shape_inference.infer_shapes(model, data_prop=True)
    except Exception as err:
        why = f"ONNX shape inference failed ({type(err).__name__})"
        raise SparsimInputError(str(p), "shapes", p.name, why) from None


def _constants(onnx, g, init_names: set[str]) -> tuple[set[str], dict, dict]:
    """(constant tensor names, tensor -> producing node, initializer values read so far): weights
    are initializers, ``Constant``/``ConstantOfShape`` outputs and value ops applied to them."""
    from onnx import numpy_helper

    consts = set(init_names)
    producer, values = {}, {}
    for t in g.initializer:
        if t.data_location != onnx.TensorProto.EXTERNAL or t.raw_data:
            try:
                values[t.name] = numpy_helper.to_array(t)
            except Exception:
                pass
    for n in g.node:
        for o in n.output:
            producer[o] = n
        if n.op_type in ("Constant", "ConstantOfShape") or (
            n.op_type in VALUE_OPS and n.input and n.input[0] in consts
        ):
            consts.update(o for o in n.output[:1])
    return consts, producer, values


def _complete_shapes(om: OnnxModel, model, shapes: dict, consts: set[str], input_names: set[str]) -> None:
    """Shapes inference left out: ``Constant`` outputs from their values, and what the lowered
    ops read that is still open from one onnxruntime run (:func:`runtime_shapes`)."""
    g = model.graph
    for n in g.node:  # Constant outputs have their shapes even when inference left them out
        if n.op_type == "Constant" and n.output[0] not in shapes:
            v = om.value(n.output[0])
            if v is not None:
                shapes[n.output[0]] = tuple(v.shape)
    missing = [t for n in g.node if n.op_type in LOWERED_OPS for t in list(n.input) + list(n.output[:1])
               if t and t not in consts and (not shapes.get(t) or any(v in (None, 0) for v in shapes[t]))]  # fmt: skip
    if missing:
        shapes.update(runtime_shapes(model, missing, input_names))


#: the ops lowering reads shapes for
LOWERED_OPS = ("Conv", "ConvTranspose", "Gemm", "MatMul", "Einsum", "QLinearConv", "ConvInteger", "QLinearMatMul",
               "MatMulInteger")  # fmt: skip


def runtime_shapes(model, names: list[str], input_names: set[str]) -> dict[str, tuple[int, ...]]:
    """Shapes that static inference left open (reshapes of computed shapes), from one
    onnxruntime run on zeros; empty if onnxruntime is not installed or the run fails."""
    try:
        import onnxruntime as ort
        from onnx import helper
    except ImportError:
        return {}
    m = type(model)()
    m.CopyFrom(model)
    known = {o.name for o in m.graph.output}
    for t in dict.fromkeys(names):
        if t not in known:
            m.graph.output.append(helper.make_empty_tensor_value_info(t))
    feeds = {}
    for inp in m.graph.input:
        if inp.name not in input_names:
            continue
        tt = inp.type.tensor_type
        dt = helper.tensor_dtype_to_np_dtype(tt.elem_type)
        feeds[inp.name] = np.zeros([d.dim_value for d in tt.shape.dim], dtype=dt)
    try:
        ort.set_default_logger_severity(3)
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        opts.log_severity_level = 3
        sess = ort.InferenceSession(m.SerializeToString(), opts, providers=["CPUExecutionProvider"])
        outs = sess.run(None, feeds)
    except Exception:
        return {}
    return {o.name: tuple(v.shape) for o, v in zip(sess.get_outputs(), outs, strict=True)}

"""Mobile CNNs as lists of weight layers with their weights: the zoo's MobileNets (torch) and ONNX
files, including the real PP-OCRv4 models shipped inside the ``rapidocr-onnxruntime`` wheel.

Why weights and not only shapes: pruning to a pattern, rearranging channels and running the sparse
kernels all need the weight values. The zoo's MobileNets are built in plain torch (torchvision does
not load here) with torch's default initialisation, seeded, so their sparsity masks are those of
random weights; the PP-OCR files carry trained weights (paddle2onnx stores them as ``Constant``
nodes, which we read like initializers).

Layers keep torch's weight layout ``[Cout, Cin/groups, kh, kw]`` (FC: ``[Cout, Cin]``) and the op
names of :mod:`workloads.mobile_patterns`: ``1x1``, ``3x3`` (any kh x kw, groups 1), ``dw``, ``fc``.

With ``elementwise=True`` the list also holds the weightless operators an engine runs as separate
passes over memory (:data:`ELTWISE_OPS`): ``hswish``, ``add`` (residual), ``mul`` (squeeze-excite
scale, a per-channel vector times a tensor) and ``gap`` (global average pooling), and every layer
names the layers that produced its operands (``inputs``; -1 is the network input), so the latency
model can place buffers the way an engine's allocator does. What runs separately follows XNNPACK's
own MobileNet-v3 graph (``models/fp32-mobilenet-v3-*.cc``): ReLU, ReLU6 and the hard-sigmoid gate are
folded into the preceding convolution's output clamp (and BN into its weights); hard-swish, the
squeeze-excite multiply, residual adds and global pooling are operators of their own.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simulator.common.errors import SparsimInputError
from simulator.common.optional import require

__all__ = ["MobileLayer", "MOBILE_MODELS", "ELTWISE_OPS", "load_mobile_model", "resolve_model_name", "from_torch",
           "from_onnx", "ppocr_path", "zoo_torch_model"]  # fmt: skip

#: name -> (source, default input shape C, H, W)
MOBILE_MODELS = {
    "mobilenet_v1": ("zoo", (3, 224, 224)),
    "mobilenet_v2": ("zoo", (3, 224, 224)),
    "mobilenet_v3_large": ("zoo", (3, 224, 224)),
    "mobilenet_v3_small": ("zoo", (3, 224, 224)),
    "ppocr_det": ("ch_PP-OCRv4_det_infer.onnx", (3, 640, 640)),
    "ppocr_rec": ("ch_PP-OCRv4_rec_infer.onnx", (3, 48, 320)),
    "ppocr_cls": ("ch_ppocr_mobile_v2.0_cls_infer.onnx", (3, 48, 192)),
}

#: weightless operators run as their own pass (traced only with ``elementwise=True``)
ELTWISE_OPS = ("hswish", "add", "mul", "gap")


@dataclass(frozen=True)
class MobileLayer:
    """One weight layer at batch 1."""

    name: str
    op: str
    cin: int
    cout: int
    kh: int
    kw: int
    stride: int
    pad: int
    in_h: int
    in_w: int
    out_h: int
    out_w: int
    weight: np.ndarray
    stride_w: int = 0  # 0: same as ``stride`` (the height stride)
    #: producing layers of the operands (indices into the list, -1 = network input); empty: the
    #: previous layer (a plain chain, as without ``elementwise``)
    inputs: tuple[int, ...] = ()

    @property
    def sw(self) -> int:
        return self.stride_w or self.stride

    @property
    def macs(self) -> int:
        if self.op in ELTWISE_OPS:
            return 0
        per_out = self.kh * self.kw * (1 if self.op == "dw" else self.cin)
        return self.cout * self.out_h * self.out_w * per_out


def _op(groups: int, cin: int, cout: int, kh: int, kw: int) -> str | None:
    if groups == 1:
        return "1x1" if kh == kw == 1 else "3x3"
    if groups == cin == cout:
        return "dw"
    return None


def from_torch(
    model, input_shape: tuple[int, int, int] = (3, 224, 224), elementwise: bool = False
) -> list[MobileLayer]:
    """Weight layers of a torch module in execution order (forward hooks on a real forward); with
    ``elementwise`` also the separately run element-wise operators and each layer's producers
    (a :class:`torch.overrides.TorchFunctionMode` sees ``hardswish``, ``+``, ``*`` and adaptive
    pooling; every tensor carries the index of the layer whose output it is, passed through the
    operators that are folded: BN, ReLU, hard-sigmoid, flatten, dropout)."""
    torch = require("torch", "torch")
    from torch.overrides import TorchFunctionMode

    layers: list[MobileLayer] = []

    def src(t) -> int:
        return getattr(t, "_sparsim_src", -1)

    def tag(t, i: int):
        if isinstance(t, torch.Tensor):
            t._sparsim_src = i
        return t

    def hook(mod, inputs, output, name=""):
        x = inputs[0]
        w = mod.weight.detach().float().numpy().copy()
        ins = (src(x),) if elementwise else ()
        if isinstance(mod, torch.nn.Linear):
            layers.append(MobileLayer(name, "fc", w.shape[1], w.shape[0], 1, 1, 1, 0, 1, 1, 1, 1, w, inputs=ins))
            tag(output, len(layers) - 1)
            return
        kh, kw = mod.kernel_size
        op = _op(mod.groups, mod.in_channels, mod.out_channels, kh, kw)
        if op is None:
            raise SparsimInputError(name, "groups", mod.groups, "1 or depthwise (groups = in = out channels)")
        layers.append(
            MobileLayer(
                name,
                op,
                mod.in_channels,
                mod.out_channels,
                kh,
                kw,
                mod.stride[0],
                mod.padding[0],
                x.shape[2],
                x.shape[3],
                output.shape[2],
                output.shape[3],
                w,
                inputs=ins,
            )  # fmt: skip
        )
        tag(output, len(layers) - 1)

    F = torch.nn.functional
    adds = {torch.add, torch.Tensor.add, torch.Tensor.__add__, torch.Tensor.__radd__}
    muls = {torch.mul, torch.Tensor.mul, torch.Tensor.__mul__, torch.Tensor.__rmul__}

    def eltwise(kind: str, out, operands) -> None:
        operands = sorted(operands, key=lambda t: -t.numel())  # the tensor first, a broadcast scale second
        x = operands[0]
        c = x.shape[1] if x.dim() > 1 else 1
        h, w = (x.shape[2], x.shape[3]) if x.dim() == 4 else (1, 1)
        oh, ow = (1, 1) if kind == "gap" else (h, w)
        n = len(layers)
        ins = tuple(src(t) for t in operands)
        layers.append(MobileLayer(f"{kind}{n}", kind, c, c, 1, 1, 1, 0, h, w, oh, ow,
                                  np.zeros(0, np.float32), inputs=ins))  # fmt: skip
        tag(out, n)

    class Mode(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            tensors = [a for a in args if isinstance(a, torch.Tensor)]
            if not isinstance(out, torch.Tensor) or not tensors:
                return out
            if func is F.hardswish:
                eltwise("hswish", out, tensors[:1])
            elif func is F.adaptive_avg_pool2d and out.shape[-2:] == (1, 1) and out.shape != tensors[0].shape:
                eltwise("gap", out, tensors[:1])
            elif (func in adds or func in muls) and len(tensors) == 2:
                eltwise("add" if func in adds else "mul", out, tensors)
            elif out is not tensors[0] or not hasattr(out, "_sparsim_src"):
                tag(out, src(tensors[0]))
            return out

    handles = [
        m.register_forward_hook(lambda mod, i, o, n=n: hook(mod, i, o, n))
        for n, m in model.named_modules()
        if isinstance(m, torch.nn.Conv2d | torch.nn.Linear)
    ]
    try:
        with torch.no_grad():
            x = torch.zeros(1, *input_shape)
            if elementwise:
                with Mode():
                    model.eval()(x)
            else:
                model.eval()(x)
    finally:
        for h in handles:
            h.remove()
    return layers


def zoo_mobile_models() -> list[str]:
    """The :data:`MOBILE_MODELS` built from the zoo (torch graphs, so they can be traced with
    ``elementwise`` and channel-rearranged)."""
    return [m for m, (src, _shape) in MOBILE_MODELS.items() if src == "zoo"]


def zoo_torch_model(name: str):
    """The zoo model ``name`` in eval mode with torch's default initialisation, seed 0."""
    import importlib

    require("torch", "torch").manual_seed(0)
    return getattr(importlib.import_module("workloads.zoo.cnn"), name)().eval()


def ppocr_path(file_name: str) -> Path:
    """A model file inside the installed ``rapidocr-onnxruntime`` wheel (found without importing it)."""
    spec = importlib.util.find_spec("rapidocr_onnxruntime")
    if spec is None or not spec.submodule_search_locations:
        raise SparsimInputError("mobile", "model", file_name, "needs rapidocr-onnxruntime (pip install -e '.[onnx]')")
    return Path(next(iter(spec.submodule_search_locations))) / "models" / file_name


def from_onnx(path: str | Path, input_shape: tuple[int, int, int] | None = None) -> list[MobileLayer]:
    """Conv and Gemm/MatMul weight layers of an ONNX file, through the one ONNX loader
    (:mod:`workloads.onnx_model`): weights from initializers, ``Constant`` nodes or value-op chains
    over them; dynamic input dimensions fixed to ``input_shape`` (batch 1) first."""
    from workloads.onnx_model import load_onnx, read_onnx
    from workloads.trace_onnx import require_onnx

    onnx = require_onnx()
    p = Path(path)
    model = read_onnx(p)
    g = model.graph
    init_names = {t.name for t in g.initializer}
    graph_inputs = [i for i in g.input if i.name not in init_names]
    if len(graph_inputs) != 1:
        raise SparsimInputError(str(p), "inputs", len(graph_inputs), "exactly one image input")
    dims = graph_inputs[0].type.tensor_type.shape.dim
    if len(dims) != 4:
        raise SparsimInputError(str(p), "input rank", len(dims), "4 (N, C, H, W)")
    if input_shape is None and any(not d.HasField("dim_value") or d.dim_value <= 0 for d in list(dims)[1:]):
        raise SparsimInputError(str(p), "input shape", "dynamic", "give --input C,H,W for this model")
    om = load_onnx(p, batch=1, input_shapes=None if input_shape is None else {"": (1, *input_shape)}, model=model)
    g = om.graph
    shapes = om.shapes

    layers: list[MobileLayer] = []
    for i, n in enumerate(g.node):
        name = n.name or f"{n.op_type}_{i}"
        if n.op_type not in ("Conv", "Gemm", "MatMul"):
            continue
        wname = n.input[1]
        value = om.value(wname) if om.is_constant(wname) else None
        if value is None:
            if n.op_type == "MatMul":
                continue  # activation x activation: not a weight layer
            why = "an initializer or Constant (the file carries no weights)"
            raise SparsimInputError(str(p), f"node {name} weight", wname, why)
        w = np.asarray(value, dtype=np.float32)
        if n.op_type == "Conv":
            a = {x.name: onnx.helper.get_attribute_value(x) for x in n.attribute}
            groups = int(a.get("group", 1))
            cout, cing, kh, kw = w.shape
            s_in, s_out = shapes.get(n.input[0]), shapes.get(n.output[0])
            if not s_in or not s_out or 0 in s_in or 0 in s_out:
                raise SparsimInputError(str(p), f"node {name}", "shape", "a fully inferred input and output shape")
            op = _op(groups, s_in[1], cout, kh, kw)
            if op is None:
                raise SparsimInputError(str(p), f"node {name} group", groups, "1 or depthwise (group = channels)")
            strides = a.get("strides", [1, 1])
            pads = a.get("pads", [0, 0, 0, 0])
            layers.append(MobileLayer(name, op, s_in[1], cout, kh, kw, int(strides[0]), int(pads[0]),
                                      s_in[2], s_in[3], s_out[2], s_out[3], w, int(strides[1])))  # fmt: skip
        else:
            trans_b = n.op_type == "Gemm" and any(x.name == "transB" and x.i == 1 for x in n.attribute)
            if w.ndim != 2:
                continue
            w2 = w if trans_b else w.T  # -> [out, in]
            s_in = shapes.get(n.input[0]) or (1, w2.shape[1])
            pixels = int(np.prod(s_in[:-1])) if len(s_in) > 1 else 1
            layers.append(MobileLayer(name, "fc", w2.shape[1], w2.shape[0], 1, 1, 1, 0, 1, max(pixels, 1), 1,
                                      max(pixels, 1), np.ascontiguousarray(w2)))  # fmt: skip
    if not layers:
        raise SparsimInputError(str(p), "layers", 0, "at least one Conv/Gemm/MatMul with weights")
    return layers


def resolve_model_name(name: str) -> str:
    """``zoo:NAME`` or ``NAME`` (one spelling for every command) to the name of
    :data:`MOBILE_MODELS`; a path is returned unchanged."""
    return name[4:] if name.startswith("zoo:") and name[4:] in MOBILE_MODELS else name


def load_mobile_model(
    name_or_path: str, input_shape: tuple[int, int, int] | None = None, elementwise: bool = False
) -> list[MobileLayer]:
    """A zoo/PP-OCR name from :data:`MOBILE_MODELS` or a path to an ``.onnx`` file; ``elementwise``
    (zoo models only: it needs the torch graph) also traces the element-wise operators."""
    if elementwise and MOBILE_MODELS.get(name_or_path, ("",))[0] != "zoo":
        raise SparsimInputError(
            "elementwise", "model", name_or_path,
            f"a zoo model ({', '.join(zoo_mobile_models())}): it traces the torch graph",
        )  # fmt: skip
    if name_or_path in MOBILE_MODELS:
        src, default = MOBILE_MODELS[name_or_path]
        shape = input_shape or default
        if src == "zoo":
            return from_torch(zoo_torch_model(name_or_path), shape, elementwise=elementwise)
        return from_onnx(ppocr_path(src), shape)
    if name_or_path.endswith(".onnx"):
        return from_onnx(name_or_path, input_shape)
    raise SparsimInputError(
        "mobile", "model", name_or_path, f"one of {', '.join(MOBILE_MODELS)} or a path ending in .onnx"
    )

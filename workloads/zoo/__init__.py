"""The model zoo: real architectures in plain torch, traced into layer tables.

``zoo_model(name, batch, seq_len)`` returns ``(module, example_input)``; ``trace_zoo`` traces it
(on the meta device). Committed traces of every model at batch 1 (text models at ``seq_len`` 128)
live in ``workloads/zoo_traces/NAME.csv`` so ``sparsim simulate --workload zoo:NAME`` works
without torch; :func:`load_zoo_trace` reads them and applies a batch size.
"""

from __future__ import annotations

import pandas as pd

from simulator.common.errors import SparsimInputError
from simulator.common.files import package_data

__all__ = [
    "ZOO",
    "TEXT_MODELS",
    "check_zoo_name",
    "DEFAULT_SEQ_LEN",
    "zoo_model",
    "trace_zoo",
    "load_zoo_trace",
    "TRACE_DIR",
]

# name: (module path, builder, input kind)
ZOO = {
    "resnet18": ("cnn", "resnet18", "image"),
    "resnet50": ("cnn", "resnet50", "image"),
    "vgg16": ("cnn", "vgg16", "image"),
    "mobilenet_v1": ("cnn", "mobilenet_v1", "image"),
    "mobilenet_v2": ("cnn", "mobilenet_v2", "image"),
    "bert_base": ("transformer", "bert_base", "tokens"),
    "minilm_l6": ("transformer", "minilm_l6", "tokens"),
    "vit_b16": ("transformer", "vit_b16", "image"),
    "gpt2_small": ("transformer", "gpt2_small", "tokens"),
}
DEFAULT_SEQ_LEN = 128
TRACE_DIR = package_data("workloads", "zoo_traces")


#: the models whose input is a token sequence (``seq_len`` applies to them only)
TEXT_MODELS = tuple(n for n, (_, _, kind) in ZOO.items() if kind == "tokens")


def check_zoo_name(name: str) -> None:
    """Refuse a name that is not a zoo model, listing the ones that are."""
    if name not in ZOO:
        raise SparsimInputError("zoo", "model", name, f"allowed: {', '.join(ZOO)} (or FILE.onnx)")


def zoo_model(name: str, batch: int = 1, seq_len: int = DEFAULT_SEQ_LEN):
    """Build a zoo model and an example input (on the meta device: shapes only)."""
    check_zoo_name(name)
    from workloads.trace_torch import require_torch

    torch = require_torch()
    import importlib

    mod_name, builder, kind = ZOO[name]
    module = importlib.import_module(f"workloads.zoo.{mod_name}")
    with torch.device("meta"):
        model = getattr(module, builder)()
    if kind == "image":
        x = torch.empty(batch, 3, 224, 224, device="meta")
    else:
        x = torch.zeros(batch, seq_len, dtype=torch.long, device="meta")
    return model.eval(), x


def trace_zoo(name: str, batch: int = 1, seq_len: int = DEFAULT_SEQ_LEN):
    """Trace a zoo model (see :func:`workloads.trace_torch.trace_module`)."""
    from workloads.trace_torch import trace_module

    model, x = zoo_model(name, batch, seq_len)
    return trace_module(model, x)


def load_zoo_trace(name: str, batch: int | None = None) -> pd.DataFrame:
    """The committed batch-1 trace of a zoo model, with every layer's batch set to ``batch``."""
    check_zoo_name(name)
    from workloads.layers import validate_layer_table

    layers = validate_layer_table(pd.read_csv(TRACE_DIR / f"{name}.csv"), f"zoo:{name}")
    return layers if batch is None else layers.assign(batch=batch)

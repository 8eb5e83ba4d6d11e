"""The real Hugging Face model class of a ``config.json``, traced on the meta device: the check
that :mod:`workloads.llm.model` reads a config as ``transformers`` builds it.

Why: the shapes sparsim derives from a config (which fields mean what, which linears a family
has, which carry biases, whether the head is tied) are only as right as our reading of each
family's modelling code. Instantiating the real class on the meta device (no memory, no weights,
no network) gives the linears ``transformers`` itself builds: their ``(in, out)`` and the exact
parameter count; the tests compare them with ours. Each of those linears runs on every token
(the LM head, in our serving model, on the last one), so the GEMMs are ``[tokens, in] x [in, out]``.
(A forward pass on meta tensors is not possible: transformers 5's mask builders branch on tensor
values.)

Needs the ``torch`` extra (torch and ``transformers``).
"""

from __future__ import annotations

import re
from typing import Any

from simulator.common.errors import SparsimInputError
from simulator.common.optional import require

__all__ = ["trace_hf_config", "HFTrace"]


class HFTrace(dict):
    """``{"parameters": int, "linears": [(name, in, out), ...]}``: the first decoder layer's
    linears in module order, then the LM head."""


def trace_hf_config(cfg: dict[str, Any]) -> HFTrace:
    """Instantiate ``cfg``'s causal-LM class on the meta device and read its linears."""
    require("transformers", "torch")
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    kw = {k: v for k, v in cfg.items() if k not in ("model_type", "architectures", "transformers_version")}
    try:
        config = AutoConfig.for_model(cfg["model_type"], **kw)
    except (KeyError, ValueError) as err:
        raise SparsimInputError(
            "config.json", "model_type", cfg.get("model_type"), f"a transformers family ({err})"
        ) from None
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    params = sum(p.numel() for p in model.parameters())
    layer0 = re.compile(r"(^|\.)(layers|h|decoder\.layers)\.0\.")
    linears = []
    for name, mod in model.named_modules():
        w = getattr(mod, "weight", None)
        if not isinstance(w, torch.Tensor) or w.dim() != 2 or isinstance(mod, torch.nn.Embedding):
            continue
        if not (layer0.search(name) or name.endswith("lm_head")):
            continue
        conv1d = type(mod).__name__ == "Conv1D"  # GPT-2 stores [in, out]
        k, n = (w.shape[0], w.shape[1]) if conv1d else (w.shape[1], w.shape[0])
        linears.append((name.rsplit(".", 1)[-1], int(k), int(n)))
    return HFTrace(parameters=int(params), linears=linears)

"""A decoder-only transformer's shapes: what an LLM workload is built from.

Why shapes and not a traced module: a serving study needs prefill at any prompt length and every
decode step at every context length; those GEMMs follow from a handful of numbers (hidden size,
heads, KV heads, head size, MLP width, vocabulary), which a Hugging Face ``config.json`` states
and which the named built-ins below cite. No weights and no torch are needed. When
``transformers`` is installed, :mod:`workloads.llm.trace_hf` checks these shapes against the
real model class (tests).

Families read from ``config.json`` (``model_type``): ``llama``, ``mistral``, ``qwen2``,
``gemma``, ``gemma2``, ``gpt2``, ``opt``, ``phi`` and ``phi3``. What differs between them, and
what we take from each (Hugging Face's modelling code is the reference):

===========  ======  =========  ==========  ==========================  ==========
family       MLP     norm       positions   linear biases               LM head
===========  ======  =========  ==========  ==========================  ==========
llama        gated   RMSNorm    rotary      ``attention_bias``/``mlp``  untied*
mistral      gated   RMSNorm    rotary      none                        untied*
qwen2        gated   RMSNorm    rotary      Q, K, V                     untied*
gemma(2)     gated   RMSNorm    rotary      none                        tied
gpt2         plain   LayerNorm  learned     all                         tied
opt          plain   LayerNorm  learned+2   all (``enable_bias``)       tied
phi          plain   LayerNorm  rotary      all, LM head too            untied
phi3         gated   RMSNorm    rotary      none                        untied*
===========  ======  =========  ==========  ==========================  ==========

(* ``tie_word_embeddings`` in the file wins.) A fused projection (GPT-2's ``c_attn``, Phi-3's
``qkv_proj`` and ``gate_up_proj``) is the same MACs as its parts, so it is kept as the parts:
one weight per operand is what N:M pruning and tensor parallelism split.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from simulator.common.errors import SparsimInputError
from simulator.common.files import read_text
from simulator.common.validate import is_int

__all__ = ["LLMConfig", "BUILTINS", "builtin", "from_hf_config", "load_llm", "FAMILIES", "MAX_LAYERS"]

FAMILIES = ("llama", "mistral", "qwen2", "gemma", "gemma2", "gpt2", "opt", "phi", "phi3")
_GATED = {"llama", "mistral", "qwen2", "gemma", "gemma2", "phi3"}
_TIED_DEFAULT = {"gemma", "gemma2", "gpt2", "opt"}

#: bounds that keep a config physical (the largest published dense LLMs are far inside them)
MAX_LAYERS = 1024
MAX_HIDDEN = 1 << 17
MAX_HEADS = 4096
MAX_FFN = 1 << 20
MAX_VOCAB = 1 << 22
MAX_POSITIONS = 1 << 24


@dataclass(frozen=True, slots=True, kw_only=True)
class LLMConfig:
    """One decoder-only transformer's shapes (frozen; checked when made).

    ``heads * head_dim`` is the attention width (Q and O projections), ``kv_heads * head_dim``
    the width of K and V (grouped-query attention: ``heads`` must be a multiple of ``kv_heads``;
    multi-query is ``kv_heads = 1``). ``ffn`` is the MLP's inner width; a gated MLP has gate, up
    and down projections, a plain one up and down. ``learned_positions``: a learned position
    table of that many rows (0: rotary or none). ``norms``: norms per layer (2: before attention
    and before the MLP; Phi's parallel block has 1, Gemma 2's pre and post norms make 4).
    """

    name: str
    family: str
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    ffn: int
    vocab: int
    gated_mlp: bool
    norm: str = "rmsnorm"
    rotary: bool = True
    tied_embeddings: bool = False
    learned_positions: int = 0
    qkv_bias: bool = False
    o_bias: bool = False
    mlp_bias: bool = False
    lm_head_bias: bool = False
    norms: int = 2
    max_positions: int = 8192

    def __post_init__(self) -> None:
        src = f"model {self.name}"
        for key, hi in (("layers", MAX_LAYERS), ("hidden", MAX_HIDDEN), ("heads", MAX_HEADS),
                        ("kv_heads", MAX_HEADS), ("head_dim", 65536), ("ffn", MAX_FFN), ("vocab", MAX_VOCAB),
                        ("max_positions", MAX_POSITIONS)):  # fmt: skip
            v = getattr(self, key)
            if not is_int(v) or not 1 <= v <= hi:
                raise SparsimInputError(src, key, v, f"an integer from 1 to {hi:,}")
        if not is_int(self.learned_positions) or not 0 <= self.learned_positions <= MAX_POSITIONS:
            raise SparsimInputError(src, "learned_positions", self.learned_positions,
                                    f"an integer from 0 to {MAX_POSITIONS:,}")  # fmt: skip
        if self.norms not in (1, 2, 4):
            raise SparsimInputError(src, "norms", self.norms, "1, 2 or 4 norms per layer")
        if self.family not in FAMILIES:
            raise SparsimInputError(src, "family", self.family, f"one of {', '.join(FAMILIES)}")
        if self.norm not in ("rmsnorm", "layernorm"):
            raise SparsimInputError(src, "norm", self.norm, "rmsnorm or layernorm")
        if self.heads % self.kv_heads:
            raise SparsimInputError(src, "kv_heads", self.kv_heads,
                                    f"a divisor of heads ({self.heads}): each KV head serves a whole group",
                                    )  # fmt: skip
        for key in ("gated_mlp", "rotary", "tied_embeddings", "qkv_bias", "o_bias", "mlp_bias", "lm_head_bias"):
            if not isinstance(getattr(self, key), bool):
                raise SparsimInputError(src, key, getattr(self, key), "true or false")
        if not isinstance(self.name, str) or not self.name or len(self.name) > 200:
            raise SparsimInputError("model", "name", self.name, "a name of 1 to 200 characters")

    # ------------------------------------------------------------------ derived sizes
    @property
    def q_width(self) -> int:
        return self.heads * self.head_dim

    @property
    def kv_width(self) -> int:
        return self.kv_heads * self.head_dim

    @property
    def group(self) -> int:
        """Query heads per KV head."""
        return self.heads // self.kv_heads

    def linears(self) -> list[tuple[str, int, int]]:
        """``(name, in, out)`` of every weight linear of one transformer layer, in execution order."""
        out = [("q_proj", self.hidden, self.q_width), ("k_proj", self.hidden, self.kv_width),
               ("v_proj", self.hidden, self.kv_width), ("o_proj", self.q_width, self.hidden)]  # fmt: skip
        if self.gated_mlp:
            out += [("gate_proj", self.hidden, self.ffn), ("up_proj", self.hidden, self.ffn)]
        else:
            out += [("up_proj", self.hidden, self.ffn)]
        return out + [("down_proj", self.ffn, self.hidden)]

    def layer_weights(self) -> int:
        """Weights (elements) of the linears of one transformer layer."""
        return sum(i * o for _, i, o in self.linears())

    def parameter_count(self) -> int:
        """Every parameter: embeddings, linears and their biases, norms, the final norm, the LM head
        (counted once when tied to the embedding), learned positions."""
        norm = self.hidden * (2 if self.norm == "layernorm" else 1)  # scale (+ shift)
        per_layer = self.layer_weights() + self.norms * norm
        per_layer += (self.q_width + 2 * self.kv_width) * self.qkv_bias + self.hidden * self.o_bias
        if self.mlp_bias:
            per_layer += self.ffn * (2 if self.gated_mlp else 1) + self.hidden
        total = self.layers * per_layer + self.vocab * self.hidden + norm + self.learned_positions * self.hidden
        if not self.tied_embeddings:
            total += self.vocab * self.hidden
        return total + self.vocab * self.lm_head_bias

    def weight_bytes(self, element_bytes: float, nm: tuple[int, int] = (1, 1)) -> float:
        """Bytes of every weight a forward pass reads: the layers' linears N:M condensed along
        their inputs (``ceil(in / M) * N`` kept values per output, each with ``ceil(log2 M)``
        index bits) and the dense LM head (SparseGPT and Wanda leave it dense)."""
        n, m = nm
        sparse = n != m
        bits = element_bytes * 8 + (math.ceil(math.log2(m)) if sparse and m > 1 else 0)
        kept = sum((-(-i // m) * n if sparse else i) * o for _, i, o in self.linears())
        return self.layers * kept * bits / 8 + self.hidden * self.vocab * element_bytes

    def kv_bytes_per_token(self, element_bytes: float, nm: tuple[int, int] = (1, 1)) -> float:
        """Bytes the KV cache holds per token: K and V of every layer's KV heads; with N:M
        attention (``nm``, the run's ``attention_nm``) N of every M values kept, each with
        ``ceil(log2 M)`` index bits (ours: K pruned along the head dimension, V along the tokens,
        both costed at N/M of the values)."""
        n, m = nm
        dense = 2 * self.layers * self.kv_heads * self.head_dim * element_bytes
        if n == m:
            return dense
        return dense * n / m * (element_bytes * 8 + math.ceil(math.log2(m))) / (element_bytes * 8)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _builtin(**kw: Any) -> LLMConfig:
    return LLMConfig(**kw)


#: Named models usable without torch or a file. Shapes from each model's published
#: ``config.json`` on the Hugging Face Hub (the cited repository), parameter counts in the test.
BUILTINS: dict[str, LLMConfig] = {
    # meta-llama/Meta-Llama-3-8B: 8.03 B parameters
    "llama3_8b": _builtin(name="llama3_8b", family="llama", layers=32, hidden=4096, heads=32, kv_heads=8,
                          head_dim=128, ffn=14336, vocab=128256, gated_mlp=True, max_positions=8192),
    # meta-llama/Llama-3.1-8B: Llama 3's shapes with a 131,072-token context (rope scaling)
    "llama3_1_8b": _builtin(name="llama3_1_8b", family="llama", layers=32, hidden=4096, heads=32, kv_heads=8,
                            head_dim=128, ffn=14336, vocab=128256, gated_mlp=True, max_positions=131072),
    # meta-llama/Meta-Llama-3-70B: 70.6 B
    "llama3_70b": _builtin(name="llama3_70b", family="llama", layers=80, hidden=8192, heads=64, kv_heads=8,
                           head_dim=128, ffn=28672, vocab=128256, gated_mlp=True, max_positions=8192),
    # meta-llama/Llama-2-7b-hf: 6.74 B (multi-head attention: kv_heads = heads)
    "llama2_7b": _builtin(name="llama2_7b", family="llama", layers=32, hidden=4096, heads=32, kv_heads=32,
                          head_dim=128, ffn=11008, vocab=32000, gated_mlp=True, max_positions=4096),
    # mistralai/Mistral-7B-v0.1: 7.24 B
    "mistral_7b": _builtin(name="mistral_7b", family="mistral", layers=32, hidden=4096, heads=32, kv_heads=8,
                           head_dim=128, ffn=14336, vocab=32000, gated_mlp=True, max_positions=32768),
    # Qwen/Qwen2.5-7B: 7.62 B (biases on Q, K, V)
    "qwen2_5_7b": _builtin(name="qwen2_5_7b", family="qwen2", layers=28, hidden=3584, heads=28, kv_heads=4,
                           head_dim=128, ffn=18944, vocab=152064, gated_mlp=True, qkv_bias=True,
                           max_positions=131072),
    # openai-community/gpt2: 124.4 M (tied LM head, learned positions, biases everywhere)
    "gpt2": _builtin(name="gpt2", family="gpt2", layers=12, hidden=768, heads=12, kv_heads=12, head_dim=64,
                     ffn=3072, vocab=50257, gated_mlp=False, norm="layernorm", rotary=False, tied_embeddings=True,
                     learned_positions=1024, qkv_bias=True, o_bias=True, mlp_bias=True, max_positions=1024),
}  # fmt: skip


def builtin(name: str) -> LLMConfig:
    if name not in BUILTINS:
        raise SparsimInputError("model", "zoo", name, f"one of {', '.join(BUILTINS)}")
    return BUILTINS[name]


def _get(cfg: dict, src: str, *keys: str, default: Any = None, required: bool = True) -> Any:
    for k in keys:
        if k in cfg and cfg[k] is not None:
            return cfg[k]
    if default is None and required:
        raise SparsimInputError(src, keys[0], None, "a positive integer (the field is missing)")
    return default


def from_hf_config(cfg: Any, source: str = "config.json", name: str | None = None) -> LLMConfig:
    """An :class:`LLMConfig` from a parsed Hugging Face ``config.json`` (see the module docstring
    for the families and what is taken from each)."""
    if not isinstance(cfg, dict):
        raise SparsimInputError(source, "config", type(cfg).__name__, "a JSON object (a Hugging Face config.json)")
    family = cfg.get("model_type")
    if family not in FAMILIES:
        raise SparsimInputError(source, "model_type", family, f"one of {', '.join(FAMILIES)} (decoder-only families)")
    hidden = _get(cfg, source, "hidden_size", "n_embd", "d_model")
    heads = _get(cfg, source, "num_attention_heads", "n_head")
    layers = _get(cfg, source, "num_hidden_layers", "n_layer")
    for key, v in (("hidden_size", hidden), ("num_attention_heads", heads), ("num_hidden_layers", layers)):
        if not is_int(v) or v < 1:
            raise SparsimInputError(source, key, v, "a positive integer")
    kv = cfg.get("num_key_value_heads")
    kv = heads if kv is None else kv
    if cfg.get("multi_query") is True:  # older GPT-BigCode-style flag
        kv = 1
    head_dim = cfg.get("head_dim")
    if head_dim is None:
        if hidden % heads:
            raise SparsimInputError(source, "num_attention_heads", heads,
                                    f"a divisor of the hidden size {hidden} (no head_dim is given)")  # fmt: skip
        head_dim = hidden // heads
    if family == "gpt2":
        ffn = cfg.get("n_inner") or 4 * hidden
    elif family == "opt":
        ffn = _get(cfg, source, "ffn_dim")
    else:
        ffn = _get(cfg, source, "intermediate_size")
    if family == "opt" and cfg.get("word_embed_proj_dim", hidden) != hidden:
        raise SparsimInputError(source, "word_embed_proj_dim", cfg["word_embed_proj_dim"],
                                f"equal to hidden_size {hidden} (OPT-350m's projected embeddings are not "
                                "modelled)")  # fmt: skip
    vocab = _get(cfg, source, "vocab_size")
    tied = cfg.get("tie_word_embeddings", family in _TIED_DEFAULT)
    positions = _get(cfg, source, "max_position_embeddings", "n_positions", default=2048, required=False)
    bias_all = family in ("gpt2", "phi") or (family == "opt" and cfg.get("enable_bias", True))
    attn_bias = bool(cfg.get("attention_bias", False)) if family == "llama" else False
    mlp_bias = bool(cfg.get("mlp_bias", False)) if family == "llama" else False
    kw = dict(
        name=name or str(cfg.get("_name_or_path") or family),
        family=family,
        layers=layers,
        hidden=hidden,
        heads=heads,
        kv_heads=kv,
        head_dim=head_dim,
        ffn=ffn,
        vocab=vocab,
        gated_mlp=family in _GATED,
        norm="layernorm" if family in ("gpt2", "opt", "phi") else "rmsnorm",
        rotary=family not in ("gpt2", "opt"),
        tied_embeddings=tied,
        learned_positions=positions + (2 if family == "opt" else 0) if family in ("gpt2", "opt") else 0,
        qkv_bias=bias_all or attn_bias or family == "qwen2",
        o_bias=bias_all or attn_bias,
        mlp_bias=bias_all or mlp_bias,
        lm_head_bias=family == "phi",
        norms={"phi": 1, "gemma2": 4}.get(family, 2),
        max_positions=positions,
    )
    for key in ("kv_heads", "head_dim", "ffn", "vocab", "max_positions"):
        v = kw[key]
        if not is_int(v) or v < 1:
            hf = {"kv_heads": "num_key_value_heads", "ffn": "intermediate_size", "vocab": "vocab_size",
                  "max_positions": "max_position_embeddings"}.get(key, key)  # fmt: skip
            raise SparsimInputError(source, hf, v, "a positive integer")
    if not isinstance(tied, bool):
        raise SparsimInputError(source, "tie_word_embeddings", tied, "true or false")
    try:
        return LLMConfig(**kw)
    except SparsimInputError as err:  # name the file, not the dataclass
        raise SparsimInputError(source, _HF_NAME.get(err.field, err.field), err.value, err.allowed) from None


_HF_NAME = {"layers": "num_hidden_layers", "hidden": "hidden_size", "heads": "num_attention_heads",
            "kv_heads": "num_key_value_heads", "ffn": "intermediate_size", "vocab": "vocab_size",
            "max_positions": "max_position_embeddings"}  # fmt: skip


def load_llm(spec: str | LLMConfig) -> LLMConfig:
    """``zoo:NAME`` (a built-in), a path to a Hugging Face ``config.json``, or an :class:`LLMConfig`."""
    if isinstance(spec, LLMConfig):
        return spec
    if not isinstance(spec, str) or not spec:
        raise SparsimInputError("model", "model", spec, "zoo:NAME or a config.json file")
    if spec.startswith("zoo:"):
        return builtin(spec[4:])
    path = Path(spec)
    text = read_text(path, "Hugging Face config.json", max_bytes=1 << 20)
    try:
        cfg = json.loads(text, parse_constant=_no_constant)
    except (json.JSONDecodeError, ValueError) as err:
        raise SparsimInputError(str(path), "file", path.name, f"a JSON object ({err})") from None
    return from_hf_config(cfg, str(path), name=path.parent.name if path.name == "config.json" else path.stem)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")

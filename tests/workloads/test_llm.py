"""LLM workloads (workloads.llm): shapes by hand, published parameter counts, Hugging Face
configs read as transformers builds them, and bad configs as one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulator.common.errors import SparsimInputError
from workloads.llm.model import BUILTINS, LLMConfig, from_hf_config, load_llm
from workloads.llm.phases import causal_blocks, decode_step, prefill

CONFIGS = Path(__file__).parent / "llm_configs"


def _shapes(phase, part=None):
    g = phase.gemms if part is None else phase.gemms[phase.gemms["part"] == part]
    return [(r.name, r.op, r.batch, r.groups, r.gemm_m, r.gemm_k, r.gemm_n) for r in g.itertuples()]


def test_llama3_8b_prefill_shapes_by_hand():
    """B = 1, S = 2048: every linear is [2048, in] x [in, out]; attention is grouped (4 query
    heads per KV head: 2048 * 4 rows per product, 8 KV heads), causal in 128-token tiles."""
    m = BUILTINS["llama3_8b"]
    ph = prefill(m, 1, 2048, (2, 4))
    assert _shapes(ph, "linear") == [
        ("q_proj", "gemm", 1, 1, 2048, 4096, 4096),
        ("k_proj", "gemm", 1, 1, 2048, 4096, 1024),
        ("v_proj", "gemm", 1, 1, 2048, 4096, 1024),
        ("o_proj", "gemm", 1, 1, 2048, 4096, 4096),
        ("gate_proj", "gemm", 1, 1, 2048, 4096, 14336),
        ("up_proj", "gemm", 1, 1, 2048, 4096, 14336),
        ("down_proj", "gemm", 1, 1, 2048, 14336, 4096),
    ]
    assert (ph.gemms.loc[ph.gemms["part"] == "linear", ["nm_n", "nm_m"]] == [2, 4]).all().all()
    att = _shapes(ph, "attention")
    assert len(att) == 2 * 16  # 16 query blocks of 128 tokens
    for i in range(16):  # query block i: 128 tokens x 4 heads against (i + 1) * 128 keys
        assert att[2 * i] == (f"qk_b{i}", "matmul", 1, 8, 512, 128, 128 * (i + 1))
        assert att[2 * i + 1] == (f"pv_b{i}", "matmul", 1, 8, 512, 128 * (i + 1), 128)
    assert (ph.gemms.loc[ph.gemms["part"] == "attention", ["nm_n", "nm_m"]] == [1, 1]).all().all()  # dense
    assert _shapes(ph, "head") == [("lm_head", "gemm", 1, 1, 1, 4096, 128256)]  # the last position only
    assert set(ph.gemms.loc[ph.gemms["part"] != "head", "repeat"]) == {32}


def test_llama3_8b_decode_step_shapes_by_hand():
    m = BUILTINS["llama3_8b"]
    ph = decode_step(m, 1, 2048)
    assert [s[4:] for s in _shapes(ph, "linear")] == [(1, 4096, 4096), (1, 4096, 1024), (1, 4096, 1024),
                                                       (1, 4096, 4096), (1, 4096, 14336), (1, 4096, 14336),
                                                       (1, 14336, 4096)]  # fmt: skip
    assert _shapes(ph, "attention") == [("qk", "matmul", 1, 8, 4, 128, 2048), ("pv", "matmul", 1, 8, 4, 2048, 128)]
    soft = ph.eltwise.set_index("name").loc["softmax"]
    assert soft["elements"] == 32 * 2048 and soft["repeat"] == 32


def test_causal_blocks_count_the_tiles_a_tiled_kernel_computes():
    assert causal_blocks(10, 4) == [(4, 4), (4, 8), (2, 10)]
    assert causal_blocks(256, 128) == [(128, 128), (128, 256)]
    assert causal_blocks(1, 128) == [(1, 1)]
    assert sum(q * k for q, k in causal_blocks(2048, 128)) == 128 * 128 * (16 * 17 // 2)


PUBLISHED = [("llama3_8b", 8.03e9), ("llama3_1_8b", 8.03e9), ("llama3_70b", 70.6e9), ("llama2_7b", 6.74e9),
             ("mistral_7b", 7.24e9), ("qwen2_5_7b", 7.62e9), ("gpt2", 124.4e6)]  # fmt: skip


@pytest.mark.parametrize(("name", "published"), PUBLISHED)
def test_parameter_counts_match_the_published_ones(name, published):
    assert BUILTINS[name].parameter_count() == pytest.approx(published, rel=5e-3)


def test_weight_bytes_dense_and_2_4():
    m = BUILTINS["llama3_8b"]
    linear = 32 * (2 * 4096 * 4096 + 2 * 4096 * 1024 + 3 * 4096 * 14336)
    head = 4096 * 128256
    assert m.weight_bytes(1) == linear + head
    # 2:4: half the values, each with 2 index bits: 10 bits per kept int8 value
    assert m.weight_bytes(1, (2, 4)) == linear / 2 * 10 / 8 + head
    assert m.weight_bytes(2, (2, 4)) == linear / 2 * 18 / 8 + 2 * head


def test_kv_bytes_per_token():
    m = BUILTINS["llama3_8b"]
    assert m.kv_bytes_per_token(2) == 2 * 32 * 8 * 128 * 2 == 131072
    assert BUILTINS["llama2_7b"].kv_bytes_per_token(1) == 2 * 32 * 32 * 128


@pytest.mark.parametrize(("file", "builtin"), [("llama3_8b", "llama3_8b"), ("qwen2_5_7b", "qwen2_5_7b"),
                                               ("gpt2", "gpt2"), ("mistral_7b", "mistral_7b")])  # fmt: skip
def test_a_hugging_face_config_reads_as_the_builtin(file, builtin):
    m = load_llm(str(CONFIGS / f"{file}.json"))
    b = BUILTINS[builtin]
    assert {k: v for k, v in m.to_dict().items() if k != "name"} == {
        k: v for k, v in b.to_dict().items() if k != "name"
    }


@pytest.mark.parametrize(("file", "published"), [("gemma_2b", 2.51e9), ("opt_125m", 125.2e6), ("phi_2", 2.78e9),
                                                 ("phi3_mini", 3.82e9)])  # fmt: skip
def test_other_families_match_their_published_counts(file, published):
    assert load_llm(str(CONFIGS / f"{file}.json")).parameter_count() == pytest.approx(published, rel=5e-3)


_FUSED = {"c_attn": ("q_proj", "k_proj", "v_proj"), "qkv_proj": ("q_proj", "k_proj", "v_proj"),
          "gate_up_proj": ("gate_proj", "up_proj")}  # fmt: skip


@pytest.mark.parametrize("file", ["llama3_8b", "qwen2_5_7b", "gpt2", "mistral_7b", "gemma_2b", "opt_125m", "phi_2",
                                  "phi3_mini"])  # fmt: skip
def test_the_real_transformers_class_has_our_linears_and_parameters(file):
    """The model class of the config, instantiated on the meta device: the same parameter count
    to the parameter, and the same linears (a fused projection is its parts side by side)."""
    pytest.importorskip("transformers")
    from workloads.llm.trace_hf import trace_hf_config

    cfg = json.loads((CONFIGS / f"{file}.json").read_text())
    traced = trace_hf_config(cfg)
    ours = from_hf_config(cfg)
    assert traced["parameters"] == ours.parameter_count()
    mine = {n: (i, o) for n, i, o in ours.linears()}
    expect = []
    for name, i, o in traced["linears"][:-1]:
        parts = _FUSED.get(name)
        if parts:
            assert all(mine[p][0] == i for p in parts) and sum(mine[p][1] for p in parts) == o
            expect += [mine[p] for p in parts]
        else:
            expect.append((i, o))
    assert sorted(expect) == sorted(mine.values())
    assert traced["linears"][-1] == ("lm_head", ours.hidden, ours.vocab)


def _write(tmp_path, cfg, name="config.json"):
    p = tmp_path / name
    p.write_text(json.dumps(cfg) if not isinstance(cfg, str) else cfg)
    return str(p)


BASE = json.loads((CONFIGS / "llama3_8b.json").read_text())


@pytest.mark.parametrize(
    ("change", "field", "allowed"),
    [
        ({"num_hidden_layers": 0}, "num_hidden_layers", "a positive integer"),
        ({"hidden_size": 4095, "head_dim": None}, "num_attention_heads", "a divisor of the hidden size 4095"),
        ({"num_key_value_heads": 5}, "num_key_value_heads", "a divisor of heads (32)"),
        ({"intermediate_size": 10**12}, "intermediate_size", "an integer from 1 to"),
        ({"vocab_size": -1}, "vocab_size", "a positive integer"),
        ({"num_attention_heads": 2.5}, "num_attention_heads", "a positive integer"),
        ({"num_attention_heads": True}, "num_attention_heads", "a positive integer"),
        ({"model_type": "bert"}, "model_type", "decoder-only families"),
        ({"model_type": None}, "model_type", "decoder-only families"),
        ({"tie_word_embeddings": "yes"}, "tie_word_embeddings", "true or false"),
    ],
)  # fmt: skip
def test_bad_configs_are_one_line(tmp_path, change, field, allowed):
    cfg = {**BASE, **change}
    path = _write(tmp_path, cfg)
    with pytest.raises(SparsimInputError) as err:
        load_llm(path)
    assert err.value.field == field and allowed in err.value.allowed and err.value.source == path


@pytest.mark.parametrize("text", ["[1, 2]", "{", '{"hidden_size": NaN}', "", "\ufeff" + json.dumps(BASE)])
def test_not_a_config_object(tmp_path, text):
    path = _write(tmp_path, text)
    if text.startswith("\ufeff"):  # a byte-order mark is fine
        assert load_llm(path).hidden == 4096
        return
    with pytest.raises(SparsimInputError):
        load_llm(path)


def test_unknown_builtin_and_missing_file(tmp_path):
    with pytest.raises(SparsimInputError, match="one of llama3_8b"):
        load_llm("zoo:llama9")
    with pytest.raises(SparsimInputError, match="cannot be read"):
        load_llm(str(tmp_path / "nope.json"))


def test_the_dataclass_checks_itself():
    with pytest.raises(SparsimInputError, match="kv_heads"):
        LLMConfig(name="x", family="llama", layers=1, hidden=8, heads=4, kv_heads=3, head_dim=2, ffn=8, vocab=8,
                  gated_mlp=True)  # fmt: skip
    with pytest.raises(SparsimInputError, match="layers"):
        LLMConfig(name="x", family="llama", layers=0, hidden=8, heads=4, kv_heads=4, head_dim=2, ffn=8, vocab=8,
                  gated_mlp=True)  # fmt: skip

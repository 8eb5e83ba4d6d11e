"""Every registered block honours the block protocol: a tidy table with the shared column names,
totals exactly as declared (names and types), parameters checked by name."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from simulator.common.block import REGISTRY, SHARED_COLUMNS, Block, get_block
from simulator.common.errors import SparsimInputError
from simulator.common.result import Result


def _workload(name: str):
    if name in ("nm_array", "sat"):
        from workloads.zoo import load_zoo_trace

        return load_zoo_trace("resnet18").head(4), {"pe.rows": 8, "pe.cols": 8}
    if name == "llm":
        from workloads.llm.model import LLMConfig

        model = LLMConfig(name="tiny", family="llama", layers=2, hidden=32, heads=4, kv_heads=2, head_dim=8, ffn=48,
                          vocab=64, gated_mlp=True)  # fmt: skip
        return model, {"pe.rows": 8, "pe.cols": 8, "prompt": 16, "generate": 3}
    if name == "spgemm":
        a = sp.random(30, 30, density=0.1, random_state=0, format="csr")
        return (a, a), {"cores": 2, "threads_per_core": 4, "scratchpad_kb": 64, "scratchpad_banks": 4}
    pytest.importorskip("torch")
    from simulator.mobile.block import MobileModel

    return MobileModel("mobilenet_v1", (3, 32, 32)), {}


@pytest.mark.parametrize("name", list(REGISTRY))
def test_block_protocol(name):
    block = get_block(name)
    assert isinstance(block, Block) and block.name == name and block is get_block(name)
    workload, fields = _workload(name)
    cfg, params = block.build(fields)
    result = block.run(workload, cfg, **block.run_params(params))
    assert isinstance(result, Result) and result.block == name
    table = result.table
    assert isinstance(table, pd.DataFrame) and len(table) >= 1 and not table.attrs
    assert "cycles" in table.columns and (table.cycles > 0).all()
    for col in set(SHARED_COLUMNS) & set(table.columns):
        assert np.issubdtype(table[col].dtype, np.number), col
    totals = dict(result.totals)
    assert totals == block.summarize(table, cfg, **params)
    assert list(totals) == list(block.totals)
    for k, ty in block.totals.items():
        assert isinstance(totals[k], int if ty == "int" else float), (k, type(totals[k]))
    assert totals["cycles"] == int(table.cycles.sum())


@pytest.mark.parametrize("name", list(REGISTRY))
def test_parameters_are_checked_by_name(name):
    block = get_block(name)
    with pytest.raises(SparsimInputError, match="unknown parameter"):
        block.check_params({"no_such_parameter": 1}, "test")
    assert set(block.check_params({}, "test")) == set(block.params)
    sweepable = {k for k, p in block.params.items() if p.sweep}
    assert set(block.names()) == set(block.config_fields()) | sweepable


def test_unknown_block_is_one_line():
    with pytest.raises(SparsimInputError, match="allowed: nm_array, sat, spgemm, mobile, llm"):
        get_block("systolic")


@pytest.mark.parametrize("name", list(REGISTRY))
def test_run_takes_only_declared_parameters(name):
    """``run`` checks like the CLI: an undeclared keyword, a bad value or a config shorthand is one
    SparsimInputError, never a raw TypeError or ValueError from deep inside."""
    block = get_block(name)
    workload, fields = _workload(name)
    cfg, _ = block.build(fields)
    with pytest.raises(SparsimInputError, match="unknown parameter"):
        block.run(workload, cfg, source="x.csv")
    with pytest.raises(SparsimInputError, match="config"):
        block.run(workload, object())
    shorthand = [k for k, p in block.params.items() if p.config_only]
    for k in shorthand:
        with pytest.raises(SparsimInputError, match="config shorthand"):
            block.run(workload, cfg, **{k: 128})


def test_run_refuses_a_malformed_nm():
    block = get_block("nm_array")
    workload, fields = _workload("nm_array")
    cfg, _ = block.build(fields)
    with pytest.raises(SparsimInputError, match="nm"):
        block.run(workload, cfg, nm="2-4")


def test_a_renamed_block_says_its_new_name():
    with pytest.raises(SparsimInputError, match="renamed spgemm"):
        get_block("piuma")

"""The mapper's closed-form costs equal the fold model's on random GEMMs, tilings, dataflows,
buffers and N:M ratios: compute cycles, every DRAM byte count, every SRAM access count."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from dataflow.nm_array.cost import Gemm, closed_form
from dataflow.nm_array.dataflows import get_dataflow
from dataflow.nm_array.mapping import Mapping
from dataflow.nm_array.schedule import ORDERS, Tiling, condensed_rows
from simulator.nm_array.config import ArrayConfig, Buffers, PEArray
from simulator.nm_array.fold import simulate_gemms
from tests.dataflow.rows import gemm_row as _row

NM = [(1, 1), (2, 4), (1, 4), (1, 8), (2, 8)]


@st.composite
def cases(draw):
    df = draw(st.sampled_from(["ws", "os", "is"]))
    n, m = draw(st.sampled_from(NM))
    compat = draw(st.sampled_from(["native", "scalesim"])) if df == "ws" or n == m else "native"
    cfg = ArrayConfig(
        pe=PEArray(
            rows=draw(st.integers(1, 9)),
            cols=draw(st.integers(1, 9)),
            dataflow=df,
            weight_double_buffer=draw(st.booleans()),
            supported_m=(1, 4, 8),
            word_bytes=draw(st.sampled_from([1, 2])),
            psum_bytes=draw(st.sampled_from([1, 4])),
        ),
        buffers=Buffers(
            ifmap_kb=draw(st.sampled_from([0.0625, 0.5, 4.0, 64.0])),
            filter_kb=draw(st.sampled_from([0.0625, 0.5, 4.0, 64.0])),
            ofmap_kb=draw(st.sampled_from([0.0625, 0.5, 4.0, 64.0])),
        ),
    )
    p, k, ncol = draw(st.integers(1, 40)), draw(st.integers(1, 60)), draw(st.integers(1, 40))
    copies = draw(st.integers(1, 3))
    kc = condensed_rows(k, n, m, compat)
    tiling = Tiling(pt=draw(st.integers(1, p)), kt=draw(st.integers(1, kc)), nt=draw(st.integers(1, ncol)),
                    order=draw(st.sampled_from(ORDERS)))  # fmt: skip
    return cfg, Gemm(p, k, kc, ncol, copies, n, m, compat, p * k + draw(st.integers(0, 50))), tiling


@given(cases())
def test_closed_form_equals_the_fold_model(case):
    cfg, g, tiling = case
    df = get_dataflow(cfg.pe.dataflow)
    s = simulate_gemms(_row(g), cfg, mappings=[Mapping(cfg.pe.dataflow, tiling)]).iloc[0]
    cf = closed_form(df, g, cfg, np.array([tiling.pt]), np.array([tiling.kt]), np.array([tiling.nt]), tiling.order)
    for key in ("folds", "compute_cycles", "dram_ifmap_bytes", "dram_filter_bytes", "dram_ofmap_bytes",
                "dram_psum_read_bytes", "sram_ifmap_reads", "sram_filter_reads", "sram_ofmap_writes"):  # fmt: skip
        assert float(cf[key][0]) == float(s[key]), key

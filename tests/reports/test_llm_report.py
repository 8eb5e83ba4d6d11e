"""``sparsim reproduce llm --quick``: the report is written from the run's own numbers."""

from __future__ import annotations

import pandas as pd

from simulator.cli import main


def test_quick_report(tmp_path):
    out = tmp_path / "llm"
    assert main(["reproduce", "llm", "--quick", "--out", str(out)]) == 0
    tot = pd.read_csv(out / "totals.csv")
    assert len(tot) == 8 and set(tot.nm) == {"dense", "2:4"}
    assert (tot.prefill_bound_ratio >= 1).all() and (tot.decode_bound_ratio >= 1).all()
    steps = pd.read_csv(out / "steps.csv")
    assert set(steps.phase) == {"prefill", "decode"} and (steps.cycles >= steps.bound_cycles - 1).all()
    sp = pd.read_csv(out / "speedups.csv")
    # 2:4 never slows a phase down, and it reads fewer bytes (byte ratio above 1)
    assert (sp.decode_speedup >= 1).all() and (sp.prefill_speedup >= 1).all() and (sp.byte_ratio_bound > 1).all()
    text = (out / "README.md").read_text()
    assert "Quick run" in text and f"{sp.decode_speedup.iloc[0]:.2f}x" in text
    assert (out / "roofline.png").stat().st_size > 1000

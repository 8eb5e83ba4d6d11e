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


def test_the_committed_study_is_its_own_numbers_rendered():
    """``reports/reference/llm/``: the README is what the report renders from the committed CSVs
    (no number typed in by hand), every point is at or above its bound, and the prefill text
    states the traffic that limits it."""
    from pathlib import Path

    from reports import llm_report as r
    from simulator.dram.config import load_dram

    ref = Path(__file__).resolve().parents[2] / "reports" / "reference" / "llm"
    totals, steps = pd.read_csv(ref / "totals.csv"), pd.read_csv(ref / "steps.csv")
    sp, pruning = pd.read_csv(ref / "speedups.csv"), pd.read_csv(ref / "pruning.csv")
    cap = load_dram(r.SYSTEM["memory.dram"], channels=r.SYSTEM["memory.channels"]).capacity_bytes
    skipped = [(b, s, nm or "dense", *r._fits(b, s, (2, 4) if nm else (1, 1), cap)[1:], cap)
               for b in r.GRID["batch"] for s in r.GRID["context"] for nm in (None, "2:4")
               if not r._fits(b, s, (2, 4) if nm else (1, 1), cap)[0]]  # fmt: skip
    assert len(totals) + len(skipped) == len(r.GRID["batch"]) * len(r.GRID["context"]) * 2
    assert (ref / "README.md").read_text() == r._markdown(totals, steps, sp, skipped, pruning, False)
    assert (steps.cycles >= steps.bound_cycles - 1).all() and (totals.decode_bound_ratio >= 1).all()
    assert "limited by the bytes it moves" in (ref / "README.md").read_text()

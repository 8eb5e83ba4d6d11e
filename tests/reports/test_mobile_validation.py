"""``sparsim reproduce mobile-validation --quick``: the report is written from the run's own numbers."""

from __future__ import annotations

import pandas as pd

from reports.mobile_validation import MODELS, PHONES, PUBLISHED, SOURCES, phone_core, validation_table
from simulator.cli import main
from workloads.mobile_models import MOBILE_MODELS


def test_published_rows_name_known_phones_and_sources():
    for source, phone, model, ms in PUBLISHED:
        assert source in SOURCES and phone in PHONES and model in MODELS and model in MOBILE_MODELS and ms > 0
    assert phone_core("Pixel 2 / 2 XL (SD835)").clock_ghz == 2.35


def test_error_is_modelled_over_published():
    runs = pd.DataFrame([{"phone": "Pixel 3a (SD670)", "model": "mobilenet_v1", "modelled_ms": 99.0}])
    t = validation_table(runs)
    assert len(t) == 1 and abs(t.error.iloc[0] - (99.0 / 88.0 - 1)) < 1e-12 and t.within_20pct.iloc[0]


def test_quick_report(tmp_path):
    out = tmp_path / "mv"
    assert main(["reproduce", "mobile-validation", "--quick", "--out", str(out)]) == 0
    runs = pd.read_csv(out / "modelled.csv")
    val = pd.read_csv(out / "validation.csv")
    assert set(runs.phone) == {"Xiaomi Mi 9 (SD855)", "Pixel 3a (SD670)"}
    # the A75 at 2.0 GHz with 64-bit ASIMD pipes takes more cycles and more time than the A76
    a76 = runs[runs.preset == "a76"].modelled_ms.iloc[0]
    a75 = runs[runs.preset == "a75"].modelled_ms.iloc[0]
    assert a75 > a76 * 2.84 / 2.0
    text = (out / "README.md").read_text()
    assert "Quick mode" in text and f"{val.modelled_ms.iloc[0]:.2f}" in text
    assert (out / "validation.png").stat().st_size > 1000

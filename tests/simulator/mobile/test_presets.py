"""Core presets: every field set and cited, the a76 preset is the default core, and the presets
differ where the microarchitectures do."""

from __future__ import annotations

import dataclasses
import re

import pytest

from simulator.common.errors import SparsimInputError
from simulator.mobile.config import PRESET_DIR, CoreConfig, class_masks, load_core, presets


def test_the_four_presets_ship():
    assert set(presets()) >= {"a76", "a75", "a73", "a55"}


@pytest.mark.parametrize("name", presets())
def test_every_field_is_set_and_cited(name):
    text = (PRESET_DIR / f"{name}.yaml").read_text()
    defined = set(re.findall(r"^#\s+\[(\w+)\]", text, flags=re.M))
    keys = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, rest = line.split(":", 1)
        cites = re.findall(r"\[(\w+)\]", rest.split("#", 1)[1]) if "#" in rest else []
        assert cites, f"{name}.yaml: {key} has no citation"
        assert set(cites) <= defined, f"{name}.yaml: {key} cites {cites}, defined {sorted(defined)}"
        keys[key.strip()] = True
    assert set(keys) == {f.name for f in dataclasses.fields(CoreConfig)}


def test_a76_preset_is_the_default_core():
    assert load_core("a76") == CoreConfig() == load_core(None)


def test_presets_differ_where_the_cores_do():
    a76, a75, a73, a55 = (load_core(n) for n in ("a76", "a75", "a73", "a55"))
    assert class_masks(a76)["fmla"] != class_masks(a75)["fmla"]  # 128-bit vs 2 x 64-bit ASIMD
    assert a73.l3_kb == 0 and a73.l2_kb == 2048
    assert a55.in_order and not a75.in_order and a55.q_load_issue_cycles == 2
    assert (a76.decode_width, a75.decode_width, a73.decode_width, a55.decode_width) == (4, 3, 2, 2)


def test_a_file_path_still_loads(tmp_path):
    f = tmp_path / "mine.yaml"
    f.write_text((PRESET_DIR / "a75.yaml").read_text().replace("clock_ghz: 2.0 ", "clock_ghz: 2.2 "))
    assert load_core(f).clock_ghz == 2.2
    with pytest.raises(SparsimInputError, match="a preset"):
        load_core("cortex-x9")

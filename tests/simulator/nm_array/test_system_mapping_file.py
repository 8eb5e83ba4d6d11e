"""Mapping files on a system of arrays (issue 29 item 7): a record maps every array's part of a
layer, or, with ``array``, one array's part."""

from __future__ import annotations

import pandas as pd
import pytest

from simulator import simulate
from simulator.common.errors import SparsimInputError

ARCH = {
    "pe": {"rows": 16, "cols": 16, "dataflow": "ws", "dataflows": ["ws", "os"]},
    "system": {"arrays": 2, "shapes": ["16x16", "32x8"], "partition": "split_m"},
}


def _records(layers: pd.DataFrame, dataflow: str, array: int | None = None) -> list[dict]:
    out = []
    for r in layers.itertuples():
        rec = {"layer": int(r.layer), "name": r.name, "dataflow": dataflow, "tile_p": 0, "tile_k": 0, "tile_n": 0,
               "loop_order": "plain"}  # fmt: skip
        if array is not None:
            rec["array"] = array
        out.append(rec)
    return out


def _write(path, records) -> str:
    import yaml

    path.write_text(yaml.safe_dump({"mappings": records}, sort_keys=False))
    return str(path)


@pytest.fixture(scope="module")
def plain():
    return simulate("zoo:resnet18", ARCH)


def test_a_file_of_the_plain_mappings_gives_the_plain_run(plain, tmp_path):
    f = _write(tmp_path / "m.yaml", _records(plain.table, "ws"))
    pinned = simulate("zoo:resnet18", ARCH, mapping=f)
    assert pinned.table["cycles"].tolist() == plain.table["cycles"].tolist()
    assert pinned.arrays.equals(plain.arrays)


def test_an_array_record_maps_only_that_arrays_part(plain, tmp_path):
    """Array 1 output-stationary, array 0 as before: array 0's parts are unchanged wherever the
    split is the same, and the run differs from the plain one."""
    f = _write(tmp_path / "m.yaml", _records(plain.table, "ws") + _records(plain.table, "os", array=1))
    mixed = simulate("zoo:resnet18", ARCH, mapping=f)
    assert mixed.table["cycles"].tolist() != plain.table["cycles"].tolist()
    a1 = mixed.arrays[mixed.arrays["array"] == 1]
    assert len(a1) > 0


def test_a_part_without_a_record_and_an_unknown_array_are_refused(plain, tmp_path):
    only0 = _write(tmp_path / "a.yaml", _records(plain.table, "ws", array=0))
    with pytest.raises(SparsimInputError) as err:
        simulate("zoo:resnet18", ARCH, mapping=only0)
    assert "array 1" in err.value.value and "a record for every layer" in err.value.allowed
    bad = _write(tmp_path / "b.yaml", _records(plain.table, "ws") + _records(plain.table.iloc[:1], "ws", array=2))
    with pytest.raises(SparsimInputError) as err:
        simulate("zoo:resnet18", ARCH, mapping=bad)
    assert err.value.field == "array" and "0 to 1" in err.value.allowed


def test_a_single_array_refuses_an_array_column(plain, tmp_path):
    f = _write(tmp_path / "m.yaml", _records(plain.table, "ws", array=0))
    with pytest.raises(SparsimInputError) as err:
        simulate("zoo:resnet18", {"pe": {"rows": 16, "cols": 16}}, mapping=f)
    assert err.value.field == "array"

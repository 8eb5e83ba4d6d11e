"""Sweep specs: axis forms, sampling, point keys, and bad specs refused before any point runs."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from simulator.common.errors import SparsimInputError
from simulator.sweeps.spec import expand, load_spec, parse_spec
from tests.conftest import REPO
from tests.simulator.sweeps.fixtures import sparsim

BASE = {
    "block": "nm_array",
    "base": {"pe.rows": 32, "pe.cols": 32},
    "axes": {"pe.rows": [16, 32]},
    "workloads": [{"zoo": "resnet18"}],
}


def spec(tmp_path: Path, **over) -> Path:
    data = {**BASE, **over}
    p = tmp_path / "s.yaml"
    p.write_text(yaml.safe_dump(data, sort_keys=False))
    return p


def test_axis_forms_expand_to_the_stated_values(tmp_path):
    s = load_spec(
        spec(
            tmp_path,
            axes={"pe.rows": {"range": [8, 32], "step": 8}, "pe.cols": {"log2": [10, 64]}, "nm": ["1:1", "2:4"]},
        )
    )
    assert [a.values for a in s.axes] == [(8, 16, 24, 32), (16, 32, 64), ("1:1", "2:4")]
    tasks = expand(s)
    assert len(tasks) == 4 * 3 * 2
    assert len({t.key for t in tasks}) == len(tasks)
    assert {(t.axes["pe.rows"], t.axes["pe.cols"], t.axes["nm"]) for t in tasks} == {
        (r, c, n) for r in (8, 16, 24, 32) for c in (16, 32, 64) for n in ("1:1", "2:4")
    }


def test_nm_point_gets_the_cheapest_array_and_its_area(tmp_path):
    tasks = expand(load_spec(spec(tmp_path, axes={"nm": ["1:1", "2:4", "2:8"]})))
    assert [t.config["pe.supported_m"] for t in tasks] == [[1], [1, 4], [1, 8]]
    s = load_spec(
        spec(tmp_path, base={"pe.rows": 32, "pe.cols": 32, "pe.supported_m": [1, 2, 4, 8]}, axes={"nm": ["1:1", "2:8"]})
    )
    assert [t.config["pe.supported_m"] for t in expand(s)] == [[1, 2, 4, 8]] * 2


@given(n=st.integers(1, 40), seed=st.integers(0, 2**31))
def test_latin_hypercube_puts_one_point_in_every_stratum(tmp_path_factory, n, seed):
    d = tmp_path_factory.mktemp("lhs")
    s = load_spec(
        spec(
            d,
            block="sat",
            base={"pe.rows": 16, "pe.cols": 16},
            axes={"clock_ghz": {"uniform": [0.1, 0.5]}},
            sampling={"method": "lhs", "points": n, "seed": seed},
        )
    )
    clocks = np.array([t.config["clock_ghz"] for t in expand(s)])
    assert len(clocks) == n
    strata = np.floor((clocks - 0.1) / 0.4 * n).astype(int)
    assert sorted(strata.tolist()) == list(range(n))


def test_random_sampling_is_seeded(tmp_path):
    def keys(seed):
        s = load_spec(
            spec(
                tmp_path,
                axes={"pe.rows": {"range": [4, 128], "step": 4}, "pe.cols": [8, 16, 32]},
                sampling={"method": "random", "points": 30, "seed": seed},
            )
        )
        return [t.key for t in expand(s)]

    assert keys(3) == keys(3)
    assert keys(3) != keys(4)


def test_loguniform_integer_axis_stays_in_bounds(tmp_path):
    s = load_spec(
        spec(
            tmp_path,
            axes={"pe.rows": {"loguniform": [64, 4096], "integer": True}},
            sampling={"method": "lhs", "points": 50, "seed": 1},
        )
    )
    rows = [t.config["pe.rows"] for t in expand(s)]
    assert len(rows) == 50 and all(isinstance(r, int) and 64 <= r <= 4096 for r in rows)
    # log-uniform Latin hypercube: half the strata lie below the geometric mean
    assert abs(sum(r < math.sqrt(64 * 4096) for r in rows) - 25) <= 1


def test_keys_are_content_hashes(tmp_path):
    a = expand(load_spec(spec(tmp_path)))
    b = expand(load_spec(spec(tmp_path, name="other", axes={"pe.rows": [32, 16, 64]})))
    assert {t.key for t in a} < {t.key for t in b}
    trace = tmp_path / "t.csv"
    from workloads.zoo import TRACE_DIR

    text = (TRACE_DIR / "resnet18.csv").read_text()
    trace.write_text(text)
    k1 = expand(load_spec(spec(tmp_path, workloads=[{"trace": "t.csv"}])))[0].key
    trace.write_text(text.replace("stem.0.0,conv,1,224,224,3,64", "stem.0.0,conv,1,224,224,3,32"))
    k2 = expand(load_spec(spec(tmp_path, workloads=[{"trace": "t.csv"}])))[0].key
    assert k1 != k2


def test_baseline_that_is_a_sweep_point_is_one_task(tmp_path):
    tasks = expand(
        load_spec(spec(tmp_path, baselines={"b32": {"pe.rows": 32}, "b8": {"pe.rows": 8}}, derived={"speedup": "b32"}))
    )
    assert len(tasks) == 3
    assert sorted(t.baseline for t in tasks) == ["", "b32", "b8"]
    assert next(t for t in tasks if t.baseline == "b8").axes == {"pe.rows": 8}


BAD = [
    ({"axes": {"rowz": [16]}}, "axes.rowz"),
    ({"axes": {"pe.rows": {"range": [64, 16], "step": 16}}}, "empty range"),
    ({"axes": {"pe.rows": {"log2": [5, 7]}}}, "empty range"),
    ({"axes": {"pe.rows": []}}, "non-empty list"),
    ({"axes": {"pe.rows": [16, 0]}}, "axes.pe.rows = 0"),
    ({"axes": {"nm": ["2:4", "5:4"]}}, "nm"),
    ({"base": {"pe.rows": 8, "pe.cols": 8, "pe.supported_m": [1, 2]}, "axes": {"nm": ["2:4"]}}, "supported_m"),
    ({"base": {"pe.cols": 8}, "axes": {"nm": ["2:4"]}}, "base.pe.rows = None: required"),
    ({"axes": {"pe.rows": {"uniform": [4, 8]}}}, "grid sampling needs listed values"),
    ({"workloads": [{"zoo": "resnet19"}]}, "zoo = 'resnet19'"),
    ({"metrics": ["cycles", "joules"]}, "metrics = 'joules'"),
    ({"derived": {"speedup": "nope"}}, "derived.speedup"),
    (
        {
            "block": "spgemm",
            "base": {},
            "axes": {"threads_per_core": [8]},
            "workloads": [{"matrix": "er8"}],
            "derived": {"perf_per_area": True},
        },
        "area model",
    ),
    (
        {"block": "spgemm", "base": {}, "axes": {"scratchpad_banks": [16, 12]}, "workloads": [{"matrix": "er8"}]},
        "power of two",
    ),
    ({"sampling": {"method": "lhs", "points": 0}}, "sampling.points"),
    ({"simulator": "rtl"}, "simulator = 'rtl'"),
]


@pytest.mark.parametrize("over,needle", BAD, ids=[b[1] for b in BAD])
def test_bad_specs_fail_with_one_line_before_any_point(tmp_path, over, needle):
    p = spec(tmp_path, **over)
    with pytest.raises(SparsimInputError) as e:
        expand(load_spec(p))
    assert needle in str(e.value)
    out = tmp_path / "out"
    r = sparsim("sweep", p, "--out", out)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sparsim: error:") and needle in lines[0], r.stderr
    assert not out.exists()


def test_error_names_the_point_and_the_axis(tmp_path):
    with pytest.raises(SparsimInputError) as e:
        expand(load_spec(spec(tmp_path, axes={"pe.rows": [16], "pe.cols": [8, 5000]})))
    msg = str(e.value)
    assert "point 1 (pe.rows=16, pe.cols=5000)" in msg and "axes.pe.cols = 5000" in msg and "1 to 4096" in msg


def test_parse_spec_rejects_a_non_mapping():
    with pytest.raises(SparsimInputError, match="YAML mapping"):
        parse_spec([1, 2], "x.yaml")


EXAMPLES = REPO / "examples" / "sweeps"
EXAMPLE_NAMES = sorted(p.name for p in EXAMPLES.glob("*.yaml"))


def test_the_examples_are_found():
    assert len(EXAMPLE_NAMES) >= 4


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_example_sweeps_are_valid_and_expand(name):
    path = EXAMPLES / name
    tasks = expand(load_spec(path))
    assert len(tasks) >= 12 and len({t.key for t in tasks}) == len(tasks)
    assert any(t.baseline for t in tasks)


def test_sram_kb_sets_every_buffer_also_for_a_dense_training_baseline(tmp_path):
    s = load_spec(
        spec(
            tmp_path,
            block="sat",
            base={"pe.rows": 16, "pe.cols": 16},
            axes={"nm": ["2:8"], "sram_kb": [128]},
            baselines={"dense": {"scheme": "dense", "sram_kb": 256}},
        )
    )
    t = {x.baseline: x.config for x in expand(s)}
    assert [t[""][k] for k in ("buffers.ifmap_kb", "buffers.filter_kb", "buffers.ofmap_kb")] == [128] * 3
    assert [t["dense"][k] for k in ("buffers.ifmap_kb", "buffers.filter_kb", "buffers.ofmap_kb")] == [256] * 3
    assert (t[""]["pe.supported_m"], t["dense"]["pe.supported_m"]) == ([1, 8], [1, 2, 4, 8])

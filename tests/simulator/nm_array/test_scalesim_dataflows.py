"""SCALE-Sim v3 parity for its OS and IS dataflows: ``sparsim simulate`` on SCALE-Sim's own ``.cfg``
files (``Dataflow : os`` / ``is``) reproduces its per-layer Total Cycles, SRAM IFMAP reads, Filter
reads and OFMAP writes exactly, and its utilisation columns.

The golden reports (``golden/scalesim/<config>/``) are our runs of SCALE-Sim 3.0.0 (numpy < 2.4,
``save_disk_space=True`` so it writes no per-cycle traces) on ResNet-18 from ../shared/scalesim;
``golden/scalesim/README.md`` says how to regenerate them.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from simulator.cli import main
from simulator.nm_array.scalesim_reports import read_scalesim_csv

GOLDEN = Path(__file__).parent / "golden" / "scalesim"
CONFIGS = sorted(p.name for p in GOLDEN.iterdir() if p.is_dir() and (p / "COMPUTE_REPORT.csv").is_file())


_csv = read_scalesim_csv


def test_golden_runs_cover_os_and_is_at_two_array_shapes():
    assert {"os32x32", "is32x32", "os8x16", "is8x16"} <= set(CONFIGS)


@pytest.fixture(scope="module", params=CONFIGS)
def run(request, scalesim_dir, tmp_path_factory):
    name = request.param
    out = tmp_path_factory.mktemp(name) / "out"
    rc = main(["simulate", "--arch", str(GOLDEN / f"scale_{name}.cfg"),
               "--workload", str(scalesim_dir / "topologies" / "resnet18.csv"), "--out", str(out)])  # fmt: skip
    assert rc == 0
    return name, out


def test_total_cycles_and_sram_accesses_exact(run):
    name, out = run
    ref = _csv(GOLDEN / name / "COMPUTE_REPORT.csv")
    det = _csv(GOLDEN / name / "DETAILED_ACCESS_REPORT.csv")
    ours = _csv(out / "COMPUTE_REPORT.csv")
    layers = pd.read_csv(out / "layers.csv")
    assert len(ours) == len(ref) == 21
    assert ours["Total Cycles"].tolist() == ref["Total Cycles"].tolist()
    assert layers["dataflow"].unique().tolist() == [name[:2]]
    for col, theirs in (("sram_ifmap_reads", "SRAM IFMAP Reads"), ("sram_filter_reads", "SRAM Filter Reads"),
                        ("sram_ofmap_writes", "SRAM OFMAP Writes")):  # fmt: skip
        assert layers[col].tolist() == det[theirs].astype(float).tolist(), col


@pytest.mark.parametrize("col", ["Overall Util %", "Mapping Efficiency %", "Compute Util %"])
def test_utilisation_columns(run, col):
    name, out = run
    ref = _csv(GOLDEN / name / "COMPUTE_REPORT.csv")
    assert _csv(out / "COMPUTE_REPORT.csv")[col].tolist() == pytest.approx(ref[col].tolist(), rel=1e-9)

"""The house's floors hold (``lint-imports`` with the contracts in pyproject.toml), and a
deliberately added upward import breaks them: the check can fail."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGES = ("simulator", "dataflow", "workloads", "reports", "rtl")


def _lint(root: Path) -> subprocess.CompletedProcess:
    exe = shutil.which("lint-imports")
    if exe is None:
        pytest.fail("lint-imports is not installed: it comes with the dev extra (import-linter)")
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([exe, "--no-cache"], cwd=root, env=env, capture_output=True, text=True, timeout=300)


def _copy(tmp: Path) -> Path:
    root = tmp / "house"
    for pkg in PACKAGES:
        shutil.copytree(REPO / pkg, root / pkg, ignore=shutil.ignore_patterns("__pycache__", "*.csv", "*.yaml"))
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    return root


def test_the_floors_hold():
    res = _lint(REPO)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "broken" in res.stdout and "0 broken" in res.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("workloads/layers.py", "import simulator.nm_array.fold", "Floors"),
        ("dataflow/nm_array/mapper.py", "from simulator.sweeps import spec", "Floors"),
        ("simulator/nm_array/config.py", "import simulator.nm_array.fold", "Leaves"),
        ("reports/sweep_report.py", "import simulator.nm_array.fold", "Reports run blocks"),
        ("rtl/nm_array/design.py", "import simulator.nm_array.cl", "RTL designs"),
    ],
)
def test_an_upward_import_breaks_a_contract(tmp_path, module, line, contract):
    root = _copy(tmp_path)
    path = root / module
    path.write_text(path.read_text() + f"\n{line}  # noqa: E402, F401 - deliberately upward\n")
    res = _lint(root)
    assert res.returncode != 0, res.stdout
    broken = res.stdout[res.stdout.index("Broken contracts"):] if "Broken contracts" in res.stdout else res.stdout
    assert contract in broken, res.stdout
    # the copy, not the installed checkout, was analysed
    assert str(REPO) not in res.stdout


def test_the_copy_itself_holds(tmp_path):
    """The copy the test above breaks is clean before the line is added (so the line is the cause)."""
    res = _lint(_copy(tmp_path))
    assert res.returncode == 0, res.stdout + res.stderr

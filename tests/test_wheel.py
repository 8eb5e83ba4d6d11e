"""sparsim installed from a built wheel, not the checkout: every subcommand, a training step, a
sweep and the Python API run from a fresh virtual environment in a folder that is not the
checkout, reading only what the wheel ships (package data: area table, presets, zoo traces).

The venv sees the already-installed third-party dependencies (``--system-site-packages``) so the
test needs no network; sparsim itself comes only from the wheel (checked: ``simulator.__file__``
lies in the venv).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel_env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wheel")
    dist, src = tmp / "dist", tmp / "src"
    # build from a copy of the tracked files: setuptools writes build/ into the tree it builds, and
    # a stale build/ in the checkout would leak into the wheel
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        if (REPO / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, src / name)
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(dist), str(src)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-2000:]
    wheels = list(dist.glob("sparsim-*.whl"))
    assert len(wheels) == 1, wheels
    env_dir = tmp / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    inst = subprocess.run([str(py), "-m", "pip", "install", "--no-deps", "--no-index", str(wheels[0])],
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert inst.returncode == 0, inst.stdout[-2000:] + inst.stderr[-2000:]
    work = tmp / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    env["PATH"] = f"{env_dir / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["SPARSIM_RTL_BUILD"] = str(tmp / "sim_build")
    return py, env_dir, work, env, wheels[0]


def _run(env_info, *argv: str, timeout: int = 900) -> subprocess.CompletedProcess:
    py, env_dir, work, env, _ = env_info
    res = subprocess.run([str(env_dir / "bin" / "sparsim"), *argv], cwd=work, env=env, capture_output=True,
                         text=True, timeout=timeout)  # fmt: skip
    assert res.returncode == 0, f"sparsim {' '.join(argv)}:\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    assert "Traceback" not in res.stderr
    return res


def test_the_wheel_ships_its_data(wheel_env):
    import zipfile

    names = set(zipfile.ZipFile(wheel_env[4]).namelist())
    for needed in ("simulator/nm_array/data/rtl_area.csv", "simulator/nm_array/presets/nm_ws32x32.yaml",
                   "simulator/dram/presets/ddr4-3200.yaml", "simulator/mobile/presets/a76.yaml",
                   "workloads/zoo_traces/resnet18.csv"):  # fmt: skip
        assert needed in names, needed
    assert not any(n.startswith(("tests/", "docs/", "reports/reference/")) for n in names)


def test_the_api_comes_from_the_wheel(wheel_env):
    py, env_dir, work, env, _ = wheel_env
    code = ("import simulator, sys; from simulator import simulate\n"
            "r = simulate('zoo:resnet18', 'nm_ws32x32', nm='2:4')\n"
            "print(simulator.__file__); print(r.totals['cycles'], r.totals['area_mm2'] > 0)")  # fmt: skip
    res = subprocess.run([str(py), "-c", code], cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    where, numbers = res.stdout.strip().splitlines()[-2:]
    assert str(env_dir) in where and str(REPO) not in where
    assert numbers.endswith("True")


def test_every_subcommand_runs_from_the_wheel(wheel_env):
    work = wheel_env[2]
    _run(wheel_env, "--version")
    out = _run(wheel_env, "simulate", "--arch", "nm_ws32x32", "--workload", "zoo:resnet18", "--out", "sim").stdout
    assert "total: 21 layers" in out and (work / "sim" / "COMPUTE_REPORT.csv").is_file()
    out = _run(wheel_env, "simulate", "--arch", "nm_ws32x32", "--workload", "zoo:resnet18", "--training", "bdwp",
               "--nm", "2:8", "--out", "train").stdout  # fmt: skip
    assert "GOPS/W" in out
    _run(wheel_env, "trace", "resnet18", "--out", "r18.csv")
    _run(wheel_env, "spgemm", "--list")
    _run(wheel_env, "spgemm", "--algorithm", "hash", "--matrix", "rmat8", "--out", "spg")
    _run(wheel_env, "mobile", "--model", "mobilenet_v1", "--engine", "dense", "--input", "3,32,32", "--out", "mob")
    (work / "arch_ddr4.yaml").write_text("pe.rows: 16\npe.cols: 16\nmemory.dram: ddr4-3200\n")
    _run(wheel_env, "dram", "trace", "--arch", "arch_ddr4.yaml", "--workload", "zoo:resnet18", "--out", "traces")
    first = sorted((work / "traces").glob("*.trace"))[0]
    _run(wheel_env, "dram", "replay", "--trace", str(first), "--dram", "ddr4-3200", "--out", "replay")
    (work / "spec.yaml").write_text("block: nm_array\nbase: {pe.rows: 8}\naxes:\n  pe.cols: [8, 16]\n"
                                    "workloads: [{zoo: resnet18}]\n")  # fmt: skip
    _run(wheel_env, "sweep", "spec.yaml", "--out", "sw", "--jobs", "1")
    _run(wheel_env, "report", "sw")
    assert (work / "sw" / "report" / "report.html").is_file()
    _run(wheel_env, "rtl", "generate", "nm_array", "--rows", "2", "--cols", "2", "--n", "2", "--m", "4", "--out", "v")
    _run(wheel_env, "reproduce", "dataflows", "--quick", "--out", "repro")
    assert (work / "repro" / "totals.csv").is_file()

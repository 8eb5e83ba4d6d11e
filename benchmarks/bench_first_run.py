"""How long each command of the README's tour takes on a fresh install (cold: numba has compiled
nothing yet) and on the second run (warm: numba's cache is filled), and which extra it needs.

Builds a wheel from the tracked files, installs it into a fresh virtual environment that sees the
installed dependencies (``--system-site-packages``, no network), and times every command twice
there, in an empty folder. Prints one table and writes ``benchmarks/results/bench_first_run.csv``.

Timing on this shared machine is noisy: compare cold against warm within one run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

from _report import report, run_measured

REPO = Path(__file__).resolve().parents[1]

#: (label, extra it needs, argv after `sparsim`); each runs in the same empty folder, twice
TOUR = [
    ("simulate ResNet-18", "-", ["simulate", "--arch", "nm_ws32x32", "--workload", "zoo:resnet18", "--out", "r18"]),
    ("simulate --mapping auto", "-", ["simulate", "--arch", "nm_ws32x32", "--workload", "zoo:resnet18",
                                      "--mapping", "auto", "--out", "r18auto"]),
    ("simulate --training bdwp (ResNet-50, batch 32)", "-",
     ["simulate", "--arch", "nm_ws32x32", "--workload", "zoo:resnet50", "--batch", "32", "--training", "bdwp",
      "--nm", "2:8", "--out", "r50"]),
    ("trace resnet50", "torch", ["trace", "resnet50", "--batch", "32", "--out", "r50.csv", "--force"]),
    ("spgemm smash_v2 bar", "-", ["spgemm", "--algorithm", "smash_v2", "--matrix", "bar", "--out", "bar"]),
    ("mobile mobilenet_v1 group 30%", "torch", ["mobile", "--model", "mobilenet_v1", "--engine", "group",
                                               "--sparsity", "0.3", "--out", "mnv1"]),
    ("dram trace ResNet-18 (DDR4-3200)", "-", ["dram", "trace", "--arch", "ARCH_DDR4", "--workload", "zoo:resnet18",
                                              "--out", "traces"]),
    ("sweep sat_resnet50_training (145 points)", "-", ["sweep", "SPEC_SAT", "--out", "sat_r50", "--jobs", "2",
                                                       "--progress", "off"]),
    ("report of that sweep", "-", ["report", "sat_r50"]),
    ("rtl generate nm_array 3x5", "-", ["rtl", "generate", "nm_array", "--rows", "3", "--cols", "5", "--n", "2",
                                        "--m", "8", "--out", "rtl"]),
]  # fmt: skip


def _wheel_venv(tmp: Path) -> Path:
    src, dist, env = tmp / "src", tmp / "dist", tmp / "venv"
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        if (REPO / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, src / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(dist),
                    str(src)], check=True)  # fmt: skip
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env)
    wheel = next(dist.glob("sparsim-*.whl"))
    subprocess.run([str(env / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
                   check=True)  # fmt: skip
    return env


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(REPO / "benchmarks/results/bench_first_run.csv"))
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="sparsim-first-run-") as t:
        tmp = Path(t)
        env = _wheel_venv(tmp)
        work = tmp / "work"
        work.mkdir()
        (work / "arch_ddr4.yaml").write_text("pe.rows: 32\npe.cols: 32\nmemory.dram: ddr4-3200\n")
        os.environ["PATH"] = f"{env / 'bin'}{os.pathsep}{os.environ['PATH']}"
        for label, extra, cmd in TOUR:
            named = {"ARCH_DDR4": "arch_ddr4.yaml",
                     "SPEC_SAT": str(REPO / "examples/sweeps/sat_resnet50_training.yaml")}  # fmt: skip
            cmd = [str(env / "bin" / "sparsim"), *[named.get(a, a) for a in cmd]]
            times = []
            for _ in range(2):
                out = cmd[cmd.index("--out") + 1] if "--out" in cmd else None
                if out and (work / out).is_dir() and cmd[1] != "report":
                    shutil.rmtree(work / out)
                if cmd[1] == "report" and (work / "sat_r50" / "report").is_dir():
                    shutil.rmtree(work / "sat_r50" / "report")
                wall, rss, rc, text = run_measured(cmd, work)
                if rc:
                    print(text[-2000:], file=sys.stderr)
                times.append(wall)
            rows.append((label, times[0], round(times[1], 2), extra, f"{rss:.0f} MB"))
    report(rows, ("command (fresh wheel install)", "cold s", "warm s", "extra", "peak RSS (warm)"), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

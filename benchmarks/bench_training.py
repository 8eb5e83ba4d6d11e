"""Speed and memory of the training-step model and of tracing (targets of the N:M training issue).

Prints a table and writes ``benchmarks/results/bench_training.csv``:

1. ResNet-50 training step (FF, BP, WU; BDWP 2:8, all SAT options) at batch 32 on a 32x32 array:
   simulation time after warm-up (median; target < 2 s) and the peak memory of a fresh process
   doing it (target < 500 MB);
2. tracing ResNet-50 at batch 32 from the torch zoo (meta device; target < 10 s), in a fresh
   process so torch's import is included.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from _report import report, run_measured

REPO = Path(__file__).resolve().parents[1]

_STEP = """
import time
from reports.sat_report import SAT_ARRAY
from simulator.sat.cl import simulate_training_step
from workloads.zoo import load_zoo_trace
layers = load_zoo_trace("resnet50", batch=32)
simulate_training_step(layers, SAT_ARRAY, scheme="bdwp", nm=(2, 8))
"""
_TRACE = """
import time
t0 = time.perf_counter()
from workloads.zoo import trace_zoo
tr = trace_zoo("resnet50", batch=32)
print(time.perf_counter() - t0)
"""


def _child(code: str) -> tuple[float, float, str]:
    wall, rss, rc, text = run_measured([sys.executable, "-c", code], cwd=REPO)
    if rc:
        raise RuntimeError(text[-2000:])
    return wall, rss, text


def main() -> int:
    from reports.sat_report import SAT_ARRAY
    from simulator.sat.cl import simulate_training_step
    from workloads.zoo import load_zoo_trace

    layers = load_zoo_trace("resnet50", batch=32)
    simulate_training_step(layers, SAT_ARRAY, scheme="bdwp", nm=(2, 8))
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        res = simulate_training_step(layers, SAT_ARRAY, scheme="bdwp", nm=(2, 8))
        times.append(time.perf_counter() - t0)
    step_s = statistics.median(times)
    _, step_rss, _ = _child(_STEP)
    trace_wall, _, out = _child(_TRACE)
    trace_inner = float(out.strip().splitlines()[-1])
    rows = [
        ("resnet50 training step simulation, warm [s]", step_s, "< 2", "ok" if step_s < 2 else "MISSED"),
        ("resnet50 training step: simulated cycles", int(res.cycles.sum()), "", ""),
        ("resnet50 training step: peak RSS of a process [MB]", step_rss, "< 500", "ok" if step_rss < 500 else "MISSED"),
        (
            "trace resnet50 batch 32, incl. torch import [s]",
            trace_inner,
            "< 10",
            "ok" if trace_inner < 10 else "MISSED",
        ),
        ("trace resnet50 batch 32, whole process [s]", trace_wall, "", ""),
    ]
    report(rows, ("measure", "value", "target", "status"), REPO / "benchmarks/results/bench_training.csv")
    return 0


if __name__ == "__main__":
    sys.exit(main())

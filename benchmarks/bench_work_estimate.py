"""How good the work estimate is (issue 29 item 3): every block's :meth:`estimate` beside the
measured time of the same run, on runs from a fraction of a second to about a minute.

Prints a table and writes ``benchmarks/results/bench_work_estimate.csv``: per run, the estimate
(amount, unit, seconds), the measured wall time of the run itself (after one warm-up run, so
numba compilation and workload tracing are not in it) and their ratio. The estimate's job is to
refuse a run that would take hours and let through one that takes minutes, so the goal is the
ratio within 0.2x..5x on every row; the constants in ``simulator/nm_array/estimate.py``,
``simulator/spgemm/block.py`` and ``simulator/mobile/block.py`` come from this table.

``python benchmarks/bench_work_estimate.py [--quick]`` (``--quick``: the runs under ~5 s).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from _report import report

REPO = Path(__file__).resolve().parents[1]
ARCH = REPO / "examples" / "arch"


def _system(arrays: int) -> dict:
    import yaml

    a = yaml.safe_load((ARCH / "nm_system4_ddr4.yaml").read_text())
    a["system"]["arrays"] = arrays
    return a


def cases(quick: bool) -> list[tuple[str, dict]]:
    from simulator.mobile.block import MobileModel

    ws = str(ARCH / "nm_ws32x32.yaml")
    ddr = str(ARCH / "nm_ws32x32_ddr4.yaml")
    out = [
        ("resnet50 plain", dict(workload="zoo:resnet50", arch=ws)),
        ("resnet50 ddr4 fold", dict(workload="zoo:resnet50", arch=ddr)),
        ("resnet50 auto", dict(workload="zoo:resnet50", arch=ws, mapping="auto")),
        (
            "resnet18 ddr4 request",
            dict(workload="zoo:resnet18", arch={**_load(ddr), "memory": {"dram": "ddr4-3200", "mode": "request"}}),
        ),
        ("vgg16 b64 auto", dict(workload="zoo:vgg16", arch=ws, batch=64, mapping="auto")),
        ("resnet18 bdwp step b32", dict(workload="zoo:resnet18", arch=ws, training="bdwp", batch=32)),
        ("resnet50 4 arrays", dict(workload="zoo:resnet50", arch=_system(4))),
        ("spgemm rmat12 smash_v3", dict(workload="rmat12", block="spgemm")),
        ("spgemm rmat14 smash_v3", dict(workload="rmat14", block="spgemm")),
        ("spgemm rmat12 inner", dict(workload="rmat12", block="spgemm", algorithm="inner")),
        ("mobile mobilenet_v2", dict(workload="mobilenet_v2", block="mobile")),
    ]
    if not quick:
        out += [
            ("vgg16 b256 auto", dict(workload="zoo:vgg16", arch=ws, batch=256, mapping="auto")),
            ("resnet50 16 arrays", dict(workload="zoo:resnet50", arch=_system(16))),
            ("mobile mobilenet_v2 448", dict(workload=MobileModel("mobilenet_v2", (3, 448, 448)), block="mobile")),
            ("spgemm rmat16 smash_v3", dict(workload="rmat16", block="spgemm")),
            ("resnet50 ddr4 request", dict(workload="zoo:resnet50", arch={**_load(ddr), "memory": {
                "dram": "ddr4-3200", "mode": "request"}})),
        ]  # fmt: skip
    return out


def _load(path: str) -> dict:
    import yaml

    return yaml.safe_load(Path(path).read_text())


def estimate_of(kw: dict):
    """The estimate ``simulate`` checks, for the same arguments."""
    from simulator.common import work

    seen = []
    orig = work.check_work

    def spy(w, what):
        seen.append(w)
        return orig(w, what)

    work.check_work = spy
    import simulator.common.block as block

    block.check_work = spy
    try:
        from simulator import simulate

        t0 = time.perf_counter()
        simulate(**kw)
        return seen[-1], time.perf_counter() - t0
    finally:
        work.check_work = orig
        block.check_work = orig


def main() -> None:
    quick = "--quick" in sys.argv
    rows = []
    for label, kw in cases(quick):
        estimate_of(kw)  # warm-up: numba, tracing
        est, wall = estimate_of(kw)
        rows.append(
            (label, est.seconds, f"{wall:.3f}", f"{est.amount:.3g} {est.unit}", f"{wall / max(est.seconds, 1e-9):.2f}")
        )
    report(rows, ("run", "estimate_s", "measured_s", "amount", "measured/estimate"),
           REPO / "benchmarks" / "results" / "bench_work_estimate.csv")  # fmt: skip


if __name__ == "__main__":
    main()

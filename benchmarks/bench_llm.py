"""LLM serving speed and quality (issue 30): whole ``sparsim llm`` processes, timed, and how close
each run comes to its physical bound.

Rows: Llama-3-8B, a 2,048-token prompt and 256 generated tokens, on one 128x128 array (a simple
256 B/cycle channel, plain schedule; and one HBM3 stack with the mapper), and on the LLM
reproduction's 16-array HBM3 system with the mapper (dense, and 2:4); Llama-3-70B on 8 arrays
with 8 HBM3 stacks, with the default plain schedule and with the mapper.
Per row: the process's wall time (warm: a first untimed run compiles the numba kernels), its
peak RSS, and the prefill's and the decode's ratio to their bounds (``totals.json``). Goals:
under 2 s for the 8B run and 10 s for the 70B run; decode within 1.5x and prefill within 1.3x
of their bounds with the mapper. Writes ``benchmarks/results/bench_llm.csv``.

``python benchmarks/bench_llm.py``
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import yaml
from _report import report, run_measured

REPO = Path(__file__).resolve().parents[1]
ONE = {"name": "one128", "clock_ghz": 1.0,
       "pe": {"rows": 128, "cols": 128, "dataflow": "ws", "dataflows": ["ws", "os", "is"], "supported_m": [1, 4],
              "weight_double_buffer": True},
       "buffers": {"ifmap_kb": 1024, "filter_kb": 1024, "ofmap_kb": 1024}}  # fmt: skip


def cases(tmp: Path) -> list[tuple[str, list[str]]]:
    def arch(name: str, extra: dict) -> str:
        p = tmp / f"{name}.yaml"
        p.write_text(yaml.safe_dump({**ONE, **extra}))
        return str(p)

    simple = arch("simple", {"memory": {"bw_bytes_per_cycle": 256.0}})
    hbm = arch("hbm", {"memory": {"dram": "hbm3"}})
    big = arch("big", {"memory": {"dram": "hbm3", "channels": 256}, "system": {"arrays": 8, "partition": "auto"}})
    sys16 = str(REPO / "examples" / "arch" / "llm_16x128_hbm3.yaml")
    run = ["--prompt", "2048", "--generate", "256"]
    return [
        ("llama3_8b 1 array simple plain", ["--model", "zoo:llama3_8b", "--arch", simple, *run]),
        ("llama3_8b 1 array hbm3 auto", ["--model", "zoo:llama3_8b", "--arch", hbm, *run, "--mapping", "auto"]),
        ("llama3_8b 16 arrays hbm3 auto", ["--model", "zoo:llama3_8b", "--arch", sys16, *run, "--mapping", "auto"]),
        ("llama3_8b 16 arrays hbm3 auto 2:4", ["--model", "zoo:llama3_8b", "--arch", sys16, *run, "--mapping", "auto",
                                               "--nm", "2:4"]),
        ("llama3_70b 8 arrays hbm3 plain", ["--model", "zoo:llama3_70b", "--arch", big, *run]),
        ("llama3_70b 8 arrays hbm3 auto", ["--model", "zoo:llama3_70b", "--arch", big, *run, "--mapping", "auto"]),
    ]


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        for label, argv in cases(tmp):
            out = tmp / label.replace(" ", "_")
            cmd = [sys.executable, "-m", "simulator.cli", "llm", *argv, "--out", str(out)]
            run_measured(cmd)  # warm-up: numba caches, imports
            wall, rss, rc, text = run_measured(cmd)
            if rc != 0:
                raise SystemExit(f"{label}: exit {rc}\n{text}")
            tot = json.loads((out / "totals.json").read_text())["totals"]
            rows.append((label, wall, rss, tot["prefill_bound_ratio"], tot["decode_bound_ratio"],
                         tot["ttft_s"] * 1e3, tot["tpot_s"] * 1e3))  # fmt: skip
    report(rows, ("run", "wall s", "peak RSS MB", "prefill/bound", "decode/bound", "TTFT ms", "TPOT ms"),
           REPO / "benchmarks" / "results" / "bench_llm.csv")  # fmt: skip


if __name__ == "__main__":
    main()

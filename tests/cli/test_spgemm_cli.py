"""``sparsim spgemm``: outputs, and one line + exit 2 on bad input."""

from __future__ import annotations

import pandas as pd
import pytest
import scipy.io

from simulator.cli import main


def test_spgemm_writes_c_and_stats(tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["spgemm", "--algorithm", "smash_v2", "--matrix", "unit_square", "--out", str(out)]) == 0
    c = scipy.io.mmread(str(out / "C.mtx"))
    st = pd.read_parquet(out / "stats.parquet").iloc[0]
    assert st.nnz_c == c.nnz and st.cycles > 0 and bool(st.checked_against_scipy)
    assert "equal to scipy.sparse" in capsys.readouterr().out


def test_list(capsys):
    assert main(["spgemm", "--list"]) == 0
    out = capsys.readouterr().out
    assert "smash_v3" in out and "rmat16" in out and "propack" in out


BAD_MTX = "%%MatrixMarket matrix coordinate real general\n3 3 2\n1 1 1.0\n"


@pytest.mark.parametrize("case", ["malformed", "non_square", "shape_mismatch", "table_too_small", "bad_algorithm"])
def test_bad_input(tmp_path, capsys, case):
    (tmp_path / "bad.mtx").write_text(BAD_MTX)
    (tmp_path / "tiny.yaml").write_text("scratchpad_kb: 1\n")
    args = {
        "malformed": ["--algorithm", "hash", "--matrix", str(tmp_path / "bad.mtx")],
        "non_square": ["--algorithm", "hash", "--matrix", "propack"],
        "shape_mismatch": ["--algorithm", "hash", "--matrix", "propack", "--b", "bar"],
        "table_too_small": ["--algorithm", "smash_v1", "--matrix", "rmat10", "--machine", str(tmp_path / "tiny.yaml")],
        "bad_algorithm": ["--algorithm", "heap", "--matrix", "bar"],
    }[case]
    out = tmp_path / "o"
    assert main(["spgemm", *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("sparsim: error: ")
    assert not out.exists()

"""The entry point itself: a bare ``sparsim`` lists what there is to do (exit 2, one error line
naming every command), and a subcommand's help marks what it requires."""

from __future__ import annotations

from simulator.cli import build_parser, main


def test_bare_sparsim_names_every_command(capsys):
    assert main([]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("sparsim: error: no command given: one of ")
    for name in build_parser().get_default("commands"):
        assert name in err[-1]
    assert "arguments are required" not in "\n".join(err)
    assert any(line.startswith("usage: sparsim") for line in err)


def test_spgemm_help_says_what_is_required(capsys):
    try:
        main(["spgemm", "--help"])
    except SystemExit as exc:
        assert exc.code == 0
    out = " ".join(capsys.readouterr().out.split())
    for opt in ("--algorithm", "--matrix", "--out"):
        assert f"{opt} {opt.strip('-').upper()} required (unless --list)" in out

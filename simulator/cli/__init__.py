"""The ``sparsim`` command line: one entry point, one thin module per subcommand.

Exit codes: 0 success; 2 bad input (one line, ``sparsim: error: <source>: <field> = <value>:
<allowed>``, nothing written); 1 an internal error (one line saying it is a bug and where its
traceback was saved); 130 interrupted. No Python traceback reaches the terminal.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Sequence

from simulator.common.errors import SparsimInputError

__all__ = ["main", "build_parser"]

#: subcommand modules, each with ``add_parser(subparsers)``
_COMMANDS = ("simulate", "llm", "trace", "spgemm", "mobile", "reproduce", "sweep", "rtl", "dram")


class _Parser(argparse.ArgumentParser):
    """argparse, with its usage errors as one line and exit 2 (argparse prints usage too)."""

    def error(self, message: str):
        self.exit(2, f"sparsim: error: {self.prog}: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    import importlib

    from simulator.common.version import __version__

    parser = _Parser(prog="sparsim", description="Simulation and co-design of sparse DL and graph hardware.")
    parser.add_argument("--version", action="version", version=f"sparsim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    for name in _COMMANDS:
        importlib.import_module(f"simulator.cli.{name}").add_parser(sub)
    parser.set_defaults(commands=tuple(sub.choices))
    return parser


def _save_traceback() -> str:
    """Write the current exception's traceback to a file; return its path."""
    path = os.path.join(tempfile.gettempdir(), f"sparsim-crash-{os.getpid()}-{int(time.time())}.txt")
    try:
        with open(path, "w") as fh:
            fh.write(" ".join(sys.argv) + "\n\n")
            traceback.print_exc(file=fh)
    except OSError:
        return "(could not be saved)"
    return path


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


class Terminated(KeyboardInterrupt):
    """SIGTERM (how a batch scheduler or ``kill`` stops a job), raised where the program is, so
    that every ``finally`` and temporary-folder cleanup runs as for Ctrl-C."""


def _on_sigterm(signum, frame) -> None:
    raise Terminated


_interrupted = False


def _on_sigint(signum, frame) -> None:
    """Python's own Ctrl-C (KeyboardInterrupt), remembered: a Ctrl-C that lands while a C
    extension initialises (numba's) comes out of its import as an ImportError instead, and that is
    an interruption, not a bug of ours."""
    global _interrupted
    _interrupted = True
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """The entry point: a Ctrl-C or SIGTERM at any moment, even while the subcommands' modules
    are still importing, is one line and exit 130/143, never a traceback."""
    global _interrupted
    _interrupted = False
    ours = threading.current_thread() is threading.main_thread() and \
        signal.getsignal(signal.SIGINT) is signal.default_int_handler  # fmt: skip
    if ours:
        signal.signal(signal.SIGINT, _on_sigint)
    try:
        return _main(argv)
    except KeyboardInterrupt as err:
        terminated = isinstance(err, Terminated)
        print(f"sparsim: {'terminated' if terminated else 'interrupted'}", file=sys.stderr)
        return 143 if terminated else 130
    finally:  # a process of its own (not a caller's main(argv)): the run is over, and a late
        # Ctrl-C during the interpreter's exit (pool finalizers) must not kill it with SIGINT
        if argv is None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        elif ours:  # a caller's main(argv): its Ctrl-C handling as it was
            signal.signal(signal.SIGINT, signal.default_int_handler)


def _main(argv: Sequence[str] | None) -> int:
    from simulator.common.threads import configure_threads

    configure_threads(1)  # before numpy, numba or torch start their pools (simulator.common.threads)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:  # a bare `sparsim`: what there is to do, not argparse's "arguments are required"
        print(parser.format_help(), file=sys.stderr, end="")
        commands = parser.get_default("commands")
        print(f"sparsim: error: no command given: one of {', '.join(commands)} (sparsim COMMAND --help)",
              file=sys.stderr)  # fmt: skip
        return 2
    args = parser.parse_args(argv)
    try:
        from simulator.common.work import limits

        with limits(getattr(args, "max_work", None), getattr(args, "progress", None), "--max-work"):
            return args.func(args)
    except SparsimInputError as err:
        print(f"sparsim: error: {_one_line(err)}", file=sys.stderr)
        return 2
    except MemoryError:
        print("sparsim: error: out of memory: the input is too large for this machine", file=sys.stderr)
        return 2
    except OSError as err:  # a path the user gave: unreadable, full disk, permissions
        where = f"{err.filename}: " if err.filename else ""
        print(f"sparsim: error: {_one_line(where)}{_one_line(err.strerror or err)}", file=sys.stderr)
        return 2
    except Exception as err:  # noqa: BLE001 - the boundary: anything else is a bug of ours
        if _interrupted:  # Ctrl-C inside an extension's import, re-raised as its ImportError
            raise KeyboardInterrupt from err
        path = _save_traceback()
        what = f"{type(err).__name__}: {_one_line(err)[:300]}"
        print(f"sparsim: internal error ({what}); this is a bug; traceback: {path}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

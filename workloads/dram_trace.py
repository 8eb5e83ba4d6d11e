"""DRAM request traces in Ramulator2's memory-trace format: write the array's request stream,
read a trace back to replay on our controller.

Format (Ramulator2 ``LoadStoreTrace``, src/ramulator/frontend/impl/memory_trace/loadstore_trace.cpp):
one request per line, ``<op> <address>``, ``op`` ``LD`` (read) or ``ST`` (write), the address
decimal or ``0x`` hex. A user with Ramulator2 runs the same file there (frontend
``LoadStoreTrace``, ``path: FILE``) to cross-check our controller. The format has no times:
Ramulator issues the requests as fast as its queue accepts them, and so does ``sparsim dram
replay`` (every request arrives at cycle 0; the bounded queue paces them).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from simulator.common.errors import SparsimInputError

__all__ = ["format_loadstore", "read_loadstore", "MAX_TRACE_LINES", "MAX_TRACE_BYTES"]

#: a replay keeps every command for the checker: a few million requests is what a 2 GiB log holds
MAX_TRACE_LINES = 5_000_000
_ADDRESS = re.compile(r"0[xX][0-9a-fA-F]+|[0-9]+")
MAX_TRACE_BYTES = 1 << 30


def format_loadstore(addr: np.ndarray, is_write: np.ndarray) -> bytes:
    """The trace text of requests in order."""
    ops = np.where(np.asarray(is_write, dtype=bool), "ST", "LD")
    lines = [f"{o} 0x{int(a):x}" for o, a in zip(ops, np.asarray(addr, dtype=np.int64), strict=True)]
    return ("\n".join(lines) + ("\n" if lines else "")).encode()


def read_loadstore(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Addresses and write flags of a LoadStoreTrace file; one clear error for a bad line."""
    p = Path(path)
    src = str(path)
    try:
        if not p.exists():
            raise SparsimInputError(src, "file", src, "an existing trace file (it cannot be read: no such file)")
        if not p.is_file():  # /dev/zero, a FIFO: no size to bound it by
            raise SparsimInputError(src, "file", src, "a regular trace file (not a device, FIFO or directory)")
        size = p.stat().st_size
        if size > MAX_TRACE_BYTES:
            raise SparsimInputError(src, "size", f"{size:,} bytes", f"at most {MAX_TRACE_BYTES:,}")
        with open(p, "rb") as fh:
            raw = fh.read(MAX_TRACE_BYTES + 1)  # bounded even if the file grows while it is read
    except OSError as err:
        raise SparsimInputError(src, "file", src, f"cannot be read ({err.strerror})") from None
    if len(raw) > MAX_TRACE_BYTES:
        raise SparsimInputError(src, "size", f"more than {MAX_TRACE_BYTES:,} bytes", f"at most {MAX_TRACE_BYTES:,}")
    lines_n = raw.count(b"\n") + (not raw.endswith(b"\n") and len(raw) > 0)
    if lines_n > MAX_TRACE_LINES:  # counted before anything is split
        raise SparsimInputError(src, "lines", f"{lines_n:,}", f"at most {MAX_TRACE_LINES:,}")
    try:
        text = raw.removeprefix(b"\xef\xbb\xbf").decode("ascii")  # a UTF-8 byte-order mark is accepted
    except UnicodeDecodeError as err:
        raise SparsimInputError(src, "encoding", f"non-ASCII byte at offset {err.start}",
                                "ASCII lines 'LD addr' or 'ST addr'") from None  # fmt: skip
    lines = text.splitlines()
    addr = np.zeros(len(lines), dtype=np.int64)
    wr = np.zeros(len(lines), dtype=bool)
    n = 0
    for i, line in enumerate(lines, 1):
        tok = line.split()
        if not tok:
            continue
        if len(tok) != 2 or tok[0] not in ("LD", "ST"):
            raise SparsimInputError(f"{src} line {i}", "request", line.strip()[:60], "'LD ADDRESS' or 'ST ADDRESS'")
        if not _ADDRESS.fullmatch(tok[1]):  # Python's int() also takes 1_000 and +64; Ramulator does not
            raise SparsimInputError(f"{src} line {i}", "address", tok[1][:40], "decimal digits or 0x hex digits")
        a = int(tok[1], 16) if tok[1][:2].lower() == "0x" else int(tok[1], 10)
        if not 0 <= a < (1 << 62):
            raise SparsimInputError(f"{src} line {i}", "address", tok[1][:40], "from 0 to 2^62 - 1")
        addr[n] = a
        wr[n] = tok[0] == "ST"
        n += 1
    if n == 0:
        raise SparsimInputError(src, "requests", 0, "at least one 'LD ADDRESS' or 'ST ADDRESS' line")
    return addr[:n], wr[:n]

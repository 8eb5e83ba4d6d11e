"""Functional level of the DRAM: where each byte lives (the address map) and what an access
pattern costs at best (bursts, rows opened).

Why this is the DRAM's functional model: DRAM holds data, it computes nothing, so the values a
functional model would check are trivially those written. What every other level needs from the
functional level is the mapping of an address to (channel, rank, bank group, bank, row, column):
the per-request controller, the fold-level form and the timing checker all decode addresses here.
"""

from __future__ import annotations

import numpy as np

from simulator.common.errors import SparsimInputError
from simulator.dram.config import DramConfig

__all__ = ["decode", "encode", "bank_index", "CMD_NAMES", "ACT", "PRE", "RD", "WR", "REF", "bursts_of_runs"]

ACT, PRE, RD, WR, REF = range(5)
CMD_NAMES = ("ACT", "PRE", "RD", "WR", "REF")


def decode(cfg: DramConfig, addr: np.ndarray) -> dict[str, np.ndarray]:
    """Fields of each byte address (``int64``): ``ch ra bg ba ro co``; the burst offset is dropped.
    Addresses beyond the capacity wrap in the row field (the row bits are the top bits)."""
    a = np.asarray(addr, dtype=np.int64)
    if a.size and int(a.min()) < 0:
        raise SparsimInputError("dram", "address", int(a.min()), "a non-negative byte address")
    x = a >> (cfg.burst_bytes.bit_length() - 1)
    slices = cfg.bit_slices
    if slices is not None:  # each field's bits one by one; the bits above all of them wrap (row)
        out = {}
        for f, bits in slices.items():
            v = np.zeros_like(x)
            for k, b in enumerate(bits):
                v |= ((x >> b) & 1) << k
            out[f] = v
        return out
    bits = cfg.field_bits()
    out = {}
    for f in reversed(cfg.address_map.split("-")):  # least significant first
        n = bits[f]
        out[f] = x & ((1 << n) - 1)
        x = x >> n
    return out


def encode(cfg: DramConfig, **fields) -> np.ndarray:
    """The byte address of each (``ch ra bg ba ro co``) tuple under ``cfg``'s map (fields left out
    are 0): the inverse of :func:`decode`."""
    n = max((np.size(v) for v in fields.values()), default=1)
    val = {f: np.broadcast_to(np.asarray(fields.get(f, 0), dtype=np.int64), (n,)) for f in ("ro", "ra", "bg", "ba",
                                                                                           "co", "ch")}  # fmt: skip
    x = np.zeros(n, dtype=np.int64)
    slices = cfg.bit_slices
    if slices is not None:
        for f, pos in slices.items():
            for k, b in enumerate(pos):
                x |= ((val[f] >> k) & 1) << b
    else:
        bits = cfg.field_bits()
        for f in cfg.address_map.split("-"):  # most significant first
            x = (x << bits[f]) | (val[f] & ((1 << bits[f]) - 1))
    return x * cfg.burst_bytes


def bank_index(cfg: DramConfig, f: dict[str, np.ndarray]) -> np.ndarray:
    """Flat bank number within a channel: (rank, bank group, bank)."""
    return (f["ra"] * cfg.bankgroups + f["bg"]) * cfg.banks + f["ba"]


def bursts_of_runs(cfg: DramConfig, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Burst-aligned addresses covering each byte run ``[start, start + length)`` in order."""
    b = cfg.burst_bytes
    starts = np.asarray(starts, dtype=np.int64)
    lengths = np.asarray(lengths, dtype=np.int64)
    first = starts // b
    last = (starts + np.maximum(lengths, 1) - 1) // b
    n = np.where(lengths > 0, last - first + 1, 0)
    total = int(n.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    rep = np.repeat(first, n)
    off = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(n) - n, n)
    return (rep + off) * b


def row_hit_rate(log: np.ndarray) -> float:
    """Share of column commands (RD, WR) that found their row open: on its bank, the command
    before it was not an ACT. A refresh closes every row, so a request that a refresh catches
    between its ACT and its column command is one miss (its second ACT), never a negative rate.
    ``log``: the controller's ``int64 [n, 7]`` commands (cycle, channel, command, rank, bank
    group, bank, row), in issue order."""
    log = np.asarray(log)
    if log.size == 0:
        return 0.0
    banked = log[log[:, 2] != CMD_NAMES.index("REF")]  # REF has no bank of its own
    order = np.lexsort((np.arange(len(banked)), banked[:, 0], banked[:, 5], banked[:, 4], banked[:, 3], banked[:, 1]))
    b = banked[order]
    col = (b[:, 2] == CMD_NAMES.index("RD")) | (b[:, 2] == CMD_NAMES.index("WR"))
    if not col.any():
        return 0.0
    same_bank = np.zeros(len(b), dtype=bool)
    same_bank[1:] = np.all(b[1:, [1, 3, 4, 5]] == b[:-1, [1, 3, 4, 5]], axis=1)
    prev_act = np.zeros(len(b), dtype=bool)
    prev_act[1:] = b[:-1, 2] == CMD_NAMES.index("ACT")
    miss = col & same_bank & prev_act
    return float(1.0 - miss.sum() / col.sum())

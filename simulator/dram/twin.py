"""The DRAM controller again, written independently: it steps every cycle and asks each JEDEC
constraint by name whether a command may issue now, where :mod:`simulator.dram.cl` computes each
candidate's earliest legal cycle and jumps. Same policy (FR-FCFS, refresh first, close page);
the tests demand the same completion cycle for every request and the same command log.
"""

from __future__ import annotations

import numpy as np

from simulator.dram.cl import _validate
from simulator.dram.config import DramConfig
from simulator.dram.fl import ACT, PRE, RD, REF, WR, bank_index, decode

__all__ = ["run_twin"]

FAR = -(10**12)


class _Channel:
    def __init__(self, cfg: DramConfig):
        self.c = cfg
        self.open: dict[int, int] = {}  # bank -> open row
        self.last = {k: {} for k in ("act", "pre", "rd", "wr")}  # per bank
        self.acts: dict[int, list[int]] = {r: [] for r in range(cfg.ranks)}  # ACT times per rank
        self.g_act: dict[tuple[int, int], int] = {}
        self.g_rd: dict[tuple[int, int], int] = {}
        self.g_wr: dict[tuple[int, int], int] = {}
        self.any_rd = self.any_wr = FAR
        self.ref_due = {r: cfg.refi for r in range(cfg.ranks)}
        self.ref_end = {r: FAR for r in range(cfg.ranks)}
        self.t = 0

    def ok(self, rules: list[bool]) -> bool:
        return all(rules)

    def can_act(self, t, b, r, g):
        c = self.c
        acts = self.acts[r]
        return self.ok([
            b not in self.open,
            t - self.last["pre"].get(b, FAR) >= c.rp,  # tRP
            t - self.last["act"].get(b, FAR) >= c.rc,  # tRC
            t - (acts[-1] if acts else FAR) >= c.rrd_s,  # tRRD_S
            t - self.g_act.get((r, g), FAR) >= c.rrd_l,  # tRRD_L
            len(acts) < 4 or t - acts[-4] >= c.faw,  # tFAW
            t >= self.ref_end[r],  # tRFC
        ])  # fmt: skip

    def can_col(self, t, b, r, g, write):
        c = self.c
        rules = [t - self.last["act"].get(b, FAR) >= (c.rcd_write if write else c.rcd)]
        if write:
            rules += [t - self.any_wr >= c.ccd_s, t - self.g_wr.get((r, g), FAR) >= c.ccd_l,
                      t - self.any_rd >= c.cl + c.bl + 2 - c.cwl]  # fmt: skip
        else:
            rules += [t - self.any_rd >= c.ccd_s, t - self.g_rd.get((r, g), FAR) >= c.ccd_l,
                      t - self.any_wr >= c.cwl + c.bl + c.wtr_s,
                      t - self.g_wr.get((r, g), FAR) >= c.cwl + c.bl + c.wtr_l]  # fmt: skip
        return self.ok(rules)

    def can_pre(self, t, b):
        c = self.c
        return self.ok([
            t - self.last["act"].get(b, FAR) >= c.ras,
            t - self.last["rd"].get(b, FAR) >= c.rtp,
            t - self.last["wr"].get(b, FAR) >= c.cwl + c.bl + c.wr,
        ])  # fmt: skip

    def can_ref(self, t, r):
        per_rank = self.c.bankgroups * self.c.banks
        banks = range(r * per_rank, (r + 1) * per_rank)
        return all(b not in self.open and t - self.last["pre"].get(b, FAR) >= self.c.rp for b in banks) and (
            t >= self.ref_end[r]
        )


def run_twin(cfg: DramConfig, arrive, addr, is_write) -> tuple[np.ndarray, np.ndarray]:
    """Completion cycle of every request and the command log, from a fresh memory system."""
    arrive, addr, is_write = _validate(arrive, addr, is_write)
    f = decode(cfg, addr)
    bank = bank_index(cfg, f)
    done = np.zeros(arrive.size, dtype=np.int64)
    log = []
    per_rank = cfg.bankgroups * cfg.banks
    for ch in range(cfg.channels):
        idx = [int(i) for i in np.flatnonzero(f["ch"] == ch)]
        if not idx:
            continue
        s = _Channel(cfg)
        pending = list(idx)
        queue: list[int] = []
        t = 0
        remaining = len(idx)
        while remaining:
            while pending and len(queue) < cfg.queue_depth and arrive[pending[0]] <= t:
                queue.append(pending.pop(0))
            cmd = None
            for r in range(cfg.ranks):  # refresh first
                if t < s.ref_due[r]:
                    continue
                opened = [b for b in range(r * per_rank, (r + 1) * per_rank) if b in s.open]
                if opened:
                    legal = [b for b in opened if s.can_pre(t, b)]
                    if legal and cmd is None:
                        cmd = (PRE, r, legal[0], None)
                elif s.can_ref(t, r) and cmd is None:
                    cmd = (REF, r, None, None)
            refreshing = {r for r in range(cfg.ranks) if t >= s.ref_due[r]}
            if cmd is None:  # row hits, oldest first
                for i in queue:
                    b, r = int(bank[i]), int(f["ra"][i])
                    if r in refreshing or s.open.get(b) != int(f["ro"][i]):
                        continue
                    if s.can_col(t, b, r, int(f["bg"][i]), bool(is_write[i])):
                        cmd = (WR if is_write[i] else RD, r, b, i)
                        break
            if cmd is None and cfg.page_policy == "close":
                for b in sorted(s.open):
                    if any(int(bank[i]) == b and int(f["ro"][i]) == s.open[b] for i in queue):
                        continue
                    if s.can_pre(t, b):
                        cmd = (PRE, b // per_rank, b, None)
                        break
            if cmd is None:  # row commands, oldest first
                for i in queue:
                    b, r, row = int(bank[i]), int(f["ra"][i]), int(f["ro"][i])
                    if r in refreshing:
                        continue
                    if b not in s.open:
                        if s.can_act(t, b, r, int(f["bg"][i])):
                            cmd = (ACT, r, b, i)
                            break
                    elif s.open[b] != row:
                        if any(int(bank[j]) == b and int(f["ro"][j]) == s.open[b] for j in queue):
                            continue
                        if s.can_pre(t, b):
                            cmd = (PRE, r, b, None)
                            break
            if cmd is not None:
                kind, r, b, i = cmd
                g = None if b is None else (b % per_rank) // cfg.banks
                row = -1
                if kind == ACT:
                    row = int(f["ro"][i])
                    s.open[b] = row
                    s.last["act"][b] = t
                    s.acts[r].append(t)
                    s.g_act[(r, g)] = t
                elif kind == PRE:
                    row = s.open.pop(b)
                    s.last["pre"][b] = t
                elif kind == REF:
                    s.ref_end[r] = t + cfg.rfc
                    s.ref_due[r] += cfg.refi
                else:
                    row = int(f["ro"][i])
                    if kind == WR:
                        s.any_wr = t
                        s.g_wr[(r, g)] = t
                        s.last["wr"][b] = t
                        done[i] = t + cfg.cwl + cfg.bl
                    else:
                        s.any_rd = t
                        s.g_rd[(r, g)] = t
                        s.last["rd"][b] = t
                        done[i] = t + cfg.cl + cfg.bl
                    queue.remove(i)
                    remaining -= 1
                log.append((t, ch, kind, r, -1 if g is None else g, -1 if b is None else b % cfg.banks, row))
            t += 1
    return done, np.array(log, dtype=np.int64).reshape(-1, 7)

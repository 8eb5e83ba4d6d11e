"""The DRAM controller again, written independently: it steps every cycle and asks each JEDEC
constraint by name whether a command may issue now, where :mod:`simulator.dram.cl` computes each
candidate's earliest legal cycle and jumps. Same policy (read and write queues with write
draining, forwarding, FR-FCFS, refresh first, close page, pseudo channels on one command bus);
the tests demand the same completion cycle for every request and the same command log.
"""

from __future__ import annotations

import numpy as np

from simulator.dram.cl import _validate
from simulator.dram.config import DramConfig
from simulator.dram.fl import ACT, PRE, RD, REF, WR, decode

__all__ = ["run_twin"]

FAR = -(10**12)


class _Controller:
    """Banks are keyed (channel within the controller, rank, bank group, bank); ranks (channel, rank)."""

    def __init__(self, cfg: DramConfig):
        self.c = cfg
        self.a = cfg.act_cycles - 1  # an ACT's timings count from its last bus cycle
        self.open: dict[tuple, int] = {}  # bank -> open row
        self.last = {k: {} for k in ("act", "pre", "rd", "wr")}  # per bank (ACT: its last bus cycle)
        self.acts: dict[tuple, list[int]] = {}  # ACT times per rank
        self.g_act: dict[tuple, int] = {}
        self.g_rd: dict[tuple, int] = {}
        self.g_wr: dict[tuple, int] = {}
        self.any_rd: dict[int, int] = {}  # per channel
        self.any_wr: dict[int, int] = {}
        ranks = [(s, r) for s in range(cfg.pseudo_channels) for r in range(cfg.ranks)]
        self.ref_due = {k: cfg.refi for k in ranks}
        self.ref_end = {k: FAR for k in ranks}
        self.row_bus_free = 0  # the only bus, or the row bus
        self.col_bus_free = 0

    def ok(self, rules: list[bool]) -> bool:
        return all(rules)

    def can_act(self, t, bank, rank, grp):
        c = self.c
        done = t + self.a
        acts = self.acts.get(rank, [])
        return self.ok([
            bank not in self.open,
            done - self.last["pre"].get(bank, FAR) >= c.rp,  # tRP
            done - self.last["act"].get(bank, FAR) >= c.rc,  # tRC
            done - (acts[-1] if acts else FAR) >= c.rrd_s,  # tRRD_S
            done - self.g_act.get(grp, FAR) >= c.rrd_l,  # tRRD_L
            len(acts) < 4 or done - acts[-4] >= c.faw,  # tFAW
            done >= self.ref_end[rank],  # tRFC
        ])  # fmt: skip

    def can_col(self, t, bank, grp, s, write):
        c = self.c
        rd, wr = self.any_rd.get(s, FAR), self.any_wr.get(s, FAR)
        rules = [t - self.last["act"].get(bank, FAR) >= (c.rcd_write if write else c.rcd)]
        if write:
            rules += [t - wr >= c.ccd_s, t - self.g_wr.get(grp, FAR) >= c.ccd_l, t - rd >= c.cl + c.bl + 2 - c.cwl]
        else:
            rules += [t - rd >= c.ccd_s, t - self.g_rd.get(grp, FAR) >= c.ccd_l, t - wr >= c.cwl + c.bl + c.wtr_s,
                      t - self.g_wr.get(grp, FAR) >= c.cwl + c.bl + c.wtr_l]  # fmt: skip
        return self.ok(rules)

    def can_pre(self, t, bank):
        c = self.c
        return self.ok([
            t - self.last["act"].get(bank, FAR) >= c.ras,
            t - self.last["rd"].get(bank, FAR) >= c.rtp,
            t - self.last["wr"].get(bank, FAR) >= c.cwl + c.bl + c.wr,
        ])  # fmt: skip

    def can_ref(self, t, rank):
        banks = [(*rank, g, b) for g in range(self.c.bankgroups) for b in range(self.c.banks)]
        return all(b not in self.open and t - self.last["pre"].get(b, FAR) >= self.c.rp for b in banks) and (
            t >= self.ref_end[rank]
        )


def run_twin(cfg: DramConfig, arrive, addr, is_write) -> tuple[np.ndarray, np.ndarray]:
    """Completion cycle of every request and the command log, from a fresh memory system."""
    arrive, addr, is_write = _validate(arrive, addr, is_write)
    f = decode(cfg, addr)
    burst = addr // cfg.burst_bytes
    pc = cfg.pseudo_channels
    done = np.zeros(arrive.size, dtype=np.int64)
    log = []
    wq = cfg.write_depth
    for ctrl in range(cfg.channels // pc):
        idx = [int(i) for i in np.flatnonzero(f["ch"] // pc == ctrl)]
        if not idx:
            continue
        s = _Controller(cfg)

        def where(i):
            sub = int(f["ch"][i]) % pc
            rank = (sub, int(f["ra"][i]))
            grp = (*rank, int(f["bg"][i]))
            return sub, rank, grp, (*grp, int(f["ba"][i])), int(f["ro"][i])

        pending = list(idx)
        queue: list[int] = []  # age order: waiting reads and writes, and activated requests
        activated: set[int] = set()
        admitted: dict[int, int] = {}
        write_mode = False
        t = 0
        remaining = len(idx)
        while remaining:
            while pending and arrive[pending[0]] <= t:  # admit, in order
                i = pending[0]
                waiting_w = [j for j in queue if is_write[j] and j not in activated]
                waiting_r = [j for j in queue if not is_write[j] and j not in activated]
                if any(burst[j] == burst[i] for j in waiting_w):  # forwarding / coalescing
                    done[i] = t if is_write[i] else t + 1
                    remaining -= 1
                    pending.pop(0)
                    continue
                if len(waiting_w if is_write[i] else waiting_r) >= (wq if is_write[i] else cfg.queue_depth):
                    break
                queue.append(pending.pop(0))
                admitted[i] = t
            n_w = sum(1 for j in queue if is_write[j] and j not in activated)
            reads = [j for j in queue if not is_write[j] and j not in activated]
            if not write_mode:
                write_mode = n_w > cfg.write_high * wq or not reads
            elif (n_w < cfg.write_low * wq or n_w == 0) and reads:
                write_mode = False
            if write_mode and cfg.read_bypass_cap and reads and t - admitted[reads[0]] >= cfg.read_bypass_cap:
                write_mode = False
            eligible = [j for j in queue if j in activated or bool(is_write[j]) == write_mode]
            refreshing = {k for k in s.ref_due if t >= s.ref_due[k]}
            col_free = t >= (s.col_bus_free if cfg.dual_command_bus else s.row_bus_free)
            row_free = t >= s.row_bus_free
            issued = []
            if col_free:  # row hits: activated requests first, then the others, oldest first
                for i in [j for j in eligible if j in activated] + [j for j in eligible if j not in activated]:
                    sub, rank, grp, b, row = where(i)
                    if rank in refreshing or s.open.get(b) != row:
                        continue
                    if s.can_col(t, b, grp, sub, bool(is_write[i])):
                        issued.append((WR if is_write[i] else RD, sub, b, i))
                        break
            if issued and not cfg.dual_command_bus:
                row_free = False
            row_cmd = None
            if row_free:
                for rank in s.ref_due:  # refresh first
                    if t < s.ref_due[rank]:
                        continue
                    opened = sorted(b for b in s.open if b[:2] == rank)
                    if opened:
                        legal = [b for b in opened if s.can_pre(t, b)]
                        if legal and row_cmd is None:
                            row_cmd = (PRE, rank[0], legal[0], None)
                    elif s.can_ref(t, rank) and row_cmd is None:
                        row_cmd = (REF, rank[0], rank, None)
                if row_cmd is None and cfg.page_policy == "close":
                    for b in sorted(s.open):
                        if any(where(i)[3] == b and where(i)[4] == s.open[b] for i in queue):
                            continue
                        if s.can_pre(t, b):
                            row_cmd = (PRE, b[0], b, None)
                            break
                if row_cmd is None:  # row commands, oldest eligible first
                    for i in eligible:
                        sub, rank, grp, b, row = where(i)
                        if rank in refreshing:
                            continue
                        if b not in s.open:
                            if s.can_act(t, b, rank, grp):
                                row_cmd = (ACT, sub, b, i)
                                break
                        elif s.open[b] != row:
                            if any(where(j)[3] == b and where(j)[4] == s.open[b] for j in eligible):
                                continue
                            if s.can_pre(t, b):
                                row_cmd = (PRE, sub, b, None)
                                break
                if row_cmd is not None:
                    issued.append(row_cmd)
            for kind, sub, b, i in issued:
                row = -1
                if kind == ACT:
                    row = where(i)[4]
                    ta = t + s.a
                    s.open[b] = row
                    s.last["act"][b] = ta
                    s.acts.setdefault(b[:2], []).append(ta)
                    s.g_act[b[:3]] = ta
                    activated.add(i)
                    s.row_bus_free = t + cfg.act_cycles
                elif kind == PRE:
                    row = s.open.pop(b)
                    s.last["pre"][b] = t
                    s.row_bus_free = t + 1
                elif kind == REF:
                    s.ref_end[b] = t + cfg.rfc
                    s.ref_due[b] += cfg.refi
                    s.row_bus_free = t + 1
                else:
                    row = where(i)[4]
                    if kind == WR:
                        s.any_wr[sub] = t
                        s.g_wr[b[:3]] = t
                        s.last["wr"][b] = t
                        done[i] = t + cfg.cwl + cfg.bl
                    else:
                        s.any_rd[sub] = t
                        s.g_rd[b[:3]] = t
                        s.last["rd"][b] = t
                        done[i] = t + cfg.cl + cfg.bl
                    queue.remove(i)
                    activated.discard(i)
                    remaining -= 1
                    if cfg.dual_command_bus:
                        s.col_bus_free = t + 1
                    else:
                        s.row_bus_free = t + 1
                g, bk = (-1, -1) if kind == REF else (b[2], b[3])
                log.append((t, ctrl * pc + sub, kind, b[1], g, bk, row))
            t += 1
    return done, np.array(log, dtype=np.int64).reshape(-1, 7)

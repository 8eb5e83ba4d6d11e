"""Replay an issued DRAM command stream and prove it breaks no timing constraint.

Why a third, separate piece: the controller and its twin share the policy and the rule set, so a
rule both get wrong would pass their equality test. The checker knows no policy; it only tracks
bank, rank and bus state from the commands themselves and tests every JEDEC constraint the config
names, plus the state rules (a column command needs its row open, PRE needs an open bank, REF
needs every bank of the rank closed), the command bus (one command a cycle, an ACT holding it
``act_cycles``; with ``dual_command_bus`` a row and a column bus; shared by a controller's pseudo
channels), no data-bus overlap, and refresh often enough (JEDEC lets a controller postpone at
most 8 REFs: a gap of 9 x tREFI).
A deliberately broken controller (one scheduling with shorter timings than the device's) is
caught by it (tests/simulator/dram/test_checker.py).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from simulator.dram.config import DramConfig
from simulator.dram.fl import ACT, CMD_NAMES, PRE, RD, REF, WR

__all__ = ["check"]

NEVER = -(10**15)


def check(cfg: DramConfig, log: np.ndarray, limit: int = 20) -> list[str]:
    """Violations found in ``log`` (rows: cycle, channel, command, rank, bank group, bank, row),
    at most ``limit`` of them; an empty list means the stream is legal."""
    c = cfg
    bad: list[str] = []

    def fail(rule: str, t: int, ch: int, what: str) -> None:
        if len(bad) < limit:
            bad.append(f"{rule}: cycle {t} channel {ch}: {what}")

    a = c.act_cycles - 1  # an ACT's timings count from its last bus cycle
    pc = c.pseudo_channels
    for ctrl in np.unique(log[:, 1] // pc) if len(log) else []:
        rows = log[log[:, 1] // pc == ctrl]
        rows = rows[np.argsort(rows[:, 0], kind="stable")]
        buses = [rows[np.isin(rows[:, 2], (RD, WR))], rows[~np.isin(rows[:, 2], (RD, WR))]]
        for bus in buses if c.dual_command_bus else [rows]:
            free = NEVER
            for t, ch, cmd in bus[:, :3]:
                if t < free:
                    fail("command bus", int(t), int(ch), f"{CMD_NAMES[cmd]} while the bus is busy until {free}")
                free = max(free, t + (c.act_cycles if cmd == ACT else 1))
    for ch in np.unique(log[:, 1]) if len(log) else []:
        rows = log[log[:, 1] == ch]
        rows = rows[np.argsort(rows[:, 0], kind="stable")]
        open_row: dict[tuple, int] = {}
        t_act = defaultdict(lambda: NEVER)
        t_pre = defaultdict(lambda: NEVER)
        t_rd = defaultdict(lambda: NEVER)
        t_wr = defaultdict(lambda: NEVER)
        rank_acts: dict[int, list[int]] = defaultdict(list)
        grp_act = defaultdict(lambda: NEVER)
        grp_rd = defaultdict(lambda: NEVER)
        grp_wr = defaultdict(lambda: NEVER)
        any_rd = any_wr = NEVER
        last_ref = defaultdict(lambda: NEVER)
        refs = defaultdict(list)
        bus_free = NEVER
        for t, _ch, cmd, r, g, b, row in (tuple(int(v) for v in x) for x in rows):
            key = (r, g, b)
            name = CMD_NAMES[cmd] if 0 <= cmd < len(CMD_NAMES) else str(cmd)
            if cmd == ACT:
                if key in open_row:
                    fail("state", t, ch, f"ACT to open bank {key}")
                t += a
                for rule, ok in (
                    ("tRP", t - t_pre[key] >= c.rp),
                    ("tRC", t - t_act[key] >= c.rc),
                    ("tRRD_S", not rank_acts[r] or t - rank_acts[r][-1] >= c.rrd_s),
                    ("tRRD_L", t - grp_act[(r, g)] >= c.rrd_l),
                    ("tFAW", len(rank_acts[r]) < 4 or t - rank_acts[r][-4] >= c.faw),
                    ("tRFC", t - last_ref[r] >= c.rfc),
                ):
                    if not ok:
                        fail(rule, t, ch, f"ACT bank {key}")
                open_row[key] = row
                t_act[key] = t
                grp_act[(r, g)] = t
                rank_acts[r].append(t)
            elif cmd in (RD, WR):
                if open_row.get(key) != row:
                    fail("state", t, ch, f"{name} to bank {key} row {row}, open: {open_row.get(key)}")
                rules = [("tRCD", t - t_act[key] >= (c.rcd_write if cmd == WR else c.rcd))]
                if cmd == RD:
                    rules += [
                        ("tCCD_S", t - any_rd >= c.ccd_s),
                        ("tCCD_L", t - grp_rd[(r, g)] >= c.ccd_l),
                        ("tWTR_S", t - any_wr >= c.cwl + c.bl + c.wtr_s),
                        ("tWTR_L", t - grp_wr[(r, g)] >= c.cwl + c.bl + c.wtr_l),
                    ]
                    start = t + c.cl
                else:
                    rules += [
                        ("tCCD_S", t - any_wr >= c.ccd_s),
                        ("tCCD_L", t - grp_wr[(r, g)] >= c.ccd_l),
                        ("read-to-write", t - any_rd >= c.cl + c.bl + 2 - c.cwl),
                    ]
                    start = t + c.cwl
                for rule, ok in rules:
                    if not ok:
                        fail(rule, t, ch, f"{name} bank {key}")
                if start < bus_free:
                    fail("data bus", t, ch, f"{name} data at {start} overlaps a burst until {bus_free}")
                bus_free = max(bus_free, start + c.bl)
                if cmd == RD:
                    any_rd = t
                    grp_rd[(r, g)] = t
                    t_rd[key] = t
                else:
                    any_wr = t
                    grp_wr[(r, g)] = t
                    t_wr[key] = t
            elif cmd == PRE:
                if key not in open_row:
                    fail("state", t, ch, f"PRE to closed bank {key}")
                for rule, ok in (
                    ("tRAS", t - t_act[key] >= c.ras),
                    ("tRTP", t - t_rd[key] >= c.rtp),
                    ("tWR", t - t_wr[key] >= c.cwl + c.bl + c.wr),
                ):
                    if not ok:
                        fail(rule, t, ch, f"PRE bank {key}")
                open_row.pop(key, None)
                t_pre[key] = t
            elif cmd == REF:
                if any(k[0] == r for k in open_row):
                    fail("state", t, ch, f"REF with open banks in rank {r}")
                late = [k for k, tp in t_pre.items() if k[0] == r and t - tp < c.rp]
                if late:
                    fail("tRP", t, ch, f"REF {t - t_pre[late[0]]} cycles after PRE of bank {late[0]}")
                if t - last_ref[r] < c.rfc:
                    fail("tRFC", t, ch, f"REF {t - last_ref[r]} cycles after the previous REF")
                last_ref[r] = t
                refs[r].append(t)
            else:
                fail("state", t, ch, f"unknown command {cmd}")
        end = int(rows[-1, 0])
        for r in range(c.ranks):
            times = [0] + refs[r] + [end]
            gaps = np.diff(times)
            if gaps.size and int(gaps.max()) > 9 * c.refi:
                fail("tREFI", end, int(ch), f"rank {r} went {int(gaps.max())} cycles without REF (at most 9 x tREFI)")
    return bad

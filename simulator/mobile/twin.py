"""Pure-Python twin of the Cortex-A76-class core engine (:mod:`simulator.mobile.cl`), written
independently: dicts and ordered LRU lists instead of the engine's arrays, one instruction at a
time. The tests run both on random programs and on every kernel body and demand equal cycles and
statistics.
"""

from __future__ import annotations

from collections import OrderedDict, deque

from simulator.mobile.cl import NREGS, STAT_NAMES
from simulator.mobile.config import CLASS_ID, CoreConfig, class_table

__all__ = ["run_instances_twin"]

_FMLA = CLASS_ID["fmla"]


def run_instances_twin(cfg: CoreConfig, rows, toff, inst) -> tuple[int, dict[str, int]]:
    """The engine again, written independently in plain Python: reservation sets instead of tag
    rings, ordered LRU dictionaries instead of stamp arrays. Returns (cycles, stats) for a fresh core."""
    ctab = class_table(cfg)
    sets = {lv: cfg.sets(lv) for lv in ("l1", "l2", "l3")}
    has_l3 = sets["l3"] > 0
    ways = {"l1": cfg.l1_ways, "l2": cfg.l2_ways, "l3": cfg.l3_ways}
    cache = {lv: [OrderedDict() for _ in range(sets[lv])] for lv in sets}  # line -> ready
    shift = cfg.line_bytes.bit_length() - 1
    port = {"l2": 0, "l3": 0, "dram": 0}
    dram_step = int(round(cfg.dram_line_cycles * 1024))
    stats = dict.fromkeys(STAT_NAMES, 0)
    busy: set[tuple[int, int]] = set()
    reg = [0] * NREGS
    window: deque[int] = deque([-1] * cfg.rob_size, maxlen=cfg.rob_size)
    cur = dec = uops = 0
    # in-order issue: the previous instruction's issue cycle, a Q-load's hold, issues per cycle
    prev_issue = hold = 0
    issued: dict[int, int] = {}
    last_ret = rcnt = 0

    def lookup(lv, line):
        if not sets[lv]:
            return None
        s = cache[lv][line % sets[lv]]
        if line in s:
            s.move_to_end(line)
            return s[line]
        return None

    def put(lv, line, ready):
        s = cache[lv][line % sets[lv]]
        if len(s) >= ways[lv]:
            s.popitem(last=False)
        s[line] = ready

    def l2_fill(line, t):
        r = lookup("l2", line)
        if r is not None:
            return r
        stats["l2_misses"] += 1
        r3 = lookup("l3", line)
        if r3 is not None:
            s = max(t, port["l3"])
            port["l3"] = s + cfg.l3_line_cycles
            r = max(s + cfg.l3_latency, r3)
        else:
            stats["l3_misses"] += 1
            s = max(t * 1024, port["dram"])
            port["dram"] = s + dram_step
            r = -(-s // 1024) + cfg.dram_latency
            if has_l3:
                put("l3", line, r)
        put("l2", line, r)
        return r

    def l1_fill(line, t):
        r2 = l2_fill(line, t)
        s = max(t, port["l2"])
        port["l2"] = s + cfg.l2_line_cycles
        arr = max(r2, s + cfg.l2_latency)
        put("l1", line, arr)
        return arr

    def access(addr, t):
        line = addr >> shift
        r = lookup("l1", line)
        if r is not None:
            return r
        stats["l1_misses"] += 1
        arr = l1_fill(line, t)
        for d in range(1, cfg.prefetch_l1_lines + 1):
            if line + d not in cache["l1"][(line + d) % sets["l1"]]:
                l1_fill(line + d, t)
        for d in range(1, cfg.prefetch_l2_lines + 1):
            l2_fill(line + d, t)
        return arr

    for k in range(len(inst)):
        tp = int(inst[k][0])
        for ri in range(int(toff[tp]), int(toff[tp + 1])):
            cls, dst, a, b, cc, stream, off, first = (int(v) for v in rows[ri])
            lat, m0, m1, is_ld, is_st, _q = (int(v) for v in ctab[cls])
            nu = 2 if m1 else 1
            if first and dec >= cfg.decode_width:
                cur, dec, uops = cur + 1, 0, 0
            if uops + nu > cfg.dispatch_uops:
                cur, dec, uops = cur + 1, 0, 0
            for u in range(nu):
                if window[u] + 1 > cur:
                    cur, dec, uops = window[u] + 1, 0, 0
            dec += first
            uops += nu
            stats["instructions"] += first
            stats["uops"] += nu
            ready = max([cur + 1] + [reg[s] for s in (a, b, cc) if s >= 0])
            if cfg.in_order:
                ready = max(ready, prev_issue, hold)
            pipes0 = [p for p in range(8) if m0 >> p & 1]
            pipes1 = [p for p in range(8) if m1 >> p & 1]
            c = ready
            while True:
                if cfg.in_order and issued.get(c, 0) >= cfg.decode_width:
                    c += 1
                    continue
                free0 = [p for p in pipes0 if (p, c) not in busy]
                if free0 and not pipes1:
                    busy.add((free0[0], c))
                    break
                if free0:
                    free1 = [p for p in pipes1 if p != free0[0] and (p, c) not in busy]
                    if free1:
                        busy.add((free0[0], c))
                        busy.add((free1[0], c))
                        break
                c += 1
            if cfg.in_order:
                prev_issue = c
                issued[c] = issued.get(c, 0) + 1
                if ctab[cls][5] and cfg.q_load_issue_cycles > 1:
                    hold = c + cfg.q_load_issue_cycles
            done = c + lat
            if is_ld or is_st:
                stats["loads" if is_ld else "stores"] += 1
                if not cfg.perfect_l1:
                    arr = access(int(inst[k][stream]) + off, c)
                    if is_ld:
                        done = max(done, arr + lat - cfg.lat_ld_int)
            if cls == _FMLA:
                stats["fmla"] += 1
            if dst >= 0:
                reg[dst] = done
            if done > last_ret:
                last_ret, rcnt = done, 0
            for _ in range(nu):
                if rcnt >= cfg.retire_width:
                    last_ret, rcnt = last_ret + 1, 0
                rcnt += 1
                window.append(last_ret)
    return last_ret, stats

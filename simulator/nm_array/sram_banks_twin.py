"""Independent twin of :mod:`simulator.nm_array.sram_banks`: every word of every access, one by one.

Why a twin: the fast form folds a layer's accesses into residue tables and prefix sums along
arithmetic progressions; an error there (a wrong step, a coset off by one, a short last group)
would give plausible but wrong stalls. This one follows the module docstring's table literally:
for every fold, it lists each access's words from the dataflow's description, puts each word in
its line and bank, and counts. It shares nothing with the fast form but the config. Slow (Python
loops over words): tests run it on small GEMMs.
"""

from __future__ import annotations

from dataflow.nm_array.schedule import FoldSchedule

__all__ = ["twin_fold_stalls"]


def _addr(layout_first: bool, rows: int, cols: int):
    """Address of element (i, j) of a ``rows x cols`` matrix whose columns are contiguous
    (``layout_first``) or whose rows are."""
    if layout_first:
        return lambda i, j: i * cols + j
    return lambda i, j: j * rows + i


def _cost(words: list[int], width: int, banks: int, ports: int) -> int:
    per_bank: dict[int, set[int]] = {}
    for a in words:
        line = a // width
        per_bank.setdefault(line % banks, set()).add(line)
    worst = max(len(s) for s in per_bank.values())
    return (worst + ports - 1) // ports


def twin_fold_stalls(sched: FoldSchedule, cfg, k: int, n: int, m: int) -> list[int]:
    """Stall cycles of every fold, by enumeration."""
    if not cfg.sram_banks:
        return [0] * sched.folds
    w, b, ports = cfg.sram_bank_width_words, cfg.sram_banks, cfg.sram_bank_ports
    big_p, kc, big_n = sched.t, sched.kc, sched.ncol
    dense = n == m
    kx = kc if dense else k
    xaddr = _addr(cfg.ifmap_layout == "k", big_p, kx)
    waddr = _addr(cfg.filter_layout == "n", kc, big_n)
    yaddr = _addr(cfg.ofmap_layout == "n", big_p, big_n)
    r = sched.rows
    out = []
    for f in range(sched.folds):
        p0, pu = int(sched.p0[f]), int(sched.p_used[f])
        k0, ku = int(sched.k0[f]), int(sched.k_used[f])
        n0, nu = int(sched.n0[f]), int(sched.n_used[f])
        ps, ks, ns = range(p0, p0 + pu), range(k0, k0 + ku), range(n0, n0 + nu)
        if dense:
            groups = [[kk] for kk in ks]  # one K position per "group"
        else:
            gs = sorted({kk // n for kk in ks})
            groups = [list(range(g * m, min(g * m + m, kx))) for g in gs]
        xcols = [x for grp in groups for x in grp]
        acc: dict[str, list[list[int]]] = {}
        if sched.dataflow == "ws":
            acc["ifmap"] = [[xaddr(p, x) for x in xcols] for p in ps]
            acc["filter"] = [[waddr(kk, nn) for nn in ns] for kk in ks]
            acc["ofmap"] = [[yaddr(p, nn) for nn in ns] for p in ps]
            win = {"ifmap": pu, "filter": r, "ofmap": pu}
        else:
            acc["ifmap"] = [[xaddr(p, x) for p in ps for x in grp] for grp in groups]
            if sched.dataflow == "os":
                acc["filter"] = [[waddr(kk, nn) for nn in ns] for kk in ks]
                acc["ofmap"] = [[yaddr(p, nn) for nn in ns] for p in ps]
                win = {"ifmap": ku, "filter": ku, "ofmap": pu}
            else:
                acc["filter"] = [[waddr(kk, nn) for kk in ks] for nn in ns]
                acc["ofmap"] = [[yaddr(p, nn) for p in ps] for nn in ns]
                win = {"ifmap": r, "filter": nu, "ofmap": nu}
        stall = 0
        for op, accesses in acc.items():
            demand = sum(_cost(a, w, b, ports) for a in accesses)
            stall = max(stall, demand - win[op])
        out.append(stall)
    return out

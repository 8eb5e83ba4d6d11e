"""Per-cycle model of the N:M weight-stationary systolic array: the reference the RTL is held to.

Every cycle it steps every PE register of an ``R x C`` array following the schedule of
:mod:`dataflow.nm_array.ws` (see its timing diagram):

- weight load: a column of ``C`` (value, index) pairs enters the top row's shadow registers and
  the shadow registers shift down one row per cycle, for ``R`` cycles (bottom row first);
- activations: PE row ``i`` receives, each streaming cycle, the ``M`` activations of its group
  (``g = (k0 + i) // N``; dense: ``M = 1``), which move right one column per cycle;
- a PE copies shadow -> active weight when its fold's first activation (``t = 0``) arrives,
  selects ``x[index]`` with its M:1 multiplexer, and adds ``w * x`` to the partial sum arriving
  from above (0 at the top row), wrapping at ``acc_bits``; partial sums move down one row/cycle;
- the bottom row emits, per column, one partial sum per streamed row: ``(fold, t, col)`` with its
  value and the cycle it leaves the array.

Two implementations that must agree exactly (tested): :func:`_run_numba`, the fast kernel, which
models each row's activation shift register as a delay line (a shift register *is* one), and
:func:`_run_numpy`, a slow twin that keeps explicit shift registers and steps them with numpy.
Both also check the schedule's hazards (a PE swapping in a weight that is not loaded yet).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from numba.extending import overload

from dataflow.nm_array.ws import WSFoldSchedule, ws_schedule
from simulator.common.bits import wrap_signed
from simulator.common.errors import SparsimInputError
from simulator.nm_array.config import ArrayConfig

__all__ = ["CycleResult", "run_nm_array_cycles", "accumulate_folds"]

# Error codes reported by the kernels (0 = fine).
_OK, _HAZARD_SWAP, _HAZARD_PSUM = 0, 1, 2


def acc_add(a, b, bits):
    """``a + b`` wrapped to signed ``bits`` for integers; plain addition for floats."""
    if isinstance(a, float | np.floating):
        return a + b
    return wrap_signed(int(a) + int(b), bits)


@overload(acc_add)
def _acc_add_ol(a, b, bits):
    if isinstance(a, numba.types.Float):

        def impl(a, b, bits):
            return a + b

        return impl

    def impl_int(a, b, bits):
        return wrap_signed(a + b, bits)

    return impl_int


@numba.njit(cache=True, nogil=True)
def _run_numba(x, wv, wi, n, m, r, c, t_rows, k0, ku, n0, nu, ld, st, total, acc_bits, out_val, out_cyc):
    folds = k0.shape[0]
    zero = wv[0, 0] * 0
    shadow_v = np.zeros((r, c), dtype=wv.dtype)
    shadow_i = np.zeros((r, c), dtype=np.int64)
    shadow_f = np.full((r, c), -1, dtype=np.int64)
    shadow_r = np.full((r, c), -1, dtype=np.int64)
    act_v = np.zeros((r, c), dtype=wv.dtype)
    act_i = np.zeros((r, c), dtype=np.int64)
    last = -1
    # Delay line per row: what entered row i at cycle e sits in slot e % c.
    ring_x = np.zeros((r, c, m), dtype=x.dtype)
    ring_cyc = np.full((r, c), -1, dtype=np.int64)
    ring_f = np.zeros((r, c), dtype=np.int64)
    ring_t = np.zeros((r, c), dtype=np.int64)
    ps_v = np.zeros((r, c), dtype=out_val.dtype)
    ps_ok = np.zeros((r, c), dtype=np.bool_)
    ps_f = np.zeros((r, c), dtype=np.int64)
    ps_t = np.zeros((r, c), dtype=np.int64)
    row_fold = np.zeros(r, dtype=np.int64)
    lf = 0
    for cyc in range(total):
        # 1. weight load into shadow registers
        if lf < folds and ld[lf] <= cyc < ld[lf] + r:
            for i in range(r - 1, 0, -1):
                for j in range(c):
                    shadow_v[i, j] = shadow_v[i - 1, j]
                    shadow_i[i, j] = shadow_i[i - 1, j]
                    shadow_f[i, j] = shadow_f[i - 1, j]
                    shadow_r[i, j] = shadow_r[i - 1, j]
            rr = r - 1 - (cyc - ld[lf])
            for j in range(c):
                if rr < ku[lf] and j < nu[lf]:
                    shadow_v[0, j] = wv[k0[lf] + rr, n0[lf] + j]
                    shadow_i[0, j] = wi[k0[lf] + rr, n0[lf] + j]
                else:
                    shadow_v[0, j] = zero
                    shadow_i[0, j] = 0
                shadow_f[0, j] = lf
                shadow_r[0, j] = rr
            if cyc == ld[lf] + r - 1:
                lf += 1
        # 2. activations entering each row
        slot = cyc % c
        for i in range(r):
            f = row_fold[i]
            while f < folds and cyc >= st[f] + i + t_rows:
                f += 1
            row_fold[i] = f
            if f < folds and cyc >= st[f] + i:
                t = cyc - st[f] - i
                ring_cyc[i, slot] = cyc
                ring_f[i, slot] = f
                ring_t[i, slot] = t
                if i < ku[f]:
                    g = (k0[f] + i) // n
                    for q in range(m):
                        ring_x[i, slot, q] = x[t, g * m + q]
                else:
                    for q in range(m):
                        ring_x[i, slot, q] = 0
            else:
                ring_cyc[i, slot] = -1
        # 3. PEs, bottom row first so the row above still holds last cycle's partial sums
        for i in range(r - 1, -1, -1):
            for j in range(c):
                e = (cyc - j) % c
                if cyc - j < 0 or ring_cyc[i, e] != cyc - j:
                    ps_ok[i, j] = False
                    continue
                f = ring_f[i, e]
                t = ring_t[i, e]
                if t == 0:
                    if shadow_f[i, j] != f or shadow_r[i, j] != i or cyc < ld[f] + r:
                        return _HAZARD_SWAP, cyc
                    act_v[i, j] = shadow_v[i, j]
                    act_i[i, j] = shadow_i[i, j]
                if i == 0:
                    pin = out_val[0, 0, 0] * 0
                else:
                    if not ps_ok[i - 1, j] or ps_f[i - 1, j] != f or ps_t[i - 1, j] != t:
                        return _HAZARD_PSUM, cyc
                    pin = ps_v[i - 1, j]
                prod = act_v[i, j] * ring_x[i, e, act_i[i, j]]
                ps_v[i, j] = acc_add(pin, prod, acc_bits)
                ps_ok[i, j] = True
                ps_f[i, j] = f
                ps_t[i, j] = t
                if i == r - 1:
                    last = cyc
                    out_val[f, t, j] = ps_v[i, j]
                    out_cyc[f, t, j] = cyc
    return _OK, last + 1


def _run_numpy(x, wv, wi, n, m, r, c, t_rows, k0, ku, n0, nu, ld, st, total, acc_bits, out_val, out_cyc):
    """Numpy twin of :func:`_run_numba` with explicit shift registers (slow; for tests)."""
    integer = np.issubdtype(out_val.dtype, np.integer)
    folds = k0.shape[0]
    shadow_v = np.zeros((r, c), dtype=wv.dtype)
    shadow_i = np.zeros((r, c), dtype=np.int64)
    shadow_f = np.full((r, c), -1, dtype=np.int64)
    shadow_r = np.full((r, c), -1, dtype=np.int64)
    act_v = np.zeros((r, c), dtype=wv.dtype)
    act_i = np.zeros((r, c), dtype=np.int64)
    last = -1
    a_x = np.zeros((r, c, m), dtype=x.dtype)  # activation registers, PE(i, j)
    a_ok = np.zeros((r, c), dtype=bool)
    a_f = np.zeros((r, c), dtype=np.int64)
    a_t = np.zeros((r, c), dtype=np.int64)
    ps_v = np.zeros((r, c), dtype=out_val.dtype)
    ps_ok = np.zeros((r, c), dtype=bool)
    ps_f = np.zeros((r, c), dtype=np.int64)
    ps_t = np.zeros((r, c), dtype=np.int64)
    rows = np.arange(r)
    cols = np.arange(c)
    lf = 0
    for cyc in range(total):
        if lf < folds and ld[lf] <= cyc < ld[lf] + r:
            shadow_v[1:] = shadow_v[:-1].copy()
            shadow_i[1:] = shadow_i[:-1].copy()
            shadow_f[1:] = shadow_f[:-1].copy()
            shadow_r[1:] = shadow_r[:-1].copy()
            rr = r - 1 - (cyc - ld[lf])
            take = (rr < ku[lf]) & (cols < nu[lf])
            kr = min(k0[lf] + rr, wv.shape[0] - 1)
            ncols = np.minimum(n0[lf] + cols, wv.shape[1] - 1)
            shadow_v[0] = np.where(take, wv[kr, ncols], 0)
            shadow_i[0] = np.where(take, wi[kr, ncols], 0)
            shadow_f[0] = lf
            shadow_r[0] = rr
            if cyc == ld[lf] + r - 1:
                lf += 1
        # Shift activation registers right, then feed column 0.
        a_x[:, 1:] = a_x[:, :-1].copy()
        a_ok[:, 1:] = a_ok[:, :-1].copy()
        a_f[:, 1:] = a_f[:, :-1].copy()
        a_t[:, 1:] = a_t[:, :-1].copy()
        d = cyc - st[None, :] - rows[:, None]  # [R, F] stream position of each fold at each row
        live = (d >= 0) & (d < t_rows)
        a_ok[:, 0] = live.any(axis=1)
        fsel = np.argmax(live, axis=1)
        a_f[:, 0] = fsel
        a_t[:, 0] = np.where(a_ok[:, 0], d[rows, fsel], 0)
        for i in range(r):
            a_x[i, 0] = 0
            if a_ok[i, 0] and i < ku[fsel[i]]:
                g = (k0[fsel[i]] + i) // n
                a_x[i, 0] = x[a_t[i, 0], g * m : (g + 1) * m]
        # Swap where a fold's first activation arrives.
        swap = a_ok & (a_t == 0)
        if swap.any():
            bad = swap & ((shadow_f != a_f) | (shadow_r != rows[:, None]) | (cyc < ld[a_f] + r))
            if bad.any():
                return _HAZARD_SWAP, cyc
            act_v = np.where(swap, shadow_v, act_v)
            act_i = np.where(swap, shadow_i, act_i)
        # Partial sums: everything moves down one row at once.
        pin = np.zeros((r, c), dtype=out_val.dtype)
        pin[1:] = ps_v[:-1]
        above_ok = np.ones((r, c), dtype=bool)
        above_ok[1:] = ps_ok[:-1] & (ps_f[:-1] == a_f[1:]) & (ps_t[:-1] == a_t[1:])
        if (a_ok & ~above_ok).any():
            return _HAZARD_PSUM, cyc
        sel = np.take_along_axis(a_x, act_i[:, :, None], axis=2)[:, :, 0]
        if integer:
            s = pin.astype(np.int64) + act_v.astype(np.int64) * sel.astype(np.int64)
            new = wrap_signed(s, acc_bits)
        else:
            new = pin + act_v * sel
        ps_v = np.where(a_ok, new, ps_v).astype(out_val.dtype)
        ps_ok = a_ok.copy()
        ps_f = a_f.copy()
        ps_t = a_t.copy()
        if ps_ok[r - 1].any():
            last = cyc
        for j in np.nonzero(ps_ok[r - 1])[0]:
            out_val[ps_f[r - 1, j], ps_t[r - 1, j], j] = ps_v[r - 1, j]
            out_cyc[ps_f[r - 1, j], ps_t[r - 1, j], j] = cyc
    return _OK, last + 1


@dataclass(frozen=True, slots=True)
class CycleResult:
    """Everything the array emitted.

    ``psum_value[f, t, j]`` / ``psum_cycle[f, t, j]``: the partial sum of output row ``t`` and
    column ``n0[f] + j`` leaving the bottom of the array during fold ``f``, and the cycle it left.
    Columns beyond the fold's ``n_used`` carry the zero-weight wavefront and emit 0: they are
    recorded too, because the RTL emits them. ``total_cycles``: the cycle after the last partial sum (unused
    columns carry zeros through the array too) left the bottom-right PE.
    """

    schedule: WSFoldSchedule
    psum_value: np.ndarray
    psum_cycle: np.ndarray
    total_cycles: int


def run_nm_array_cycles(
    x: np.ndarray,
    values: np.ndarray,
    indices: np.ndarray,
    n: int,
    m: int,
    cfg: ArrayConfig,
    *,
    schedule: WSFoldSchedule | None = None,
    engine: str = "numba",
) -> CycleResult:
    """Run one GEMM through the per-cycle model.

    ``x`` is ``[T, K]``; ``values``/``indices`` the ``[Kc, Ncol]`` compressed weight. Integer
    inputs use the integer datapath (wrapping at ``cfg.acc_bits``), float inputs float64.
    ``schedule`` defaults to :func:`dataflow.nm_array.ws.ws_schedule` for ``cfg``.
    """
    if engine not in ("numba", "numpy"):
        raise SparsimInputError("run_nm_array_cycles", "engine", engine, "allowed: numba, numpy")
    if m not in cfg.supported_m:
        raise SparsimInputError("run_nm_array_cycles", "m", m, f"supported by this array: {cfg.supported_m}")
    values = np.asarray(values)
    indices = np.asarray(indices).astype(np.int64)
    kc, ncol = values.shape
    if kc % n:
        raise SparsimInputError("run_nm_array_cycles", "values.shape[0]", kc, f"a multiple of N = {n}")
    kpad = kc // n * m
    x = np.asarray(x)
    t_rows = x.shape[0]
    if x.shape[1] > kpad:
        raise SparsimInputError("run_nm_array_cycles", "x.shape[1]", x.shape[1], f"at most {kpad}")
    integer = np.issubdtype(x.dtype, np.integer) and np.issubdtype(values.dtype, np.integer)
    dtype = np.int64 if integer else np.float64
    xp = np.zeros((t_rows, kpad), dtype=dtype)
    xp[:, : x.shape[1]] = x
    wv = np.ascontiguousarray(values, dtype=dtype)
    sched = ws_schedule(t_rows, kc, ncol, cfg) if schedule is None else schedule
    folds = sched.folds
    out_val = np.zeros((folds, t_rows, cfg.cols), dtype=dtype)
    out_cyc = np.full((folds, t_rows, cfg.cols), -1, dtype=np.int64)
    runner = _run_numba if engine == "numba" else _run_numpy
    code, cyc = runner(
        xp,
        wv,
        indices,
        n,
        m,
        cfg.rows,
        cfg.cols,
        t_rows,
        sched.k0,
        sched.k_used,
        sched.n0,
        sched.n_used,
        sched.load_start,
        sched.stream_start,
        sched.total_cycles,
        cfg.acc_bits,
        out_val,
        out_cyc,
    )
    if code == _HAZARD_SWAP:
        raise RuntimeError(f"schedule hazard at cycle {cyc}: a PE swapped in a weight that was not loaded")
    if code == _HAZARD_PSUM:
        raise RuntimeError(f"schedule hazard at cycle {cyc}: partial sums of different rows collided")
    return CycleResult(schedule=sched, psum_value=out_val, psum_cycle=out_cyc, total_cycles=int(cyc))


def accumulate_folds(res: CycleResult, acc_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Output-buffer view: ``Y[T, Ncol]`` (partial sums added over row folds, wrapped) and, per
    output, the cycle its last partial sum left the array."""
    s = res.schedule
    integer = np.issubdtype(res.psum_value.dtype, np.integer)
    y = np.zeros((s.t, s.ncol), dtype=res.psum_value.dtype)
    done = np.full((s.t, s.ncol), -1, dtype=np.int64)
    for f in range(s.folds):
        nu, n0 = int(s.n_used[f]), int(s.n0[f])
        y[:, n0 : n0 + nu] += res.psum_value[f, :, :nu]
        done[:, n0 : n0 + nu] = np.maximum(done[:, n0 : n0 + nu], res.psum_cycle[f, :, :nu])
    if integer:
        y = wrap_signed(y, acc_bits)
    return y, done

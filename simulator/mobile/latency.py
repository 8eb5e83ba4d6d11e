"""Per-layer and per-network latency of a mobile CNN on the modelled core, for dense and each
sparse engine; and the same layers measured on the host.

Why engines, not only patterns: each published engine prunes some operators and runs the rest
dense. What we model (batch 1, fp32):

==============  =============================  ===================  =================
engine          1x1 conv / FC                  k x k conv           depthwise
==============  =============================  ===================  =================
dense           packed GEMM                    im2col + GEMM        C4 direct
unstructured    XNNPACK-style SpMM (CHW)       im2col + GEMM        C4 direct
block4          MNN-style 1x4 SpMM (C4 out)    im2col + GEMM        C4 direct
group (ours)    group SpMM, blocked for L2     im2col + group SpMM  C4, pruned taps
==============  =============================  ===================  =================

Layers run back to back on one core state (warm caches carry over), so the modelled traffic is the
kernels' own. Buffers: a plain chain of weight layers ping-pongs between two activation buffers
(each layer's output is the next one's input). A list traced with ``elementwise=True`` carries its
separately run element-wise operators (hard-swish, residual add, squeeze-excite scale, global
pooling; BN, ReLU and the hard-sigmoid gate are folded into the convolutions, as XNNPACK does) and
each layer's producers; its buffers then come from a liveness allocator like an engine's arena
(:func:`buffer_plan`): an output takes the lowest-numbered buffer not holding a live tensor, and
a tensor's buffer is freed after its last reader, so a residual's skip tensor or the
squeeze-excite input stays where it was written. For a chain the plan is the ping-pong exactly.
Without ``elementwise`` those operators are absent (under 2% of MobileNet v1 and v2, more of v3).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from simulator.common.errors import SparsimInputError
from simulator.common.work import advance
from simulator.mobile.cl import STAT_NAMES, CoreState
from simulator.mobile.config import CoreConfig
from simulator.mobile.streams import (
    Library,
    dw_instances,
    ew_instances,
    gemm_instances,
    grp_instances,
    im2col_instances,
    mnn_instances,
    xnn_instances,
)
from workloads.mobile_models import ELTWISE_OPS, MobileLayer
from workloads.mobile_patterns import prune_network

__all__ = ["ENGINES", "buffer_plan", "prune_layers", "network_latency", "measure_host", "median_seconds", "PRUNED_OPS"]

ENGINES = ("dense", "unstructured", "block4", "group")
#: which operators each engine prunes (the rest run dense)
PRUNED_OPS = {
    "dense": (),
    "unstructured": ("1x1", "fc"),
    "block4": ("1x1", "fc"),
    "group": ("1x1", "3x3", "dw", "fc"),
}
_ACT = (1 << 36, 2 << 36)
_WB, _IB, _PB = 3 << 36, 4 << 36, 5 << 36


def _buf(k: int) -> int:
    """Base address of activation buffer ``k`` (0 and 1 are the ping-pong pair)."""
    return (1 + k) << 36 if k < 2 else (4 + k) << 36


def buffer_plan(layers: list[MobileLayer]) -> list[tuple[tuple[int, ...], int]]:
    """Per layer: (buffer numbers of its operands, buffer number of its output). The network input
    sits in buffer 0; an output takes the lowest-numbered free buffer; a tensor's buffer is freed
    after the last layer reading it (the network output is never freed)."""
    ins = [L.inputs or (i - 1,) for i, L in enumerate(layers)]
    last = {-1: -1}
    for i, srcs in enumerate(ins):
        for j in srcs:
            if j < -1 or j >= i:
                raise SparsimInputError(f"layer {layers[i].name}", "inputs", srcs, "earlier layers (or -1, the input)")
            last[j] = i
    where = {-1: 0}
    live = {0}
    plan = []
    for i, srcs in enumerate(ins):
        k = 0
        while k in live:
            k += 1
        plan.append((tuple(where[j] for j in srcs), k))
        where[i] = k
        live.add(k)
        for j in set(srcs):
            if last.get(j) == i:
                live.discard(where[j])
        if i not in last and i != len(layers) - 1:  # a value nobody reads holds no buffer
            live.discard(k)
    return plan


def _check_engine(engine: str) -> None:
    if engine not in ENGINES:
        raise SparsimInputError("mobile", "pattern", engine, f"allowed: {', '.join(ENGINES)}")


def prune_layers(
    layers: list[MobileLayer], engine: str, sparsity: float, scope: str = "layer", channel_padding: str = "zero"
) -> dict[str, np.ndarray]:
    """Keep-masks for the layers ``engine`` prunes (others are absent: dense). Block and group
    patterns pad a Cout that is not a multiple of 4 with zero channels (``channel_padding="zero"``,
    the stated rule) or refuse it (``"none"``)."""
    _check_engine(engine)
    if isinstance(sparsity, bool) or not isinstance(sparsity, int | float) or not 0.0 <= sparsity < 1.0:
        raise SparsimInputError("mobile", "sparsity", sparsity, "a number in [0, 1)")
    todo = {L.name: (L.weight, L.op) for L in layers if L.op in PRUNED_OPS[engine]}
    if not todo or sparsity == 0:
        return {}
    try:
        return prune_network(todo, engine, float(sparsity), scope, channel_padding)
    except SparsimInputError as err:
        if err.field == "output channels":
            bad = next(L.name for L in layers if L.name in todo and L.cout == err.value)
            raise SparsimInputError(f"layer {bad}", err.field, err.value, err.allowed) from None
        raise


def _w2(L: MobileLayer, mask: np.ndarray | None, pad_to: int = 1) -> np.ndarray:
    """Keep-structure as a float ``[Cout (padded), K]`` matrix (values do not matter for timing)."""
    m = np.ones(L.weight.shape, dtype=bool) if mask is None else mask
    m2 = m.reshape(m.shape[0], -1).astype(np.float32)
    extra = (-m2.shape[0]) % pad_to
    return np.concatenate([m2, np.zeros((extra, m2.shape[1]), np.float32)]) if extra else m2


def _src_off(L: MobileLayer) -> np.ndarray:
    c, i, j = np.meshgrid(np.arange(L.cin), np.arange(L.kh), np.arange(L.kw), indexing="ij")
    return ((c * L.in_h * L.in_w + i * L.in_w + j) * 4).ravel().astype(np.int64)


def _instances(lib: Library, L: MobileLayer, engine: str, mask, i: int, core: CoreConfig, bufs=None) -> np.ndarray:
    p = L.out_h * L.out_w
    if bufs is None:
        x, y, second = _ACT[i % 2], _ACT[(i + 1) % 2], _PB
    else:
        srcs, out = bufs
        x, y = _buf(srcs[0]), _buf(out)
        second = _buf(srcs[1]) if len(srcs) > 1 else _PB
    w, ix = _WB + (i << 28), _IB + (i << 28)
    l2 = core.l2_kb * 1024
    if L.op in ELTWISE_OPS:
        # operands as traced: the tensor first, then the skip tensor (add) or per-channel scale (mul)
        return ew_instances(lib, L.op, L.cin, L.in_h * L.in_w, (w, x, ix, y, second))
    if L.op == "dw":
        k = L.kh
        groups = -(-L.cout // 4)
        m = np.ones((groups * 4, k * k), dtype=bool)
        if mask is not None:
            m[: L.cout] = mask.reshape(L.cout, -1)
        g = m.reshape(groups, 4, k * k).any(axis=1)
        bits = (g * (1 << np.arange(k * k))).sum(axis=1)
        hp, wp = L.in_h + 2 * L.pad, L.in_w + 2 * L.pad
        return dw_instances(lib, bits, k, (L.stride, L.sw), L.out_h, L.out_w, hp, wp, (w, x, ix, y, _PB))
    direct = L.op == "fc" or (L.kh == L.kw == 1 and L.stride == L.sw == 1 and L.pad == 0)
    k_dim = L.cin * L.kh * L.kw
    src = _src_off(L)
    if engine == "dense" or L.op not in PRUNED_OPS[engine]:
        return gemm_instances(lib, L.cout, k_dim, p, (w, x, ix, y, _PB), l2, src)
    pre = None
    if not direct:
        pre = im2col_instances(lib, k_dim, p, (w, x, ix, y, _PB), src)
        x = _PB
    bases = (w, x, ix, y, _PB)
    if engine == "unstructured":
        from simulator.mobile.fl import compress_csr

        ptr, idx, _ = compress_csr(_w2(L, mask))
        inst = xnn_instances(lib, L.cout, p, ptr, idx, bases)
    else:
        from simulator.mobile.fl import compress_blocks

        ptr, idx, _ = compress_blocks(_w2(L, mask, 4), 4)
        groups = len(ptr) - 1
        if engine == "block4":
            inst = mnn_instances(lib, groups, p, ptr, idx, bases)
        else:
            inst = grp_instances(lib, groups, p, ptr, idx, bases, l2)
    return inst if pre is None else np.concatenate([pre, inst])


def network_latency(
    layers: list[MobileLayer], engine: str, masks: dict[str, np.ndarray], core: CoreConfig | None = None
) -> pd.DataFrame:
    """One row per layer: cycles and milliseconds on ``core``, MACs dense and kept, core statistics."""
    _check_engine(engine)
    core = core or CoreConfig()
    state = CoreState(core)
    lib = Library()
    rows = []
    plan = buffer_plan(layers) if any(L.inputs for L in layers) else [None] * len(layers)
    for i, L in enumerate(layers):
        mask = masks.get(L.name)
        inst = _instances(lib, L, engine, mask, i, core, plan[i])
        t_rows, toff = lib.arrays()
        c0, s0 = state.cycles, state.stats()
        state.run(t_rows, toff, inst)
        s1 = state.stats()
        per_w = L.out_h * L.out_w
        kept = L.macs if mask is None else int(mask.sum()) * per_w
        row = {
            "layer": L.name,
            "op": L.op,
            "engine": engine,
            "cin": L.cin,
            "cout": L.cout,
            "k": f"{L.kh}x{L.kw}",
            "stride": L.stride,
            "out_hw": f"{L.out_h}x{L.out_w}",
            "macs": L.macs,
            "kept_macs": kept,
            "sparsity": 0.0 if mask is None else 1.0 - float(mask.mean()),
            "cycles": state.cycles - c0,
        }
        row["seconds"] = row["cycles"] / (core.clock_ghz * 1e9)
        row.update({k: s1[k] - s0[k] for k in STAT_NAMES})
        rows.append(row)
        advance()
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- host measurement


def _host_fn(L: MobileLayer, engine: str, mask):
    """A zero-argument callable running the layer's host kernel, or None where no host kernel
    exists (rectangular kernels, unequal strides)."""
    from simulator.mobile import fl as mk

    if L.kh != L.kw or L.stride != L.sw:
        return None
    rng = np.random.default_rng(0)
    if L.op in ELTWISE_OPS:
        x = rng.standard_normal((L.cin, L.in_h, L.in_w)).astype(np.float32)
        b = {"add": x[::-1].copy(), "mul": rng.random(L.cin).astype(np.float32)}.get(L.op)
        return lambda: mk.eltwise(L.op, x, b)
    w = L.weight if mask is None else L.weight * mask
    w = w.astype(np.float32)
    if L.op == "fc":
        x = rng.standard_normal((L.cin, L.out_h, L.out_w)).astype(np.float32)
        w4 = w[:, :, None, None]
    else:
        x = rng.standard_normal((L.cin, L.in_h, L.in_w)).astype(np.float32)
        w4 = w
    pruned = engine != "dense" and L.op in PRUNED_OPS[engine]
    if L.op == "dw":
        xp = np.pad(x, ((0, 0), (L.pad, L.pad), (L.pad, L.pad)))
        return lambda: mk.depthwise3x3(xp, w4, L.out_h, L.out_w, L.stride)
    if not pruned:
        return lambda: mk.dense_conv(x, w4, L.stride, L.pad)
    if L.op == "3x3":
        xp = np.pad(x, ((0, 0), (L.pad, L.pad), (L.pad, L.pad)))
        fmt = mk.compress_group3x3(np.concatenate([w4, np.zeros(((-L.cout) % 4, *w4.shape[1:]), np.float32)]))
        return lambda: mk.conv3x3_group(xp, *fmt, L.cout + (-L.cout) % 4, L.out_h, L.out_w, L.stride)
    x2 = x.reshape(L.cin, -1) if L.stride == 1 and L.pad == 0 else x[:, :: L.stride, :: L.stride].reshape(L.cin, -1)
    x2 = np.ascontiguousarray(x2)
    w2 = w4[:, :, 0, 0]
    w2p = np.concatenate([w2, np.zeros(((-L.cout) % 4, w2.shape[1]), np.float32)])
    if engine == "unstructured":
        fmt = mk.compress_csr(w2)
        return lambda: mk.spmm_unstructured(x2, *fmt, L.cout)
    fmt = mk.compress_blocks(w2p, 4)
    if engine == "block4":
        return lambda: mk.spmm_block(x2, *fmt, w2p.shape[0])
    return lambda: mk.spmm_group(x2, *fmt, w2p.shape[0], 128)


def measure_host(layers: list[MobileLayer], engine: str, masks: dict[str, np.ndarray], repeats: int = 3) -> list:
    """Median host seconds per layer (single call after one warm-up), None where not measurable."""
    out = []
    for L in layers:
        fn = _host_fn(L, engine, masks.get(L.name))
        if fn is None:
            out.append(None)
            continue
        out.append(median_seconds(fn, repeats))
    return out


def median_seconds(fn, repeats: int) -> float:
    """Median wall seconds of ``repeats`` calls of ``fn`` after one warm-up call (JIT, caches)."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))

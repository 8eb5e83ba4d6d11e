"""Instruction streams of the mobile kernels for the Cortex-A76-class core model.

Why generated from the loop structure: the core model must see what each kernel really executes,
including the sparse index loads, the address arithmetic they feed, the per-tile prologue and
epilogue, and the addresses the sparse indices produce. Each kernel is a loop nest over *templates*
(AArch64 NEON bodies: one instruction per line, registers, which address stream each memory access
uses and at which offset) and produces *instances* (template id and the base address of each
stream). The same templates print as assembly for llvm-mca (:func:`asm`).

Kernels (batch 1, fp32, 128-bit NEON; ``nv`` = 4-pixel vectors per register tile):

- ``gemm``: dense baseline, packed GEMM with an 8 x 12 register tile (24 accumulators, per k step:
  2 weight vectors, 3 pixel vectors, 24 FMLA by lane), activation panels packed once per layer,
  output blocks sized so their weights stay in half of L2; k x k conv packs im2col panels.
- ``xnn``: XNNPACK-style unstructured SpMM in CHW: 32-pixel blocks (8 accumulators), per non-zero
  one index (byte delta), one broadcast weight (ld1r), 8 pixel vectors, 8 FMLA.
- ``mnn``: MNN-style 1x4 blocks: 16-pixel tiles, per block one index, one 4-weight vector, 4 pixel
  vectors, 16 FMLA by lane; output in C4 layout (4 x 4 transposes in the epilogue); every pixel tile
  visits all of the layer's blocks.
- ``grp``: our group kernel: as ``mnn`` but 24-pixel tiles (24 accumulators), CHW output (no
  transposes) and output-group blocks whose weights stay in half of L2 (the co-design: the tile and
  blocking follow the 4-channel group). k x k conv: im2col panels, one unit per kept input channel
  and kernel position.
- ``ew``: the weightless operators (``hswish``, ``add``, ``mul``, ``gap``) as XNNPACK's NEON
  micro-kernels run them, 16 elements (4 vectors) per unit: hard-swish ``x * min(max(x/6 + 1/2, 0), 1)``
  is 2 FMUL, FADD, FMAX, FMIN per vector (``f32-vhswish`` neon); the residual add one FADD per two
  loaded vectors; the squeeze-excite scale one FMUL by the channel's broadcast scale (loaded once per
  channel plane); global average pooling one FADD per vector into 4 accumulators, reduced per
  channel (3 FADD, 2 FADDP, FMUL by 1/n, one store).
- ``dw``: depthwise k x k in C4 layout: per 4 output pixels of 4 channels, each kept kernel position
  is 4 FMLA, each kernel row with a kept position loads its input span; a group-pruned position is
  skipped for all 4 channels.

Pixel edges are computed in whole 4-pixel vectors (the padding lanes cost FMAs, as in real kernels'
edge paths, which we do not model separately); a FC layer runs as a 1x1 conv of one pixel.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numba
import numpy as np

from dataflow.mobile.blocking import gemm_row_block, group_blocks
from simulator.mobile.config import CLASS_ID

__all__ = ["Library", "asm", "STREAMS", "gemm_instances", "xnn_instances", "mnn_instances", "grp_instances",
           "dw_instances", "im2col_instances", "ew_instances", "unit_key"]  # fmt: skip

STREAMS = {"W": 1, "X": 2, "I": 3, "Y": 4, "B": 5}


def _x(n: int) -> int:
    return n


def _v(n: int) -> int:
    return 32 + n


@dataclass
class Template:
    name: str
    rows: list[tuple[int, ...]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    def ins(self, cls: str, text: str, dst: int = -1, srcs: tuple[int, ...] = (), stream: str = "", off: int = 0):
        s = (*srcs, -1, -1, -1)[:3]
        self.rows.append((CLASS_ID[cls], dst, *s, STREAMS.get(stream, 0), off, 1))
        self.lines.append(text)

    def ld1(self, regs: list[int], addr: int, stream: str, off: int):
        """``ld1 {v..}`` of up to 4 consecutive vectors: one instruction, one uop per register."""
        cls = "ld_vec" if len(regs) == 1 else "ld_vecm"
        names = ", ".join(f"v{r}.4s" for r in regs)
        for i, r in enumerate(regs):
            self.rows.append((CLASS_ID[cls], _v(r), _x(addr), -1, -1, STREAMS[stream], off + 16 * i, int(i == 0)))
        self.lines.append(f"ld1 {{{names}}}, [x{addr}]")

    def ld_span(self, first: int, n: int, base: int, stream: str, off: int, tmp: int):
        """Load n consecutive vectors into v{first}.. in ld1 groups of 4 (address adds between)."""
        addr = base
        for g in range(0, n, 4):
            if g:
                self.ins("alu", f"add x{tmp}, x{base}, #{16 * g}", _x(tmp), (_x(base),))
                addr = tmp
            self.ld1(list(range(first + g, first + min(n, g + 4))), addr, stream, off + 16 * g)

    def st1(self, reg: int, stream: str, off: int):
        self.ins("st_vec", f"st1 {{v{reg}.4s}}, [x7]  // +{off}", -1, (_v(reg), _x(7)), stream, off)

    def loop(self, *incs: tuple[int, int]):
        for reg, inc in incs:
            self.ins("alu", f"add x{reg}, x{reg}, #{inc}", _x(reg), (_x(reg),))
        self.ins("alu", "subs x8, x8, #1", _x(8), (_x(8),))
        self.ins("br", "b.ne loop", -1, (_x(8),))


class Library:
    """Templates of one run, deduplicated by key; ``arrays()`` gives the engine's tables."""

    def __init__(self):
        self.templates: list[Template] = []
        self.ids: dict[tuple, int] = {}

    def get(self, key: tuple) -> int:
        if key not in self.ids:
            self.ids[key] = len(self.templates)
            self.templates.append(_BUILD[key[0]](*key[1:]))
        return self.ids[key]

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        rows = np.array([r for t in self.templates for r in t.rows], dtype=np.int64).reshape(-1, 8)
        toff = np.zeros(len(self.templates) + 1, dtype=np.int64)
        np.cumsum([len(t.rows) for t in self.templates], out=toff[1:])
        return rows, toff


def asm(t: Template, label: bool = True) -> str:
    """The template as AArch64 assembly (a loop body for llvm-mca)."""
    body = "\n".join(t.lines)
    return f"loop:\n{body}\n" if label else body + "\n"


# ------------------------------------------------------------------------------------ templates
# registers: x1 weights, x2 activations, x3 indices, x4 loaded index, x5/x6 addresses, x7 output,
# x8 loop counter, x9 packed panel; v0-v1 weights, v2-v10 activations, v8-v31 accumulators.


def _gemm_unit(nv: int) -> Template:
    t = Template(f"gemm unit 8x{4 * nv}")
    t.ld1([0, 1], 1, "W", 0)
    t.ld1([2 + c for c in range(nv)], 9, "B", 0)
    for r in range(8):
        for c in range(nv):
            acc = 8 + r * 3 + c
            w = r // 4
            t.ins("fmla", f"fmla v{acc}.4s, v{2 + c}.4s, v{w}.s[{r % 4}]", _v(acc), (_v(acc), _v(2 + c), _v(w)))
    t.loop((1, 32), (9, 16 * nv))
    return t


def _gemm_pro(nv: int) -> Template:
    t = Template(f"gemm prologue 8x{4 * nv}")
    for r in range(8):
        for c in range(nv):
            t.ins("vmisc", f"movi v{8 + r * 3 + c}.4s, #0", _v(8 + r * 3 + c))
    return t


def _gemm_epi(nv: int, row_bytes: int) -> Template:
    t = Template(f"gemm epilogue 8x{4 * nv}")
    for r in range(8):
        for c in range(nv):
            t.st1(8 + r * 3 + c, "Y", r * row_bytes + 16 * c)
    t.loop((7, 16 * nv))
    return t


def _pack(nv: int) -> Template:
    t = Template(f"pack {4 * nv} pixels")
    t.ld1([2 + c for c in range(nv)], 2, "X", 0)
    for c in range(nv):
        t.ins("st_vec", f"st1 {{v{2 + c}.4s}}, [x9]  // +{16 * c}", -1, (_v(2 + c), _x(9)), "B", 16 * c)
    t.loop((2, 4), (9, 16 * nv))
    return t


def _xnn_unit(nv: int) -> Template:
    t = Template(f"xnn unit {4 * nv} pixels")
    t.ins("ld_int", "ldr x4, [x3]", _x(4), (_x(3),), "I", 0)
    t.ins("ld1r", "ld1r {v0.4s}, [x1]", _v(0), (_x(1),), "W", 0)
    t.ld_span(2, nv, 2, "X", 0, 6)
    for c in range(nv):
        t.ins("fmla", f"fmla v{16 + c}.4s, v{2 + c}.4s, v0.4s", _v(16 + c), (_v(16 + c), _v(2 + c), _v(0)))
    t.ins("alu", "add x2, x2, x4", _x(2), (_x(2), _x(4)))
    t.loop((1, 4), (3, 8))
    return t


def _xnn_pro(nv: int) -> Template:
    t = Template(f"xnn prologue {4 * nv}")
    t.ins("ld1r", "ld1r {v1.4s}, [x10]", _v(1), (_x(10),), "W", 0)
    for c in range(nv):
        t.ins("vmisc", f"mov v{16 + c}.16b, v1.16b", _v(16 + c), (_v(1),))
    return t


def _xnn_epi(nv: int) -> Template:
    t = Template(f"xnn epilogue {4 * nv}")
    for c in range(nv):
        t.st1(16 + c, "Y", 16 * c)
    t.loop((7, 16 * nv))
    return t


def _blk_unit(nv: int) -> Template:
    """One kept 1x4 block / group unit: 4 weights x 4*nv pixels (mnn: nv <= 4, grp: nv <= 6)."""
    t = Template(f"block unit 4x{4 * nv}")
    t.ins("ld_int", "ldr x4, [x3]", _x(4), (_x(3),), "I", 0)
    t.ld1([0], 1, "W", 0)
    t.ins("alu", "add x5, x2, x4", _x(5), (_x(2), _x(4)))
    t.ld_span(2, nv, 5, "X", 0, 6)
    for r in range(4):
        for c in range(nv):
            acc = 8 + r * nv + c
            t.ins("fmla", f"fmla v{acc}.4s, v{2 + c}.4s, v0.s[{r}]", _v(acc), (_v(acc), _v(2 + c), _v(0)))
    t.loop((1, 16), (3, 8))
    return t


def _blk_pro(nv: int) -> Template:
    t = Template(f"block prologue 4x{4 * nv}")
    for a in range(4 * nv):
        t.ins("vmisc", f"movi v{8 + a}.4s, #0", _v(8 + a))
    return t


def _mnn_epi(nv: int) -> Template:
    """C4 output: per 4 pixels a 4 x 4 transpose (8 permutes), then 4 stores of 4 channels."""
    t = Template(f"mnn epilogue 4x{4 * nv}")
    for c in range(nv):
        regs = [8 + r * nv + c for r in range(4)]
        for i in range(8):
            a, b = regs[i % 4], regs[(i + 1) % 4]
            op = ("trn1", "trn2")[i % 2]
            form = "4s" if i < 4 else "2d"
            t.ins("vmisc", f"{op} v{a}.{form}, v{a}.{form}, v{b}.{form}", _v(a), (_v(a), _v(b)))
        for r in range(4):
            t.st1(regs[r], "Y", 64 * c + 16 * r)
    t.loop((7, 64 * nv))
    return t


def _grp_epi(nv: int, row_bytes: int) -> Template:
    t = Template(f"group epilogue 4x{4 * nv}")
    for r in range(4):
        for c in range(nv):
            t.st1(8 + r * nv + c, "Y", r * row_bytes + 16 * c)
    t.loop((7, 16 * nv))
    return t


def _dw_weights(k: int) -> Template:
    """Weights of a 4-channel group held in v19-v27 for the whole plane when k x k <= 9."""
    t = Template(f"dw weights {k}x{k}")
    if k * k <= 9:
        t.ld_span(19, k * k, 1, "W", 0, 6)
    t.loop((1, 16 * k * k))
    return t


def _dw_block(mask: int, k: int, stride: int, row_bytes: int) -> Template:
    """4 output pixels x 4 channels (C4); ``mask`` bit i*k+j = kernel position kept. Accumulators
    v28-v31, input span v2-v18, weights v19-v27 (kernels larger than 3 x 3 reload a row's weights)."""
    t = Template(f"dw block {k}x{k}/s{stride} mask {mask:#x}")
    for p in range(4):
        t.ins("vmisc", f"movi v{28 + p}.4s, #0", _v(28 + p))
    for i in range(k):
        kept = [j for j in range(k) if mask >> (i * k + j) & 1]
        if not kept:
            continue
        lo, hi = min(kept), stride * 3 + max(kept)
        if k * k > 9:
            t.ld_span(19, k, 1, "W", 16 * k * i, 6)
        t.ins("alu", f"add x5, x2, #{i * row_bytes + 16 * lo}", _x(5), (_x(2),))
        t.ld_span(2, hi - lo + 1, 5, "X", i * row_bytes + 16 * lo, 6)
        for j in kept:
            w = 19 + (i * k + j if k * k <= 9 else j)
            for p in range(4):
                src = 2 + stride * p + j - lo
                t.ins("fmla", f"fmla v{28 + p}.4s, v{src}.4s, v{w}.4s", _v(28 + p), (_v(28 + p), _v(src), _v(w)))
    for p in range(4):
        t.st1(28 + p, "Y", 16 * p)
    t.loop((2, 64 * stride), (7, 64))
    return t


def _ew_unit(kind: str, nv: int) -> Template:
    """``nv`` vectors of an element-wise operator (v0-v3 in, v4-v7 second operand / results,
    v28-v31 gap accumulators, v24-v27 constants: 1/6, 1/2, 0, 1; v23 the channel's scale)."""
    t = Template(f"ew {kind} {4 * nv}")
    regs = list(range(nv))
    t.ld1(regs, 2, "X", 0)
    if kind == "add":
        t.ld1([4 + c for c in regs], 5, "B", 0)
    for c in regs:
        a, r = _v(c), _v(4 + c)
        if kind == "hswish":
            t.ins("fmla", f"fmul v{4 + c}.4s, v{c}.4s, v24.4s", r, (a, _v(24)))
            t.ins("vmisc", f"fadd v{4 + c}.4s, v{4 + c}.4s, v25.4s", r, (r, _v(25)))
            t.ins("vmisc", f"fmax v{4 + c}.4s, v{4 + c}.4s, v26.4s", r, (r, _v(26)))
            t.ins("vmisc", f"fmin v{4 + c}.4s, v{4 + c}.4s, v27.4s", r, (r, _v(27)))
            t.ins("fmla", f"fmul v{4 + c}.4s, v{4 + c}.4s, v{c}.4s", r, (r, a))
        elif kind == "add":
            t.ins("vmisc", f"fadd v{4 + c}.4s, v{c}.4s, v{4 + c}.4s", r, (a, r))
        elif kind == "mul":
            t.ins("fmla", f"fmul v{4 + c}.4s, v{c}.4s, v23.4s", r, (a, _v(23)))
        else:  # gap
            t.ins("vmisc", f"fadd v{28 + c}.4s, v{28 + c}.4s, v{c}.4s", _v(28 + c), (_v(28 + c), a))
    if kind != "gap":
        for c in regs:
            t.st1(4 + c, "Y", 16 * c)
    t.loop(*((2, 16 * nv), (7, 16 * nv)) + (((5, 16 * nv),) if kind == "add" else ()))
    return t


def _ew_pro(kind: str) -> Template:
    """Per channel plane: the broadcast scale (``mul``) or zeroed accumulators (``gap``)."""
    t = Template(f"ew {kind} prologue")
    if kind == "mul":
        t.ins("ld1r", "ld1r {v23.4s}, [x5]", _v(23), (_x(5),), "B", 0)
    else:
        for c in range(4):
            t.ins("vmisc", f"movi v{28 + c}.4s, #0", _v(28 + c))
    return t


def _ew_gap_epi() -> Template:
    t = Template("ew gap epilogue")
    for a, b in ((28, 29), (30, 31), (28, 30)):
        t.ins("vmisc", f"fadd v{a}.4s, v{a}.4s, v{b}.4s", _v(a), (_v(a), _v(b)))
    t.ins("vmisc", "faddp v28.4s, v28.4s, v28.4s", _v(28), (_v(28),))
    t.ins("vmisc", "faddp s28, v28.2s", _v(28), (_v(28),))
    t.ins("fmla", "fmul s28, s28, v24.s[0]", _v(28), (_v(28), _v(24)))
    t.ins("st_vec", "str s28, [x7]", -1, (_v(28), _x(7)), "Y", 0)
    return t


_BUILD = {
    "gemm_unit": _gemm_unit,
    "gemm_pro": _gemm_pro,
    "gemm_epi": _gemm_epi,
    "pack": _pack,
    "xnn_unit": _xnn_unit,
    "xnn_pro": _xnn_pro,
    "xnn_epi": _xnn_epi,
    "blk_unit": _blk_unit,
    "blk_pro": _blk_pro,
    "mnn_epi": _mnn_epi,
    "grp_epi": _grp_epi,
    "dw_w": _dw_weights,
    "dw_block": _dw_block,
    "ew_unit": _ew_unit,
    "ew_pro": _ew_pro,
    "ew_gap_epi": _ew_gap_epi,
}


def unit_key(kernel: str) -> tuple:
    """The steady-state loop body of each kernel (the llvm-mca comparison's unit)."""
    return {
        "gemm": ("gemm_unit", 3),
        "xnn": ("xnn_unit", 8),
        "mnn": ("blk_unit", 4),
        "grp": ("blk_unit", 6),
        "dw": ("dw_block", 0x1FF, 3, 1, 256),
    }[kernel]


# ---------------------------------------------------------------------------- instance loops
# Each generator runs its loop nest twice: once to count (out is None-like, size 0), once to fill.


@numba.njit(cache=True)
def _gemm_loop(out, fill, tids, m_out, k_dim, p, mc_blocks, bases, src_off):
    """tids: [unit nv1..3, pro nv1..3, epi nv1..3, pack nv1..3] (index (kind*3 + nv-1))."""
    n = 0
    npan = (p + 11) // 12
    mblk = (m_out + 7) // 8
    wb, xb, yb, bb = bases[0], bases[1], bases[3], bases[4]
    for b0 in range(0, mblk, mc_blocks):
        for pn in range(npan):
            rem = min(12, p - pn * 12)
            nv = (rem + 3) // 4
            if b0 == 0:
                for kk in range(k_dim):
                    if fill:
                        out[n, 0] = tids[9 + nv - 1]
                        out[n, 2] = xb + src_off[kk] + pn * 48
                        out[n, 5] = bb + (pn * k_dim + kk) * 48
                    n += 1
            for mb in range(b0, min(b0 + mc_blocks, mblk)):
                if fill:
                    out[n, 0] = tids[3 + nv - 1]
                n += 1
                for kk in range(k_dim):
                    if fill:
                        out[n, 0] = tids[nv - 1]
                        out[n, 1] = wb + (mb * k_dim + kk) * 32
                        out[n, 5] = bb + (pn * k_dim + kk) * 48
                    n += 1
                if fill:
                    out[n, 0] = tids[6 + nv - 1]
                    out[n, 4] = yb + mb * 8 * p * 4 + pn * 48
                n += 1
    return n


@numba.njit(cache=True)
def _xnn_loop(out, fill, tids, m_out, p, ptr, idx, bases):
    """tids: [unit nv1..8, pro nv1..8, epi nv1..8]."""
    n = 0
    wb, xb, ib, yb = bases[0], bases[1], bases[2], bases[3]
    for pb in range((p + 31) // 32):
        nv = (min(32, p - pb * 32) + 3) // 4
        for o in range(m_out):
            if fill:
                out[n, 0] = tids[8 + nv - 1]
                out[n, 1] = wb + o * 4
            n += 1
            for t in range(ptr[o], ptr[o + 1]):
                if fill:
                    out[n, 0] = tids[nv - 1]
                    out[n, 1] = wb + (m_out + t) * 4
                    out[n, 2] = xb + idx[t] * p * 4 + pb * 128
                    out[n, 3] = ib + t * 8
                n += 1
            if fill:
                out[n, 0] = tids[16 + nv - 1]
                out[n, 4] = yb + o * p * 4 + pb * 128
            n += 1
    return n


@numba.njit(cache=True)
def _blk_loop(out, fill, tids, groups, p, tile, ptr, idx, row_of_idx, bases, block_starts, c4_out):
    """Block/group kernel: for each group block, for each pixel tile, for each group: prologue,
    units, epilogue. tids: [unit nv1..6, pro nv1..6, epi nv1..6]. ``row_of_idx`` maps a unit's
    index to the activation row it reads (im2col rows for k x k)."""
    n = 0
    wb, xb, ib, yb = bases[0], bases[1], bases[2], bases[3]
    vt = tile // 4
    for bi in range(block_starts.shape[0] - 1):
        for pt in range((p + tile - 1) // tile):
            nv = (min(tile, p - pt * tile) + 3) // 4
            for g in range(block_starts[bi], block_starts[bi + 1]):
                if fill:
                    out[n, 0] = tids[vt + nv - 1]
                n += 1
                for t in range(ptr[g], ptr[g + 1]):
                    if fill:
                        out[n, 0] = tids[nv - 1]
                        out[n, 1] = wb + t * 16
                        out[n, 2] = xb + row_of_idx[idx[t]] * p * 4 + pt * tile * 4
                        out[n, 3] = ib + t * 8
                    n += 1
                if fill:
                    out[n, 0] = tids[2 * vt + nv - 1]
                    if c4_out:
                        out[n, 4] = yb + (g * p + pt * tile) * 16
                    else:
                        out[n, 4] = yb + g * 4 * p * 4 + pt * tile * 4
                n += 1
    return n


@numba.njit(cache=True)
def _dw_loop(out, fill, wtid, btids, c4, ho, wo, hp, wp, stride_h, stride, k, bases):
    """btids[c4 group] = block template of that group's kernel-position mask."""
    n = 0
    wb, xb, yb = bases[0], bases[1], bases[3]
    for g in range(c4):
        if fill:
            out[n, 0] = wtid
            out[n, 1] = wb + g * k * k * 16
        n += 1
        for y in range(ho):
            for xb4 in range((wo + 3) // 4):
                if fill:
                    out[n, 0] = btids[g]
                    out[n, 1] = wb + g * k * k * 16
                    out[n, 2] = xb + ((g * hp + y * stride_h) * wp + xb4 * 4 * stride) * 16
                    out[n, 4] = yb + ((g * ho + y) * wo + xb4 * 4) * 16
                n += 1
    return n


def _run_loop(fn, *args) -> np.ndarray:
    empty = np.zeros((0, 6), dtype=np.int64)
    n = fn(empty, False, *args)
    out = np.zeros((n, 6), dtype=np.int64)
    fn(out, True, *args)
    return out


def _ids(lib: Library, keys: list[tuple]) -> np.ndarray:
    return np.array([lib.get(k) for k in keys], dtype=np.int64)


def gemm_instances(lib: Library, m_out: int, k_dim: int, p: int, bases, l2_bytes: int, src_off):
    """Dense packed GEMM ``[m_out, k_dim] x [k_dim, p]``; ``src_off[k]``: byte offset in the input
    of the pixels that packed row k copies (a channel plane for 1x1, a shifted plane for im2col)."""
    tids = _ids(
        lib,
        [("gemm_unit", nv) for nv in (1, 2, 3)]
        + [("gemm_pro", nv) for nv in (1, 2, 3)]
        + [("gemm_epi", nv, p * 4) for nv in (1, 2, 3)]
        + [("pack", nv) for nv in (1, 2, 3)],
    )
    mc = gemm_row_block(l2_bytes, k_dim)
    return _run_loop(_gemm_loop, tids, m_out, k_dim, p, mc, np.asarray(bases, dtype=np.int64),
                     np.asarray(src_off, dtype=np.int64))  # fmt: skip


@numba.njit(cache=True)
def _im2col_loop(out, fill, tids, k_dim, p, bases, src_off):
    """Rows of the im2col buffer ``[k_dim, p]`` (CHW rows), 12 pixels per instance."""
    n = 0
    xb, bb = bases[1], bases[4]
    for kk in range(k_dim):
        for pn in range((p + 11) // 12):
            nv = (min(12, p - pn * 12) + 3) // 4
            if fill:
                out[n, 0] = tids[nv - 1]
                out[n, 2] = xb + src_off[kk] + pn * 48
                out[n, 5] = bb + kk * p * 4 + pn * 48
            n += 1
    return n


def im2col_instances(lib: Library, k_dim: int, p: int, bases, src_off):
    """im2col of a k x k input into CHW rows (for the group k x k kernel)."""
    tids = _ids(lib, [("pack", nv) for nv in (1, 2, 3)])
    return _run_loop(_im2col_loop, tids, k_dim, p, np.asarray(bases, dtype=np.int64),
                     np.asarray(src_off, dtype=np.int64))  # fmt: skip


def xnn_instances(lib: Library, m_out: int, p: int, ptr, idx, bases):
    tids = _ids(
        lib,
        [("xnn_unit", nv) for nv in range(1, 9)]
        + [("xnn_pro", nv) for nv in range(1, 9)]
        + [("xnn_epi", nv) for nv in range(1, 9)],
    )
    return _run_loop(_xnn_loop, tids, m_out, p, ptr, idx, np.asarray(bases, dtype=np.int64))


def mnn_instances(lib: Library, groups: int, p: int, ptr, idx, bases, row_of_idx=None):
    tids = _ids(lib, [("blk_unit", nv) for nv in range(1, 5)] + [("blk_pro", nv) for nv in range(1, 5)]
                + [("mnn_epi", nv) for nv in range(1, 5)])  # fmt: skip
    rows = np.arange(int(idx.max()) + 1 if idx.size else 1, dtype=np.int64) if row_of_idx is None else row_of_idx
    starts = np.array([0, groups], dtype=np.int64)
    return _run_loop(_blk_loop, tids, groups, p, 16, ptr, idx, rows, np.asarray(bases, dtype=np.int64), starts, True)


def grp_instances(lib: Library, groups: int, p: int, ptr, idx, bases, l2_bytes: int, row_of_idx=None):
    tids = _ids(lib, [("blk_unit", nv) for nv in range(1, 7)] + [("blk_pro", nv) for nv in range(1, 7)]
                + [("grp_epi", nv, p * 4) for nv in range(1, 7)])  # fmt: skip
    rows = np.arange(int(idx.max()) + 1 if idx.size else 1, dtype=np.int64) if row_of_idx is None else row_of_idx
    starts = group_blocks(ptr, l2_bytes // 2)
    return _run_loop(_blk_loop, tids, groups, p, 24, ptr, idx, rows, np.asarray(bases, dtype=np.int64), starts, False)


def dw_instances(lib: Library, masks: np.ndarray, k: int, stride: tuple[int, int], ho: int, wo: int, hp: int,
                 wp: int, bases):  # fmt: skip
    """``masks[c4 group]``: bit i*k+j set where that kernel position is kept for the group;
    ``stride`` = (height, width)."""
    wtid = lib.get(("dw_w", k))
    btids = np.array([lib.get(("dw_block", int(m), k, stride[1], wp * 16)) for m in masks], dtype=np.int64)
    return _run_loop(_dw_loop, wtid, btids, len(masks), ho, wo, hp, wp, stride[0], stride[1], k,
                     np.asarray(bases, dtype=np.int64))  # fmt: skip


def ew_instances(lib: Library, kind: str, channels: int, plane: int, bases) -> np.ndarray:
    """An element-wise operator over ``channels`` CHW planes of ``plane`` elements. ``hswish`` and
    ``add`` stream the whole tensor (16 elements per unit, a shorter last unit); ``mul`` and ``gap``
    go plane by plane (the scale or the sum is per channel), each plane's units starting at the
    plane's first element. Bases: X input, B second operand (skip tensor or scale vector), Y output."""
    xb, yb, bb = int(bases[1]), int(bases[3]), int(bases[4])
    unit = [lib.get(("ew_unit", kind, nv)) for nv in (1, 2, 3, 4)]
    if kind in ("hswish", "add"):
        n = channels * plane
        starts = np.arange(0, n, 16, dtype=np.int64)
        nv = (np.minimum(16, n - starts) + 3) // 4
        out = np.zeros((len(starts), 6), dtype=np.int64)
        out[:, 0] = np.asarray(unit, dtype=np.int64)[nv - 1]
        out[:, 2] = xb + 4 * starts
        out[:, 4] = yb + 4 * starts
        if kind == "add":
            out[:, 5] = bb + 4 * starts
        return out
    per = -(-plane // 16)
    offs = np.arange(per, dtype=np.int64) * 16
    nv = (np.minimum(16, plane - offs) + 3) // 4
    pro = lib.get(("ew_pro", kind))
    epi = lib.get(("ew_gap_epi",)) if kind == "gap" else -1
    width = 1 + per + (kind == "gap")
    out = np.zeros((channels, width, 6), dtype=np.int64)
    c = np.arange(channels, dtype=np.int64)[:, None]
    out[:, 0, 0] = pro
    if kind == "mul":
        out[:, 0, 5] = bb + 4 * c[:, 0]
    out[:, 1 : 1 + per, 0] = np.asarray(unit, dtype=np.int64)[nv - 1][None, :]
    out[:, 1 : 1 + per, 2] = xb + 4 * (c * plane + offs[None, :])
    if kind == "mul":
        out[:, 1 : 1 + per, 4] = yb + 4 * (c * plane + offs[None, :])
    else:
        out[:, -1, 0] = epi
        out[:, -1, 4] = yb + 4 * c[:, 0]
    return out.reshape(-1, 6)

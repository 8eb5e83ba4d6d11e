"""A Cortex-A76-class core: configuration, instruction classes, and loading it from YAML.

Why a core model: whether a sparse kernel beats dense on a phone is decided by which resource its
inner loop saturates (the two FMA pipes, the two load pipes, the 4-wide front end, or the caches),
and by how its address stream meets a 64 KB L1 and a 512 KB L2. The engine that runs instruction
streams through this core is :mod:`simulator.mobile.cl`; the streams come from
:mod:`simulator.mobile.streams`.

Defaults: the Snapdragon 855 prime core (Kryo 485 Gold, Cortex-A76 class) at 2.84 GHz, from
../shared/reference/anchors.md: 4-wide decode, 8 uops dispatched per cycle, 128-entry window, two
load/store pipes, two 128-bit ASIMD pipes, FMLA latency 4, 64 KB 4-way L1D, 512 KB private L2 with
9-cycle load-to-use, 2 MB L3 at 26-31 cycles (we use 28), LPDDR4X at about 34 GB/s. Per-class
latencies and pipe use follow LLVM's Neoverse-N1 scheduling model (N1 is derived from A76) for the
instruction forms our kernels emit (checked by ``llvm-mca -instruction-info``):

=========  ==================================  =======  ============================
class      forms                               latency  pipes (one entry per uop)
=========  ==================================  =======  ============================
ld_int     ``ldr w/x``                         4        L0|L1
ld_vec     ``ld1 {vN.4s}`` (one register)       5        L0|L1
ld_vecm    ``ld1 {vA.4s-vD.4s}`` (per reg.)     6        L0|L1
ld1r       ``ld1r {vN.4s}``                    7        L0|L1, V1
st_vec     ``st1 {vN.4s}`` (per register)      2        L0|L1, V0|V1
fmla       ``fmla .4s`` (vector or by lane)    4        V0|V1
vmisc      ``movi trn1 trn2 zip1 ext``         2        V0|V1
alu        ``add subs``                        1        S0|S1|M
br         ``b.ne``                            1        B
=========  ==================================  =======  ============================

Our assumptions where the sources are silent (all configurable): DRAM load-to-use 110 ns; an L2
that fills one 64 B line into L1 every 2 cycles and an L3 every 4; a next-line L1 prefetcher plus an
32-line L2 stream prefetcher triggered by L1 misses (a single
core then streams about 28 GB/s from DRAM, below the channel's 34); perfectly predicted loop branches.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from simulator.common.errors import SparsimInputError
from simulator.common.files import package_data
from simulator.common.validate import check_bool, check_int, check_number

__all__ = ["CoreConfig", "load_core", "presets", "CLASSES", "PIPES", "class_table", "class_masks"]

PIPES = ("L0", "L1", "V0", "V1", "S0", "S1", "M", "B")
_P = {p: 1 << i for i, p in enumerate(PIPES)}
_L = _P["L0"] | _P["L1"]
_V = _P["V0"] | _P["V1"]
_I = _P["S0"] | _P["S1"] | _P["M"]

#: class name -> (latency field, uop pipe masks on a core with 128-bit ASIMD pipes and two
#: load/store pipes, is_load, is_store, is a 128-bit (Q-form) load)
CLASSES: dict[str, tuple[str, tuple[int, ...], int, int, int]] = {
    "ld_int": ("lat_ld_int", (_L,), 1, 0, 0),
    "ld_vec": ("lat_ld_vec", (_L,), 1, 0, 1),
    "ld_vecm": ("lat_ld_vecm", (_L,), 1, 0, 1),
    "ld1r": ("lat_ld1r", (_L, _P["V1"]), 1, 0, 0),
    "st_vec": ("lat_st", (_L, _V), 0, 1, 0),
    "fmla": ("lat_fmla", (_V,), 0, 0, 0),
    "vmisc": ("lat_vmisc", (_V,), 0, 0, 0),
    "alu": ("lat_alu", (_I,), 0, 0, 0),
    "br": ("lat_br", (_P["B"],), 0, 0, 0),
}
#: classes whose 128-bit data processing splits into two 64-bit uops on 64-bit ASIMD pipes
_Q_SPLIT = ("fmla", "vmisc")
CLASS_ID = {name: i for i, name in enumerate(CLASSES)}


@dataclass(frozen=True, slots=True, kw_only=True)
class CoreConfig:
    """One core and its memory hierarchy. Times in core cycles unless named ``_ns``.

    Parameters
    ----------
    clock_ghz : clock, to turn cycles into seconds.
    decode_width : architectural instructions entering the window per cycle.
    dispatch_uops : uops entering the window per cycle.
    retire_width : uops leaving the window per cycle, in program order.
    rob_size : window entries (one per uop).
    lat_* : result latency per instruction class (see the module table).
    vec_q_uops : uops of one 128-bit (Q-form) FMLA or permute: 1 on 128-bit ASIMD pipes (A76),
        2 where the two ASIMD pipes are 64 bits wide and a Q-form op occupies both (A73, A75, A55).
    load_pipes : 2: loads and stores share two load/store pipes (A76); 1: one load pipe (L0) and
        one store pipe (L1) (A73, A75, A55).
    in_order : issue strictly in program order, at most ``decode_width`` instructions per cycle,
        an instruction never before its predecessor (A55); ``False``: the out-of-order window.
    q_load_issue_cycles : on an in-order core, cycles a 128-bit vector load holds the issue
        stage (A55: 2, its load path is 64 bits wide); 1 = no hold.
    l1_kb, l1_ways, l2_kb, l2_ways, l3_kb, l3_ways, line_bytes : set-associative LRU caches;
        ``l3_kb = 0``: no L3 (an L2 miss goes to DRAM).
    l2_latency, l3_latency : load-to-use of an integer load that hits that level.
    l2_line_cycles, l3_line_cycles : cycles one line transfer occupies that level's port.
    dram_latency_ns, dram_gbps : DRAM load-to-use and bandwidth (one channel).
    prefetch_l1_lines, prefetch_l2_lines : lines fetched ahead on an L1 miss into L1 / into L2.
        Our assumption, with no stream detection: on every L1 miss, however irregular. Gathered
        sparse rows on a core whose L2 a layer's input outgrows pay for lines never read; on the
        A75 and A55 presets this decides the sign of the group engine's 30% result
        (``reports/reference/sparsebytenn``, ``prefetch_sensitivity.csv``).
    perfect_l1 : every access hits L1 (the llvm-mca comparison's assumption).
    """

    #: names the core config had before every block's clock was ``clock_ghz`` (refused, with it)
    RENAMED: ClassVar[dict[str, str]] = {"freq_ghz": "clock_ghz"}

    clock_ghz: float = 2.84
    decode_width: int = 4
    dispatch_uops: int = 8
    retire_width: int = 8
    rob_size: int = 128
    lat_ld_int: int = 4
    lat_ld_vec: int = 5
    lat_ld_vecm: int = 6
    lat_ld1r: int = 7
    lat_st: int = 2
    lat_fmla: int = 4
    lat_vmisc: int = 2
    lat_alu: int = 1
    lat_br: int = 1
    l1_kb: int = 64
    l1_ways: int = 4
    l2_kb: int = 512
    l2_ways: int = 8
    l3_kb: int = 2048
    l3_ways: int = 16
    line_bytes: int = 64
    l2_latency: int = 9
    l3_latency: int = 28
    l2_line_cycles: int = 2
    l3_line_cycles: int = 4
    dram_latency_ns: float = 110.0
    dram_gbps: float = 34.0
    prefetch_l1_lines: int = 1
    prefetch_l2_lines: int = 32
    perfect_l1: bool = False
    vec_q_uops: int = 1
    load_pipes: int = 2
    in_order: bool = False
    q_load_issue_cycles: int = 1

    def __post_init__(self) -> None:
        src = "CoreConfig"
        ints = {
            "decode_width": (1, 64),
            "dispatch_uops": (1, 64),
            "retire_width": (1, 64),
            "rob_size": (4, 4096),
            "l1_kb": (1, 1 << 16),
            "l1_ways": (1, 64),
            "l2_kb": (1, 1 << 16),
            "l2_ways": (1, 64),
            "l3_kb": (0, 1 << 16),
            "l3_ways": (1, 64),
            "line_bytes": (16, 1024),
            "l2_latency": (1, 10_000),
            "l3_latency": (1, 10_000),
            "l2_line_cycles": (1, 10_000),
            "l3_line_cycles": (1, 10_000),
            "prefetch_l1_lines": (0, 64),
            "prefetch_l2_lines": (0, 256),
            "vec_q_uops": (1, 2),
            "load_pipes": (1, 2),
            "q_load_issue_cycles": (1, 16),
        }
        ints.update({f.name: (1, 1000) for f in dataclasses.fields(self) if f.name.startswith("lat_")})
        for key, (lo, hi) in ints.items():
            check_int(src, key, getattr(self, key), lo, hi)
        check_number(src, "clock_ghz", self.clock_ghz, 0.01, 10, unit="GHz")
        check_number(src, "dram_latency_ns", self.dram_latency_ns, 1, 100_000, unit="ns")
        check_number(src, "dram_gbps", self.dram_gbps, 0.01, 10_000, unit="GB/s")
        check_bool(src, "perfect_l1", self.perfect_l1)
        check_bool(src, "in_order", self.in_order)
        if self.line_bytes & (self.line_bytes - 1):
            raise SparsimInputError(src, "line_bytes", self.line_bytes, "a power of two")
        for lvl in ("l1", "l2", "l3") if self.l3_kb else ("l1", "l2"):
            kb, ways = getattr(self, f"{lvl}_kb"), getattr(self, f"{lvl}_ways")
            if (kb * 1024) % (self.line_bytes * ways):
                raise SparsimInputError(
                    src, f"{lvl}_kb", kb, f"must hold a whole number of sets of {ways} x {self.line_bytes} B lines"
                )
        if self.dispatch_uops < 2:
            raise SparsimInputError(src, "dispatch_uops", self.dispatch_uops, "at least 2 (a store is 2 uops)")

    def sets(self, level: str) -> int:
        return getattr(self, f"{level}_kb") * 1024 // (self.line_bytes * getattr(self, f"{level}_ways"))

    @property
    def dram_latency(self) -> int:
        return int(round(self.dram_latency_ns * self.clock_ghz))

    @property
    def dram_line_cycles(self) -> float:
        return self.line_bytes / (self.dram_gbps / self.clock_ghz)


def class_masks(cfg: CoreConfig) -> dict[str, tuple[int, ...]]:
    """Pipe masks of each class's uops on ``cfg``: Q-form FMLA and permutes take both 64-bit ASIMD
    pipes when ``vec_q_uops == 2``; with one load pipe, loads go to L0 and stores to L1."""
    out = {}
    for name, (_lat, masks, ld, st, _q) in CLASSES.items():
        m = list(masks)
        if cfg.load_pipes == 1 and (ld or st):
            m[0] = _P["L0"] if ld else _P["L1"]
        if cfg.vec_q_uops == 2 and name in _Q_SPLIT:
            m = [_V, _V]
        out[name] = tuple(m)
    return out


def class_table(cfg: CoreConfig) -> np.ndarray:
    """``int64 [classes, 6]``: latency, uop-0 pipe mask, uop-1 pipe mask (0 = none), is_load,
    is_store, is a 128-bit load."""
    tab = np.zeros((len(CLASSES), 6), dtype=np.int64)
    masks = class_masks(cfg)
    for i, (name, (lat, _m, ld, st, q)) in enumerate(CLASSES.items()):
        m = masks[name]
        tab[i, 0] = getattr(cfg, lat)
        tab[i, 1] = m[0]
        tab[i, 2] = m[1] if len(m) > 1 else 0
        tab[i, 3] = ld
        tab[i, 4] = st
        tab[i, 5] = q
    return tab


PRESET_DIR = package_data("simulator.mobile", "presets")


def presets() -> list[str]:
    """Names of the shipped core presets (``simulator/mobile/presets/NAME.yaml``, every field cited)."""
    from simulator.common.config import preset_names

    return preset_names(PRESET_DIR)


def load_core(path: str | Path | None) -> CoreConfig:
    """A core preset by name (:func:`presets`) or a YAML core config (keys are :class:`CoreConfig`
    fields); ``None`` gives the Snapdragon 855 prime core (the ``a76`` preset)."""
    if path is None:
        return CoreConfig()
    from simulator.common.config import preset_or_yaml

    return preset_or_yaml(path, CoreConfig, PRESET_DIR, "core", "--core", "core")


@functools.lru_cache(maxsize=1)
def _preset_configs() -> tuple[tuple[str, CoreConfig], ...]:
    return tuple((name, load_core(name)) for name in presets())


def preset_name(cfg: CoreConfig) -> str | None:
    """The shipped preset whose config equals ``cfg`` (the first, by name), or ``None``."""
    return next((name for name, c in _preset_configs() if c == cfg), None)

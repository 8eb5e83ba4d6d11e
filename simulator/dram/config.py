"""A DRAM device and its controller: organisation, JEDEC timing, address mapping, page policy.

Why a DRAM model of its own: a streaming accelerator's stalls depend on more than bytes per
cycle. Whether a tile's fetch hits open rows, spreads over banks, or keeps activating rows
faster than tFAW allows decides how long it takes; one bandwidth figure cannot say. The
per-request controller (:mod:`simulator.dram.cl`, twin :mod:`simulator.dram.twin`) and the
fold-level form (:mod:`simulator.dram.fold`) share this one frozen config.

Times are in DRAM clock cycles (``tck_ps`` per cycle; data moves on both edges, so one burst of
``burst_bytes`` occupies the data bus ``bl`` cycles). One *request* is one burst. Names follow
JEDEC (and Ramulator2's presets): ``cl`` read latency, ``cwl`` write latency, ``rcd`` ACT to
column command (``rcd_wr``: ACT to WR where it differs, HBM's tRCDWR; the per-request controller,
its twin and the checker use it, the fold form keeps ``rcd`` for every activation, the larger),
``rp`` PRE to ACT, ``ras`` ACT to PRE, ``rc`` ACT to ACT (same bank), ``ccd_s`` / ``ccd_l`` column
to column (other / same bank group), ``rrd_s`` / ``rrd_l`` ACT to ACT (other / same bank group),
``faw`` four-ACT window, ``wr`` write recovery (end of write data to PRE), ``rtp`` read to PRE,
``wtr_s`` / ``wtr_l`` end of write data to read, ``rfc`` refresh cycle, ``refi`` refresh
interval. Devices without bank groups (LPDDR4X) have ``bankgroups: 1`` and equal ``_s``/``_l``
values.

Address mapping: ``address_map`` lists the fields from the most to the least significant bits
above the burst offset, like Ramulator's ``RoBaRaCoCh``: ``ro`` row, ``ba`` bank, ``bg`` bank group,
``ra`` rank, ``co`` column (bursts within a row), ``ch`` channel. The default
``ro-ra-ba-co-bg-ch`` (ours) puts consecutive bursts on alternating channels, then on alternating
bank groups (DDR4's tCCD_L is twice tCCD_S: a stream within one bank group runs at half the bus
rate), then along a row; so a sequential stream keeps every bank group's row open.

Ramulator 2's linear maps are there by name (:data:`ADDRESS_MAPS`, so a run can be set up as
Ramulator's and the map swept as an axis): ``RoBaRaCoCh`` (Ramulator's default) is
``ro-ba-bg-ra-co-ch`` and ``ChRaBaRoCo`` is ``ch-ra-bg-ba-ro-co``. Both are read off
``src/addr_mapper/impl/linear_mappers.cpp`` of Ramulator 2.0/2.1 (github CMU-SAFARI/ramulator2,
before commit 38c51d4): with DDR4's levels (channel, rank, bank group, bank, row, column),
``RoBaRaCoCh`` slices the channel off the burst index first, then the column, then rank, bank
group, bank and row upwards; ``ChRaBaRoCo`` slices column, row, bank, bank group, rank, channel
upwards. (The newest Ramulator picks the channel in a separate channel mapper; these are the
2.0/2.1 forms the comparison in issue 31 used.)

A bit-slice map gives each field's bits one by one, for maps whose fields are not contiguous
(a channel bit interleaved high and low, say): in YAML a mapping of field to a list of bit
numbers of the burst index (bit 0 is the lowest above the burst offset; a field's own least
significant bit first), ``address_map: {ch: [0], bg: [1, 2], co: [3, 4, 5, 6, 7, 8, 9], ba: [10,
11], ro: [12, ...]}``, every bit used once. It is kept in a canonical string form
(``"ro=12,...|ra=|bg=1,2|ba=10,11|co=3,...|ch=0"``), which also works as a sweep value. The
fold form runs its numpy path under such a map (its numba kernels slice contiguous fields).

Presets (``simulator/dram/presets/NAME.yaml``, every value cited): ``ddr4-3200`` (one 64-bit
channel of DDR4-3200AA, 8 Gb x8 devices), ``lpddr4x-4266`` (four x16 channels, a phone's memory),
``lpddr5x-8533`` (four x16 channels), ``hbm2`` (one 8 GB stack at 2 Gb/s per pin, 16 pseudo
channels of 64 bits), ``hbm3`` (one 16 GB stack at 6.4 Gb/s per pin, 32 pseudo channels of 32
bits; every timing Ramulator 2's JEDEC preset HBM3_6400Mbps). Each preset's capacity
(:attr:`DramConfig.capacity_bytes`) is its geometry, equal to the cited device's; more stacks or
packages are ``channels`` (a power of two, at most 256).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from simulator.common.errors import SparsimInputError
from simulator.common.files import package_data
from simulator.common.validate import check_choice, check_int

__all__ = ["DramConfig", "load_dram", "dram_presets", "parse_slices", "FIELDS", "PRESET_DIR", "ADDRESS_MAPS"]

#: Ramulator 2's linear address maps by their names, as fields from the most significant (see the
#: module docstring for where they are read from)
ADDRESS_MAPS = {"RoBaRaCoCh": "ro-ba-bg-ra-co-ch", "ChRaBaRoCo": "ch-ra-bg-ba-ro-co"}

PRESET_DIR = package_data("simulator.dram", "presets")
FIELDS = ("ro", "ra", "bg", "ba", "co", "ch")
_TIMINGS = ("cl", "cwl", "rcd", "rp", "ras", "rc", "wr", "rtp", "ccd_s", "ccd_l", "rrd_s", "rrd_l", "faw",
            "wtr_s", "wtr_l", "bl", "rfc", "refi")  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class DramConfig:
    """One memory system: ``channels`` independent channels of ``ranks`` x ``bankgroups`` x ``banks``."""

    name: str = "ddr4-3200"
    channels: int = 1
    ranks: int = 1
    bankgroups: int = 4
    banks: int = 4
    rows: int = 65536
    row_bytes: int = 8192
    burst_bytes: int = 64
    tck_ps: int = 625
    cl: int = 22
    cwl: int = 16
    rcd: int = 22
    rp: int = 22
    ras: int = 52
    rc: int = 74
    wr: int = 24
    rtp: int = 12
    ccd_s: int = 4
    ccd_l: int = 8
    rrd_s: int = 4
    rrd_l: int = 8
    faw: int = 34
    wtr_s: int = 4
    wtr_l: int = 12
    bl: int = 4
    rfc: int = 576
    refi: int = 12480
    page_policy: str = "open"
    address_map: str = "ro-ra-ba-co-bg-ch"
    #: read queue entries per controller
    queue_depth: int = 32
    #: ACT to WR when it differs from ACT to RD (HBM's tRCDWR); None: ``rcd`` for both
    rcd_wr: int | None = None
    #: write queue entries per controller; None: ``queue_depth``
    write_queue_depth: int | None = None
    #: write draining: enter write mode above ``write_high`` x the write queue (or with no read
    #: waiting), leave it below ``write_low`` x the write queue once a read waits (Ramulator's 0.8/0.2)
    write_high: float = 0.8
    write_low: float = 0.2
    #: cycles the oldest waiting read may be passed over by a write drain (0: no cap)
    read_bypass_cap: int = 0
    #: channels that share one controller (its queues) and one command bus: HBM's pseudo channels
    #: (channels 2k and 2k+1 are one channel's two pseudo channels when 2); 1: independent channels;
    #: with fewer channels than this, one controller holds them all
    pseudo_channels: int = 1
    #: separate row (ACT, PRE, REF) and column (RD, WR) command buses, one command each per cycle
    dual_command_bus: bool = False
    #: command-bus cycles an ACT takes (HBM: 2); its timings count from its last cycle, as JEDEC's
    act_cycles: int = 1

    @property
    def write_depth(self) -> int:
        """Write queue entries: ``write_queue_depth``, or ``queue_depth``."""
        return self.queue_depth if self.write_queue_depth is None else self.write_queue_depth

    @property
    def rcd_write(self) -> int:
        """ACT to WR: ``rcd_wr``, or ``rcd`` when the device has one row-to-column delay."""
        return self.rcd if self.rcd_wr is None else self.rcd_wr

    def __post_init__(self) -> None:
        src = f"dram {self.name}"
        if not isinstance(self.name, str) or not self.name:
            raise SparsimInputError("dram", "name", self.name, "a non-empty string")
        for key, (lo, hi) in {"channels": (1, 256), "ranks": (1, 8), "bankgroups": (1, 16), "banks": (1, 32),
                              "rows": (1, 1 << 20), "row_bytes": (64, 1 << 16), "burst_bytes": (8, 1024),
                              "tck_ps": (100, 100_000), "queue_depth": (1, 1024)}.items():  # fmt: skip
            check_int(src, key, getattr(self, key), lo, hi)
        for key in _TIMINGS:  # real devices: tens to hundreds of cycles, refresh a few thousand
            hi = {"refi": 1_000_000, "rfc": 65_536}.get(key, 4096)
            check_int(src, key, getattr(self, key), 1, hi, "DRAM clock cycles")
        if self.rcd_wr is not None:
            check_int(src, "rcd_wr", self.rcd_wr, 1, 4096, "DRAM clock cycles")
        if self.write_queue_depth is not None:
            check_int(src, "write_queue_depth", self.write_queue_depth, 1, 1024)
        check_int(src, "read_bypass_cap", self.read_bypass_cap, 0, 1 << 30, "DRAM clock cycles (0: no cap)")
        check_int(src, "pseudo_channels", self.pseudo_channels, 1, 8)
        check_int(src, "act_cycles", self.act_cycles, 1, 4, "command-bus cycles")
        if not isinstance(self.dual_command_bus, bool):
            raise SparsimInputError(src, "dual_command_bus", self.dual_command_bus, "true or false")
        for key in ("write_high", "write_low"):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= float(v) <= 1.0:
                raise SparsimInputError(src, key, v, "a fraction of the write queue from 0 to 1")
        if self.write_low > self.write_high:
            raise SparsimInputError(src, "write_low", self.write_low, f"at most write_high ({self.write_high})")
        if self.channels < self.pseudo_channels:
            # fewer channels than a controller holds (an HBM preset cut to one pseudo channel):
            # one controller holds them all
            object.__setattr__(self, "pseudo_channels", self.channels)
        if self.pseudo_channels & (self.pseudo_channels - 1) or self.channels % self.pseudo_channels:
            raise SparsimInputError(src, "pseudo_channels", self.pseudo_channels,
                                    f"a power of two dividing channels ({self.channels})")  # fmt: skip
        for key in ("channels", "ranks", "bankgroups", "banks", "rows", "row_bytes", "burst_bytes"):
            v = getattr(self, key)
            if v & (v - 1):
                raise SparsimInputError(src, key, v, "a power of two (address bits are sliced)")
        if self.row_bytes < self.burst_bytes:
            raise SparsimInputError(src, "row_bytes", self.row_bytes, f"at least burst_bytes ({self.burst_bytes})")
        check_choice(src, "page_policy", self.page_policy, ("open", "close"))
        if isinstance(self.address_map, str) and self.address_map in ADDRESS_MAPS:
            object.__setattr__(self, "address_map", ADDRESS_MAPS[self.address_map])
        sliced = isinstance(self.address_map, dict) or (isinstance(self.address_map, str) and "=" in self.address_map)
        if sliced:
            object.__setattr__(self, "address_map", _check_slices(src, self.address_map, self.field_bits()))
        parts = self.address_map.split("-") if isinstance(self.address_map, str) else []
        if not sliced and sorted(parts) != sorted(FIELDS):
            allowed = (f"each of {', '.join(FIELDS)} once, joined by '-' (most significant first), a "
                       f"Ramulator map ({', '.join(ADDRESS_MAPS)}), or a bit-slice map (field: [bits])")  # fmt: skip
            raise SparsimInputError(src, "address_map", self.address_map, allowed)
        if self.rc < self.ras:
            raise SparsimInputError(src, "rc", self.rc, f"at least ras ({self.ras}): ACT to ACT includes ACT to PRE")
        # between two refreshes a bank must be able to open a row, write a burst and close it
        # again, or a request could wait for ever (refresh would always come first)
        window = self.rc + max(self.rcd, self.rcd_write) + self.cwl + self.bl + self.wr + self.rp
        if self.refi < self.rfc + window:
            raise SparsimInputError(src, "refi", self.refi, f"at least rfc + rc + rcd + cwl + bl + wr + rp "
                                    f"({self.rfc + window}): room between refreshes for one request")  # fmt: skip
        if self.ccd_l < self.ccd_s or self.rrd_l < self.rrd_s or self.wtr_l < self.wtr_s:
            raise SparsimInputError(src, "ccd_l", self.ccd_l, "each _l timing at least its _s timing")
        if self.ccd_s < self.bl:
            raise SparsimInputError(src, "ccd_s", self.ccd_s, f"at least bl ({self.bl}): bursts cannot overlap")
        if self.act_cycles > self.rp:
            raise SparsimInputError(src, "act_cycles", self.act_cycles, f"at most rp ({self.rp})")

    # ---- derived figures
    @property
    def bit_slices(self) -> dict[str, tuple[int, ...]] | None:
        """A bit-slice map's bits of each field (burst-index bit numbers, the field's least
        significant first); None for a map of contiguous fields."""
        return parse_slices(self.address_map) if "=" in self.address_map else None

    @property
    def columns(self) -> int:
        """Bursts per row."""
        return self.row_bytes // self.burst_bytes

    @property
    def banks_per_channel(self) -> int:
        return self.ranks * self.bankgroups * self.banks

    @property
    def clock_ghz(self) -> float:
        return 1000.0 / self.tck_ps

    @property
    def peak_gbps(self) -> float:
        """Data-bus peak of all channels, GB/s."""
        return self.channels * self.burst_bytes / (self.bl * self.tck_ps * 1e-3)

    def field_bits(self) -> dict[str, int]:
        n = {"ro": self.rows, "ra": self.ranks, "bg": self.bankgroups, "ba": self.banks, "co": self.columns,
             "ch": self.channels}  # fmt: skip
        return {k: v.bit_length() - 1 for k, v in n.items()}

    @property
    def capacity_bytes(self) -> int:
        return self.channels * self.banks_per_channel * self.rows * self.row_bytes


def parse_slices(text: str) -> dict[str, tuple[int, ...]]:
    """``"ro=12,13|bg=0,1|..."`` (the canonical form of a bit-slice map) -> field -> bits."""
    out = {}
    for part in text.split("|"):
        name, _, bits = part.partition("=")
        out[name.strip()] = tuple(int(b) for b in bits.split(",") if b.strip())
    return out


def slices_text(value: dict) -> str:
    """A bit-slice mapping as text, unchecked (an array config holds it before its DRAM is
    known; :class:`DramConfig` checks it): ``{"ch": [0], "bg": [1, 2]}`` -> ``"ch=0|bg=1,2"``."""
    def bits(v):
        return ",".join(str(b) for b in v) if isinstance(v, list | tuple) else str(v)

    return "|".join(f"{k}={bits(v)}" for k, v in value.items())


def _check_slices(src: str, value, bits: dict[str, int]) -> str:
    """A bit-slice map (a mapping of field -> list of burst-index bits, the field's least
    significant bit first; fields with no bits may be left out), checked and put in its canonical
    string form (hashable, so the frozen config and the caches keyed on it stay so)."""
    allowed = (f"a mapping of the fields {', '.join(FIELDS)} to lists of burst-index bits (bit 0: the lowest "
               f"above the burst offset), each field as many bits as it has ({bits}), every bit from 0 to "
               f"{sum(bits.values()) - 1} once")  # fmt: skip
    try:
        raw = parse_slices(value) if isinstance(value, str) else dict(value)
    except ValueError:
        raise SparsimInputError(src, "address_map", value, allowed) from None
    if any(k not in FIELDS for k in raw):
        raise SparsimInputError(src, "address_map", value, allowed)
    slices = {}
    for f in FIELDS:
        v = raw.get(f, ())
        v = (v,) if isinstance(v, int) and not isinstance(v, bool) else v
        if not isinstance(v, list | tuple) or any(isinstance(b, bool) or not isinstance(b, int) for b in v):
            raise SparsimInputError(src, f"address_map.{f}", v, "a list of integer bit numbers")
        if len(v) != bits[f]:
            raise SparsimInputError(src, f"address_map.{f}", list(v), f"{bits[f]} bit numbers (its field size)")
        slices[f] = tuple(v)
    used = sorted(b for v in slices.values() for b in v)
    if used != list(range(sum(bits.values()))):
        raise SparsimInputError(src, "address_map", value, allowed)
    return slices_text(slices)


def dram_presets() -> list[str]:
    from simulator.common.config import preset_names

    return preset_names(PRESET_DIR)


def load_dram(spec: str | Path | None, **overrides) -> DramConfig:
    """A preset by name (:func:`dram_presets`) or a YAML file of :class:`DramConfig` fields, then
    ``overrides`` (sweep axes such as ``channels`` or ``page_policy``)."""
    import dataclasses

    from simulator.common.config import preset_or_yaml

    cfg = DramConfig() if spec is None else preset_or_yaml(spec, DramConfig, PRESET_DIR, "dram", "dram", "preset")
    if overrides:
        names = {f.name for f in dataclasses.fields(DramConfig)}
        for k in overrides:
            if k not in names:
                raise SparsimInputError("dram", k, overrides[k], f"a DramConfig field ({', '.join(sorted(names))})")
        cfg = dataclasses.replace(cfg, **overrides)
    return cfg

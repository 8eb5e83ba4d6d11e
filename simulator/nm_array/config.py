"""The N:M systolic array's configuration: one frozen, validated dataclass for every level.

Why one dataclass: the functional model, the per-cycle model, the fold-level model and the RTL of
the array must describe the *same* hardware. They all take an :class:`ArrayConfig`; sweeps derive
variants with :func:`dataclasses.replace`, which re-runs validation. YAML and SCALE-Sim ``.cfg``
files are parsed only here, at the edge.
"""

from __future__ import annotations

import configparser
import dataclasses
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from simulator.common.config import dataclass_from_mapping, dataclass_from_yaml
from simulator.common.errors import SparsimInputError
from simulator.common.validate import check_bool, check_choice, check_int, check_number, is_int

__all__ = [
    "ArrayConfig",
    "PEArray",
    "Buffers",
    "Memory",
    "System",
    "RENAMED",
    "load_arch",
    "presets",
    "arch_from_yaml",
    "arch_from_scalesim_cfg",
    "check_conflict_free",
]

_DATAFLOWS = ("ws", "os", "is")
#: arrays a system may have: the partition mapper simulates every array's part of every layer
MAX_ARRAYS = 256
PARTITION_CHOICES = ("auto", "split_m", "split_n", "pipeline", "tensor", "data")
#: banks per operand buffer, and words in one line of every bank (the banked model keeps a cost
#: table of that many entries per access shape)
MAX_SRAM_BANKS = 1024
MAX_SRAM_LINE_SET = 1 << 16
MAX_SRAM_TABLE_WORDS = 1 << 28


def _shape(text: Any) -> tuple[int, int] | None:
    """``"32x16"`` -> ``(32, 16)``; None when it is not a shape of 1..4096 by 1..4096."""
    if not isinstance(text, str):
        return None
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        return None
    r, c = int(parts[0]), int(parts[1])
    return (r, c) if 1 <= r <= 4096 and 1 <= c <= 4096 else None


@dataclass(frozen=True, slots=True, kw_only=True)
class PEArray:
    """The PE array and its datapath (config part ``pe``).

    Parameters
    ----------
    rows, cols : int
        PE rows (the reduced dimension K, or K*N/M in N:M mode, maps onto rows under WS) and PE
        columns (the GEMM N dimension, output channels).
    dataflow : str
        ``"ws"`` (weight stationary), ``"os"`` (output stationary) or ``"is"`` (input
        stationary), see :mod:`dataflow.nm_array.dataflows`: the dataflow layers run with unless
        a mapping says otherwise. The RTL generator builds ``ws`` and ``os``.
    dataflows : tuple of str
        A reconfigurable array: every dataflow the mapper may choose per layer (must include
        ``dataflow``); empty: only ``dataflow``.
    supported_m : tuple of int
        The group sizes M the operand multiplexers support. ``(1,)`` is a dense-only array. A
        layer whose M is not listed is refused.
    weight_double_buffer : bool
        Double-buffer the stationary operand so folds overlap: WS/IS PEs hold a shadow register,
        so the next fold's weights (inputs) load while the current fold streams; OS PEs start the
        next fold's accumulation as soon as their column's output bus is free (see
        :meth:`dataflow.nm_array.dataflows.Dataflow.timing`). Off reproduces SCALE-Sim's timing.
    word_bytes, psum_bytes : int
        Bytes per operand element (ifmap and weight), and per partial sum / output element as
        written to the output buffer.
    operand_bits, acc_bits : int
        Integer datapath widths (RTL and integer functional model): operands are signed
        ``operand_bits``, accumulators wrap around at ``acc_bits``.
    """

    rows: int
    cols: int
    dataflow: str = "ws"
    dataflows: tuple[str, ...] = ()
    supported_m: tuple[int, ...] = (1, 2, 4, 8)
    weight_double_buffer: bool = False
    word_bytes: int = 1
    psum_bytes: int = 4
    operand_bits: int = 8
    acc_bits: int = 32

    def __post_init__(self) -> None:
        src = "pe"
        for key in ("rows", "cols"):
            check_int(src, key, getattr(self, key), 1, 4096)
        check_choice(src, "dataflow", self.dataflow, _DATAFLOWS)
        d = self.dataflows
        if not isinstance(d, tuple) or any(x not in _DATAFLOWS for x in d) or len(set(d)) != len(d):
            raise SparsimInputError(src, "dataflows", d, "distinct dataflows from ws, os, is (or empty)")
        if d and self.dataflow not in d:
            raise SparsimInputError(src, "dataflows", list(d), f"must include pe.dataflow ({self.dataflow!r})")
        sm = self.supported_m
        if (
            not isinstance(sm, tuple)
            or not sm
            or any(not is_int(m) or m < 1 or m > 64 for m in sm)
            or len(set(sm)) != len(sm)
        ):
            raise SparsimInputError(
                src, "supported_m", sm, "must be a non-empty tuple of distinct integers from 1 to 64"
            )
        check_bool(src, "weight_double_buffer", self.weight_double_buffer)
        for key in ("word_bytes", "psum_bytes"):
            check_choice(src, key, getattr(self, key), (1, 2, 4, 8))
        check_int(src, "operand_bits", self.operand_bits, 2, 32)
        check_int(src, "acc_bits", self.acc_bits, self.operand_bits, 64, why="at least pe.operand_bits")

    @property
    def allowed_dataflows(self) -> tuple[str, ...]:
        """The dataflows a mapping may use on this array."""
        return self.dataflows or (self.dataflow,)


@dataclass(frozen=True, slots=True, kw_only=True)
class Buffers:
    """The operand buffers and their banking (config part ``buffers``).

    Parameters
    ----------
    ifmap_kb, filter_kb, ofmap_kb : float
        On-chip buffer per operand, in KiB (1024 bytes). Each is double-buffered: half is read by
        the array while the other half is filled from (or drained to) memory.
    banks : int
        Banks of each operand buffer (:mod:`simulator.nm_array.sram_banks`); 0: conflict-free
        buffers (every access one cycle), the model every other level and SCALE-Sim use.
    bank_ports : int
        Distinct lines a bank serves per cycle.
    bank_width_words : int
        Words per bank line: word ``a`` is in line ``a // width`` of bank ``line % banks``.
    ifmap_layout, filter_layout, ofmap_layout : str
        The contiguous dimension of each operand in its buffer: ifmap ``k`` (``X[p, k]`` at
        ``p*K + k``, an NHWC im2col row) or ``p``; filter ``n`` (``W[k, n]`` at ``k*N + n``) or
        ``k``; ofmap ``n`` (``Y[p, n]`` at ``p*N + n``, NHWC) or ``p``. Only with banks.
    """

    ifmap_kb: float = 64.0
    filter_kb: float = 64.0
    ofmap_kb: float = 64.0
    banks: int = 0
    bank_ports: int = 1
    bank_width_words: int = 1
    ifmap_layout: str = "k"
    filter_layout: str = "n"
    ofmap_layout: str = "n"

    def __post_init__(self) -> None:
        src = "buffers"
        for key in ("ifmap_kb", "filter_kb", "ofmap_kb"):
            check_number(src, key, getattr(self, key), 1 / 16, 1 << 24, unit="KiB", why="64 bytes to 16 GiB")
        check_int(src, "banks", self.banks, 0, MAX_SRAM_BANKS, why="0: conflict-free buffers")
        check_int(src, "bank_ports", self.bank_ports, 1, 16)
        check_int(src, "bank_width_words", self.bank_width_words, 1, 256)
        if self.banks * self.bank_width_words > MAX_SRAM_LINE_SET:
            allowed = f"buffers.banks x buffers.bank_width_words at most {MAX_SRAM_LINE_SET:,}"
            raise SparsimInputError(src, "bank_width_words", self.bank_width_words, allowed)
        check_choice(src, "ifmap_layout", self.ifmap_layout, ("k", "p"))
        check_choice(src, "filter_layout", self.filter_layout, ("n", "k"))
        check_choice(src, "ofmap_layout", self.ofmap_layout, ("n", "p"))
        if not self.banks:  # conflict-free buffers have no layout to speak of: a layout there does nothing
            for key, default in (("ifmap_layout", "k"), ("filter_layout", "n"), ("ofmap_layout", "n")):
                if getattr(self, key) != default:
                    allowed = f"{default} (the default) with banks: 0; a layout matters only with banked buffers"
                    raise SparsimInputError(src, key, getattr(self, key), allowed)
            for key in ("bank_ports", "bank_width_words"):
                if getattr(self, key) != 1:
                    raise SparsimInputError(src, key, getattr(self, key), "1 (the default) with banks: 0; only "
                                            "banked buffers (buffers.banks > 0) have ports and lines")  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class Memory:
    """What feeds the buffers (config part ``memory``): a simple channel, or a DRAM model.

    Parameters
    ----------
    dram : str or None
        ``None``: one analytical channel of ``bw_bytes_per_cycle``
        (:mod:`simulator.nm_array.memory`). A DRAM preset (``ddr4-3200``, ``lpddr4x-4266``,
        ``lpddr5x-8533``, ``hbm2``, ``hbm3``) or DRAM YAML file: every step's transfers become
        DRAM requests and the stalls come from the DRAM model
        (:mod:`simulator.nm_array.dram_memory`); :meth:`dram_config` is its
        :class:`~simulator.dram.config.DramConfig`.
    bw_bytes_per_cycle : float or None
        The simple channel's bandwidth in bytes per array cycle. ``None`` means unlimited: no
        stalls, and the report states the bandwidth that *would* be needed (SCALE-Sim's
        ``InterfaceBandwidth: CALC``). Only without ``dram`` (the DRAM model sets the rate).
    mode : str
        With a DRAM: ``"fold"`` (the fold-level DRAM form, fast) or ``"request"`` (the
        per-request controller).
    channels, page_policy, address_map : int or None, str or None, str or None
        Override the DRAM preset's channel count / page policy / address map (sweep axes; a map
        is fields from the most significant, ``ro-ra-ba-co-bg-ch``, or Ramulator's
        ``RoBaRaCoCh``/``ChRaBaRoCo``, :data:`simulator.dram.config.ADDRESS_MAPS`); None keeps
        the preset's.
    """

    dram: str | None = None
    bw_bytes_per_cycle: float | None = None
    mode: str = "fold"
    channels: int | None = None
    page_policy: str | None = None
    address_map: str | None = None

    def __post_init__(self) -> None:
        src = "memory"
        if self.dram is not None and (not isinstance(self.dram, str) or not self.dram):
            raise SparsimInputError(
                src, "dram", self.dram, "null (a simple channel), a DRAM preset or a DRAM YAML file"
            )
        if self.bw_bytes_per_cycle is not None:
            if self.dram is not None:
                allowed = f"null with memory.dram: {self.dram} (the DRAM model sets the rate)"
                raise SparsimInputError(src, "bw_bytes_per_cycle", self.bw_bytes_per_cycle, allowed)
            # below 1e-3 bytes/cycle a single weight takes a thousand cycles: a typo, and tiny values
            # overflow the stall arithmetic
            check_number(src, "bw_bytes_per_cycle", self.bw_bytes_per_cycle, 1e-3, 1 << 30,
                         unit="bytes/cycle", why="or null: unlimited")  # fmt: skip
        check_choice(src, "mode", self.mode, ("fold", "request"))
        if isinstance(self.address_map, dict):  # a bit-slice map: held as text (hashable), checked below
            from simulator.dram.config import slices_text

            object.__setattr__(self, "address_map", slices_text(self.address_map))
        if self.dram is None:
            for key in ("channels", "page_policy", "address_map"):
                if getattr(self, key) is not None:
                    raise SparsimInputError(src, key, getattr(self, key), "only with a DRAM model (memory.dram)")
            if self.mode != "fold":
                raise SparsimInputError(src, "mode", self.mode, "fold (the default) with a simple channel; request "
                                        "needs a DRAM model (memory.dram)")  # fmt: skip
        else:
            if self.channels is not None:
                check_int(src, "channels", self.channels, 1, 256)
            self.dram_config()  # validates the preset and the overrides

    @property
    def is_dram(self) -> bool:
        return self.dram is not None

    def dram_config(self):
        """The :class:`~simulator.dram.config.DramConfig` of ``dram`` with this part's overrides."""
        over = {}
        if self.channels is not None:
            over["channels"] = self.channels
        if self.page_policy is not None:
            over["page_policy"] = self.page_policy
        if self.address_map is not None:
            over["address_map"] = self.address_map
        try:
            return _dram_cached(self.dram, tuple(sorted(over.items())))
        except SparsimInputError as err:
            if err.field == "preset":
                raise SparsimInputError("memory", "dram", self.dram, "null or " + err.allowed) from None
            if err.field in over and err.value == over[err.field]:  # this part's override, not the file's
                raise SparsimInputError("memory", err.field, err.value, err.allowed) from None
            # an error inside the DRAM file: this config names the file, the message names its field
            raise SparsimInputError("memory", "dram", self.dram, f"a valid DRAM file; in it, {err}") from None

    @property
    def label(self) -> str:
        """How reports name this memory: the DRAM preset or file, or ``simple``."""
        return self.dram if self.dram is not None else "simple"


@dataclass(frozen=True, slots=True, kw_only=True)
class System:
    """Scale-out (config part ``system``): several arrays behind the one memory.

    Parameters
    ----------
    arrays : int
        Arrays in the system (:mod:`simulator.nm_array.system`): each is this config's array
        with its own operand buffers, all sharing the one memory. 1 is a single array.
    shapes : tuple of str
        A heterogeneous system: one ``"ROWSxCOLS"`` per array (``arrays`` must equal their
        number); empty: every array is ``pe.rows x pe.cols``.
    partition : str
        How a layer is spread over the arrays (:mod:`dataflow.nm_array.partition`): ``split_m``,
        ``split_n``, ``pipeline`` (layers in stages, one array per stage, samples of the batch
        flowing through) or ``auto`` (the partition mapper's choice per layer, and pipeline
        against it for the whole network). An LLM (block ``llm``, :mod:`dataflow.llm_parallel`)
        takes ``tensor`` (Megatron tensor parallelism), ``data`` (rows split, weights shared),
        ``pipeline`` (layers in stages, micro-batches) or ``auto`` (the fastest per phase).
    """

    arrays: int = 1
    shapes: tuple[str, ...] = ()
    partition: str = "auto"

    def __post_init__(self) -> None:
        src = "system"
        check_int(src, "arrays", self.arrays, 1, MAX_ARRAYS)
        check_choice(src, "partition", self.partition, PARTITION_CHOICES)
        shapes = self.shapes
        if not isinstance(shapes, tuple) or any(_shape(s) is None for s in shapes):
            raise SparsimInputError(src, "shapes", shapes, 'a list of "ROWSxCOLS" (1 to 4096 each), or empty')
        if shapes and self.arrays == 1:
            raise SparsimInputError(src, "shapes", list(shapes), "empty with system.arrays: 1 (a single array is "
                                    "pe.rows x pe.cols; system.shapes describes a system of arrays)")  # fmt: skip
        if shapes and len(shapes) != self.arrays:
            raise SparsimInputError(src, "shapes", list(shapes), f"one shape per array (system.arrays: {self.arrays})")


#: the array config's names before it was composed of parts (refused, with the new name)
RENAMED = {
    "rows": "pe.rows", "cols": "pe.cols", "dataflow": "pe.dataflow", "dataflows": "pe.dataflows",
    "supported_m": "pe.supported_m", "weight_double_buffer": "pe.weight_double_buffer",
    "word_bytes": "pe.word_bytes", "psum_bytes": "pe.psum_bytes", "operand_bits": "pe.operand_bits",
    "acc_bits": "pe.acc_bits",
    "ifmap_sram_kb": "buffers.ifmap_kb", "filter_sram_kb": "buffers.filter_kb", "ofmap_sram_kb": "buffers.ofmap_kb",
    "sram_banks": "buffers.banks", "sram_bank_ports": "buffers.bank_ports",
    "sram_bank_width_words": "buffers.bank_width_words", "ifmap_layout": "buffers.ifmap_layout",
    "filter_layout": "buffers.filter_layout", "ofmap_layout": "buffers.ofmap_layout",
    "memory": "memory.dram (a DRAM preset or file; null for the simple channel)",
    "dram_bw_bytes_per_cycle": "memory.bw_bytes_per_cycle", "dram_mode": "memory.mode",
    "dram_channels": "memory.channels", "dram_page_policy": "memory.page_policy",
    "arrays": "system.arrays", "array_shapes": "system.shapes", "partition": "system.partition",
    "freq_ghz": "clock_ghz", "clock_mhz": "clock_ghz (in GHz)",
}  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class ArrayConfig:
    """An N:M systolic array (or a system of them): composed of four parts, each validated on its
    own, plus what ties them together.

    ``pe`` (:class:`PEArray`: shape, dataflow, N:M multiplexers, datapath widths), ``buffers``
    (:class:`Buffers`: operand SRAM sizes and banking), ``memory`` (:class:`Memory`: a simple
    channel or a DRAM model), ``system`` (:class:`System`: scale-out). In YAML and sweep specs
    their fields have dotted names (``pe.rows``, ``buffers.ifmap_kb``, ``memory.channels``); a
    file may nest them instead. :meth:`replace` derives a variant by dotted names and validates
    it again. The config holds hardware only: what a run shares with others (a system's memory
    share) is passed to the models, never written into it.

    Parameters
    ----------
    clock_ghz : float
        The array's clock: cycles to seconds, and array cycles to DRAM clocks with a DRAM model.
        Every block's clock has this name and unit.
    name : str
        Free-form label carried into reports.
    """

    PARTS: ClassVar[dict[str, type]] = {"pe": PEArray, "buffers": Buffers, "memory": Memory, "system": System}
    RENAMED: ClassVar[dict[str, str]] = RENAMED

    pe: PEArray
    buffers: Buffers = field(default_factory=Buffers)
    memory: Memory = field(default_factory=Memory)
    system: System = field(default_factory=System)
    clock_ghz: float = 1.0
    name: str = "array"

    def __post_init__(self) -> None:
        src = "ArrayConfig"
        for part, cls in self.PARTS.items():
            if not isinstance(getattr(self, part), cls):
                raise SparsimInputError(src, part, type(getattr(self, part)).__name__, f"a {cls.__name__}")
        if not isinstance(self.name, str):
            raise SparsimInputError(src, "name", self.name, "a string")
        check_number(src, "clock_ghz", self.clock_ghz, 0.01, 100, unit="GHz")
        b, pe = self.buffers, self.pe
        if b.banks:
            # the cost table of one access shape: line-set residues x the widest access (a column of
            # N:M groups, rows x M words); bounded so that no layer's tables take minutes to build
            work = b.banks * b.bank_width_words * max(pe.rows, pe.cols) * max(pe.supported_m)
            if work > MAX_SRAM_TABLE_WORDS:
                raise SparsimInputError(
                    src, "buffers.banks", b.banks,
                    f"buffers.banks x buffers.bank_width_words x max(pe.rows, pe.cols) x largest pe.supported_m at "
                    f"most {MAX_SRAM_TABLE_WORDS:,} (here {work:,})",
                )  # fmt: skip

    # the PE array's shape, read everywhere: shorthands of ``pe``
    @property
    def rows(self) -> int:
        return self.pe.rows

    @property
    def cols(self) -> int:
        return self.pe.cols

    @property
    def pes(self) -> int:
        """Number of processing elements (of one array)."""
        return self.pe.rows * self.pe.cols

    def peak_bytes_per_cycle(self, share: int = 1) -> float | None:
        """The most bytes per array cycle the memory moves for one of ``share`` arrays streaming
        at once: the simple channel's rate, or a DRAM's data-bus peak (every channel a burst per
        ``BL`` clocks); None: an unlimited channel."""
        bw = self.memory.dram_config().peak_gbps / self.clock_ghz if self.memory.is_dram \
            else self.memory.bw_bytes_per_cycle  # fmt: skip
        return None if bw is None else bw / share

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "array config") -> ArrayConfig:
        """A config from a mapping as a YAML file writes it: parts nested (``{"pe": {"rows": 32}}``)
        or dotted (``{"pe.rows": 32}``)."""
        from simulator.common.config import dataclass_from_mapping

        return dataclass_from_mapping(data, cls, source, "array config")

    def replace(self, changes: dict[str, Any], source: str = "") -> ArrayConfig:
        """This config with some dotted names changed (``{"pe.rows": 64}``), validated again."""
        from simulator.common.config import replace_flat

        return replace_flat(self, changes, source)

    def system_arrays(self) -> tuple[ArrayConfig, ...]:
        """The arrays of the system, each a single-array config (``system.arrays = 1``) of its shape."""
        shapes = [_shape(s) for s in self.system.shapes] or [(self.rows, self.cols)] * self.system.arrays
        return tuple(
            dataclasses.replace(self, pe=dataclasses.replace(self.pe, rows=r, cols=c), system=System(
                partition=self.system.partition), name=f"{self.name}[{i}]")
            for i, (r, c) in enumerate(shapes)
        )  # fmt: skip

    @property
    def is_system(self) -> bool:
        """More than one array (:mod:`simulator.nm_array.system` runs it)."""
        return self.system.arrays > 1

    @property
    def system_pes(self) -> int:
        """PEs of every array of the system."""
        return sum(a.pes for a in self.system_arrays()) if self.is_system else self.pes

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python nested dict (YAML/JSON friendly) that :func:`arch_from_yaml` accepts back."""

        def plain(v):
            return list(v) if isinstance(v, tuple) else v

        out: dict[str, Any] = {"name": self.name, "clock_ghz": self.clock_ghz}
        for part in self.PARTS:
            obj = getattr(self, part)
            out[part] = {f.name: plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
        return out


@functools.lru_cache(maxsize=64)
def _dram_cached(memory: str, over: tuple):
    from simulator.dram.config import load_dram

    return load_dram(memory, **dict(over))


def dram_relative_to(value: Any, base_dir: Path) -> Any:
    """``memory.dram`` as a file named relative to ``base_dir`` (the directory of the file that
    names it, as compilers, docker-compose and ZigZag resolve paths); a preset name, an absolute
    path or anything else is returned as it is."""
    from simulator.dram.config import dram_presets

    if not isinstance(value, str) or not value or value in dram_presets() or Path(value).is_absolute():
        return value
    if Path(value).suffix.lower() not in (".yaml", ".yml") and "/" not in value and "\\" not in value:
        return value  # a name (a misspelt preset): refused as itself, not as a path
    return str(Path(base_dir) / value)


def arch_from_yaml(path: str | Path) -> ArrayConfig:
    """Load an array config from YAML (keys are :class:`ArrayConfig` fields, nested by part or
    dotted; see :mod:`simulator.common.config` for what the reader refuses). A DRAM file it names
    (``memory.dram``) is relative to this file's directory."""
    from simulator.common.config import read_yaml

    data = read_yaml(path)
    if isinstance(data, dict):
        base = Path(path).resolve().parent
        data = dict(data)
        if "memory.dram" in data:
            data["memory.dram"] = dram_relative_to(data["memory.dram"], base)
        if isinstance(data.get("memory"), dict) and "dram" in data["memory"]:
            data["memory"] = {**data["memory"], "dram": dram_relative_to(data["memory"]["dram"], base)}
    return dataclass_from_mapping(data, ArrayConfig, str(path), "array config")


# SCALE-Sim .cfg keys we understand, by section. Keys that only affect SCALE-Sim's address traces
# (offsets, request buffers) are accepted and ignored: they do not change cycles. Its [layout]
# section (v3's bank-conflict model with multi-dimensional intraline layouts) is accepted and
# ignored too: our banked buffers are a different model (sram_banks, simulator.nm_array.sram_banks),
# so the import keeps SCALE-Sim's conflict-free cycles.
_SCALESIM_KEYS = {
    "general": {"run_name"},
    "architecture_presets": {
        "arrayheight",
        "arraywidth",
        "ifmapsramszkb",
        "filtersramszkb",
        "ofmapsramszkb",
        "ifmapoffset",
        "filteroffset",
        "ofmapoffset",
        "bandwidth",
        "dataflow",
        "memorybanks",
        "readrequestbuffer",
        "writerequestbuffer",
    },
    "layout": {
        "ifmapcustomlayout",
        "ifmapsrambankbandwidth",
        "ifmapsrambanknum",
        "ifmapsrambankport",
        "filtercustomlayout",
        "filtersrambankbandwidth",
        "filtersrambanknum",
        "filtersrambankport",
    },
    "sparsity": {"sparsitysupport", "sparserep", "optimizedmapping", "blocksize", "randomnumbergeneratorseed"},
    "run_presets": {"interfacebandwidth", "useramulatortrace"},
    "network_presets": {"topologycsvloc", "layoutcsvloc"},
}


def arch_from_scalesim_cfg(path: str | Path) -> ArrayConfig:
    """Load a SCALE-Sim v2/v3 INI config.

    Mapping (documented compatibility): ``ArrayHeight``/``ArrayWidth`` -> rows/cols; SRAM sizes in
    KiB; ``InterfaceBandwidth: CALC`` -> unlimited DRAM bandwidth, ``USER`` -> ``Bandwidth`` words
    per cycle; SCALE-Sim uses one byte for every word, so ``word_bytes = psum_bytes = 1``;
    ``SparsitySupport: true`` enables its layer-wise N:M, i.e. ``supported_m = (1, 2, 4, 8, 16)``.
    ``OptimizedMapping: true`` (its row-wise variant) is not modelled and is rejected.
    """
    from simulator.common.files import read_text

    path = Path(path)
    parser = configparser.ConfigParser()
    try:
        parser.read_string(read_text(path, "SCALE-Sim .cfg file", 1 << 20), str(path))
    except configparser.Error as err:
        raise SparsimInputError(str(path), "<ini>", str(err).splitlines()[0], "a valid SCALE-Sim INI config") from None
    src = str(path)
    for section in parser.sections():
        known = _SCALESIM_KEYS.get(section)
        if known is None:
            raise SparsimInputError(
                src, f"[{section}]", section, f"unknown section; allowed: {', '.join(_SCALESIM_KEYS)}"
            )
        for key in parser[section]:
            if key not in known:
                raise SparsimInputError(src, f"[{section}] {key}", parser[section][key], "unknown key")

    def get(section: str, key: str, default: str | None = None) -> str:
        if parser.has_option(section, key):
            return parser.get(section, key).strip()
        if default is None:
            raise SparsimInputError(src, f"[{section}] {key}", None, "required")
        return default

    def get_int(section: str, key: str, default: str | None = None) -> int:
        raw = get(section, key, default)
        try:
            return int(raw)
        except ValueError:
            raise SparsimInputError(src, f"[{section}] {key}", raw, "must be an integer") from None

    rows = get_int("architecture_presets", "ArrayHeight")
    cols = get_int("architecture_presets", "ArrayWidth")
    mode = get("run_presets", "InterfaceBandwidth", "CALC").upper()
    if mode == "CALC":
        bw = None
    elif mode == "USER":
        raw = get("architecture_presets", "Bandwidth").split(",")[0]
        try:
            bw = float(raw)
        except ValueError:
            raise SparsimInputError(src, "[architecture_presets] Bandwidth", raw, "must be a number") from None
    else:
        raise SparsimInputError(src, "[run_presets] InterfaceBandwidth", mode, "allowed: CALC, USER")
    sparse = get("sparsity", "SparsitySupport", "false").lower()
    if sparse not in ("true", "false"):
        raise SparsimInputError(src, "[sparsity] SparsitySupport", sparse, "true or false")
    if get("sparsity", "OptimizedMapping", "false").lower() == "true":
        raise SparsimInputError(
            src, "[sparsity] OptimizedMapping", "true", "only SCALE-Sim's layer-wise N:M (false) is modelled"
        )
    try:
        return ArrayConfig(
            pe=PEArray(
                rows=rows,
                cols=cols,
                dataflow=get("architecture_presets", "Dataflow", "ws").lower(),
                word_bytes=1,
                psum_bytes=1,
                supported_m=(1, 2, 4, 8, 16) if sparse == "true" else (1,),
            ),
            buffers=Buffers(
                ifmap_kb=float(get_int("architecture_presets", "IfmapSramSzkB")),
                filter_kb=float(get_int("architecture_presets", "FilterSramSzkB")),
                ofmap_kb=float(get_int("architecture_presets", "OfmapSramSzkB")),
            ),
            memory=Memory(bw_bytes_per_cycle=bw),
            name=get("general", "run_name", path.stem),
        )
    except SparsimInputError as err:
        raise SparsimInputError(src, err.field, err.value, err.allowed) from None


def presets() -> list[str]:
    """Names of the shipped array presets (package data ``simulator/nm_array/presets/NAME.yaml``;
    ``examples/arch/`` links to them)."""
    from simulator.common.config import preset_names
    from simulator.common.files import package_data

    return preset_names(package_data("simulator.nm_array", "presets"))


def load_arch(path: str | Path) -> ArrayConfig:
    """An array preset by name (:func:`presets`), or ``.yaml``/``.yml`` (sparsim) or ``.cfg``
    (SCALE-Sim) by extension."""
    if isinstance(path, str) and path in presets() and not Path(path).exists():
        from simulator.common.files import package_data

        return dataclass_from_yaml(package_data("simulator.nm_array", "presets", f"{path}.yaml"), ArrayConfig,
                                   f"array preset {path}")  # fmt: skip
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return arch_from_yaml(p)
    if suffix == ".cfg":
        return arch_from_scalesim_cfg(p)
    raise SparsimInputError(str(p), "extension", suffix, "allowed: .yaml, .yml (sparsim), .cfg (SCALE-Sim)")


def check_conflict_free(cfg, where: str) -> None:
    """Refuse a banked config where only conflict-free buffers are modelled (per-cycle model, RTL)."""
    if cfg.buffers.banks:
        raise SparsimInputError(
            where, "buffers.banks", cfg.buffers.banks,
            "0 here: the per-cycle model and the RTL have conflict-free buffers (banked SRAM is modelled "
            "at the fold level: sparsim simulate)",
        )  # fmt: skip

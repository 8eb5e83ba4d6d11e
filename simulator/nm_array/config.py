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
from typing import Any

from simulator.common.config import dataclass_from_yaml
from simulator.common.errors import SparsimInputError
from simulator.common.validate import check_bool, check_choice, check_int, check_number, is_int

__all__ = ["ArrayConfig", "load_arch", "presets", "arch_from_yaml", "arch_from_scalesim_cfg", "check_conflict_free"]

_DATAFLOWS = ("ws", "os", "is")
#: arrays a system may have: the partition mapper simulates every array's part of every layer
MAX_ARRAYS = 256
PARTITION_CHOICES = ("auto", "split_m", "split_n", "pipeline")
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
class ArrayConfig:
    """A weight-stationary systolic array that runs dense and N:M-sparse GEMMs.

    Parameters
    ----------
    rows, cols : int
        PE rows (the reduced dimension K, or K*N/M in N:M mode, maps onto rows) and PE columns
        (the GEMM N dimension, output channels).
    dataflow : str
        ``"ws"`` (weight stationary), ``"os"`` (output stationary) or ``"is"`` (input
        stationary), see :mod:`dataflow.nm_array.dataflows`: the dataflow layers run with unless
        a mapping says otherwise. The RTL generator builds it (``ws`` and ``os``).
    dataflows : tuple of str
        A reconfigurable array: every dataflow the mapper may choose per layer (must include
        ``dataflow``); empty: only ``dataflow``.
    ifmap_sram_kb, filter_sram_kb, ofmap_sram_kb : float
        On-chip buffer per operand, in KiB (1024 bytes). Each is double-buffered: half is read by
        the array while the other half is filled from (or drained to) DRAM.
    dram_bw_bytes_per_cycle : float or None
        Shared DRAM bandwidth. ``None`` means unlimited: no stalls, and the report states the
        bandwidth that *would* be needed (SCALE-Sim's ``InterfaceBandwidth: CALC``).
    word_bytes : int
        Bytes per operand element (ifmap and weight).
    psum_bytes : int
        Bytes per partial sum / output element as written to the output buffer.
    supported_m : tuple of int
        The group sizes M the array's operand multiplexers support. ``(1,)`` is a dense-only
        array. A layer whose M is not listed is rejected.
    weight_double_buffer : bool
        Double-buffer the stationary operand so folds overlap: WS/IS PEs hold a shadow register,
        so the next fold's weights (inputs) load while the current fold streams; OS PEs start the
        next fold's accumulation as soon as their column's output bus is free (see
        :meth:`dataflow.nm_array.dataflows.Dataflow.timing`). Off reproduces SCALE-Sim's timing.
    operand_bits, acc_bits : int
        Integer datapath widths (RTL and integer functional model): operands are signed
        ``operand_bits``, accumulators wrap around at ``acc_bits``.
    memory : str
        ``"simple"``: one analytical channel of ``dram_bw_bytes_per_cycle``
        (:mod:`simulator.nm_array.memory`); or a DRAM preset (``ddr4-3200``, ``lpddr4x-4266``,
        ``hbm2``) or DRAM YAML file: every step's transfers become DRAM requests and the stalls
        come from the DRAM model (:mod:`simulator.nm_array.dram_memory`).
    dram_mode : str
        ``"fold"`` (the fold-level DRAM form, fast) or ``"request"`` (the per-request controller).
    dram_channels, dram_page_policy : int or None, str or None
        Override the preset's channel count / page policy (sweep axes); None keeps the preset's.
    freq_ghz : float
        Array clock, to convert its cycles into DRAM clocks (only with a DRAM model).
    arrays : int
        Arrays in the system (scale-out, :mod:`simulator.nm_array.system`): each is this config's
        array with its own operand SRAMs, all sharing the one memory (``memory``). 1 is a single
        array and runs exactly as before.
    array_shapes : tuple of str
        A heterogeneous system: one ``"ROWSxCOLS"`` per array (``arrays`` must equal their
        number); empty: every array is ``rows x cols``.
    partition : str
        How a layer is spread over the arrays (:mod:`dataflow.nm_array.partition`): ``split_m``,
        ``split_n``, ``pipeline`` (layers in stages, one array per stage, samples of the batch
        flowing through) or ``auto`` (the partition mapper's choice per layer, and pipeline
        against it for the whole network).
    sram_banks : int
        Banks of each operand buffer (:mod:`simulator.nm_array.sram_banks`); 0: conflict-free
        buffers (every access one cycle), the model every other level and SCALE-Sim use.
    sram_bank_ports : int
        Distinct lines a bank serves per cycle.
    sram_bank_width_words : int
        Words per bank line: word ``a`` is in line ``a // width`` of bank ``line % sram_banks``.
    ifmap_layout, filter_layout, ofmap_layout : str
        The contiguous dimension of each operand in its buffer: ifmap ``k`` (``X[p, k]`` at
        ``p*K + k``, an NHWC im2col row) or ``p``; filter ``n`` (``W[k, n]`` at ``k*N + n``) or
        ``k``; ofmap ``n`` (``Y[p, n]`` at ``p*N + n``, NHWC) or ``p``. Only with banks.
    name : str
        Free-form label carried into reports.
    """

    rows: int
    cols: int
    dataflow: str = "ws"
    dataflows: tuple[str, ...] = ()
    ifmap_sram_kb: float = 64.0
    filter_sram_kb: float = 64.0
    ofmap_sram_kb: float = 64.0
    dram_bw_bytes_per_cycle: float | None = None
    word_bytes: int = 1
    psum_bytes: int = 4
    supported_m: tuple[int, ...] = (1, 2, 4, 8)
    weight_double_buffer: bool = False
    operand_bits: int = 8
    acc_bits: int = 32
    memory: str = "simple"
    dram_mode: str = "fold"
    dram_channels: int | None = None
    dram_page_policy: str | None = None
    freq_ghz: float = 1.0
    arrays: int = 1
    array_shapes: tuple[str, ...] = ()
    partition: str = "auto"
    sram_banks: int = 0
    sram_bank_ports: int = 1
    sram_bank_width_words: int = 1
    ifmap_layout: str = "k"
    filter_layout: str = "n"
    ofmap_layout: str = "n"
    name: str = field(default="array")

    def __post_init__(self) -> None:
        src = "ArrayConfig"
        for key in ("rows", "cols"):
            check_int(src, key, getattr(self, key), 1, 4096)
        check_choice(src, "dataflow", self.dataflow, _DATAFLOWS)
        d = self.dataflows
        if not isinstance(d, tuple) or any(x not in _DATAFLOWS for x in d) or len(set(d)) != len(d):
            raise SparsimInputError(src, "dataflows", d, "distinct dataflows from ws, os, is (or empty)")
        if d and self.dataflow not in d:
            raise SparsimInputError(src, "dataflows", list(d), f"must include dataflow ({self.dataflow!r})")
        for key in ("ifmap_sram_kb", "filter_sram_kb", "ofmap_sram_kb"):
            check_number(src, key, getattr(self, key), 1 / 16, 1 << 24, unit="KiB", why="64 bytes to 16 GiB")
        if self.dram_bw_bytes_per_cycle is not None:
            # below 1e-3 bytes/cycle a single weight takes a thousand cycles: a typo, and tiny values
            # overflow the stall arithmetic
            check_number(src, "dram_bw_bytes_per_cycle", self.dram_bw_bytes_per_cycle, 1e-3, 1 << 30,
                         unit="bytes/cycle", why="or null: unlimited")  # fmt: skip
        for key in ("word_bytes", "psum_bytes"):
            check_choice(src, key, getattr(self, key), (1, 2, 4, 8))
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
        check_int(src, "operand_bits", self.operand_bits, 2, 32)
        check_int(src, "acc_bits", self.acc_bits, self.operand_bits, 64, why="at least operand_bits")
        if not isinstance(self.name, str):
            raise SparsimInputError(src, "name", self.name, "a string")
        check_choice(src, "dram_mode", self.dram_mode, ("fold", "request"))
        check_number(src, "freq_ghz", self.freq_ghz, 0.01, 100, unit="GHz")
        if not isinstance(self.memory, str) or not self.memory:
            raise SparsimInputError(src, "memory", self.memory, "simple, a DRAM preset or a DRAM YAML file")
        if self.memory != "simple":
            if self.dram_bw_bytes_per_cycle is not None:
                raise SparsimInputError(src, "dram_bw_bytes_per_cycle", self.dram_bw_bytes_per_cycle,
                                        f"null with memory: {self.memory} (the DRAM model sets the rate)")  # fmt: skip
            self.dram_config()  # validates the preset and the overrides
        elif self.dram_channels is not None or self.dram_page_policy is not None:
            field = "dram_channels" if self.dram_channels is not None else "dram_page_policy"
            raise SparsimInputError(src, field, getattr(self, field), "only with a DRAM model as memory")
        elif self.dram_mode != "fold":
            raise SparsimInputError(src, "dram_mode", self.dram_mode, "fold (the default) with memory: simple; "
                                    "request needs a DRAM model as memory")  # fmt: skip
        check_int(src, "arrays", self.arrays, 1, MAX_ARRAYS)
        check_choice(src, "partition", self.partition, PARTITION_CHOICES)
        check_int(src, "sram_banks", self.sram_banks, 0, MAX_SRAM_BANKS, why="0: conflict-free buffers")
        check_int(src, "sram_bank_ports", self.sram_bank_ports, 1, 16)
        check_int(src, "sram_bank_width_words", self.sram_bank_width_words, 1, 256)
        if self.sram_banks * self.sram_bank_width_words > MAX_SRAM_LINE_SET:
            raise SparsimInputError(src, "sram_bank_width_words", self.sram_bank_width_words,
                                    f"sram_banks x sram_bank_width_words at most {MAX_SRAM_LINE_SET:,}")  # fmt: skip
        if self.sram_banks:
            # the cost table of one access shape: line-set residues x the widest access (a column of
            # N:M groups, rows x M words); bounded so that no layer's tables take minutes to build
            work = self.sram_banks * self.sram_bank_width_words * max(self.rows, self.cols) * max(self.supported_m)
            if work > MAX_SRAM_TABLE_WORDS:
                raise SparsimInputError(
                    src, "sram_banks", self.sram_banks,
                    f"sram_banks x sram_bank_width_words x max(rows, cols) x largest supported M at most "
                    f"{MAX_SRAM_TABLE_WORDS:,} (here {work:,})",
                )  # fmt: skip
        check_choice(src, "ifmap_layout", self.ifmap_layout, ("k", "p"))
        check_choice(src, "filter_layout", self.filter_layout, ("n", "k"))
        check_choice(src, "ofmap_layout", self.ofmap_layout, ("n", "p"))
        shapes = self.array_shapes
        if not isinstance(shapes, tuple) or any(_shape(s) is None for s in shapes):
            raise SparsimInputError(src, "array_shapes", shapes, 'a list of "ROWSxCOLS" (1 to 4096 each), or empty')
        if shapes and self.arrays == 1:
            raise SparsimInputError(src, "array_shapes", list(shapes), "empty with arrays: 1 (a single array is rows x "
                                    "cols; array_shapes describes a system of arrays)")  # fmt: skip
        if shapes and len(shapes) != self.arrays:
            raise SparsimInputError(src, "array_shapes", list(shapes), f"one shape per array (arrays: {self.arrays})")

    def system_arrays(self) -> tuple[ArrayConfig, ...]:
        """The arrays of the system, each a single-array config (``arrays = 1``) of its shape."""
        shapes = [_shape(s) for s in self.array_shapes] or [(self.rows, self.cols)] * self.arrays
        return tuple(
            dataclasses.replace(self, rows=r, cols=c, arrays=1, array_shapes=(), name=f"{self.name}[{i}]")
            for i, (r, c) in enumerate(shapes)
        )

    @property
    def is_system(self) -> bool:
        """More than one array (:mod:`simulator.nm_array.system` runs it)."""
        return self.arrays > 1

    @property
    def system_pes(self) -> int:
        """PEs of every array of the system."""
        return sum(a.pes for a in self.system_arrays()) if self.is_system else self.pes

    def dram_config(self):
        """The :class:`~simulator.dram.config.DramConfig` of ``memory`` with this config's overrides."""

        over = {}
        if self.dram_channels is not None:
            check_int("ArrayConfig", "dram_channels", self.dram_channels, 1, 64)
            over["channels"] = self.dram_channels
        if self.dram_page_policy is not None:
            over["page_policy"] = self.dram_page_policy
        try:
            return _dram_cached(self.memory, tuple(sorted(over.items())))
        except SparsimInputError as err:
            if err.field == "preset":
                raise SparsimInputError("ArrayConfig", "memory", self.memory, "simple or " + err.allowed) from None
            raise

    @property
    def allowed_dataflows(self) -> tuple[str, ...]:
        """The dataflows a mapping may use on this array."""
        return self.dataflows or (self.dataflow,)

    @property
    def pes(self) -> int:
        """Number of processing elements."""
        return self.rows * self.cols

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python dict (YAML/JSON friendly) that :func:`arch_from_yaml` accepts back."""
        d = dataclasses.asdict(self)
        d["supported_m"] = list(self.supported_m)
        d["dataflows"] = list(self.dataflows)
        d["array_shapes"] = list(self.array_shapes)
        return d


@functools.lru_cache(maxsize=64)
def _dram_cached(memory: str, over: tuple):
    from simulator.dram.config import load_dram

    return load_dram(memory, **dict(over))


def arch_from_yaml(path: str | Path) -> ArrayConfig:
    """Load an array config from YAML (keys are :class:`ArrayConfig` fields; see
    :mod:`simulator.common.config` for what the reader refuses)."""
    return dataclass_from_yaml(path, ArrayConfig, "array config")


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
    path = Path(path)
    parser = configparser.ConfigParser()
    try:
        with path.open() as fh:
            parser.read_file(fh)
    except OSError as err:
        raise SparsimInputError(str(path), "file", str(path), f"cannot be read ({err.strerror})") from None
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
    kwargs = dict(
        rows=rows,
        cols=cols,
        dataflow=get("architecture_presets", "Dataflow", "ws").lower(),
        ifmap_sram_kb=float(get_int("architecture_presets", "IfmapSramSzkB")),
        filter_sram_kb=float(get_int("architecture_presets", "FilterSramSzkB")),
        ofmap_sram_kb=float(get_int("architecture_presets", "OfmapSramSzkB")),
        dram_bw_bytes_per_cycle=bw,
        word_bytes=1,
        psum_bytes=1,
        supported_m=(1, 2, 4, 8, 16) if sparse == "true" else (1,),
        name=get("general", "run_name", path.stem),
    )
    try:
        return ArrayConfig(**kwargs)
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
    if cfg.sram_banks:
        raise SparsimInputError(
            where, "sram_banks", cfg.sram_banks,
            "0 here: the per-cycle model and the RTL have conflict-free buffers (banked SRAM is modelled "
            "at the fold level: sparsim simulate)",
        )  # fmt: skip

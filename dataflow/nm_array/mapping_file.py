"""Mapping files: the per-layer mappings of a run, written so a user can pin or edit them and read
back (``sparsim simulate --mapping FILE``).

Why a file: a mapping the mapper found is a design decision an architect wants to keep fixed
while changing something else (a buffer size, the DRAM channel), or to edit by hand. Two formats,
one record per lowered GEMM (one per layer; one per layer and pass in a training step):

YAML::

    mappings:
      - {layer: 0, name: conv1, dataflow: ws, tile_p: 12544, tile_k: 32, tile_n: 32, loop_order: NKP}
      - {layer: 1, name: layer1.0.conv1, dataflow: os, tile_p: 0, tile_k: 0, tile_n: 0, loop_order: plain}

CSV: the same columns (``pass`` too for a training step). A run's ``layers.csv`` or ``passes.csv``
is itself a valid mapping file: other columns are ignored.

``loop_order: plain`` with tiles 0 is the dataflow's plain schedule. Records are matched to the
workload by ``layer`` (and ``pass``); every GEMM needs exactly one record and its ``name`` must
match, so a file written for another network is refused rather than applied.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from dataflow.nm_array.mapping import Mapping
from dataflow.nm_array.schedule import ORDERS, Tiling
from simulator.common.errors import SparsimInputError
from simulator.common.validate import check_int

__all__ = [
    "read_mapping_file", "read_system_mapping_file", "mapping_records", "write_mapping_file", "MAPPING_FIELDS",
    "MAX_MAPPING_BYTES",
]  # fmt: skip

MAPPING_FIELDS = ("layer", "name", "dataflow", "tile_p", "tile_k", "tile_n", "loop_order")
MAX_MAPPING_BYTES = 16 << 20
_MAX_TILE = 1 << 40


def mapping_records(gemms: pd.DataFrame, mappings: list[Mapping]) -> pd.DataFrame:
    """The records of a mapping file for ``gemms`` (a lowered or training-pass table)."""
    rows = []
    has_pass = "pass" in gemms.columns
    for r, mp in zip(gemms.to_dict("records"), mappings, strict=True):
        rec = {"layer": int(r["layer"]), "name": r["name"]}
        if has_pass:
            rec["pass"] = r["pass"]
        rec.update(mp.describe())
        rows.append(rec)
    cols = ["layer", "name"] + (["pass"] if has_pass else []) + list(MAPPING_FIELDS[2:])
    return pd.DataFrame(rows, columns=cols)


def write_mapping_file(path: str | Path, records: pd.DataFrame) -> bytes:
    """The file's bytes for ``records`` (:func:`mapping_records`), YAML or CSV by suffix."""
    if Path(path).suffix.lower() == ".csv":
        return records.to_csv(index=False).encode()
    import yaml

    recs = [{k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()} for r in records.to_dict("records")]
    head = "# sparsim mapping file: one record per GEMM; edit and pass with --mapping FILE\n"
    return (head + yaml.safe_dump({"mappings": recs}, sort_keys=False, default_flow_style=None, width=200)).encode()


def _records(path: Path) -> list[tuple[str, dict]]:
    """``(where, record)`` for every record of the file (read, bounded and decoded by
    :func:`~simulator.common.config.read_yaml` or :func:`~simulator.common.files.read_text`)."""
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        from simulator.common.config import read_yaml

        data = read_yaml(path)
        if not isinstance(data, dict) or set(data) != {"mappings"} or not isinstance(data["mappings"], list):
            raise SparsimInputError(
                str(path), "mappings", type(data).__name__, "a top-level key `mappings:` with a list"
            )
        out = []
        for i, rec in enumerate(data["mappings"]):
            if not isinstance(rec, dict):
                raise SparsimInputError(f"{path} mappings[{i}]", "record", rec, "a mapping of the fields")
            out.append((f"{path} mappings[{i}]", rec))
        return out
    if suffix == ".csv":
        from simulator.common.files import read_text

        text = read_text(path, "mapping CSV", MAX_MAPPING_BYTES)
        try:
            df = pd.read_csv(io.StringIO(text), skipinitialspace=True, dtype=str, keep_default_na=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
            raise SparsimInputError(
                str(path), "file", path.name, f"not a readable CSV ({str(err).splitlines()[0]})"
            ) from None
        missing = [c for c in MAPPING_FIELDS if c not in df.columns]
        if missing:
            need = f"needs columns {', '.join(MAPPING_FIELDS)} (missing {', '.join(missing)})"
            raise SparsimInputError(f"{path}:1", "header", ", ".join(map(str, df.columns[:9])), need)
        cols = list(MAPPING_FIELDS) + [c for c in ("pass", "array") if c in df.columns]
        return [(f"{path}:{i + 2}", rec) for i, rec in enumerate(df[cols].to_dict("records"))]
    raise SparsimInputError(str(path), "extension", path.suffix, "allowed: .yaml, .yml, .csv")


def _int(where: str, field: str, value, lo: int, text_ok: bool = True) -> int:
    """An integer field; ``text_ok``: a CSV cell (text by nature), else a YAML value, where a
    quoted '512' is a string the user did not mean as a number and is refused."""
    if isinstance(value, str) and text_ok:
        from simulator.common.validate import parse_int

        return parse_int(value.strip(), where, field, lo, _MAX_TILE)
    return check_int(where, field, value, lo, _MAX_TILE)


def read_mapping_file(path: str | Path, gemms: pd.DataFrame, allowed: tuple[str, ...]) -> list[Mapping]:
    """One :class:`Mapping` per row of ``gemms``, from a mapping file (see the module docstring);
    ``allowed``: the dataflows the array can run. A file with an ``array`` column is a system's
    (:func:`read_system_mapping_file`) and is refused for one array."""
    out = read_system_mapping_file(path, gemms, [allowed], single=True)
    return [row[0] for row in out]


def read_system_mapping_file(
    path: str | Path, gemms: pd.DataFrame, allowed: list[tuple[str, ...]], single: bool = False
) -> list[list[Mapping]]:
    """Per row of ``gemms``, one :class:`Mapping` per array of a system (``allowed[a]``: the
    dataflows array ``a`` runs). A record with ``array: a`` maps that array's part of the layer;
    a record without maps every array's part (an ``array`` record overrides it). Every part needs
    a record. Why per array: on a heterogeneous system the best tiles of a 64x16 array are not a
    32x32 array's, and a split gives each array its own part of every layer."""
    path = Path(path)
    csv = path.suffix.lower() == ".csv"
    has_pass = "pass" in gemms.columns
    arrays = len(allowed)
    by_key: dict[tuple, tuple[str, Mapping, str]] = {}
    for where, rec in _records(path):
        unknown = set(rec) - set(MAPPING_FIELDS) - {"pass", "array"}
        if unknown:
            raise SparsimInputError(
                where, sorted(map(str, unknown))[0], "", f"fields: {', '.join(MAPPING_FIELDS)}, pass, array"
            )
        array = None
        if rec.get("array") not in (None, ""):  # a blank CSV cell or null: every array
            if single:
                raise SparsimInputError(where, "array", rec["array"], "no array column for a single array "
                                        "(a system's mapping file names its arrays)")  # fmt: skip
            array = _int(where, "array", rec["array"], 0, csv)
            if array >= arrays:
                raise SparsimInputError(where, "array", array, f"an array of the system: 0 to {arrays - 1}")
        for f in MAPPING_FIELDS:
            if f not in rec:
                raise SparsimInputError(where, f, "(missing)", f"every record needs {', '.join(MAPPING_FIELDS)}")
        layer = _int(where, "layer", rec["layer"], 0, csv)
        df = rec["dataflow"]
        runs = allowed[array] if array is not None else tuple(d for d in allowed[0] if all(d in a for a in allowed))
        if df not in runs:
            who = "the array" if array is None and arrays == 1 else (f"array {array}" if array is not None
                                                                      else "every array")  # fmt: skip
            raise SparsimInputError(where, "dataflow", df, f"one {who} runs: {', '.join(runs)}")
        order = rec["loop_order"]
        tiles = [_int(where, f, rec[f], 0, csv) for f in ("tile_p", "tile_k", "tile_n")]
        if order == "plain":
            if any(tiles):
                raise SparsimInputError(where, "tile_p/tile_k/tile_n", tiles, "0 with loop_order plain")
            mp = Mapping(df)
        elif order in ORDERS:
            if min(tiles) < 1:
                raise SparsimInputError(where, "tile_p/tile_k/tile_n", tiles, "positive with a loop order")
            mp = Mapping(df, Tiling(*tiles, order))
        else:
            raise SparsimInputError(where, "loop_order", order, f"one of {', '.join(ORDERS)}, plain")
        if has_pass:
            if "pass" not in rec:
                raise SparsimInputError(where, "pass", "(missing)", "FF, BP or WU (a training step's mapping)")
            key = (layer, str(rec["pass"]))
        else:
            key = (layer,)
        key = (*key, array)
        if key in by_key:
            raise SparsimInputError(where, "layer", "/".join(map(str, key)), f"once (also at {by_key[key][0]})")
        by_key[key] = (where, mp, str(rec["name"]))
    out = []
    used: set = set()
    for r in gemms.to_dict("records"):
        base = (int(r["layer"]), r["pass"]) if has_pass else (int(r["layer"]),)
        row = []
        for a in range(arrays):
            key = (*base, a) if (*base, a) in by_key else (*base, None)
            if key not in by_key:
                what = "" if arrays == 1 else f", array {a}"
                raise SparsimInputError(str(path), "layer", "/".join(map(str, base)) + f" ({r['name']}{what})",
                                        "a record for every layer of the workload (this one has none)")  # fmt: skip
            where, mp, name = by_key[key]
            used.add(key)
            if name != r["name"]:
                raise SparsimInputError(where, "name", name, f"{r['name']!r}, the workload's layer {base[0]}")
            row.append(mp)
        out.append(row)
    left = [k for k in by_key if k not in used]
    if left:
        where = by_key[left[0]][0]
        raise SparsimInputError(
            where, "layer", "/".join(str(x) for x in left[0] if x is not None),
            "a layer of the workload (it has no such layer)",
        )  # fmt: skip
    return out

"""Import and export of SCALE-Sim topology CSVs (conv and GEMM formats, optional Sparsity column).

Formats (SCALE-Sim v2/v3)::

    Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides, [Sparsity],
    Layer, M, N, K, [Sparsity],

Rows end with a trailing comma (SCALE-Sim drops the last field; we accept rows with or without it).

Compatibility mode (documented, ours): imported layers get ``compat = "scalesim"``, so they keep
SCALE-Sim's conventions and reproduce its cycle counts exactly: no padding, output size
``ceil((H - Fh + S) / S)``, its layer-wise N:M condensing, and a GEMM ``M, N, K`` read as an
``M x K`` input with a ``1 x K`` filter and ``N`` filters. A conv whose name contains ``DP`` is
SCALE-Sim's depthwise convention (one single-channel layer per channel); we import it as one
grouped layer (``groups = Channels``), which costs the same cycles.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pandas as pd

from simulator.common.errors import SparsimInputError
from workloads.layers import conv_layer, gemm_layer, layer_table
from workloads.nm import parse_nm

__all__ = ["read_scalesim_topology", "write_scalesim_topology", "is_scalesim_topology"]

_CONV_HEADER = (
    "layer name",
    "ifmap height",
    "ifmap width",
    "filter height",
    "filter width",
    "channels",
    "num filter",
    "strides",
)
_GEMM_HEADER = ("layer", "m", "n", "k")


def _cells(line: str) -> list[str]:
    cells = [c.strip() for c in next(csv.reader([line]))]
    while cells and cells[-1] == "":
        cells.pop()
    return cells


def _kind(header: list[str]) -> str | None:
    low = [h.lower() for h in header]
    if tuple(low[:8]) == _CONV_HEADER:
        return "conv"
    if len(low) >= 4 and low[0] in ("layer", "layer name") and tuple(low[1:4]) == _GEMM_HEADER[1:]:
        return "gemm"
    return None


def is_scalesim_topology(path: str | Path) -> bool:
    """True when the file's header is a SCALE-Sim conv or GEMM topology header."""
    try:
        with Path(path).open(newline="", encoding="utf-8-sig") as fh:
            first = fh.readline(4096)
    except (OSError, UnicodeDecodeError):
        return False
    return bool(first.strip()) and _kind(_cells(first)) is not None


def _int(cell: str, where: str, field: str, minimum: int = 1) -> int:
    """A strict integer cell: ASCII digits only (``int()`` also takes ``1_0`` and non-ASCII digits);
    the upper bounds are the layer table's (:mod:`workloads.layers`)."""
    s = cell.strip()
    if not re.fullmatch(r"[+-]?[0-9]{1,18}", s) or int(s) < minimum:
        raise SparsimInputError(where, field, cell, f"must be an integer >= {minimum} (ASCII digits, at most 18)")
    return int(s)


def read_scalesim_topology(path: str | Path) -> pd.DataFrame:
    """Read a SCALE-Sim topology into a validated layer table (``compat = "scalesim"``)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise SparsimInputError(str(path), "file", str(path), f"cannot be read as text ({err})") from None
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise SparsimInputError(str(path), "header", "", "a SCALE-Sim conv or GEMM header line")
    header = _cells(lines[0])
    kind = _kind(header)
    if kind is None:
        raise SparsimInputError(
            f"{path}:1",
            "header",
            ", ".join(header),
            "expected 'Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, "
            "Channels, Num Filter, Strides[, Sparsity]' or 'Layer, M, N, K[, Sparsity]'",
        )
    names = header
    has_sparsity = len(names) > (8 if kind == "conv" else 4)
    rows = []
    for lineno, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        cells = _cells(line)
        need = 8 if kind == "conv" else 4
        if len(cells) < need:
            missing = names[len(cells)] if len(cells) < len(names) else f"column {len(cells) + 1}"
            raise SparsimInputError(where, missing, "", f"missing; the row has {len(cells)} of {need} required fields")
        if len(cells) > need + 1:
            raise SparsimInputError(where, "fields", len(cells), f"at most {need + 1} fields ({need} + Sparsity)")
        nm = (1, 1)
        if len(cells) == need + 1:
            nm = parse_nm(cells[need], where, names[need] if has_sparsity else "Sparsity")
        name = cells[0]
        if not name:
            raise SparsimInputError(where, names[0], name, "a non-empty layer name")
        if kind == "conv":
            h, w, fh, fw, ch, nf, s = (_int(cells[i], where, names[i]) for i in range(1, 8))
            if fh > h or fw > w:
                raise SparsimInputError(
                    where,
                    names[3] if fh > h else names[4],
                    fh if fh > h else fw,
                    f"filter larger than the {h}x{w} input (SCALE-Sim convs have no padding)",
                )
            if "DP" in name:
                rows.append(
                    conv_layer(
                        name,
                        in_h=h,
                        in_w=w,
                        in_c=ch,
                        out_c=ch * nf,
                        k_h=fh,
                        k_w=fw,
                        stride=s,
                        groups=ch,
                        nm=nm,
                        compat="scalesim",
                    )
                )
            else:
                rows.append(
                    conv_layer(
                        name, in_h=h, in_w=w, in_c=ch, out_c=nf, k_h=fh, k_w=fw, stride=s, nm=nm, compat="scalesim"
                    )
                )
        else:
            m, n, k = (_int(cells[i], where, names[i]) for i in range(1, 4))
            rows.append(gemm_layer(name, m=m, k=k, n=n, nm=nm, compat="scalesim"))
    if not rows:
        raise SparsimInputError(str(path), "layers", 0, "at least one layer row after the header")
    return layer_table(rows, source=str(path))


def write_scalesim_topology(layers: pd.DataFrame, path: str | Path | None = None, fmt: str = "conv") -> str:
    """Write a layer table in SCALE-Sim's conv (default) or GEMM format; return the text.

    Conv format: padding is folded into the input size (``H + 2*pad``), a grouped conv must be
    depthwise-style (``groups = in_c``) and is written with a ``DP`` name and ``Num Filter =
    out_c/in_c``; a GEMM row becomes SCALE-Sim's own GEMM-as-conv (``M x K`` input, ``1 x K``
    filter). Batch, dilation, unequal strides and other groupings have no SCALE-Sim form and are
    rejected. With ``compat = "native"`` layers, SCALE-Sim will round output sizes its own way.
    """
    if fmt not in ("conv", "gemm"):
        raise SparsimInputError("write_scalesim_topology", "fmt", fmt, "allowed: conv, gemm")
    out = io.StringIO()
    any_sparse = bool(((layers["nm_n"] != 1) | (layers["nm_m"] != 1)).any())
    if fmt == "conv":
        out.write(
            "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
            "Num Filter, Strides," + (" Sparsity," if any_sparse else "") + "\n"
        )
    else:
        out.write("Layer, M, N, K," + (" Sparsity," if any_sparse else "") + "\n")
    for i, r in enumerate(layers.itertuples(index=False)):
        where = f"layer {i} ({r.name})"
        sparsity = f"{r.nm_n}:{r.nm_m}," if any_sparse else ""
        if r.batch != 1:
            raise SparsimInputError(where, "batch", int(r.batch), "SCALE-Sim topologies have no batch; use 1")
        if r.op == "matmul" or (r.op == "gemm" and r.groups != 1):
            raise SparsimInputError(where, "op", r.op, "SCALE-Sim has no batched or grouped GEMM")
        if fmt == "gemm":
            if r.op != "gemm":
                raise SparsimInputError(where, "op", r.op, "the GEMM format holds only gemm layers")
            out.write(f"{r.name},{r.gemm_m},{r.gemm_n},{r.gemm_k},{sparsity}\n")
            continue
        if r.op == "gemm":
            out.write(f"{r.name},{r.gemm_m},{r.gemm_k},1,{r.gemm_k},1,{r.gemm_n},1,{sparsity}\n")
            continue
        if r.dil_h != 1 or r.dil_w != 1:
            raise SparsimInputError(where, "dilation", (int(r.dil_h), int(r.dil_w)), "SCALE-Sim has no dilation; use 1")
        if r.stride_h != r.stride_w:
            raise SparsimInputError(
                where, "stride", (int(r.stride_h), int(r.stride_w)), "SCALE-Sim needs equal strides"
            )
        name, ch, nf = r.name, r.in_c, r.out_c
        if r.groups != 1:
            if r.groups != r.in_c:
                raise SparsimInputError(
                    where, "groups", int(r.groups), f"only 1 or in_c ({int(r.in_c)}) are expressible"
                )
            nf = r.out_c // r.in_c
            name = name if "DP" in name else f"DP_{name}"
        elif "DP" in name:
            raise SparsimInputError(where, "name", name, "'DP' marks a depthwise layer in SCALE-Sim; rename it")
        out.write(
            f"{name},{r.in_h + 2 * r.pad_h},{r.in_w + 2 * r.pad_w},{r.k_h},{r.k_w},{ch},{nf},{r.stride_h},{sparsity}\n"
        )
    text = out.getvalue()
    if path is not None:
        Path(path).write_text(text)
    return text

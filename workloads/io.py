"""Reading and writing workloads: native layer tables (CSV/Parquet) and SCALE-Sim topologies.

Why one entry point: the CLI takes ``--workload FILE`` and must accept either format, detect it
from the content (not the extension alone), and reject anything else with one clear line.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from simulator.common.errors import SparsimInputError
from workloads.layers import LAYER_COLUMNS, validate_layer_table
from workloads.scalesim_topology import is_scalesim_topology, read_scalesim_topology

__all__ = ["load_workload", "MAX_WORKLOAD_BYTES"]

#: a layer table of the largest network is a few hundred kilobytes
MAX_WORKLOAD_BYTES = 64 << 20


def load_workload(path: str | Path, batch: int | None = None) -> pd.DataFrame:
    """Load a workload as a validated layer table; ``batch`` overrides every layer's batch.

    ``path`` is a file (SCALE-Sim topology, layer-table CSV or Parquet, or an ONNX model, traced
    with ``batch`` binding a symbolic first dimension) or ``zoo:NAME`` (the
    committed trace of a zoo model; no torch needed); a bare zoo name that is not a file is the
    zoo model too (one spelling for every command).
    """
    from workloads.zoo import ZOO, load_zoo_trace

    if isinstance(path, str) and (path.startswith("zoo:") or (path in ZOO and not Path(path).exists())):
        return _with_batch(load_zoo_trace(path.removeprefix("zoo:")), batch)
    p = Path(path)
    if not p.is_file():
        raise SparsimInputError(
            str(p), "workload", str(p), "an existing SCALE-Sim topology, layer-table CSV or Parquet file, or zoo:NAME"
        )
    if p.suffix.lower() == ".onnx":  # traced through the one ONNX loader (its own size bound)
        from workloads.trace_onnx import trace_onnx

        trace = trace_onnx(p, batch=batch)
        trace.check(str(p))
        return trace.layers
    size = p.stat().st_size
    if size > MAX_WORKLOAD_BYTES:
        raise SparsimInputError(
            str(p), "file", f"{size:,} bytes", f"at most {MAX_WORKLOAD_BYTES:,} bytes (a layer table)"
        )
    if p.suffix.lower() == ".parquet":
        try:
            df = pd.read_parquet(p)
        except Exception as err:  # pyarrow raises several types for corrupt files
            raise SparsimInputError(
                str(p), "file", p.name, f"not a readable Parquet file ({type(err).__name__})"
            ) from None
        layers = validate_layer_table(df, str(p))
    elif is_scalesim_topology(p):
        layers = read_scalesim_topology(p)
    else:
        try:
            df = pd.read_csv(p, skipinitialspace=True, encoding="utf-8-sig")
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
            raise SparsimInputError(
                str(p), "file", p.name, f"not a readable CSV ({str(err).splitlines()[0]})"
            ) from None
        if "op" not in df.columns or "name" not in df.columns:
            raise SparsimInputError(
                f"{p}:1",
                "header",
                ", ".join(map(str, df.columns[:9])),
                "a SCALE-Sim topology header or a sparsim layer table with columns " + ", ".join(LAYER_COLUMNS),
            )
        layers = validate_layer_table(df, str(p))
    return _with_batch(layers, batch)


def _with_batch(layers: pd.DataFrame, batch: int | None) -> pd.DataFrame:
    if batch is not None:
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
            raise SparsimInputError("--batch", "batch", batch, "a positive integer")
        layers = layers.assign(batch=batch)
    return layers

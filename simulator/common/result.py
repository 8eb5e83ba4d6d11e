"""What one run of a block returns: :class:`Result`.

Why one type: a run's table is only half of what a user needs. A system of arrays also has a
per-array table, the mobile block says what its channel rearrangement did, and every run has
totals. These used to travel in ``DataFrame.attrs`` (lost by the first ``copy`` or ``concat``)
and in undeclared keywords. A frozen dataclass names each of them, so the CLI, the sweep driver,
the reports and a notebook read the same fields, and ``to_dir`` writes what the CLI writes.

::

    Block.run(workload, config, **params) ──> Result
                                               .table    tidy DataFrame, one row per layer/pass/run
                                               .totals   the block's totals (the sweep's metrics)
                                               .arrays   per-(layer, array) table of a system, or None
                                               .info     what the run did beside the table (named)
                                               .to_dir(path), .plot(), _repr_html_()
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pandas as pd

__all__ = ["Result"]


def _frozen(d: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(d or {}))


@dataclass(frozen=True, slots=True, kw_only=True)
class Result:
    """One run of a block.

    Attributes
    ----------
    block : the registered block's name (``nm_array``, ``sat``, ``spgemm``, ``mobile``).
    level : the model level that produced the numbers (``fold``, ``training_step``, ``cycle``,
        ``core:a76``, ...).
    table : one tidy row per layer / pass / run, with the shared column names of
        :mod:`simulator.common.block` (``cycles``, ``dram_bytes``, ``energy_pj``, ...).
    totals : the block's totals of ``table`` (exactly its ``Block.totals`` keys).
    config : the frozen config the run used.
    params : the run parameters, normalised, defaults filled in.
    workload : the workload as run (the N:M array's layer table, the mobile model), when the block has one.
    arrays : a system of arrays: one row per (layer, array) part; ``None`` on one array.
    info : named facts of the run beside the table (the mobile block's rearrangement, ...).
    """

    block: str
    level: str
    table: pd.DataFrame
    totals: Mapping[str, Any]
    config: Any
    params: Mapping[str, Any] = field(default_factory=dict)
    workload: Any = None
    arrays: pd.DataFrame | None = None
    info: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "totals", _frozen(self.totals))
        object.__setattr__(self, "params", _frozen(self.params))
        object.__setattr__(self, "info", _frozen(self.info))

    # ------------------------------------------------------------------ views
    def __repr__(self) -> str:
        cyc = self.totals.get("cycles")
        what = f"{cyc:,} cycles" if isinstance(cyc, int) else "no cycles"
        return f"Result(block={self.block!r}, level={self.level!r}, rows={len(self.table)}, {what})"

    def _repr_html_(self) -> str:
        """A notebook's view: the totals, then the first rows of the table."""
        tot = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{_fmt(v)}</td></tr>"
            for k, v in self.totals.items()
        )
        head = self.table.head(20).to_html(index=False, border=0)
        more = f"<p>{len(self.table) - 20:,} more rows in <code>.table</code></p>" if len(self.table) > 20 else ""
        return (f"<div><p><b>sparsim</b> {html.escape(self.block)} ({html.escape(self.level)}), "
                f"{len(self.table):,} rows</p><table>{tot}</table>{head}{more}</div>")  # fmt: skip

    def plot(self, column: str = "cycles", label: str | None = None):
        """A bar chart of ``column`` per row, as a :class:`matplotlib.figure.Figure`.

        Why a bare ``Figure``: ``pyplot`` would pick (or change) the notebook's backend and keep
        the figure in its global state; a ``Figure`` is shown by a notebook as it is and saved
        with ``fig.savefig``.
        """
        from matplotlib.figure import Figure

        from simulator.common.errors import SparsimInputError

        if column not in self.table.columns:
            numeric = [c for c in self.table.columns if pd.api.types.is_numeric_dtype(self.table[c])]
            raise SparsimInputError("plot", "column", column, f"a numeric column of the table: {', '.join(numeric)}")
        names = label or next((c for c in ("name", "layer", "pass") if c in self.table.columns), None)
        labels = self.table[names].astype(str).tolist() if names else [str(i) for i in range(len(self.table))]
        fig = Figure(figsize=(max(6.0, 0.25 * len(labels)), 3.5), layout="constrained")
        ax = fig.add_subplot()
        ax.bar(range(len(labels)), self.table[column].to_numpy())
        ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
        ax.set_ylabel(column)
        ax.set_title(f"{self.block} ({self.level}): {column} per row")
        return fig

    # ------------------------------------------------------------------ output
    def to_dir(self, path: str | Path, command: str | None = None) -> Path:
        """Write what the CLI writes for this block into ``path`` (replaced only when sparsim
        wrote it; see :func:`simulator.common.outputs.atomic_output_dir`)."""
        from simulator.common.block import get_block
        from simulator.common.outputs import atomic_output_dir, check_output_dir

        block = get_block(self.block)
        command = command or block.command
        check_output_dir(path, command)
        with atomic_output_dir(path, command) as tmp:
            block.write(self, tmp)
        return Path(path)


def _fmt(v: Any) -> str:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return html.escape(str(v))
    return f"{v:,}" if isinstance(v, int) else f"{v:,.6g}"

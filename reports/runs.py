"""How a reproduction runs its points: labelled in-memory sweep specs, through the library.

Why: a reproduction is a list of named settings (a dataflow on a memory, a training scheme with
its options) and a render function of the results. Running them as one in-memory sweep
(:func:`simulator.sweep`, ``points:``) gives every report the CLI's checks and the sweep's
worker processes, and no report loops over configs or calls a model itself.

A label names a point for the report (``memory="ddr4-3200"``, ``mapping="mapper ws"``). Two
labels may stand for the same settings (the NHWC and the per-dataflow layouts of WS are one
layout): the sweep runs that point once, and both labels get its numbers.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from simulator.api import sweep
from simulator.common.block import get_block

__all__ = ["fields_of", "run_labelled"]


def fields_of(cfg: Any) -> dict[str, Any]:
    """Every field of a config dataclass as a spec names it (lists for tuples)."""
    return {f.name: (list(v) if isinstance(v := getattr(cfg, f.name), tuple) else v)
            for f in dataclasses.fields(cfg)}  # fmt: skip


def run_labelled(
    block: str,
    base: Mapping[str, Any],
    labelled: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]],
    workloads: Sequence[Mapping[str, Any]],
    *,
    workload_label: str = "network",
    jobs: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run every ``(labels, settings)`` on every workload; ``(totals, rows)``.

    ``totals``: one row per workload x label, in that order (workloads outermost): the workload
    (column ``workload_label``), the labels, the block's totals and the point's ``key``.
    ``rows``: every point's per-row table (layers, passes) with the same leading columns and
    ``key`` (a point two labels share appears once per label; a label named like a table column,
    such as ``dataflow``, replaces it).
    """
    b = get_block(block)
    unique = list({json.dumps(dict(s), sort_keys=True): dict(s) for _, s in labelled}.values())
    spec = {"block": block, "base": dict(base), "points": unique, "workloads": [dict(w) for w in workloads]}
    points, rows = sweep(spec, jobs=jobs, tables=True)
    by_setting = {}
    for _, s in labelled:
        cfg, params = b.build({**base, **s})
        by_setting[json.dumps(dict(s), sort_keys=True)] = (
            json.dumps(b.config_dict(cfg), sort_keys=True), json.dumps(params, sort_keys=True))
    index = {(p.workload, p.config, p.params): p.key for p in points.itertuples(index=False)}
    labels_of = [b.workload_spec(dict(w), Path.cwd(), "workload")["label"] for w in workloads]  # the sweep's own
    totals, tables = [], []
    by_key = dict(tuple(rows.groupby("key", sort=False))) if len(rows) else {}
    for wl in labels_of:
        for labels, s in labelled:
            cfg_json, params_json = by_setting[json.dumps(dict(s), sort_keys=True)]
            key = index[(wl, cfg_json, params_json)]
            point = points[points.key == key].iloc[0]
            lead = {workload_label: wl, **labels}
            totals.append({**lead, **{m: point[m] for m in b.totals}, "key": key})
            table = by_key[key]
            tables.append(table.assign(**lead)[[*lead, *(c for c in table.columns if c not in lead)]])
    return pd.DataFrame(totals), pd.concat(tables, ignore_index=True)

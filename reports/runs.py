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

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import yaml

from simulator.api import sweep
from simulator.common.block import Block, get_block
from simulator.sweeps.spec import parse_spec

__all__ = ["fields_of", "run_labelled"]

#: every field of a config dataclass as a spec names it (lists for tuples): the block protocol's own
fields_of = Block.config_dict


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
    unique = {json.dumps(dict(s), sort_keys=True): dict(s) for _, s in labelled}
    data = {"block": block, "base": dict(base), "points": list(unique.values()),
            "workloads": [dict(w) for w in workloads]}  # fmt: skip
    spec = parse_spec(data, "spec", yaml.safe_dump(data, sort_keys=False))  # workloads resolved once, here
    points, rows = sweep(spec, jobs=jobs, tables=True)
    # a setting's point, by the config and parameters its key was made of
    index = {(p.workload, p.config, p.params): p for p in points.itertuples(index=False)}
    made = {}
    for text, s in unique.items():
        cfg, params = b.build({**base, **s})
        made[text] = (json.dumps(b.config_dict(cfg), sort_keys=True), json.dumps(params, sort_keys=True))
    by_key = dict(tuple(rows.groupby("key", sort=False))) if len(rows) else {}
    totals, tables = [], []
    for wl in (w["label"] for w in spec.workloads):
        for labels, s in labelled:
            point = index[(wl, *made[json.dumps(dict(s), sort_keys=True)])]
            lead = {workload_label: wl, **labels}
            totals.append({**lead, **{m: getattr(point, m) for m in b.totals}, "key": point.key})
            table = by_key[point.key]
            tables.append(table.assign(**lead)[[*lead, *(c for c in table.columns if c not in lead)]])
    return pd.DataFrame(totals), pd.concat(tables, ignore_index=True)

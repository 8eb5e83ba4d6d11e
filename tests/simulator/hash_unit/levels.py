"""One test suite for the hash-accumulate unit at every level, PyMTL3-style: a level's test class
derives from :class:`HashUnitLevelTests` and says how to run a stream on its design under test.

Directed streams (random keys and idle gaps, all keys colliding in one slot, one key repeated back
to back, more keys than slots, nothing at all) on three configurations, judged the same way at
every level:

- values: the drained table holds the first ``slots`` distinct keys of the stream, each with the
  wrapped sum of all its items (a reference written here, independently of the functional model
  :func:`simulator.hash_unit.fl.hash_accumulate_fl`, which is itself one of the levels), and the
  overflow flag is raised exactly when an item's key did not fit;
- timing (timed levels): items are accepted in order, one per cycle at most; entries leave one per
  cycle at most, after the last acceptance; the drain ends after the last entry. The RTL level
  also equals the per-cycle model's trace cycle for cycle.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest

from simulator.common.bits import wrap_signed
from simulator.hash_unit.cl import Stimulus
from simulator.hash_unit.config import HashUnitConfig

__all__ = ["CONFIGS", "TAGS", "streams", "stimulus", "reference", "Observed", "HashUnitLevelTests"]

CONFIGS = {
    "s8k8v12": HashUnitConfig(slots=8, key_bits=8, value_bits=12),
    "s16k16v32": HashUnitConfig(slots=16, key_bits=16, value_bits=32),
    "s4k6v8": HashUnitConfig(slots=4, key_bits=6, value_bits=8),
}


def streams(cfg: HashUnitConfig, seed: int) -> list[dict]:
    rng = random.Random(seed)
    s = cfg.slots
    kmax = (1 << cfg.key_bits) - 1
    vmax = (1 << (cfg.value_bits - 1)) - 1
    return [
        {
            "tag": "random",
            "items": [
                (rng.randint(0, min(kmax, 3 * s)), rng.randint(-vmax, vmax), rng.choice([0, 0, 1, 2]))
                for _ in range(6 * s)
            ],
            "drain_gap": rng.randint(0, 3),
            "out_ready": [1, 0, 1, 1],
        },
        {
            "tag": "colliding",
            "items": [(s * rng.randint(0, min(s - 1, kmax // s)), rng.randint(-9, 9), 0) for _ in range(3 * s)],
            "drain_gap": 1,
            "out_ready": [1],
        },
        {
            "tag": "repeated",
            "items": [(rng.randint(0, kmax), vmax // 3, 0)] * (2 * s) + [(1, -1, 0), (1, -1, 0)],
            "drain_gap": 0,
            "out_ready": [0, 1],
        },
        {
            "tag": "full_table",
            "items": [(k, k + 1, 0) for k in range(min(kmax, 2 * s))],
            "drain_gap": 2,
            "out_ready": [1],
        },
        {"tag": "empty", "items": [], "drain_gap": 1, "out_ready": [1]},
    ]


TAGS = ["random", "colliding", "repeated", "full_table", "empty"]


def stimulus(s: dict) -> Stimulus:
    return Stimulus(
        items=tuple(tuple(i) for i in s["items"]), drain_gap=s["drain_gap"], out_ready=tuple(s["out_ready"])
    )


@dataclass(frozen=True)
class Observed:
    """What a level produced: the drained table and the overflow flag; timed levels also the
    trace ``accepted``/``drained`` ``[(cycle, key, value)]``, ``done`` and ``overflow`` cycles."""

    table: dict
    overflow: bool
    trace: dict | None = None


def reference(items: list[tuple[int, int]], cfg: HashUnitConfig) -> tuple[dict, int]:
    """(table, dropped items): the first ``slots`` distinct keys kept, each with its wrapped sum."""
    kept = list(dict.fromkeys(k for k, _ in items))[: cfg.slots]
    table = {k: wrap_signed(sum(v for kk, v in items if kk == k), cfg.value_bits) for k in kept}
    return table, sum(1 for k, _ in items if k not in table)


class HashUnitLevelTests:
    """The suite; a subclass implements :meth:`observe` for its level."""

    def observe(self, cfg_name: str, seed: int, s: dict, runner) -> Observed:
        raise NotImplementedError

    @pytest.fixture
    def runner(self):
        return None

    @pytest.mark.parametrize("cfg_name", list(CONFIGS))
    @pytest.mark.parametrize("seed", [0, 1])
    @pytest.mark.parametrize("tag", TAGS)
    def test_stream(self, cfg_name, seed, tag, runner):
        cfg = CONFIGS[cfg_name]
        s = next(x for x in streams(cfg, seed) if x["tag"] == tag)
        got = self.observe(cfg_name, seed, s, runner)
        kmask = (1 << cfg.key_bits) - 1
        table, dropped = reference([(k & kmask, v) for k, v, _ in s["items"]], cfg)
        assert got.table == table
        assert got.overflow == (dropped > 0)
        if tag == "full_table":
            assert dropped > 0 and len(table) == cfg.slots
        if got.trace is not None:
            tr = got.trace
            acc = [c for c, _, _ in tr["accepted"]]
            out = [c for c, _, _ in tr["drained"]]
            assert [(k, v) for _, k, v in tr["accepted"]] == [(k & kmask, v) for k, v, _ in s["items"]]
            assert acc == sorted(set(acc)) and out == sorted(set(out))
            assert not acc or not out or out[0] > acc[-1]
            assert tr["done"] > max(out + acc, default=-1)

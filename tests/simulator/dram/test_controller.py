"""The per-request DRAM controller: engine = independent twin on random traces, every command
stream legal, the broken-controller test, and the textbook latencies."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.common.errors import SparsimInputError
from simulator.dram.checker import check
from simulator.dram.cl import DramState
from simulator.dram.config import DramConfig, load_dram
from simulator.dram.twin import run_twin

#: a small device: few banks and short rows so that conflicts, tFAW and refresh all happen
SMALL = DramConfig(name="small", channels=2, ranks=2, bankgroups=2, banks=2, rows=64, row_bytes=256, burst_bytes=32,
                   rfc=40, refi=400, queue_depth=8)  # fmt: skip


def _trace(rng, cfg, n, span_rows, gap):
    lines = cfg.capacity_bytes // cfg.burst_bytes
    hot = rng.integers(0, max(1, min(lines, span_rows * cfg.columns)), n)
    addr = (hot if rng.random() < 0.5 else rng.integers(0, lines, n)) * cfg.burst_bytes
    arrive = np.cumsum(rng.integers(0, gap + 1, n))
    return arrive, addr.astype(np.int64), rng.random(n) < 0.3


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 120), gap=st.sampled_from([0, 3, 40]),
       policy=st.sampled_from(["open", "close"]), depth=st.sampled_from([1, 4, 8]),
       amap=st.sampled_from(["ro-ra-ba-co-bg-ch", "ch-ro-bg-ba-ra-co", "co-ch-ra-bg-ba-ro", "RoBaRaCoCh",
                             "ChRaBaRoCo"]), rcd_wr=st.sampled_from([None, 9, 30]),
       wdepth=st.sampled_from([None, 1, 3, 8]), marks=st.sampled_from([(0.8, 0.2), (0.5, 0.5), (1.0, 0.0), (0.3, 0.1)]),
       cap=st.sampled_from([0, 0, 25]), pc=st.sampled_from([1, 2]), dual=st.booleans(), actc=st.sampled_from([1, 2]),
       repeats=st.booleans())  # fmt: skip
def test_engine_equals_twin_and_is_legal(seed, n, gap, policy, depth, amap, rcd_wr, wdepth, marks, cap, pc, dual, actc,
                                         repeats):  # fmt: skip
    """Every controller option: read/write queue sizes, drain watermarks, the read-bypass cap,
    pseudo channels on one command bus, a dual command bus, two-cycle ACTs; ``repeats`` reuses
    addresses so that reads are forwarded from queued writes and writes coalesce."""
    rng = np.random.default_rng(seed)
    cfg = dataclasses.replace(SMALL, page_policy=policy, queue_depth=depth, address_map=amap, rcd_wr=rcd_wr,
                              write_queue_depth=wdepth, write_high=marks[0], write_low=marks[1], read_bypass_cap=cap,
                              pseudo_channels=pc, dual_command_bus=dual, act_cycles=actc)  # fmt: skip
    arrive, addr, wr = _trace(rng, cfg, n, 4, gap)
    if repeats:
        addr = addr[rng.integers(0, max(1, n // 3), n)]
    done, log = DramState(cfg).run(arrive, addr, wr, log=True)
    done_py, log_py = run_twin(cfg, arrive, addr, wr)
    assert np.array_equal(done, done_py)
    order = np.lexsort((log[:, 0], log[:, 1]))
    order_py = np.lexsort((log_py[:, 0], log_py[:, 1]))
    assert np.array_equal(log[order], log_py[order_py])
    assert check(cfg, log) == []
    assert np.all(done >= arrive)
    # one column command per request that reached the DRAM; the others were forwarded or coalesced
    assert np.isin(log[:, 2], (2, 3)).sum() <= n
    if np.unique(addr // cfg.burst_bytes).size == n:
        assert np.isin(log[:, 2], (2, 3)).sum() == n
        assert np.all(done >= arrive + min(cfg.cl, cfg.cwl) + cfg.bl)


def test_refresh_happens_and_is_checked():
    cfg = SMALL
    n = 600
    arrive = np.arange(n, dtype=np.int64) * 10
    addr = (np.arange(n) * 7919 % (cfg.capacity_bytes // cfg.burst_bytes)) * cfg.burst_bytes
    done, log = DramState(cfg).run(arrive, addr, np.zeros(n, bool), log=True)
    refs = log[log[:, 2] == 4]
    assert len(refs) >= cfg.channels * cfg.ranks * (int(done.max()) // cfg.refi - 1)
    assert check(cfg, log) == []


@pytest.mark.parametrize(
    "cheat,rule",
    [({"rcd": 5}, "tRCD"), ({"rp": 3}, "tRP"), ({"faw": 4, "rrd_s": 1, "rrd_l": 1}, "tFAW"),
     ({"ccd_l": 4, "ccd_s": 4}, "tCCD_L"), ({"ras": 10, "rc": 30}, "tRAS"), ({"refi": 100_000}, "tREFI"),
     ({"rfc": 5}, "tRFC"), ({"wtr_l": 1, "wtr_s": 1}, "tWTR_L"), ({"rcd_wr": 5}, "tRCD")],
)  # fmt: skip
def test_a_broken_controller_is_caught(cheat, rule):
    """The controller schedules with shorter timings than the device has; the checker, given
    the device's real timings, names the broken rule."""
    cfg = DramConfig(name="dev", channels=1, ranks=1, bankgroups=2, banks=4, rows=64, row_bytes=256, burst_bytes=32,
                     cl=10, cwl=8, rcd=12, rp=12, ras=28, rc=40, wr=10, rtp=6, ccd_s=4, ccd_l=8, rrd_s=4, rrd_l=6,
                     faw=30, wtr_s=3, wtr_l=6, bl=4, rfc=60, refi=2000, queue_depth=16)  # fmt: skip
    rng = np.random.default_rng(3)
    n = 3000
    lines = cfg.capacity_bytes // cfg.burst_bytes
    addr = rng.integers(0, lines, n) * cfg.burst_bytes
    arrive = np.cumsum(rng.integers(0, 3, n))
    wr = rng.random(n) < 0.4
    _, log = DramState(cfg).run(arrive, addr, wr, log=True)
    assert check(cfg, log) == []
    broken = dataclasses.replace(cfg, **cheat)
    _, log_b = DramState(broken).run(arrive, addr, wr, log=True)
    found = check(cfg, log_b, limit=10_000)
    assert any(v.startswith(rule + ":") for v in found), found[:5]


@pytest.mark.parametrize(
    "cheat,rule",
    [({"pseudo_channels": 1}, "command bus"), ({"act_cycles": 1}, "command bus"),
     ({"dual_command_bus": True}, "command bus")],
)  # fmt: skip
def test_a_broken_pseudo_channel_controller_is_caught(cheat, rule):
    """HBM's two pseudo channels share a command bus on which an ACT takes two cycles: a
    controller that drives each pseudo channel on its own bus, lets an ACT take one cycle, or
    issues row and column commands together on a device with one bus breaks the bus rule."""
    dev = DramConfig(name="hbm-like", channels=2, ranks=1, bankgroups=2, banks=4, rows=64, row_bytes=256,
                     burst_bytes=32, cl=10, cwl=4, rcd=10, rp=10, ras=24, rc=34, wr=12, rtp=4, ccd_s=2, ccd_l=4,
                     rrd_s=2, rrd_l=2, faw=8, wtr_s=4, wtr_l=6, bl=2, rfc=60, refi=2000, pseudo_channels=2,
                     dual_command_bus=not cheat.get("dual_command_bus", False), act_cycles=2)  # fmt: skip
    rng = np.random.default_rng(5)
    n = 2000
    addr = rng.integers(0, dev.capacity_bytes // dev.burst_bytes, n) * dev.burst_bytes
    arrive = np.zeros(n, dtype=np.int64)
    wr = rng.random(n) < 0.3
    _, log = DramState(dev).run(arrive, addr, wr, log=True)
    assert check(dev, log) == []
    _, log_b = DramState(dataclasses.replace(dev, **cheat)).run(arrive, addr, wr, log=True)
    found = check(dev, log_b, limit=10_000)
    assert any(v.startswith(rule + ":") for v in found), found[:5]


def test_a_write_drain_that_skips_the_turnaround_is_caught():
    """A drain switches the bus from reads to writes; a controller that does so sooner than
    CL + BL + 2 - CWL after the last read (here: it believes CWL is larger) is caught."""
    dev = load_dram("ddr4-3200")
    n = 3000
    addr = np.arange(n, dtype=np.int64) * dev.burst_bytes
    wr = np.arange(n) % 3 == 2
    arrive = np.zeros(n, dtype=np.int64)
    _, log = DramState(dev).run(arrive, addr, wr, log=True)
    assert check(dev, log) == []
    _, log_b = DramState(dataclasses.replace(dev, cwl=dev.cwl + 6)).run(arrive, addr, wr, log=True)
    assert any(v.startswith("read-to-write:") for v in check(dev, log_b, limit=10_000))


def test_write_draining_follows_the_watermarks():
    """Writes wait while reads flow until the write queue holds more than write_high x its size;
    then the controller drains them to below write_low x its size: with 0.8/0.2 of 32 entries each
    drain is 26 - 6 = 20 writes, so a 2:1 read/write stream turns the bus around once per drain
    (plus the start and the end), about 6x less often than alternating every third request."""
    cfg = load_dram("ddr4-3200")
    n = 6000
    addr = np.arange(n, dtype=np.int64) * cfg.burst_bytes
    wr = np.arange(n) % 3 == 2
    _, log = DramState(cfg).run(np.zeros(n, dtype=np.int64), addr, wr, log=True)
    col = log[np.isin(log[:, 2], (2, 3)), 2]
    runs = np.diff(np.flatnonzero(np.r_[True, col[1:] != col[:-1], True]))
    write_runs = runs[(col[np.r_[0, np.cumsum(runs)[:-1]]] == 3)]
    assert np.median(write_runs) == 20
    switches = int((col[1:] != col[:-1]).sum())
    assert switches <= 2 * (wr.sum() // 20) + 4


def test_forwarding_and_coalescing_answer_from_the_write_queue():
    """A read of an address a queued write holds is answered the next cycle without a DRAM
    access; a second write to it replaces the queued one (Ramulator's forwarding and coalescing)."""
    cfg = load_dram("ddr4-3200")
    # a read elsewhere keeps the controller in read mode, so the write to 0 waits in its queue
    addr = np.array([1 << 20, 0, 0, 0, 64], dtype=np.int64)
    wr = np.array([False, True, False, True, False])
    arrive = np.array([0, 0, 3, 5, 6], dtype=np.int64)
    done, log = DramState(cfg).run(arrive, addr, wr, log=True)
    assert done[2] == 4 and done[3] == 5
    assert (log[:, 2] == 3).sum() == 1 and (log[:, 2] == 2).sum() == 2
    done_py, _ = run_twin(cfg, arrive, addr, wr)
    assert np.array_equal(done, done_py)


def test_the_read_bypass_cap_bounds_how_long_a_drain_passes_a_read_over():
    """Full write queues drain first (one read among many writes); with a cap the read is served
    once it has waited that long, without it only after the drain."""
    cfg = dataclasses.replace(load_dram("ddr4-3200"), write_queue_depth=64)
    n = 200
    addr = np.arange(n, dtype=np.int64) * cfg.burst_bytes * 16 * 129  # writes to many rows: a slow drain
    wr = np.ones(n, dtype=bool)
    wr[60] = False
    arrive = np.zeros(n, dtype=np.int64)
    slow = DramState(cfg).run(arrive, addr, wr)[60]
    capped = DramState(dataclasses.replace(cfg, read_bypass_cap=100)).run(arrive, addr, wr)[60]
    assert capped < slow
    assert capped <= 100 + 2 * (cfg.rp + cfg.rcd + cfg.cl + cfg.bl) + cfg.ras


def test_an_hbm_preset_cut_to_one_channel_keeps_one_controller():
    """A sweep may run HBM2 with ``channels: 1``: one pseudo channel, its controller alone."""
    cfg = load_dram("hbm2", channels=1)
    assert cfg.pseudo_channels == 1 and cfg.dual_command_bus
    done = DramState(cfg).run(np.zeros(4, np.int64), np.arange(4, dtype=np.int64) * 32, np.zeros(4, bool))
    assert done.max() > 0


def test_idle_latencies_are_the_textbook_ones():
    cfg = load_dram("ddr4-3200")
    # closed bank: ACT, tRCD, RD, CL, burst
    d = DramState(cfg).run(np.array([0]), np.array([0]), np.array([False]))
    assert d[0] == cfg.rcd + cfg.cl + cfg.bl
    # row hit after the first: CL + burst from its arrival (well after the first finished)
    st_ = DramState(cfg)
    d = st_.run(np.array([0, 1000]), np.array([0, cfg.burst_bytes * cfg.bankgroups]), np.array([False, False]))
    assert d[1] - 1000 == cfg.cl + cfg.bl
    # row conflict: PRE, tRP, ACT, tRCD, RD, CL, burst (same bank, another row)
    other_row = cfg.row_bytes * cfg.banks_per_channel * cfg.channels
    st_ = DramState(cfg)
    d = st_.run(np.array([0, 1000]), np.array([0, other_row]), np.array([False, False]))
    assert d[1] - 1000 == cfg.rp + cfg.rcd + cfg.cl + cfg.bl


def test_state_carries_over_between_batches():
    cfg = load_dram("ddr4-3200")
    rng = np.random.default_rng(0)
    addr = rng.integers(0, 1 << 20, 400) * 64
    arrive = np.sort(rng.integers(0, 5000, 400))
    whole = DramState(cfg).run(arrive, addr, np.zeros(400, bool))
    s = DramState(cfg)
    first = s.run(arrive[:200], addr[:200], np.zeros(200, bool))
    assert np.array_equal(first, whole[:200]) or first.max() <= whole[:200].max()
    second = s.run(np.maximum(arrive[200:], first.max()), addr[200:], np.zeros(200, bool))
    assert second.min() > first.max() - cfg.cl - cfg.bl


@pytest.mark.parametrize(
    "kwargs,field",
    [({"rows": 1000}, "rows"), ({"page_policy": "lazy"}, "page_policy"), ({"address_map": "ro-ba"}, "address_map"),
     ({"rc": 10}, "rc"), ({"refi": 10}, "refi"), ({"bl": 0}, "bl"), ({"ccd_s": 1}, "ccd_s"),
     ({"write_high": 1.5}, "write_high"), ({"write_low": "x"}, "write_low"), ({"write_low": 0.9}, "write_low"),
     ({"pseudo_channels": 3, "channels": 4}, "pseudo_channels"),
     ({"dual_command_bus": "yes"}, "dual_command_bus"), ({"act_cycles": 0}, "act_cycles"),
     ({"act_cycles": 30}, "act_cycles"), ({"read_bypass_cap": -1}, "read_bypass_cap"),
     ({"write_queue_depth": 0}, "write_queue_depth")],
)  # fmt: skip
def test_config_rejects(kwargs, field):
    with pytest.raises(SparsimInputError, match=field):
        DramConfig(**kwargs)


def test_trace_rejects_decreasing_arrivals():
    with pytest.raises(SparsimInputError, match="non-decreasing"):
        DramState(DramConfig()).run(np.array([5, 3]), np.array([0, 64]), np.array([False, False]))


def _row_hits_by_loop(log: np.ndarray) -> float:
    """The row-hit rate walked command by command (the twin of ``row_hit_rate``'s vector form)."""
    last: dict[tuple, int] = {}
    cols = misses = 0
    for _cyc, ch, c, r, g, b, _row in sorted(map(tuple, log), key=lambda x: (x[1], x[0])):
        if c == 4:  # REF: no bank of its own
            continue
        key = (ch, r, g, b)
        if c in (2, 3):
            cols += 1
            misses += last.get(key) == 0
        last[key] = c
    return 1 - misses / cols if cols else 0.0


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 200), policy=st.sampled_from(["open", "close"]))
def test_row_hit_rate_is_a_share_of_column_commands_even_with_refresh(seed, n, policy):
    """A refresh between a request's ACT and its column command costs it a second ACT: the rate
    counts that request once as a miss, so it stays in [0, 1] (it used to go negative)."""
    from simulator.dram.fl import row_hit_rate

    rng = np.random.default_rng(seed)
    tight = SMALL.rc + SMALL.rcd + SMALL.cwl + SMALL.bl + SMALL.wr + SMALL.rp + 20  # the least refi allowed
    cfg = dataclasses.replace(SMALL, page_policy=policy, refi=tight, rfc=20)  # refreshes everywhere
    arrive, addr, wr = _trace(rng, cfg, n, 2, 40)
    _, log = DramState(cfg).run(arrive, addr, wr, log=True)
    rate = row_hit_rate(log)
    assert 0.0 <= rate <= 1.0 and rate == pytest.approx(_row_hits_by_loop(log), abs=1e-12)
    cols = int(np.isin(log[:, 2], (2, 3)).sum())
    assert cols <= n  # the rest were forwarded from, or coalesced into, queued writes
    if np.unique(addr // cfg.burst_bytes).size == n:
        assert cols == n


def test_a_refresh_interval_with_no_room_for_a_request_is_refused():
    """refi = 60 with rfc = 20 left 40 cycles between refreshes, less than one ACT-write-PRE: the
    controller waited for ever. Timings are bounded to what devices have (no 10^6-cycle rc)."""
    with pytest.raises(SparsimInputError) as err:
        dataclasses.replace(SMALL, refi=60, rfc=20)
    assert err.value.field == "refi" and "room between refreshes" in err.value.allowed
    with pytest.raises(SparsimInputError) as err:
        dataclasses.replace(SMALL, rcd=1_000_000, ras=1_000_000, rc=1_000_000)
    assert err.value.field == "rcd" and "4096" in err.value.allowed


def test_two_reads_of_one_row_are_one_hit():
    from simulator.dram.fl import row_hit_rate

    _, log = DramState(SMALL).run(np.zeros(2, np.int64), np.array([0, 0], np.int64), np.zeros(2, bool), log=True)
    assert row_hit_rate(log) == 0.5


def test_the_command_log_grows_to_what_the_run_needs():
    """Few requests far apart in time need many refreshes each: more commands than the first
    guess of the log's size, so the channel runs again with exactly the room it needs."""
    n = 10
    arrive = np.arange(n, dtype=np.int64) * 50_000
    addr = np.arange(n, dtype=np.int64) * SMALL.burst_bytes
    done, log = DramState(SMALL).run(arrive, addr, np.zeros(n, bool), log=True)
    done_py, log_py = run_twin(SMALL, arrive, addr, np.zeros(n, bool))
    assert len(log) > 4 * n + 64 and np.array_equal(done, done_py)
    assert len(log) == len(log_py) and check(SMALL, log) == []


def test_lpddr4x_against_its_datasheet():
    """Ramulator 2.1 has no LPDDR4 model, so LPDDR4X-4266 is checked against JESD209-4-1 instead:
    the controller's idle latencies are the datasheet's sums (tRCD 18 ns, tRPpb 18 ns, RL 36 and
    BL16 = 8 clocks, at tCK 0.469 ns, each time rounded up to whole clocks), its peak is 4,266 MT/s
    x 16 bits x 4 channels = 34.1 GB/s, and a sequential read stream sustains at least 90% of it."""
    import math

    cfg = load_dram("lpddr4x-4266")
    tck = 0.469
    rcd = rp = math.ceil(18 / tck)
    rl, burst = 36, 16 // 2
    assert (cfg.rcd, cfg.rp, cfg.cl, cfg.bl) == (rcd, rp, rl, burst)
    stride = cfg.burst_bytes * cfg.channels * cfg.bankgroups  # the next column of the same bank (our map)
    closed = DramState(cfg).run(np.array([0]), np.array([0]), np.array([False]))[0]
    hit = DramState(cfg).run(np.array([0, 1000]), np.array([0, stride]), np.array([False, False]))[1] - 1000
    other_row = cfg.row_bytes * cfg.banks_per_channel * cfg.channels
    conflict = DramState(cfg).run(np.array([0, 1000]), np.array([0, other_row]), np.array([False, False]))[1] - 1000
    assert [round(x * tck, 1) for x in (closed, hit, conflict)] == [38.9, 20.6, 57.2]  # ns
    assert cfg.peak_gbps == pytest.approx(4.266 * 2 * 4, rel=2e-3)
    n = 64 * 1024
    addr = np.arange(n, dtype=np.int64) * cfg.burst_bytes
    done = DramState(cfg).run(np.zeros(n, dtype=np.int64), addr, np.zeros(n, dtype=bool))
    sustained = n * cfg.burst_bytes / (done.max() * cfg.tck_ps * 1e-3)  # GB/s
    assert sustained >= 0.9 * cfg.peak_gbps


@pytest.mark.parametrize("preset", ["hbm2", "hbm3"])
def test_hbm_writes_open_rows_sooner_than_reads(preset):
    """HBM's ACT-to-WR delay (tRCDWR, Ramulator 2's nRCDWR) is shorter than ACT-to-RD: a write to a
    closed bank completes tRCDWR + CWL + BL after it arrives, a read tRCDRD + CL + BL."""
    cfg = load_dram(preset)
    assert cfg.rcd_wr is not None and cfg.rcd_write < cfg.rcd
    read = DramState(cfg).run(np.array([0]), np.array([0]), np.array([False]))[0]
    write = DramState(cfg).run(np.array([0]), np.array([0]), np.array([True]))[0]
    # an ACT's timings count from its last command-bus cycle (HBM2's ACT takes two)
    extra = cfg.act_cycles - 1
    assert read == extra + cfg.rcd + cfg.cl + cfg.bl and write == extra + cfg.rcd_write + cfg.cwl + cfg.bl
    assert load_dram("ddr4-3200").rcd_write == load_dram("ddr4-3200").rcd

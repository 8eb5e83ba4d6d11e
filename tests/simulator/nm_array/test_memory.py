"""The memory model: traffic follows reuse, stalls follow bandwidth, double buffering helps."""

from __future__ import annotations

from simulator.nm_array.config import ArrayConfig, Buffers, PEArray
from simulator.nm_array.fold import simulate_layers
from workloads.layers import conv_layer, layer_table

LAYERS = layer_table(
    [
        conv_layer("c1", in_h=56, in_w=56, in_c=64, out_c=64, k_h=3, padding=1),
        conv_layer("c2", in_h=14, in_w=14, in_c=256, out_c=256, k_h=3, padding=1, nm=(2, 4)),
    ]
)
BASE = ArrayConfig(pe=PEArray(rows=32, cols=32), buffers=Buffers(ifmap_kb=512, ofmap_kb=512, filter_kb=64))


def test_unlimited_bandwidth_never_stalls():
    s = simulate_layers(LAYERS, BASE)
    assert (s.stall_cycles == 0).all() and (s.cycles == s.compute_cycles).all()
    assert (s.dram_bw_required > 0).all()


def test_stalls_shrink_as_bandwidth_grows():
    stalls = [
        int(simulate_layers(LAYERS, BASE.replace({"memory.bw_bytes_per_cycle": bw})).stall_cycles.sum())
        for bw in (1, 4, 16, 64, 1024)
    ]
    assert stalls[0] > 0
    assert stalls == sorted(stalls, reverse=True)
    assert stalls[-1] == 0


def test_filter_traffic_includes_nm_metadata():
    s = simulate_layers(LAYERS, BASE)
    assert s.loc[0, "dram_filter_bytes"] == 64 * 9 * 64  # dense int8
    kc = 256 * 9 // 2
    assert s.loc[1, "dram_filter_bytes"] == kc * 256 * 10 // 8  # 8-bit value + 2-bit index


def test_small_ifmap_buffer_refetches_per_column_fold():
    big = simulate_layers(LAYERS, BASE)
    small = simulate_layers(LAYERS, BASE.replace({"buffers.ifmap_kb": 8}))
    assert big.loc[0, "dram_ifmap_bytes"] == 56 * 56 * 64
    assert small.loc[0, "dram_ifmap_bytes"] == 2 * 56 * 56 * 64  # two column folds


def test_double_buffering_saves_weight_load_time():
    single = simulate_layers(LAYERS, BASE)
    double = simulate_layers(LAYERS, BASE.replace({"pe.weight_double_buffer": True}))
    assert (double.compute_cycles < single.compute_cycles).all()
    assert (double.macs == single.macs).all()


def test_dram_bound_share_follows_the_bandwidth():
    """The share of cycles in memory-bound layers: none on an unlimited memory, all of them on a
    1 B/cycle channel (these convolutions need far more), and counted in cycles, not layers."""
    import pandas as pd

    from simulator.nm_array.block import dram_bound_share

    assert dram_bound_share(simulate_layers(LAYERS, BASE)) == 0.0
    slow = simulate_layers(LAYERS, BASE.replace({"memory.bw_bytes_per_cycle": 1}))
    assert (slow.stall_cycles >= slow.compute_cycles).all()
    assert dram_bound_share(slow) == 1.0
    mixed = pd.DataFrame({"cycles": [300, 100], "compute_cycles": [100, 100], "stall_cycles": [200, 0]})
    assert dram_bound_share(mixed) == 0.75
    assert dram_bound_share(mixed.iloc[:0]) == 0.0

"""``sparsim dram``: the DRAM model on its own. ``replay`` runs a Ramulator2 memory trace
(``LD/ST ADDRESS`` lines) through the per-request controller and proves the command stream legal;
``trace`` writes the array's DRAM request stream of every layer in that format (the hand-off to
Ramulator for a cross-check)."""

from __future__ import annotations

import argparse

__all__ = ["add_parser"]


def add_parser(sub) -> None:
    d = sub.add_parser("dram", help="replay a DRAM trace, or write the array's DRAM traces (Ramulator2 format)")
    dsub = d.add_subparsers(dest="dram_command", required=True, metavar="{replay,trace}")
    r = dsub.add_parser("replay", help="run a LoadStoreTrace file through the per-request controller")
    r.add_argument("--trace", required=True, help="trace file: one 'LD ADDRESS' or 'ST ADDRESS' per line")
    r.add_argument("--dram", default="ddr4-3200", help="preset (ddr4-3200, lpddr4x-4266, hbm2) or DRAM YAML")
    r.add_argument("--channels", default=None, help="override the preset's channel count")
    r.add_argument("--page-policy", default=None, choices=("open", "close"), help="override the page policy")
    r.add_argument("--out", required=True, help="output directory (replaced only if sparsim wrote it)")
    r.set_defaults(func=run_replay)
    t = dsub.add_parser("trace", help="write the array's DRAM request stream per layer")
    t.add_argument("--arch", required=True, help="array config YAML whose memory is a DRAM preset or file")
    t.add_argument("--workload", required=True, help="topology CSV, layer table or zoo:NAME")
    t.add_argument("--out", required=True, help="output directory (replaced only if sparsim wrote it)")
    t.set_defaults(func=run_trace)


def run_replay(args: argparse.Namespace) -> int:
    import json

    import pandas as pd

    from simulator.api import replay_dram
    from simulator.common.outputs import atomic_output_dir, check_output_dir
    from simulator.common.validate import parse_int
    from simulator.dram.fl import CMD_NAMES, row_hit_rate
    from workloads.dram_trace import read_loadstore

    check_output_dir(args.out, "dram")
    over = {}
    if args.channels is not None:
        over["channels"] = parse_int(args.channels, "--channels", "channels", 1, 64)
    if args.page_policy is not None:
        over["page_policy"] = args.page_policy
    addr, wr = read_loadstore(args.trace)
    res = replay_dram(addr, wr, dram=args.dram, log=True, **over)
    cfg, log, bad = res.attrs["dram"], res.attrs["commands"], res.attrs["timing_violations"]
    addr, done = res["address"].to_numpy(), res["done_cycle"].to_numpy()
    cycles = int(done.max())
    counts = {name: int((log[:, 2] == i).sum()) for i, name in enumerate(CMD_NAMES)}
    summary = {
        "dram": cfg.name,
        "requests": int(addr.size),
        "cycles": cycles,
        "seconds": cycles * cfg.tck_ps * 1e-12,
        "bandwidth_gbps": addr.size * cfg.burst_bytes / (cycles * cfg.tck_ps / 1000),
        "peak_gbps": cfg.peak_gbps,
        "row_hit_rate": row_hit_rate(log),
        "commands": counts,
        "timing_violations": bad,
    }
    with atomic_output_dir(args.out, "dram") as tmp:
        pd.DataFrame({"address": addr, "write": wr, "done_cycle": done}).to_csv(tmp / "requests.csv", index=False)
        pd.DataFrame(log, columns=["cycle", "channel", "command", "rank", "bank_group", "bank", "row"]).assign(
            command=lambda d: d.command.map(dict(enumerate(CMD_NAMES)))
        ).to_csv(tmp / "commands.csv", index=False)
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"{addr.size:,} requests on {cfg.name}: {cycles:,} cycles, {summary['bandwidth_gbps']:.2f} GB/s "
          f"(peak {cfg.peak_gbps:.2f}), row hits {summary['row_hit_rate']:.1%}, "
          f"{bad} timing violations; wrote {args.out}/summary.json")  # fmt: skip
    return 0 if not bad else 1


def run_trace(args: argparse.Namespace) -> int:
    import pandas as pd

    from dataflow.nm_array.mapping import Mapping
    from simulator.common.errors import SparsimInputError
    from simulator.common.outputs import atomic_output_dir, check_output_dir
    from simulator.nm_array.config import load_arch
    from simulator.nm_array.dram_memory import layer_requests
    from simulator.nm_array.fold import layer_schedule
    from simulator.nm_array.memory import step_traffic
    from workloads.dram_trace import format_loadstore
    from workloads.io import load_workload
    from workloads.lowering import lower_to_gemms

    check_output_dir(args.out, "dram")
    cfg = load_arch(args.arch)
    if not cfg.memory.is_dram:
        raise SparsimInputError(args.arch, "memory.dram", None, "a DRAM preset or DRAM YAML (the trace needs its map)")
    dram = cfg.memory.dram_config()
    gemms = lower_to_gemms(load_workload(args.workload))
    rows = []
    with atomic_output_dir(args.out, "dram") as tmp:
        for i, r in enumerate(gemms.itertuples(index=False)):
            _, tiling, sched, _, m, _ = layer_schedule(r, cfg, Mapping(cfg.pe.dataflow))
            tr = step_traffic(sched, cfg, tiling, ifmap_elems=int(r.ifmap_elems), nm_m=m)
            addr, wr, batch = layer_requests(tr, dram)
            name = f"{i:03d}.trace"
            (tmp / name).write_bytes(format_loadstore(addr, wr))
            rows.append({"layer": r.layer, "name": r.name, "file": name, "requests": int(addr.size),
                         "reads": int((~wr).sum()), "writes": int(wr.sum()),
                         "batches": int(batch.max()) + 1})  # fmt: skip
        pd.DataFrame(rows).to_csv(tmp / "layers.csv", index=False)
    total = sum(r["requests"] for r in rows)
    print(f"wrote {len(rows)} Ramulator2 LoadStoreTrace files to {args.out} ({total:,} requests)")
    return 0

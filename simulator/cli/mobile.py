"""``sparsim mobile``: prune a mobile CNN for an engine, predict every layer's latency on the
modelled core beside the dense engine's, and optionally time the real host kernels (block
``mobile``)."""

from __future__ import annotations

import argparse

from simulator.cli._args import add_work_options

__all__ = ["add_parser"]


def add_parser(sub) -> None:
    mb = sub.add_parser("mobile", help="prune a mobile CNN and predict its latency on a modelled phone core")
    mb.add_argument(
        "--model", required=True, help="mobilenet_v1, mobilenet_v2, mobilenet_v3_large, mobilenet_v3_small, "
        "ppocr_det, ppocr_rec, ppocr_cls (also zoo:NAME) "
        "or FILE.onnx",
    )  # fmt: skip
    mb.add_argument(
        "--engine", "--pattern", dest="engine", required=True,
        help="dense, unstructured (XNNPACK), block4 (MNN 1x4), group (ours); the engine implies its pattern",
    )  # fmt: skip
    mb.add_argument("--sparsity", default=None, help="fraction of pruned weights in the pruned layers, in [0, 1)")
    mb.add_argument(
        "--scope", default=None, choices=("layer", "network"), help="prune each layer (default) or one threshold"
    )
    mb.add_argument(
        "--channel-padding",
        default=None,
        choices=("zero", "none"),
        help="Cout not a multiple of the group size 4: pad with zero channels (zero) or refuse (none)",
    )
    mb.add_argument(
        "--core", default=None,
        help="core preset (a76 = Snapdragon 855 prime, default; a75; a73; a55) or a core YAML (CoreConfig keys)",
    )  # fmt: skip
    mb.add_argument("--input", default=None, help="input C,H,W (default: the model's own)")
    mb.add_argument(
        "--elementwise", action="store_true",
        help="zoo models: also trace and time the element-wise operators an engine runs as passes of their own "
        "(hard-swish, residual add, squeeze-excite scale, global pooling)",
    )  # fmt: skip
    mb.add_argument("--measure-host", action="store_true", help="also run the host kernels and time them")
    mb.add_argument("--out", required=True, help="output directory (replaced only if sparsim wrote it)")
    add_work_options(mb)
    mb.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from simulator.api import simulate
    from simulator.cli._args import as_options
    from simulator.common.errors import SparsimInputError
    from simulator.common.outputs import check_output_dir
    from simulator.common.validate import parse_number
    from simulator.mobile.block import MobileModel, mobile_summary, parse_input_shape
    from simulator.mobile.config import load_core
    from workloads.mobile_models import ELTWISE_OPS, resolve_model_name

    check_output_dir(args.out, "mobile")
    if args.sparsity is None:
        sparsity = 0.0
    else:
        sparsity = parse_number(args.sparsity, "--sparsity", "sparsity", 0, 1)
        if sparsity >= 1:
            raise SparsimInputError("--sparsity", "sparsity", sparsity, "a number in [0, 1)")
        if args.engine == "dense" and sparsity > 0:
            raise SparsimInputError("--sparsity", "sparsity", sparsity, "0 with --engine dense (it prunes nothing)")
    if args.engine == "dense":
        for opt, value in (("--scope", args.scope), ("--channel-padding", args.channel_padding)):
            if value is not None:
                raise SparsimInputError(opt, opt.lstrip("-").replace("-", "_"), value, "only for an engine that prunes")
    params = {"engine": args.engine, "sparsity": sparsity, "scope": args.scope or "layer",
              "channel_padding": args.channel_padding or "zero", "elementwise": args.elementwise}  # fmt: skip
    core = load_core(args.core)
    model = MobileModel(resolve_model_name(args.model), parse_input_shape(args.input))
    with as_options():
        result = simulate(model, core, block="mobile", compare_dense=True, measure_host=args.measure_host, **params)
    table, s = result.table, mobile_summary(result)
    result.to_dir(args.out)
    n_ew = int(table["op"].isin(ELTWISE_OPS).sum())
    kinds = "weight layers" if not n_ew else f"layers ({s['layers'] - n_ew} weight, {n_ew} element-wise)"
    print(
        f"{s['model']}: {s['layers']} {kinds}, {s['macs'] / 1e6:.1f} M MACs; engine {s['engine']} at "
        f"{sparsity:.0%} on {s['pruned_layers']} layers ({s['kept_macs'] / 1e6:.1f} M MACs kept)"
    )
    print(
        f"modelled core ({core.clock_ghz:g} GHz): {s['core_seconds'] * 1e3:.2f} ms, dense "
        f"{s['dense_core_seconds'] * 1e3:.2f} ms, "
        f"speed-up {s['speedup_vs_dense']:.2f}x"
    )
    if "kept_after" in s:
        print(f"rearrangement: kept magnitude {s['kept_before']:.3f} -> {s['kept_after']:.3f}")
    elif "rearrange_note" in s:
        print(f"rearrangement: {s['rearrange_note']}")
    if args.measure_host:
        print(
            f"host ({s['host_layers_measured']} layers measured): {s['host_seconds'] * 1e3:.2f} ms, dense "
            f"{s['host_dense_seconds'] * 1e3:.2f} ms, speed-up {s['host_speedup_vs_dense']:.2f}x"
        )
    print(f"wrote {args.out}/layers.csv, layers.parquet, summary.json")
    return 0

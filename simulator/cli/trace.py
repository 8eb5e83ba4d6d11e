"""``sparsim trace``: a zoo model or an ONNX file into a layer table."""

from __future__ import annotations

import argparse

from simulator.cli._args import dim_arg, int_arg, positive_int, shape_arg

__all__ = ["add_parser"]


def add_parser(sub) -> None:
    t = sub.add_parser("trace", help="trace a zoo model or an ONNX file into a layer table")
    t.add_argument(
        "model",
        help="zoo name (resnet18, resnet50, vgg16, mobilenet_v1, mobilenet_v2, bert_base, "
        "minilm_l6, vit_b16, gpt2_small; also zoo:NAME) or FILE.onnx",
    )
    t.add_argument("--batch", type=positive_int, default=None,
                   help="batch size (zoo models: default 1; ONNX: binds a symbolic first input dimension)")
    t.add_argument("--seq-len", type=int_arg(1, 1 << 16), default=None,
                   help="sequence length of text models (ONNX: binds a symbolic dimension named *seq*)")
    t.add_argument("--dim", type=dim_arg, action="append", default=[], metavar="NAME=VALUE",
                   help="ONNX: bind the symbolic dimension NAME (repeatable)")
    t.add_argument("--input-shape", type=shape_arg, action="append", default=[], metavar="[INPUT=]D0,D1,...",
                   help="ONNX: an input's whole shape (no INPUT: the only input; C,H,W takes the batch first)")
    t.add_argument("--scalesim", action="store_true", help="write SCALE-Sim's topology format instead")
    t.add_argument(
        "--allow-unsupported",
        action="store_true",
        help="list weight layers that cannot be lowered (Conv3d, ConvTranspose...) and go on",
    )
    t.add_argument("--out", required=True, help="FILE.csv or FILE.parquet")
    t.add_argument("--force", action="store_true", help="replace an existing --out file")
    t.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from simulator.common.errors import SparsimInputError
    from simulator.common.outputs import check_output_file
    from workloads.lowering import lower_to_gemms

    out = check_output_file(args.out, suffixes=(".csv", ".parquet"), force=args.force)
    model = args.model[4:] if args.model.startswith("zoo:") else args.model
    if model.lower().endswith(".onnx"):
        from workloads.trace_onnx import trace_onnx

        dims = dict(args.dim)
        if len(dims) != len(args.dim):
            raise SparsimInputError("--dim", "name", [d for d, _ in args.dim], "each dimension once")
        shapes = dict(args.input_shape)
        if len(shapes) != len(args.input_shape):
            raise SparsimInputError("--input-shape", "input", [n for n, _ in args.input_shape], "each input once")
        trace = trace_onnx(model, batch=args.batch, seq_len=args.seq_len, dims=dims, input_shapes=shapes)
    else:
        for opt, value in (("--dim", args.dim), ("--input-shape", args.input_shape)):
            if value:
                raise SparsimInputError(opt, opt.lstrip("-"), value[0], "only for ONNX files")
        from workloads.zoo import DEFAULT_SEQ_LEN, TEXT_MODELS, check_zoo_name, trace_zoo

        check_zoo_name(model)
        if args.seq_len is not None and model not in TEXT_MODELS:
            raise SparsimInputError(
                "--seq-len", "seq_len", args.seq_len, f"only for the text models: {', '.join(TEXT_MODELS)}"
            )
        trace = trace_zoo(model, batch=args.batch or 1, seq_len=args.seq_len or DEFAULT_SEQ_LEN)
    if not args.allow_unsupported:
        trace.check(model)
    layers = trace.layers
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        if args.scalesim:
            from workloads.scalesim_topology import write_scalesim_topology

            write_scalesim_topology(layers, tmp)
        elif out.suffix.lower() == ".parquet":
            layers.to_parquet(tmp, index=False)
        else:
            layers.to_csv(tmp, index=False)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    g = lower_to_gemms(layers)
    ops = ", ".join(f"{k} {v}" for k, v in layers.op.value_counts().items())
    print(f"{model}: {len(layers)} layers ({ops}), {g.dense_macs.sum() / 1e9:.3f} GMAC")
    print(f"not lowered (listed, not simulated): {trace.unsupported_summary()}")
    print(f"wrote {out}")
    return 0

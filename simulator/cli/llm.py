"""``sparsim llm``: a decoder-only transformer served on the N:M array or a system of arrays:
prefill, then every decode step with its KV cache, with serving metrics and each step's physical
bound (block ``llm``)."""

from __future__ import annotations

import argparse

from simulator.cli._args import add_work_options, int_arg, nm_arg

__all__ = ["add_parser"]


def add_parser(sub) -> None:
    p = sub.add_parser("llm", help="serve an LLM (prefill and decode with a KV cache) on the N:M array",
                       description="Simulate LLM inference in phases: the prefill of BATCH prompts of PROMPT "
                       "tokens, then GENERATE - 1 decode steps, on an array config (one array or a system).",
                       )  # fmt: skip
    p.add_argument("--model", required=True,
                   help="zoo:NAME (llama3_8b, llama3_70b, llama2_7b, mistral_7b, qwen2_5_7b, gpt2) or a Hugging "
                   "Face config.json (llama, mistral, qwen2, gemma, gpt2, opt, phi families)")  # fmt: skip
    p.add_argument("--arch", required=True, help="array config: ARCH.yaml, a preset or a SCALE-Sim .cfg")
    p.add_argument("--batch", type=int_arg(1, 1 << 16), default=1, help="sequences served at once (default 1)")
    p.add_argument("--prompt", type=int_arg(1, 1 << 22), default=128, help="prompt tokens (default 128)")
    p.add_argument("--generate", type=int_arg(1, 1 << 22), default=1,
                   help="tokens generated per sequence, the first by the prefill (default 1)")  # fmt: skip
    p.add_argument("--nm", type=nm_arg, default=None, help="N:M on every weight linear (e.g. 2:4; default dense)")
    p.add_argument("--attention-nm", type=nm_arg, default=None,
                   help="N:M on the attention products' K and V, a pruned KV cache (default dense)")  # fmt: skip
    p.add_argument("--attention-block", type=int_arg(1, 1 << 16), default=128,
                   help="the causal prefill's attention tile, tokens (default 128)")  # fmt: skip
    p.add_argument("--mapping", default="plain", choices=("plain", "auto", "ws", "os", "is"),
                   help="plain (the config's dataflow), auto (the mapper per GEMM) or one dataflow")  # fmt: skip
    p.add_argument("--objective", default=None, choices=("cycles", "energy", "edp", "dram_bytes"),
                   help="what --mapping auto minimises (default cycles)")  # fmt: skip
    p.add_argument("--training", default="none", choices=("none", "bdwp", "forward-only", "transposable", "dense"),
                   help="a causal-LM training step (FF, BP and WU at --prompt tokens per sequence) under this N:M "
                   "scheme, through the SAT block, instead of serving")  # fmt: skip
    p.add_argument("--out", required=True, help="output directory (replaced only if sparsim wrote it)")
    add_work_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from simulator.api import simulate
    from simulator.cli._args import as_options
    from simulator.common.errors import SparsimInputError, input_context
    from simulator.common.outputs import check_output_dir
    from simulator.nm_array.config import load_arch
    from workloads.llm.model import load_llm

    check_output_dir(args.out, "llm")
    if args.objective is not None and args.mapping != "auto":
        raise SparsimInputError("--objective", "objective", args.objective, "only with --mapping auto")
    cfg = load_arch(args.arch)
    model = load_llm(args.model)
    nm, att = (None if v is None else f"{v[0]}:{v[1]}" for v in (args.nm, args.attention_nm))
    if args.training != "none":
        if att is not None:
            raise SparsimInputError("--attention-nm", "attention_nm", att, "only for a serving run (a training "
                                    "step's attention follows its --training scheme)")  # fmt: skip
        return _training(args, model, cfg, nm)
    params = dict(batch=args.batch, prompt=args.prompt, generate=args.generate, nm=nm, attention_nm=att,
                  attention_block=args.attention_block)  # fmt: skip
    with as_options(), input_context(str(args.model)):
        result = simulate(model, cfg, block="llm", mapping=args.mapping, objective=args.objective, **params)
    result.to_dir(args.out)
    print(summary(result))
    extra = ", arrays.csv" if result.arrays is not None else ""
    print(f"wrote {args.out}/steps.csv, steps.parquet, layers.csv, layers.parquet{extra}, model.json, totals.json")
    return 0


def _training(args: argparse.Namespace, model, cfg, nm: str | None) -> int:
    """One training step of the model at batch x prompt tokens (block ``sat``)."""
    from simulator.api import simulate
    from simulator.cli._args import as_options
    from simulator.common.errors import SparsimInputError, input_context
    from workloads.llm.phases import training_step

    if args.generate != 1:
        raise SparsimInputError("--generate", "generate", args.generate, "1 (the default) with --training: a "
                                "training step generates nothing")  # fmt: skip
    if args.training == "dense" and nm is not None:
        raise SparsimInputError("--nm", "nm", nm, "only with a sparse training scheme (bdwp, forward-only, "
                                "transposable)")  # fmt: skip
    table = training_step(model, args.batch, args.prompt, args.attention_block)
    kw = {"nm": nm} if nm is not None else {}
    with as_options(), input_context(str(args.model)):
        result = simulate(table, cfg, training=args.training, mapping=args.mapping, objective=args.objective, **kw)
    result.to_dir(args.out, "llm")
    t = result.totals
    print(f"{model.name}: one training step ({args.training}) at batch {args.batch} x {args.prompt:,} tokens: "
          f"{t['cycles']:,} cycles ({t['seconds'] * 1e3:.3f} ms): FF {t['cycles_ff']:,}, BP {t['cycles_bp']:,}, "
          f"WU {t['cycles_wu']:,}; {t['energy_pj'] / 1e9:.3f} mJ")  # fmt: skip
    print(f"wrote {args.out}/passes.csv, passes.parquet, workload.csv")
    return 0


def summary(result) -> str:
    """What a serving run came to: the model and memory, the serving metrics, the bounds, and the
    operators that take the time in each phase."""
    t, info, model = result.totals, result.info, result.workload
    p = result.params
    cap = info["capacity_bytes"]
    fit = f" of the memory's {cap / 1e9:.2f} GB" if cap else " (the simple channel states no capacity)"
    nm = p["nm"] or "dense"
    lines = [
        f"{model.name}: {info['parameters'] / 1e9:.3g} B parameters, {model.layers} layers, {model.heads} heads "
        f"({model.kv_heads} KV), weights {nm} {t['weight_bytes'] / 1e9:.2f} GB + KV cache "
        f"{'' if p.get('attention_nm') is None else p['attention_nm'] + ' '}"
        f"{t['kv_cache_bytes'] / 1e9:.3f} GB{fit}",
        f"batch {p['batch']}, prompt {p['prompt']:,}, generate {p['generate']:,}: TTFT {t['ttft_s'] * 1e3:.3f} ms, "
        f"TPOT {t['tpot_s'] * 1e3:.3f} ms, {t['tokens_per_s']:,.1f} tokens/s ({t['decode_tokens_per_s']:,.1f} in "
        f"decode), {t['energy_per_token_j'] * 1e3:.3f} mJ/token",
        f"against the physical bound: prefill {t['prefill_bound_ratio']:.2f}x"
        + (f", decode {t['decode_bound_ratio']:.2f}x" if p["generate"] > 1 else "")
        + f"; {t['memory_bound_share']:.0%} of the time in memory-bound steps",
    ]  # fmt: skip
    if result.config.is_system:
        lines.append(f"{result.config.system.arrays} arrays: prefill [{info['prefill_partition']}]"
                     + (f", decode [{info['decode_partition']}]" if "decode_partition" in info else ""))  # fmt: skip
    layers = info["layers"]
    for phase, g in layers.groupby("phase", sort=False):
        top = g.sort_values("cycles", ascending=False).head(5)
        parts = ", ".join(f"{r.name} {r.share:.0%} ({r.bound})" for r in top.itertuples())
        lines.append(f"  {phase}: {parts}")
    return "\n".join(lines)

"""Regenerate the committed zoo traces: ``python -m workloads.zoo.regenerate``."""

from __future__ import annotations

from workloads.zoo import DEFAULT_SEQ_LEN, TRACE_DIR, ZOO, trace_zoo


def main() -> int:
    TRACE_DIR.mkdir(exist_ok=True)
    for name in ZOO:
        trace = trace_zoo(name, batch=1, seq_len=DEFAULT_SEQ_LEN)
        trace.layers.to_csv(TRACE_DIR / f"{name}.csv", index=False)
        print(f"{name}: {len(trace.layers)} layers; not lowered: {trace.unsupported_summary()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

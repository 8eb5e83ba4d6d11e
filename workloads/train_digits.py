"""Real training on real data, offline: a small CNN on scikit-learn's digits, dense vs N:M schemes.

Why digits: it ships inside scikit-learn (1,797 real 8x8 handwritten digits), so the run needs no
download and takes seconds on 2 cores, yet it is a real data set on which pruning can hurt.

The network (ours): conv 1->16 3x3, ReLU, conv 16->32 3x3, ReLU, 2x2 max-pool, FC 512->64, ReLU,
FC 64->10. The first conv (K = 9) stays dense, as is common in N:M training; the other three
layers use the scheme's masks (:mod:`workloads.bdwp`). Same seed, same split (80/20, stratified),
same epochs for every run; Adam, learning rate 2e-3, batch 64.

Run: ``python -m workloads.train_digits [--epochs 40] [--seeds 0,1,2] [--out FILE.csv]``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from simulator.common.errors import SparsimInputError
from workloads.trace_torch import require_torch

__all__ = ["RUNS", "train_digits", "accuracy_table"]

RUNS = (("dense", (1, 1)), ("bdwp", (2, 4)), ("bdwp", (2, 8)), ("forward-only", (2, 8)), ("bdwp", (1, 8)))


def _data(seed: int):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)[:, None]
    return train_test_split(x, d.target, test_size=0.2, random_state=seed, stratify=d.target)


def _model(scheme: str, n: int, m: int, srste_lambda: float):
    torch = require_torch()
    from torch import nn

    from workloads.bdwp import BDWPConv2d, BDWPLinear

    kw = dict(scheme=scheme, n=n, m=m, srste_lambda=srste_lambda)
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        BDWPConv2d(16, 32, 3, padding=1, **kw),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        BDWPLinear(32 * 16, 64, **kw),
        nn.ReLU(),
        BDWPLinear(64, 10, **kw),
    ), torch


def train_digits(
    scheme: str, nm: tuple[int, int], *, seed: int = 0, epochs: int = 40, srste_lambda: float = 2e-4
) -> dict:
    """Train once; return test accuracy (with the final masks applied) and wall time.

    Why one thread: with several, CPU reductions sum in an order that depends on the thread
    count, a last-bit difference flips a top-N-of-M choice, and the sparse runs' accuracies then
    depend on the machine. Training runs on one torch thread (restored afterwards), so a seed
    gives the same numbers everywhere.
    """
    n, m = nm
    model, torch = _model(scheme, n, m, srste_lambda if scheme != "dense" else 0.0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _train(model, torch, scheme, n, m, seed, epochs)
    finally:
        torch.set_num_threads(threads)


def _train(model, torch, scheme: str, n: int, m: int, seed: int, epochs: int) -> dict:
    torch.manual_seed(seed)
    for p in model.parameters():  # re-initialise under the seed (construction order is fixed)
        if p.dim() > 1:
            torch.nn.init.kaiming_uniform_(p, a=5**0.5)
        else:
            torch.nn.init.zeros_(p)
    xtr, xte, ytr, yte = _data(seed)
    xtr, xte = torch.from_numpy(xtr), torch.from_numpy(xte)
    ytr, yte = torch.from_numpy(ytr).long(), torch.from_numpy(yte).long()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    gen = torch.Generator().manual_seed(seed)
    t0 = time.perf_counter()
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(len(xtr), generator=gen)
        for i in range(0, len(xtr), 64):
            idx = perm[i : i + 64]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(xtr[idx]), ytr[idx]).backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        acc = (model(xte).argmax(1) == yte).float().mean().item()
    return {
        "scheme": scheme,
        "nm": f"{n}:{m}",
        "seed": seed,
        "epochs": epochs,
        "test_accuracy": acc,
        "train_seconds": time.perf_counter() - t0,
    }


def accuracy_table(seeds=(0, 1, 2), epochs: int = 40) -> pd.DataFrame:
    """Every run of :data:`RUNS` for every seed: one row per (scheme, N:M, seed)."""
    return pd.DataFrame([train_digits(s, nm, seed=seed, epochs=epochs) for s, nm in RUNS for seed in seeds])


def _ints(text: str, lo: int, hi: int, what: str) -> tuple[int, ...]:
    from simulator.common.validate import parse_int

    parts = [p.strip() for p in str(text).split(",")]
    if not 1 <= len(parts) <= 32:
        raise SparsimInputError(what, what.lstrip("-"), text, f"1 to 32 comma-separated integers from {lo} to {hi}")
    return tuple(parse_int(p, what, what.lstrip("-"), lo, hi) for p in parts)


def main(argv: list[str] | None = None) -> int:
    """The command line: one line and exit 2 for bad input or a missing extra (checked before
    any training), never a traceback."""
    import sys

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", default="40", help="epochs per run (1 to 1000)")
    ap.add_argument("--seeds", default="0,1,2", help="comma-separated seeds")
    ap.add_argument("--out", default=None, help="write every run's row to this .csv (not replaced if it exists)")
    args = ap.parse_args(argv)
    try:
        from simulator.common.optional import require
        from simulator.common.threads import configure_threads

        configure_threads(1)
        (epochs,) = _ints(args.epochs, 1, 1000, "--epochs")
        seeds = _ints(args.seeds, 0, 2**32 - 1, "--seeds")
        if args.out is not None and (Path(args.out).suffix.lower() != ".csv" or Path(args.out).exists()):
            raise SparsimInputError("--out", "out", args.out, "a new .csv file (an existing file is not replaced)")
        require("torch", "torch")  # every extra before the first epoch
        require("sklearn", "torch")
        table = accuracy_table(seeds, epochs)
    except SparsimInputError as err:
        print(f"train_digits: error: {' '.join(str(err).split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("train_digits: interrupted", file=sys.stderr)
        return 130
    summary = table.groupby(["scheme", "nm"], sort=False).test_accuracy.agg(["mean", "std", "count"])
    print(summary.to_string())
    if args.out:
        table.to_csv(args.out, index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

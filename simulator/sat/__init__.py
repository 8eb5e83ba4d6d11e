"""The SAT block: one N:M training step on the array (``sparsim simulate --training``).

Levels, as in every block package:

- ``config.py``: the training step's options (SAT's three dataflow switches, the pruning unit);
  the hardware itself is the N:M array's :class:`~simulator.nm_array.config.ArrayConfig`.
- ``cl.py``: the cycle model of a step (every FF, BP and WU GEMM through the array's fold model,
  plus the step's own exposed pruning and I/O).
- ``block.py``: the step behind the block protocol (block ``sat``).
- No ``fl.py``: a step's values are its GEMMs' values, which the array's oracle
  (:mod:`simulator.nm_array.fl`) computes; BDWP training with real numbers is
  :mod:`workloads.bdwp` (torch).
- No ``twin.py``: the step is a composition of the array's fold model, whose twin is the array's
  per-cycle model (:mod:`simulator.nm_array.twin`, ``fold = CL`` tests); the step's own
  accounting is closed-form and tested against hand computations (tests/simulator/sat).
"""

"""The LLM block: a decoder-only transformer served on the N:M array (``sparsim llm``).

Levels, as in every block package:

- No ``config.py``: the hardware is the N:M array's
  :class:`~simulator.nm_array.config.ArrayConfig`, the workload a
  :class:`~workloads.llm.model.LLMConfig`, and the run's options are the block's parameters.
- ``cl.py``: the cycle model of a serving run (prefill and every decode step through the
  array's fold model, element-wise operators on the vector unit, the physical bound beside each
  step); ``metrics.py``: the serving metrics of its steps.
- ``block.py``: the run behind the block protocol (block ``llm``).
- No ``fl.py``: a step's values are its GEMMs' values, which the array's oracle
  (:mod:`simulator.nm_array.fl`) computes; the LLM's own arithmetic (shapes, parameter counts,
  KV bytes) is :mod:`workloads.llm` and tested against hand computations.
- No ``twin.py``: the run is a composition of the array's fold model (whose twin is the array's
  per-cycle model); the run's own accounting, one simulation of every distinct GEMM shared by
  all steps, has its twin in :func:`simulator.llm.cl.simulate_phase` (each step simulated on its
  own; tests/simulator/llm compare them to the cycle).
"""

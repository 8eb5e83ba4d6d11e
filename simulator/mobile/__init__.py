"""Sparse mobile CNN kernels on a modelled Cortex-A-class core (SparseByteNN), block ``mobile``.

Levels, as in every block package:

- ``config.py``: :class:`CoreConfig` and its cited presets (``presets/``).
- ``fl.py``: the value oracle, the real host kernels (numpy, checked against torch), which are
  also timed on the host.
- ``cl.py``: the core's cycle model (numba), running the kernels' instruction streams
  (``streams.py``); ``latency.py`` puts a network's layers through it.
- ``twin.py``: its independent twin (pure Python), cycle for cycle equal; ``llvm_mca.py`` checks
  kernel bodies against LLVM's scheduling model.
- ``block.py``: a pruned network on the core behind the block protocol.
"""

"""The DRAM model (DDR4-3200, LPDDR4X-4266, HBM2 presets in ``presets/``).

Levels, as in every block package:

- ``config.py``: :class:`DramConfig` and its cited presets.
- ``fl.py``: the functional level of a memory: the address map (which channel, bank, row and
  column every byte lives in).
- ``cl.py``: the per-request FR-FCFS controller with refresh (numba); ``fold.py`` its fold-level
  form; ``checker.py`` proves a command stream legal.
- ``twin.py``: the controller's independent cycle-stepping twin.
- No ``block.py``: the DRAM is not a block of its own. It is the memory of the N:M array
  (``memory:`` in its config, :mod:`simulator.nm_array.dram_memory` drives it with the array's
  transfers), and ``sparsim dram replay|trace`` runs and exports request traces directly.
"""

"""SpGEMM on a PIUMA-like many-threaded graph processor (SMASH and its baselines), block ``spgemm``.

Levels, as in every block package:

- ``config.py``: :class:`PiumaConfig` (the machine) and the algorithms.
- ``fl.py``: the value oracle (C = A x B by every algorithm, checked against scipy.sparse).
- ``cl.py``: the cycle model (one numba engine for every algorithm, fed by ``machine.py``).
- ``twin.py``: its independent twin (Python generators per thread, cycle for cycle equal).
- ``block.py``: the machine behind the block protocol. Its scratchpad hashing is the hash unit's
  (``hashing.py``, :mod:`simulator.hash_unit.config`); ``host.py`` is the real host kernel.
"""

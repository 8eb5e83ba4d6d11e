"""The hash-accumulate unit: SMASH's scratchpad atomic hash-add as one hardware block.

Levels, as in every block package:

- ``config.py``: :class:`HashUnitConfig` and the project's one hash (:func:`slot_of`), which the
  SpGEMM machine uses too.
- ``fl.py``: the value oracle (what the table holds after a stream of items).
- ``cl.py``: the per-cycle model the RTL (:mod:`rtl.hash_unit`) is held to, cycle for cycle.
- No ``twin.py``: the unit's independent twin is its RTL, compared with the per-cycle model on
  every output and cycle by cocotb (tests/rtl/hash_unit).
- No ``block.py``: the unit is not run on workloads of its own; it is the scratchpad hashing of
  the SpGEMM machine (block ``spgemm``) and is exercised by ``sparsim rtl``.
"""

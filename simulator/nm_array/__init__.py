"""The N:M systolic array (dense and N:M-sparse GEMMs; WS, OS and IS dataflows), block ``nm_array``.

Levels, as in every block package:

- ``config.py``: :class:`ArrayConfig`, shared by every level and the RTL generator.
- ``fl.py``: the value oracle (numpy).
- ``cl.py``: the per-cycle model (numba kernels ``cl_load.py`` for WS/IS and ``cl_os.py`` for OS),
  the reference the RTL (:mod:`rtl.nm_array`) is held to; ``fold.py``: the fold-level model of
  whole networks, equal to the per-cycle model on every dataflow (tests).
- ``twin.py``: the independent twins (numpy shift-register twins of the kernels, the word-by-word
  twin of the banked-SRAM model).
- ``block.py``: inference behind the block protocol. Its memories (``memory.py``, the DRAM model
  through ``dram_memory.py``), banked SRAM (``sram_banks.py``), energy, area and scale-out
  (``system.py``) are the fold model's parts.
"""

"""How long it takes and what it costs: cycle-level models per block, memories, statistics, the CLI."""

__version__ = "0.1.0"

"""sparsim's version, in a leaf module so that any floor can name it (sweep keys, result stores)."""

__version__ = "0.1.0"

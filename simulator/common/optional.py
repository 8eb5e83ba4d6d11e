"""Optional dependencies (the ``torch`` and ``onnx`` extras): imported on use, or one line saying
which extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from simulator.common.errors import SparsimInputError

__all__ = ["require"]


def require(module: str, extra: str) -> ModuleType:
    """``import module``, or a :class:`SparsimInputError` naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise SparsimInputError(
            module, "package", "not installed",
            f"install the {extra} extra: pip install 'sparsim[{extra}]' (in a checkout: pip install -e '.[{extra}]')",
        ) from None

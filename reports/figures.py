"""Figures for the reports without pyplot.

Why: ``matplotlib.use("Agg")`` at import (what the reports did) switches the backend of whoever
imports them, a notebook included, and pyplot keeps every figure in global state until closed.
A bare :class:`matplotlib.figure.Figure` needs neither: it renders with Agg when saved to PNG.
"""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure

__all__ = ["subplots"]


def subplots(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float], **kwargs: Any):
    """``(figure, axes)`` as ``pyplot.subplots`` returns them, on a figure pyplot never sees."""
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols, **kwargs)

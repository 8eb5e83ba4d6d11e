"""One exception type for bad user input.

Why: the CLI promises one clear line per bad input (the field, the value, what is allowed) and exit
code 2. Library code raises :class:`SparsimInputError`; only the CLI turns it into that line, so
library users get a normal, catchable ``ValueError``.
"""

from __future__ import annotations

import contextlib

__all__ = ["SparsimInputError", "input_context"]


class SparsimInputError(ValueError):
    """Bad input named precisely.

    Parameters
    ----------
    source : str
        Where the value came from (a file name, ``file:line``, or an API argument name).
    field : str
        The offending field or column.
    value : object
        The value as given.
    allowed : str
        What would have been accepted.
    """

    def __init__(self, source: str, field: str, value: object, allowed: str):
        self.source = source
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(f"{source}: {field} = {value!r}: {allowed}")


@contextlib.contextmanager
def input_context(source: str, generic: tuple[str, ...] = ("", "workload")):
    """Name where the input came from at the boundary, not in every signature below it.

    Library code that does not know the file a table came from raises with a generic source
    (``""`` or ``"workload"``); a caller that does (the CLI, :func:`simulator.simulate`) wraps
    the call in ``with input_context("resnet18.csv"):`` and the one line names that file.
    """
    try:
        yield
    except SparsimInputError as err:
        if source and err.source in generic:
            raise SparsimInputError(source, err.field, err.value, err.allowed) from None
        head = next((g for g in generic if g and err.source.startswith(g + " ")), None)
        if source and head:  # "workload layer 3 (conv1)" -> "resnet18.csv layer 3 (conv1)"
            raise SparsimInputError(source + err.source[len(head):], err.field, err.value, err.allowed) from None
        raise

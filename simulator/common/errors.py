"""One exception type for bad user input.

Why: the CLI promises one clear line per bad input (the field, the value, what is allowed) and exit
code 2. Library code raises :class:`SparsimInputError`; only the CLI turns it into that line, so
library users get a normal, catchable ``ValueError``.
"""

from __future__ import annotations

__all__ = ["SparsimInputError"]


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

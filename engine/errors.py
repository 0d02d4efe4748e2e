"""Errors that carry a one-sentence message meant for the user.

The CLI prints them on stderr and exits 2 without a traceback; the GUI shows them in a
message box and stays usable. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """Bad input or an unusable setting: the message names what is wrong and the fix."""


class DataError(UserError, ValueError):
    """A CSV, a column or a value that cannot be used as given."""


class ModelFileError(UserError, ValueError):
    """A model file that is damaged, truncated, foreign or incompatible."""


class GpuOutOfMemory(UserError, MemoryError):
    """The GPU ran out of memory; the message names the setting to lower."""

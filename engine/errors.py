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


class DeviceUnavailableError(UserError, RuntimeError):
    """The requested device cannot be used; the message says why and what to do."""


class TrainingDiverged(UserError, ArithmeticError):
    """The loss became NaN or infinite; the message names the step."""

    def __init__(self, step: int, learning_rate: float):
        super().__init__(
            f"training diverged at step {step}: the loss is not a finite number; "
            f"lower the learning rate (now {learning_rate:g})"
        )
        self.step = step


class RunStoreError(UserError):
    """The run store cannot be read or written (corrupt, locked, read-only); training goes on
    without recording, and the message says where the store is and what to do."""

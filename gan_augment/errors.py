"""Exceptions raised by gan_augment.

Every error names the argument, the value received and what was expected, so the CLI can print
it without a traceback and a library user can fix the call from the message alone.
"""

from __future__ import annotations


class GanAugmentError(Exception):
    """Base class of the errors this package raises on purpose."""


class DataError(GanAugmentError, ValueError):
    """The input data cannot be used: wrong shape, dtype, NaN, empty, one class, corrupt file…"""


class UnknownSourceError(GanAugmentError, ValueError):
    """`load_dataset` got a source it does not know."""


class TrainingError(GanAugmentError, RuntimeError):
    """Training could not go on (for example the losses diverged and no good weights exist)."""


class StorageError(GanAugmentError, OSError):
    """A file could not be written: the disk is full, the file system is read-only, or the folder
    is not writable (``errno`` is the operating system's). The message names the path and the fix."""


class ValidationFailed(GanAugmentError):
    """Synthetic data failed one or more validation gates; ``.report`` says which and why."""

    def __init__(self, message: str, report: object = None) -> None:
        super().__init__(message)
        self.report = report


class UtilityFailed(ValidationFailed):
    """Synthetic data did not make a classifier better on held-out real data; ``.report`` is the
    utility gate's `UtilityReport`."""

"""Progress messages of the library, through the ``gan_augment`` logger.

Long work (training, validation, the utility gate, downstream evaluation) reports with
`progress` at INFO on ``logging.getLogger("gan_augment")``, never with ``print``. So that a script
or a notebook sees progress without configuring anything, the first message adds one console
handler to that logger (plain lines on the *current* ``sys.stdout``); an application that wants
the records elsewhere attaches its own handler, and `log_to` sends them to a callable instead of
the console for the duration of a block (the Dagster assets forward them to the run's log that
way). Levels and handlers are the standard library's: ``logging.getLogger("gan_augment")
.setLevel(logging.WARNING)`` silences progress everywhere.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable, Iterator

LOGGER = logging.getLogger("gan_augment")


class ConsoleHandler(logging.Handler):
    """Writes each record's message as one line to whatever ``sys.stdout`` is at that moment
    (so pytest's and notebooks' captures see it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stdout.write(self.format(record) + "\n")
            sys.stdout.flush()
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)


class _Forward(logging.Handler):
    def __init__(self, sink: Callable[[str], None]) -> None:
        super().__init__(logging.INFO)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.sink(self.format(record))
        except Exception:  # noqa: BLE001
            self.handleError(record)


_console = ConsoleHandler(logging.INFO)
_redirected = 0


def progress(message: str) -> None:
    """One progress line (INFO on the ``gan_augment`` logger; the console by default)."""
    if not _redirected and _console not in LOGGER.handlers:
        LOGGER.addHandler(_console)
        LOGGER.propagate = False  # the console handler prints it; no second copy via the root logger
    if LOGGER.level == logging.NOTSET:
        LOGGER.setLevel(logging.INFO)
    LOGGER.info(message)


def on_console() -> bool:
    """Whether progress goes to the console (no `log_to` block is active)."""
    return not _redirected


@contextlib.contextmanager
def log_to(sink: Callable[[str], None]) -> Iterator[None]:
    """Within the block, progress lines go to ``sink(message)`` instead of the console.

    Example:
        >>> with log_to(context.log.info):      # doctest: +SKIP
        ...     gan = train_gan(data)
    """
    global _redirected
    handler = _Forward(sink)
    had_console = _console in LOGGER.handlers
    LOGGER.removeHandler(_console)
    LOGGER.addHandler(handler)
    _redirected += 1
    try:
        yield
    finally:
        _redirected -= 1
        LOGGER.removeHandler(handler)
        if had_console and not _redirected:
            LOGGER.addHandler(_console)

"""Atomic file writes: write next to the target, then rename, so a crash never leaves half a file."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: mkstemp / mkdtemp create files and folders for the owner only; what they become gets the
#: usual modes (0o666 / 0o777 minus the umask), so that another user (a Dagster webserver, a
#: colleague) can read what was written.
FILE_MODE = 0o666 & ~_umask()
DIR_MODE = 0o777 & ~_umask()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success it replaces ``path``.

    ``suffix`` defaults to the target's own suffix (some writers look at it, e.g. ``.keras``).

    Example:
        >>> with atomic_path("out/report.json") as tmp:  # doctest: +SKIP
        ...     tmp.write_text("{}")
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=suffix if suffix is not None else "".join(target.suffixes),
        dir=target.parent,
    )
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if tmp.exists():
            os.chmod(tmp, FILE_MODE)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def save_keras(model: Any, path: str | os.PathLike) -> Path:
    """Save a Keras model as one ``.keras`` file at ``path``, atomically (`atomic_path`)."""
    from gan_augment.errors import DataError

    path = Path(path)
    if path.suffix != ".keras":
        raise DataError(f"Expected a path ending in .keras. Received: path={str(path)!r}.")
    with atomic_path(path) as tmp:
        model.save(tmp)
    return path

"""Atomic file writes: write next to the target, then rename, so a crash never leaves half a file."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
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


#: The errors of a full or unwritable file system: `storage_error` turns them into a one-line
#: `StorageError` naming the path and the fix.
_EDQUOT = getattr(errno, "EDQUOT", errno.ENOSPC)  # not on every platform
STORAGE_ERRNOS = (errno.ENOSPC, _EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM)


def format_size(n: float) -> str:
    """``1536`` -> ``'1.5 KiB'``."""
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{int(n)} bytes"


def _free_space(path: Path) -> int | None:
    for folder in (path, *path.parents):
        if folder.exists():
            try:
                return shutil.disk_usage(folder).free
            except OSError:
                return None
    return None


def storage_error(exc: OSError, path: str | os.PathLike, *, needs: Any = None) -> OSError:
    """``exc`` as a one-line `StorageError` naming ``path`` (and, for a full disk, about how much
    the file needs and how much is free) when it is a full, read-only or unwritable file system;
    else ``exc`` itself."""
    from gan_augment.errors import StorageError

    if isinstance(exc, StorageError) or exc.errno not in STORAGE_ERRNOS:
        return exc
    path = Path(path)
    if exc.errno in (errno.ENOSPC, _EDQUOT):
        needs = needs() if callable(needs) else needs
        free = _free_space(path.parent)
        size = f" It needs about {format_size(needs)}" if needs else " It needs more space"
        size += f"; {format_size(free)} is free there." if free is not None else "."
        problem = ("no space left on the device" if exc.errno == errno.ENOSPC else "the disk quota is exceeded")
        message = (f"Could not write '{path}': {problem}.{size} Free some space on that disk, or write "
                   "somewhere else (CLI: --output-dir / --out / --checkpoint-dir).")
    elif exc.errno == errno.EROFS:
        message = (f"Could not write '{path}': the file system is read-only. Write somewhere else "
                   "(CLI: --output-dir / --out / --checkpoint-dir).")
    else:
        message = (f"Could not write '{path}': permission denied ({exc.strerror or exc}). Make the folder "
                   "writable for this user, or write somewhere else (CLI: --output-dir / --out / "
                   "--checkpoint-dir).")
    error = StorageError(message)
    error.errno = exc.errno
    return error


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None, *, needs: Any = None) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success it replaces ``path``.

    ``suffix`` defaults to the target's own suffix (some writers look at it, e.g. ``.keras``).
    A full disk, a read-only file system or a folder without write permission raises a one-line
    `StorageError` naming ``path`` (and ``needs``, about how many bytes the file takes, or a
    function returning it, when given); the file at ``path`` is then left as it was.

    Example:
        >>> with atomic_path("out/report.json") as tmp:  # doctest: +SKIP
        ...     tmp.write_text("{}")
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_temporaries(target)
        fd, name = tempfile.mkstemp(
            prefix=f"{_temporary_prefix(target)}{os.getpid()}.",
            suffix=suffix if suffix is not None else "".join(target.suffixes), dir=target.parent,
        )
        os.close(fd)
    except OSError as exc:
        raise storage_error(exc, target, needs=needs) from exc
    tmp = Path(name)
    try:
        try:
            yield tmp
            if tmp.exists():
                os.chmod(tmp, FILE_MODE)
            os.replace(tmp, target)
        except OSError as exc:
            raise storage_error(exc, target, needs=needs) from exc
    finally:
        if tmp.exists():
            tmp.unlink()


def _temporary_prefix(target: Path) -> str:
    """``.<name>.<host>.``: the temporaries of ``target`` written on this machine (then the
    writer's PID and a random part), so that a later write can tell which ones are stale."""
    host = "".join(c if c.isalnum() or c == "-" else "_" for c in os.uname().nodename) or "host"
    return f".{target.name}.{host}."


def _remove_stale_temporaries(target: Path) -> None:
    """Delete ``target``'s temporaries left by writers on this machine that are gone (a process
    killed mid-write cannot clean up after itself). A live writer's file, or another machine's on
    a shared disk, is never touched."""
    prefix = _temporary_prefix(target)
    try:
        candidates = [p for p in target.parent.iterdir() if p.name.startswith(prefix)]
    except OSError:
        return
    for candidate in candidates:
        pid = candidate.name[len(prefix):].split(".", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid() or _alive(int(pid)):
            continue
        with contextlib.suppress(OSError):
            if candidate.is_file():
                candidate.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def save_keras(model: Any, path: str | os.PathLike) -> Path:
    """Save a Keras model as one ``.keras`` file at ``path``, atomically (`atomic_path`)."""
    from gan_augment.errors import DataError

    path = Path(path)
    if path.suffix != ".keras":
        raise DataError(f"Expected a path ending in .keras. Received: path={str(path)!r}.")
    with atomic_path(path, needs=lambda: _model_bytes(model)) as tmp:
        model.save(tmp)
    return path


def _model_bytes(model: Any) -> int | None:
    """About the size of ``model``'s ``.keras`` file: its variables (weights and optimizer)."""
    try:
        variables = list(model.variables) + list(getattr(getattr(model, "optimizer", None), "variables", []) or [])
        return int(sum(int(v.numpy().nbytes) if hasattr(v, "numpy") else 0 for v in variables)) or None
    except Exception:  # noqa: BLE001 - only an estimate for an error message
        return None

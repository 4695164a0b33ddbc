"""Full training state on disk: `.npz` files, written atomically, read without pickle.

The state is every variable the run needs to continue exactly where it stopped: generator,
discriminator, EMA generator, both optimizers (moments and iteration counters) and the model's
random stream ``[seed, step]``, plus a JSON record (epoch, history, the options fingerprint and
a checksum of the saved arrays).

The last two good checkpoints are kept: the newest in `CHECKPOINT_NAME`, the one before in
`PREVIOUS_NAME`. A save writes a temporary file, makes the newest one the previous one (only
when it reads back intact: a damaged newest one never pushes out a good previous one) and renames
the new file into place; each step is a rename, so a kill at any moment leaves intact files. A
load takes the newest checkpoint that reads back intact and warns when it had to fall back; when
none does it raises one `TrainingError` naming the folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from gan_augment._io import atomic_path
from gan_augment.errors import DataError, TrainingError
from gan_augment.logs import LOGGER

#: The newest checkpoint of a ``checkpoint_dir``.
CHECKPOINT_NAME = "training_state.npz"
#: The checkpoint before it: a damaged newest one costs a few epochs, not the run.
PREVIOUS_NAME = "training_state.previous.npz"
#: Newest first, the order `load_checkpoint` tries them in.
CHECKPOINT_NAMES = (CHECKPOINT_NAME, PREVIOUS_NAME)

def training_variables(gan: Any) -> list:
    """Every variable of the run, in a fixed order (model weights, then both optimizers)."""
    seen: set[int] = set()
    out = []
    for v in [*gan.weights, gan.state, *gan.g_optimizer.variables, *gan.d_optimizer.variables]:
        if id(v) not in seen:
            seen.add(id(v))
            out.append(v)
    return out


def snapshot(gan: Any) -> list[np.ndarray]:
    """Copies of all training variables, in memory (the NaN guard's last good state)."""
    import keras

    return [np.array(keras.ops.convert_to_numpy(v)) for v in training_variables(gan)]


def restore_snapshot(gan: Any, values: list[np.ndarray]) -> None:
    variables = training_variables(gan)
    if len(values) != len(variables):
        raise TrainingError(
            f"Expected {len(variables)} saved variables for this model. Received: {len(values)}."
        )
    for var, value in zip(variables, values):
        if tuple(var.shape) != tuple(value.shape):
            raise TrainingError(
                f"Expected variable {var.path} of shape {tuple(var.shape)}. "
                f"Received: a saved value of shape {value.shape}."
            )
        var.assign(value)


def _checksum(values: list[np.ndarray]) -> str:
    """SHA-256 over the saved variables in order: index, shape and bytes of each (not the dtype's
    name, which a round trip through .npy may spell differently for the same bytes)."""
    digest = hashlib.sha256()
    for i, value in enumerate(values):
        value = np.ascontiguousarray(value)
        digest.update(f"{i}:{value.shape}:{value.nbytes};".encode())
        digest.update(value.tobytes())
    return "sha256:" + digest.hexdigest()


class _Unreadable(Exception):
    """A checkpoint file that does not read back intact; the message says why, in a few words."""


def save_checkpoint(directory: str | Path, gan: Any, record: dict[str, Any]) -> Path:
    """Write the full state and ``record`` (JSON-serializable) to ``directory`` atomically, as the
    newest checkpoint; the newest one so far becomes the previous one when it reads back intact."""
    directory = Path(directory)
    path = directory / CHECKPOINT_NAME
    values = snapshot(gan)
    arrays = {f"v{i:05d}": value for i, value in enumerate(values)}
    arrays["record"] = np.array(json.dumps({**record, "checksum": _checksum(values)}))
    with atomic_path(path, needs=sum(a.nbytes for a in arrays.values())) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
            fh.flush()
            os.fsync(fh.fileno())  # on disk before a rename makes it the newest checkpoint
        if path.is_file():
            try:
                _read(path)
            except _Unreadable:
                pass  # a damaged newest checkpoint is replaced; the previous (good) one stays
            else:  # it becomes the previous one; the newest name never goes missing, even for a moment
                with atomic_path(directory / PREVIOUS_NAME) as previous:
                    previous.unlink()
                    try:
                        os.link(path, previous)
                    except OSError:  # a file system without hard links
                        shutil.copyfile(path, previous)
    return path


def has_checkpoint(directory: str | Path | None) -> bool:
    """Whether ``directory`` holds a checkpoint file (intact or not: `load_checkpoint` judges)."""
    return directory is not None and any((Path(directory) / name).is_file() for name in CHECKPOINT_NAMES)


def checkpoint_epoch(directory: str | Path | None) -> int:
    """The epoch the checkpoint in ``directory`` was written at: 0 when there is none (a training
    run with this folder starts from scratch), else where it resumes (the newest intact one).

    Raises TrainingError if checkpoint files are there but none reads back intact.
    """
    if not has_checkpoint(directory):
        return 0
    record, _, _ = _newest_intact(Path(directory))
    return int(record.get("epoch", 0))


def _read(path: Path) -> tuple[dict[str, Any], list[np.ndarray]]:
    """A checkpoint file's record and saved variables, in order, checked against the record's
    checksum (a damaged file can have an intact record); `_Unreadable` when the file is damaged,
    truncated, empty or not a checkpoint."""
    from gan_augment.data.images import NpzDefect, available_memory, read_npz

    try:  # a checkpoint is this run's own file: its budget is all the memory there is, not a share
        arrays = read_npz(path, budget=available_memory())
    except NpzDefect as exc:
        raise _Unreadable(exc.problem) from exc
    except DataError as exc:  # object arrays, a single array, more than the memory there is
        raise _Unreadable(f"cannot be read ({' '.join(str(exc).split())})") from exc
    if "record" not in arrays:
        raise _Unreadable(f"is not a checkpoint (no record among its arrays {sorted(arrays)[:5]})")
    try:
        record = json.loads(str(arrays.pop("record")))
    except (ValueError, TypeError) as exc:
        raise _Unreadable(f"has an unreadable record ({exc})") from exc
    if not isinstance(record, dict):
        raise _Unreadable(f"has a record that is not a mapping ({type(record).__name__})")
    values = [arrays[k] for k in sorted(k for k in arrays if k.startswith("v"))]
    saved = record.pop("checksum", None)  # checkpoints written before checksums have none
    if saved is not None and saved != _checksum(values):
        raise _Unreadable("fails its checksum: the saved arrays changed after they were written")
    return record, values


def _newest_intact(directory: Path) -> tuple[dict[str, Any], list[np.ndarray], list[str]]:
    """The record and variables of the newest checkpoint in ``directory`` that reads back intact,
    and why each newer one did not; TrainingError (one line, with the fix) when none does."""
    problems: list[str] = []
    for name in CHECKPOINT_NAMES:
        path = directory / name
        if not path.is_file():
            continue
        try:
            record, values = _read(path)
        except _Unreadable as exc:
            problems.append(f"{name} {exc}")
            continue
        return record, values, problems
    raise TrainingError(
        f"Expected an intact checkpoint in checkpoint_dir='{directory}'. Received: every checkpoint "
        f"there is corrupt or truncated ({'; '.join(problems)}). Delete that folder to start the run "
        "afresh, or pass another checkpoint_dir (CLI: --checkpoint-dir)."
    )


def load_checkpoint(directory: str | Path, gan: Any, fingerprint: dict[str, Any],
                    defaults: dict[str, Any] | None = None) -> dict[str, Any]:
    """Restore the state saved in ``directory`` into ``gan`` (the newest intact checkpoint: when the
    newest file is damaged, the previous one, with a warning on the ``gan_augment`` logger); return
    its record.

    Raises TrainingError if the checkpoint belongs to a run with other data or options.
    ``defaults``: options added after a checkpoint may have been written; a key missing from
    the saved fingerprint matches when the current value is its default here.
    """
    record, values, problems = _newest_intact(Path(directory))
    saved = dict(record.get("fingerprint", {}))
    for key, value in (defaults or {}).items():
        if key not in saved and fingerprint.get(key) == value:
            saved[key] = value  # written before the option existed, and the option is off
    if saved != fingerprint:
        diff = {k: (saved.get(k), fingerprint.get(k)) for k in set(saved) | set(fingerprint)
                if saved.get(k) != fingerprint.get(k)}
        raise TrainingError(
            f"Expected checkpoint_dir={str(directory)!r} to hold a run of the same data and options. "
            f"Received: a checkpoint that differs in {diff} (saved, now). "
            "Use a new checkpoint_dir, or the original options to resume."
        )
    restore_snapshot(gan, values)
    if problems:
        LOGGER.warning(f"Warning: the newest checkpoint in {directory} is unusable ({'; '.join(problems)}); "
                       f"resumed from the previous one, {PREVIOUS_NAME} (epoch {record.get('epoch')}).")
    return record

"""Full training state on disk: one `.npz` file, written atomically, read without pickle.

The state is every variable the run needs to continue exactly where it stopped: generator,
discriminator, EMA generator, both optimizers (moments and iteration counters) and the model's
random stream ``[seed, step]``, plus a JSON record (epoch, history, the options fingerprint).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from gan_augment._io import atomic_path
from gan_augment.errors import TrainingError

CHECKPOINT_NAME = "training_state.npz"


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


def save_checkpoint(directory: str | Path, gan: Any, record: dict[str, Any]) -> Path:
    """Write the full state and ``record`` (JSON-serializable) to ``directory`` atomically."""
    path = Path(directory) / CHECKPOINT_NAME
    arrays = {f"v{i:05d}": value for i, value in enumerate(snapshot(gan))}
    arrays["record"] = np.array(json.dumps(record))
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    return path


def has_checkpoint(directory: str | Path | None) -> bool:
    return directory is not None and (Path(directory) / CHECKPOINT_NAME).is_file()


def checkpoint_epoch(directory: str | Path | None) -> int:
    """The epoch the checkpoint in ``directory`` was written at: 0 when there is none (a training
    run with this folder starts from scratch), else where it resumes.

    Raises TrainingError if the file is there but unreadable.
    """
    if not has_checkpoint(directory):
        return 0
    record, _ = _read(Path(directory) / CHECKPOINT_NAME, with_values=False)
    return int(record.get("epoch", 0))


def _read(path: Path, *, with_values: bool) -> tuple[dict[str, Any], list[np.ndarray]]:
    """A checkpoint file's record and (``with_values``) its saved variables, in order."""
    try:
        with np.load(path, allow_pickle=False) as f:
            record = json.loads(str(f["record"]))
            values = [f[k] for k in sorted(k for k in f.files if k.startswith("v"))] if with_values else []
    except (OSError, ValueError, KeyError) as exc:
        raise TrainingError(
            f"Expected a readable checkpoint at {path}. Received: a corrupt or foreign file ({exc}). "
            "Delete it or pass another checkpoint_dir."
        ) from exc
    return record, values


def load_checkpoint(directory: str | Path, gan: Any, fingerprint: dict[str, Any],
                    defaults: dict[str, Any] | None = None) -> dict[str, Any]:
    """Restore the state saved in ``directory`` into ``gan``; return its record.

    Raises TrainingError if the checkpoint belongs to a run with other data or options.
    ``defaults``: options added after a checkpoint may have been written; a key missing from
    the saved fingerprint matches when the current value is its default here.
    """
    record, values = _read(Path(directory) / CHECKPOINT_NAME, with_values=True)
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
    return record

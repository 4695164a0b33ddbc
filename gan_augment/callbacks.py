"""Keras callbacks every GAN training run uses: the per-epoch history, the NaN guard, checkpoints,
a time budget and progress output. They work with any model of `gan_augment.models` (a
`GANBase`: ``steps_taken`` and the variables `gan_augment.checkpoint` saves)."""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np

from gan_augment import checkpoint as ckpt
from gan_augment import logs
from gan_augment.logs import progress


class History(keras.callbacks.Callback):
    """Per-epoch metric means, appended to a dict that survives resumes."""

    def __init__(self, history: dict[str, list[float]]) -> None:
        super().__init__()
        self.history = history

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        for key, value in (logs or {}).items():  # empty after a diverged epoch
            self.history.setdefault(key, []).append(float(value))


class NaNGuard(keras.callbacks.Callback):
    """Stops training when a loss becomes NaN/inf or explodes, and restores the last good weights."""

    def __init__(self, limit: float = 1e6) -> None:
        super().__init__()
        self.limit = limit
        self.good: list[np.ndarray] | None = None
        self.good_epoch = 0
        self.tripped = False

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.good = ckpt.snapshot(self.model)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        bad = {k: float(v) for k, v in logs.items() if not math.isfinite(float(v)) or abs(float(v)) > self.limit}
        if not bad:
            self.good, self.good_epoch = ckpt.snapshot(self.model), epoch + 1
            return
        self.tripped = True
        self.model.stop_training = True
        ckpt.restore_snapshot(self.model, self.good)
        progress(f"Training diverged in epoch {epoch + 1} ({bad}); stopped and restored the weights "
              f"from the end of epoch {self.good_epoch}. Try a lower learning_rate, "
              "spectral_norm=True or loss='hinge'.")
        logs.clear()  # the bad epoch enters neither the history nor the progress bar

    def reason(self) -> str:
        """The run's stop reason when the guard tripped."""
        return f"diverged in epoch {self.good_epoch + 1}; the weights of epoch {self.good_epoch} were restored"


class Checkpoint(keras.callbacks.Callback):
    """Saves the full training state (`gan_augment.checkpoint`) every ``every`` epochs, at the
    last one, and at the first epoch end after ``every_seconds`` without a save (so a very long
    run loses at most a few minutes when killed) — unless the NaN guard just restored older
    weights."""

    #: Default longest time between two checkpoints, in seconds.
    EVERY_SECONDS = 300.0

    def __init__(self, directory: Any, fingerprint: dict, history: dict, every: int, epochs: int,
                 every_seconds: float = EVERY_SECONDS) -> None:
        super().__init__()
        self.directory, self.fingerprint, self.history = Path(directory), fingerprint, history
        self.every, self.epochs, self.every_seconds = every, epochs, float(every_seconds)
        self.last_save = time.perf_counter()

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.last_save = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        done = epoch + 1
        if self.model.stop_training:
            return  # the NaN guard restored older weights; keep the last good checkpoint
        overdue = time.perf_counter() - self.last_save >= self.every_seconds
        if done % self.every == 0 or done == self.epochs or overdue:
            self.last_save = time.perf_counter()
            ckpt.save_checkpoint(self.directory, self.model,
                                 {"epoch": done, "step": self.model.steps_taken,
                                  "history": self.history, "fingerprint": self.fingerprint})


class TimeBudget(keras.callbacks.Callback):
    """``time_budget``: ends training at the first epoch end after ``seconds`` of training."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = float(seconds)
        self.stopped_at: int | None = None
        self.elapsed = 0.0

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.elapsed = time.perf_counter() - self.start
        if self.elapsed >= self.seconds and not self.model.stop_training:
            self.stopped_at = epoch + 1
            self.model.stop_training = True

    def reason(self) -> str:
        return (f"time_budget: {self.elapsed:.0f} s of the {self.seconds:g} s budget spent after epoch "
                f"{self.stopped_at} ({self.model.steps_taken} generator steps)")


class Progress(keras.callbacks.Callback):
    """Training progress: on a terminal one progress bar over all epochs, with the latest losses
    and D outputs; elsewhere (a log file, CI, a Dagster run) about ``LOG_LINES`` lines through
    the ``gan_augment`` logger."""

    LOG_LINES = 10

    def __init__(self, epochs: int, what: str = "GAN") -> None:
        super().__init__()
        self.epochs, self.what = epochs, what
        self.bar: keras.utils.Progbar | None = None
        self.terminal = logs.on_console() and sys.stdout.isatty()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        values = [(k, float(v)) for k, v in (logs or {}).items()]
        if not values:
            return
        if not self.terminal:
            done = epoch + 1
            if done % max(1, self.epochs // self.LOG_LINES) == 0 or done == self.epochs:
                progress(f"{self.what} epoch {done}/{self.epochs}: " + ", ".join(f"{k}={v:.3f}" for k, v in values))
            return
        if self.bar is None:
            self.bar = keras.utils.Progbar(self.epochs, unit_name="epoch",
                                           stateful_metrics=[k for k, _ in values])
        self.bar.update(epoch + 1, values=values)


def resume(checkpoint_dir: Any, model: Any, fingerprint: dict, *, verbose: int,
           defaults: dict[str, Any] | None = None) -> tuple[int, dict[str, list[float]]]:
    """(epochs done, history) of the checkpoint in ``checkpoint_dir`` loaded into ``model`` — or
    (0, {}) without one; says so when ``verbose``. ``defaults``: see `checkpoint.load_checkpoint`."""
    if not ckpt.has_checkpoint(checkpoint_dir):
        return 0, {}
    record = ckpt.load_checkpoint(checkpoint_dir, model, fingerprint, defaults=defaults)
    if verbose:
        progress(f"Resuming from {checkpoint_dir}: epoch {int(record['epoch'])}, step {model.steps_taken}.")
    return int(record["epoch"]), record["history"]


def fit_game(model: Any, batches: Any, *, epochs: int, initial_epoch: int, steps_per_epoch: int,
             history: dict, checkpoint_dir: Any, fingerprint: dict, checkpoint_every: int, verbose: int,
             what: str) -> tuple[NaNGuard, float]:
    """``model.fit`` with the callbacks every run uses (NaN guard, history, checkpoints when
    ``checkpoint_dir`` is set, progress when ``verbose``); returns the guard and the seconds
    spent, which are also appended to ``history["train_seconds"]``."""
    guard = NaNGuard()
    callbacks = [guard, History(history),
                 *([Checkpoint(checkpoint_dir, fingerprint, history, checkpoint_every, epochs)]
                   if checkpoint_dir is not None else []),
                 *([Progress(epochs, what=what)] if verbose else [])]
    start = time.perf_counter()
    model.fit(batches, epochs=epochs, initial_epoch=initial_epoch, steps_per_epoch=steps_per_epoch,
              shuffle=False, verbose=0, callbacks=callbacks)
    seconds = time.perf_counter() - start
    history.setdefault("train_seconds", []).append(seconds)
    return guard, seconds

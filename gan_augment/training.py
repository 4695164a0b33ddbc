"""Training driver: `train_gan(dataset) -> TrainedGAN`, with checkpoints, a NaN guard, progress
output and pictures; `TrainedGAN.sample`, `.save` and `load_gan`.

Example:
    >>> import gan_augment as ga
    >>> gan = ga.train_gan(ga.load_dataset("digits"), seed=0)        # doctest: +SKIP
    >>> fives = gan.sample(100, labels=5, seed=1)                    # doctest: +SKIP
    >>> gan.save("digits.keras"); same = ga.load_gan("digits.keras")  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from gan_augment import checkpoint as ckpt
from gan_augment._io import atomic_path
from gan_augment.data.dataset import Dataset
from gan_augment.errors import DataError, TrainingError

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ chatter off the console

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from gan_augment.models import ConditionalGAN, build_gan  # noqa: E402


@dataclasses.dataclass
class TrainOptions:
    """Everything that shapes a training run. ``None`` fields get data-dependent defaults.

    Attributes:
        epochs: passes over the data (default: enough for ~4000 generator steps, 10–1000).
        batch_size: samples per step (default 64, smaller for small data sets).
        loss: "non_saturating" (default), "hinge" or "wasserstein_gp".
        d_steps: discriminator steps per generator step (default: the loss's own, 5 for WGAN-GP).
        latent_dim: size of the noise vector z.
        width: base number of convolution filters (default by image size).
        spectral_norm: spectral normalization in the discriminator.
        diffaugment: DiffAugment policy, e.g. "color,translation" (default: on below 1000 samples).
        ema: sample from an exponential moving average of the generator's weights.
        ema_decay: decay of that average.
        learning_rate: Adam learning rate of both players (β₁ = 0.5).
        conditional: condition on labels (default: whenever the data has labels).
        mixed_precision: False, True ("mixed_float16") or "mixed_bfloat16".
        jit_compile: compile the train step with XLA. Off by default: on 2 CPU cores it doubles
            the raw 8x8 step rate but made whole `train_gan` runs slower (compile and per-epoch
            overheads); measure with bench/train_throughput.py on your hardware.
        sample_every: write a sample grid every this many epochs (with ``output_dir``).
        checkpoint_every: write the training state every this many epochs (with ``checkpoint_dir``).
    """

    epochs: int | None = None
    batch_size: int | None = None
    loss: str = "non_saturating"
    d_steps: int | None = None
    latent_dim: int = 64
    width: int | None = None
    spectral_norm: bool = False
    diffaugment: str | None = None
    ema: bool = True
    ema_decay: float = 0.999
    learning_rate: float = 2e-4
    conditional: bool | None = None
    mixed_precision: bool | str = False
    jit_compile: bool = False
    sample_every: int | None = None
    checkpoint_every: int | None = None

    #: fields that change the model or the game (a checkpoint must match them to resume)
    ARCHITECTURE = ("batch_size", "loss", "d_steps", "latent_dim", "width", "spectral_norm",
                    "diffaugment", "ema", "ema_decay", "learning_rate", "conditional", "mixed_precision")

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]


def default_options(dataset: Dataset, **given: Any) -> TrainOptions:
    """Fill the options a caller left out, from the size of ``dataset``.

    Example:
        >>> default_options(load_dataset("digits")).batch_size  # doctest: +SKIP
        64
    """
    unknown = sorted(set(given) - set(TrainOptions.names()))
    if unknown:
        raise TypeError(
            f"Unknown training option(s) {unknown}. Expected some of: {TrainOptions.names()}."
        )
    opts = TrainOptions(**{k: v for k, v in given.items() if v is not None})
    n = len(dataset)
    if opts.batch_size is None:
        opts.batch_size = 64 if n >= 1024 else 32 if n >= 256 else 16
    opts.batch_size = int(min(opts.batch_size, n))
    if opts.conditional is None:
        opts.conditional = dataset.labeled
    if "diffaugment" not in given and n < 1000 and dataset.kind == "image":
        opts.diffaugment = "translation,color"
    steps_per_epoch = max(1, n // opts.batch_size)
    if opts.epochs is None:
        opts.epochs = int(min(1000, max(10, math.ceil(4000 / steps_per_epoch))))
    if opts.epochs < 0:
        raise DataError(f"Expected epochs >= 0. Received: epochs={opts.epochs}.")
    if opts.sample_every is None:
        opts.sample_every = max(1, opts.epochs // 5)
    if opts.checkpoint_every is None:
        opts.checkpoint_every = max(1, opts.epochs // 20)
    return opts


# ---------------------------------------------------------------------- the trained model
class TrainedGAN:
    """A trained GAN plus what it was trained on: samples come back as a `Dataset`.

    Attributes:
        model: the `ConditionalGAN` (generator, discriminator, EMA generator).
        history: per-epoch mean of d_loss, g_loss, d_real, d_fake.
    """

    def __init__(self, model: ConditionalGAN, history: dict[str, list[float]] | None = None) -> None:
        self.model = model
        meta = model.metadata
        self.kind: str = meta.get("kind", "image")
        self.sample_shape: tuple[int, ...] = tuple(meta["sample_shape"])
        self.class_names: tuple[str, ...] = tuple(meta.get("class_names", ()))
        self.options: dict[str, Any] = dict(meta.get("options", {}))
        self.history: dict[str, list[float]] = history if history is not None else dict(meta.get("history", {}))

    def __repr__(self) -> str:
        return (f"TrainedGAN(kind={self.kind!r}, shape={self.sample_shape}, classes={self.num_classes}, "
                f"epochs={len(self.history.get('d_loss', []))}, steps={self.model.steps_taken})")

    @property
    def num_classes(self) -> int:
        return self.model.num_classes

    @property
    def conditional(self) -> bool:
        return self.model.num_classes > 0

    def sample(
        self,
        n: int | None = None,
        *,
        labels: int | np.ndarray | list[int] | None = None,
        seed: int | None = None,
    ) -> Dataset:
        """Generate ``n`` samples as a Dataset of the training data's kind, shape and range.

        Args:
            n: how many (default: one batch per class, 100 × classes, or 1000 unconditional).
            labels: one class for all, or a label per sample (then ``n`` may be omitted).
                Default: classes in turn, so every class gets the same share.
            seed: the same seed gives the same samples (default: the training seed).

        Example:
            >>> fives = gan.sample(50, labels=5, seed=0)  # doctest: +SKIP
        """
        label_array = self._labels(n, labels)
        count = len(label_array) if label_array is not None else int(n if n is not None else 1000)
        rng = np.random.default_rng(self.model.seed if seed is None else seed)
        z = rng.standard_normal((count, self.model.latent_dim)).astype(np.float32)
        x = self.model.generate(z, label_array)
        return Dataset.from_arrays(
            x,
            label_array,
            self.class_names or None,
            source="gan",
            seed=self.model.seed if seed is None else seed,
        )

    def _labels(self, n: int | None, labels: Any) -> np.ndarray | None:
        if not self.conditional:
            if labels is not None:
                raise DataError("This GAN is unconditional (trained without labels). Received: labels=...; omit them.")
            return None
        k = self.num_classes
        if labels is None:
            count = 100 * k if n is None else int(n)
            return (np.arange(count) % k).astype(np.int64)
        arr = np.asarray(labels)
        if arr.ndim == 0:
            arr = np.full(100 if n is None else int(n), int(arr))
        elif n is not None and len(arr) != n:
            raise DataError(f"Expected n to match len(labels). Received: n={n}, len(labels)={len(arr)}.")
        if arr.dtype.kind not in "iu" or (len(arr) and (arr.min() < 0 or arr.max() >= k)):
            raise DataError(
                f"Expected integer labels in 0..{k - 1} ({', '.join(self.class_names)}). "
                f"Received: labels with values {np.unique(arr)[:10].tolist()}."
            )
        return arr.astype(np.int64)

    def save(self, path: str | os.PathLike) -> Path:
        """Save as a single ``.keras`` file (atomically); read it back with `load_gan`."""
        path = Path(path)
        if path.suffix != ".keras":
            raise DataError(f"Expected a path ending in .keras. Received: path={str(path)!r}.")
        self.model.metadata["history"] = self.history
        with atomic_path(path) as tmp:
            self.model.save(tmp)
        return path

    def save_pictures(self, directory: str | os.PathLike, *, seed: int = 0, per_class: int = 10) -> dict[str, Path]:
        """Write ``samples.png`` (a row per class) and ``training_curves.png`` into ``directory``."""
        from gan_augment.plots import save_history_plot, save_image_grid

        directory = Path(directory)
        out = {}
        if self.kind == "image":
            n = per_class * self.num_classes if self.conditional else per_class * per_class
            ds = self.sample(n, seed=seed)
            order = np.argsort(ds.y, kind="stable") if ds.y is not None else np.arange(len(ds))
            out["samples"] = save_image_grid(ds.x[order], directory / "samples.png",
                                             labels=None if ds.y is None else ds.y[order],
                                             class_names=self.class_names, title="generated samples")
        if self.history.get("d_loss"):
            out["curves"] = save_history_plot(self.history, directory / "training_curves.png")
        return out


def load_gan(path: str | os.PathLike) -> TrainedGAN:
    """Load a GAN saved with `TrainedGAN.save` (``safe_mode=True``: no code in the file runs)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"Expected a saved GAN (.keras file). Received: {str(path)!r}, which does not exist.")
    try:
        model = keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as exc:  # keras raises many types for a bad archive
        raise DataError(f"Expected a .keras file written by TrainedGAN.save. Received: {str(path)!r} ({exc}).") from exc
    if not isinstance(model, ConditionalGAN):
        raise DataError(f"Expected a gan_augment GAN in {str(path)!r}. Received: a {type(model).__name__}.")
    return TrainedGAN(model)


# ---------------------------------------------------------------------- training
def train_gan(
    dataset: Dataset,
    *,
    epochs: int | None = None,
    batch_size: int | None = None,
    seed: int = 0,
    checkpoint_dir: str | os.PathLike | None = None,
    output_dir: str | os.PathLike | None = None,
    strategy: tf.distribute.Strategy | None = None,
    callbacks: list[keras.callbacks.Callback] | None = None,
    verbose: int = 1,
    **options: Any,
) -> TrainedGAN:
    """Train a (class-conditional) GAN on ``dataset``.

    Args:
        dataset: the real data (`load_dataset(...)`); labels make the GAN conditional.
        epochs, batch_size: default from the data set size (see `default_options`).
        seed: seeds weights, noise, augmentation and data order; the same seed gives the same run.
        checkpoint_dir: where the full training state is saved every few epochs; a run started
            again with the same directory resumes from the last checkpoint.
        output_dir: where sample grids (every few epochs) and the loss curves go.
        strategy: a `tf.distribute.Strategy` (e.g. MirroredStrategy over GPUs).
        callbacks: extra Keras callbacks (they see the `ConditionalGAN` as ``self.model``).
        verbose: 0 silent, 1 a progress bar over epochs.
        **options: the other `TrainOptions` fields (loss, spectral_norm, diffaugment, …).

    Example:
        >>> gan = train_gan(load_dataset("digits"), epochs=50, loss="hinge")  # doctest: +SKIP
    """
    if not isinstance(dataset, Dataset):
        raise DataError(
            f"Expected a gan_augment Dataset (see load_dataset). Received: {type(dataset).__name__}."
        )
    opts = default_options(dataset, epochs=epochs, batch_size=batch_size, **options)
    _check_trainable(dataset, opts)
    strategy = strategy or tf.distribute.get_strategy()
    num_classes = dataset.num_classes if opts.conditional else 0
    fingerprint = {
        "kind": dataset.kind, "sample_shape": list(dataset.shape), "num_classes": num_classes,
        "n": len(dataset), "seed": seed,
        **{k: getattr(opts, k) for k in TrainOptions.ARCHITECTURE},
    }
    metadata = {
        "kind": dataset.kind,
        "sample_shape": list(dataset.shape),
        "class_names": list(dataset.class_names) if num_classes else [],
        "class_counts": dataset.class_counts().tolist() if dataset.labeled else [],
        "source": str(dataset.provenance.get("source", "")),
        "options": {k: v for k, v in dataclasses.asdict(opts).items()},
    }
    with strategy.scope():
        gan = build_gan(
            dataset.kind, dataset.shape, num_classes,
            latent_dim=opts.latent_dim, width=opts.width, spectral_norm=opts.spectral_norm,
            diffaugment=opts.diffaugment, ema=opts.ema, mixed_precision=opts.mixed_precision,
            seed=seed, metadata=metadata,
        )
        gan.compile(loss=opts.loss, d_steps=opts.d_steps, ema_decay=opts.ema_decay,
                    learning_rate=opts.learning_rate, jit_compile=opts.jit_compile)

    history: dict[str, list[float]] = {}
    initial_epoch = 0
    if ckpt.has_checkpoint(checkpoint_dir):
        record = ckpt.load_checkpoint(checkpoint_dir, gan, fingerprint)
        initial_epoch, history = int(record["epoch"]), record["history"]
        if verbose:
            print(f"Resuming from {checkpoint_dir}: epoch {initial_epoch}, step {gan.steps_taken}.")

    steps_per_epoch = len(dataset) // opts.batch_size
    if initial_epoch < opts.epochs:
        batches = _epoch_batches(dataset, opts.batch_size, seed, initial_epoch, opts.epochs, num_classes > 0)
        callbacks = [
            _NaNGuard(),  # first: it clears the logs of a diverged epoch
            _History(history),
            *([_Checkpoint(checkpoint_dir, fingerprint, history, opts.checkpoint_every, opts.epochs)]
              if checkpoint_dir is not None else []),
            *([_SampleGrids(output_dir, opts.sample_every, seed)] if output_dir is not None else []),
            *([_Progress(opts.epochs)] if verbose else []),
            *(callbacks or []),
        ]
        start = time.perf_counter()
        gan.fit(batches, epochs=opts.epochs, initial_epoch=initial_epoch,
                steps_per_epoch=steps_per_epoch, shuffle=False, verbose=0, callbacks=callbacks)
        seconds = time.perf_counter() - start
        if verbose:
            print(f"Trained epochs {initial_epoch + 1}–{len(history.get('d_loss', []))} "
                  f"({gan.steps_taken} steps in all) in {seconds:.1f} s.")
    trained = TrainedGAN(gan, history)
    if output_dir is not None:
        pictures = trained.save_pictures(output_dir, seed=seed)
        if verbose:
            for what, path in pictures.items():
                print(f"  {what}: {path}")
    return trained


def _check_trainable(dataset: Dataset, opts: TrainOptions) -> None:
    if opts.conditional:
        if not dataset.labeled:
            raise DataError("Expected labels to train a conditional GAN. Received: y=None. Pass conditional=False.")
        present = int((dataset.class_counts() > 0).sum())
        if present < 2:
            raise DataError(
                f"Expected at least 2 classes to train a conditional GAN. Received: {present} class "
                f"({dataset.class_names}). Add data of other classes, or pass conditional=False."
            )
    if len(dataset) < 2:
        raise DataError(f"Expected at least 2 samples to train on. Received: {len(dataset)}.")


def _epoch_batches(dataset: Dataset, batch_size: int, seed: int, first_epoch: int, epochs: int,
                   with_labels: bool) -> tf.data.Dataset:
    """Batches for epochs first_epoch..epochs-1; epoch e's order depends only on (seed, e), so a
    resumed run sees exactly the batches the uninterrupted run would have seen."""
    x = tf.constant(dataset.x)
    y = tf.constant(dataset.y.astype(np.int32)) if with_labels else None
    n = len(dataset)
    steps = n // batch_size

    def epoch_indices(epoch: tf.Tensor) -> tf.data.Dataset:
        perm = tf.random.experimental.stateless_shuffle(
            tf.range(n), seed=tf.stack([tf.cast(seed, tf.int64), epoch]))
        return tf.data.Dataset.from_tensor_slices(tf.reshape(perm[: steps * batch_size], [steps, batch_size]))

    def gather(idx: tf.Tensor) -> Any:
        return (tf.gather(x, idx), tf.gather(y, idx)) if with_labels else tf.gather(x, idx)

    return (tf.data.Dataset.range(first_epoch, epochs)
            .flat_map(epoch_indices)
            .map(gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
            .prefetch(tf.data.AUTOTUNE))


# ---------------------------------------------------------------------- callbacks
class _History(keras.callbacks.Callback):
    """Per-epoch metric means, appended to a dict that survives resumes."""

    def __init__(self, history: dict[str, list[float]]) -> None:
        super().__init__()
        self.history = history

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        for key, value in (logs or {}).items():  # empty after a diverged epoch
            self.history.setdefault(key, []).append(float(value))


class _NaNGuard(keras.callbacks.Callback):
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
        print(f"\nTraining diverged in epoch {epoch + 1} ({bad}); stopped and restored the weights "
              f"from the end of epoch {self.good_epoch}. Try a lower learning_rate, "
              "spectral_norm=True or loss='hinge'.")
        logs.clear()  # the bad epoch enters neither the history nor the progress bar


class _Checkpoint(keras.callbacks.Callback):
    def __init__(self, directory: Any, fingerprint: dict, history: dict, every: int, epochs: int) -> None:
        super().__init__()
        self.directory, self.fingerprint, self.history = Path(directory), fingerprint, history
        self.every, self.epochs = every, epochs

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        done = epoch + 1
        if self.model.stop_training:
            return  # the NaN guard restored older weights; keep the last good checkpoint
        if done % self.every == 0 or done == self.epochs:
            ckpt.save_checkpoint(self.directory, self.model,
                                 {"epoch": done, "step": self.model.steps_taken,
                                  "history": self.history, "fingerprint": self.fingerprint})


class _SampleGrids(keras.callbacks.Callback):
    """A grid of samples (fixed noise, one row per class) every few epochs."""

    def __init__(self, directory: Any, every: int, seed: int) -> None:
        super().__init__()
        self.directory, self.every, self.seed = Path(directory) / "progress", every, seed

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if (epoch + 1) % self.every or self.model.metadata.get("kind") != "image":
            return
        from gan_augment.plots import save_image_grid

        gan = self.model
        k = max(gan.num_classes, 1)
        labels = np.repeat(np.arange(k), 8) if gan.num_classes else None
        z = np.random.default_rng(self.seed).standard_normal((8 * k, gan.latent_dim)).astype(np.float32)
        save_image_grid(gan.generate(z, labels), self.directory / f"epoch_{epoch + 1:04d}.png",
                        labels=labels, class_names=gan.metadata.get("class_names", ()),
                        title=f"epoch {epoch + 1}")


class _Progress(keras.callbacks.Callback):
    """One progress bar over all epochs, with the latest losses and D outputs."""

    def __init__(self, epochs: int) -> None:
        super().__init__()
        self.epochs = epochs
        self.bar: keras.utils.Progbar | None = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        values = [(k, float(v)) for k, v in (logs or {}).items()]
        if not values:
            return
        if self.bar is None:
            self.bar = keras.utils.Progbar(self.epochs, unit_name="epoch",
                                           stateful_metrics=[k for k, _ in values])
        self.bar.update(epoch + 1, values=values)

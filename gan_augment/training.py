"""Training driver: `train_gan(dataset) -> TrainedGAN`, with checkpoints, a NaN guard, progress
output and pictures; `TrainedGAN.sample`, `.save` and `load_gan`.

Images and tables take the same path; what differs per data kind (option defaults, the model's
build options, the batches, sampling) is asked of the data's kind (`gan_augment.kinds`):

* ``"image"``: a conditional DCGAN (`gan_augment.models.build_image_gan`), batches of images;
* ``"table"``: a CTGAN-style conditional tabular GAN (`gan_augment.models.tabular`) with
  per-column encoders fitted on the real frame, batches made by training-by-sampling, WGAN-GP
  and PacGAN by default; `TrainedGAN.sample` returns a table Dataset with the real schema.

Example:
    >>> import gan_augment as ga
    >>> gan = ga.train_gan(ga.load_dataset("digits"), seed=0)        # doctest: +SKIP
    >>> fives = gan.sample(100, labels=5, seed=1)                    # doctest: +SKIP
    >>> gan.save("digits.keras"); same = ga.load_gan("digits.keras")  # doctest: +SKIP
    >>> penguins = ga.train_gan(ga.load_dataset("penguins"), seed=0)  # doctest: +SKIP
    >>> penguins.sample(10, labels=2).frame                          # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from gan_augment import checkpoint as ckpt
from gan_augment._io import save_keras
from gan_augment._quiet import quiet_tensorflow
from gan_augment.callbacks import Checkpoint, History, NaNGuard, Progress, TimeBudget
from gan_augment.data.dataset import Dataset
from gan_augment.errors import DataError, TrainingError
from gan_augment.kinds import DataKind, kind_of
from gan_augment.kinds.table import table_steps  # noqa: F401  (re-exported)
from gan_augment.logs import progress

quiet_tensorflow()  # before TensorFlow is imported: its C++ chatter stays off the console

import keras
import tensorflow as tf

from gan_augment.models import GANBase, build_gan


@dataclasses.dataclass
class TrainOptions:
    """Everything that shapes a training run. ``None`` fields get data-dependent defaults.

    Attributes:
        epochs: passes over the data (default: enough for ~4000 generator steps, 10–1000; tables:
            `table_steps` steps, 1500 up to 15 columns, more for wider tables).
        batch_size: samples per step (default 64, smaller for small data sets; tables: 500, a
            multiple of ``pac``, rows drawn with replacement by training-by-sampling).
        loss: "non_saturating", "hinge" or "wasserstein_gp" (default: "non_saturating" for
            images, "wasserstein_gp" for tables).
        d_steps: discriminator steps per generator step (default: the loss's own, 5 for WGAN-GP;
            tables: ``kinds.table.TABLE_D_STEPS``).
        latent_dim: size of the noise vector z.
        width: base number of convolution filters (default by image size); tables: width of
            the hidden layers (default 256).
        pac: tables only: PacGAN pack size, rows the critic judges together (default 10; 1: off).
        moment_weight: tables only: weight of the generator's moment-matching term (batch means
            and covariances of the rows' values match the real batch's; default
            ``kinds.table.TABLE_MOMENT_WEIGHT``; 0: off). See `TabularGAN.moment_loss`.
        spectral_norm: spectral normalization in the discriminator.
        diffaugment: DiffAugment policy, e.g. "color,translation" (default: on below 1000 samples).
        ema: sample from an exponential moving average of the generator's weights.
        ema_decay: decay of that average.
        learning_rate: Adam learning rate of both players (β₁ = 0.5; default 2e-4 for images,
            ``kinds.table.TABLE_LEARNING_RATE`` for tables).
        conditional: condition on labels (default: whenever the data has labels).
        mixed_precision: False, True ("mixed_float16") or "mixed_bfloat16".
        jit_compile: compile the train step with XLA. Off by default: on 2 CPU cores it doubles
            the raw 8x8 step rate but made whole `train_gan` runs slower (compile and per-epoch
            overheads); measure with bench/train_throughput.py on your hardware.
        sample_every: write a sample grid every this many epochs (with ``output_dir``).
        checkpoint_every: write the training state every this many epochs (with ``checkpoint_dir``).
        discriminators: images only: K discriminators of the same architecture, each starting
            from its own weights (GMAN, Durugkar et al. 2017). Default 1: the plain game.
        aggregation: how the generator's losses against the K discriminators combine: "mean"
            (default), "softmax" (Σ softmax(λ·L)·L, λ = ``GMAN_SOFTMAX_LAMBDA``) or "max".
        r1: images only: weight γ of the R1 penalty γ/2·E‖∇D(x)‖² on real images (Mescheder et
            al. 2018). Default 0: off.
        lecam: images only: weight λ of LeCam regularization (Tseng et al. 2021), anchored on
            moving averages (decay 0.99) of the mean real and fake logits. Default 0: off.
        bcr: images only: weight λ of balanced consistency regularization (Zhao et al. 2021), with
            the DiffAugment policy (or "translation") as the transform. Default 0: off.
        ada_target: images only: adaptive discriminator augmentation (Karras et al. 2020) aiming
            E[sign(D(real))] at this target (e.g. 0.6): the DiffAugment policy (or all three
            transforms) is applied per image with a probability p, logged as ``ada_p``.
            Default None: off.
        mode_seeking: images only: weight λ of the mode-seeking term (MSGAN, Mao et al. 2019)
            in the generator's loss, against template-like samples. Default 0: off.
        early_stop: end training by a criterion instead of at ``epochs`` (then the most it may
            run): every ``epochs // PLATEAU_CHECKS`` epochs the Fréchet distance between the
            (EMA) generator's samples and the real data, in a PCA space of the real data, is
            measured; training stops when it has not improved by ``PLATEAU_MIN_DELTA`` for
            ``early_stop_patience`` checks (not before ``PLATEAU_MIN_SHARE`` of the epochs), and
            the generator of the best check is kept (a run it stopped is finished: training
            again with its ``checkpoint_dir`` trains nothing more). ``TrainedGAN.stop_reason``
            says what happened; the curve is ``history["plateau_fd"]``. Default: off — on 5–50
            digits per class it saved 35–60 % of the training time but its generators were less
            useful (GAN-only accuracy and the gain over classical augmentation 1–5 points lower;
            bench/training_length.py, docs/BENCHMARKS.md).
        early_stop_patience: checks without improvement before stopping.
        time_budget: seconds of training after which the run ends at the next epoch's end (the
            last weights are kept; with ``checkpoint_dir`` a later call trains on from there).
            Default None: no limit.
    """

    epochs: int | None = None
    batch_size: int | None = None
    loss: str | None = None
    d_steps: int | None = None
    latent_dim: int = 64
    width: int | None = None
    spectral_norm: bool = False
    diffaugment: str | None = None
    ema: bool = True
    ema_decay: float = 0.999
    learning_rate: float | None = None
    conditional: bool | None = None
    mixed_precision: bool | str = False
    jit_compile: bool = False
    sample_every: int | None = None
    checkpoint_every: int | None = None
    pac: int | None = None
    moment_weight: float | None = None
    discriminators: int = 1
    aggregation: str = "mean"
    r1: float = 0.0
    lecam: float = 0.0
    bcr: float = 0.0
    ada_target: float | None = None
    mode_seeking: float = 0.0
    early_stop: bool = False
    early_stop_patience: int = 4
    time_budget: float | None = None

    #: fields that change the model or the game (a checkpoint must match them to resume)
    ARCHITECTURE = ("batch_size", "loss", "d_steps", "latent_dim", "width", "spectral_norm",
                    "diffaugment", "ema", "ema_decay", "learning_rate", "conditional", "mixed_precision",
                    "discriminators", "aggregation", "r1", "lecam", "bcr", "ada_target", "mode_seeking")
    #: ...and those that only some kinds use (in the fingerprint when set)
    KIND_ARCHITECTURE = ("pac", "moment_weight")

    #: fields added after checkpoints existed: an older checkpoint resumes when they are at default
    ADDED = ("discriminators", "aggregation", "r1", "lecam", "bcr", "ada_target", "mode_seeking")

    @classmethod
    def names(cls) -> list[str]:
        """The names of all options."""
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def added_defaults(cls) -> dict[str, Any]:
        """``{name: default}`` of the `ADDED` fields."""
        return {f.name: f.default for f in dataclasses.fields(cls) if f.name in cls.ADDED}


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
    if opts.conditional is None:
        opts.conditional = dataset.labeled
    kind_of(dataset).train_defaults(dataset, opts, given)
    if opts.epochs < 0:
        raise DataError(f"Expected epochs >= 0. Received: epochs={opts.epochs}.")
    if opts.time_budget is not None and (isinstance(opts.time_budget, bool)
                                         or not isinstance(opts.time_budget, (int, float)) or not opts.time_budget > 0):
        raise DataError(f"Expected time_budget as seconds > 0 (or None: no limit). Received: "
                        f"time_budget={opts.time_budget!r}.")
    if opts.sample_every is None:
        opts.sample_every = max(1, opts.epochs // 5)
    if opts.checkpoint_every is None:
        opts.checkpoint_every = max(1, opts.epochs // 20)
    return opts


#: ``early_stop``: about this many checks over the longest run ...
PLATEAU_CHECKS = 25
#: ... an improvement is a Fréchet distance this much (relative) below the last improvement ...
PLATEAU_MIN_DELTA = 0.03
#: ... and no stop before this share of the epochs.
PLATEAU_MIN_SHARE = 0.2
#: ``early_stop``: samples generated per check (at least the real set's size when smaller) and
#: dimensions of the PCA space the Fréchet distance is measured in.
PLATEAU_SAMPLES = 500
PLATEAU_DIMS = 16


# ---------------------------------------------------------------------- the trained model
class TrainedGAN:
    """A trained GAN plus what it was trained on: samples come back as a `Dataset`.

    Attributes:
        model: the GAN (a `GANBase`: generator, discriminator, EMA generator).
        history: per-epoch mean of d_loss, g_loss, d_real, d_fake (and of the weighted r1, lecam,
            bcr terms when those are on; ADA's p at the end of each epoch as ada_p); per check,
            ``plateau_fd`` / ``plateau_epoch`` with ``early_stop``; per training call,
            ``train_seconds``.
    """

    def __init__(self, model: GANBase, history: dict[str, list[float]] | None = None) -> None:
        self.model = model
        meta = model.metadata
        self.kind: str = meta.get("kind", "image")
        self.sample_shape: tuple[int, ...] = tuple(meta["sample_shape"])
        self.class_names: tuple[str, ...] = tuple(meta.get("class_names", ()))
        self.target: str | None = meta.get("target")
        self.options: dict[str, Any] = dict(meta.get("options", {}))
        self.history: dict[str, list[float]] = history if history is not None else dict(meta.get("history", {}))
        #: why training ended (epochs reached, divergence, a callback), saved with the model
        self.stop_reason: str = str(meta.get("stop_reason", ""))

    def __repr__(self) -> str:
        return (f"TrainedGAN(kind={self.kind!r}, shape={self.sample_shape}, classes={self.num_classes}, "
                f"epochs={len(self.history.get('d_loss', []))}, steps={self.model.steps_taken})")

    @property
    def train_seconds(self) -> float:
        """Seconds the training calls took (summed over resumed runs; saved with the history)."""
        return float(sum(self.history.get("train_seconds", [])))

    @property
    def num_classes(self) -> int:
        return self.model.num_classes

    @property
    def columns(self) -> list[Any] | None:
        """A table GAN's column names, in order (``None`` for images)."""
        encoder = getattr(self.model, "encoder", None)
        return None if encoder is None else encoder.column_names

    @property
    def conditional(self) -> bool:
        return self.model.num_classes > 0

    def sample(
        self,
        n: int | None = None,
        *,
        labels: int | np.ndarray | list[int] | None = None,
        seed: int | None = None,
        upscaler: Any = None,
    ) -> Dataset:
        """Generate ``n`` samples as a Dataset of the training data's kind, shape and range.

        Images come back as float32 in [0, 1]; table rows as a DataFrame with the real columns,
        order, dtypes, categories and value ranges (and missing values at the learned rate).

        Args:
            n: how many (default: one batch per class, 100 × classes, or 1000 unconditional).
            labels: one class for all, or a label per sample (then ``n`` may be omitted).
                Default: classes in turn, so every class gets the same share.
            seed: the same seed gives the same samples (default: the training seed).
            upscaler: a `TrainedUpscaler` (`train_srgan`): generate at the GAN's low
                resolution, then upscale (cheap high-resolution generation); images only.

        Raises:
            DataError: before anything is allocated, when the samples would take more than the
                memory budget (`gan_augment.data.images.check_fits_in_memory`); `sample_to`
                writes any number of them to disk in the memory of one shard.

        Example:
            >>> fives = gan.sample(50, labels=5, seed=0)  # doctest: +SKIP
            >>> big = gan.sample(50, upscaler=train_srgan("rendered_digits"))  # doctest: +SKIP
            >>> gan.sample(5, labels=1).frame             # a table GAN  # doctest: +SKIP
        """
        if n is not None:  # before the labels of n samples are allocated
            self._check_memory(int(n))
        label_array = self._labels(n, labels)
        count = len(label_array) if label_array is not None else int(n if n is not None else 1000)
        self._check_memory(count)
        seed = self.model.seed if seed is None else int(seed)
        samples = kind_of(self).sample(self, label_array, count, seed)
        return samples if upscaler is None else upscaler.upscale(samples)

    def sample_to(self, path: str | os.PathLike, n: int | None = None, **kw: Any) -> Path:
        """Generate ``n`` samples straight into files under the folder ``path``, shard by shard, in
        the memory of one shard (images: a TFDS directory or ``format="npz"``; tables: parquet);
        a rerun after a kill resumes. Keywords as `gan_augment.streaming.sample_to` (``labels``,
        ``seed``, ``shard_size``, ``format``, ``verbose``).

        Example:
            >>> gan.sample_to("out/tfds_1m", 1_000_000, seed=0)  # doctest: +SKIP
        """
        from gan_augment.streaming import sample_to

        return sample_to(self, path, n, **kw)

    def _check_memory(self, count: int) -> None:
        """`DataError` naming `sample_to` when ``count`` samples would not fit in memory."""
        from gan_augment.data.images import check_fits_in_memory, sample_bytes

        check_fits_in_memory(
            count * sample_bytes(self.sample_shape), f"{count} samples of shape {self.sample_shape}",
            "Ask for fewer, or write them to disk shard by shard in bounded memory with "
            "gan.sample_to(folder, n) (gan_augment.streaming.sample_to; CLI: gan-augment generate "
            "streams to a folder by itself).")

    def _labels(self, n: int | None, labels: Any) -> np.ndarray | None:
        if not self.conditional:
            if labels is not None:
                raise DataError("This GAN is unconditional (trained without labels). Received: labels=...; omit them.")
            return None
        return sample_labels(n, labels, self.class_names)

    def save(self, path: str | os.PathLike) -> Path:
        """Save as a single ``.keras`` file (atomically); read it back with `load_gan`."""
        self.model.metadata["history"] = self.history
        return save_keras(self.model, path)

    def save_pictures(self, directory: str | os.PathLike, *, seed: int = 0, per_class: int = 10) -> dict[str, Path]:
        """Write ``samples.png`` (a row per class) and ``training_curves.png`` into ``directory``."""
        from gan_augment.plots import save_history_plot

        directory = Path(directory)
        out = {}
        kind = kind_of(self)
        if kind.has_grid:  # tables: the curves only
            n = per_class * self.num_classes if self.conditional else per_class * per_class
            ds = self.sample(n, seed=seed)
            out["samples"] = kind.sample_grid(ds, directory / "samples.png", title="generated samples",
                                              per_class=per_class)
        if self.history.get("d_loss"):
            out["curves"] = save_history_plot(self.history, directory / "training_curves.png")
        return out


def sample_labels(n: int | None, labels: Any, class_names: tuple[str, ...]) -> np.ndarray:
    """The labels ``sample(n, labels=...)`` generates: every class in turn (``labels=None``; 100
    per class without ``n``), ``n`` times one label, or the given labels, checked against the
    classes."""
    k = len(class_names)
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
            f"Expected integer labels in 0..{k - 1} ({', '.join(class_names)}). "
            f"Received: labels with values {np.unique(arr)[:10].tolist()}."
        )
    return arr.astype(np.int64)


def load_gan(path: str | os.PathLike) -> TrainedGAN:
    """Load a GAN saved with `TrainedGAN.save` (``safe_mode=True``: no code in the file runs).

    Example:
        >>> gan = load_gan("data/outputs/penguins/gan.keras")  # doctest: +SKIP
    """
    from gan_augment.models import load_model
    from gan_augment.models.cyclegan import CycleGAN

    model = load_model(path, what="a GAN written by TrainedGAN.save")
    if isinstance(model, CycleGAN):
        raise DataError(f"Expected a GAN in {str(path)!r}. Received: a translator (CycleGAN); load it with "
                        "load_translator, or either kind with load_trained.")
    if not isinstance(model, GANBase):
        raise DataError(f"Expected a gan_augment GAN in {str(path)!r}. Received: a {type(model).__name__}.")
    return TrainedGAN(model)


def load_trained(path: str | os.PathLike) -> Any:
    """A `TrainedGAN` or a `TrainedTranslator`, whichever ``path`` holds (the pipeline's model
    store and ``gan-augment generate`` take both).

    Example:
        >>> load_trained("data/outputs/digits/model.keras")  # doctest: +SKIP
    """
    from gan_augment.models import load_model
    from gan_augment.models.cyclegan import CycleGAN

    model = load_model(path, what="a GAN or a translator")
    if isinstance(model, CycleGAN):
        from gan_augment.translation import translator_for

        return translator_for(model)
    if not isinstance(model, GANBase):
        raise DataError(f"Expected a gan_augment GAN or translator in {str(path)!r}. Received: a {type(model).__name__}.")
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
    strategy: tf.distribute.Strategy | str | None = None,
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
        strategy: a `tf.distribute.Strategy` (e.g. MirroredStrategy over GPUs), or
            ``"multi_worker"``: a `tf.distribute.MultiWorkerMirroredStrategy` over the cluster
            the ``TF_CONFIG`` environment variable describes (start the same call on every
            worker; each batch of ``batch_size`` is split across the workers' replicas; only the
            chief writes ``checkpoint_dir`` and ``output_dir``, which every worker must be able
            to read to resume).
        callbacks: extra Keras callbacks (they see the GAN as ``self.model``).
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
    kind = kind_of(dataset)
    strategy = _distribution(strategy)
    chief = _is_chief(strategy)
    num_classes = dataset.num_classes if opts.conditional else 0
    fingerprint = {
        "kind": dataset.kind, "sample_shape": list(dataset.shape), "num_classes": num_classes,
        "n": len(dataset), "seed": seed,
        **{k: getattr(opts, k) for k in TrainOptions.ARCHITECTURE},
        **{k: getattr(opts, k) for k in TrainOptions.KIND_ARCHITECTURE if getattr(opts, k) is not None},
    }
    metadata = {
        "kind": dataset.kind,
        "sample_shape": list(dataset.shape),
        "class_names": list(dataset.class_names) if num_classes else [],
        "class_counts": dataset.class_counts().tolist() if dataset.labeled else [],
        "source": str(dataset.provenance.get("source", "")),
        "options": {k: v for k, v in dataclasses.asdict(opts).items()},
        **({"target": dataset.target} if dataset.target is not None else {}),
        **({"class_dtype": dataset.class_dtype} if dataset.class_dtype else {}),
    }
    with strategy.scope():
        gan = build_gan(dataset.kind, dataset.shape, num_classes, **kind.build_options(dataset, opts, seed),
                        seed=seed, metadata=metadata)
        gan.compile(loss=opts.loss, d_steps=opts.d_steps, ema_decay=opts.ema_decay,
                    learning_rate=opts.learning_rate, jit_compile=opts.jit_compile)

    history: dict[str, list[float]] = {}
    initial_epoch, finished = 0, ""
    if ckpt.has_checkpoint(checkpoint_dir):
        record = ckpt.load_checkpoint(checkpoint_dir, gan, fingerprint, defaults=TrainOptions.added_defaults())
        initial_epoch, history = int(record["epoch"]), record["history"]
        finished = str(record.get("stop_reason", "")) if opts.early_stop else ""
        if finished:  # the criterion ended this run (early_stop=False trains on from there)
            initial_epoch = opts.epochs
        elif verbose:
            progress(f"Resuming from {checkpoint_dir}: epoch {initial_epoch}, step {gan.steps_taken}.")

    steps_per_epoch = kind.steps_per_epoch(len(dataset), opts.batch_size)
    stop_reason = (f"already trained: {finished}" if finished else
                   f"already trained: the checkpoint holds all {opts.epochs} epochs")
    # Only the chief writes: the other workers save into a folder of their own that is then removed
    # (they still go through the same saves, as TensorFlow recommends for multi-worker training).
    scratch = None if chief or checkpoint_dir is None else tempfile.mkdtemp(prefix="gan_augment_worker_")
    save_dir = checkpoint_dir if scratch is None else scratch
    output_dir = output_dir if chief else None
    if initial_epoch < opts.epochs:
        batches = kind.batches(gan, dataset, opts.batch_size, seed, initial_epoch, opts.epochs, num_classes > 0)
        if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and isinstance(batches, tf.data.Dataset):
            # every worker builds the same batches; each keeps its replicas' share of every batch
            shard = tf.data.Options()
            shard.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
            batches = batches.with_options(shard)
        guard = NaNGuard()
        plateau = (_Plateau(dataset, kind, every=max(1, opts.epochs // PLATEAU_CHECKS),
                            patience=opts.early_stop_patience,
                            min_epoch=int(PLATEAU_MIN_SHARE * opts.epochs), history=history, seed=seed)
                   if opts.early_stop else None)
        budget = TimeBudget(opts.time_budget) if opts.time_budget else None
        callbacks = [
            guard,  # first: it clears the logs of a diverged epoch
            History(history),
            *([plateau] if plateau is not None else []),
            *([budget] if budget is not None else []),
            # the epoch's picture before its checkpoint: a kill between them cannot lose the picture
            *([_SampleGrids(output_dir, opts.sample_every, seed)] if output_dir is not None else []),
            *([Checkpoint(save_dir, fingerprint, history, opts.checkpoint_every, opts.epochs)]
              if save_dir is not None else []),
            *([Progress(opts.epochs)] if verbose else []),
            *(callbacks or []),
        ]
        start = time.perf_counter()
        try:
            gan.fit(batches, epochs=opts.epochs, initial_epoch=initial_epoch,
                    steps_per_epoch=steps_per_epoch, shuffle=False, verbose=0, callbacks=callbacks)
        finally:
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)
        seconds = time.perf_counter() - start
        history.setdefault("train_seconds", []).append(seconds)
        done = len(history.get("d_loss", []))
        stop_reason = (guard.reason() if guard.tripped else
                       plateau.reason() if plateau is not None and plateau.stopped_at is not None else
                       budget.reason() if budget is not None and budget.stopped_at is not None else
                       f"stopped by a callback after epoch {done}" if done < opts.epochs else
                       f"reached epochs={opts.epochs} ({gan.steps_taken} generator steps)"
                       + (plateau.reason() if plateau is not None else ""))
        if plateau is not None and plateau.stopped_at is not None and checkpoint_dir is not None \
                and not guard.tripped and chief:
            # the final state (with the kept generator): a rerun with this checkpoint_dir finds it finished
            ckpt.save_checkpoint(checkpoint_dir, gan, {"epoch": done, "step": gan.steps_taken, "history": history,
                                                       "fingerprint": fingerprint, "stop_reason": stop_reason})
        if verbose:
            if plateau is not None and plateau.stopped_at is not None:
                progress(f"Stopped early: {stop_reason}.")
            progress(f"Trained epochs {initial_epoch + 1}–{done} "
                  f"({gan.steps_taken} steps in all) in {seconds:.1f} s.")
    gan.metadata["stop_reason"] = stop_reason
    trained = TrainedGAN(gan, history)
    if output_dir is not None:
        pictures = trained.save_pictures(output_dir, seed=seed)
        if verbose:
            for what, path in pictures.items():
                progress(f"  {what}: {path}")
    return trained


#: ``strategy="multi_worker"``: the strategy made for each ``TF_CONFIG`` (TensorFlow allows one per process)
_MULTI_WORKER: dict[str, tf.distribute.Strategy] = {}


def _distribution(strategy: tf.distribute.Strategy | str | None) -> tf.distribute.Strategy:
    """The strategy ``train_gan`` trains under: the given one, the current one (``None``) or, for
    ``"multi_worker"``, a `MultiWorkerMirroredStrategy` over the ``TF_CONFIG`` cluster."""
    if strategy is None:
        return tf.distribute.get_strategy()
    if not isinstance(strategy, str):
        return strategy
    if strategy != "multi_worker":
        raise DataError(f"Expected strategy as a tf.distribute.Strategy, None or \"multi_worker\". "
                        f"Received: strategy={strategy!r}.")
    raw = os.environ.get("TF_CONFIG", "")
    parse_tf_config(raw)
    if raw not in _MULTI_WORKER:
        try:
            _MULTI_WORKER[raw] = tf.distribute.MultiWorkerMirroredStrategy()
        except (RuntimeError, ValueError) as error:
            raise TrainingError(f"Could not start multi-worker training from TF_CONFIG ({error}). Call train_gan "
                                f"before any other TensorFlow op of the process, or pass a "
                                f"MultiWorkerMirroredStrategy made at the start as strategy.") from None
    return _MULTI_WORKER[raw]


def parse_tf_config(raw: str) -> dict[str, Any]:
    """``TF_CONFIG`` (the JSON a cluster scheduler sets for every worker) checked: a cluster with
    this process's task in it; `DataError` naming the problem and the expected form otherwise.

    Example:
        >>> parse_tf_config('{"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 1}}')["task"]
        {'type': 'worker', 'index': 1}
    """
    example = ('TF_CONFIG=\'{"cluster": {"worker": ["host1:port", "host2:port"]}, '
               '"task": {"type": "worker", "index": 0}}\'')
    if not raw.strip():
        raise DataError(f"Expected the TF_CONFIG environment variable for strategy=\"multi_worker\". "
                        f"Received: none. Set it on every worker (a cluster scheduler does), e.g. {example}.")
    try:
        config = json.loads(raw)
        cluster, task = config["cluster"], config["task"]
        kind, index = str(task["type"]), int(task["index"])
        members = cluster.get(kind)
        if (not isinstance(cluster.get("worker", []), list) or not isinstance(members, list)
                or not 0 <= index < len(members)):
            raise ValueError(f"task {kind} {index} is not in the cluster")
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise DataError(f"Expected TF_CONFIG as JSON with a cluster and this process's task in it. Received: "
                        f"{raw[:200]!r} ({type(error).__name__}: {error}). Fix it like {example}.") from None
    return config


def is_chief_worker() -> bool:
    """Whether this process is the one that writes under ``strategy="multi_worker"``: True
    without ``TF_CONFIG``; with it, for the ``chief`` task, else worker 0 (as `train_gan` decides)."""
    raw = os.environ.get("TF_CONFIG", "")
    if not raw.strip():
        return True
    config = parse_tf_config(raw)
    task = config["task"]
    if task["type"] == "chief":
        return True
    return task["type"] == "worker" and int(task["index"]) == 0 and "chief" not in config["cluster"]


def _is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes checkpoints and outputs: always, but under multi-worker
    training only the chief (the "chief" task, else worker 0)."""
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return True
    resolver = strategy.cluster_resolver
    kind, index = resolver.task_type, resolver.task_id
    if kind is None:  # a single worker without TF_CONFIG
        return True
    if kind == "chief":
        return True
    return kind == "worker" and index == 0 and "chief" not in resolver.cluster_spec().as_dict()


def _check_trainable(dataset: Dataset, opts: TrainOptions) -> None:
    kind_of(dataset).check_trainable(dataset, opts)
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


# ---------------------------------------------------------------------- callbacks
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


class _Plateau(keras.callbacks.Callback):
    """The ``early_stop`` criterion: every ``every`` epochs, the Fréchet distance between a fixed
    batch of generated samples (same noise, the real class proportions) and the real data, in a
    PCA space fitted on the real data — per class (diagonal covariances) for a conditional GAN,
    the mean over classes; stops when it has not improved by ``PLATEAU_MIN_DELTA`` for
    ``patience`` checks (not before ``min_epoch``) and puts back the generator of the best check."""

    def __init__(self, dataset: Dataset, support: DataKind, *, every: int, patience: int,
                 min_epoch: int, history: dict[str, list[float]], seed: int) -> None:
        super().__init__()
        self.dataset, self.support = dataset, support
        self.every, self.patience, self.min_epoch = every, patience, min_epoch
        self.history, self.seed = history, seed
        self.best = math.inf  # the lowest distance so far (its generator is kept) ...
        self.best_epoch = 0
        self.best_weights: list[np.ndarray] | None = None
        self.reference = math.inf  # ... and the last one that improved by PLATEAU_MIN_DELTA
        self.stale = 0
        self.stopped_at: int | None = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        real = self.support.numeric(self.model, self.dataset)
        self.mean = real.mean(axis=0)
        _, _, vt = np.linalg.svd(real - self.mean, full_matrices=False)
        self.basis = vt[: max(1, min(PLATEAU_DIMS, len(real) - 1))].T
        self.real = (real - self.mean) @ self.basis
        count = max(PLATEAU_SAMPLES, len(self.dataset))
        rng = np.random.default_rng(self.seed)
        self.labels = (rng.choice(self.dataset.y, size=count).astype(np.int64)
                       if self.model.num_classes and self.dataset.y is not None else None)
        self.count = count

    def score(self) -> float:
        fake = self.support.sample(TrainedGAN(self.model, {}), self.labels, self.count, self.seed + 7)
        projected = (self.support.numeric(self.model, fake) - self.mean) @ self.basis
        if self.labels is None:
            from gan_augment.validation.metrics import frechet_distance

            return frechet_distance(self.real, projected)
        # class-conditional: the mean over classes of the Fréchet distance between diagonal
        # Gaussians, ‖μ_r − μ_s‖² + Σ (σ_r − σ_s)² (stable with a handful of real samples per class)
        distances = []
        for c in np.unique(self.dataset.y):
            real, fake_c = self.real[self.dataset.y == c], projected[self.labels == c]
            if len(fake_c) < 2:
                continue
            distances.append(float(np.sum((real.mean(0) - fake_c.mean(0)) ** 2)
                                   + np.sum((real.std(0) - fake_c.std(0)) ** 2)))
        return float(np.mean(distances)) if distances else math.inf

    def _generators(self) -> list[Any]:
        return [net for net in (self.model.generator, getattr(self.model, "ema_generator", None)) if net is not None]

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if (epoch + 1) % self.every or self.model.stop_training:
            return
        fd = self.score()
        self.history.setdefault("plateau_fd", []).append(fd)
        self.history.setdefault("plateau_epoch", []).append(float(epoch + 1))
        if fd < self.best:
            self.best, self.best_epoch = fd, epoch + 1
            self.best_weights = [w for net in self._generators() for w in net.get_weights()]
        if fd < self.reference * (1.0 - PLATEAU_MIN_DELTA):
            self.reference, self.stale = fd, 0
            return
        self.stale += 1
        if self.stale >= self.patience and epoch + 1 >= self.min_epoch:
            self.stopped_at = epoch + 1
            self.model.stop_training = True

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.stopped_at is None or self.best_weights is None or self.best_epoch == self.last_check():
            return  # a run that reached its epochs keeps its last weights (it may be resumed further)
        weights = iter(self.best_weights)
        for net in self._generators():
            net.set_weights([next(weights) for _ in net.get_weights()])

    def last_check(self) -> int:
        epochs = self.history.get("plateau_epoch", [])
        return int(epochs[-1]) if epochs else 0

    def reason(self) -> str:
        if self.best_weights is None:
            return ""
        kept = f"the generator of epoch {self.best_epoch} (best Fréchet distance {self.best:.3g}) was kept"
        if self.stopped_at is not None:
            return (f"early_stop: the Fréchet distance to the real data did not improve by "
                    f"{PLATEAU_MIN_DELTA:.0%} in {self.patience} checks (every {self.every} epochs); "
                    f"stopped after epoch {self.stopped_at}, {kept}")
        return f"; the criterion never stopped it (Fréchet distance {self.best:.3g} at best)"

"""Images: float32 NHWC arrays in [0, 1], a DCGAN-style conditional GAN, a domain CNN for the
gates, shift-and-rotate classical augmentation, `.npz` / TFDS files and picture grids."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gan_augment._tfdata import without_autotune
from gan_augment.errors import DataError
from gan_augment.kinds.base import DataKind, ValidationSpace, per_dataset

if TYPE_CHECKING:
    from gan_augment.data.dataset import Dataset

#: Classical augmentation: the largest random shift, as a fraction of the image height / width,
#: and the largest random rotation in degrees (either way).
MAX_SHIFT_FRACTION = 1 / 8
MAX_ROTATION_DEGREES = 12.0
#: Default steps of a training run: epochs are chosen for about this many generator steps.
IMAGE_STEPS = 4000
#: A conditional GAN refuses a class with fewer images: one image is all the generator sees of
#: its class, it copies it (the memorization gate fails after the whole training run).
MIN_IMAGES_PER_CLASS = 2


class ImageKind(DataKind):
    name = "image"
    noun = "samples"
    sample_suffixes = (".npz",)
    stream_formats = ("tfds", "npz")
    default_classifier = "cnn"
    classifiers = ("cnn", "logreg", "hgb", "svm")
    has_grid = True

    # ------------------------------------------------------------------ the container
    def check_payload(self, x: Any, frame: Any) -> int:
        if frame is not None:
            raise DataError("An image Dataset takes `x`, not `frame`. Received: frame=DataFrame.")
        _check_images(x)
        return len(x)

    def payload(self, dataset: Dataset) -> np.ndarray:
        return dataset.x

    def content_bytes(self, dataset: Dataset) -> bytes:
        return np.ascontiguousarray(dataset.x).tobytes()

    def describe(self, dataset: Dataset) -> str:
        return f"shape={dataset.shape}"

    def align(self, part: Dataset, like: Dataset, name: str) -> Dataset:
        if part.shape != like.shape:
            raise DataError(f"Expected `{name}` images of shape {like.shape} like the real data. "
                            f"Received: {name} sample shape {part.shape}.")
        return part

    # ------------------------------------------------------------------ training
    def train_defaults(self, dataset: Dataset, opts: Any, given: dict[str, Any]) -> None:
        from gan_augment.models.regularizers import check_aggregation, check_regularizers

        n = len(dataset)
        if opts.loss is None:
            opts.loss = "non_saturating"
        if opts.learning_rate is None:
            opts.learning_rate = 2e-4
        if opts.batch_size is None:
            opts.batch_size = 64 if n >= 1024 else 32 if n >= 256 else 16
        opts.batch_size = int(min(opts.batch_size, n))
        if "diffaugment" not in given and n < 1000:
            opts.diffaugment = "translation,color"
        for option in ("pac", "moment_weight"):
            if getattr(opts, option) is not None:
                raise DataError(f"Expected {option} only for tables. Received: {option}="
                                f"{getattr(opts, option)} for image data. Remove it.")
        check_aggregation(opts.aggregation)
        check_regularizers(r1=opts.r1, lecam=opts.lecam, bcr=opts.bcr, ada_target=opts.ada_target,
                           mode_seeking=opts.mode_seeking)
        if opts.epochs is None:
            opts.epochs = int(min(1000, max(10, math.ceil(IMAGE_STEPS / max(1, n // opts.batch_size)))))

    def check_trainable(self, dataset: Dataset, opts: Any) -> None:
        """Before training: every class present has at least `MIN_IMAGES_PER_CLASS` images
        (a conditional GAN; classes with no image at all are allowed)."""
        if not opts.conditional or dataset.y is None:
            return
        counts = dataset.class_counts()
        small = {dataset.class_names[c]: int(counts[c]) for c in range(len(counts))
                 if 0 < counts[c] < MIN_IMAGES_PER_CLASS}
        if small:
            raise DataError(
                f"Expected at least {MIN_IMAGES_PER_CLASS} images of every class to train a conditional GAN "
                f"(from one image the generator learns a copy of it). Received: {small} (images per class). "
                "Collect more images of these classes, merge them into others, or drop them "
                "(dataset.take(np.flatnonzero(...))); augment holds a quarter of every class out for its "
                "utility gate (utility=False, CLI --no-utility, trains on all)."
            )

    def steps_per_epoch(self, n: int, batch_size: int) -> int:
        return max(1, n // batch_size)

    def build_options(self, dataset: Dataset, opts: Any, seed: int) -> dict[str, Any]:
        names = ("latent_dim", "width", "spectral_norm", "diffaugment", "ema", "mixed_precision",
                 "discriminators", "aggregation", "r1", "lecam", "bcr", "ada_target", "mode_seeking")
        return {name: getattr(opts, name) for name in names}

    def batches(self, gan: Any, dataset: Dataset, batch_size: int, seed: int, first_epoch: int,
                epochs: int, with_labels: bool) -> Any:
        import tensorflow as tf

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

        # a gather from memory is cheap: no parallel map, one batch prefetched. With AUTOTUNE (map
        # and prefetch) 60 epochs of digits took 13.8-14.8 s on 2 cores, without 11.6-13.3 s
        return without_autotune(tf.data.Dataset.range(first_epoch, epochs)
                                .flat_map(epoch_indices)
                                .map(gather)
                                .prefetch(2))

    def sample(self, trained: Any, labels: np.ndarray | None, count: int, seed: int) -> Dataset:
        from gan_augment.data.dataset import Dataset

        rng = np.random.default_rng(seed)
        z = rng.standard_normal((count, trained.model.latent_dim)).astype(np.float32)
        x = trained.model.generate(z, labels)
        return Dataset.from_arrays(x, labels, trained.class_names or None, source="gan", seed=seed)

    def numeric(self, gan: Any, dataset: Dataset) -> np.ndarray:
        return _pixels(dataset)

    # ------------------------------------------------------------------ validation
    @property
    def thresholds(self) -> type:
        from gan_augment.validation.report import Thresholds

        return Thresholds

    def validation_space(self, real: Dataset, *, encoder: Any, seed: int, cache_dir: Any,
                         verbose: int) -> ValidationSpace:
        from gan_augment.validation.features import DomainEncoder, fit_domain_encoder

        if encoder is None:
            encoder = fit_domain_encoder(real, seed=seed, cache_dir=cache_dir, verbose=max(0, verbose - 1))
        elif not isinstance(encoder, DomainEncoder):
            encoder = DomainEncoder.from_feature_extractor(encoder, real, seed=seed)
        features = per_dataset(lambda d: encoder.features(d.x))
        return ValidationSpace(
            features=features, copies=_pixels, predict=lambda d: encoder.predict(d.x),
            judge="The domain encoder", c2st_judge="classifier", description=encoder.description,
            class_matched=False, accuracy=encoder.accuracy,
            gx=lambda real, reference, synthetic, limits, seed: _gx_suite(
                encoder, features, real, reference, synthetic, seed))

    def copy_space(self, real: Dataset) -> Callable[[Dataset], np.ndarray]:
        return _pixels

    # ------------------------------------------------------------------ downstream
    def classical_augment(self, data: Dataset, rng: np.random.Generator, copies: int) -> Dataset:
        import dataclasses

        return dataclasses.replace(data, x=_shift_and_rotate(data.x, rng, copies), y=np.tile(data.y, copies))

    def classical_note(self, copies: int) -> str:
        return (f"real+classical: real + {copies} augmented copies of every training image (random "
                f"shift up to 1/8 of the size, rotation up to ±{MAX_ROTATION_DEGREES:g}°, bilinear), "
                "seeded per run.")

    def model_input(self, data: Dataset, encoding: Any) -> tuple[Any, Any]:
        return data.x, None

    # ------------------------------------------------------------------ files and pictures
    def export_samples(self, data: Dataset, path: Path, synthetic: np.ndarray | None = None) -> Path:
        from gan_augment.export import export_npz

        return export_npz(data, path, synthetic=synthetic)

    def export_augmented(self, result: Any, folder: Path, name: str) -> dict[str, Path]:
        return {"augmented data": result.export_npz(folder / "augmented.npz"),
                "TFDS dataset": result.export_tfds(folder / "tfds", name=name)}

    def sample_grid(self, data: Dataset, path: Path, *, title: str, per_class: int = 10) -> Path | None:
        from gan_augment.plots import save_image_grid

        if data.y is None:
            picks = np.arange(min(len(data), per_class * per_class))
        else:
            picks = np.concatenate([np.flatnonzero(data.y == c)[:per_class] for c in range(data.num_classes)])
        return save_image_grid(data.x[picks], path, labels=None if data.y is None else data.y[picks],
                               class_names=data.class_names, title=title)

    def preview_picture(self, data: Dataset, path: Path) -> Path | None:
        from gan_augment.plots import save_preview_tiles

        return save_preview_tiles(data, path)


def _pixels(dataset: Dataset) -> np.ndarray:
    """Images as flat float64 rows (literal copies are literally near)."""
    return dataset.x.reshape(len(dataset), -1).astype(np.float64)


def _gx_suite(encoder: Any, features: Callable[[Dataset], np.ndarray], real: Dataset, reference: Dataset,
              synthetic: Dataset, seed: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The GX suite of images: derived from the domain encoder's feature columns (a few
    principal components and the predicted class) of the real training images."""
    from gan_augment.validation.expectations import derive_suite
    from gan_augment.validation.features import FeatureTable
    from gan_augment.validation.gx_gate import gx_result, gx_skipped

    table = FeatureTable(encoder, real, seed=seed)
    t_real, t_ref, t_syn = (table(d, features(d)) for d in (real, reference, synthetic))
    # The label column is checked for its values only: class proportions are the class_coverage
    # gate's job (a balanced synthetic set is meant to differ from an imbalanced real one).
    spec = derive_suite(t_real, name="real_features", skip_distribution=gx_skipped(t_real, ["label"], len(t_syn)),
                        n_compare=len(t_syn))
    return gx_result(spec, t_ref, t_syn), {"real": t_real.drop(columns="label", errors="ignore"),
                                           "synthetic": t_syn.drop(columns="label", errors="ignore")}


def _shift_and_rotate(x: np.ndarray, rng: np.random.Generator, copies: int) -> np.ndarray:
    """``copies`` versions of every image, each shifted by up to `MAX_SHIFT_FRACTION` of the size
    and rotated by up to `MAX_ROTATION_DEGREES` (bilinear, edges repeated), clipped to [0, 1]."""
    from scipy import ndimage

    n, h, w, ch = x.shape
    out = np.empty((copies * n, h, w, ch), np.float32)
    centre = np.array([(h - 1) / 2.0, (w - 1) / 2.0])
    max_shift = np.array([h, w], np.float64) * MAX_SHIFT_FRACTION
    for k in range(copies):
        angles = np.deg2rad(rng.uniform(-MAX_ROTATION_DEGREES, MAX_ROTATION_DEGREES, n))
        shifts = rng.uniform(-1.0, 1.0, (n, 2)) * max_shift
        for i in range(n):
            cos, sin = math.cos(angles[i]), math.sin(angles[i])
            rot = np.array([[cos, -sin], [sin, cos]])
            # output pixel o samples input pixel rot @ (o - centre - shift) + centre
            offset = centre - rot @ (centre + shifts[i])
            for c in range(ch):
                out[k * n + i, :, :, c] = ndimage.affine_transform(
                    x[i, :, :, c], rot, offset=offset, order=1, mode="nearest"
                )
    return np.clip(out, 0.0, 1.0)


def _check_images(x: Any) -> None:
    if not isinstance(x, np.ndarray):
        raise DataError(f"Expected images as a numpy array. Received: x of type {type(x).__name__}.")
    if x.ndim != 4:
        raise DataError(
            "Expected images of shape (n, height, width, channels). "
            f"Received: x.shape={x.shape}. Add a channel axis with x[..., None] for grayscale."
        )
    if x.dtype != np.float32:
        raise DataError(
            f"Expected float32 images in [0, 1]. Received: x.dtype={x.dtype}. "
            "Use Dataset.from_arrays, which converts uint8 and float64."
        )
    if len(x) == 0:
        raise DataError("Expected at least one image. Received: an empty array (0 samples).")
    if x.shape[-1] not in (1, 3, 4):
        raise DataError(
            f"Expected 1, 3 or 4 channels in the last axis (NHWC). Received: x.shape={x.shape}. "
            "Channels-first data needs np.moveaxis(x, 1, -1)."
        )
    if not np.isfinite(x).all():
        bad = int((~np.isfinite(x)).reshape(len(x), -1).any(axis=1).sum())
        raise DataError(f"Expected finite pixel values. Received: NaN or inf in {bad} images.")
    lo, hi = float(x.min()), float(x.max())
    if lo < 0.0 or hi > 1.0:
        raise DataError(
            f"Expected pixel values in [0, 1]. Received: values in [{lo:g}, {hi:g}]. "
            "Divide by 255 (uint8) or by the maximum value."
        )


KIND = ImageKind()

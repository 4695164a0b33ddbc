"""Super-resolution as an augmentation step: `train_srgan` → `TrainedUpscaler`.

An `SRGAN` (`models.srgan`) learns to undo a ×2 or ×4 reduction from high-resolution images of
any image source `load_dataset` reads (default: tiles of the photographs that ship inside
scikit-learn and matplotlib, ``"sample_photos"``). Training pairs are made on the fly: random
square patches (flipped at random) of the training images, reduced with antialiased bicubic
resizing — optionally after a Gaussian blur and with noise added, for realism. The first part of
training is MSE-only (SRResNet), the rest the adversarial game; the model keeps a copy of the
MSE-only generator as the baseline.

The content loss's feature space replaces the paper's ImageNet VGG (nothing is downloaded): a
fixed convolutional network with seeded random weights (`feature_network`), whose features
respond to edges and textures and need no data or labels. (A network trained here on the
photographs to tell rotations apart stayed at chance in 400 steps on 2 CPU cores.)

Use a trained upscaler to bring a low-resolution data set to a classifier's size
(`TrainedUpscaler.upscale`), or to generate cheaply at low resolution and upscale the samples
(``TrainedGAN.sample(..., upscaler=...)``). `evaluate_upscaler` scores it on held-out images
beside bicubic resizing and the MSE-only model: PSNR and SSIM (fidelity) and, in an independent
feature network, the Fréchet distance and a two-sample test to the true images (realism) —
SRGAN's known trade-off is more realism for somewhat lower PSNR.

Example:
    >>> up = train_srgan("sample_photos", scale=4, steps=2000)  # doctest: +SKIP
    >>> up.evaluate().table()  # doctest: +SKIP
    >>> bigger = up.upscale(load_dataset("digits"))  # 8x8 -> 32x32  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from gan_augment._io import save_keras
from gan_augment._tfdata import without_autotune
from gan_augment.data.dataset import Dataset
from gan_augment.errors import DataError
from gan_augment.kinds import require_kind
from gan_augment.logs import progress

#: The high-resolution source `train_srgan` reads when none is given.
DEFAULT_HR_SOURCE = "sample_photos"
#: Default generator steps (both phases) and batch size.
SR_STEPS = 3000
SR_BATCH = 16
#: Default side of the high-resolution training patches (at most the images' side).
SR_PATCH = 32
#: Default share of the steps that are MSE-only pre-training (SRResNet).
PRETRAIN_SHARE = 2 / 3
#: Steps of a shown "epoch" (progress, history, checkpoints).
STEPS_PER_EPOCH = 50
#: Filters of the first layers of `feature_network` (twice as many in the last two).
FEATURE_WIDTH = 64
#: Gradient steps of the content-loss classifier of ``feature="classifier"``.
CLASSIFIER_FEATURE_STEPS = 500
#: Share of the images held out for `evaluate` when the source has no held-out split.
HOLDOUT_SHARE = 0.2
#: Patches per held-out image set that `evaluate_upscaler` compares in feature space.
EVALUATION_PATCHES = 512


@dataclasses.dataclass
class UpscalerOptions:
    """Options of `train_srgan` (see its docstring); `None` means "from the data"."""

    steps: int | None = None
    batch_size: int | None = None
    patch: int | None = None
    pretrain_steps: int | None = None
    width: int | None = None
    blocks: int | None = None
    feature: str = "random"
    feature_weight: float = 0.1
    adversarial_weight: float = 1e-3
    learning_rate: float = 5e-4
    adversarial_learning_rate: float = 1e-4
    loss: str = "non_saturating"
    ema: bool = True
    blur: float = 0.0
    noise: float = 0.0
    checkpoint_every: int | None = None

    #: The options that shape the networks or the game (a checkpoint of other values is refused).
    ARCHITECTURE = ("patch", "pretrain_steps", "width", "blocks", "feature", "feature_weight",
                    "adversarial_weight", "adversarial_learning_rate", "loss", "ema", "blur", "noise")
    FEATURES = ("random", "classifier", "none")


# ---------------------------------------------------------------------- pairs
def degrade(hr_images: np.ndarray, scale: int, *, blur: float = 0.0, noise: float = 0.0,
            seed: int = 0) -> np.ndarray:
    """The low-resolution partners of ``hr_images`` in [0, 1]: an optional Gaussian blur
    (``blur`` = sigma in high-resolution pixels), antialiased bicubic reduction by ``scale``
    (`models.srgan.downscale`), optional Gaussian noise of std ``noise`` (seeded), clipped.

    Example:
        >>> degrade(np.zeros((2, 32, 32, 1), np.float32), 4).shape
        (2, 8, 8, 1)
    """
    from gan_augment.models.srgan import downscale

    images = np.asarray(hr_images, np.float32)
    if blur > 0:
        from scipy import ndimage

        images = ndimage.gaussian_filter(images, sigma=(0, blur, blur, 0))
    lr = downscale(images, scale)
    if noise > 0:
        lr = lr + np.random.default_rng([int(seed), 0x5A]).normal(0.0, noise, lr.shape).astype(np.float32)
    return np.clip(lr, 0.0, 1.0).astype(np.float32)


def random_patches(images: np.ndarray, n: int, patch: int, rng: np.random.Generator, *,
                   flips: bool = True) -> np.ndarray:
    """``n`` random ``patch``×``patch`` crops of ``images`` (n_images, h, w, c), each from an image
    drawn at random, flipped left-right and up-down at random with ``flips``."""
    m, h, w, _ = images.shape
    which = rng.integers(0, m, n)
    tops, lefts = rng.integers(0, h - patch + 1, n), rng.integers(0, w - patch + 1, n)
    out = np.stack([images[i, t: t + patch, s: s + patch] for i, t, s in zip(which, tops, lefts)])
    if flips:
        lr_flip, ud_flip = rng.random(n) < 0.5, rng.random(n) < 0.5
        out[lr_flip] = out[lr_flip, :, ::-1]
        out[ud_flip] = out[ud_flip, ::-1]
    return out


# ---------------------------------------------------------------------- the trained upscaler
class TrainedUpscaler:
    """A trained `SRGAN`: upscale images and data sets, compare with its baselines, save.

    Attributes:
        model: the `SRGAN` (its ``srresnet`` is the MSE-only baseline).
        history: per-epoch means of the training metrics.
        holdout: the held-out high-resolution images `evaluate` scores on (not saved with the
            model), or None.
    """

    def __init__(self, model: Any, history: dict[str, list[float]] | None = None,
                 holdout: Dataset | None = None) -> None:
        self.model = model
        self.history = history if history is not None else dict(model.metadata.get("history", {}))
        self.holdout = holdout
        self.options: dict[str, Any] = dict(model.metadata.get("options", {}))
        self.stop_reason: str = str(model.metadata.get("stop_reason", ""))

    @property
    def scale(self) -> int:
        return int(self.model.scale)

    @property
    def channels(self) -> int:
        return int(self.model.hr_shape[2])

    @property
    def steps_taken(self) -> int:
        return self.model.steps_taken

    def upscale_images(self, images: np.ndarray, *, method: str = "srgan") -> np.ndarray:
        """Low-resolution images (n, h, w, c) in [0, 1] made ``scale`` times larger by ``method``:
        ``"srgan"`` (default), ``"srresnet"`` (the MSE-only baseline) or ``"bicubic"``."""
        if method not in METHODS:
            raise DataError(f"Expected method in {list(METHODS)}. Received: method={method!r}.")
        if method == "bicubic":
            return bicubic_upscale(images, self.scale)
        return self.model.upscale(images, mse_only=method == "srresnet")

    def upscale(self, dataset: Dataset, *, method: str = "srgan") -> Dataset:
        """``dataset``'s images ``scale`` times larger (labels, class names and the synthetic
        marks kept; unlabelled data sets work); the provenance says ``upscaled``.

        Example:
            >>> upscaler.upscale(load_dataset("digits")).shape  # doctest: +SKIP
            (32, 32, 1)
        """
        require_kind(dataset, "image", what="upscaling")
        if dataset.shape[2] != self.channels:
            raise DataError(f"Expected images with {self.channels} channels (the upscaler's). Received: "
                            f"{dataset.shape[2]} (shape {dataset.shape}). Convert grey/RGB, or train an "
                            f"upscaler on {dataset.shape[2]}-channel images.")
        x = self.upscale_images(dataset.x, method=method)
        return dataclasses.replace(dataset, x=x, provenance={
            **dataset.provenance, "upscaled": {"scale": self.scale, "method": method, "steps": self.steps_taken}})

    def evaluate(self, hr: Dataset | None = None, *, seed: int = 0) -> SuperResolutionReport:
        """`evaluate_upscaler` on ``hr`` (default: the images held out in training)."""
        hr = hr if hr is not None else self.holdout
        if hr is None:
            raise DataError("Expected held-out high-resolution images to evaluate on. Received: none; "
                            "pass evaluate(hr=<Dataset>) (a loaded upscaler does not keep them).")
        return evaluate_upscaler(self, hr, seed=seed)

    # ------------------------------------------------------------------ files
    def save(self, path: str | os.PathLike) -> Path:
        """Save as one ``.keras`` file (atomically); read it back with `load_upscaler`."""
        self.model.metadata["history"] = self.history
        return save_keras(self.model, path)

    def save_pictures(self, directory: str | os.PathLike, *, images: int = 4, seed: int = 0) -> dict[str, Path]:
        """``super_resolution.png`` (per held-out image crop: LR | bicubic | SRResNet | SRGAN | HR)
        and ``training_curves.png`` in ``directory``."""
        from gan_augment.plots import save_history_plot, save_translation_grid

        directory = Path(directory)
        out: dict[str, Path] = {}
        if self.holdout is not None:
            patch = int(self.options.get("patch") or self.model.hr_shape[0])
            side = min(self.holdout.shape[0], self.holdout.shape[1], 2 * patch)
            side -= side % self.scale
            hr = random_patches(self.holdout.x, images, side, np.random.default_rng(seed), flips=False)
            lr = degrade(hr, self.scale)
            columns = [lr, *(self.upscale_images(lr, method=m) for m in METHODS), hr]
            out["super_resolution"] = save_translation_grid(
                columns, directory / "super_resolution.png", labels=np.arange(len(hr)),
                class_names=[""] * len(hr), titles=("LR", "bicubic", "SRResNet", "SRGAN", "HR"))
        if self.history.get("g_loss"):
            out["curves"] = save_history_plot(self.history, directory / "training_curves.png",
                                              title="SRGAN training")
        return out

    def __repr__(self) -> str:
        return (f"TrainedUpscaler(scale={self.scale}, channels={self.channels}, steps={self.steps_taken}, "
                f"source={self.model.metadata.get('source', '?')!r})")


def reduce_dataset(dataset: Dataset, scale: int) -> Dataset:
    """``dataset``'s images ``scale`` times smaller (`degrade`: antialiased bicubic), labels kept;
    the size must divide by ``scale``. What a GAN trains on to generate cheaply at low resolution.

    Example:
        >>> reduce_dataset(load_dataset("digits", image_size=32), 4).shape  # doctest: +SKIP
        (8, 8, 1)
    """
    require_kind(dataset, "image", what="reduction")
    return dataclasses.replace(dataset, x=degrade(dataset.x, scale), provenance={
        **dataset.provenance, "reduced": {"scale": int(scale)}})


#: `TrainedUpscaler.upscale`'s methods.
METHODS = ("bicubic", "srresnet", "srgan")


def bicubic_upscale(images: np.ndarray, scale: int) -> np.ndarray:
    """Images (n, h, w, c) in [0, 1] made ``scale`` times larger by bicubic resizing (the baseline)."""
    import keras
    import tensorflow as tf

    x = np.asarray(images, np.float32)
    big = tf.image.resize(x, (x.shape[1] * scale, x.shape[2] * scale), method="bicubic")
    return np.clip(keras.ops.convert_to_numpy(big), 0.0, 1.0).astype(np.float32)


# ---------------------------------------------------------------------- evaluation
@dataclasses.dataclass
class SuperResolutionReport:
    """Fidelity and realism of each method on held-out images (see `evaluate_upscaler`).

    Attributes:
        rows: method → {"psnr", "ssim", "fd", "c2st_auc"}.
        images: held-out images scored; scale: the factor.
    """

    rows: dict[str, dict[str, float]]
    images: int
    scale: int

    def table(self) -> str:
        """The report as aligned text, one row per method."""
        lines = [f"x{self.scale} on {self.images} held-out images",
                 f"{'method':<10} {'PSNR dB':>8} {'SSIM':>7} {'FD':>8} {'C2ST AUC':>9}"]
        for method, r in self.rows.items():
            lines.append(f"{method:<10} {r['psnr']:>8.2f} {r['ssim']:>7.4f} {r['fd']:>8.3f} {r['c2st_auc']:>9.3f}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def evaluate_upscaler(upscaler: TrainedUpscaler, hr: Dataset, *, seed: int = 0) -> SuperResolutionReport:
    """Score ``upscaler`` and its baselines on the high-resolution images ``hr`` (never trained on).

    Each image is reduced (`degrade`, no blur or noise) and brought back by bicubic resizing,
    the MSE-only SRResNet and the SRGAN. Fidelity: mean PSNR and SSIM (``tf.image``, [0, 1])
    against the originals. Realism: `EVALUATION_PATCHES` patches at the same positions of the
    originals and of each method's output are described by an *independent* random feature
    network (`feature_network`, seed ``seed + 1000``: not the SRGAN's content-loss network, so
    no method was optimised against it; channel means and standard deviations of its map);
    the Fréchet distance to the true patches and a two-sample test (`c2st_auc`, 0.5:
    indistinguishable).
    """
    import keras
    import tensorflow as tf

    from gan_augment.validation.metrics import c2st_auc, frechet_distance

    require_kind(hr, "image", what="super-resolution evaluation")
    scale = upscaler.scale
    h, w = (s - s % scale for s in hr.shape[:2])
    truth = hr.x[:, :h, :w]
    lr = degrade(truth, scale)
    outputs = {m: upscaler.upscale_images(lr, method=m) for m in METHODS}
    patch = min(int(upscaler.model.hr_shape[0]), h, w)
    net = feature_network(truth.shape[3], seed=seed + 1000)
    rng = np.random.default_rng([seed, 0xE7])
    which = rng.integers(0, len(truth), EVALUATION_PATCHES)
    tops, lefts = rng.integers(0, h - patch + 1, EVALUATION_PATCHES), rng.integers(0, w - patch + 1, EVALUATION_PATCHES)

    def embed(images: np.ndarray) -> np.ndarray:
        crops = np.stack([images[i, t: t + patch, s: s + patch] for i, t, s in zip(which, tops, lefts)])
        return _patch_statistics(net, crops)

    real = embed(truth)
    rows = {}
    for method, images in outputs.items():
        fake = embed(images)
        rows[method] = {
            "psnr": float(np.mean(keras.ops.convert_to_numpy(tf.image.psnr(images, truth, max_val=1.0)))),
            "ssim": float(np.mean(keras.ops.convert_to_numpy(tf.image.ssim(images, truth, max_val=1.0)))),
            "fd": frechet_distance(real, fake),
            "c2st_auc": c2st_auc(real, fake, classifier="logistic", seed=seed),
        }
    return SuperResolutionReport(rows=rows, images=len(truth), scale=scale)


def feature_network(channels: int, *, seed: int, width: int = FEATURE_WIDTH) -> Any:
    """A fixed convolutional network with seeded random weights (He initialisation, never
    trained): images (any size, ``channels`` channels) in [0, 1] → a map of features at 1/4 of
    the size. Random convolutional features respond to edges and textures at several scales and
    need no data, no labels and no download; a different seed gives an independent network.

    Example:
        >>> feature_network(3, seed=0).output_shape
        (None, None, None, 128)
    """
    import keras
    from keras import layers

    init = keras.initializers.HeNormal
    image = keras.Input((None, None, channels), name="image")
    t = layers.Rescaling(2.0, offset=-1.0, name="to_signed")(image)
    for i, (filters, stride) in enumerate(((width, 1), (width, 2), (2 * width, 1), (2 * width, 2))):
        t = layers.Conv2D(filters, 3, strides=stride, padding="same", name=f"conv{i}",
                          kernel_initializer=init(seed=seed * 16 + i))(t)
        t = layers.LeakyReLU(0.2, name=f"conv{i}_lrelu")(t)
    net = keras.Model(image, t, name="random_features")
    net.trainable = False
    return net


def _patch_statistics(net: Any, images: np.ndarray) -> np.ndarray:
    """Per image: the channel means and standard deviations of ``net``'s feature map (a
    texture descriptor, as style losses use)."""
    import keras

    maps = keras.ops.convert_to_numpy(net.predict(images, verbose=0, batch_size=128))
    return np.concatenate([maps.mean(axis=(1, 2)), maps.std(axis=(1, 2))], axis=1)


# ---------------------------------------------------------------------- training
def train_srgan(
    hr_source: Dataset | str | os.PathLike | None = None,
    scale: int = 4,
    *,
    holdout: Dataset | None = None,
    seed: int = 0,
    checkpoint_dir: str | os.PathLike | None = None,
    output_dir: str | os.PathLike | None = None,
    verbose: int = 1,
    **options: Any,
) -> TrainedUpscaler:
    """Train an SRGAN that makes images ``scale`` (2 or 4) times larger; return the `TrainedUpscaler`.

    Args:
        hr_source: high-resolution images: a Dataset or a source `load_dataset` reads (default
            `DEFAULT_HR_SOURCE`, tiles of photographs inside installed packages; its held-out
            photograph becomes ``holdout``). Labels are not needed.
        scale: 2 or 4; it must divide the patch size.
        holdout: high-resolution images kept out of training for `TrainedUpscaler.evaluate` and
            the pictures; default: the source's ``"test"`` split when it has one, else
            `HOLDOUT_SHARE` of the images (seeded).
        seed: seeds weights, patches, noise; the same seed gives the same run.
        checkpoint_dir: where the full state is saved every few epochs; a rerun resumes there.
        output_dir: where ``super_resolution.png`` and ``training_curves.png`` go.
        **options: `UpscalerOptions` fields — steps (default `SR_STEPS`; rounded up to whole
            epochs of `STEPS_PER_EPOCH`; more steps with the same checkpoint_dir train on), batch_size
            (`SR_BATCH`), patch (HR patch side, default `SR_PATCH` or the images' side),
            pretrain_steps (default `PRETRAIN_SHARE` of the steps), width, blocks, feature
            ("random": the content loss also in `feature_network`'s space; "classifier": in a
            CNN trained here on the labelled images' classes; "none": pixels only), feature_weight, adversarial_weight, learning_rate (of pre-training, 5e-4:
            short CPU runs need more than the paper's 1e-4), adversarial_learning_rate (of both
            networks in the game, the paper's 1e-4), loss, ema, blur and noise (realistic
            degradation), checkpoint_every (epochs of `STEPS_PER_EPOCH` steps).

    Raises:
        DataError: not images, too few, images smaller than a patch, a scale that does not divide
            the patch, a holdout with other channels.

    Example:
        >>> up = train_srgan(steps=200)  # doctest: +SKIP
    """
    from gan_augment.data.sources import load_dataset

    source_name = str(hr_source) if isinstance(hr_source, (str, os.PathLike)) else None
    if hr_source is None or source_name == DEFAULT_HR_SOURCE:
        source_name = DEFAULT_HR_SOURCE
        hr = load_dataset(DEFAULT_HR_SOURCE, split="train")
        holdout = holdout if holdout is not None else load_dataset(DEFAULT_HR_SOURCE, split="test")
    elif source_name is not None:
        hr = load_dataset(hr_source)
    else:
        hr = hr_source
    opts = _options(options)
    hr, holdout = _split_holdout(hr, holdout, seed)
    opts.patch = _patch_side(hr, opts.patch, scale)
    opts.steps = int(opts.steps or SR_STEPS)
    if opts.pretrain_steps is None:
        opts.pretrain_steps = round(PRETRAIN_SHARE * opts.steps)
    opts.batch_size = int(opts.batch_size or SR_BATCH)
    epochs = max(1, math.ceil(opts.steps / STEPS_PER_EPOCH))
    steps_per_epoch = min(STEPS_PER_EPOCH, opts.steps)  # steps rounded up to whole epochs
    if opts.checkpoint_every is None:
        opts.checkpoint_every = max(1, epochs // 10)
    fingerprint = {"kind": "super_resolution", "scale": scale, "n_images": len(hr), "shape": list(hr.shape),
                   "seed": seed, "batch_size": opts.batch_size, "learning_rate": opts.learning_rate,
                   "steps_per_epoch": steps_per_epoch, **{k: getattr(opts, k) for k in UpscalerOptions.ARCHITECTURE}}
    model = _build(hr, opts, scale, seed, source_name, verbose)

    from gan_augment.callbacks import resume

    initial_epoch, history = resume(checkpoint_dir, model, fingerprint, verbose=verbose)
    if initial_epoch < epochs:
        _fit(model, hr, opts, scale, seed, initial_epoch, epochs, steps_per_epoch, history, fingerprint,
             checkpoint_dir, verbose)
    model.metadata.setdefault("stop_reason", f"already trained: the checkpoint holds all {epochs} epochs")
    trained = TrainedUpscaler(model, history, holdout)
    if output_dir is not None:
        for what, path in trained.save_pictures(output_dir, seed=seed).items():
            if verbose:
                progress(f"  {what}: {path}")
    return trained


def load_upscaler(path: str | os.PathLike) -> TrainedUpscaler:
    """Load an upscaler saved with `TrainedUpscaler.save` (Keras safe mode: no code in the file runs)."""
    from gan_augment.models import load_model
    from gan_augment.models.srgan import SRGAN

    model = load_model(path, what="an upscaler saved by TrainedUpscaler.save")
    if not isinstance(model, SRGAN):
        raise DataError(f"Expected an upscaler (SRGAN) in '{path}'. Received: {type(model).__name__}.")
    return TrainedUpscaler(model)


# ---------------------------------------------------------------------- internals
def _options(options: dict[str, Any]) -> UpscalerOptions:
    names = [f.name for f in dataclasses.fields(UpscalerOptions)]
    unknown = sorted(set(options) - set(names))
    if unknown:
        raise TypeError(f"Unknown super-resolution option(s) {unknown}. Expected some of: {names}.")
    opts = UpscalerOptions(**options)
    if opts.feature not in UpscalerOptions.FEATURES:
        raise DataError(f"Expected feature in {list(UpscalerOptions.FEATURES)}. Received: feature={opts.feature!r}.")
    for name in ("blur", "noise"):
        if not getattr(opts, name) >= 0:
            raise DataError(f"Expected {name} >= 0. Received: {name}={getattr(opts, name)}.")
    return opts


def _split_holdout(hr: Dataset, holdout: Dataset | None, seed: int) -> tuple[Dataset, Dataset | None]:
    """(training images, held-out images): ``holdout`` as given (checked), or `HOLDOUT_SHARE`
    of ``hr`` (seeded) when there are at least 5 images, else none."""
    require_kind(hr, "image", what="super-resolution")
    if len(hr) < 1:
        raise DataError("Expected at least one high-resolution image. Received: an empty data set.")
    if holdout is not None:
        require_kind(holdout, "image", what="the super-resolution holdout")
        if holdout.shape[2] != hr.shape[2]:
            raise DataError(f"Expected held-out images with {hr.shape[2]} channels, like the training "
                            f"images. Received: {holdout.shape[2]}.")
        return hr, holdout
    if len(hr) < 5:
        return hr, None
    order = np.random.default_rng([seed, 0x4D]).permutation(len(hr))
    k = max(1, round(HOLDOUT_SHARE * len(hr)))
    return hr.take(np.sort(order[k:])), hr.take(np.sort(order[:k]))


def _patch_side(hr: Dataset, patch: int | None, scale: int) -> int:
    """The high-resolution patch side: ``patch``, or `SR_PATCH` capped by the images' side and
    rounded down to a multiple of ``scale``; checked against the images and the scale."""
    from gan_augment.models.sr_nets import MIN_LR_SIDE, check_scale

    try:
        check_scale(scale)
    except ValueError as exc:
        raise DataError(str(exc)) from None
    side = min(hr.shape[:2])
    if patch is None:
        patch = min(SR_PATCH, side)
        patch -= patch % scale
    patch = int(patch)
    if patch > side:
        raise DataError(f"Expected images at least as large as a patch ({patch}x{patch}). Received: images of "
                        f"{hr.shape[0]}x{hr.shape[1]}. Pass a smaller patch= or larger images.")
    if patch % scale or patch // scale < MIN_LR_SIDE:
        raise DataError(f"Expected a patch side that scale={scale} divides into at least {MIN_LR_SIDE} "
                        f"low-resolution pixels. Received: patch={patch}. Use e.g. patch={scale * 8}.")
    return patch


def _build(hr: Dataset, opts: UpscalerOptions, scale: int, seed: int, source_name: str | None, verbose: int) -> Any:
    from gan_augment.models.srgan import build_srgan

    shape = (opts.patch, opts.patch, hr.shape[2])
    extractor = (feature_network(hr.shape[2], seed=seed) if opts.feature == "random"
                 else _classifier_features(hr, opts.patch, seed) if opts.feature == "classifier" else None)
    metadata = {"source": source_name or str(hr.provenance.get("source", "")),
                "options": dataclasses.asdict(opts), "hr_shape": list(hr.shape)}
    model = build_srgan(shape, scale, width=opts.width, blocks=opts.blocks, feature_extractor=extractor,
                        pretrain_steps=opts.pretrain_steps, feature_weight=opts.feature_weight,
                        adversarial_weight=opts.adversarial_weight, ema=opts.ema, seed=seed, metadata=metadata)
    import keras

    # The generator's rate drops when the game starts (its optimizer counts the model's steps).
    rate = keras.optimizers.schedules.PiecewiseConstantDecay(
        [max(0, opts.pretrain_steps - 1)], [opts.learning_rate, opts.adversarial_learning_rate])
    model.compile(keras.optimizers.Adam(rate, beta_1=0.9, beta_2=0.999),
                  keras.optimizers.Adam(opts.adversarial_learning_rate, beta_1=0.9, beta_2=0.999),
                  loss=opts.loss)
    return model


def _classifier_features(hr: Dataset, patch: int, seed: int) -> Any:
    """``feature="classifier"``: a CNN trained here (seeded, `CLASSIFIER_FEATURE_STEPS` steps)
    to tell the classes of labelled high-resolution images from random patches of them, cut at
    its last convolution (`sr_nets.feature_extractor_from_classifier`)."""
    import keras

    from gan_augment.models.classifier import build_classifier_cnn, fit_classifier
    from gan_augment.models.sr_nets import feature_extractor_from_classifier

    if not hr.labeled or hr.num_classes < 2:
        raise DataError("Expected labelled high-resolution images with at least 2 classes for "
                        "feature='classifier'. Received: unlabelled or one-class images; use feature='random'.")
    rng = np.random.default_rng([seed, 0xC1])
    which = rng.integers(0, len(hr), 4096)
    crops = np.concatenate([random_patches(hr.x[i: i + 1], 1, patch, rng) for i in which])
    keras.utils.set_random_seed(seed)
    cnn = build_classifier_cnn(crops.shape[1:], hr.num_classes, name="content_cnn")
    fit_classifier(cnn, crops, hr.y[which], seed=seed, steps=CLASSIFIER_FEATURE_STEPS)
    return feature_extractor_from_classifier(cnn, crops.shape[1:])


def _batches(hr: Dataset, opts: UpscalerOptions, scale: int, seed: int, first_epoch: int, epochs: int,
             steps: int) -> Any:
    """Pairs ``(lr, hr)``: random flipped patches and their degraded partners, depending only on
    ``(seed, epoch)`` so a resumed run sees the same batches."""
    import tensorflow as tf

    def pairs() -> Any:
        for epoch in range(first_epoch, epochs):
            rng = np.random.default_rng([seed, epoch, 0x5E])
            for s in range(steps):
                big = random_patches(hr.x, opts.batch_size, opts.patch, rng)
                yield degrade(big, scale, blur=opts.blur, noise=opts.noise, seed=epoch * steps + s), big

    c = hr.shape[2]
    small = opts.patch // scale
    signature = (tf.TensorSpec((opts.batch_size, small, small, c), tf.float32),
                 tf.TensorSpec((opts.batch_size, opts.patch, opts.patch, c), tf.float32))
    return without_autotune(tf.data.Dataset.from_generator(pairs, output_signature=signature).prefetch(2))


def _fit(model: Any, hr: Dataset, opts: UpscalerOptions, scale: int, seed: int, initial_epoch: int, epochs: int,
         steps_per_epoch: int, history: dict, fingerprint: dict, checkpoint_dir: Any, verbose: int) -> None:
    from gan_augment.callbacks import fit_game

    guard, seconds = fit_game(model, _batches(hr, opts, scale, seed, initial_epoch, epochs, steps_per_epoch),
                              epochs=epochs, initial_epoch=initial_epoch, steps_per_epoch=steps_per_epoch,
                              history=history, checkpoint_dir=checkpoint_dir, fingerprint=fingerprint,
                              checkpoint_every=opts.checkpoint_every, verbose=verbose, what="SRGAN")
    if model.steps_taken <= opts.pretrain_steps:  # no adversarial step yet: SRResNet is the model now
        model.keep_srresnet()
    model.metadata["stop_reason"] = (guard.reason() if guard.tripped
                                     else f"reached {model.steps_taken} steps ({opts.pretrain_steps} MSE-only)")
    if verbose:
        progress(f"Trained SRGAN epochs {initial_epoch + 1}–{epochs} ({model.steps_taken} steps in all, "
                 f"the first {opts.pretrain_steps} MSE-only) in {seconds:.1f} s.")


__all__ = [
    "DEFAULT_HR_SOURCE",
    "METHODS",
    "SuperResolutionReport",
    "TrainedUpscaler",
    "UpscalerOptions",
    "bicubic_upscale",
    "degrade",
    "evaluate_upscaler",
    "feature_network",
    "load_upscaler",
    "random_patches",
    "reduce_dataset",
    "train_srgan",
]

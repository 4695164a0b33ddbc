"""SRGAN (Ledig et al. 2017) as a `keras.Model` with a custom `train_step` (TensorFlow backend):
single-image super-resolution by 2 or 4.

One call of `train_step` on a batch ``(lr, hr)`` of low-resolution images and their
high-resolution originals in [0, 1] (`downscale` makes the pairs):

    pre-training (the first ``pretrain_steps`` steps, SRResNet):
        G updates on  MSE(G(lr), hr)                       — the critic is untouched
    adversarial phase (SRGAN):
        G updates on  MSE(G(lr), hr) + feature_weight · feature MSE
                      + adversarial_weight · adversarial(D(G(lr)))
        →  D updates on hr vs the same G(lr)  (the plug-in loss, as in CycleGAN's order)
    →  EMA of G  →  metrics

Pixels are compared in [-1, 1], the model's range, as in the paper. The feature MSE is measured
in a frozen ``feature_extractor`` (images in [0, 1] → features) relative to the size of the
real images' features, ‖φ(G(lr)) − φ(hr)‖² / ‖φ(hr)‖², so ``feature_weight`` means the same
whatever the extractor's activation scale (the paper divides its VGG features by 12.75 for the
same reason). No extractor: the content loss is the pixel MSE alone. The extractor replaces the
paper's ImageNet VGG (nothing is downloaded): `sr_nets.feature_extractor_from_classifier` cuts
one from a trained `build_classifier_cnn`, e.g. the validation's domain encoder.

It is a `GANBase`: the base's random stream, EMA, optimizers, plug-in loss and config work as
they are; ``latent_dim`` and ``num_classes`` do not apply (0) and stay out of the config;
`gan_augment.checkpoint` saves the full state (the frozen extractor included) with no change.

The phase follows the model's step counter, which checkpoints and ``.keras`` files keep: the
training function Keras builds is one compiled function per phase, picked before each call
(`SRGAN.make_train_function`). A phase switch inside a compiled step (a ``tf.cond`` around an
optimizer update) cannot run under a distribution strategy, and this way the pre-training step
computes nothing for the critic.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from gan_augment.errors import DataError
from gan_augment.models.base import GANBase
from gan_augment.models.sr_nets import (
    MIN_LR_SIDE,
    build_sr_discriminator,
    build_srresnet,
    check_scale,
    low_resolution_shape,
)
from gan_augment.models.steps import apply_own_gradients, gradient_objective

#: The PSNR a step logs is capped here: a perfect batch (infinite PSNR) must not read as a
#: diverged run to the NaN guard.
MAX_PSNR = 100.0
#: Keeps the relative feature loss finite when the real images' features are all zero.
_FEATURE_EPSILON = 1e-8
#: What the critic's metrics read in a pre-training step, which leaves the critic alone.
_NO_CRITIC = {"d_loss": 0.0, "d_real": 0.0, "d_fake": 0.0}


@keras.saving.register_keras_serializable(package="gan_augment")
class SRGAN(GANBase):
    """A super-resolution generator (SRResNet) and a discriminator of high-resolution images.

    Args:
        generator: ``lr in [-1, 1] -> hr in [-1, 1]``, ``scale`` times larger
            (`sr_nets.build_srresnet`).
        discriminator: high-resolution images of the training patch shape ``-> score``
            (`sr_nets.build_sr_discriminator`); its input shape is the model's patch shape.
        scale: 2 or 4, the generator's upscaling factor.
        feature_extractor: a Keras model mapping high-resolution images in [0, 1] to features,
            frozen here and saved with the model (None: pixel MSE only).
        pretrain_steps: generator-only MSE steps (SRResNet) before the adversarial phase.
        feature_weight: weight of the relative feature MSE in the adversarial phase.
        adversarial_weight: weight of the generator's adversarial loss (the paper's 1e-3).
        ema: keep an exponential moving average of the generator and upscale with it.
        ema_generator: the EMA generator when loading (default: a copy of ``generator``).
        srresnet: the MSE-only model when loading (default: a copy of ``generator``): the
            generator as pre-training left it (its EMA with ``ema``), copied when the first
            adversarial step starts — the baseline SRGAN is compared with.
        seed: seed of the model's random stream (the gradient penalty of ``wasserstein_gp``).
        metadata: free-form, JSON-serializable facts saved with the model (source data, …).

    Example:
        >>> gan = build_srgan((32, 32, 3), scale=4, pretrain_steps=100)
        >>> gan.compile()
        >>> gan.fit(tf.data.Dataset.from_tensor_slices((downscale(hr, 4), hr)).batch(16))  # doctest: +SKIP
        >>> gan.upscale(downscale(hr, 4)).shape  # doctest: +SKIP
    """

    #: The paper's generator loss, −log D(G(lr)); with adversarial_weight 1e-3 it nudges the
    #: content-driven generator, and D(x) stays a probability (the d_real/d_fake metrics).
    DEFAULT_LOSS = "non_saturating"
    ADAM_BETA_2 = 0.999
    NETWORKS = ("generator", "discriminator", "feature_extractor", "ema_generator", "srresnet")

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        *,
        scale: int = 4,
        feature_extractor: keras.Model | None = None,
        pretrain_steps: int = 1000,
        feature_weight: float = 0.1,
        adversarial_weight: float = 1e-3,
        ema: bool = True,
        ema_generator: keras.Model | None = None,
        srresnet: keras.Model | None = None,
        **base_options: Any,
    ) -> None:
        """``seed``, ``metadata`` (see Args) and Keras's own options go to `GANBase` as they are."""
        super().__init__(generator, discriminator, latent_dim=0, num_classes=0, **base_options)
        self.scale = check_scale(scale)
        self.hr_shape = tuple(int(s) for s in discriminator.input_shape[1:])
        self.lr_shape = low_resolution_shape(self.hr_shape, self.scale)
        _check_generator(generator, self.lr_shape, self.scale)
        self.feature_extractor = _frozen(feature_extractor, self.hr_shape)
        self.pretrain_steps = int(pretrain_steps)
        self.feature_weight = float(feature_weight)
        self.adversarial_weight = float(adversarial_weight)
        _check_options(self.pretrain_steps, self.feature_weight, self.adversarial_weight)
        self._track_ema_generator(ema, ema_generator)
        if srresnet is None:
            srresnet = keras.models.clone_model(self.generator)
            srresnet.set_weights(self.generator.get_weights())
        srresnet.trainable = False
        self.srresnet = srresnet
        self.content_tracker = keras.metrics.Mean(name="content_loss")
        self.feature_tracker = keras.metrics.Mean(name="feature_loss")
        self.psnr_tracker = keras.metrics.Mean(name="psnr")

    def _critic_networks(self) -> list[keras.Model]:
        return [self.discriminator]

    @property
    def pretraining(self) -> bool:
        """Whether the next step is a pre-training (MSE-only) step."""
        return self.steps_taken < self.pretrain_steps

    # ------------------------------------------------------------------ compile
    def compile(  # type: ignore[override]
        self,
        g_optimizer: keras.optimizers.Optimizer | None = None,
        d_optimizer: keras.optimizers.Optimizer | None = None,
        loss: Any = None,
        *,
        learning_rate: float = 1e-4,
        **kwargs: Any,
    ) -> None:
        """`GANBase.compile` with the paper's Adam by default: β₁ = 0.9 (not the base's 0.5 —
        pre-training is plain regression) and learning rate 1e-4."""

        def adam() -> keras.optimizers.Optimizer:
            return keras.optimizers.Adam(learning_rate, beta_1=0.9, beta_2=self.ADAM_BETA_2)

        super().compile(g_optimizer or adam(), d_optimizer or adam(), loss,
                        learning_rate=learning_rate, **kwargs)

    def make_train_function(self, force: bool = False) -> Callable:
        """Keras's training function: one compiled function per phase, each call running the
        phase of the model's step counter at that moment (see the module doc).

        Each is what Keras's TensorFlow trainer makes of a step (its ``_make_function``: the
        distribution strategy, ``jit_compile``, ``steps_per_execution``); with
        ``steps_per_execution`` > 1 a call runs all its steps in the phase of its first.
        """
        if self.train_function is not None and not force:
            return self.train_function
        adversarial_fn, pretraining_fn = (
            self._make_function(functools.partial(self._train_step, pretraining=phase))
            for phase in (False, True))

        def train_function(iterator: Any) -> Any:
            if self.pretraining:
                return pretraining_fn(iterator)
            if self.steps_taken == self.pretrain_steps:  # the first adversarial step: keep SRResNet
                self.keep_srresnet()
            return adversarial_fn(iterator)

        self.train_function = train_function
        return train_function

    def keep_srresnet(self) -> None:
        """Copy the generator as it is now (its EMA with ``ema``) into `srresnet`, the MSE-only
        baseline: done when the first adversarial step starts, and by a driver whose run ends
        within pre-training."""
        self.srresnet.set_weights(self._sampling_generator(True).get_weights())

    # ------------------------------------------------------------------ metrics
    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        """What a step logs: d_loss, g_loss (the generator's whole objective), content_loss (the
        pixel MSE in [-1, 1]), feature_loss (the relative feature MSE, unweighted; 0 without an
        extractor), d_real and d_fake (mean D as a probability; d_loss, d_real and d_fake are 0
        in pre-training) and psnr (dB, on [0, 1], capped at `MAX_PSNR`)."""
        return [self.d_loss_tracker, self.g_loss_tracker, self.content_tracker, self.feature_tracker,
                self.d_real_tracker, self.d_fake_tracker, self.psnr_tracker]

    # ------------------------------------------------------------------ the game
    def train_step(self, data: Any) -> dict[str, tf.Tensor]:
        """One step on a batch ``(lr, hr)`` in [0, 1], in the phase of the step counter (see the
        module doc). `fit` runs the phases' compiled steps (`make_train_function`); called
        directly, the step runs eagerly.

        A non-finite loss is not skipped: it shows in the step's logs (and so in the epoch's
        means), where the training driver's NaN guard restores the last good state.
        """
        return self._train_step(data, pretraining=self.pretraining)

    def _train_step(self, data: Any, *, pretraining: bool) -> dict[str, tf.Tensor]:
        """`train_step` in the given phase (a Python flag: each phase compiles on its own)."""
        lr, hr = self._check_batch(data)
        seed = self._step_seed()
        with tf.GradientTape() as tape:
            losses = self.generator_losses(lr, hr, adversarial=not pretraining)
            g_objective = gradient_objective(self.g_optimizer, losses["g_loss"])
        apply_own_gradients(self.g_optimizer, tape, g_objective, self.generator.trainable_variables)

        critic = (_NO_CRITIC if pretraining
                  else self._critic_updates(hr, tf.stop_gradient(losses["super_resolved"]), seed))
        if self.ema_generator is not None:
            self._update_ema()
        return self._record({**losses, **critic})

    def _critic_updates(self, hr: tf.Tensor, sr: tf.Tensor, seed: tf.Tensor) -> dict[str, tf.Tensor]:
        """``d_steps`` updates of the discriminator on ``hr`` vs ``sr``; the last one's
        ``d_loss`` and mean D(hr), D(sr) as probabilities (``d_real``, ``d_fake``)."""
        for i in range(self.d_steps):
            with tf.GradientTape() as tape:
                d_loss, real_scores, fake_scores = self._adversarial_d_loss(
                    self._score, hr, sr, self._part_seeds(seed, i, 1)[0])
                d_objective = gradient_objective(self.d_optimizer, d_loss)
            apply_own_gradients(self.d_optimizer, tape, d_objective, self.critic_variables)
        return {"d_loss": d_loss, "d_real": tf.reduce_mean(tf.sigmoid(real_scores)),
                "d_fake": tf.reduce_mean(tf.sigmoid(fake_scores))}

    def generator_losses(self, lr: tf.Tensor, hr: tf.Tensor, *, adversarial: bool = True) -> dict[str, tf.Tensor]:
        """The generator's side of a step on ``lr``, ``hr`` in [-1, 1]: ``g_loss`` (the objective:
        the pixel MSE alone unless ``adversarial``), ``content_loss`` (pixel MSE),
        ``feature_loss`` (relative feature MSE), ``psnr`` and the ``super_resolved`` images."""
        sr = _float32(self.generator(lr, training=True))
        content = tf.reduce_mean(tf.square(sr - hr))
        feature = self._feature_loss(sr, hr)
        g_loss = content
        if adversarial:
            g_loss += (self.feature_weight * feature
                       + self.adversarial_weight * self.loss_fn.g_loss(self._score(sr)))
        psnr = tf.reduce_mean(tf.image.psnr(_to_unit(sr), _to_unit(hr), max_val=1.0))
        return {"g_loss": g_loss, "content_loss": content, "feature_loss": feature,
                "psnr": tf.minimum(psnr, MAX_PSNR), "super_resolved": sr}

    def _feature_loss(self, sr: tf.Tensor, hr: tf.Tensor) -> tf.Tensor:
        """‖φ(sr) − φ(hr)‖² / ‖φ(hr)‖² (batch means) in the frozen extractor φ; 0 without one."""
        if self.feature_extractor is None:
            return tf.constant(0.0)
        real = _float32(self.feature_extractor(_to_unit(hr), training=False))
        fake = _float32(self.feature_extractor(_to_unit(sr), training=False))
        return tf.reduce_mean(tf.square(fake - real)) / (tf.reduce_mean(tf.square(real)) + _FEATURE_EPSILON)

    def _score(self, images: tf.Tensor) -> tf.Tensor:
        """The discriminator's float32 scores of ``images`` in [-1, 1]."""
        return _float32(self.discriminator(images, training=True))

    def _record(self, values: dict[str, Any]) -> dict[str, tf.Tensor]:
        """The metrics take in the step's ``values`` (one per metric, by name)."""
        for metric in self.metrics:
            metric.update_state(values[metric.name])
        return {m.name: m.result() for m in self.metrics}

    def _check_batch(self, data: Any) -> tuple[tf.Tensor, tf.Tensor]:
        """``data`` as (lr, hr) in [-1, 1], or a `DataError` naming what is wrong."""
        if not (isinstance(data, tuple | list) and len(data) == 2):
            raise DataError("Expected a batch (lr, hr) of low-resolution images and their "
                            f"high-resolution originals (see downscale). Received: a {type(data).__name__}.")
        lr, hr = (tf.convert_to_tensor(images) for images in data)
        self._check_pair_shapes(tuple(lr.shape), tuple(hr.shape))
        tf.debugging.assert_positive(tf.shape(hr)[0], message="Expected a non-empty batch")
        return tf.cast(lr, tf.float32) * 2.0 - 1.0, tf.cast(hr, tf.float32) * 2.0 - 1.0

    def _check_pair_shapes(self, lr: tuple, hr: tuple) -> None:
        """A `DataError` unless ``lr`` and ``hr`` are batches of the model's patch pairs."""
        (h, w, c), (lh, lw, _) = self.hr_shape, self.lr_shape
        if len(lr) != 4 or len(hr) != 4:
            raise DataError(f"Expected batches of images (n, height, width, channels). Received: "
                            f"low-resolution {lr}, high-resolution {hr}.")
        if lr[-1] != hr[-1]:
            raise DataError(f"Expected low- and high-resolution images with the same channels "
                            f"(1: grey, 3: RGB). Received: {lr[-1]} and {hr[-1]}. Convert both to "
                            f"the model's {c}.")
        if hr[-1] != c:
            raise DataError(f"Expected images with {c} channels, as the model was built. Received: "
                            f"{hr[-1]}. Convert the images, or build a model for {hr[-1]} channels.")
        if hr[1:3] != (h, w):
            raise DataError(f"Expected high-resolution patches of {h}x{w}, the model's patch size. "
                            f"Received: {hr[1]}x{hr[2]}. Crop patches of {h}x{w} (resize images "
                            "smaller than a patch) or build a model for this size.")
        if lr[1:3] != (lh, lw):
            raise DataError(f"Expected low-resolution images of {lh}x{lw}: the {h}x{w} patches "
                            f"downscaled by scale={self.scale} (see downscale). Received: {lr[1]}x{lr[2]}.")

    # ------------------------------------------------------------------ sampling
    def upscale(self, lr_images: np.ndarray, *, use_ema: bool = True, batch_size: int = 64,
                mse_only: bool = False) -> np.ndarray:
        """Low-resolution images in [0, 1] (any size of at least `MIN_LR_SIDE` a side) upscaled
        by the EMA generator (or the trained one; with ``mse_only`` the `srresnet` baseline), as
        float32 in [0, 1], ``batch_size`` at a time."""
        net = self.srresnet if mse_only else self._sampling_generator(use_ema)
        images = np.asarray(lr_images, np.float32)
        c = self.hr_shape[2]
        if images.ndim != 4 or images.shape[3] != c:
            raise DataError(f"Expected low-resolution images of shape (n, height, width, {c}). "
                            f"Received: {images.shape}. Convert grey/RGB images to {c} channels.")
        if min(images.shape[1:3]) < MIN_LR_SIDE:
            raise DataError(f"Expected low-resolution images of at least {MIN_LR_SIDE}x{MIN_LR_SIDE} "
                            f"pixels. Received: {images.shape[1]}x{images.shape[2]}.")
        out = [keras.ops.convert_to_numpy(net(images[i : i + batch_size] * 2.0 - 1.0, training=False))
               for i in range(0, len(images), batch_size)]
        h, w = images.shape[1:3]
        upscaled = np.concatenate(out) if out else np.zeros((0, h * self.scale, w * self.scale, c), np.float32)
        return np.clip((upscaled.astype(np.float32) + 1.0) / 2.0, 0.0, 1.0)

    # ------------------------------------------------------------------ serialization
    def get_config(self) -> dict[str, Any]:
        config = {k: v for k, v in super().get_config().items() if k not in ("latent_dim", "num_classes")}
        return {**config, "scale": self.scale, "pretrain_steps": self.pretrain_steps,
                "feature_weight": self.feature_weight, "adversarial_weight": self.adversarial_weight}


def build_srgan(
    hr_shape: tuple[int, int, int],
    scale: int = 4,
    *,
    width: int | None = None,
    blocks: int | None = None,
    **options: Any,
) -> SRGAN:
    """An `SRGAN` training on high-resolution patches of ``hr_shape`` = (h, w, c) and their
    downscaled partners: an SRResNet and a discriminator sized by the patch (`sr_nets`), their
    initial weights drawn from ``seed``.

    Args:
        hr_shape: (height, width, channels) of the high-resolution training patches; ``scale``
            must divide the size.
        scale: 2 or 4.
        width: filters of both networks (default `sr_nets.sr_width`).
        blocks: residual blocks of the generator (default `sr_nets.sr_blocks`).
        **options: `SRGAN`'s options (feature_extractor, pretrain_steps, feature_weight,
            adversarial_weight, ema, seed, metadata).
    """
    lr_shape = low_resolution_shape(hr_shape, scale)
    keras.utils.set_random_seed(int(options.get("seed", 0)))  # weight initialisation follows the seed
    generator = build_srresnet(lr_shape, scale, width=width, blocks=blocks)
    discriminator = build_sr_discriminator(hr_shape, width=width)
    return SRGAN(generator, discriminator, scale=scale, **options)


def downscale(hr_images: np.ndarray, scale: int, *, method: str = "bicubic") -> np.ndarray:
    """The low-resolution partners of high-resolution images in [0, 1]: each side divided by
    ``scale`` with an antialiased ``method`` of `tf.image.resize` (bicubic, as in the paper),
    float32 in [0, 1].

    Raises DataError when the scale does not divide the size or the result is smaller than
    `sr_nets.MIN_LR_SIDE`.
    """
    images = np.asarray(hr_images, np.float32)
    if images.ndim != 4:
        raise DataError(f"Expected images of shape (n, height, width, channels). Received: {images.shape}.")
    try:
        h, w, _ = low_resolution_shape(images.shape[1:], scale)
    except ValueError as exc:
        raise DataError(str(exc)) from None
    small = tf.image.resize(images, (h, w), method=method, antialias=True)
    return np.clip(keras.ops.convert_to_numpy(small), 0.0, 1.0).astype(np.float32)


def _check_generator(generator: keras.Model, lr_shape: tuple[int, int, int], scale: int) -> None:
    """A ValueError unless ``generator`` makes ``scale``-times larger images of the same channels."""
    h, w, c = lr_shape
    out = tuple(generator.compute_output_shape((None, h, w, c))[1:])
    if out != (h * scale, w * scale, c):
        raise ValueError(f"Expected a generator turning {h}x{w}x{c} images into {h * scale}x{w * scale}x{c} "
                         f"ones (scale={scale}, the discriminator's patch). Received: one making {out}.")


def _frozen(extractor: keras.Model | None, hr_shape: tuple[int, int, int]) -> keras.Model | None:
    """``extractor`` made non-trainable, after checking it reads images of ``hr_shape``."""
    if extractor is None:
        return None
    expected = tuple(extractor.input_shape[1:])
    if len(expected) != 3 or any(s not in (None, t) for s, t in zip(expected, hr_shape)):
        raise ValueError(f"Expected a feature_extractor of images of shape {hr_shape}. "
                         f"Received: one of {expected}.")
    extractor.trainable = False
    return extractor


def _check_options(pretrain_steps: int, feature_weight: float, adversarial_weight: float) -> None:
    for name, value in (("pretrain_steps", pretrain_steps), ("feature_weight", feature_weight),
                        ("adversarial_weight", adversarial_weight)):
        if not value >= 0:
            raise ValueError(f"Expected {name} >= 0. Received: {name}={value}.")


def _to_unit(images: tf.Tensor) -> tf.Tensor:
    """[-1, 1] → [0, 1]."""
    return (images + 1.0) / 2.0


def _float32(x: tf.Tensor) -> tf.Tensor:
    return tf.cast(x, tf.float32)


__all__ = ["MAX_PSNR", "SRGAN", "build_srgan", "downscale"]

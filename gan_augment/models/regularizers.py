"""Few-shot GAN training levers as small pure functions: discriminator regularizers, the ADA
controller and the GMAN aggregation of several discriminators' generator losses.

`ConditionalGAN.train_step` adds each term to a discriminator's loss when its weight is set
(all are off by default); the functions here only do the math, so each can be tested alone.

* `r1_penalty`: R1, γ/2 · E‖∇ₓD(x)‖² on real images (Mescheder et al. 2018, "Which training
  methods for GANs do actually converge?").
* `lecam_penalty` + `ema`: LeCam regularization (Tseng et al. 2021, "Regularizing generative
  adversarial networks under limited data").
* `consistency_penalty`: balanced consistency regularization, bCR (Zhao et al. 2021, "Improved
  consistency regularization for GANs").
* `ada_adjust`: the adaptive discriminator augmentation controller (Karras et al. 2020,
  "Training generative adversarial networks with limited data"); the per-sample augmentation
  itself is `gan_augment.models.diffaugment.diff_augment` with ``p=``.
* `aggregate_losses`: GMAN's aggregation of the generator losses against K discriminators
  (Durugkar et al. 2017, "Generative multi-adversarial networks").

Example:
    >>> import tensorflow as tf
    >>> float(aggregate_losses(tf.constant([1.0, 3.0]), "max"))
    3.0
"""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

Tensor = tf.Tensor

#: How the generator losses against K discriminators combine (GMAN).
AGGREGATIONS = ("mean", "softmax", "max")
#: λ of GMAN's soft aggregation Σ softmax(λ·L)_k · L_k: λ = 0 is the mean, λ → ∞ the max.
GMAN_SOFTMAX_LAMBDA = 1.0
#: Decay of LeCam's moving averages of the mean real and fake logits (Tseng et al. 2021).
LECAM_DECAY = 0.99
#: ADA adjusts p every this many train steps (Karras et al. use 4 minibatches).
ADA_INTERVAL = 4
#: ADA's speed: p can move by 1 over this many thousand real images. Karras et al. use 500k
#: images for data sets of thousands of images; with a few dozen images per class and batches
#: of 16, 8k images = 500 steps lets p go from 0 to 1 within a short run.
ADA_KIMG = 8.0
#: The DiffAugment transforms ADA gates when the model has no DiffAugment policy of its own.
ADA_DEFAULT_POLICY = ("color", "translation", "cutout")
#: The transform of bCR when the model has no DiffAugment policy of its own.
BCR_DEFAULT_POLICY = ("translation",)


def check_aggregation(aggregation: str) -> str:
    """``aggregation`` if it is one of `AGGREGATIONS`; a ValueError naming them otherwise.

    Example:
        >>> check_aggregation("softmax")
        'softmax'
    """
    if aggregation not in AGGREGATIONS:
        raise ValueError(
            f"Expected aggregation to be one of {list(AGGREGATIONS)}. Received: aggregation={aggregation!r}."
        )
    return aggregation


def check_regularizers(r1: float = 0.0, lecam: float = 0.0, bcr: float = 0.0,
                       ada_target: float | None = None, mode_seeking: float = 0.0) -> None:
    """Raise a ValueError for a negative weight or an ADA target outside [-1, 1].

    Example:
        >>> check_regularizers(r1=0.1, ada_target=0.6)
    """
    for name, value in (("r1", r1), ("lecam", lecam), ("bcr", bcr), ("mode_seeking", mode_seeking)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
            raise ValueError(f"Expected {name} to be a weight >= 0 (0: off). Received: {name}={value!r}.")
    if ada_target is not None and (isinstance(ada_target, bool) or not isinstance(ada_target, int | float)
                                   or not -1.0 <= ada_target <= 1.0):
        raise ValueError(
            "Expected ada_target to be None (off) or a target for E[sign(D(real))] in [-1, 1], "
            f"e.g. 0.6. Received: ada_target={ada_target!r}."
        )


#: MSGAN's epsilon in 1 / (ratio + ε)
MODE_SEEKING_EPSILON = 1e-5


def mode_seeking_penalty(fake_1: Tensor, fake_2: Tensor, z_1: Tensor, z_2: Tensor,
                         epsilon: float = MODE_SEEKING_EPSILON) -> Tensor:
    """Mode seeking (Mao et al. 2019, "Mode Seeking Generative Adversarial Networks for Diverse
    Image Synthesis"): the generator should move its image when its noise moves. With
    ``r = mean|G(z₁, c) − G(z₂, c)| / mean|z₁ − z₂|`` per pair (same condition c), the penalty
    added to the generator's loss is ``E[1 / (r + ε)]`` — small when different noise gives
    different images, large when the generator ignores z (template-like samples).

    Example:
        >>> z1, z2 = tf.zeros([2, 4]), tf.ones([2, 4])
        >>> round(float(mode_seeking_penalty(tf.zeros([2, 3]), tf.ones([2, 3]) * 2.0, z1, z2)), 4)
        0.5
    """
    flat = lambda t: tf.reshape(tf.cast(t, tf.float32), [tf.shape(t)[0], -1])
    image_distance = tf.reduce_mean(tf.abs(flat(fake_1) - flat(fake_2)), axis=1)
    noise_distance = tf.reduce_mean(tf.abs(flat(z_1) - flat(z_2)), axis=1)
    return tf.reduce_mean(1.0 / (image_distance / noise_distance + epsilon))


def aggregate_losses(losses: Tensor, aggregation: str = "mean",
                     softmax_lambda: float = GMAN_SOFTMAX_LAMBDA) -> Tensor:
    """GMAN: one generator loss from the losses ``L_k`` against K discriminators (shape [K]).

    ``"mean"``: (1/K) Σ L_k; ``"max"``: max_k L_k (the harshest discriminator);
    ``"softmax"``: Σ_k softmax(λ·L)_k · L_k, between the two (λ = 0 is the mean, λ → ∞ the
    max). The softmax weights are part of the objective (gradients flow through them).

    Example:
        >>> float(aggregate_losses(tf.constant([1.0, 3.0]), "mean"))
        2.0
    """
    check_aggregation(aggregation)
    losses = tf.convert_to_tensor(losses, tf.float32)
    if aggregation == "mean":
        return tf.reduce_mean(losses)
    if aggregation == "max":
        return tf.reduce_max(losses)
    weights = tf.nn.softmax(softmax_lambda * losses)
    return tf.reduce_sum(weights * losses)


def r1_penalty(critic: Callable[[Tensor], Tensor], real: Tensor, gamma: float) -> Tensor:
    """R1 (Mescheder et al. 2018): γ/2 · E_x ‖∇ₓ D(x)‖² over the real images ``real``.

    Penalizes the critic's gradient on the data only, which makes the game converge locally
    (no gradient penalty on fakes or interpolates as in WGAN-GP).

    Example:
        >>> w = tf.constant([[1.0], [2.0]])
        >>> float(r1_penalty(lambda x: x @ w, tf.ones([3, 2]), gamma=2.0))  # γ/2 ‖w‖² = 5
        5.0
    """
    real = tf.convert_to_tensor(real)
    batch = tf.shape(real)[0]
    with tf.GradientTape() as tape:
        tape.watch(real)
        total = tf.reduce_sum(tf.cast(critic(real), tf.float32))  # ∇ of the sum: per-sample ∇
    grads = tf.cast(tape.gradient(total, real), tf.float32)
    squared = tf.reduce_sum(tf.square(tf.reshape(grads, [batch, -1])), axis=1)
    return 0.5 * gamma * tf.reduce_mean(squared)


def ema(average: Tensor, value: Tensor, decay: float = LECAM_DECAY) -> Tensor:
    """One step of an exponential moving average: decay · average + (1 − decay) · value.

    Example:
        >>> round(float(ema(0.0, 1.0, decay=0.99)), 6)
        0.01
    """
    return decay * average + (1.0 - decay) * value


def lecam_penalty(real_logits: Tensor, fake_logits: Tensor, anchor_real: Tensor,
                  anchor_fake: Tensor) -> Tensor:
    """LeCam regularization (Tseng et al. 2021, eq. 3):
    R = E[(D(x) − α_F)²] + E[(D(G(z)) − α_R)²].

    ``anchor_real`` α_R and ``anchor_fake`` α_F are moving averages (`ema`, decay
    `LECAM_DECAY`) of the mean real and fake logits. Pulling real scores toward the fake anchor
    and fake scores toward the real one keeps a discriminator trained on little data from
    driving its scores apart. (The authors' code hinges each term with a ReLU; this is the
    paper's formula.)

    Example:
        >>> float(lecam_penalty(tf.constant([2.0]), tf.constant([-1.0]), 1.0, 0.0))  # 4 + 4
        8.0
    """
    real_logits = tf.cast(real_logits, tf.float32)
    fake_logits = tf.cast(fake_logits, tf.float32)
    return (tf.reduce_mean(tf.square(real_logits - anchor_fake))
            + tf.reduce_mean(tf.square(fake_logits - anchor_real)))


def consistency_penalty(critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor,
                        transform: Callable[[Tensor, Tensor], Tensor], seeds: Tensor,
                        real_logits: Tensor | None = None,
                        fake_logits: Tensor | None = None) -> Tensor:
    """Balanced consistency regularization, bCR (Zhao et al. 2021), without its weight λ:
    E‖D(x) − D(T(x))‖² + E‖D(G(z)) − D(T(G(z)))‖².

    ``transform(images, seed)`` is T (e.g. DiffAugment translation), drawn with ``seeds[0]``
    for the real and ``seeds[1]`` for the fake images. ``real_logits``/``fake_logits``: D(x)
    and D(G(z)) when already computed. The critic learns to score an image and its transformed
    copy alike, on both real and generated images (balanced: the generator is not pushed to
    make transform-invariant artefacts).

    Example:
        >>> flip = lambda x, seed: -x
        >>> float(consistency_penalty(lambda x: tf.abs(x), tf.ones([2, 1]), tf.zeros([2, 1]),
        ...                           flip, tf.constant([[1, 2], [3, 4]])))
        0.0
    """
    real_logits = critic(real) if real_logits is None else real_logits
    fake_logits = critic(fake) if fake_logits is None else fake_logits
    real_t = critic(transform(real, seeds[0]))
    fake_t = critic(transform(fake, seeds[1]))

    def msd(a: Tensor, b: Tensor) -> Tensor:
        return tf.reduce_mean(tf.square(tf.cast(a, tf.float32) - tf.cast(b, tf.float32)))

    return msd(real_logits, real_t) + msd(fake_logits, fake_t)


def ada_adjust(p: Tensor, r_t: Tensor, target: float, images: Tensor,
               kimg: float = ADA_KIMG) -> Tensor:
    """ADA's controller (Karras et al. 2020): p ← clip(p + sign(r_t − target) · N / (kimg·1000), 0, 1).

    ``r_t`` = E[sign(D(x_real))] over the ``N = images`` real images seen since the last
    adjustment: near 1 when the discriminator tells every training image apart (it overfits),
    so augmentation becomes more likely; below ``target`` it becomes less likely.

    Example:
        >>> round(float(ada_adjust(0.5, r_t=0.9, target=0.6, images=800.0, kimg=8.0)), 6)
        0.6
    """
    p = tf.convert_to_tensor(p, tf.float32)
    step = tf.sign(tf.cast(r_t, tf.float32) - target) * tf.cast(images, tf.float32) / (kimg * 1000.0)
    return tf.clip_by_value(p + step, 0.0, 1.0)

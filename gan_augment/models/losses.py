"""Adversarial losses as plug-in objects.

Each loss turns discriminator logits into the two players' objectives. `train_step` only ever
calls ``d_loss(real_logits, fake_logits)`` and ``g_loss(fake_logits)``; a loss that needs a gradient
penalty says so with ``gradient_penalty > 0``, and its preferred number of critic steps with
``d_steps``.

Example:
    >>> loss = get_loss("hinge")
    >>> loss.name, loss.d_steps
    ('hinge', 1)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import tensorflow as tf

Tensor = tf.Tensor


def _ns_d(real: Tensor, fake: Tensor) -> Tensor:
    # -log D(x) - log(1 - D(G(z))), written with softplus for numerical stability.
    return tf.reduce_mean(tf.nn.softplus(-real)) + tf.reduce_mean(tf.nn.softplus(fake))


def _ns_g(fake: Tensor) -> Tensor:
    # Non-saturating generator loss: -log D(G(z)) (Goodfellow et al. 2014, section 3).
    return tf.reduce_mean(tf.nn.softplus(-fake))


def _hinge_d(real: Tensor, fake: Tensor) -> Tensor:
    return tf.reduce_mean(tf.nn.relu(1.0 - real)) + tf.reduce_mean(tf.nn.relu(1.0 + fake))


def _wasserstein_d(real: Tensor, fake: Tensor) -> Tensor:
    return tf.reduce_mean(fake) - tf.reduce_mean(real)


def _least_squares_d(real: Tensor, fake: Tensor) -> Tensor:
    # LSGAN (Mao et al. 2017) with targets 1 (real) and 0 (fake), halved as in CycleGAN.
    return 0.5 * (tf.reduce_mean(tf.square(real - 1.0)) + tf.reduce_mean(tf.square(fake)))


def _least_squares_g(fake: Tensor) -> Tensor:
    # The generator pulls D(G(z)) towards the real target 1 (no sigmoid: outputs are scores).
    return tf.reduce_mean(tf.square(fake - 1.0))


def _critic_g(fake: Tensor) -> Tensor:
    # Hinge and Wasserstein generators both maximise the critic's score of fakes.
    return -tf.reduce_mean(fake)


@dataclasses.dataclass(frozen=True)
class GANLoss:
    """A pair of adversarial objectives plus how the critic should be trained."""

    name: str
    d_loss: Callable[[Tensor, Tensor], Tensor]
    g_loss: Callable[[Tensor], Tensor]
    gradient_penalty: float = 0.0  # weight of the WGAN-GP penalty (0: none)
    d_steps: int = 1  # critic updates per generator update


LOSSES: dict[str, GANLoss] = {
    "non_saturating": GANLoss("non_saturating", _ns_d, _ns_g),
    "hinge": GANLoss("hinge", _hinge_d, _critic_g),
    "wasserstein_gp": GANLoss("wasserstein_gp", _wasserstein_d, _critic_g, 10.0, 5),
    "least_squares": GANLoss("least_squares", _least_squares_d, _least_squares_g),
}


def get_loss(name: str | GANLoss) -> GANLoss:
    """The loss called ``name`` (one of ``LOSSES``), or ``name`` itself if it is a GANLoss."""
    if isinstance(name, GANLoss):
        return name
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(
            f"Expected loss to be one of {sorted(LOSSES)}. Received: loss={name!r}."
        ) from None


def gradient_penalty(critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor,
                     seed: Tensor, epsilon: float = 1e-12) -> Tensor:
    """WGAN-GP penalty E[(‖∇D(x̂)‖ - 1)²] on x̂ = real + α (fake - real), α ~ U(0, 1) per sample.

    The epsilon sits inside the square root so the gradient of the norm stays finite at zero.
    """
    batch = tf.shape(real)[0]
    alpha_shape = tf.concat([[batch], tf.ones([tf.rank(real) - 1], tf.int32)], axis=0)
    alpha = tf.random.stateless_uniform(alpha_shape, seed=seed, dtype=real.dtype)
    x_hat = real + alpha * (fake - real)
    with tf.GradientTape() as tape:
        tape.watch(x_hat)
        scores = tf.cast(critic(x_hat), tf.float32)
    grads = tf.cast(tape.gradient(scores, x_hat), tf.float32)
    norms = tf.sqrt(tf.reduce_sum(tf.square(tf.reshape(grads, [batch, -1])), axis=1) + epsilon)
    return tf.reduce_mean(tf.square(norms - 1.0))

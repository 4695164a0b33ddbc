"""The gradient step both GANs take (`ConditionalGAN`, `TabularGAN`): a loss made ready for
differentiation under ``tf.distribute`` and mixed precision, and an update of one player's own
weights."""

from __future__ import annotations

import keras
import tensorflow as tf


def gradient_objective(optimizer: keras.optimizers.Optimizer, loss: tf.Tensor) -> tf.Tensor:
    """The quantity to differentiate (computed inside the tape): the per-replica share of the
    loss (gradients are summed over replicas under tf.distribute), loss-scaled for float16."""
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    scaled = loss / replicas if replicas > 1 else loss
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        scaled = optimizer.scale_loss(scaled)
    return scaled


def apply_own_gradients(optimizer: keras.optimizers.Optimizer, tape: tf.GradientTape, objective: tf.Tensor,
                        variables: list) -> None:
    """Gradient step on ``objective`` for ``variables`` only: each player moves only its own weights."""
    grads = tape.gradient(objective, variables)
    optimizer.apply_gradients(zip(grads, variables))

"""Small helpers shared by the model tests (imported as `helpers`: pytest puts tests/ on sys.path)."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf


def random_batch(n: int = 16, shape: tuple[int, ...] = (8, 8, 1), classes: int = 3, seed: int = 0):
    """(images in [0, 1], int32 labels) as tensors, seeded."""
    rng = np.random.default_rng(seed)
    return (tf.constant(rng.uniform(0, 1, (n, *shape)).astype("float32")),
            tf.constant(rng.integers(0, classes, n).astype("int32")))


def values(variables) -> list[np.ndarray]:
    """Numpy copies of Keras variables."""
    return [np.array(keras.ops.convert_to_numpy(v)) for v in variables]

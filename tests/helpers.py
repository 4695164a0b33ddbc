"""Small helpers shared by the model tests (imported as `helpers`: pytest puts tests/ on sys.path)."""

from __future__ import annotations

import os

import keras
import numpy as np
import pytest
import tensorflow as tf


def random_batch(n: int = 16, shape: tuple[int, ...] = (8, 8, 1), classes: int = 3, seed: int = 0):
    """(images in [0, 1], int32 labels) as tensors, seeded."""
    rng = np.random.default_rng(seed)
    return (tf.constant(rng.uniform(0, 1, (n, *shape)).astype("float32")),
            tf.constant(rng.integers(0, classes, n).astype("int32")))


def values(variables) -> list[np.ndarray]:
    """Numpy copies of Keras variables."""
    return [np.array(keras.ops.convert_to_numpy(v)) for v in variables]


@pytest.fixture(scope="module", autouse=True)
def encoder_cache(tmp_path_factory):
    """One domain-encoder cache for a test module (validate() reads $GAN_AUGMENT_CACHE); a module
    that imports it uses it for all its tests (autouse)."""
    path = tmp_path_factory.mktemp("encoder_cache")
    old = os.environ.get("GAN_AUGMENT_CACHE")
    os.environ["GAN_AUGMENT_CACHE"] = str(path)
    yield path
    if old is None:
        os.environ.pop("GAN_AUGMENT_CACHE", None)
    else:
        os.environ["GAN_AUGMENT_CACHE"] = old

"""A small CNN classifier built from the image shape, shared by validation and downstream.

Used as the *domain encoder* of validation (its ``features`` layer is the feature space for
Fréchet distance, KID, precision/recall and C2ST; its predictions give label fidelity) and as the
default downstream classifier (``classifier="cnn"``).
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import layers

FEATURES_LAYER = "features"
BATCH_SIZE = 32
TARGET_STEPS = 600  # gradient steps a classifier gets when no epoch count is given
MIN_EPOCHS, MAX_EPOCHS = 5, 100


def build_classifier_cnn(image_shape: tuple[int, ...], num_classes: int, *, name: str = "classifier_cnn") -> keras.Model:
    """Conv-conv-maxpool blocks (1–3, by image size) → dense ``features`` (128) → softmax.

    Compiled with Adam(1e-3) and sparse categorical cross-entropy.

    Example:
        >>> model = build_classifier_cnn((8, 8, 1), 10)
        >>> model.get_layer("features").output.shape
        (None, 128)
    """
    h, w, _ = image_shape
    blocks, size = 0, min(h, w)
    while blocks < 3 and size // 2 >= 4:
        blocks, size = blocks + 1, size // 2
    blocks = max(blocks, 1)
    inputs = keras.Input(shape=image_shape)
    z = inputs
    for b in range(blocks):
        filters = 32 * 2**b
        z = layers.Conv2D(filters, 3, padding="same", activation="relu")(z)
        z = layers.Conv2D(filters, 3, padding="same", activation="relu")(z)
        z = layers.MaxPooling2D(2)(z)
    z = layers.Flatten()(z)
    z = layers.Dropout(0.25)(z)
    z = layers.Dense(128, activation="relu", name=FEATURES_LAYER)(z)
    z = layers.Dropout(0.5)(z)
    outputs = layers.Dense(num_classes, activation="softmax", name="probabilities")(z)
    model = keras.Model(inputs, outputs, name=name)
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def default_classifier_epochs(n: int) -> int:
    """About ``TARGET_STEPS`` gradient steps at ``BATCH_SIZE``, clipped to 5–100 epochs."""
    steps_per_epoch = max(1, math.ceil(n / BATCH_SIZE))
    return int(np.clip(math.ceil(TARGET_STEPS / steps_per_epoch), MIN_EPOCHS, MAX_EPOCHS))


EARLY_STOPPING_MIN_SAMPLES = 500  # below this, every sample trains; above, 10% per class validates


def fit_classifier(model: keras.Model, x: np.ndarray, y: np.ndarray, *, seed: int, epochs: int | None = None,
                   steps: int | None = None, sample_weight: np.ndarray | None = None,
                   verbose: int = 0) -> keras.Model:
    """Fit a Keras classifier reproducibly.

    With ``steps`` it takes exactly that many gradient steps of ``BATCH_SIZE`` samples (seeded
    epochs of shuffled data, no early stopping): what a fair comparison of training sets needs,
    since every setting then gets the same number of updates whatever its size. ``sample_weight``
    (one weight per sample) scales each sample's loss, e.g. synthetic samples below real ones.

    Otherwise (``steps=None``) it trains for ``epochs`` (default `default_classifier_epochs`)
    and, with ``epochs=None`` from ``EARLY_STOPPING_MIN_SAMPLES`` samples up, holds out 10% of
    each class (seeded) for early stopping with the best weights restored. Call
    ``keras.utils.set_random_seed`` before building the model for identical runs.

    Example:
        >>> fit_classifier(model, x, y, seed=0, steps=600)  # doctest: +SKIP
    """
    n = len(x)
    if steps is not None:
        if steps < 1:
            raise ValueError(f"Expected steps >= 1. Received: steps={steps}.")
        order = fixed_step_order(n, int(steps), BATCH_SIZE, seed)
        w = None if sample_weight is None else np.asarray(sample_weight, np.float32)[order]
        model.fit(x[order], y[order], sample_weight=w, batch_size=BATCH_SIZE, epochs=1,
                  shuffle=False, verbose=verbose)
        return model
    n_epochs = int(epochs) if epochs is not None else default_classifier_epochs(n)
    callbacks, validation = [], None
    x_train, y_train, w_train = x, y, sample_weight
    if n >= EARLY_STOPPING_MIN_SAMPLES and epochs is None:
        val_idx = validation_pick(y, np.random.default_rng([seed, 0xE5]))
        keep = np.setdiff1d(np.arange(n), val_idx)
        x_train, y_train = x[keep], y[keep]
        w_train = None if sample_weight is None else np.asarray(sample_weight)[keep]
        validation = (x[val_idx], y[val_idx])
        callbacks.append(keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=max(5, n_epochs // 8), restore_best_weights=True))
    model.fit(x_train, y_train, sample_weight=w_train, batch_size=BATCH_SIZE, epochs=n_epochs,
              shuffle=True, validation_data=validation, callbacks=callbacks, verbose=verbose)
    return model


def fixed_step_order(n: int, steps: int, batch_size: int, seed: int) -> np.ndarray:
    """Sample indices for ``steps`` batches of ``batch_size``: whole shuffled passes over the
    ``n`` samples (seeded), cut after ``steps × batch_size``.

    Example:
        >>> fixed_step_order(5, 3, 4, seed=0).shape
        (12,)
    """
    rng = np.random.default_rng([int(seed), 0x57E9])
    need = steps * batch_size
    passes = [rng.permutation(n) for _ in range(-(-need // max(n, 1)))]
    return np.concatenate(passes)[:need]


def validation_pick(y: np.ndarray, rng: np.random.Generator, fraction: float = 0.1) -> np.ndarray:
    """About ``fraction`` of every class (none of a class with fewer than 10 samples)."""
    picks = [rng.permutation(np.flatnonzero(y == c))[: int(fraction * np.sum(y == c))]
             for c in np.unique(y)]
    return np.sort(np.concatenate(picks)).astype(np.int64)

"""A small CNN classifier built from the image shape.

Used as the *domain encoder* of validation (its penultimate layer is the feature space for
Fréchet distance, KID, precision/recall and C2ST; its predictions give label fidelity) and as the
default downstream classifier.
"""

from __future__ import annotations

import keras
from keras import layers

FEATURES_LAYER = "features"


def build_classifier_cnn(
    image_shape: tuple[int, int, int],
    num_classes: int,
    *,
    feature_dim: int = 64,
    width: int = 32,
    dropout: float = 0.3,
    name: str = "classifier",
) -> keras.Model:
    """conv ×3 (the last two strided) → global average pool → dense ``features`` → softmax.

    Compiled with Adam and sparse categorical cross-entropy.

    Example:
        >>> model = build_classifier_cnn((8, 8, 1), 10)
        >>> model.get_layer("features").output.shape
        (None, 64)
    """
    x = keras.Input(image_shape, name="image")
    t = layers.Conv2D(width, 3, padding="same", activation="relu")(x)
    t = layers.Conv2D(width * 2, 3, strides=2, padding="same", activation="relu")(t)
    t = layers.Conv2D(width * 2, 3, strides=2 if min(image_shape[:2]) >= 16 else 1, padding="same",
                      activation="relu")(t)
    t = layers.GlobalAveragePooling2D()(t)
    f = layers.Dense(feature_dim, activation="relu", name=FEATURES_LAYER)(t)
    t = layers.Dropout(dropout)(f)
    out = layers.Dense(num_classes, activation="softmax", name="probabilities")(t)
    model = keras.Model(x, out, name=name)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def default_classifier_epochs(n: int) -> int:
    """Enough passes for a small data set to converge: more for fewer samples (15–200)."""
    return int(min(200, max(15, 30_000 // max(n, 1))))

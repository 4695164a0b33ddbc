"""Feature spaces for validation.

* `DomainEncoder`: a small CNN trained on the real training split (cached by a fingerprint of
  the data). Its penultimate layer is the feature space of the distribution metrics, and its
  predictions give label fidelity. Inception weights cannot be downloaded here, and a domain
  classifier is the better lens for small domains anyway (TF-GAN does the same for MNIST); the
  numbers are therefore not comparable to published Inception FIDs, which is why every metric is
  reported beside its real-vs-real baseline. Users may wrap their own Keras feature extractor
  with `DomainEncoder.from_feature_extractor` (e.g. InceptionV3 with weights on local disk).
* `image_feature_table`: a per-sample table (mean intensity, contrast, ink fraction, a few PCA
  components of the encoder features, label) that Great Expectations validates.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gan_augment.data.dataset import Dataset
from gan_augment.errors import DataError

ENCODER_VERSION = 1  # bump when the encoder architecture or training recipe changes


def dataset_fingerprint(dataset: Dataset) -> str:
    """A short hash of the samples, labels and class names (the encoder cache key)."""
    h = hashlib.sha256()
    h.update(f"v{ENCODER_VERSION}|{dataset.kind}|{dataset.shape}|{dataset.class_names}".encode())
    h.update(np.ascontiguousarray(dataset.x).tobytes())
    if dataset.y is not None:
        h.update(np.ascontiguousarray(dataset.y).tobytes())
    return h.hexdigest()[:16]


def default_cache_dir() -> Path:
    """``$GAN_AUGMENT_CACHE`` or ``~/.cache/gan_augment``."""
    return Path(os.environ.get("GAN_AUGMENT_CACHE", Path.home() / ".cache" / "gan_augment"))


class DomainEncoder:
    """Maps images to features and class probabilities.

    Build one with `fit_domain_encoder(real_train)` or wrap your own extractor with
    `DomainEncoder.from_feature_extractor(model, real_train)`.
    """

    def __init__(self, feature_fn: Any, proba_fn: Any, *, fingerprint: str = "", accuracy: float | None = None,
                 description: str = "") -> None:
        self._feature_fn = feature_fn
        self._proba_fn = proba_fn
        self.fingerprint = fingerprint
        self.accuracy = accuracy  # on a held-out part of the data it was trained on
        self.description = description

    def features(self, x: np.ndarray) -> np.ndarray:
        """(n, d) float64 features of images ``x`` (NHWC in [0, 1])."""
        return np.asarray(self._feature_fn(x), dtype=np.float64).reshape(len(x), -1)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self._proba_fn(x), dtype=np.float64)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.predict_proba(x).argmax(axis=1)

    @classmethod
    def from_keras(cls, model: Any, **kwargs: Any) -> DomainEncoder:
        """Wrap a classifier whose ``features`` layer is the feature space."""
        import keras

        from gan_augment.models.classifier import FEATURES_LAYER

        feats = keras.Model(model.inputs, model.get_layer(FEATURES_LAYER).output)
        return cls(lambda x: feats.predict(x, batch_size=512, verbose=0),
                   lambda x: model.predict(x, batch_size=512, verbose=0), **kwargs)

    @classmethod
    def from_feature_extractor(cls, extractor: Any, real: Dataset, *, seed: int = 0) -> DomainEncoder:
        """Use your own Keras model ``extractor`` (images -> features); label predictions come from
        a logistic regression fitted on its features of ``real``.

        Example:
            >>> base = keras.applications.InceptionV3(weights="/models/inception.h5",  # doctest: +SKIP
            ...                                       include_top=False, pooling="avg")
            >>> enc = DomainEncoder.from_feature_extractor(base, real_train)          # doctest: +SKIP
        """
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        def feature_fn(x: np.ndarray) -> np.ndarray:
            return extractor.predict(x, batch_size=256, verbose=0)

        head = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed))
        head.fit(np.asarray(feature_fn(real.x)).reshape(len(real), -1), real.y)
        return cls(feature_fn, lambda x: head.predict_proba(np.asarray(feature_fn(x)).reshape(len(x), -1)),
                   fingerprint="user", description=f"user feature extractor {getattr(extractor, 'name', '')}")


def fit_domain_encoder(
    real: Dataset,
    *,
    seed: int = 0,
    epochs: int | None = None,
    cache_dir: str | os.PathLike | None = None,
    verbose: int = 0,
) -> DomainEncoder:
    """Train (or load from the cache) the domain encoder on the real training split.

    The cache key is `dataset_fingerprint(real)` plus the seed, so the same data never trains
    twice. Pass ``cache_dir=False`` to skip the cache.

    Example:
        >>> enc = fit_domain_encoder(load_dataset("digits"))  # doctest: +SKIP
        >>> enc.features(x).shape                             # doctest: +SKIP
        (100, 64)
    """
    if real.kind != "image":
        raise DataError(f"Expected image data for the domain encoder. Received: kind={real.kind!r}.")
    if not real.labeled or real.num_classes < 2:
        raise DataError("Expected labelled data with at least 2 classes to train the domain encoder.")
    import keras

    from gan_augment._io import atomic_path
    from gan_augment.models.classifier import build_classifier_cnn, fit_classifier

    key = f"{dataset_fingerprint(real)}-s{seed}"
    path = None if cache_dir is False else Path(cache_dir or default_cache_dir()) / "encoders" / f"{key}.keras"
    meta_path = None if path is None else path.with_suffix(".accuracy")
    if path is not None and path.is_file() and meta_path.is_file():
        model = keras.saving.load_model(path, safe_mode=True)
        return DomainEncoder.from_keras(model, fingerprint=key, accuracy=float(meta_path.read_text()),
                                        description="domain CNN (cached)")
    fit_part, check_part = real.split(0.15, seed=seed)
    keras.utils.set_random_seed(seed)
    model = build_classifier_cnn(real.shape, real.num_classes, name="domain_encoder")
    fit_classifier(model, fit_part.x, fit_part.y, seed=seed, epochs=epochs, verbose=verbose)
    accuracy = float(np.mean(model.predict(check_part.x, verbose=0).argmax(1) == check_part.y))
    if path is not None:
        with atomic_path(path) as tmp:
            model.save(tmp)
        with atomic_path(meta_path) as tmp:
            tmp.write_text(repr(accuracy))
    return DomainEncoder.from_keras(model, fingerprint=key, accuracy=accuracy, description="domain CNN")


# ---------------------------------------------------------------------- per-sample feature table
class FeatureTable:
    """Turns images into the per-sample table that Great Expectations validates.

    The PCA of encoder features is fitted once on the real training data, so real and synthetic
    rows share one coordinate system.
    """

    def __init__(self, encoder: DomainEncoder, real: Dataset, *, n_components: int = 3, seed: int = 0) -> None:
        from sklearn.decomposition import PCA

        self.encoder = encoder
        self.pca = PCA(n_components=n_components, random_state=seed).fit(encoder.features(real.x))

    def __call__(self, dataset: Dataset, features: np.ndarray | None = None) -> pd.DataFrame:
        return image_feature_table(dataset, self.pca.transform(
            self.encoder.features(dataset.x) if features is None else features))


def image_feature_table(dataset: Dataset, components: np.ndarray) -> pd.DataFrame:
    """mean_intensity, contrast, ink_fraction, pc1..pcK and label for every image."""
    flat = dataset.x.reshape(len(dataset), -1)
    table = {
        "mean_intensity": flat.mean(axis=1),
        "contrast": flat.std(axis=1),
        "ink_fraction": (flat > 0.5).mean(axis=1),
    }
    for i in range(components.shape[1]):
        table[f"pc{i + 1}"] = components[:, i]
    frame = pd.DataFrame({k: np.asarray(v, dtype=np.float64) for k, v in table.items()})
    if dataset.y is not None:
        frame["label"] = pd.Categorical.from_codes(dataset.y, categories=list(dataset.class_names))
    return frame

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
* `TableDomain`: the same two roles for tables — a feature space (the real training frame's
  `gan_augment.downstream.table_to_matrix` encoding: numbers median-imputed and standardised,
  other columns one-hot) and a label classifier (scikit-learn's HistGradientBoosting trained on
  the real training rows). Tables are validated on their own columns by Great Expectations.
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
from gan_augment.kinds import require_kind

ENCODER_VERSION = 1  # bump when the encoder architecture or training recipe changes


def dataset_fingerprint(dataset: Dataset) -> str:
    """A short hash of the samples, labels and class names (the encoder cache key)."""
    return hashlib.sha256(f"v{ENCODER_VERSION}|{dataset.fingerprint()}".encode()).hexdigest()[:16]


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
    require_kind(real, "image", what="the domain encoder")
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


# ---------------------------------------------------------------------- tables
class TableDomain:
    """Feature space and label classifier for validating table rows, fitted on real training rows.

    ``features(frame)`` is the `table_to_matrix` encoding fitted on the real training frame
    (float64; unseen categories give all-zero one-hot blocks). ``predict(frame)`` is a
    `HistGradientBoostingClassifier` trained on those features and the real labels; its
    ``accuracy`` on a real holdout is the yardstick of label fidelity.

    Example:
        >>> train, holdout = load_dataset("penguins").split(0.2)     # doctest: +SKIP
        >>> domain = TableDomain.fit(train, seed=0)                  # doctest: +SKIP
        >>> domain.score(holdout)                                    # doctest: +SKIP
        0.985...
    """

    def __init__(self, encoding: Any, classifier: Any = None, *, description: str = "") -> None:
        self.encoding = encoding
        self.classifier = classifier
        self.accuracy: float | None = None
        self.description = description

    @classmethod
    def fit(cls, real: Dataset, *, seed: int = 0) -> TableDomain:
        """Fit the encoding (and, with labels, the classifier) on the real training rows."""
        require_kind(real, "table", what="the table domain")
        from gan_augment.data.matrix import table_to_matrix

        matrix, encoding = table_to_matrix(real.frame)
        classifier = None
        if real.labeled and len(np.unique(real.y)) >= 2:
            from sklearn.ensemble import HistGradientBoostingClassifier

            classifier = HistGradientBoostingClassifier(random_state=seed).fit(matrix, real.y)
        return cls(encoding, classifier,
                   description="table_to_matrix encoding + HistGradientBoosting label classifier")

    def features(self, frame: pd.DataFrame) -> np.ndarray:
        """(n, d) float64 features of a frame with the real columns."""
        from gan_augment.data.matrix import table_to_matrix

        return table_to_matrix(frame, self.encoding)[0].astype(np.float64)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Predicted labels (int64) of the rows of ``frame``."""
        if self.classifier is None:
            raise DataError("Expected a table domain fitted on labelled data to predict labels.")
        return np.asarray(self.classifier.predict(self.features(frame)), np.int64)

    def score(self, dataset: Dataset) -> float:
        """Accuracy on labelled rows (a real holdout: the label-fidelity baseline); kept in
        ``accuracy``."""
        self.accuracy = float(np.mean(self.predict(dataset.frame) == dataset.y))
        return self.accuracy

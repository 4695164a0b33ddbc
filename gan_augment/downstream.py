"""Downstream proof: do the synthetic samples help a classifier on untouched real test data?

`evaluate_downstream` trains the same classifier, once per seed, on

* ``real`` – the real training split only;
* ``real+classical`` – the real split plus classical augmentation (images: random shifts of up to
  1/8 of the size and rotations of up to ±12°; tables: SMOTE-like interpolation between
  same-class neighbours), the baseline a GAN has to beat;
* ``real+synthetic`` – the real split plus the synthetic samples (each weighted
  ``synthetic_weight`` in the loss);
* ``real+synthetic+classical`` – both: the setting that has to beat ``real+classical``;
* ``synthetic-only`` – the synthetic samples only ("train on synthetic, test on real", TSTR);

and scores every run on the real ``test`` split (accuracy and macro-F1). Every setting gets the
same classifier and, for Keras classifiers, the same number of gradient steps (``steps``), so a
bigger training set is not also a longer training run. The result is a `DownstreamReport` with
mean ± std over seeds.

Example:
    >>> import gan_augment as ga
    >>> from gan_augment.downstream import evaluate_downstream
    >>> train, test = ga.load_dataset("digits").split(0.3, seed=0)  # doctest: +SKIP
    >>> augmented = ga.augment(train.subsample(per_class=20), per_class=200)  # doctest: +SKIP
    >>> report = evaluate_downstream(augmented.real, test, augmented.synthetic)  # doctest: +SKIP
    >>> print(report.to_markdown())  # doctest: +SKIP

TensorFlow / Keras are imported only for Keras classifiers (``"cnn"``, a model or a factory).
"""

from __future__ import annotations

import dataclasses
import os
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gan_augment._io import atomic_path
from gan_augment.data.dataset import Dataset
from gan_augment.data.matrix import (
    TableEncoding,
    table_to_matrix,
)
from gan_augment.errors import DataError
from gan_augment.kinds import KIND_NAMES, kind_of
from gan_augment.logs import progress

#: The settings, in report order.
SETTINGS: tuple[str, ...] = ("real", "real+classical", "real+synthetic", "real+synthetic+classical",
                             "synthetic-only")

#: Names accepted for ``classifier`` (besides estimator instances, Keras models and factories).
CLASSIFIER_NAMES: tuple[str, ...] = ("auto", "cnn", "logreg", "hgb", "svm")

#: Augmented copies made of every real training sample for ``real+classical``.
CLASSICAL_COPIES = 4



# ====================================================================== report
@dataclasses.dataclass
class DownstreamReport:
    """Downstream scores per setting, mean ± std over seeds (std with ddof=1; 0 for one seed).

    Attributes:
        rows: one dict per setting, in `SETTINGS` order: ``setting``, ``n_train``,
            ``accuracy_mean``, ``accuracy_std``, ``macro_f1_mean``, ``macro_f1_std``,
            ``accuracy_per_seed``, ``macro_f1_per_seed``.
        classifier: a description of the classifier (``"cnn"``, ``"logreg"``, a class name…).
        seeds: the seeds, in the order of the per-seed values.
        kind: ``"image"`` or ``"table"``.
        n_test: size of the real test split every run was scored on.
        notes: what was done (classical augmentation, skipped settings…), for people.
    """

    rows: list[dict[str, Any]]
    classifier: str = ""
    seeds: list[int] = dataclasses.field(default_factory=list)
    kind: str = ""
    n_test: int = 0
    notes: list[str] = dataclasses.field(default_factory=list)

    # ------------------------------------------------------------------ access
    @property
    def settings(self) -> list[str]:
        return [row["setting"] for row in self.rows]

    def row(self, setting: str) -> dict[str, Any]:
        """The row of ``setting`` (raises `DataError` if that setting was not run)."""
        for row in self.rows:
            if row["setting"] == setting:
                return row
        raise DataError(
            f"Expected a setting this report holds, one of {self.settings}. Received: {setting!r}."
        )

    def gain(self, setting: str = "real+synthetic", over: str = "real") -> float:
        """Mean accuracy of ``setting`` minus mean accuracy of ``over`` (positive = better)."""
        return float(self.row(setting)["accuracy_mean"] - self.row(over)["accuracy_mean"])

    def beats_classical(self) -> bool:
        """Whether the best setting with synthetic samples (``real+synthetic`` or
        ``real+synthetic+classical``) has a higher mean accuracy than ``real+classical``."""
        with_gan = [s for s in ("real+synthetic", "real+synthetic+classical") if s in self.settings]
        return bool(with_gan) and max(self.gain(s, over="real+classical") for s in with_gan) > 0.0

    # ------------------------------------------------------------------ views
    def to_frame(self, per_seed: bool = False) -> pd.DataFrame:
        """Summary table, one row per setting; ``per_seed=True``: one row per setting and seed."""
        if per_seed:
            records = [
                {"setting": r["setting"], "seed": s, "n_train": r["n_train"],
                 "accuracy": a, "macro_f1": f}
                for r in self.rows
                for s, a, f in zip(self.seeds, r["accuracy_per_seed"], r["macro_f1_per_seed"])
            ]
            return pd.DataFrame.from_records(
                records, columns=["setting", "seed", "n_train", "accuracy", "macro_f1"]
            )
        columns = ["setting", "n_train", "accuracy_mean", "accuracy_std", "macro_f1_mean",
                   "macro_f1_std"]
        return pd.DataFrame.from_records([{c: r[c] for c in columns} for r in self.rows],
                                         columns=columns)

    def to_markdown(self, digits: int = 3) -> str:
        """A Markdown table, one row per setting, scores as ``0.912 ± 0.008``."""
        lines = [
            "| setting | n_train | accuracy | macro-F1 |",
            "|---|---:|---:|---:|",
        ]
        for r in self.rows:
            acc = f"{r['accuracy_mean']:.{digits}f} ± {r['accuracy_std']:.{digits}f}"
            f1 = f"{r['macro_f1_mean']:.{digits}f} ± {r['macro_f1_std']:.{digits}f}"
            lines.append(f"| {r['setting']} | {r['n_train']} | {acc} | {f1} |")
        return "\n".join(lines)

    def __str__(self) -> str:
        head = (f"Downstream evaluation: classifier={self.classifier}, seeds={self.seeds}, "
                f"n_test={self.n_test}")
        return "\n".join([head, self.to_markdown(), *(f"- {n}" for n in self.notes)])

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-safe data (`json.dumps` works on it); `from_dict` reads it back."""
        return {
            "rows": [_plain(r) for r in self.rows],
            "classifier": str(self.classifier),
            "seeds": [int(s) for s in self.seeds],
            "kind": str(self.kind),
            "n_test": int(self.n_test),
            "notes": [str(n) for n in self.notes],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DownstreamReport:
        if not isinstance(data, dict) or not isinstance(data.get("rows"), list):
            raise DataError(
                "Expected a dict with a 'rows' list, as written by DownstreamReport.to_dict(). "
                f"Received: {type(data).__name__}."
            )
        return cls(
            rows=[dict(r) for r in data["rows"]],
            classifier=str(data.get("classifier", "")),
            seeds=[int(s) for s in data.get("seeds", [])],
            kind=str(data.get("kind", "")),
            n_test=int(data.get("n_test", 0)),
            notes=[str(n) for n in data.get("notes", [])],
        )

    def save_plot(self, path: str | os.PathLike) -> Path:
        """Bar chart (accuracy and macro-F1 per setting, error bars = std over seeds) as a PNG."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        names = self.settings
        pos = np.arange(len(names))
        width = 0.38
        fig, ax = plt.subplots(figsize=(max(4.5, 1.5 * len(names) + 1.5), 3.8))
        for offset, metric, label in ((-width / 2, "accuracy", "accuracy"),
                                      (width / 2, "macro_f1", "macro-F1")):
            means = [r[f"{metric}_mean"] for r in self.rows]
            stds = [r[f"{metric}_std"] for r in self.rows]
            bars = ax.bar(pos + offset, means, width, yerr=stds, capsize=4, label=label)
            for bar, mean in zip(bars, means):
                ax.annotate(f"{mean:.3f}", (bar.get_x() + bar.get_width() / 2, mean),
                            xytext=(0, 6), textcoords="offset points", ha="center", fontsize=7)
        ax.set_xticks(pos)
        ax.set_xticklabels(names)
        ax.set_ylim(0, 1.08)
        ax.set_ylabel("score on the real test split")
        ax.set_title(f"downstream: {self.classifier}, {len(self.seeds)} seed(s), "
                     f"n_test={self.n_test}", fontsize=10)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2, fontsize=8, frameon=False)
        fig.tight_layout()
        try:
            with atomic_path(path) as tmp:
                fig.savefig(tmp, format="png", dpi=100)
        finally:
            plt.close(fig)
        return Path(path)


def _plain(value: Any) -> Any:
    """numpy scalars / arrays -> Python numbers / lists (JSON-safe)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return float(value)
    return value


# ====================================================================== classical augmentation
def classical_augment(data: Dataset, seed: int = 0, copies: int = CLASSICAL_COPIES) -> Dataset:
    """``copies`` classically augmented versions of every sample of ``data`` (originals excluded).

    Images: each copy is shifted by up to 1/8 of the height / width and rotated by up to
    ±12° (uniformly at random, bilinear, edges repeated), clipped to [0, 1]. Tables: each copy is a
    SMOTE-like interpolation ``x + u * (neighbour - x)``, ``u ~ U(0, 1)``, towards one of the 5
    nearest same-class rows (numeric columns; other columns taken from either row at random).
    Seeded: the same ``seed`` gives the same samples.
    """
    if data.y is None:
        raise DataError("Expected labelled data to augment. Received: y=None.")
    if copies < 1:
        raise DataError(f"Expected copies >= 1. Received: copies={copies}.")
    rng = np.random.default_rng([int(seed), 0xC1A55])
    copied = kind_of(data).classical_augment(data, rng, copies)
    return dataclasses.replace(copied, provenance={**data.provenance, "classical_augmentation": {
        "seed": int(seed), "copies": copies}})


# ====================================================================== validation
def _as_dataset(value: Any, name: str) -> Dataset:
    if isinstance(value, Dataset):
        return value
    inner = getattr(value, "synthetic", None)  # an AugmentedDataset: use its generated part
    if isinstance(inner, Dataset) and name == "synthetic":
        return inner
    raise DataError(f"Expected `{name}` as a gan_augment.Dataset. Received: {type(value).__name__}.")


def _check_inputs(train: Dataset, test: Dataset, synthetic: Dataset | None) -> dict[str, Dataset]:
    parts = {"train": train, "test": test}
    if synthetic is not None:
        parts["synthetic"] = synthetic
    for name, part in parts.items():
        if part.y is None:
            raise DataError(
                f"Expected `{name}` with labels. Received: {name}.y=None."
            )
        if part.kind != train.kind:
            raise DataError(
                f"Expected `{name}` of the same kind as `train` ({train.kind!r}). "
                f"Received: {name}.kind={part.kind!r}."
            )
        if part.class_names != train.class_names:
            raise DataError(
                f"Expected `{name}` with the same classes as `train` {list(train.class_names)}. "
                f"Received: {name}.class_names={list(part.class_names)}."
            )
        parts[name] = kind_of(train).align(part, train, name)  # tables: train's column order
    counts = train.class_counts()
    missing = [train.class_names[c] for c in np.flatnonzero(counts == 0)]
    if missing:
        warnings.warn(
            f"Classes {missing} have no samples in `train`; the real-only classifiers cannot "
            "predict them.", UserWarning, stacklevel=3,
        )
    return parts


def _resolve_seeds(seeds: int | Sequence[int]) -> list[int]:
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        if seeds < 1:
            raise DataError(f"Expected seeds >= 1 (a count) or a list of seeds. Received: {seeds}.")
        return list(range(int(seeds)))
    try:
        out = [int(s) for s in seeds]
    except (TypeError, ValueError):
        raise DataError(
            f"Expected seeds as a count or a sequence of integers. Received: {seeds!r}."
        ) from None
    if not out:
        raise DataError("Expected at least one seed. Received: an empty sequence.")
    return out


# ====================================================================== classifiers
@dataclasses.dataclass
class _Runner:
    """A classifier choice: ``make(seed)`` gives a scikit-learn estimator, or (Keras)
    ``make(input_shape, num_classes, seed)`` a compiled model."""

    name: str
    keras: bool
    make: Callable[..., Any]  # sklearn: make(seed) -> estimator; keras: make(shape, k, seed)


def _is_sklearn_estimator(obj: Any) -> bool:
    return hasattr(obj, "fit") and hasattr(obj, "get_params") and hasattr(obj, "set_params")


def _resolve_classifier(classifier: Any, kind: str) -> _Runner:
    if isinstance(classifier, str) or classifier is None:
        name = "auto" if classifier is None else classifier.lower()
        if name not in CLASSIFIER_NAMES:
            raise DataError(
                f"Expected classifier as one of {list(CLASSIFIER_NAMES)}, a scikit-learn "
                "estimator, a Keras model or a factory(input_shape, num_classes). "
                f"Received: classifier={classifier!r}."
            )
        data_kind = kind_of(kind)
        if name == "auto":
            name = data_kind.default_classifier
        if name not in data_kind.classifiers:
            fits = [k for k in KIND_NAMES if name in kind_of(k).classifiers]
            raise DataError(
                f"Expected a classifier for {kind} data: {list(data_kind.classifiers)} or 'auto'. "
                f"Received: classifier={name!r}, which needs {' or '.join(fits)} data."
            )
        if name == "cnn":
            return _Runner("cnn", True, lambda shape, k, seed: _build_cnn(shape, k))
        return _Runner(name, False, lambda seed, _n=name: _named_estimator(_n, seed))
    if _is_sklearn_estimator(classifier):
        return _Runner(type(classifier).__name__, False,
                       lambda seed: _clone_estimator(classifier, seed))
    import keras

    if isinstance(classifier, keras.Model):
        return _Runner(f"keras:{classifier.name}", True,
                       lambda shape, k, seed: _clone_keras(classifier))
    if callable(classifier):
        label = getattr(classifier, "__name__", type(classifier).__name__)
        return _Runner(f"keras-factory:{label}", True,
                       lambda shape, k, seed: _call_factory(classifier, shape, k))
    raise DataError(
        "Expected classifier as a name, a scikit-learn estimator, a Keras model or a "
        f"factory(input_shape, num_classes). Received: {type(classifier).__name__}."
    )


def _named_estimator(name: str, seed: int) -> Any:
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if name == "logreg":
        from sklearn.linear_model import LogisticRegression

        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed))
    if name == "svm":
        from sklearn.svm import SVC

        return make_pipeline(StandardScaler(), SVC(random_state=seed))
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(random_state=seed)


def _clone_estimator(estimator: Any, seed: int) -> Any:
    from sklearn.base import clone

    est = clone(estimator)
    params = est.get_params(deep=True)
    seeded = {k: seed for k in params if k == "random_state" or k.endswith("__random_state")}
    if seeded:
        est.set_params(**seeded)
    return est


def _build_cnn(shape: tuple[int, ...], num_classes: int) -> Any:
    from gan_augment.models.classifier import build_classifier_cnn

    return build_classifier_cnn(shape, num_classes, name="downstream_cnn")


def _compile_if_needed(model: Any) -> Any:
    import keras

    if not getattr(model, "compiled", False) or getattr(model, "optimizer", None) is None:
        model.compile(optimizer=keras.optimizers.Adam(1e-3),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _clone_keras(model: Any) -> Any:
    import keras

    clone = keras.models.clone_model(model)
    if getattr(model, "compiled", False) and getattr(model, "optimizer", None) is not None:
        optimizer = model.optimizer.__class__.from_config(model.optimizer.get_config())
        clone.compile(optimizer=optimizer, loss=model.loss or "sparse_categorical_crossentropy")
        return clone
    return _compile_if_needed(clone)


def _call_factory(factory: Callable[..., Any], shape: tuple[int, ...], k: int) -> Any:
    import keras

    model = factory(tuple(shape), int(k))
    if not isinstance(model, keras.Model):
        raise DataError(
            "Expected the classifier factory to return a keras.Model. "
            f"Received: {type(model).__name__}."
        )
    return _compile_if_needed(model)


def _features(data: Dataset, encoding: Any) -> tuple[np.ndarray, Any]:
    """Model input for ``data``: images as they are (Keras) or flattened; tables encoded."""
    return kind_of(data).model_input(data, encoding)


def _fit_predict(
    runner: _Runner, fit_data: Dataset, test: Dataset, seed: int, epochs: int | None,
    verbose: int, *, weights: np.ndarray | None = None, steps: int | None = None,
) -> np.ndarray:
    """Fit ``runner``'s classifier on ``fit_data`` (per-sample loss ``weights``) and predict
    ``test``'s labels. Keras classifiers take ``steps`` gradient steps (default
    `TARGET_STEPS`) unless ``epochs`` is given."""
    return fit_and_predict_proba(runner, fit_data, test, seed, epochs, verbose, weights=weights,
                                 steps=steps).argmax(axis=-1).astype(np.int64)


def fit_and_predict_proba(
    runner: _Runner, fit_data: Dataset, test: Dataset, seed: int, epochs: int | None = None,
    verbose: int = 0, *, weights: np.ndarray | None = None, steps: int | None = None,
) -> np.ndarray:
    """Class probabilities (n_test × classes) of ``runner``'s classifier fitted on ``fit_data``."""
    x_fit, encoding = _features(fit_data, None)
    x_test, _ = _features(test, encoding)
    y_fit = fit_data.y
    k = len(fit_data.class_names)
    present = np.unique(y_fit)
    if len(present) < 2:
        raise DataError(
            "Expected training data with at least two classes. "
            f"Received: only class(es) {[fit_data.class_names[c] for c in present]}."
        )
    if not runner.keras:
        est = runner.make(seed)
        if x_fit.ndim > 2:
            x_fit, x_test = x_fit.reshape(len(x_fit), -1), x_test.reshape(len(x_test), -1)
        est.fit(x_fit, y_fit, **_weight_kwargs(est, weights))
        if hasattr(est, "predict_proba"):
            proba = np.asarray(est.predict_proba(x_test))
            out = np.zeros((len(x_test), k))
            out[:, np.asarray(est.classes_, np.int64)] = proba
            return out
        return np.eye(k)[np.asarray(est.predict(x_test)).astype(np.int64)]

    import keras

    keras.utils.set_random_seed(seed)
    from gan_augment.models.classifier import TARGET_STEPS, fit_classifier

    model = runner.make(tuple(x_fit.shape[1:]), k, seed)
    if epochs is None and steps is None:
        steps = TARGET_STEPS
    fit_classifier(model, x_fit, y_fit, seed=seed, epochs=epochs, steps=steps, sample_weight=weights,
                   verbose=2 if verbose >= 2 else 0)
    probs = np.asarray(model.predict(x_test, batch_size=256, verbose=0))
    if probs.ndim == 1 or probs.shape[-1] == 1:
        p1 = probs.reshape(-1)
        return np.column_stack([1 - p1, p1])
    return probs


def _weight_kwargs(estimator: Any, weights: np.ndarray | None) -> dict[str, Any]:
    """``fit`` keyword for per-sample weights of a scikit-learn estimator (or pipeline)."""
    if weights is None or np.all(weights == 1.0):
        return {}
    import inspect

    target, prefix = estimator, ""
    if hasattr(estimator, "steps"):  # a Pipeline: route the weights to its last step
        name, target = estimator.steps[-1]
        prefix = f"{name}__"
    if "sample_weight" not in inspect.signature(target.fit).parameters:
        raise DataError(
            f"Expected a classifier whose fit() takes sample_weight for synthetic_weight != 1. "
            f"Received: {type(target).__name__}. Use synthetic_weight=1.0 or another classifier."
        )
    return {f"{prefix}sample_weight": np.asarray(weights, np.float64)}


def training_set(
    setting: str, train: Dataset, synthetic: Dataset | None, *, seed: int,
    synthetic_weight: float = 1.0,
) -> tuple[Dataset, np.ndarray]:
    """The training data of one downstream ``setting`` (a name in `SETTINGS`) and its per-sample
    loss weights (1 for real and classically augmented samples, ``synthetic_weight`` for
    synthetic ones). Classical copies are made of the real samples only, seeded by ``seed``.

    Example:
        >>> data, w = training_set("real+synthetic", train, synthetic, seed=0, synthetic_weight=0.5)  # doctest: +SKIP
    """
    if setting not in SETTINGS:
        raise DataError(f"Expected a setting in {list(SETTINGS)}. Received: {setting!r}.")
    if "synthetic" in setting and synthetic is None:
        raise DataError(f"Expected synthetic samples for the setting {setting!r}. Received: None.")
    if setting == "synthetic-only":
        return synthetic, np.full(len(synthetic), 1.0, np.float32)
    parts, weights = [train], [np.ones(len(train), np.float32)]
    if "classical" in setting:
        copies = classical_augment(train, seed=seed)
        parts.append(copies)
        weights.append(np.ones(len(copies), np.float32))
    if "synthetic" in setting:
        parts.append(synthetic)
        weights.append(np.full(len(synthetic), float(synthetic_weight), np.float32))
    data = parts[0]
    for part in parts[1:]:
        data = data.concat(part)
    return data, np.concatenate(weights)


def _target_steps() -> int:
    from gan_augment.models.classifier import TARGET_STEPS

    return TARGET_STEPS


# ====================================================================== entry point
def evaluate_downstream(
    train: Dataset,
    test: Dataset,
    synthetic: Dataset | None = None,
    *,
    classifier: Any = "auto",
    seeds: int | Sequence[int] = 3,
    classical_augmentation: bool = True,
    synthetic_weight: float = 1.0,
    steps: int | None = None,
    epochs: int | None = None,
    settings: Sequence[str] | None = None,
    verbose: int = 0,
) -> DownstreamReport:
    """Train ``classifier`` per setting and seed; score each on the real ``test`` split.

    Args:
        train: the real training data (what the GAN saw).
        test: untouched real data, never used for fitting, augmentation or early stopping.
        synthetic: generated samples with labels (or an ``AugmentedDataset``: its synthetic
            part). Without it only ``real`` and ``real+classical`` are run.
        classifier: ``"auto"`` (``"cnn"`` for images, ``"hgb"`` for tables), ``"cnn"``,
            ``"logreg"``, ``"hgb"``, ``"svm"``; a scikit-learn estimator (cloned per run,
            ``random_state`` set to the seed; images flattened); a Keras model (cloned per run,
            compiled with Adam + sparse categorical cross-entropy if it is not compiled); or a
            ``factory(input_shape, num_classes) -> keras.Model``. Tables are encoded with
            `table_to_matrix`, fitted on each setting's training data.
        seeds: a number of seeds (``0..n-1``) or the seeds themselves.
        classical_augmentation: run the settings with ``classical`` (see `classical_augment`).
        synthetic_weight: loss weight of every synthetic sample in the mixed settings (real
            samples weigh 1): a GAN sample is usually worth less than a real one.
        steps: gradient steps of a Keras classifier, the same in every setting (default
            ``TARGET_STEPS`` = 600 batches of 32).
        epochs: instead of ``steps``, epochs of a Keras classifier (then bigger training sets get
            more steps, with seeded early stopping on 10% of the data from 500 samples up; kept
            for compatibility, not a fair comparison). Ignored by scikit-learn classifiers.
        settings: a subset of `SETTINGS` to run (default: every one the inputs allow).
        verbose: 1 prints a line per setting and seed; 2 also Keras' per-epoch lines.

    Returns:
        A `DownstreamReport` (mean ± std over seeds of accuracy and macro-F1 per setting).

    Raises:
        DataError: different kinds, sample shapes, columns or classes; missing labels; an
            unknown classifier. A class absent from ``train`` only warns.
    """
    from sklearn.metrics import accuracy_score, f1_score

    train = _as_dataset(train, "train")
    test = _as_dataset(test, "test")
    synthetic = None if synthetic is None else _as_dataset(synthetic, "synthetic")
    parts = _check_inputs(train, test, synthetic)
    train, test, synthetic = parts["train"], parts["test"], parts.get("synthetic")
    seed_list = _resolve_seeds(seeds)
    runner = _resolve_classifier(classifier, train.kind)
    if epochs is not None and (int(epochs) < 1):
        raise DataError(f"Expected epochs >= 1 or None. Received: epochs={epochs}.")
    if steps is not None and int(steps) < 1:
        raise DataError(f"Expected steps >= 1 or None. Received: steps={steps}.")
    if not (isinstance(synthetic_weight, (int, float)) and 0.0 < float(synthetic_weight) <= 10.0):
        raise DataError(f"Expected synthetic_weight in (0, 10]. Received: synthetic_weight={synthetic_weight!r}.")
    wanted = None if settings is None else list(settings)
    if wanted is not None:
        unknown = [w for w in wanted if w not in SETTINGS]
        if unknown:
            raise DataError(f"Expected settings from {list(SETTINGS)}. Received: {unknown}.")

    notes: list[str] = []
    settings = ["real"]
    if runner.keras:
        notes.append(f"every setting: the same {runner.name} and "
                     + (f"{epochs} epochs (unequal steps)." if epochs is not None
                        else f"{steps or _target_steps()} gradient steps of 32 samples."))
    if classical_augmentation:
        settings.append("real+classical")
        notes.append(kind_of(train).classical_note(CLASSICAL_COPIES))
    else:
        notes.append("real+classical: skipped (classical_augmentation=False).")
    if synthetic is not None:
        settings.append("real+synthetic")
        if classical_augmentation:
            settings.append("real+synthetic+classical")
        if synthetic_weight != 1.0:
            notes.append(f"synthetic samples weigh {synthetic_weight:g} in the loss (real: 1).")
        present = np.unique(synthetic.y)
        if len(present) >= 2:
            settings.append("synthetic-only")
        else:  # e.g. augment(balance=True) on two classes fills only the rare one
            notes.append(
                "synthetic-only: skipped (the synthetic samples are all of class "
                f"{train.class_names[int(present[0])]!r}; a classifier needs two classes)."
            )
    else:
        notes.append("real+synthetic, synthetic-only: skipped (no synthetic data given).")
    if wanted is not None:
        settings = [s for s in settings if s in wanted]
    if kind_of(train).input_note():
        notes.append(kind_of(train).input_note())

    results: dict[str, dict[str, list[float]]] = {
        s: {"accuracy": [], "macro_f1": [], "n_train": []} for s in settings
    }
    for setting in settings:
        for seed in seed_list:
            start = time.perf_counter()
            fit_data, weights = training_set(setting, train, synthetic, seed=seed,
                                             synthetic_weight=synthetic_weight)
            y_pred = _fit_predict(runner, fit_data, test, seed, epochs, verbose, weights=weights,
                                  steps=steps)
            acc = float(accuracy_score(test.y, y_pred))
            f1 = float(f1_score(test.y, y_pred, average="macro", zero_division=0))
            results[setting]["accuracy"].append(acc)
            results[setting]["macro_f1"].append(f1)
            results[setting]["n_train"].append(len(fit_data))
            if verbose:
                progress(
                    f"[downstream] {runner.name} {setting:<15} seed={seed}: n_train={len(fit_data)} "
                    f"accuracy={acc:.3f} macro-F1={f1:.3f} ({time.perf_counter() - start:.1f} s)",
                )

    rows = []
    for setting in settings:
        acc = np.array(results[setting]["accuracy"])
        f1 = np.array(results[setting]["macro_f1"])
        ddof = 1 if len(acc) > 1 else 0
        rows.append({
            "setting": setting,
            "n_train": int(results[setting]["n_train"][0]),
            "accuracy_mean": float(acc.mean()),
            "accuracy_std": float(acc.std(ddof=ddof)),
            "macro_f1_mean": float(f1.mean()),
            "macro_f1_std": float(f1.std(ddof=ddof)),
            "accuracy_per_seed": [float(a) for a in acc],
            "macro_f1_per_seed": [float(f) for f in f1],
        })
    return DownstreamReport(rows=rows, classifier=runner.name, seeds=seed_list, kind=train.kind,
                            n_test=len(test), notes=notes)


__all__ = [
    "SETTINGS",
    "DownstreamReport",
    "TableEncoding",
    "classical_augment",
    "evaluate_downstream",
    "fit_and_predict_proba",
    "table_to_matrix",
    "training_set",
]

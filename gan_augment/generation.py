"""Class-balanced generation: `augment(dataset) -> AugmentedDataset` (real + synthetic).

Works the same for images and tables (the GAN, the samples and the validation follow the data's
kind).

Example:
    >>> import gan_augment as ga
    >>> aug = ga.augment(ga.load_dataset("digits"), per_class=300, seed=0)  # doctest: +SKIP
    >>> aug.combined()             # real + synthetic as one Dataset          # doctest: +SKIP
    >>> aug.export_npz("digits_augmented.npz")                               # doctest: +SKIP
    >>> rows = ga.augment(ga.load_dataset("penguins"))   # fills the rare species up  # doctest: +SKIP
    >>> rows.export_parquet("penguins_augmented.parquet")                    # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gan_augment.data.dataset import Dataset
from gan_augment.errors import DataError, ValidationFailed

if TYPE_CHECKING:
    from gan_augment.training import TrainedGAN
    from gan_augment.validation.report import ValidationReport

#: generate this many times the plan, so curation can drop samples and classes still fill up
OVERSAMPLE = 1.5


@dataclasses.dataclass(frozen=True, eq=False)
class AugmentedDataset:
    """Real samples followed by synthetic ones, with a per-sample ``synthetic`` flag.

    Attributes:
        real: the data the GAN was trained on.
        synthetic: the generated samples that were kept (``None`` if nothing was needed).
        gan: the GAN that made them (``None`` when loaded from disk).
        requested: how many synthetic samples each class was to receive.
        dropped: how many generated samples curation rejected (0 without curation).
        report: the validation report of the generated samples (``None`` without validation).
    """

    real: Dataset
    synthetic: Dataset | None
    gan: TrainedGAN | None = None
    requested: tuple[int, ...] = ()
    dropped: int = 0
    report: ValidationReport | None = None

    @property
    def n_synthetic(self) -> int:
        return 0 if self.synthetic is None else len(self.synthetic)

    def __len__(self) -> int:
        return len(self.real) + self.n_synthetic

    def __repr__(self) -> str:
        return (f"AugmentedDataset(real={len(self.real)}, synthetic={self.n_synthetic}, "
                f"dropped={self.dropped}, classes={self.real.num_classes})")

    @property
    def synthetic_mask(self) -> np.ndarray:
        """Boolean array over `combined()`: True where the sample is generated."""
        return np.concatenate([np.zeros(len(self.real), bool), np.ones(self.n_synthetic, bool)])

    def combined(self) -> Dataset:
        """Real and synthetic samples as one Dataset (real first; see `synthetic_mask`)."""
        merged = self.real if self.synthetic is None else self.real.concat(self.synthetic)
        return dataclasses.replace(
            merged,
            provenance={**self.real.provenance, "augmented": {
                "real": len(self.real), "synthetic": self.n_synthetic, "dropped": self.dropped}},
        )

    def class_counts(self) -> dict[str, np.ndarray]:
        synthetic = (np.zeros(self.real.num_classes, np.int64) if self.synthetic is None
                     else self.synthetic.class_counts())
        return {"real": self.real.class_counts(), "synthetic": synthetic}

    def export_npz(self, path: str | os.PathLike) -> Path:
        """Write x, y, class_names and the synthetic mask to one ``.npz`` (atomically; images)."""
        from gan_augment.export import export_npz

        self._require("image", "export_npz", "export_parquet(path) (a .parquet file keeps the columns' dtypes)")
        return export_npz(self.combined(), path, synthetic=self.synthetic_mask)

    def export_tfds(self, directory: str | os.PathLike, *, name: str = "gan_augment_dataset") -> Path:
        """Write a TFDS dataset directory (image, label, synthetic) that
        ``tfds.builder_from_directory`` reads back (images)."""
        from gan_augment.export import export_tfds

        self._require("image", "export_tfds", "export_parquet(path)")
        return export_tfds(self.combined(), directory, name=name, synthetic=self.synthetic_mask)

    def export_parquet(self, path: str | os.PathLike) -> Path:
        """Write the rows (real first), the class column and a boolean ``_synthetic`` column to one
        ``.parquet`` file (atomically; tables). ``load_dataset(path, target=...)`` reads it back,
        with ``synthetic="drop"`` or ``"only"`` to pick a part.

        Example:
            >>> aug.export_parquet("data/outputs/penguins/augmented.parquet")  # doctest: +SKIP
        """
        from gan_augment.export import export_parquet

        self._require("table", "export_parquet", "export_npz(path) or export_tfds(directory)")
        return export_parquet(self.combined(), path, synthetic=self.synthetic_mask)

    def export_csv(self, path: str | os.PathLike) -> Path:
        """`export_parquet`'s columns as a ``.csv`` file (atomically; tables). CSV keeps no dtypes."""
        from gan_augment.export import export_csv

        self._require("table", "export_csv", "export_npz(path) or export_tfds(directory)")
        return export_csv(self.combined(), path, synthetic=self.synthetic_mask)

    def _require(self, kind: str, method: str, instead: str) -> None:
        if self.real.kind != kind:
            raise DataError(f"Expected {kind} data for AugmentedDataset.{method}. Received: "
                            f"{self.real.kind} data. Use AugmentedDataset.{instead} instead.")


def generation_plan(class_counts: np.ndarray, per_class: int | None, balance: bool) -> np.ndarray:
    """How many samples to generate for each class.

    * ``balance=True``: every class is filled up to ``per_class`` (default: the largest class).
    * ``balance=False``: ``per_class`` new samples for every class (default: as many as it has).

    Example:
        >>> generation_plan(np.array([50, 10, 30]), None, True).tolist()
        [0, 40, 20]
        >>> generation_plan(np.array([50, 10, 30]), 5, False).tolist()
        [5, 5, 5]
    """
    counts = np.asarray(class_counts, dtype=np.int64)
    if per_class is not None and per_class < 0:
        raise DataError(f"Expected per_class >= 0. Received: per_class={per_class}.")
    if balance:
        target = int(counts.max()) if per_class is None else int(per_class)
        return np.maximum(target - counts, 0)
    return counts.copy() if per_class is None else np.full_like(counts, int(per_class))


def sample_for_plan(gan: TrainedGAN, plan: np.ndarray, *, oversample: float = 1.0, seed: int = 0) -> Dataset:
    """``ceil(plan[c] × oversample)`` samples of every class ``c``, class by class — more than the
    plan when curation will drop some (`augment` oversamples by ``OVERSAMPLE``).

    Example:
        >>> samples = sample_for_plan(gan, np.array([0, 40, 20]), oversample=1.5)  # doctest: +SKIP
        >>> samples.class_counts().tolist()                                        # doctest: +SKIP
        [0, 60, 30]
    """
    if oversample < 1.0:
        raise DataError(f"Expected oversample >= 1. Received: oversample={oversample}.")
    counts = np.ceil(np.asarray(plan, dtype=np.int64) * oversample).astype(np.int64)
    return gan.sample(labels=np.repeat(np.arange(len(counts)), counts), seed=seed)


def take_per_class(samples: Dataset, plan: np.ndarray, *, accepted: np.ndarray | None = None) -> Dataset | None:
    """Per class ``c``, the first ``plan[c]`` samples that ``accepted`` (default: all) lets
    through, in their original order; ``None`` when that is no sample at all.

    Example:
        >>> kept = take_per_class(samples, plan, accepted=report.accepted)  # doctest: +SKIP
    """
    plan = np.asarray(plan, dtype=np.int64)
    keep = np.ones(len(samples), bool) if accepted is None else np.asarray(accepted, bool)
    if len(keep) != len(samples):
        raise DataError(f"Expected one accepted flag per sample ({len(samples)}). Received: {len(keep)}.")
    chosen = np.concatenate([np.flatnonzero(keep & (samples.y == c))[: plan[c]] for c in range(len(plan))])
    if not len(chosen):
        return None
    record = {} if accepted is None else {"curated": {"kept": int(keep.sum()), "dropped": int((~keep).sum())}}
    return samples.take(np.sort(chosen), **record)


def shortfall(synthetic: Dataset | None, plan: np.ndarray, class_names: tuple[str, ...]) -> dict[str, int]:
    """Samples missing from the plan, by class name (only the classes that are short)."""
    have = np.zeros(len(plan), np.int64) if synthetic is None else np.bincount(synthetic.y, minlength=len(plan))
    return {class_names[c]: int(plan[c] - have[c]) for c in range(len(plan)) if have[c] < plan[c]}


def augment(
    dataset: Dataset,
    *,
    per_class: int | None = None,
    balance: bool = True,
    seed: int = 0,
    gan: TrainedGAN | None = None,
    validate: bool = True,
    on_fail: str = "raise",
    thresholds: Any = None,
    verbose: int = 1,
    **train_options: Any,
) -> AugmentedDataset:
    """Train a conditional GAN on ``dataset`` (or use ``gan``), generate so that every class
    reaches the target count, validate the samples against the real data and keep only those
    that curation accepts.

    Args:
        dataset: labelled real data.
        per_class: target count per class (``balance=True``) or samples added per class
            (``balance=False``); see `generation_plan` for the defaults.
        balance: fill rare classes up rather than adding the same number everywhere.
        seed: seeds training, sampling and validation.
        gan: an already trained GAN for this data (skips training).
        validate: run `gan_augment.validate` and drop near-copies of training samples and samples
            whose label the domain encoder disputes (``OVERSAMPLE`` × the plan is generated so the
            classes still fill up).
        on_fail: when a validation gate fails: "raise" (`ValidationFailed`, nothing is returned),
            "warn" (keep the curated samples, warn) or "ignore".
        thresholds: gate thresholds for `validate` (a `Thresholds` or a dict).
        verbose: 0 silent, 1 progress output.
        **train_options: passed to `train_gan` (epochs, batch_size, loss, output_dir, …).

    Example:
        >>> aug = augment(load_dataset("digits").subsample(per_class=20), per_class=200)  # doctest: +SKIP
        >>> aug.combined().class_counts()                                                # doctest: +SKIP
        array([200, 200, 200, 200, 200, 200, 200, 200, 200, 200])
    """
    if not dataset.labeled:
        raise DataError(
            "Expected a labelled dataset to augment class by class. Received: y=None. "
            "Use train_gan(dataset).sample(n) for unlabelled data."
        )
    if on_fail not in ("raise", "warn", "ignore"):
        raise DataError(f"Expected on_fail='raise', 'warn' or 'ignore'. Received: on_fail={on_fail!r}.")
    plan = generation_plan(dataset.class_counts(), per_class, balance)
    if gan is None:
        from gan_augment.training import train_gan

        gan = train_gan(dataset, seed=seed, verbose=verbose, **train_options)
    elif train_options:
        raise TypeError(f"Training options {sorted(train_options)} have no effect with gan=. Remove them.")
    _check_compatible(dataset, gan)
    if not plan.any():
        return AugmentedDataset(real=dataset, synthetic=None, gan=gan, requested=tuple(plan.tolist()))

    generated = sample_for_plan(gan, plan, oversample=OVERSAMPLE if validate else 1.0, seed=seed + 1)
    report = None
    keep = np.ones(len(generated), dtype=bool)
    if validate:
        from gan_augment.validation.validate import validate as run_validation

        report = run_validation(dataset, generated, thresholds=thresholds, requested=plan, seed=seed,
                                verbose=0)
        keep = report.accepted
        if verbose:
            print(report.summary())
        if not report.passed:
            message = ("The synthetic samples failed validation:\n" + report.summary()
                       + "\nTrain longer, change the GAN options, or pass on_fail='warn'.")
            if on_fail == "raise":
                raise ValidationFailed(message, report)
            if on_fail == "warn":
                warnings.warn(message, stacklevel=2)
    synthetic = take_per_class(generated, plan, accepted=keep)
    short = shortfall(synthetic, plan, dataset.class_names)
    if short and verbose:
        print(f"Curation left some classes short of the target: {short} samples missing.")
    if synthetic is not None:
        synthetic = dataclasses.replace(synthetic, provenance={
            "source": "gan", "seed": seed + 1, "trained_on": dataset.provenance.get("source"),
            "curated": validate})
    if verbose:
        print(f"Added {0 if synthetic is None else len(synthetic)} synthetic samples: "
              f"{dict(zip(dataset.class_names, plan.tolist()))} requested"
              + (f", {int((~keep).sum())} rejected by curation." if validate else "."))
    return AugmentedDataset(real=dataset, synthetic=synthetic, gan=gan, requested=tuple(plan.tolist()),
                            dropped=int((~keep).sum()), report=report)


def _check_compatible(dataset: Dataset, gan: TrainedGAN) -> None:
    if tuple(gan.sample_shape) != tuple(dataset.shape) or gan.kind != dataset.kind:
        raise DataError(
            f"Expected a GAN trained on {dataset.kind} data of shape {dataset.shape}. "
            f"Received: a GAN for {gan.kind} data of shape {gan.sample_shape}."
        )
    if dataset.kind == "table" and list(gan.columns or []) != list(dataset.frame.columns):
        raise DataError(
            f"Expected a GAN trained on a table with the columns {list(dataset.frame.columns)}. "
            f"Received: a GAN for the columns {gan.columns}."
        )
    if not gan.conditional or gan.num_classes != dataset.num_classes:
        raise DataError(
            f"Expected a conditional GAN with {dataset.num_classes} classes to fill classes up. "
            f"Received: a GAN with {gan.num_classes} classes."
        )

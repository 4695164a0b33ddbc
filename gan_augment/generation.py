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
from gan_augment.kinds import require_kind
from gan_augment.logs import progress

if TYPE_CHECKING:
    from gan_augment.training import TrainedGAN
    from gan_augment.utility import UtilityReport
    from gan_augment.validation.report import ValidationReport

#: generate this many times the plan, so curation can drop samples and classes still fill up
OVERSAMPLE = 1.5
#: rounds of extra generation for classes that curation left short of their quota
TOP_UP_ROUNDS = 3
#: a top-up round generates at least this many samples for each short class
TOP_UP_MIN_PER_CLASS = 20
#: with the utility gate and nothing to fill up (a balanced set, per_class=None): synthetic
#: samples per real sample of each class that the gate may add
BALANCED_RATIO = 1.0
#: fractions of the plan the utility gate tries
UTILITY_FRACTIONS: tuple[float, ...] = (0.5, 1.0)
#: share of every class held out (from the GAN and the classifiers) to measure utility on
UTILITY_HOLDOUT = 0.25
#: with ``selection="coverage"``: candidates generated per sample of the plan to choose from
COVERAGE_CANDIDATES = 4
ON_NO_GAIN = ("classical", "warn", "raise", "ignore")


@dataclasses.dataclass(frozen=True)
class StreamedSet:
    """A published set too large for memory, written to disk shard by shard (`streaming.write_stream`).

    Attributes:
        path: the folder (a TFDS directory, npz shards or parquet parts: `sample_to`'s formats).
        total: samples in it (real first, then synthetic).
        synthetic: synthetic samples per class in it.
    """

    path: Path
    total: int
    synthetic: tuple[int, ...]


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
        classical: classically augmented copies of the real samples, published when the utility
            gate found that real + classical (+ synthetic) trains the best classifier.
        synthetic_weight: the loss weight the utility gate chose for a synthetic sample (a real
            one weighs 1); `sample_weights` gives it per sample.
        utility: the utility gate's measurement and decision (``None`` with ``utility=False``).
        streamed: when the published set was too large for memory (the pipeline with a plan above
            ``validation_sample``), where the whole of it was streamed; ``synthetic`` then holds
            the validated subsample's share.
    """

    real: Dataset
    synthetic: Dataset | None
    gan: TrainedGAN | None = None
    requested: tuple[int, ...] = ()
    dropped: int = 0
    report: ValidationReport | None = None
    classical: Dataset | None = None
    synthetic_weight: float = 1.0
    utility: UtilityReport | None = None
    streamed: StreamedSet | None = None

    @property
    def n_synthetic(self) -> int:
        """Number of GAN samples."""
        return 0 if self.synthetic is None else len(self.synthetic)

    @property
    def n_classical(self) -> int:
        """Number of classically augmented copies."""
        return 0 if self.classical is None else len(self.classical)

    def __len__(self) -> int:
        return len(self.real) + self.n_classical + self.n_synthetic

    def __repr__(self) -> str:
        return (f"AugmentedDataset(real={len(self.real)}, classical={self.n_classical}, "
                f"synthetic={self.n_synthetic}, dropped={self.dropped}, classes={self.real.num_classes})")

    @property
    def origin(self) -> np.ndarray:
        """Per sample of `combined()`: ``"real"``, ``"classical"`` or ``"gan"``."""
        return np.array(["real"] * len(self.real) + ["classical"] * self.n_classical
                        + ["gan"] * self.n_synthetic, dtype=object)

    @property
    def synthetic_mask(self) -> np.ndarray:
        """Boolean array over `combined()`: True where the sample is not real (GAN samples and
        classical copies)."""
        return self.origin != "real"

    @property
    def sample_weights(self) -> np.ndarray:
        """Loss weight per sample of `combined()`: 1, and ``synthetic_weight`` for GAN samples."""
        return np.where(self.origin == "gan", float(self.synthetic_weight), 1.0).astype(np.float32)

    def combined(self) -> Dataset:
        """Real, classical and synthetic samples as one Dataset (in that order; see `origin`)."""
        merged = self.real
        for part in (self.classical, self.synthetic):
            if part is not None:
                merged = merged.concat(part)
        return dataclasses.replace(
            merged,
            provenance={**self.real.provenance, "augmented": {
                "real": len(self.real), "classical": self.n_classical, "synthetic": self.n_synthetic,
                "dropped": self.dropped, "synthetic_weight": float(self.synthetic_weight)}},
        )

    def class_counts(self) -> dict[str, np.ndarray]:
        def counts(part: Dataset | None) -> np.ndarray:
            return np.zeros(self.real.num_classes, np.int64) if part is None else part.class_counts()

        return {"real": self.real.class_counts(), "classical": counts(self.classical),
                "synthetic": counts(self.synthetic)}

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
        require_kind(self.real, kind, what=f"AugmentedDataset.{method}", instead=f"Use AugmentedDataset.{instead} instead.")


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
    through, in their original order; ``None`` when that is no sample at all
    (`gan_augment.selection.select_per_class` with ``how="first"``).

    Example:
        >>> kept = take_per_class(samples, plan, accepted=report.accepted)  # doctest: +SKIP
    """
    from gan_augment.selection import select_per_class

    return select_per_class(samples, None, plan, accepted=accepted, how="first")


def shortfall(synthetic: Dataset | None, plan: np.ndarray, class_names: tuple[str, ...]) -> dict[str, int]:
    """Samples missing from the plan, by class name (only the classes that are short)."""
    have = np.zeros(len(plan), np.int64) if synthetic is None else np.bincount(synthetic.y, minlength=len(plan))
    return {class_names[c]: int(plan[c] - have[c]) for c in range(len(plan)) if have[c] < plan[c]}


def augment(
    dataset: Dataset,
    *,
    per_class: int | None = None,
    balance: bool = True,
    plan: Any = None,
    seed: int = 0,
    gan: TrainedGAN | None = None,
    translate_from: Any = None,
    validate: bool = True,
    on_fail: str = "raise",
    thresholds: Any = None,
    utility: bool = True,
    on_no_gain: str = "classical",
    utility_holdout: float = UTILITY_HOLDOUT,
    utility_classifier: Any = "auto",
    utility_seeds: int = 2,
    utility_weights: tuple[float, ...] | None = None,
    selection: str = "first",
    verbose: int = 1,
    **train_options: Any,
) -> AugmentedDataset:
    """Train a conditional GAN on ``dataset`` (or use ``gan``), generate so that every class
    reaches the target count, validate the samples against the real data, keep only those that
    curation accepts, and publish them only if they make a classifier better.

    The utility gate (``utility=True``, default) holds out ``utility_holdout`` of every class
    first: the GAN trains on the rest, and `gan_augment.utility.measure_utility` scores a
    classifier trained with and without the synthetic samples (and classical augmentation), at
    several amounts and loss weights, on the held-out real samples. The best configuration is
    published when it beats real-only and real + classical; otherwise ``on_no_gain`` decides.
    On a balanced set with ``per_class=None`` the gate may add up to ``BALANCED_RATIO`` synthetic
    samples per real one (instead of nothing).

    Args:
        dataset: labelled real data.
        per_class: target count per class (``balance=True``) or samples added per class
            (``balance=False``); see `generation_plan` for the defaults.
        balance: fill rare classes up rather than adding the same number everywhere.
        plan: the synthetic samples to add to each class, one count per class (instead of
            ``per_class``/``balance``), e.g. ``[0, 40, 20]``.
        seed: seeds the holdout split, training, sampling, validation and the gate.
        gan: an already trained GAN for this data (skips training; with the utility gate it
            should not have seen the held-out part, i.e. be trained on
            ``dataset.split(utility_holdout, seed=seed)[0]``).
        translate_from: fill the classes with *translated* images of another, labelled domain
            instead of GAN samples: a source `load_dataset` reads (e.g. "rendered_digits"), a
            Dataset (a CycleGAN is trained between it and ``dataset``'s fit part, with
            ``train_options`` as `train_cyclegan` options) or a `TrainedTranslator`.
        validate: run `gan_augment.validate` and drop near-copies of training samples and samples
            whose label the domain encoder disputes (``OVERSAMPLE`` × the plan is generated, and
            up to ``TOP_UP_ROUNDS`` more rounds for classes left short).
        on_fail: when a validation gate fails: "raise" (`ValidationFailed`, nothing is returned),
            "warn" (keep the curated samples, warn) or "ignore".
        thresholds: gate thresholds for `validate` (a `Thresholds` or a dict).
        utility: measure whether the samples help a classifier before publishing them.
        on_no_gain: when they do not: "classical" (publish the best alternative without GAN
            samples: real + classical copies, or the real data alone), "warn" (the same, with a
            warning), "raise" (`UtilityFailed`) or "ignore" (publish the best GAN configuration
            anyway, e.g. to study it).
        utility_holdout: share of every class held out for the gate.
        utility_classifier: the gate's classifier (as in `evaluate_downstream`; "auto": a CNN
            for images, gradient boosting for tables).
        utility_seeds: classifier seeds per configuration.
        utility_weights: loss weights of a synthetic sample to try (default (1.0, 0.5)).
        selection: which curated samples fill a class's quota: "first" (generation order) or
            "coverage" (``COVERAGE_CANDIDATES`` × the plan is generated, and the samples are
            spread over the neighbourhoods of the real samples the GAN trained on; see
            `gan_augment.selection`).
        verbose: 0 silent, 1 progress output.
        **train_options: passed to `train_gan` (epochs, batch_size, loss, output_dir, …), or to
            `train_cyclegan` with ``translate_from``.

    Example:
        >>> aug = augment(load_dataset("digits").subsample(per_class=20))  # doctest: +SKIP
        >>> print(aug.utility)          # what helped, measured on held-out real digits  # doctest: +SKIP
        >>> data, weights = aug.combined(), aug.sample_weights                           # doctest: +SKIP
    """
    from gan_augment.errors import UtilityFailed

    if not dataset.labeled:
        raise DataError(
            "Expected a labelled dataset to augment class by class. Received: y=None. "
            "Use train_gan(dataset).sample(n) for unlabelled data."
        )
    if on_fail not in ("raise", "warn", "ignore"):
        raise DataError(f"Expected on_fail='raise', 'warn' or 'ignore'. Received: on_fail={on_fail!r}.")
    if on_no_gain not in ON_NO_GAIN:
        raise DataError(f"Expected on_no_gain as one of {list(ON_NO_GAIN)}. Received: on_no_gain={on_no_gain!r}.")
    from gan_augment.selection import SELECTIONS, select_per_class

    if selection not in SELECTIONS:
        raise DataError(f"Expected selection as one of {list(SELECTIONS)}. Received: selection={selection!r}.")
    fit, holdout = _utility_split(dataset, utility_holdout, seed) if utility else (dataset, None)
    plan = planned(dataset, per_class, balance, plan, utility)
    oversample = max(OVERSAMPLE if validate else 1.0, COVERAGE_CANDIDATES if selection == "coverage" else 1.0)
    check_memory(dataset, plan, oversample)
    if translate_from is not None:
        if gan is not None:
            raise DataError("Expected gan= or translate_from=, not both. Received: both.")
        gan = _translator(translate_from, fit, seed, verbose, train_options)
        train_options = {}
    if gan is None:
        from gan_augment.training import train_gan

        gan = train_gan(fit, seed=seed, verbose=verbose, **train_options)
    elif train_options:
        raise TypeError(f"Training options {sorted(train_options)} have no effect with gan=. Remove them.")
    _check_compatible(dataset, gan)
    if not plan.any():
        return AugmentedDataset(real=dataset, synthetic=None, gan=gan, requested=tuple(plan.tolist()))

    generated = sample_for_plan(gan, plan, oversample=oversample, seed=seed + 1)
    report = None
    keep = np.ones(len(generated), dtype=bool)
    if validate:
        report = _validated(dataset, generated, thresholds, plan, seed, on_fail, verbose)
        keep = report.accepted
        generated, keep = _top_up(gan, dataset, generated, keep, plan, report, seed, verbose)
    pool = select_per_class(generated, fit, plan, accepted=keep, how=selection, seed=seed)
    short = shortfall(pool, plan, dataset.class_names)
    if short and verbose:
        progress(f"Curation left some classes short of the target: {short} samples missing.")
    if pool is not None:
        pool = dataclasses.replace(pool, provenance={
            "source": "gan", "seed": seed + 1, "trained_on": dataset.provenance.get("source"),
            "curated": validate, **{k: pool.provenance[k] for k in ("translated",) if k in pool.provenance}})
    dropped = int((~keep).sum())
    requested = tuple(plan.tolist())
    if not utility or pool is None:
        if verbose:
            progress(f"Added {0 if pool is None else len(pool)} synthetic samples: "
                  f"{dict(zip(dataset.class_names, plan.tolist()))} requested"
                  + (f", {dropped} rejected by curation." if validate else "."))
        return AugmentedDataset(real=dataset, synthetic=pool, gan=gan, requested=requested,
                                dropped=dropped, report=report)

    from gan_augment.utility import DEFAULT_WEIGHTS, measure_utility, publication

    # the gate tries fractions of the plan, scaled to the size of the part the classifiers train on
    scale = fit.class_counts() / np.maximum(dataset.class_counts(), 1)
    amounts = {f: np.maximum(np.round(f * plan * scale), (plan > 0)).astype(np.int64) for f in UTILITY_FRACTIONS}
    if verbose:
        progress(f"Utility gate: {len(fit)} real samples to train classifiers, {len(holdout)} held out to score them …")
    gate = measure_utility(fit, holdout, pool, amounts=list(amounts.values()),
                           weights=utility_weights or DEFAULT_WEIGHTS, classifier=utility_classifier,
                           seeds=utility_seeds, verbose=max(0, verbose - 1))
    gate.holdout_index = list(holdout.provenance["index"])
    if verbose:
        progress(gate.verdict())
    publish_gan = gate.passed or on_no_gain == "ignore"
    if not gate.passed:
        message = (f"{gate.verdict()} Publishing " + ("them anyway (on_no_gain='ignore')." if publish_gan else
                   f"the best alternative without GAN samples: {gate.best_baseline['setting']}."))
        if on_no_gain == "raise":
            raise UtilityFailed(f"{gate.verdict()}\n{gate.to_markdown()}\nTrain the GAN differently, "
                                "or pass on_no_gain='classical' to publish the best alternative.", gate)
        if on_no_gain == "warn":
            warnings.warn(message, stacklevel=2)
        elif verbose:
            progress(message)
    def published_amount(row: dict[str, Any]) -> np.ndarray:  # measured on `fit`, published on all
        fraction = next(f for f, a in amounts.items() if _same_amount(a, row["per_class"]))
        return np.round(fraction * plan).astype(np.int64)

    synthetic, classical, weight = publication(gate, dataset, pool, on_no_gain=on_no_gain, seed=seed,
                                               amount=published_amount)
    if verbose:
        progress(f"Published {len(dataset)} real + {0 if classical is None else len(classical)} classical + "
              f"{0 if synthetic is None else len(synthetic)} synthetic samples"
              + (f" (synthetic weight {weight:g})." if synthetic is not None else "."))
    return AugmentedDataset(real=dataset, synthetic=synthetic, gan=gan, requested=requested,
                            dropped=dropped, report=report, classical=classical,
                            synthetic_weight=weight, utility=gate)


def planned(dataset: Dataset, per_class: int | None, balance: bool, plan: Any, utility: bool) -> np.ndarray:
    """The synthetic samples per class `augment` adds: ``plan`` as given (checked), else
    `generation_plan`; with the utility gate and nothing to fill up, ``BALANCED_RATIO`` × the
    class counts."""
    counts = dataset.class_counts()
    if plan is not None:
        if per_class is not None:
            raise DataError("Expected per_class= or plan=, not both. Received: both.")
        values = np.asarray(plan)
        if (values.shape != counts.shape or not np.issubdtype(values.dtype, np.integer)
                or (values < 0).any()):
            raise DataError(f"Expected plan as {len(counts)} integer counts >= 0, one per class "
                            f"({', '.join(dataset.class_names)}). Received: plan={plan!r}.")
        return values.astype(np.int64)
    result = generation_plan(counts, per_class, balance)
    if utility and per_class is None and not result.any():
        result = np.ceil(BALANCED_RATIO * counts).astype(np.int64)
    return result


def check_memory(dataset: Dataset, plan: np.ndarray, oversample: float) -> None:
    """`DataError` before any training when the samples of ``plan`` (× ``oversample``) and the
    augmented copy of the data would not fit in memory (`augment_to` streams such plans)."""
    from gan_augment.data.images import check_fits_in_memory, sample_bytes

    generated = int(np.ceil(np.asarray(plan, np.float64) * oversample).sum())
    total = generated + int(plan.sum()) + len(dataset)  # the candidates, then real + kept as one data set
    check_fits_in_memory(
        total * sample_bytes(dataset.shape),
        f"{generated} generated samples of shape {tuple(dataset.shape)} (up to {int(plan.max())} per class, "
        f"× {oversample:g} for curation) and the augmented data set",
        "Pass a smaller per_class (CLI: --per-class), or stream the augmented set to disk in bounded memory "
        "with augment_to(dataset, folder, ...) (the CLI's augment does so by itself).")


def _same_amount(a: np.ndarray, b: Any) -> bool:
    """Whether the per-class amounts ``a`` are what a utility row records as ``b``."""
    b = np.asarray(b).reshape(-1)
    return bool(np.all(np.asarray(a) == b)) if b.size in (1, np.size(a)) else False


def _utility_split(dataset: Dataset, fraction: float, seed: int) -> tuple[Dataset, Dataset]:
    """(fit, holdout): ``fraction`` of every class held out for the utility gate. The holdout's
    indices into ``dataset`` are in ``holdout.provenance["index"]``."""
    counts = dataset.class_counts()
    if not 0.0 < fraction < 1.0:
        raise DataError(f"Expected utility_holdout in (0, 1). Received: utility_holdout={fraction!r}.")
    few = [dataset.class_names[c] for c in np.flatnonzero((counts > 0) & (counts < 2))]
    if few:
        raise DataError(
            f"Expected at least 2 samples of every class to hold some out for the utility gate. "
            f"Received: one sample of {few}. Add samples of those classes or pass utility=False."
        )
    fit_idx, holdout_idx = dataset.split_indices(float(fraction), seed=seed)
    return (dataset.take(fit_idx, part="utility_fit"),
            dataset.take(holdout_idx, part="utility_holdout", index=holdout_idx.tolist()))


def _validated(dataset: Dataset, generated: Dataset, thresholds: Any, plan: np.ndarray, seed: int,
               on_fail: str, verbose: int) -> ValidationReport:
    from gan_augment.validation.validate import validate as run_validation

    report = run_validation(dataset, generated, thresholds=thresholds, requested=plan, seed=seed, verbose=0)
    if verbose:
        progress(report.summary())
    if not report.passed:
        message = ("The synthetic samples failed validation:\n" + report.summary()
                   + "\nTrain longer, change the GAN options, or pass on_fail='warn'.")
        if on_fail == "raise":
            raise ValidationFailed(message, report)
        if on_fail == "warn":
            warnings.warn(message, stacklevel=3)
    return report


def _top_up(gan: TrainedGAN, dataset: Dataset, generated: Dataset, keep: np.ndarray, plan: np.ndarray,
            report: ValidationReport, seed: int, verbose: int) -> tuple[Dataset, np.ndarray]:
    """Generate more for classes that curation left short of ``plan``, up to ``TOP_UP_ROUNDS``
    rounds; the new samples pass or fail curation's per-sample rules as ``report`` set them
    (`ValidationReport.acceptor`: near-copies and disputed labels), without new gates."""
    for round_ in range(1, TOP_UP_ROUNDS + 1):
        have = np.bincount(generated.y[keep], minlength=len(plan))
        missing = np.maximum(plan - have, 0)
        if not missing.any() or report.acceptor is None:
            break
        ask = np.where(missing > 0, np.maximum(2 * missing, TOP_UP_MIN_PER_CLASS), 0)
        extra = sample_for_plan(gan, ask, seed=seed + 1 + 1000 * round_)
        accepted = np.asarray(report.acceptor(extra), bool)
        generated = generated.concat(extra)
        keep = np.concatenate([keep, accepted])
        if verbose:
            progress(f"Top-up round {round_}: {int(missing.sum())} samples missing, "
                  f"{int(accepted.sum())} of {len(extra)} new ones accepted.")
    return generated, keep


def _translator(source: Any, fit: Dataset, seed: int, verbose: int, options: dict[str, Any]) -> Any:
    """A `TrainedTranslator` from ``source`` into the domain of ``fit`` (trained here unless it
    is one already), checked to carry ``fit``'s classes."""
    from gan_augment.translation import TrainedTranslator, train_cyclegan

    if isinstance(source, TrainedTranslator):
        if options:
            raise TypeError(f"Training options {sorted(options)} have no effect with a trained translator. Remove them.")
        translator = source
    else:
        translator = train_cyclegan(source, fit, seed=seed, verbose=verbose, **options)
    if translator.class_names != fit.class_names:
        raise DataError(f"Expected a source domain with the classes {list(fit.class_names)} to translate from. "
                        f"Received: {list(translator.class_names)}.")
    return translator


def _check_compatible(dataset: Dataset, gan: TrainedGAN) -> None:
    if tuple(gan.sample_shape) != tuple(dataset.shape) or gan.kind != dataset.kind:
        raise DataError(
            f"Expected a GAN trained on {dataset.kind} data of shape {dataset.shape}. "
            f"Received: a GAN for {gan.kind} data of shape {gan.sample_shape}."
        )
    if gan.columns is not None and list(gan.columns) != list(dataset.frame.columns):
        raise DataError(
            f"Expected a GAN trained on a table with the columns {list(dataset.frame.columns)}. "
            f"Received: a GAN for the columns {gan.columns}."
        )
    if not gan.conditional or gan.num_classes != dataset.num_classes:
        raise DataError(
            f"Expected a conditional GAN with {dataset.num_classes} classes to fill classes up. "
            f"Received: a GAN with {gan.num_classes} classes."
        )

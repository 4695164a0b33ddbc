"""`validate(real, synthetic)`: gates relative to real-vs-real baselines; `curate()` keeps the rest.

Every distribution metric is computed twice at the same sample count n:

    value    = metric(real train, synthetic)      (n samples each)
    baseline = metric(real train, real holdout)   (n samples each)

so a number always has a yardstick: a perfect generator scores like unseen real data.

Images are compared in the feature space of a domain CNN (`DomainEncoder`). Tables are compared
on their own columns and in the `table_to_matrix` encoding of the real training frame
(`TableDomain`); their gates are `TABLE_GATES`: the image gates (computed on the encoding) plus

* ``marginals``: the mean over columns of the Kolmogorov–Smirnov distance (continuous columns;
  missing values count as a value above all others, so a wrong missing-value rate shows) or the
  total-variation distance (categorical columns, missing as a category) ≤ ``marginals_ratio`` ×
  the real-vs-real mean;
* ``correlation``: the mean absolute difference of the correlation matrices of the encoded rows
  (numbers standardised, categories one-hot) ≤ ``correlation_ratio`` × the real-vs-real one.

Real and synthetic tables are compared *class-matched*: every distribution metric uses, per
class the synthetic set contains, the same number of real training, real holdout and synthetic
rows, so a class-balanced synthetic set is not judged against the imbalanced real one (class
proportions are the ``class_coverage`` gate's job). Translated samples (`gan_augment.translation`)
get the image gates plus ``label_preservation``.

`validate` itself is one loop: the data's kind (`gan_augment.kinds`) gives the feature space, the
near-copy space, the label judge and the GX suite (`ValidationSpace`); `GateContext` computes
what several gates share once; every `Gate` of the registry (``gates.py``) that applies to the
kind and the samples' origin computes its `Check` (``gate_checks.py``).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np

from gan_augment.data.dataset import Dataset
from gan_augment.errors import DataError
from gan_augment.kinds import kind_of
from gan_augment.logs import progress
from gan_augment.validation import metrics as M
from gan_augment.validation.features import DomainEncoder
from gan_augment.validation.gate_checks import (  # noqa: F401  (re-exported)
    MIN_JUDGE_ACCURACY,
    GateContext,
    class_matched_accuracy,
    correlation_difference,
    marginal_distances,
)
from gan_augment.validation.gates import (  # noqa: F401  (re-exported)
    ALL_GATES,
    GATE_REGISTRY,
    GATES,
    GATES_BY_KIND,
    MEASURES,
    MIN_DECIDABLE,
    TABLE_GATES,
    origin_of,
)
from gan_augment.validation.report import Check, TableThresholds, Thresholds, ValidationReport  # noqa: F401


def validate(
    real: Dataset,
    synthetic: Dataset,
    *,
    reference: Dataset | None = None,
    thresholds: Thresholds | dict[str, Any] | None = None,
    encoder: DomainEncoder | Any | None = None,
    requested: np.ndarray | None = None,
    seed: int = 0,
    cache_dir: Any = None,
    verbose: int = 0,
) -> ValidationReport:
    """Check ``synthetic`` against the real data distribution.

    Args:
        real: the real training data (what the GAN learned from).
        synthetic: generated samples (labelled when the GAN is conditional).
        reference: a real holdout split for the baselines; default: 20% split off ``real``
            (the encoder is then trained on the other 80%).
        thresholds: `Thresholds` (tables: `TableThresholds`) or a dict overriding some fields.
        encoder: a `DomainEncoder`, or a Keras model mapping images to features (wrapped with
            `DomainEncoder.from_feature_extractor`); default: the cached domain CNN. Tables: a
            `TableDomain` fitted on ``real`` (default: fitted here).
        requested: samples per class that were asked for (default: ``real``'s class proportions).
        seed: seeds subsampling, the encoder and the classifiers.
        cache_dir: where the domain encoder is cached (``False``: no cache).

    Returns:
        A `ValidationReport` whose gates are `GATES_BY_KIND[real.kind]`.

    Example:
        >>> train, holdout = load_dataset("digits").split(0.2)                 # doctest: +SKIP
        >>> report = validate(train, gan.sample(1000), reference=holdout)      # doctest: +SKIP
        >>> report.passed, report.summary()                                    # doctest: +SKIP
        >>> penguins, rest = load_dataset("penguins").split(0.2)               # doctest: +SKIP
        >>> validate(penguins, table_gan.sample(labels=penguins.y)).passed     # doctest: +SKIP
    """
    started = time.perf_counter()
    _check_inputs(real, synthetic, reference)
    kind = kind_of(real)
    for name, part in (("synthetic", synthetic), ("reference", reference)):
        if part is not None:  # the same columns (in any order: the GX suite checks the order)
            kind.align(part, real, name)
    limits = kind.thresholds.from_value(thresholds)
    split_reference = reference is None
    if split_reference:
        real, reference = real.split(0.2, seed=seed)
    space = kind.validation_space(real, encoder=encoder, seed=seed, cache_dir=cache_dir, verbose=verbose)
    ctx = GateContext.build(kind, space, real, reference, synthetic, limits, requested, seed)

    checks: list[Check] = []
    origin = origin_of(synthetic)
    for gate in GATE_REGISTRY:
        if not gate.applies_to(kind.name, origin):
            continue
        for step in (gate, *(m for m in MEASURES if m.after == gate.name)):
            check = step.compute(ctx)
            if check is not None:
                checks.append(check)

    _, mem = ctx.memorization
    near_copy = np.asarray(mem["near_copy_mask"], dtype=bool)
    judged = ctx.judge is not None and ctx.judge[1] >= MIN_JUDGE_ACCURACY
    disputed = ctx.judge[0] != synthetic.y if judged else np.zeros(len(synthetic), dtype=bool)
    accepted = ~(near_copy | disputed)
    gx_result, feature_tables = ctx.gx
    prdc, prdc_base = ctx.prdc if ctx.computable("coverage") is None else (None, None)
    report = ValidationReport(
        checks=checks,
        accepted=accepted,
        rejection_counts={"near_copy": int(near_copy.sum()), "label_disputed": int(disputed.sum()),
                          "total": int((~accepted).sum())},
        gx={k: v for k, v in gx_result.items() if k != "baseline"},
        acceptor=_Acceptor(space.copies, space.copies(real), mem["near_copy_threshold"],
                           space.predict if judged else None),
        info={
            "kind": kind.name, "requested": _requested_list(requested), "n_real": len(real),
            "n_reference": len(reference), "n_synthetic": len(synthetic), "equal_count": ctx.n,
            "class_matched": space.class_matched, "encoder": space.description,
            "encoder_accuracy": space.accuracy if space.accuracy is not None
            else (ctx.judge[1] if ctx.judge is not None else None),
            "thresholds": dataclasses.asdict(limits), "seed": seed,
            "seconds": round(time.perf_counter() - started, 2),
            "memorization": {k: v for k, v in mem.items()
                             if k not in ("near_copy_mask", "dcr_synthetic", "dcr_holdout")},
            "prdc": prdc, "prdc_baseline": prdc_base,
            # what `acceptor_for` needs to rebuild curation's rules after a round trip through disk
            "curation": {"near_copy_threshold": float(mem["near_copy_threshold"]), "judged": bool(judged),
                         "default_encoder": encoder is None, "split_reference": split_reference},
            **({"marginals": {str(k): v for k, v in ctx.marginals[0].items()},
                "marginals_baseline": {str(k): v for k, v in ctx.marginals[1].items()}}
               if "marginals" in ctx.__dict__ else {}),
        },
        real=real, synthetic=synthetic, feature_tables=feature_tables,
    )
    if verbose:
        progress(report.summary())
    return report


class _Acceptor:
    """Curation's per-sample rules for *new* samples of the same GAN, without computing the
    gates again (`ValidationReport.acceptor`): not a near-copy (distance to the closest training
    sample above the threshold this validation set) and, when the judge was accurate enough to
    judge labels, a label the judge agrees with."""

    def __init__(self, features: Any, train_features: np.ndarray, threshold: float, predict: Any) -> None:
        self.features, self.train, self.threshold, self.predict = features, train_features, threshold, predict

    def __call__(self, samples: Dataset) -> np.ndarray:
        near_copy = M.distance_to_closest_record(self.features(samples), self.train) <= self.threshold
        if self.predict is None or not samples.labeled:
            return ~near_copy
        return ~near_copy & (np.asarray(self.predict(samples)) == samples.y)


def acceptor_for(report: ValidationReport, real: Dataset, *, cache_dir: Any = None) -> Any:
    """Curation's per-sample rules of ``report`` for new samples (``report.acceptor``), rebuilt
    for a report read back from disk (the live one is not serialized): the same near-copy
    threshold and, when the validation judged labels, the same domain encoder (read from the
    cache ``cache_dir`` like `validate` does; ``real`` is the real data `validate` was given).

    Example:
        >>> accept = acceptor_for(ValidationReport.load("report.json"), train)  # doctest: +SKIP
        >>> keep = accept(gan.sample(1000))                                       # doctest: +SKIP
    """
    if report.acceptor is not None:
        return report.acceptor
    curation = report.info.get("curation")
    if not curation or not curation.get("default_encoder", True):
        raise DataError("Expected a validation report that records its curation rules (written by validate() "
                        "with its default encoder). Received: a report without them; validate the samples again.")
    seed = int(report.info.get("seed", 0))
    if curation.get("split_reference"):  # validate() held 20 % of ``real`` out as its reference
        real = real.split(0.2, seed=seed)[0]
    space = kind_of(real).validation_space(real, encoder=None, seed=seed, cache_dir=cache_dir, verbose=0)
    return _Acceptor(space.copies, space.copies(real), float(curation["near_copy_threshold"]),
                     space.predict if curation["judged"] else None)


def _requested_list(requested: Any) -> list[int] | None:
    """The plan per class as JSON-able ints (kept in ``report.info["requested"]``)."""
    return None if requested is None else [int(v) for v in np.asarray(requested).ravel()]


def curate(synthetic: Dataset, report: ValidationReport) -> Dataset:
    """The synthetic samples that curation accepted: no near-copies of training samples, no
    samples whose label the domain encoder disputes.

    Example:
        >>> kept = curate(samples, validate(train, samples, reference=holdout))  # doctest: +SKIP
    """
    if len(report.accepted) != len(synthetic):
        raise DataError(
            f"Expected the report of these {len(synthetic)} samples. Received: a report of "
            f"{len(report.accepted)} samples."
        )
    return synthetic.take(np.flatnonzero(report.accepted),
                          curated={"kept": int(report.accepted.sum()), "dropped": int((~report.accepted).sum())})


def _check_inputs(real: Dataset, synthetic: Dataset, reference: Dataset | None) -> None:
    for name, ds in (("real", real), ("synthetic", synthetic), ("reference", reference)):
        if ds is not None and not isinstance(ds, Dataset):
            raise DataError(f"Expected {name} to be a gan_augment Dataset. Received: {type(ds).__name__}.")
    for name, ds in (("synthetic", synthetic), ("reference", reference)):
        if ds is None:
            continue
        if ds.kind != real.kind or ds.shape != real.shape:
            raise DataError(f"Expected {name} data like the real data ({real.kind}, {real.shape}). "
                            f"Received: {ds.kind}, {ds.shape}.")
        if ds.labeled and tuple(ds.class_names) != tuple(real.class_names):
            raise DataError(f"Expected {name} to have the real classes {real.class_names}. "
                            f"Received: {ds.class_names}.")
    if not real.labeled or real.num_classes < 2:
        raise DataError("Expected labelled real data with at least 2 classes to validate against.")

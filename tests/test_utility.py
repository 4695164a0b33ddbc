"""The utility gate: it passes synthetic samples that help a classifier on held-out real data,
refuses noise and wrongly labelled samples, and never sees a test split.

Fast: logistic regression on flattened 8x8 digits (the gate's logic does not depend on the
classifier); one small GAN run for `augment`'s wiring.
"""

from __future__ import annotations

import numpy as np
import pytest

import gan_augment as ga
from gan_augment.errors import DataError, UtilityFailed
from gan_augment.utility import UtilityReport, measure_utility, per_class_subset


@pytest.fixture(scope="module")
def parts():
    """(fit: 5 per class, holdout: 15 per class, extra real digits disjoint from both)."""
    digits = ga.load_dataset("digits")
    y = digits.y
    take = lambda lo, hi: digits.take(np.sort(np.concatenate(
        [np.flatnonzero(y == c)[lo:hi] for c in range(10)])))
    return take(0, 5), take(5, 20), take(20, 60)


def test_real_looking_samples_pass(parts):
    fit, holdout, extra = parts
    report = measure_utility(fit, holdout, extra, amounts=[20, 40], weights=[1.0], classifier="logreg",
                             seeds=1)
    assert report.passed, str(report)
    assert report.gain > 0 and report.confidence >= 0.95
    assert report.chosen["setting"] in ("real+synthetic", "real+synthetic+classical")
    assert "help" in report.verdict()


def test_noise_and_wrong_labels_fail(parts):
    fit, holdout, extra = parts
    rng = np.random.default_rng(0)
    noise = ga.Dataset.from_arrays(rng.random(extra.x.shape).astype("float32"), extra.y, extra.class_names)
    wrong = extra.with_labels((extra.y + 1) % 10)
    for bad in (noise, wrong):
        report = measure_utility(fit, holdout, bad, amounts=[20, 40], weights=[1.0],
                                 classifier="logreg", seeds=1)
        assert not report.passed, str(report)
        assert "do not help" in report.verdict()


def test_report_round_trip_and_subset(parts):
    fit, holdout, extra = parts
    report = measure_utility(fit, holdout, extra, amounts=[[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]],
                             weights=[0.5], classifier="logreg", seeds=2, classical=False)
    assert [r["setting"] for r in report.rows] == ["real", "real+synthetic"]
    back = UtilityReport.from_dict(report.to_dict())
    assert back.to_markdown() == report.to_markdown() and back.passed == report.passed
    assert per_class_subset(extra, [1, 2, 0, 0, 0, 0, 0, 0, 0, 3]).class_counts().tolist() == \
        [1, 2, 0, 0, 0, 0, 0, 0, 0, 3]
    with pytest.raises(DataError, match="weights"):
        measure_utility(fit, holdout, extra, weights=[0.0], classifier="logreg")


def test_augment_holds_out_before_training_and_publishes_only_a_gain(parts):
    fit, holdout, _ = parts
    train = fit.concat(holdout)  # 20 per class; the caller's test split is elsewhere
    aug = ga.augment(train, seed=0, epochs=2, validate=False, utility_classifier="logreg",
                     utility_seeds=1, on_no_gain="classical", verbose=0)
    gate = aug.utility
    assert gate is not None and gate.n_fit + gate.n_holdout == len(train)
    held = np.asarray(gate.holdout_index)
    assert len(held) == gate.n_holdout and held.max() < len(train)  # indices into `train` only
    assert len(np.unique(held)) == len(held) and len(train) - len(held) == gate.n_fit
    assert aug.gan.model.metadata["class_counts"] == (train.class_counts() - np.bincount(
        train.y[held], minlength=10)).tolist()  # the GAN trained without the holdout
    if gate.passed:
        assert aug.n_synthetic > 0
    else:  # a 2-epoch GAN: the best honest alternative is published instead
        assert aug.n_synthetic == 0
        assert (aug.n_classical > 0) == (gate.best_baseline["setting"] == "real+classical")
    with pytest.raises(UtilityFailed, match="do not help"):
        ga.augment(train, seed=0, epochs=1, validate=False, utility_classifier="logreg",
                   utility_seeds=1, on_no_gain="raise", verbose=0)
    with pytest.raises(DataError, match="on_no_gain"):
        ga.augment(train, on_no_gain="maybe")

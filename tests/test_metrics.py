"""Validation metrics on synthetic Gaussians and small cases with known answers (fast, CPU only)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from gan_augment.errors import DataError
from gan_augment.validation import metrics
from gan_augment.validation.metrics import (
    c2st_auc,
    class_coverage,
    distance_to_closest_record,
    equal_count_subsample,
    frechet_distance,
    kernel_distance,
    label_fidelity,
    memorization,
    precision_recall_density_coverage,
)


def gaussian(n, d=4, shift=0.0, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d)) + shift


def _sym_sqrt(s):
    w, v = np.linalg.eigh(s)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


# ---------------------------------------------------------------------- Fréchet distance
def test_frechet_matches_closed_form_for_known_gaussians():
    rng = np.random.default_rng(1)
    d = 4
    a = rng.normal(size=(d, d))
    s1 = a @ a.T / d + 0.5 * np.eye(d)
    b = rng.normal(size=(d, d))
    s2 = b @ b.T / d + 0.2 * np.eye(d)
    mu1, mu2 = np.zeros(d), np.array([1.0, -0.5, 0.0, 2.0])
    # closed form through the symmetric root: Tr((S1 S2)^1/2) = Tr((S1^1/2 S2 S1^1/2)^1/2)
    r1 = _sym_sqrt(s1)
    expected = (
        np.sum((mu1 - mu2) ** 2)
        + np.trace(s1)
        + np.trace(s2)
        - 2 * np.trace(_sym_sqrt(r1 @ s2 @ r1))
    )
    x = rng.multivariate_normal(mu1, s1, size=40_000)
    y = rng.multivariate_normal(mu2, s2, size=40_000)
    assert frechet_distance(x, y) == pytest.approx(expected, rel=0.03)


def test_frechet_diagonal_case_and_identity():
    x = gaussian(20_000, d=3, seed=2)
    scales = np.array([2.0, 0.5, 1.0])
    y = gaussian(20_000, d=3, seed=3) * scales + np.array([1.0, 0.0, 0.0])
    # |mu|^2 + sum (1 - s)^2 = 1 + (1 + 0.25 + 0) = 2.25
    assert frechet_distance(x, y) == pytest.approx(2.25, rel=0.04)
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-8)


def test_frechet_singular_covariance_is_finite_and_bias_shrinks_with_n():
    # fewer samples than features: singular covariances, must not crash or go complex
    value = frechet_distance(gaussian(10, d=30, seed=4), gaussian(12, d=30, seed=5))
    assert np.isfinite(value) and value > 0
    # rank-deficient features (a duplicated and a constant column) still give ~0 against itself
    x = gaussian(500, d=3, seed=6)
    x = np.hstack([x, 2 * x[:, :1], np.zeros((500, 1))])
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-6)
    # same distribution: the estimate is biased upwards and shrinks with the sample count
    small = frechet_distance(gaussian(100, d=8, seed=7), gaussian(100, d=8, seed=8))
    large = frechet_distance(gaussian(5000, d=8, seed=7), gaussian(5000, d=8, seed=8))
    assert small > 5 * large


# ---------------------------------------------------------------------- KID
def test_kid_near_zero_for_same_distribution_and_positive_when_shifted():
    x, y = gaussian(600, seed=10), gaussian(600, seed=11)
    same, same_std = kernel_distance(x, y, subset_size=300, n_subsets=20, seed=0)
    shifted, _ = kernel_distance(
        x, gaussian(600, shift=1.0, seed=12), subset_size=300, n_subsets=20
    )
    assert abs(same) < 0.02
    assert same_std >= 0
    assert shifted > 0.2
    assert shifted > 10 * abs(same)


def test_kid_is_seeded_and_clips_subset_size():
    x, y = gaussian(50, seed=13), gaussian(40, shift=0.5, seed=14)
    a = kernel_distance(x, y, subset_size=1000, n_subsets=5, seed=3)  # clipped to 40
    b = kernel_distance(x, y, subset_size=1000, n_subsets=5, seed=3)
    c = kernel_distance(x, y, subset_size=1000, n_subsets=5, seed=4)
    assert a == b
    assert a != c
    # subsets of everything -> every subset is both whole sets: one estimate, no spread (not "± 4e-16")
    full = kernel_distance(x[:40], y, subset_size=40, n_subsets=3, seed=0)
    assert np.isnan(full[1]) and np.isfinite(full[0])
    assert full[0] == pytest.approx(kernel_distance(x[:40], y, subset_size=40, n_subsets=1, seed=9)[0])


def test_kid_equals_unbiased_mmd_reference():
    from sklearn.metrics.pairwise import polynomial_kernel

    x, y = gaussian(60, d=3, seed=15), gaussian(60, d=3, shift=0.4, seed=16)
    kernel = {"degree": 3, "gamma": 1 / 3, "coef0": 1}
    kxx, kyy, kxy = (polynomial_kernel(a, b, **kernel) for a, b in ((x, x), (y, y), (x, y)))
    m = 60
    off = lambda k: (k.sum() - np.trace(k)) / (m * (m - 1))
    expected = off(kxx) + off(kyy) - 2 * kxy.mean()
    # one subset of everything: the U-statistic itself
    mean, _ = kernel_distance(x, y, subset_size=60, n_subsets=2)
    assert mean == pytest.approx(expected, rel=1e-10)
    # unbiased: tiny subsets of one distribution average to ~0 (the biased V-statistic would not)
    z = gaussian(2000, d=3, seed=17)
    small, _ = kernel_distance(z[:1000], z[1000:], subset_size=20, n_subsets=100, seed=0)
    assert abs(small) < 0.25  # spread over seeds ~0.1; the biased estimate is ~1 here


# ---------------------------------------------------------------------- precision / recall
def test_prdc_copy_of_real_is_perfect():
    x = gaussian(400, d=3, seed=20)
    m = precision_recall_density_coverage(x, x.copy(), k=5)
    assert m["precision"] == 1.0 and m["recall"] == 1.0 and m["coverage"] == 1.0
    assert m["density"] >= 1.0  # every fake sits at least in its own twin's ball


def test_prdc_mode_collapse_kills_recall_not_precision():
    x = gaussian(400, d=3, seed=21)
    collapsed = np.repeat(x.mean(axis=0, keepdims=True), 400, axis=0)
    m = precision_recall_density_coverage(x, collapsed, k=5)
    assert m["precision"] == 1.0  # the single point is realistic
    assert m["recall"] < 0.01  # but covers nothing
    assert m["coverage"] < 0.1


def test_prdc_far_away_fake_is_zero():
    x = gaussian(300, d=3, seed=22)
    m = precision_recall_density_coverage(x, gaussian(300, d=3, shift=50.0, seed=23), k=5)
    assert m == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def test_prdc_chunked_equals_dense(monkeypatch):
    x, y = gaussian(150, d=5, seed=24), gaussian(170, d=5, shift=0.3, seed=25)
    k = 3
    dense = precision_recall_density_coverage(x, y, k=k)
    monkeypatch.setattr(metrics, "_BLOCK_ELEMENTS", 500)  # force many small blocks
    assert precision_recall_density_coverage(x, y, k=k) == pytest.approx(dense)
    # reference implementation with full matrices (as in the prdc package)
    rr, ff, rf = cdist(x, x), cdist(y, y), cdist(x, y)
    r_rad = np.sort(rr, axis=1)[:, k]
    f_rad = np.sort(ff, axis=1)[:, k]
    expected = {
        "precision": (rf < r_rad[:, None]).any(axis=0).mean(),
        "recall": (rf < f_rad[None, :]).any(axis=1).mean(),
        "density": (rf < r_rad[:, None]).sum(axis=0).mean() / k,
        "coverage": (rf.min(axis=1) < r_rad).mean(),
    }
    assert dense == pytest.approx(expected)


# ---------------------------------------------------------------------- C2ST
def test_c2st_same_distribution_is_chance_and_shift_is_detected():
    x = gaussian(400, seed=30)
    same = c2st_auc(x, gaussian(550, seed=31), seed=0)  # larger set subsampled to 400
    assert abs(same - 0.5) < 0.1
    shifted = c2st_auc(x, gaussian(400, shift=2.0, seed=32), seed=0)
    assert shifted > 0.9
    logistic = c2st_auc(x, gaussian(400, shift=2.0, seed=32), classifier="logistic", seed=0)
    assert logistic > 0.9


def test_c2st_accepts_estimator_and_rejects_bad_input():
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression()
    auc = c2st_auc(gaussian(200, seed=33), gaussian(200, shift=3.0, seed=34), classifier=clf)
    assert auc > 0.95
    assert not hasattr(clf, "coef_")  # cloned, not fitted in place
    with pytest.raises(DataError, match="Expected classifier"):
        c2st_auc(gaussian(50), gaussian(50), classifier="svm")
    with pytest.raises(DataError, match="test_size"):
        c2st_auc(gaussian(50), gaussian(50), test_size=1.5)


# ---------------------------------------------------------------------- labels
def test_label_fidelity_arithmetic():
    labels = np.array([0, 0, 0, 0, 1, 1, 3, 3])
    predicted = np.array([0, 0, 1, 0, 1, 0, 3, 2])
    overall, per_class = label_fidelity(predicted, labels, num_classes=5)
    assert overall == pytest.approx(5 / 8)
    np.testing.assert_allclose(per_class, [0.75, 0.5, np.nan, 0.5, np.nan])
    # probabilities are argmaxed
    proba = np.eye(5)[predicted] * 0.9 + 0.02
    assert label_fidelity(proba, labels, num_classes=5)[0] == pytest.approx(5 / 8)
    # num_classes inferred
    assert len(label_fidelity(predicted, labels)[1]) == 4
    with pytest.raises(DataError, match="same length"):
        label_fidelity(predicted[:-1], labels)
    with pytest.raises(DataError, match="below num_classes"):
        label_fidelity(predicted, labels, num_classes=3)


def test_class_coverage_lists_missing_class():
    out = class_coverage([0, 0, 1, 1, 1, 1], [3, 3, 2, 0], num_classes=4)
    assert out["missing"] == [2]
    assert out["present"] == [0, 1]
    assert out["coverage"] == pytest.approx(2 / 3)
    # shares: observed (1/3, 2/3, 0, 0) vs requested (3/8, 3/8, 2/8, 0)
    assert out["max_share_error"] == pytest.approx(2 / 3 - 3 / 8)
    assert out["observed_counts"].tolist() == [2, 4, 0, 0]
    perfect = class_coverage([0, 1, 1], [1, 2], num_classes=2)
    assert perfect["missing"] == [] and perfect["coverage"] == 1.0
    assert perfect["max_share_error"] == pytest.approx(0.0)
    empty = class_coverage([], [1, 1], num_classes=2)
    assert empty["coverage"] == 0.0 and empty["missing"] == [0, 1]
    with pytest.raises(DataError, match="shape"):
        class_coverage([0], [1, 1, 1], num_classes=2)


# ---------------------------------------------------------------------- DCR / memorization
def test_chunked_dcr_equals_brute_force():
    q, r = gaussian(257, d=6, seed=40), gaussian(300, d=6, seed=41)
    q[:5] = r[10:15]  # exact copies -> exactly 0
    brute = cdist(q, r).min(axis=1)
    dcr = distance_to_closest_record(q, r, chunk=16)
    np.testing.assert_allclose(dcr, brute, rtol=1e-10, atol=1e-12)
    assert np.all(dcr[:5] == 0.0)
    np.testing.assert_allclose(distance_to_closest_record(q, r), dcr)


def test_memorization_flags_copies():
    train = gaussian(400, d=5, seed=42)
    holdout = gaussian(300, d=5, seed=43)
    copies = train[np.random.default_rng(0).choice(400, 250)]
    m = memorization(train, copies, holdout)
    assert m["near_copy_share"] == 1.0
    assert m["dcr_ratio"] == pytest.approx(0.0, abs=1e-9)
    assert m["near_copy_mask"].shape == (250,) and m["near_copy_mask"].all()
    assert m["dcr_ratio_ci"][1] < 0.01


def test_memorization_fresh_samples_look_like_holdout():
    train = gaussian(500, d=5, seed=44)
    holdout = gaussian(500, d=5, seed=45)
    fresh = gaussian(700, d=5, seed=46)  # different size: per-sample medians stay comparable
    m = memorization(train, fresh, holdout, seed=1)
    assert m["near_copy_share"] < 0.05
    assert m["dcr_ratio"] == pytest.approx(1.0, abs=0.15)
    lo, hi = m["dcr_ratio_ci"]
    assert lo < 1.0 < hi
    assert m["near_copy_threshold"] < m["dcr_holdout_median"]


def test_memorization_holdout_against_itself_hits_the_quantile():
    train, holdout = gaussian(400, d=4, seed=47), gaussian(500, d=4, seed=48)
    m = memorization(train, holdout, holdout, near_copy_quantile=0.05, n_bootstrap=0)
    assert m["dcr_ratio"] == 1.0
    assert m["near_copy_share"] == pytest.approx(0.05, abs=0.005)
    np.testing.assert_array_equal(
        m["near_copy_mask"], m["dcr_synthetic"] <= m["near_copy_threshold"]
    )
    assert np.isnan(m["dcr_ratio_ci"][0])


# ---------------------------------------------------------------------- helpers and errors
def test_equal_count_subsample():
    a = np.arange(20).reshape(10, 2)
    sub = equal_count_subsample(a, 4, seed=0)
    assert sub.shape == (4, 2)
    assert len({tuple(r) for r in sub}) == 4  # without replacement
    assert np.array_equal(sub, equal_count_subsample(a, 4, seed=0))
    assert not np.array_equal(
        equal_count_subsample(a, 4, seed=0), equal_count_subsample(a, 4, seed=1)
    )
    assert equal_count_subsample(a, 99, seed=0) is a


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: frechet_distance(np.zeros(5), np.zeros((5, 1))), "2-D"),
        (lambda: frechet_distance(np.zeros((5, 2)), np.zeros((5, 3))), "same number of features"),
        (lambda: kernel_distance(np.full((5, 2), np.nan), np.zeros((5, 2))), "finite"),
        (
            lambda: precision_recall_density_coverage(np.zeros((3, 2)), np.zeros((9, 2))),
            "at least 6",
        ),
        (lambda: distance_to_closest_record(np.zeros((2, 2)), np.zeros((0, 2))), "at least 1"),
        (
            lambda: memorization(
                np.zeros((4, 2)), np.zeros((4, 2)), np.zeros((4, 2)), near_copy_quantile=2
            ),
            "near_copy_quantile",
        ),
        (lambda: frechet_distance(np.zeros((4, 2, 2)), np.zeros((4, 4))), "reshape"),
    ],
)
def test_errors_are_data_errors_with_expected_received(call, match):
    with pytest.raises(DataError, match=match) as info:
        call()
    assert "Expected" in str(info.value) and "Received" in str(info.value)

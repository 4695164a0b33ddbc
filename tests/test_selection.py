"""select_per_class: quotas per class, curation respected, coverage spreads over real neighbourhoods."""

from __future__ import annotations

import numpy as np
import pytest

import gan_augment as ga
from gan_augment.errors import DataError
from gan_augment.selection import select_per_class


def _images(values: np.ndarray, labels: np.ndarray) -> ga.Dataset:
    x = np.repeat(values[:, None], 16, axis=1).reshape(-1, 4, 4, 1).astype("float32")
    return ga.Dataset.from_arrays(x, labels, ("a", "b"))


def test_coverage_spreads_the_quota_over_the_real_samples_and_first_does_not():
    # class 0 has two real images: dark (0.1) and bright (0.9); the GAN made 90 dark, 10 bright
    real = _images(np.array([0.1, 0.9, 0.5, 0.5]), np.array([0, 0, 1, 1]))
    values = np.concatenate([np.full(90, 0.12), np.full(10, 0.88), np.full(20, 0.5)])
    candidates = _images(values, np.array([0] * 100 + [1] * 20))
    plan = np.array([10, 4])
    first = select_per_class(candidates, real, plan, how="first")
    cover = select_per_class(candidates, real, plan, how="coverage", seed=3)
    for kept in (first, cover):
        np.testing.assert_array_equal(kept.class_counts(), plan)
    bright = lambda d: int((d.x[d.y == 0].mean(axis=(1, 2, 3)) > 0.5).sum())
    assert bright(first) == 0 and bright(cover) == 5


def test_curation_is_respected_and_bad_input_is_refused():
    real = _images(np.array([0.1, 0.9, 0.5, 0.6]), np.array([0, 0, 1, 1]))
    candidates = _images(np.linspace(0, 1, 12), np.array([0, 1] * 6))
    accepted = np.arange(12) % 4 != 0  # drops candidates 0, 4, 8 (all class 0)
    kept = select_per_class(candidates, real, np.array([5, 5]), accepted=accepted, how="coverage")
    np.testing.assert_array_equal(kept.class_counts(), [3, 5])  # only 3 accepted of class 0
    assert kept.provenance["curated"] == {"kept": 9, "dropped": 3}
    assert select_per_class(candidates, real, np.array([0, 0])) is None
    with pytest.raises(DataError, match="selection"):
        select_per_class(candidates, real, np.array([1, 1]), how="diverse")
    with pytest.raises(DataError, match="real data"):
        select_per_class(candidates, None, np.array([1, 1]), how="coverage")

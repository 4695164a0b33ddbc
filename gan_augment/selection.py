"""Which generated samples to keep: `select_per_class` picks a per-class quota from curated
candidates, either in generation order (``"first"``) or so that they cover the real data
(``"coverage"``).

A few-shot GAN tends to produce template-like samples: many near the most typical real image of
a class, few near the unusual ones. ``"coverage"`` spreads the quota over the real samples'
neighbourhoods: the real samples of a class take turns (in a seeded order), each taking its
nearest candidate that is still free, until the quota is filled. Every real sample then has
about ``quota / n_real`` synthetic neighbours, and a mode cannot take more than its share.

Example:
    >>> kept = select_per_class(candidates, real, plan, accepted=report.accepted,
    ...                         how="coverage")                      # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

from gan_augment.data.dataset import Dataset
from gan_augment.errors import DataError
from gan_augment.kinds import kind_of

#: Ways to choose the samples of a class.
SELECTIONS: tuple[str, ...] = ("first", "coverage")


def select_per_class(candidates: Dataset, real: Dataset | None, plan: np.ndarray, *,
                     accepted: np.ndarray | None = None, how: str = "first", seed: int = 0) -> Dataset | None:
    """Up to ``plan[c]`` accepted candidates of every class c, in their original order (``None``
    if none is taken).

    Args:
        candidates: generated samples with labels.
        real: the real data (``"coverage"`` measures distances to its samples of each class;
            ``None`` is allowed with ``"first"``).
        plan: samples wanted per class.
        accepted: per candidate, whether curation kept it (default: all).
        how: ``"first"`` (generation order) or ``"coverage"`` (see the module docstring).
        seed: seeds the order in which real samples take turns.
    """
    if how not in SELECTIONS:
        raise DataError(f"Expected selection as one of {list(SELECTIONS)}. Received: {how!r}.")
    if how == "coverage" and real is None:
        raise DataError("Expected the real data for selection='coverage'. Received: real=None.")
    ok = np.ones(len(candidates), bool) if accepted is None else np.asarray(accepted, bool)
    if len(ok) != len(candidates):
        raise DataError(f"Expected one accepted flag per candidate ({len(candidates)}). Received: {len(ok)}.")
    plan = np.asarray(plan, np.int64)
    rng = np.random.default_rng([int(seed), 0x5E1EC7])
    features = kind_of(real).copy_space(real) if how == "coverage" else None
    chosen: list[np.ndarray] = []
    for c, quota in enumerate(plan):
        pool = np.flatnonzero(ok & (candidates.y == c))
        if quota <= 0 or not len(pool):
            continue
        if features is None or len(pool) <= quota or not (real.y == c).any():  # nothing to choose by
            chosen.append(pool[:quota])
            continue
        anchors = features(real.take(np.flatnonzero(real.y == c)))
        chosen.append(pool[_round_robin(anchors, features(candidates.take(pool)), int(quota), rng)])
    if not chosen:
        return None
    index = np.sort(np.concatenate(chosen))
    record = {} if accepted is None else {"curated": {"kept": int(ok.sum()), "dropped": int((~ok).sum())}}
    return candidates.take(index, **record, **({"selection": how} if how != "first" else {}))


def _round_robin(anchors: np.ndarray, points: np.ndarray, quota: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``quota`` points: anchors take turns (seeded order), each its nearest free point."""
    d = ((anchors[:, None, :] - points[None, :, :]) ** 2).sum(-1)  # anchors × points
    order = np.argsort(d, axis=1)
    taken = np.zeros(len(points), bool)
    next_rank = np.zeros(len(anchors), np.int64)
    picks: list[int] = []
    turns = rng.permutation(len(anchors))
    while len(picks) < quota:
        for a in turns:
            while taken[order[a, next_rank[a]]]:
                next_rank[a] += 1
            j = int(order[a, next_rank[a]])
            taken[j] = True
            picks.append(j)
            if len(picks) == quota:
                break
    return np.asarray(picks, np.int64)

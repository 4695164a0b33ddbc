"""How each gate is computed: one function per gate (named like it) and per informative metric,
all of one `GateContext`. `Gate.compute` (``gates.py``) calls them; `validate` loops over the
gates of the data's kind.

The context is built once per validation: the real training, real holdout ("reference") and
synthetic sets, the kind's `ValidationSpace` (feature space, near-copy space, label judge, GX
suite) and equal-count index subsets (class-matched for kinds that ask for it). Expensive
intermediate results (features, PRDC, the memorization distances, the judge's predictions) are
computed on first use and shared between the gates that need them.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import numpy as np
import pandas as pd

from gan_augment.data.dataset import Dataset
from gan_augment.errors import DataError
from gan_augment.kinds import DataKind, ValidationSpace
from gan_augment.validation import metrics as M
from gan_augment.validation.gates import MIN_DECIDABLE
from gan_augment.validation.gx_gate import gx_gate
from gan_augment.validation.report import Check, Thresholds

#: The C2ST gate decides only when its limit lies this many chance standard errors above 0.5.
C2ST_DECIDE_Z = 3.0
#: Label fidelity decides (and curation drops disputed samples) only when the judge is at least
#: this accurate on real unseen data: a 55 %-accurate judge disputes good samples at random.
MIN_JUDGE_ACCURACY = 0.8
#: Share of real unseen samples that the near-copy threshold lets through (when the holdout is
#: large enough to estimate it; see the memorization gate).
NEAR_COPY_QUANTILE = 0.01
#: The memorization gate fails when the synthetic near-copy share is above the real holdout's
#: with a one-sided Fisher exact p-value below this (and above ``near_copy_share``).
MEMORIZATION_ALPHA = 1e-3
#: The fewest samples per set a metric can be computed at (below: an undecided gate, no value).
MIN_COMPUTABLE = {"frechet_distance": 2, "c2st_auc": 8, "coverage": 6}


@dataclasses.dataclass
class GateContext:
    """Everything the gates of one validation read (see the module docstring)."""

    kind: DataKind
    space: ValidationSpace
    real: Dataset
    reference: Dataset
    synthetic: Dataset
    limits: Thresholds
    requested: np.ndarray | None
    seed: int
    subsets: tuple[np.ndarray, np.ndarray, np.ndarray]

    @classmethod
    def build(cls, kind: DataKind, space: ValidationSpace, real: Dataset, reference: Dataset, synthetic: Dataset,
              limits: Thresholds, requested: np.ndarray | None, seed: int) -> GateContext:
        seeds = [int(s) for s in np.random.SeedSequence(seed).generate_state(4)]
        sizes = [len(real), len(reference), len(synthetic)]
        if space.class_matched:
            subsets = class_matched_subsets([real.y, reference.y, synthetic.y], sizes, seeds[0])
        else:
            n = min(sizes)
            subsets = [M.equal_count_subsample(np.arange(size), n, seed=s) for size, s in zip(sizes, seeds, strict=False)]
        return cls(kind, space, real, reference, synthetic, limits, requested, seed, tuple(subsets))

    # ------------------------------------------------------------------ shared intermediates
    @property
    def n(self) -> int:
        """Samples per set in the equal-count comparisons."""
        return len(self.subsets[2])

    @property
    def few(self) -> str:
        """Why a distribution gate cannot decide at `n` ("" when it can)."""
        return too_few(self.n)

    @functools.cached_property
    def features(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Domain features of the equal-count subsets: (real, reference, synthetic)."""
        return tuple(np.asarray(self.space.features(d), np.float64)[i]
                     for d, i in zip(self.sets, self.subsets, strict=True))

    @property
    def sets(self) -> tuple[Dataset, Dataset, Dataset]:
        return self.real, self.reference, self.synthetic

    @functools.cached_property
    def prdc(self) -> tuple[dict[str, float], dict[str, float]]:
        """Precision / recall / density / coverage of (synthetic, reference) against real."""
        f_real, f_ref, f_syn = self.features
        return M.precision_recall_density_coverage(f_real, f_syn), M.precision_recall_density_coverage(f_real, f_ref)

    @functools.cached_property
    def memorization(self) -> tuple[Check, dict[str, Any]]:
        copies = self.space.copies
        return memorization_check(copies(self.real), copies(self.synthetic), copies(self.reference), self.limits,
                                  self.seed, self.kind.noun)

    @functools.cached_property
    def gx(self) -> tuple[dict[str, Any], dict[str, pd.DataFrame] | None]:
        return self.space.gx(self.real, self.reference, self.synthetic, self.limits, self.seed)

    @functools.cached_property
    def judge(self) -> tuple[np.ndarray, float, float] | None:
        """The label judge's predictions on the synthetic samples, its accuracy on the real
        holdout overall and at the synthetic class mix (None without judge or labels)."""
        if self.space.predict is None or not self.synthetic.labeled:
            return None
        ref_pred = self.space.predict(self.reference)
        base_acc = float(np.mean(ref_pred == self.reference.y))
        matched = class_matched_accuracy(ref_pred, self.reference.y, self.synthetic.y, self.real.num_classes)
        return np.asarray(self.space.predict(self.synthetic)), base_acc, matched

    @functools.cached_property
    def marginals(self) -> tuple[dict[Any, float], dict[Any, float]]:
        """Per-column distances of (synthetic, reference) to real, on the equal-count subsets."""
        t_real, t_ref, t_syn = (d.frame.iloc[i] for d, i in zip(self.sets, self.subsets, strict=True))
        return marginal_distances(t_real, t_syn), marginal_distances(t_real, t_ref)

    def computable(self, gate: str) -> Check | None:
        """An undecided `Check` without a value when `n` is below what ``gate``'s metric needs."""
        need = MIN_COMPUTABLE.get(gate, 1)
        if self.n >= need:
            return None
        reason = f"only {self.n} samples per set; {gate} needs at least {need}"
        return Check(gate, None, None, None, True, f"Not computed: {reason}.", undecided=reason)


# ====================================================================== the gates
def gx_suite(ctx: GateContext) -> Check:
    return gx_gate(ctx.gx[0], ctx.limits.gx)


def frechet_distance(ctx: GateContext) -> Check:
    if (skipped := ctx.computable("frechet_distance")) is not None:
        return skipped
    f_real, f_ref, f_syn = ctx.features
    fd, fd_base = M.frechet_distance(f_real, f_syn), M.frechet_distance(f_real, f_ref)
    bound = ctx.limits.frechet_ratio * fd_base
    return Check("frechet_distance", fd, fd_base, bound, fd <= bound or bool(ctx.few),
                 f"Fréchet distance {fd:.3g} in the domain feature space is {_times(fd, fd_base)} the "
                 f"real-vs-real {fd_base:.3g} (limit {ctx.limits.frechet_ratio:g}×) at n={ctx.n}.",
                 undecided=ctx.few)


def c2st_auc(ctx: GateContext) -> Check:
    if (skipped := ctx.computable("c2st_auc")) is not None:
        return skipped
    f_real, f_ref, f_syn = ctx.features
    auc, auc_base = M.c2st_auc(f_real, f_syn, seed=ctx.seed), M.c2st_auc(f_real, f_ref, seed=ctx.seed)
    limit, n = ctx.limits.c2st_auc, ctx.n
    se = M.c2st_chance_std(n)
    undecided = (f"at n={n} per set the AUC of two identical sets spreads ±{se:.2f} around 0.5, too "
                 f"wide to tell the limit {limit:g} from chance" if limit - 0.5 < C2ST_DECIDE_Z * se else "")
    beyond = auc - 0.5 > C2ST_DECIDE_Z * se
    return Check("c2st_auc", auc, auc_base, limit, auc <= limit or bool(undecided),
                 f"A real-vs-synthetic {ctx.space.c2st_judge} reaches AUC {auc:.3f} on held-out "
                 f"{ctx.kind.noun} (real-vs-real {auc_base:.3f}; 0.5 = indistinguishable, chance spread "
                 f"±{se:.2f} at n={n}; limit {limit:g})."
                 + (" The sets are distinguishable beyond chance." if beyond and auc <= limit else ""),
                 undecided=undecided)


def coverage(ctx: GateContext) -> Check:
    if (skipped := ctx.computable("coverage")) is not None:
        return skipped
    prdc, base = ctx.prdc
    bound = ctx.limits.coverage_ratio * base["coverage"]
    noun = ctx.kind.noun
    return Check("coverage", prdc["coverage"], base["coverage"], bound,
                 prdc["coverage"] >= bound or bool(ctx.few),
                 f"Synthetic {noun} cover {prdc['coverage']:.0%} of the real {noun}' k-NN neighbourhoods; "
                 f"real holdout {noun} cover {base['coverage']:.0%} (need ≥ {ctx.limits.coverage_ratio:g}×: "
                 "low coverage means mode collapse).", undecided=ctx.few)


def memorization(ctx: GateContext) -> Check:
    return ctx.memorization[0]


def label_fidelity(ctx: GateContext) -> Check | None:
    """``judge``'s predictions agree with the conditioning labels, relative to its accuracy on the
    real holdout at the synthetic set's class mix (`class_matched_accuracy`); undecided while the
    judge's overall accuracy is below ``MIN_JUDGE_ACCURACY``."""
    if ctx.judge is None:
        return None
    predicted, base_acc, matched_acc = ctx.judge
    real, synthetic, limits = ctx.real, ctx.synthetic, ctx.limits
    fidelity, per_class = M.label_fidelity(predicted, synthetic.y, real.num_classes)
    bound = limits.label_fidelity_ratio * matched_acc
    weakest = int(np.nanargmin(per_class)) if np.isfinite(per_class).any() else 0
    weak = judge_too_weak(base_acc, len(ctx.reference))
    return Check(
        "label_fidelity", fidelity, matched_acc, bound, fidelity >= bound or bool(weak),
        f"{ctx.space.judge} agrees with {fidelity:.1%} of the conditioning labels; it is {matched_acc:.1%} "
        f"accurate on real holdout {ctx.kind.noun} at the synthetic class mix ({base_acc:.1%} overall) "
        f"(need ≥ {limits.label_fidelity_ratio:g}×). Weakest class: {real.class_names[weakest]} "
        f"({per_class[weakest]:.0%}).", undecided=weak)


def label_preservation(ctx: GateContext) -> Check | None:
    """Translated samples: the share whose carried label the judge (trained on real target data)
    predicts, against the absolute ``label_preservation``; undecided while the judge itself is
    less accurate than that on real holdout samples at the synthetic class mix."""
    if ctx.judge is None:
        return None
    predicted, _, matched_acc = ctx.judge
    kept = float(np.mean(predicted == ctx.synthetic.y)) if len(predicted) else 0.0
    limit = ctx.limits.label_preservation
    weak = (f"the judge is right on only {matched_acc:.0%} of real holdout {ctx.kind.noun} at this class "
            f"mix, below the {limit:.0%} asked of the translations" if matched_acc < limit else "")
    return Check("label_preservation", kept, matched_acc, limit, kept >= limit or bool(weak),
                 f"{ctx.space.judge} predicts the carried label of {kept:.1%} of the translated {ctx.kind.noun} "
                 f"(limit {limit:.0%}; it is {matched_acc:.1%} accurate on real holdout {ctx.kind.noun} at "
                 "the same class mix).", undecided=weak)


def class_coverage(ctx: GateContext) -> Check | None:
    real, synthetic = ctx.real, ctx.synthetic
    if not synthetic.labeled:
        return None
    req = np.asarray(ctx.requested if ctx.requested is not None else real.class_counts(), dtype=float)
    cov = M.class_coverage(synthetic.y, req, num_classes=real.num_classes)
    ok = not cov["missing"] and cov["max_share_error"] <= ctx.limits.class_share_error
    missing = [real.class_names[c] for c in cov["missing"]]
    return Check(
        "class_coverage", cov["max_share_error"], 0.0, ctx.limits.class_share_error, ok,
        (f"Missing classes: {missing}. " if missing else "Every requested class is present. ")
        + f"Largest share error {cov['max_share_error']:.1%} (limit {ctx.limits.class_share_error:.0%}).")


def marginals(ctx: GateContext) -> Check:
    dist, dist_base = ctx.marginals
    if not dist:
        return Check("marginals", None, None, None, True, "No column with a distribution to compare "
                     "(identifier columns only).", undecided="no column to compare")
    mean_d, mean_b = float(np.mean(list(dist.values()))), float(np.mean(list(dist_base.values())))
    worst = max(dist, key=dist.get)
    bound = ctx.limits.marginals_ratio * mean_b
    return Check("marginals", mean_d, mean_b, bound, mean_d <= bound or bool(ctx.few),
                 f"Mean per-column KS/TV distance {mean_d:.3f} vs real-vs-real {mean_b:.3f} "
                 f"(limit {ctx.limits.marginals_ratio:g}×) at n={ctx.n}; worst column {worst!r} "
                 f"({dist[worst]:.3f}, real-vs-real {dist_base[worst]:.3f}).", undecided=ctx.few)


def correlation(ctx: GateContext) -> Check:
    f_real, f_ref, f_syn = ctx.features
    corr, corr_base = correlation_difference(f_real, f_syn), correlation_difference(f_real, f_ref)
    bound = ctx.limits.correlation_ratio * corr_base
    return Check("correlation", corr, corr_base, bound, corr <= bound or bool(ctx.few),
                 f"Correlation matrices of the encoded {ctx.kind.noun} differ by {corr:.3f} on average vs "
                 f"real-vs-real {corr_base:.3f} (limit {ctx.limits.correlation_ratio:g}×) at n={ctx.n}.",
                 undecided=ctx.few)


# ====================================================================== informative metrics
def kid(ctx: GateContext) -> Check | None:
    if ctx.computable("frechet_distance") is not None:
        return None
    f_real, f_ref, f_syn = ctx.features
    value, std = M.kernel_distance(f_real, f_syn, seed=ctx.seed)
    base, _ = M.kernel_distance(f_real, f_ref, seed=ctx.seed)
    spread = f" ± {std:.2g} over subsets" if np.isfinite(std) else ""
    return Check("kid", value, base, None, True,
                 f"KID {value:.3g}{spread} vs real-vs-real {base:.3g} (informative). Unbiased: about 0 "
                 "for two samples of one distribution, so slightly negative values mean 'no difference "
                 "measured'.", gate=False)


def _prdc_metric(key: str) -> Any:
    def metric(ctx: GateContext) -> Check | None:
        if ctx.computable("coverage") is not None:
            return None
        prdc, base = ctx.prdc
        return Check(key, prdc[key], base[key], None, True,
                     f"{key} {prdc[key]:.3f} vs real-vs-real {base[key]:.3f} (informative).", gate=False)

    metric.__name__ = key
    return metric


precision, recall, density = (_prdc_metric(k) for k in ("precision", "recall", "density"))


# ====================================================================== rules shared by the gates
def too_few(n: int) -> str:
    """Why a distribution gate cannot decide at ``n`` samples per set ("" when it can): the
    small-sample rule of every gate."""
    return (f"only {n} samples per set (< {MIN_DECIDABLE}): the real-vs-real baseline is noise"
            if n < MIN_DECIDABLE else "")


def judge_too_weak(accuracy: float, n_judged: int) -> str:
    """Why a label judge of this accuracy on ``n_judged`` real unseen samples cannot judge ("" when it can)."""
    return (f"the judge is right on only {accuracy:.0%} of {n_judged} real unseen samples "
            f"(needs ≥ {MIN_JUDGE_ACCURACY:.0%} to judge labels; more real data trains a better one)"
            if accuracy < MIN_JUDGE_ACCURACY else "")


def memorization_check(train: np.ndarray, synthetic: np.ndarray, holdout: np.ndarray, limits: Thresholds,
                       seed: int, what: str) -> tuple[Check, dict[str, Any]]:
    """The ``memorization`` gate, one rule for every kind. A synthetic sample is a near-copy when
    it is closer to its nearest training sample than the ``q`` quantile of the real holdout's
    distances, ``q = max(NEAR_COPY_QUANTILE, 2 / len(holdout))`` (a small holdout cannot place a
    1 % quantile: then its 2nd-closest sample sets the threshold). The gate compares the
    synthetic near-copy count with the holdout's below the same threshold: it fails when the
    synthetic share is above ``near_copy_share`` and significantly above the holdout's (one-sided
    Fisher exact test, p < ``MEMORIZATION_ALPHA``). The limit reported is the largest share that
    test would still accept; when it is above 2 × ``near_copy_share`` the holdout is too small to
    tell a copying generator from a faithful one, and a passing gate says so (undecided)."""
    from scipy.stats import fisher_exact

    quantile = max(NEAR_COPY_QUANTILE, min(0.5, 2.0 / max(len(holdout), 1)))
    mem = M.memorization(train, synthetic, holdout, near_copy_quantile=quantile, seed=seed)
    n_hold, m = len(holdout), len(synthetic)
    k_hold = int(np.sum(mem["dcr_holdout"] <= mem["near_copy_threshold"]))

    def significant(k: int) -> bool:
        return fisher_exact([[k, m - k], [k_hold, n_hold - k_hold]], alternative="greater").pvalue < MEMORIZATION_ALPHA

    lo, hi = 0, m + 1  # the smallest synthetic count the test calls significant (m + 1: none)
    while lo < hi:
        mid = (lo + hi) // 2
        if mid <= m and significant(mid):
            hi = mid
        else:
            lo = mid + 1
    limit = max(limits.near_copy_share, (lo - 1) / m if m else 1.0)
    share = mem["near_copy_share"]
    passed = share <= limit
    wide = (f"{k_hold} of {n_hold} real unseen {what} are that close to a training {what[:-1]} (a small "
            f"holdout, or {what} that repeat each other), so only a near-copy share above {limit:.0%} "
            "would stand out from chance" if passed and limit > 2 * limits.near_copy_share else "")
    check = Check("memorization", share, k_hold / max(n_hold, 1), limit, passed,
                  f"{share:.1%} of synthetic {what} are near-copies of training {what} (closer than "
                  f"{1 - quantile:.0%} of real unseen {what} are: {k_hold} of {n_hold}); limit {limit:.1%} at "
                  f"n={m} (Fisher exact, p < {MEMORIZATION_ALPHA:g}); median distance ratio to the "
                  f"holdout's {mem['dcr_ratio']:.2f}.", undecided=wide)
    return check, mem


def class_matched_accuracy(predicted: np.ndarray, y: np.ndarray, synthetic_y: np.ndarray, num_classes: int) -> float:
    """A judge's accuracy on real samples (``predicted`` vs ``y``) at the class mix of
    ``synthetic_y``: its per-class recall weighted by the synthetic set's class shares (a class
    the real samples lack counts with the overall accuracy).

    Filling up a rare class asks the judge about that class only, where a judge trained on
    imbalanced data is least accurate; its overall accuracy would be the wrong yardstick.

    Example:
        >>> class_matched_accuracy(np.array([0, 0, 0, 0]), np.array([0, 0, 0, 1]), np.array([1, 1]), 2)
        0.0
    """
    predicted, y, synthetic_y = (np.asarray(a, np.int64).ravel() for a in (predicted, y, synthetic_y))
    overall = float(np.mean(predicted == y)) if len(y) else 0.0
    if not len(synthetic_y):
        return overall
    shares = np.bincount(synthetic_y, minlength=num_classes) / len(synthetic_y)
    recall = np.array([np.mean(predicted[y == c] == c) if np.any(y == c) else overall for c in range(len(shares))])
    return float(shares @ recall)


def class_matched_subsets(labels: list[np.ndarray | None], sizes: list[int], seed: int) -> list[np.ndarray]:
    """Indices into each set: per class present in the last set, the same number of samples in
    every set (the smallest of their counts), drawn at random. When a set has no labels, the
    same number of samples at random from each (the smallest set's size)."""
    rng = np.random.default_rng(seed)
    if any(y is None for y in labels):
        n = min(sizes)
        return [np.sort(rng.permutation(size)[:n]) for size in sizes]
    out: list[list[np.ndarray]] = [[] for _ in labels]
    for c in np.unique(labels[-1]):
        members = [np.flatnonzero(y == c) for y in labels]
        k = min(len(m) for m in members)
        for i, m in enumerate(members):
            out[i].append(rng.permutation(m)[:k])
    return [np.sort(np.concatenate(o)) if o else np.zeros(0, np.int64) for o in out]


def marginal_distances(a: pd.DataFrame, b: pd.DataFrame) -> dict[Any, float]:
    """Per column of ``a``: the Kolmogorov–Smirnov distance of ``a`` and ``b`` (continuous
    columns; a missing value counts as larger than every value, so differing missing-value rates
    show) or their total-variation distance (categorical columns, missing as a category).

    Which columns are continuous follows `gan_augment.models.table_encoding.column_kind` on ``a``;
    identifier columns (`gan_augment.data.columns.column_type`: every row its own value) have no
    distribution to compare and are left out.

    Example:
        >>> a = pd.DataFrame({"x": np.arange(100.0), "k": ["u", "v"] * 50})
        >>> d = marginal_distances(a, a.assign(x=a.x + 50, k="u"))
        >>> round(d["x"], 2), d["k"]
        (0.5, 0.5)
    """
    from gan_augment.data.columns import column_type
    from gan_augment.models.table_encoding import column_kind

    out: dict[Any, float] = {}
    for col in a.columns:
        if column_type(a[col]) == "identifier":
            continue
        try:
            kind = column_kind(a[col])
        except DataError:
            kind = "categorical"
        if kind == "continuous":
            out[col] = _ks_with_missing(_floats(a[col]), _floats(b[col]))
        else:
            p = _category_shares(a[col])
            q = _category_shares(b[col])
            out[col] = float(0.5 * p.sub(q, fill_value=0.0).abs().sum())
    return out


def correlation_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference between the Pearson correlation matrices of two encoded row sets
    (upper triangle; a feature constant in a set has correlation 0 there).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=(500, 3)); x[:, 1] += x[:, 0]
        >>> correlation_difference(x, x) == 0.0
        True
        >>> correlation_difference(x, rng.permutation(x)) < 1e-12  # rows shuffled together: same
        True
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape[1] != b.shape[1]:
        raise DataError(f"Expected row sets with the same features. Received: {a.shape[1]} and {b.shape[1]}.")
    if a.shape[1] < 2:
        return 0.0
    iu = np.triu_indices(a.shape[1], k=1)
    return float(np.mean(np.abs(_corr(a)[iu] - _corr(b)[iu])))


def _corr(x: np.ndarray) -> np.ndarray:
    x = x - x.mean(axis=0)
    sd = np.sqrt((x**2).mean(axis=0))
    z = np.divide(x, sd, out=np.zeros_like(x), where=sd > 1e-12)
    return z.T @ z / max(len(x), 1)


def _floats(s: pd.Series) -> np.ndarray:
    return np.asarray(pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan), np.float64)


def _ks_with_missing(x: np.ndarray, y: np.ndarray) -> float:
    x = np.sort(np.where(np.isnan(x), np.inf, x))
    y = np.sort(np.where(np.isnan(y), np.inf, y))
    if not len(x) or not len(y):
        return 1.0
    grid = np.concatenate([x, y])
    cdf_x = np.searchsorted(x, grid, side="right") / len(x)
    cdf_y = np.searchsorted(y, grid, side="right") / len(y)
    return float(np.max(np.abs(cdf_x - cdf_y)))


def _category_shares(s: pd.Series) -> pd.Series:
    values = s.astype(object).where(s.notna(), "<missing>").map(str)
    return values.value_counts(normalize=True)


def _times(value: float, base: float) -> str:
    return f"{value / base:.2f}×" if base > 0 else "n/a ×"

"""Sample-quality, privacy and label metrics on feature arrays.

Every function here is a pure function of numpy arrays; nothing imports TensorFlow. Features are
2-D float arrays with one row per sample: typically the penultimate layer of a classifier trained
on the real data (Inception weights would need a download, which offline machines cannot do), or the
flattened images / standardized table columns. Numbers computed in such a domain feature space are
**not** comparable to published Inception FIDs: always report them beside a real-vs-real baseline
computed with the same feature extractor and the same sample counts.

Sample-count caveats (as clean-fid / torch-fidelity document them):

* ``frechet_distance`` is biased upwards, roughly by O(d / n) for d features and n samples, so two
  values are only comparable at equal sample counts (use `equal_count_subsample`). With n <= d the
  covariances are singular and the value is dominated by that bias.
* ``kernel_distance`` (KID) is unbiased, so it can be compared across sample counts, but its
  spread over subsets is large when ``subset_size`` is small; report the std it returns.
* ``precision_recall_density_coverage`` uses k-NN radii, which shrink as the sample count grows:
  compare real and fake at equal counts (Naeem et al. 2020 recommend it) and with the same ``k``.
* ``c2st_auc`` has a standard error of about ``sqrt((2m + 1) / (12 m^2))`` for m held-out samples
  per class (0.04 at m = 100, 0.013 at m = 1000); small sets cannot show small differences.
* ``memorization`` thresholds at a low quantile of the holdout's distances; the holdout needs at
  least ``1 / near_copy_quantile`` rows (100 for 1 %) for that quantile to mean anything.

Errors are `gan_augment.errors.DataError` with "Expected ... Received: ..." messages.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import scipy.linalg

from gan_augment.errors import DataError

__all__ = [
    "c2st_auc",
    "class_coverage",
    "distance_to_closest_record",
    "equal_count_subsample",
    "frechet_distance",
    "kernel_distance",
    "label_fidelity",
    "memorization",
    "precision_recall_density_coverage",
]

# Largest distance block (in float64 elements) held at once by the chunked k-NN code: 32 MiB.
_BLOCK_ELEMENTS = 1 << 22


# ---------------------------------------------------------------------- input checks
def _features(x: Any, name: str, min_rows: int = 1) -> np.ndarray:
    """``x`` as a finite float64 array of shape (n, d) with n >= ``min_rows``."""
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError) as exc:  # ragged lists and the like
        raise DataError(
            f"Expected `{name}` as a 2-D numeric array. Received: {type(x).__name__} ({exc})."
        ) from None
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise DataError(f"Expected `{name}` as a 2-D numeric array. Received: dtype={arr.dtype}.")
    if arr.ndim != 2:
        hint = f" Flatten it with {name}.reshape(len({name}), -1)." if arr.ndim > 2 else ""
        raise DataError(
            f"Expected `{name}` as a 2-D array (samples, features). "
            f"Received: shape={arr.shape}.{hint}"
        )
    if arr.shape[1] == 0:
        raise DataError(
            f"Expected `{name}` to have at least one feature. Received: shape={arr.shape}."
        )
    if len(arr) < min_rows:
        raise DataError(
            f"Expected `{name}` to have at least {min_rows} rows. Received: {len(arr)} rows."
        )
    arr = arr.astype(np.float64, copy=False)
    if not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr)).any(axis=1).sum())
        raise DataError(
            f"Expected finite values in `{name}`. Received: {bad} rows with NaN or inf."
        )
    return arr


def _same_width(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    if a.shape[1] != b.shape[1]:
        raise DataError(
            f"Expected `{name_a}` and `{name_b}` to have the same number of features. "
            f"Received: {a.shape[1]} and {b.shape[1]}."
        )


def _labels(x: Any, name: str) -> np.ndarray:
    """``x`` as a 1-D int64 array of non-negative labels."""
    arr = np.asarray(x)
    if arr.ndim != 1:
        raise DataError(f"Expected `{name}` as a 1-D array of labels. Received: shape={arr.shape}.")
    if (
        arr.size
        and not np.issubdtype(arr.dtype, np.integer)
        and (not np.issubdtype(arr.dtype, np.floating) or not np.all(np.mod(arr, 1) == 0))
    ):
        raise DataError(f"Expected integer labels in `{name}`. Received: dtype={arr.dtype}.")
    arr = arr.astype(np.int64, copy=False)
    if arr.size and arr.min() < 0:
        raise DataError(f"Expected labels >= 0 in `{name}`. Received: min={int(arr.min())}.")
    return arr


def _positive_int(value: Any, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise DataError(
            f"Expected `{name}` as an integer >= {minimum}. Received: {name}={value!r}."
        )
    return int(value)


# ---------------------------------------------------------------------- distance helpers
def _sq_norms(x: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", x, x)


def _sq_dists(a: np.ndarray, b: np.ndarray, b_sq: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances (len(a), len(b)) through one BLAS product, clipped at 0.

    Accurate to about 1e-16 * |x|^2; callers that need exact small distances recompute them.
    """
    d = a @ b.T
    d *= -2.0
    d += _sq_norms(a)[:, None]
    d += b_sq[None, :]
    np.maximum(d, 0.0, out=d)
    return d


def _rows_per_block(n_columns: int) -> int:
    return max(1, _BLOCK_ELEMENTS // max(1, n_columns))


def _knn_radii(x: np.ndarray, k: int) -> np.ndarray:
    """Distance from each row of ``x`` to its k-th nearest *other* row of ``x`` (chunked, exact)."""
    x_sq = _sq_norms(x)
    radii = np.empty(len(x))
    step = _rows_per_block(len(x))
    for start in range(0, len(x), step):
        rows = x[start : start + step]
        d = _sq_dists(rows, x, x_sq)
        # the k + 1 nearest include the row itself (distance 0); refine them exactly
        cand = np.argpartition(d, k, axis=1)[:, : k + 1]
        exact = np.sqrt(((rows[:, None, :] - x[cand]) ** 2).sum(axis=2))
        exact.sort(axis=1)
        radii[start : start + step] = exact[:, k]
    return radii


def distance_to_closest_record(query: Any, reference: Any, *, chunk: int = 2048) -> np.ndarray:
    """Euclidean distance from each row of ``query`` to its nearest row of ``reference``.

    Computed block by block (``chunk`` query rows at a time, so memory is about
    ``chunk * len(reference) * 8`` bytes) with a BLAS product to find the nearest row, then
    recomputed exactly, so an exact copy has distance 0.0.

    Caveats: distances are only meaningful in a feature space where Euclidean distance makes
    sense (standardized table columns, classifier embeddings). The DCR of a set shrinks as
    ``reference`` grows, so compare DCRs only against the same reference set.

    Args:
        query: array (n, d).
        reference: array (m, d), m >= 1.
        chunk: query rows per block.

    Returns:
        float64 array of shape (n,).

    Example:
        >>> ref = np.array([[0.0, 0.0], [3.0, 4.0]])
        >>> distance_to_closest_record(np.array([[3.0, 4.0], [0.0, 1.0]]), ref)
        array([0., 1.])
    """
    q = _features(query, "query", 0)
    r = _features(reference, "reference", 1)
    _same_width(q, r, "query", "reference")
    chunk = _positive_int(chunk, "chunk")
    r_sq = _sq_norms(r)
    out = np.empty(len(q))
    for start in range(0, len(q), chunk):
        rows = q[start : start + chunk]
        nearest = _sq_dists(rows, r, r_sq).argmin(axis=1)
        out[start : start + chunk] = np.sqrt(((rows - r[nearest]) ** 2).sum(axis=1))
    return out


# ---------------------------------------------------------------------- subsampling
def equal_count_subsample(a: Any, n: int, seed: int = 0) -> np.ndarray:
    """``n`` random rows of ``a`` without replacement (in their original order), or all of ``a``.

    Use it to compare metrics at equal sample counts (Fréchet distance and the k-NN metrics
    depend on the count): subsample the larger of two sets to the size of the smaller.

    Example:
        >>> equal_count_subsample(np.arange(10), 3, seed=0).shape
        (3,)
        >>> len(equal_count_subsample(np.arange(10), 50, seed=0))
        10
    """
    arr = np.asarray(a)
    if arr.ndim == 0:
        raise DataError(f"Expected an array with rows. Received: a scalar of shape {arr.shape}.")
    n = _positive_int(n, "n", 0)
    if n >= len(arr):
        return arr
    idx = np.random.default_rng(seed).choice(len(arr), size=n, replace=False)
    return arr[np.sort(idx)]


# ---------------------------------------------------------------------- Fréchet distance
def frechet_distance(real: Any, fake: Any) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (FID in a given space).

    ``||mu_r - mu_f||^2 + Tr(S_r + S_f - 2 (S_r S_f)^(1/2))`` with the matrix square root from
    `scipy.linalg.sqrtm`; if the product is singular (not finite / inaccurate square root),
    ``eps * I`` is added to both covariances, tiny imaginary parts are dropped and a large one
    raises.

    Caveats: biased upwards by roughly O(d / n) — the same two distributions give a larger value
    with fewer samples — so compare only at equal sample counts (see `equal_count_subsample`)
    and beside a real-vs-real baseline of the same counts. Needs n > d for full-rank
    covariances; with fewer samples the value is dominated by that bias. Published FIDs use
    Inception features and >= 10,000 samples; a domain-feature FD is not comparable to them.

    Args:
        real: array (n_real, d), n_real >= 2.
        fake: array (n_fake, d), n_fake >= 2.

    Returns:
        The distance (>= 0).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=(2000, 3))
        >>> round(frechet_distance(x, x), 6)
        0.0
        >>> 11.0 < frechet_distance(x, rng.normal(size=(2000, 3)) + 2.0) < 13.0  # |mu|^2 = 12
        True
    """
    r = _features(real, "real", 2)
    f = _features(fake, "fake", 2)
    _same_width(r, f, "real", "fake")
    mu_r, mu_f = r.mean(axis=0), f.mean(axis=0)
    s_r = np.atleast_2d(np.cov(r, rowvar=False))
    s_f = np.atleast_2d(np.cov(f, rowvar=False))
    diff = mu_r - mu_f

    covmean = _sqrtm_product(s_r, s_f)
    value = float(diff @ diff + np.trace(s_r) + np.trace(s_f) - 2.0 * np.trace(covmean))
    return max(value, 0.0)


def _sqrtm_product(s_r: np.ndarray, s_f: np.ndarray) -> np.ndarray:
    """Real part of sqrtm(s_r @ s_f), regularizing a singular product."""
    scale = max(float(np.abs(np.diag(s_r)).max()), float(np.abs(np.diag(s_f)).max()), 1e-30)

    def attempt(eps: float) -> tuple[np.ndarray, float]:
        a = s_r + eps * np.eye(len(s_r))
        b = s_f + eps * np.eye(len(s_f))
        prod = a @ b
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            root = scipy.linalg.sqrtm(prod)
        if not np.all(np.isfinite(root)):
            return root, np.inf
        norm = np.linalg.norm(prod)
        err = np.linalg.norm(root @ root - prod) / norm if norm > 0 else 0.0
        return root, float(err)

    root, err = attempt(0.0)
    eps = 1e-6 * scale
    while err > 1e-3 and eps <= 1e-1 * scale:
        root, err = attempt(eps)
        eps *= 10.0
    if not np.all(np.isfinite(root)):
        raise DataError(
            "Expected covariances whose product has a matrix square root. Received: covariances "
            "for which sqrtm stays non-finite even with eps * I added (degenerate features?)."
        )
    if np.iscomplexobj(root):
        imag = float(np.abs(np.diagonal(root).imag).max())
        if imag > 1e-3 * max(1.0, float(np.abs(np.diagonal(root).real).max())):
            raise DataError(
                "Expected a (numerically) real matrix square root of the covariance product. "
                f"Received: an imaginary component of {imag:.3g} on its diagonal."
            )
        root = root.real
    return root


# ---------------------------------------------------------------------- kernel distance
def kernel_distance(
    real: Any,
    fake: Any,
    *,
    subset_size: int = 1000,
    n_subsets: int = 50,
    degree: int = 3,
    seed: int = 0,
) -> tuple[float, float]:
    """Kernel Inception Distance in a given feature space: unbiased MMD² with a cubic kernel.

    ``k(x, y) = (x . y / d + 1) ** degree``. For each of ``n_subsets`` random subsets of
    ``subset_size`` rows from each set (without replacement inside a subset; subsets may
    overlap), the unbiased MMD² estimate is computed; the mean and std over subsets are
    returned (as in clean-fid / torch-fidelity, whose numbers it matches with the same features).

    Caveats: unbiased, so unlike the Fréchet distance it can be compared across sample counts and
    can be slightly negative when the sets match. ``subset_size`` is clipped to
    ``min(len(real), len(fake))``; small subsets make the std large. Report the std, and a
    real-vs-real baseline in the same feature space.

    Args:
        real: array (n_real, d), n_real >= 2.
        fake: array (n_fake, d), n_fake >= 2.
        subset_size: rows per subset (clipped as above).
        n_subsets: number of subsets.
        degree: polynomial degree of the kernel.
        seed: seed of the subset choice.

    Returns:
        ``(mean, std)`` of the per-subset MMD² estimates; std is NaN when both sets have at most
        ``subset_size`` rows (every subset is then the whole of both sets: one estimate).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> mean, std = kernel_distance(rng.normal(size=(500, 4)), rng.normal(size=(500, 4)),
        ...                             subset_size=200, n_subsets=10)
        >>> abs(mean) < 0.01
        True
    """
    r = _features(real, "real", 2)
    f = _features(fake, "fake", 2)
    _same_width(r, f, "real", "fake")
    subset_size = _positive_int(subset_size, "subset_size", 2)
    n_subsets = _positive_int(n_subsets, "n_subsets", 1)
    degree = _positive_int(degree, "degree", 1)
    m = min(subset_size, len(r), len(f))
    d = r.shape[1]
    rng = np.random.default_rng(seed)
    values = np.empty(n_subsets)
    for i in range(n_subsets):
        x = f[rng.choice(len(f), m, replace=False)]
        y = r[rng.choice(len(r), m, replace=False)]
        a = (x @ x.T / d + 1.0) ** degree + (y @ y.T / d + 1.0) ** degree
        b = (x @ y.T / d + 1.0) ** degree
        values[i] = ((a.sum() - np.trace(a)) / (m - 1) - 2.0 * b.sum() / m) / m
    if m == len(r) == len(f):  # every subset is both whole sets: one estimate, no spread to report
        return float(values[0]), float("nan")
    return float(values.mean()), float(values.std())


# ---------------------------------------------------------------------- precision / recall
def precision_recall_density_coverage(real: Any, fake: Any, *, k: int = 5) -> dict[str, float]:
    """k-NN precision and recall (Kynkäänniemi et al. 2019), density and coverage (Naeem et al. 2020).

    Each sample gets a radius: the distance to its k-th nearest neighbour in its own set.

    * precision: share of fake samples inside at least one real sample's ball (fidelity).
    * recall: share of real samples inside at least one fake sample's ball (diversity; drops
      under mode collapse).
    * density: mean number of real balls containing a fake sample, divided by k (about 1 when
      the sets match; above 1 when fakes crowd dense real regions; robust to real outliers).
    * coverage: share of real samples whose ball contains at least one fake sample.

    Distances are computed in blocks of at most 2^22 values (32 MiB), so 10k x 10k runs in
    bounded memory; the k-NN radii are recomputed exactly.

    Caveats: the radii shrink as the sample count grows, so compare at equal counts (subsample
    with `equal_count_subsample`) and with the same ``k``. Both sets need more than k rows; with
    few samples the balls are wide and precision/recall saturate near 1.

    Args:
        real: array (n_real, d), n_real > k.
        fake: array (n_fake, d), n_fake > k.
        k: neighbour rank defining the radii.

    Returns:
        ``{"precision", "recall", "density", "coverage"}`` as floats.

    Example:
        >>> x = np.random.default_rng(0).normal(size=(200, 2))
        >>> m = precision_recall_density_coverage(x, x.copy(), k=5)
        >>> m["precision"], m["recall"], m["coverage"]
        (1.0, 1.0, 1.0)
    """
    k = _positive_int(k, "k", 1)
    r = _features(real, "real", k + 1)
    f = _features(fake, "fake", k + 1)
    _same_width(r, f, "real", "fake")
    r_radii_sq = _knn_radii(r, k) ** 2
    f_radii_sq = _knn_radii(f, k) ** 2
    r_sq = _sq_norms(r)

    in_real_ball = 0  # fake samples inside some real ball
    real_ball_hits = 0  # (real ball, fake sample) pairs with the fake inside
    covered = np.zeros(len(r), dtype=bool)  # real ball holds some fake
    recalled = np.zeros(len(r), dtype=bool)  # real sample inside some fake ball
    step = _rows_per_block(len(r))
    for start in range(0, len(f), step):
        # block (n_real, step) of squared real->fake distances
        d = _sq_dists(f[start : start + step], r, r_sq).T
        inside = d < r_radii_sq[:, None]
        in_real_ball += int(inside.any(axis=0).sum())
        real_ball_hits += int(inside.sum())
        covered |= inside.any(axis=1)
        recalled |= (d < f_radii_sq[None, start : start + step]).any(axis=1)
    return {
        "precision": in_real_ball / len(f),
        "recall": float(recalled.mean()),
        "density": real_ball_hits / (k * len(f)),
        "coverage": float(covered.mean()),
    }


# ---------------------------------------------------------------------- classifier 2-sample test
def _default_classifier(seed: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        max_iter=200,
        learning_rate=0.1,
        early_stopping=True,
        validation_fraction=0.15,
        n_iter_no_change=10,
        random_state=seed,
    )


def _logistic_classifier(seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=seed))


def c2st_chance_std(n: int, test_size: float = 0.3) -> float:
    """Standard deviation of `c2st_auc` between two sets from the *same* distribution, with
    ``n`` samples per set: the AUC of m held-out rows per class under the null has standard
    error ``sqrt((2m + 1) / (12 m²))`` (Mann–Whitney), m = ``test_size`` × n.

    Example:
        >>> round(c2st_chance_std(20), 2), round(c2st_chance_std(500), 3)
        (0.17, 0.033)
    """
    m = max(1.0, test_size * n)
    return float(math.sqrt((2 * m + 1) / (12 * m * m)))


def c2st_auc(
    real: Any,
    fake: Any,
    *,
    classifier: Any = None,
    test_size: float = 0.3,
    seed: int = 0,
) -> float:
    """Classifier two-sample test: ROC AUC of a real-vs-synthetic classifier on held-out rows.

    The larger set is subsampled (without replacement) to the size of the smaller, the rows are
    labelled real = 1 / fake = 0, split with stratification, the classifier is fitted on the
    training part and scored on the held-out part. 0.5 means the classifier cannot tell the
    sets apart; 1.0 means it always can. Values a little below 0.5 are chance.

    The default classifier is a `HistGradientBoostingClassifier` (fast, non-linear, scale-free,
    with early stopping); ``"logistic"`` gives a standardized logistic regression (sees only
    mean/linear differences). Any scikit-learn classifier is accepted; it is cloned, never
    fitted in place.

    Caveats: the AUC's standard error is about ``sqrt((2m + 1) / (12 m^2))`` for m held-out rows
    per class (0.04 at m = 100); a strong classifier on few rows overfits and reads near 0.5.
    Compare against a real-vs-real baseline at the same counts.

    Args:
        real: array (n_real, d).
        fake: array (n_fake, d).
        classifier: None (gradient boosting), ``"hgb"``, ``"logistic"`` or a scikit-learn
            classifier with ``predict_proba`` or ``decision_function``.
        test_size: held-out fraction in (0, 1) or count of held-out rows.
        seed: seed of the subsampling, the split and the default classifier.

    Returns:
        The held-out ROC AUC.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> auc = c2st_auc(rng.normal(size=(300, 3)), rng.normal(size=(300, 3)) + 3.0)
        >>> auc > 0.95
        True
    """
    from sklearn.base import clone
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    r = _features(real, "real", 4)
    f = _features(fake, "fake", 4)
    _same_width(r, f, "real", "fake")
    if isinstance(test_size, bool) or not (
        (isinstance(test_size, float) and 0.0 < test_size < 1.0)
        or (isinstance(test_size, (int, np.integer)) and test_size >= 2)
    ):
        raise DataError(
            "Expected `test_size` as a fraction in (0, 1) or a row count >= 2. "
            f"Received: test_size={test_size!r}."
        )
    rng = np.random.default_rng(seed)
    n = min(len(r), len(f))
    r = equal_count_subsample(r, n, int(rng.integers(2**31)))
    f = equal_count_subsample(f, n, int(rng.integers(2**31)))
    x = np.concatenate([r, f])
    y = np.concatenate([np.ones(n, np.int64), np.zeros(n, np.int64)])
    try:
        x_tr, x_te, y_tr, y_te = train_test_split(
            x, y, test_size=test_size, stratify=y, random_state=seed
        )
    except ValueError as exc:
        raise DataError(
            f"Expected enough rows for a stratified split with test_size={test_size!r}. "
            f"Received: {n} rows per set ({exc})."
        ) from None

    if classifier is None or classifier == "hgb":
        model = _default_classifier(seed)
    elif classifier == "logistic":
        model = _logistic_classifier(seed)
    elif isinstance(classifier, str):
        raise DataError(
            "Expected classifier=None, 'hgb', 'logistic' or a scikit-learn classifier. "
            f"Received: classifier={classifier!r}."
        )
    else:
        model = clone(classifier)
    model.fit(x_tr, y_tr)
    if hasattr(model, "predict_proba"):
        proba = model.predict_proba(x_te)
        scores = proba[:, list(model.classes_).index(1)]
    elif hasattr(model, "decision_function"):
        scores = model.decision_function(x_te)
    else:
        raise DataError(
            "Expected a classifier with predict_proba or decision_function. "
            f"Received: {type(classifier).__name__}."
        )
    return float(roc_auc_score(y_te, scores))


# ---------------------------------------------------------------------- labels
def label_fidelity(
    predicted: Any, labels: Any, num_classes: int | None = None
) -> tuple[float, np.ndarray]:
    """How often a classifier trained on real data agrees with the labels the GAN was asked for.

    Args:
        predicted: predicted classes (n,), or scores / probabilities (n, num_classes) whose
            argmax is taken.
        labels: the conditioning labels (n,).
        num_classes: number of classes (default: 1 + the largest label or prediction; pass it
            so absent classes still get a NaN entry).

    Returns:
        ``(overall, per_class)``: the share of samples whose prediction equals the label, and
        for each class c the share of samples labelled c predicted as c (NaN where no sample
        is labelled c).

    Caveats: the number is bounded by the classifier's own accuracy on real data; report that
    accuracy beside it. Per-class shares from few samples are noisy.

    Example:
        >>> overall, per_class = label_fidelity([0, 1, 1, 0], [0, 1, 0, 0], num_classes=3)
        >>> overall, per_class.tolist()
        (0.75, [0.6666666666666666, 1.0, nan])
    """
    pred = np.asarray(predicted)
    if pred.ndim == 2:
        pred = pred.argmax(axis=1)
    pred = _labels(pred, "predicted")
    lab = _labels(labels, "labels")
    if len(pred) != len(lab):
        raise DataError(
            "Expected `predicted` and `labels` of the same length. "
            f"Received: {len(pred)} and {len(lab)}."
        )
    if len(lab) == 0:
        raise DataError("Expected at least one sample. Received: empty `labels`.")
    top = int(max(pred.max(), lab.max())) + 1
    if num_classes is None:
        num_classes = top
    num_classes = _positive_int(num_classes, "num_classes")
    if top > num_classes:
        raise DataError(
            f"Expected labels and predictions below num_classes={num_classes}. "
            f"Received: a value of {top - 1}."
        )
    correct = pred == lab
    totals = np.bincount(lab, minlength=num_classes)
    hits = np.bincount(lab[correct], minlength=num_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = np.where(totals > 0, hits / np.maximum(totals, 1), np.nan)
    return float(correct.mean()), per_class


def class_coverage(labels: Any, requested: Any, *, num_classes: int) -> dict[str, Any]:
    """Whether the generated labels cover the classes, in the proportions, that were requested.

    Args:
        labels: class of each generated sample (n,), n may be 0.
        requested: counts asked for per class, length ``num_classes``, non-negative, sum > 0.
        num_classes: number of classes.

    Returns:
        ``{"present": [classes with >= 1 sample], "missing": [requested classes with none],
        "coverage": share of requested classes (requested > 0) that are present,
        "max_share_error": max over classes of |observed share - requested share|,
        "observed_counts": int64 array (num_classes,)}``. With no samples at all every observed
        share counts as 0.

    Example:
        >>> out = class_coverage([0, 0, 2], [2, 1, 1], num_classes=3)
        >>> out["missing"], out["coverage"], round(out["max_share_error"], 3)
        ([1], 0.6666666666666666, 0.25)
    """
    num_classes = _positive_int(num_classes, "num_classes")
    lab = _labels(labels, "labels")
    req = np.asarray(requested, dtype=np.float64)
    if req.shape != (num_classes,):
        raise DataError(
            f"Expected `requested` counts of shape ({num_classes},). Received: shape={req.shape}."
        )
    if not np.isfinite(req).all() or (req < 0).any() or req.sum() <= 0:
        raise DataError(
            "Expected non-negative finite `requested` counts with a positive sum. "
            f"Received: {req.tolist()}."
        )
    if lab.size and lab.max() >= num_classes:
        raise DataError(
            f"Expected labels below num_classes={num_classes}. Received: {int(lab.max())}."
        )
    observed = np.bincount(lab, minlength=num_classes).astype(np.int64)
    obs_share = observed / observed.sum() if observed.sum() else np.zeros(num_classes)
    req_share = req / req.sum()
    asked = req > 0
    return {
        "present": np.flatnonzero(observed > 0).tolist(),
        "missing": np.flatnonzero(asked & (observed == 0)).tolist(),
        "coverage": float((observed[asked] > 0).mean()),
        "max_share_error": float(np.abs(obs_share - req_share).max()),
        "observed_counts": observed,
    }


# ---------------------------------------------------------------------- memorization
def memorization(
    train: Any,
    synthetic: Any,
    holdout: Any,
    *,
    near_copy_quantile: float = 0.01,
    n_bootstrap: int = 200,
    seed: int = 0,
) -> dict[str, Any]:
    """Does the generator copy its training rows? Distance to closest record (DCR) against a holdout.

    The DCR to ``train`` of each synthetic row is compared with the DCR to ``train`` of real rows
    the generator never saw (``holdout``). A faithful generator that does not memorize puts its
    samples as close to the training rows as fresh real data is: ``dcr_ratio`` near 1 and about
    ``near_copy_quantile`` of them below the near-copy threshold.

    Fairness across set sizes: the DCR is a per-sample distance to the *same* reference set
    (``train``), so its distribution does not depend on how many synthetic or holdout rows there
    are; the medians and the quantile are comparable when the sizes differ, only their noise
    differs (see ``dcr_ratio_ci``). The holdout must not overlap ``train`` nor have been used to
    train the generator, and it needs at least ``1 / near_copy_quantile`` rows for the threshold
    to be estimated. Use a meaningful feature space (standardized columns, embeddings).

    Args:
        train: rows the generator was trained on (n_train, d).
        synthetic: generated rows (n_syn, d).
        holdout: real rows unseen by the generator (n_hold, d).
        near_copy_quantile: quantile of the holdout DCR used as the near-copy threshold.
        n_bootstrap: bootstrap resamples for ``dcr_ratio_ci`` (0 skips it: (nan, nan)).
        seed: seed of the bootstrap.

    Returns:
        ``{"dcr_synthetic_median", "dcr_holdout_median",
        "dcr_ratio"`` (synthetic median / holdout median; < 1 means closer to the training rows
        than unseen real data is; inf if only the holdout median is 0, nan if both are),
        ``"dcr_ratio_ci"`` (95 % bootstrap interval of the ratio),
        ``"near_copy_threshold"`` (the ``near_copy_quantile`` quantile of the holdout DCR: a real
        unseen row is that close to a training row only that often),
        ``"near_copy_share"`` (share of synthetic rows with DCR <= the threshold),
        ``"near_copy_mask"`` (bool array over ``synthetic``), ``"dcr_synthetic"``,
        ``"dcr_holdout"`` (the per-row DCRs)}``.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> train = rng.normal(size=(300, 3))
        >>> m = memorization(train, train[:100].copy(), rng.normal(size=(200, 3)))
        >>> m["near_copy_share"], m["dcr_ratio"]
        (1.0, 0.0)
    """
    tr = _features(train, "train", 1)
    syn = _features(synthetic, "synthetic", 1)
    hold = _features(holdout, "holdout", 1)
    _same_width(tr, syn, "train", "synthetic")
    _same_width(tr, hold, "train", "holdout")
    if isinstance(near_copy_quantile, bool) or not (0.0 <= float(near_copy_quantile) <= 1.0):
        raise DataError(
            "Expected `near_copy_quantile` in [0, 1]. "
            f"Received: near_copy_quantile={near_copy_quantile!r}."
        )
    n_bootstrap = _positive_int(n_bootstrap, "n_bootstrap", 0)

    dcr_syn = distance_to_closest_record(syn, tr)
    dcr_hold = distance_to_closest_record(hold, tr)
    med_syn = float(np.median(dcr_syn))
    med_hold = float(np.median(dcr_hold))
    threshold = float(np.quantile(dcr_hold, float(near_copy_quantile)))
    mask = dcr_syn <= threshold

    if n_bootstrap:
        rng = np.random.default_rng(seed)
        ratios = np.empty(n_bootstrap)
        for i in range(n_bootstrap):
            s = np.median(dcr_syn[rng.integers(0, len(dcr_syn), len(dcr_syn))])
            h = np.median(dcr_hold[rng.integers(0, len(dcr_hold), len(dcr_hold))])
            ratios[i] = _ratio(float(s), float(h))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            ci = tuple(float(v) for v in np.nanquantile(ratios, [0.025, 0.975]))
    else:
        ci = (float("nan"), float("nan"))
    return {
        "dcr_synthetic_median": med_syn,
        "dcr_holdout_median": med_hold,
        "dcr_ratio": _ratio(med_syn, med_hold),
        "dcr_ratio_ci": ci,
        "near_copy_threshold": threshold,
        "near_copy_share": float(mask.mean()),
        "near_copy_mask": mask,
        "dcr_synthetic": dcr_syn,
        "dcr_holdout": dcr_hold,
    }


def _ratio(num: float, den: float) -> float:
    if den > 0:
        return num / den
    return float("inf") if num > 0 else float("nan")

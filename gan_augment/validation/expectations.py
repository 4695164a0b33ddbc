"""Great Expectations suites derived from real data, validated on synthetic data.

`derive_suite` inspects a REAL pandas DataFrame and writes down what any sample of the same
distribution should satisfy, as a plain JSON-serializable `SuiteSpec`. `validate_frame` runs that
spec with Great Expectations (GX Core 1.x) on another frame (synthetic rows, or a real holdout)
and returns a JSON-serializable `GXResult`. Derive once, validate many.

It works for per-sample image feature tables (``mean_intensity``, ``contrast``, ``pc1``…, ``label``)
and for arbitrary tables (float, int, pandas ``str``/``string``/``category``/object-of-str, bool
columns, with missing values).

What the suite checks, per real column (bounds are in `derive_suite`'s docstring):

* the frame has rows; the column set matches exactly; the column exists;
* the dtype family is compatible (float, int, bool, string, category);
* the null rate is not much higher than in the real data;
* numeric columns: values inside the real range plus a margin (mostly), mean and standard
  deviation inside bands, KL divergence of a 10-bin histogram below a threshold;
* categorical columns (categorical and boolean ones, integer columns with at most 20 levels,
  and those listed in ``categorical``): values in the real set (mostly) and KL divergence of
  the value frequencies; identifiers and datetimes: type and nulls only.

What a column is follows `gan_augment.data.columns.column_type`, as for the GAN's encoder and
the gates' feature matrix.

The bounds are calibrated so that an independent sample of the same distribution with at least
`N_REF` (200) rows passes with high probability (each bound is about four standard errors of
the two-sample difference wide, the KL thresholds are the 99.9 % quantile of their chi-square
approximation), while a column shifted by 2 sigma, a constant column, a new category, a much
higher null rate, a missing column or swapped columns fail. ``tolerance`` multiplies every slack.

Great Expectations is imported inside the functions (importing it takes about 3 s).

Example:
    >>> spec = derive_suite(real_train_frame)                      # doctest: +SKIP
    >>> result = validate_frame(synthetic_frame, spec)             # doctest: +SKIP
    >>> result.summary()                                           # doctest: +SKIP
    'GX: 41/43 expectations passed (failed: ExpectColumnMeanToBeBetween[contrast], ...)'
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import threading
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from gan_augment.data.columns import column_type, value_family
from gan_augment.errors import DataError

if TYPE_CHECKING:  # pragma: no cover
    from great_expectations.core import ExpectationSuite

__all__ = [
    "GXResult",
    "SuiteSpec",
    "derive_suite",
    "to_gx_suite",
    "validate_frame",
]

# ---------------------------------------------------------------------- calibration constants
#: Smallest validated frame the default bounds are calibrated for: every two-sample standard
#: error below is computed as if the other frame had ``N_REF`` rows (more rows only help).
N_REF = 200
#: Width of the mean / stdev / null-rate bands in two-sample standard errors.
Z = 4.0
#: Floors of the bands (fractions), applied before ``tolerance``.
MEAN_FLOOR_SIGMA = 0.25
STDEV_FLOOR = 0.10
NULL_FLOOR = 0.01
#: Margin around the real [min, max], as a fraction of the range, and the share of values that
#: may fall outside it.
RANGE_MARGIN = 0.05
OUT_OF_RANGE = 0.01
#: ...or 5 values per real sample size, whichever is larger (a new sample of the same
#: distribution exceeds the real min/max with probability about 2 / n_real per value).
OUT_OF_RANGE_COUNT = 5.0
#: Share of values allowed outside the real value set of a categorical column (plus twice the
#: Good–Turing estimate of unseen mass, singletons / n).
OUT_OF_SET = 0.01
#: Laplace pseudo-count added to every histogram bin (and tail) of the KL partitions.
LAPLACE = 0.5
#: KL thresholds: max(KL_FLOOR, chi2_{k-1}(KL_QUANTILE) * (1/n_real + 1/N_REF) / 2).
KL_FLOOR = 0.1
KL_QUANTILE = 0.999
#: Integer columns with at most this many distinct values also get the value-set and frequency
#: checks of a categorical column (what a column is comes from `column_type`: identifiers, e.g.
#: strings with more than 50 distinct values that are most of the rows, get no value-set check).
MAX_INT_CATEGORIES = 20
#: Cap on the kurtosis used to widen the stdev band of heavy-tailed columns.
KURTOSIS_CAP = 50.0

# Type families accepted for a real column of each kind (GX type names, checked in GX 1.24).
# `ExpectColumnValuesToBeInTypeList` does not recognise pandas 3 string dtypes ("str",
# "string") nor `category` in any spelling, so those two families use
# `ExpectColumnValuesToBeOfType` with "str" (matches str / string / string[pyarrow]) and
# "CategoricalDtypeType" (matches any categorical).
_FLOAT_TYPES = ["float", "float16", "float32", "float64", "Float32Dtype", "Float64Dtype"]
_INT_TYPES = [
    "int", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "Int8Dtype", "Int16Dtype", "Int32Dtype", "Int64Dtype",
    "UInt8Dtype", "UInt16Dtype", "UInt32Dtype", "UInt64Dtype",
]  # fmt: skip
_BOOL_TYPES = ["bool", "BooleanDtype"]


# ====================================================================== data classes
@dataclasses.dataclass
class SuiteSpec:
    """A GX expectation suite as plain data (JSON-serializable), derived from real data.

    Attributes:
        name: suite name.
        expectations: one dict per expectation: ``{"type": GX class name, "kwargs": {...},
            "why": "a short sentence"}``; ``kwargs`` are passed to the GX class as they are.
        meta: how the suite was derived (rows, tolerance, bins, kind and role of every column).

    Example:
        >>> spec = SuiteSpec("demo", [{"type": "ExpectTableRowCountToBeBetween",
        ...                            "kwargs": {"min_value": 1}, "why": "has rows"}])
        >>> SuiteSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
        True
    """

    name: str
    expectations: list[dict[str, Any]]
    meta: dict[str, Any] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "expectations": self.expectations, "meta": self.meta}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SuiteSpec:
        return cls(
            name=str(data["name"]),
            expectations=[dict(e) for e in data["expectations"]],
            meta=dict(data.get("meta", {})),
        )

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), allow_nan=False, **kwargs)

    def columns(self) -> list[str]:
        """The real columns, in order."""
        return list(self.meta.get("columns", {}))

    def for_column(self, column: str) -> list[dict[str, Any]]:
        """The expectations about ``column``."""
        return [e for e in self.expectations if e["kwargs"].get("column") == column]


@dataclasses.dataclass
class GXResult:
    """The outcome of `validate_frame`, strictly JSON-serializable.

    Attributes:
        success: every expectation passed.
        statistics: ``evaluated_expectations``, ``successful_expectations``,
            ``unsuccessful_expectations``, ``success_percent``.
        results: one dict per expectation: ``type`` (GX class name), ``column`` (or None),
            ``kwargs`` (a summary: long value lists and partitions shortened), ``success``,
            ``observed_value`` (GX's, or for per-value expectations a dict with
            ``unexpected_percent``, ``unexpected_count`` and a few ``partial_unexpected`` values),
            ``why``, and ``error`` (the exception message when GX could not evaluate it, e.g. a
            missing column; such an expectation counts as failed).
        suite_name: the spec's name.
        n_rows: rows of the validated frame.
        seconds: wall time of the validation.

    Example:
        >>> r = GXResult(True, {"evaluated_expectations": 0}, [])
        >>> GXResult.from_dict(json.loads(json.dumps(r.to_dict()))) == r
        True
    """

    success: bool
    statistics: dict[str, Any]
    results: list[dict[str, Any]]
    suite_name: str = ""
    n_rows: int = 0
    seconds: float = 0.0

    def failed(self) -> list[dict[str, Any]]:
        """The entries of the expectations that failed."""
        return [r for r in self.results if not r["success"]]

    def failed_columns(self) -> list[str]:
        """Columns named by a failed expectation (in order, without repeats)."""
        return list(dict.fromkeys(r["column"] for r in self.failed() if r["column"] is not None))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GXResult:
        return cls(
            success=bool(data["success"]),
            statistics=dict(data["statistics"]),
            results=[dict(r) for r in data["results"]],
            suite_name=str(data.get("suite_name", "")),
            n_rows=int(data.get("n_rows", 0)),
            seconds=float(data.get("seconds", 0.0)),
        )

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), allow_nan=False, **kwargs)

    def summary(self, max_failed: int = 8) -> str:
        """One line, e.g. ``"GX: 41/43 expectations passed (failed: ExpectColumnMeanToBeBetween[a], …)"``."""
        n = len(self.results)
        ok = sum(1 for r in self.results if r["success"])
        line = f"GX: {ok}/{n} expectations passed"
        failed = self.failed()
        if failed:
            names = [
                r["type"] + (f"[{r['column']}]" if r["column"] is not None else "")
                for r in failed[:max_failed]
            ]
            more = f", +{len(failed) - max_failed} more" if len(failed) > max_failed else ""
            line += f" (failed: {', '.join(names)}{more})"
        return line


# ====================================================================== derive
def derive_suite(
    real: pd.DataFrame,
    *,
    name: str = "real_data",
    categorical: Sequence[str] | None = None,
    tolerance: float = 1.0,
    bins: int = 10,
    kl_threshold: float | None = None,
    skip_distribution: Sequence[str] = (),
    n_compare: int | None = None,
) -> SuiteSpec:
    """Derive an expectation suite from a real DataFrame.

    Args:
        real: the real data (features, and the label column if it should be checked).
        name: suite name.
        categorical: columns to treat as categorical whatever their dtype. Bool, category and
            string columns with at most 50 distinct values, and int columns with at most 20, are
            categorical anyway (low-cardinality int columns also keep their mean/stdev checks).
        tolerance: multiplies every slack (margins, bands, allowed shares, KL thresholds);
            2.0 is twice as lenient, 0.5 twice as strict.
        bins: histogram bins (equal-frequency on the real data) of the numeric KL divergences.
        kl_threshold: fixed KL threshold for all KL expectations (not scaled by ``tolerance``);
            ``None`` derives one per column (below).
        skip_distribution: columns checked only for existence, type, nulls and range / value set,
            not for mean / stdev / KL: e.g. the label of a class-balanced synthetic set, whose
            class frequencies differ from the real ones on purpose.
        n_compare: the number of rows of the frames this suite will validate, when known
            (e.g. the synthetic set's size): the bounds then account for its sampling noise.
            Default ``N_REF`` (200); fewer rows widen the bounds, more never tighten them.

    Returns:
        A `SuiteSpec`. With n = non-null real values of the column, p its null rate, mu / sigma
        its mean / standard deviation (ddof=1), kappa its kurtosis (capped at 50),
        se2 = 1/n + 1/m (two-sample variance factor; m = min(n_compare, N_REF), N_REF = 200) and t = ``tolerance``:

        * ``ExpectTableRowCountToBeBetween(min_value=1)``, ``ExpectTableColumnsToMatchSet``
          (exact), and per column ``ExpectColumnToExist``;
        * type: ``ExpectColumnValuesToBeInTypeList`` (float: float16/32/64, Float32/64; int: any
          width, signed or unsigned, nullable or not; bool: bool, boolean) or
          ``ExpectColumnValuesToBeOfType`` (string: ``"str"``, matching str / string /
          string[pyarrow]; category: ``"CategoricalDtypeType"``);
        * ``ExpectColumnValuesToNotBeNull(mostly = 1 - p - slack)``,
          slack = t * (0.01 + 4 * sqrt(p̃(1-p̃) * se2)), p̃ = (nulls + 2) / (rows + 4) (the
          "plus four" estimate: no nulls in a sample is not a rate of 0): a column with 5 % nulls
          in 600 real rows accepts up to about 13 % nulls, one with none in 600 about 3 %, one
          with none in 112 about 8 %;
        * numeric: ``ExpectColumnValuesToBeBetween(min - m_lo, max + m_hi, mostly)`` with
          m_lo = t * max(0.05 (max - min), q01 - min), m_hi = t * max(0.05 (max - min), max - q99)
          (heavy tails get wider margins) and mostly = 1 - t * max(0.01, 5/n) (a fresh sample
          exceeds the real min / max with probability ~2/n per value, so small real frames
          allow more); ``ExpectColumnMeanToBeBetween(mu -+ h)`` with
          h = t * max(0.25, 4 sqrt(se2)) * sigma (0.33 sigma for 600 real rows: four standard
          errors of the difference of two means, with a 200-row other frame);
          ``ExpectColumnStdevToBeBetween(sigma * (1 - a), sigma * (1 + a))`` with
          a = t * max(0.1, 4 sqrt((kappa' - 1)/4 * se2)), kappa' = kappa inflated by 1.5 above 3
          (sample kurtosis runs low on heavy tails): 0.23 for a normal column with 600 rows,
          about 0.45 for a lognormal one; the lower factor stays >= 0.1 so a constant column
          always fails; ``ExpectColumnKLDivergenceToBeLessThan`` on ``bins`` equal-frequency bins
          of the real values (outer edges min - m_lo, max + m_hi), Laplace-smoothed weights
          (+0.5 per bin and per tail, so no cell is 0 and KL stays finite), threshold
          t * max(0.1, chi2_{k-1}(0.999) * se2 / 2) with k = bins + 2 cells (2 * n_eff * KL is
          about chi-square with k - 1 degrees of freedom for two samples of one distribution);
        * categorical: ``ExpectColumnValuesToBeInSet(real values, mostly = 1 - t (0.01 + 2 n1/n))``
          (n1 = values seen once: twice the Good–Turing estimate of the unseen mass) and
          ``ExpectColumnKLDivergenceToBeLessThan`` on the value frequencies with
          ``tail_weight_holdout`` = 0.5 / (n + 0.5) for unseen values, threshold as above with
          k = values + 1. For an automatically categorical int column (a count, a label) the
          value set is every integer of the widened real range [min - floor(m_lo),
          max + floor(m_hi)] with the numeric ``mostly`` (unseen tail counts are natural;
          labels 0..k-1 stay 0..k-1), and mean / stdev are checked too.

        Simulated (2000 draws each), an independent sample of the real distribution fails a
        single check with probability <= 0.3 % (600 real / 600 other rows) and <= 0.7 %
        (600 / 200) for normal, lognormal(sigma=0.6), exponential, Student-t(5) and Poisson
        columns; KL checks <= 0.2 %. Exception: the stdev band of a very heavy-tailed column
        (lognormal sigma=1, kurtosis ~100) fails 1-2 % of the time; raise ``tolerance`` there.

    Raises:
        DataError: if ``real`` is not a non-empty DataFrame, or an argument is out of range.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> real = pd.DataFrame({"x": rng.normal(size=500), "label": rng.integers(0, 3, 500)})
        >>> spec = derive_suite(real)
        >>> sorted({e["type"] for e in spec.for_column("label")})[:2]
        ['ExpectColumnKLDivergenceToBeLessThan', 'ExpectColumnMeanToBeBetween']
    """
    if not isinstance(real, pd.DataFrame):
        raise DataError(
            f"Expected the real data as a pandas DataFrame. Received: {type(real).__name__}."
        )
    if len(real) == 0 or real.shape[1] == 0:
        raise DataError(f"Expected a non-empty real DataFrame. Received: shape={real.shape}.")
    if not (isinstance(tolerance, (int, float)) and math.isfinite(tolerance) and tolerance > 0):
        raise DataError(f"Expected tolerance > 0. Received: tolerance={tolerance!r}.")
    if not (isinstance(bins, (int, np.integer)) and bins >= 2):
        raise DataError(f"Expected bins >= 2. Received: bins={bins!r}.")
    if kl_threshold is not None and not (kl_threshold >= 0):
        raise DataError(
            f"Expected kl_threshold >= 0 or None. Received: kl_threshold={kl_threshold!r}."
        )
    real = _str_columns(real)
    for arg, cols in (("categorical", categorical or ()), ("skip_distribution", skip_distribution)):
        unknown = [c for c in cols if str(c) not in real.columns]
        if unknown:
            raise DataError(
                f"Expected {arg} to name columns of the real frame {list(real.columns)}. "
                f"Received unknown columns: {unknown}."
            )
    forced = {str(c) for c in categorical or ()}
    no_dist = {str(c) for c in skip_distribution}
    t = float(tolerance)
    exps: list[dict[str, Any]] = []

    def add(etype: str, why: str, /, **kwargs: Any) -> None:
        exps.append({"type": etype, "kwargs": _jsonable(kwargs), "why": why})

    add("ExpectTableRowCountToBeBetween", "The frame has at least one row.", min_value=1)
    add(
        "ExpectTableColumnsToMatchSet",
        "The frame has exactly the real columns (none missing, none extra).",
        column_set=list(real.columns),
        exact_match=True,
    )
    if n_compare is not None and int(n_compare) < 1:
        raise DataError(f"Expected n_compare >= 1. Received: n_compare={n_compare!r}.")
    m_compare = N_REF if n_compare is None else min(int(n_compare), N_REF)
    columns_meta: dict[str, dict[str, Any]] = {}
    for col in real.columns:
        s = real[col]
        kind = value_family(s)
        nonnull = s.dropna()
        n = len(nonnull)
        p_null = 1.0 - n / len(s)
        n_distinct = int(nonnull.nunique()) if n else 0
        role = _column_role(s, kind, n_distinct, col in forced)
        columns_meta[col] = {
            "kind": kind,
            "role": role,
            "null_rate": p_null,
            "n_distinct": n_distinct,
        }

        add("ExpectColumnToExist", f"Column '{col}' is present.", column=col)
        _add_type_check(add, col, kind)
        if n == 0:
            continue  # an all-null real column: nothing more to expect
        se2 = 1.0 / n + 1.0 / m_compare

        # the null rate's uncertainty from the "plus four" estimate (x + 2) / (n + 4): a real
        # sample without nulls does not prove a rate of 0 (penguins: no missing sex among the
        # ~110 rows of the filled classes' mix, 4 % among Gentoo's)
        p_band = (len(s) - n + 2.0) / (len(s) + 4.0)
        slack = t * (NULL_FLOOR + Z * math.sqrt(p_band * (1 - p_band) * se2))
        mostly = _clip(1.0 - p_null - slack, 0.0, 1.0)
        if mostly > 0:
            add(
                "ExpectColumnValuesToNotBeNull",
                f"At most {100 * (1 - mostly):.1f}% nulls (real: {100 * p_null:.1f}%).",
                column=col,
                mostly=round(mostly, 6),
            )

        dist = col not in no_dist
        st = _numeric_summary(nonnull, t) if role in ("numeric", "numeric+categorical") else None
        if st is not None:
            _add_numeric(add, col, st, t=t, bins=int(bins), kl_threshold=kl_threshold, se2=se2,
                         with_range=role == "numeric", with_kl=role == "numeric",
                         with_moments=dist)  # fmt: skip
        if role in ("categorical", "numeric+categorical"):
            _add_categorical(add, col, nonnull, t=t, kl_threshold=kl_threshold, se2=se2,
                             with_kl=dist, int_range=st)  # fmt: skip

    meta = {
        "n_rows": len(real),
        "tolerance": t,
        "bins": int(bins),
        "kl_threshold": kl_threshold,
        "n_ref": m_compare,
        "columns": columns_meta,
    }
    return SuiteSpec(name=str(name), expectations=exps, meta=_jsonable(meta))


def _column_role(s: pd.Series, kind: str, n_distinct: int, forced: bool) -> str:
    """Which checks a real column gets: "numeric" (range, moments, binned KL), "categorical"
    (value set, frequencies), "numeric+categorical" (moments, and the value set and frequencies
    of a number with few levels), "text" (an identifier: type and nulls only) or "other" (type
    and nulls only: dates, objects GX cannot compare).

    What the column is comes from `column_type`; how to check it from how it is stored: a 0/1
    number has a mean to check, an integer column with at most ``MAX_INT_CATEGORIES`` levels a
    value set.
    """
    if forced:
        return "categorical"
    if kind == "other":
        return "other"
    ctype = column_type(s)
    if ctype == "identifier":
        return "text"
    if ctype == "datetime":
        return "other"
    if ctype == "boolean":
        return "numeric+categorical" if kind in ("int", "float") else "categorical"
    if ctype == "categorical":
        return "categorical"
    if kind == "int" and n_distinct <= MAX_INT_CATEGORIES:
        return "numeric+categorical"
    return "numeric"


def _add_type_check(add: Any, col: str, kind: str) -> None:
    if kind == "float":
        add("ExpectColumnValuesToBeInTypeList", "A float column, as in the real data.",
            column=col, type_list=_FLOAT_TYPES)  # fmt: skip
    elif kind == "int":
        add("ExpectColumnValuesToBeInTypeList", "An integer column, as in the real data.",
            column=col, type_list=_INT_TYPES)  # fmt: skip
    elif kind == "bool":
        add("ExpectColumnValuesToBeInTypeList", "A boolean column, as in the real data.",
            column=col, type_list=_BOOL_TYPES)  # fmt: skip
    elif kind == "string":
        add("ExpectColumnValuesToBeOfType", "A string column, as in the real data.",
            column=col, type_="str")  # fmt: skip
    elif kind == "category":
        add("ExpectColumnValuesToBeOfType", "A categorical column, as in the real data.",
            column=col, type_="CategoricalDtypeType")  # fmt: skip


def _numeric_summary(nonnull: pd.Series, t: float) -> dict[str, Any] | None:
    """Range, margins and moments of the finite values of a numeric column (None if none)."""
    x = pd.to_numeric(nonnull, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return None
    lo, hi = float(x.min()), float(x.max())
    q01, q99 = (float(q) for q in np.quantile(x, [0.01, 0.99]))
    mu = float(x.mean())
    sigma = float(x.std(ddof=1)) if len(x) > 1 else 0.0
    eps = 1e-9 * max(1.0, abs(mu), abs(lo), abs(hi))
    width = hi - lo
    # Each side: 5 % of the range, or the gap between the extreme and the 1 % / 99 % quantile
    # when that is larger (heavy tails: a new sample reaches further than the real maximum).
    m_lo = max(t * max(RANGE_MARGIN * width, q01 - lo), eps)
    m_hi = max(t * max(RANGE_MARGIN * width, hi - q99), eps)
    kurt = 3.0
    if sigma > 0 and len(x) > 3:
        kurt = _clip(float(np.mean(((x - mu) / sigma) ** 4)), 1.0, KURTOSIS_CAP)
    return {"x": x, "n": len(x), "lo": lo, "hi": hi, "m_lo": m_lo, "m_hi": m_hi, "mu": mu,
            "sigma": sigma, "kurt": kurt, "eps": eps}  # fmt: skip


def _range_mostly(n: int, t: float) -> float:
    """Share of values that must fall inside the widened real range: 1 - t max(1 %, 5 / n)."""
    return round(_clip(1.0 - t * max(OUT_OF_RANGE, OUT_OF_RANGE_COUNT / n), 0.5, 1.0), 6)


def _add_numeric(
    add: Any, col: str, st: dict[str, Any], *, t: float, bins: int, kl_threshold: float | None,
    se2: float, with_range: bool, with_kl: bool, with_moments: bool,
) -> None:  # fmt: skip
    x, lo, hi, mu, sigma, eps = st["x"], st["lo"], st["hi"], st["mu"], st["sigma"], st["eps"]
    if with_range:
        mostly = _range_mostly(st["n"], t)
        add(
            "ExpectColumnValuesToBeBetween",
            f"At least {100 * mostly:.1f}% of values in the real range [{lo:.4g}, {hi:.4g}] "
            "plus a margin.",
            column=col, min_value=lo - st["m_lo"], max_value=hi + st["m_hi"], mostly=mostly,
        )  # fmt: skip
    if not with_moments:
        return
    half = max(t * max(MEAN_FLOOR_SIGMA, Z * math.sqrt(se2)) * sigma, eps)
    add(
        "ExpectColumnMeanToBeBetween",
        f"Mean within {half / sigma if sigma else 0:.2f} sigma of the real mean {mu:.4g}.",
        column=col, min_value=mu - half, max_value=mu + half,
    )  # fmt: skip
    if sigma > 0:
        kurt = st["kurt"]
        kurt_eff = kurt if kurt <= 3.0 else 3.0 + 1.5 * (kurt - 3.0)  # sample kurtosis runs low
        a = t * max(STDEV_FLOOR, Z * math.sqrt((kurt_eff - 1.0) / 4.0 * se2))
        lo_f = max(1.0 - a, 0.1)
        add(
            "ExpectColumnStdevToBeBetween",
            f"Standard deviation within [{lo_f:.2f}, {1 + a:.2f}] x the real {sigma:.4g}.",
            column=col, min_value=sigma * lo_f, max_value=sigma * (1.0 + a),
        )  # fmt: skip
    else:
        add(
            "ExpectColumnStdevToBeBetween",
            "Constant in the real data, so (nearly) constant here.",
            column=col, min_value=0.0, max_value=eps,
        )  # fmt: skip
    if not with_kl:
        return
    edges = np.unique(np.quantile(x, np.linspace(0.0, 1.0, bins + 1)))
    if len(edges) < 3:
        return  # (nearly) constant: the stdev band already covers it
    edges[0], edges[-1] = lo - st["m_lo"], hi + st["m_hi"]
    counts, _ = np.histogram(x, edges)
    k = len(counts) + 2  # bins and two tails
    total = len(x) + LAPLACE * k
    weights = (counts + LAPLACE) / total
    tails = [LAPLACE / total, LAPLACE / total]
    threshold = kl_threshold if kl_threshold is not None else _kl_threshold(k, se2, t)
    add(
        "ExpectColumnKLDivergenceToBeLessThan",
        f"Histogram ({len(counts)} equal-frequency bins of the real data) close to the real one: "
        f"KL < {threshold:.3g}.",
        column=col,
        partition_object={
            "bins": edges.tolist(),
            "weights": weights.tolist(),
            "tail_weights": tails,
        },
        threshold=threshold,
    )


def _add_categorical(
    add: Any, col: str, nonnull: pd.Series, *, t: float, kl_threshold: float | None, se2: float,
    with_kl: bool, int_range: dict[str, Any] | None = None,
) -> None:  # fmt: skip
    counts = nonnull.value_counts(sort=False)
    counts = counts[counts > 0]
    values = [_py(v) for v in counts.index]
    order = sorted(range(len(values)), key=lambda i: (str(type(values[i])), str(values[i])))
    values = [values[i] for i in order]
    freq = counts.to_numpy(dtype=np.float64)[order]
    n = float(freq.sum())
    value_set: list[Any] = values
    if int_range is not None:
        # A low-cardinality int column (a count, a label): every integer of the widened real
        # range, since unseen counts in the tail are natural; labels 0..k-1 stay 0..k-1.
        a = math.floor(int_range["lo"] - math.floor(int_range["m_lo"]))
        b = math.ceil(int_range["hi"] + math.floor(int_range["m_hi"]))
        if b - a < 200:
            value_set = list(range(a, b + 1))
        mostly = _range_mostly(int(n), t)
        why = (f"At least {100 * mostly:.1f}% of values are integers in [{value_set[0]}, "
               f"{value_set[-1]}] (the real range plus a margin).")  # fmt: skip
    else:
        n1 = float((freq == 1).sum())
        mostly = round(_clip(1.0 - t * (OUT_OF_SET + 2.0 * n1 / n), 0.5, 1.0), 6)
        shown = ", ".join(map(str, values[:6])) + (", …" if len(values) > 6 else "")
        why = f"At least {100 * mostly:.1f}% of values among the {len(values)} real ones ({shown})."
    add("ExpectColumnValuesToBeInSet", why, column=col, value_set=value_set, mostly=mostly)
    if not with_kl or len(values) < 2:
        return
    k = len(values) + 1  # values and "unseen"
    threshold = kl_threshold if kl_threshold is not None else _kl_threshold(k, se2, t)
    weights = freq / n
    weights = weights / weights.sum()
    add(
        "ExpectColumnKLDivergenceToBeLessThan",
        f"Value frequencies close to the real ones: KL < {threshold:.3g}.",
        column=col,
        partition_object={"values": values, "weights": weights.tolist()},
        threshold=threshold,
        tail_weight_holdout=LAPLACE / (n + LAPLACE),
    )


def _kl_threshold(k: int, se2: float, t: float) -> float:
    from scipy import stats

    q = float(stats.chi2.ppf(KL_QUANTILE, max(k - 1, 1)))
    return round(t * max(KL_FLOOR, q * se2 / 2.0), 6)


# ====================================================================== GX plumbing
_LOCK = threading.Lock()
_GX: dict[str, Any] = {}


def _gx() -> dict[str, Any]:
    """One quiet ephemeral GX context per process, with a pandas whole-frame batch definition.

    Creating a context costs only milliseconds, but importing GX costs ~3 s, and keeping one
    data source avoids piling up data sources in a long-lived process.
    """
    with _LOCK:
        if not _GX:
            os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")  # documented switch (no network)
            logging.getLogger("great_expectations").setLevel(logging.ERROR)
            import great_expectations as gx
            from great_expectations.data_context.types.base import ProgressBarsConfig

            ctx = gx.get_context(mode="ephemeral")
            ctx.variables.progress_bars = ProgressBarsConfig(
                globally=False, metric_calculations=False
            )
            source = ctx.data_sources.add_pandas("gan_augment_validation")
            asset = source.add_dataframe_asset("frame")
            _GX["context"] = ctx
            _GX["batch_definition"] = asset.add_batch_definition_whole_dataframe("whole_frame")
            _GX["suites"] = {}
        return _GX


def to_gx_suite(spec: SuiteSpec) -> ExpectationSuite:
    """Build a ``great_expectations.core.ExpectationSuite`` from a `SuiteSpec`.

    Each expectation carries ``meta={"why": ..., "index": i}`` (its position in the spec). The
    process-wide ephemeral context is created first (GX 1.x needs a context to build suites).

    Example:
        >>> suite = to_gx_suite(derive_suite(real_frame))   # doctest: +SKIP
        >>> len(suite.expectations)                         # doctest: +SKIP
        43
    """
    _gx()
    import great_expectations as gx
    import great_expectations.expectations as gxe

    built = []
    for i, e in enumerate(spec.expectations):
        cls = getattr(gxe, e["type"], None)
        if cls is None:
            raise DataError(
                f"Expected a GX expectation class name in the spec. Received: type={e['type']!r}."
            )
        built.append(cls(**e["kwargs"], meta={"why": e.get("why", ""), "index": i}))
    return gx.ExpectationSuite(name=spec.name, expectations=built)


def _cached_suite(spec: SuiteSpec) -> ExpectationSuite:
    key = json.dumps(spec.to_dict(), sort_keys=True, default=str)
    suites: dict[str, Any] = _gx()["suites"]
    with _LOCK:
        suite = suites.get(key)
    if suite is None:
        suite = to_gx_suite(spec)
        with _LOCK:
            if len(suites) > 32:
                suites.clear()
            suites[key] = suite
    return suite


def validate_frame(frame: pd.DataFrame, spec: SuiteSpec) -> GXResult:
    """Validate ``frame`` (synthetic data, or a real holdout) against ``spec`` with GX.

    Runs ``batch.validate(suite)`` on a whole-dataframe batch of the process-wide ephemeral
    context (the GX suite built from ``spec`` is cached, so validating many frames against one
    spec builds it once). Expectations GX cannot evaluate (e.g. on a missing column) count as
    failed, with their exception message in ``error``.

    Example:
        >>> spec = derive_suite(real_train)                 # doctest: +SKIP
        >>> r = validate_frame(real_holdout, spec)          # doctest: +SKIP
        >>> r.success, r.summary()                          # doctest: +SKIP
        (True, 'GX: 43/43 expectations passed')
    """
    if not isinstance(frame, pd.DataFrame):
        raise DataError(
            f"Expected a pandas DataFrame to validate. Received: {type(frame).__name__}."
        )
    start = time.perf_counter()
    frame = _str_columns(frame)
    frame, converted = _without_pandas_na(frame, spec)
    suite = _cached_suite(spec)
    batch = _gx()["batch_definition"].get_batch(batch_parameters={"dataframe": frame})
    with np.errstate(all="ignore"):  # GX divides by a zero non-null count on empty columns
        gx_result = batch.validate(suite, result_format="SUMMARY")

    by_index = {i: e for i, e in enumerate(spec.expectations)}
    results: list[dict[str, Any]] = []
    positions: list[int] = []
    for r in gx_result.results:
        cfg = r.expectation_config
        meta = dict(cfg.meta or {})
        positions.append(int(meta.get("index", len(spec.expectations))))
        entry = by_index.get(meta.get("index"))
        kwargs = dict(cfg.kwargs)
        error = _exception_message(r.exception_info)
        column = kwargs.get("column")
        if error is not None and column is not None and column not in frame.columns:
            error = f"Column {column!r} is missing from the frame (GX: {error})."
        success = bool(r.success) and error is None
        observed = _observed(r.result or {})
        why = entry.get("why", "") if entry else str(meta.get("why", ""))
        if column in converted and entry and entry["type"] in _TYPE_CHECKS:
            kind = spec.meta.get("columns", {}).get(column, {}).get("kind", "")
            success, observed = _in_family(converted[column], kind), str(converted[column])
            why += " (Checked by gan_augment on the original dtype, not by GX: see _without_pandas_na.)"
        results.append(
            {
                "type": entry["type"] if entry else _camel(cfg.type),
                "column": column,
                "kwargs": _summarize_kwargs(kwargs),
                "success": success,
                "observed_value": observed,
                "why": why,
                "error": error,
            }
        )
    results = [r for _, r in sorted(zip(positions, results), key=lambda p: p[0])]
    n_ok = sum(1 for r in results if r["success"])
    statistics = {
        "evaluated_expectations": len(results),
        "successful_expectations": n_ok,
        "unsuccessful_expectations": len(results) - n_ok,
        "success_percent": round(100.0 * n_ok / len(results), 4) if results else 100.0,
    }
    return GXResult(
        success=n_ok == len(results),
        statistics=statistics,
        results=_jsonable(results),
        suite_name=spec.name,
        n_rows=len(frame),
        seconds=round(time.perf_counter() - start, 4),
    )


# ====================================================================== helpers
_TYPE_CHECKS = ("ExpectColumnValuesToBeInTypeList", "ExpectColumnValuesToBeOfType")


def _without_pandas_na(frame: pd.DataFrame, spec: SuiteSpec) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Work around a GX 1.24 bug: the ``column_values.between.count`` metric behind the binned
    KL expectation calls ``np.count_nonzero`` on a nullable comparison and raises "boolean value
    of NA is ambiguous" on extension dtypes (``Int64``, ``Float64``, Arrow) holding ``pd.NA``.
    Such columns (only those with a binned KL check) go to GX as float64 with NaN; their type
    check is then decided here from the original dtype. Returns the frame and
    {column: original dtype}.
    """
    binned = {
        e["kwargs"].get("column")
        for e in spec.expectations
        if e["type"] == "ExpectColumnKLDivergenceToBeLessThan"
        and "bins" in (e["kwargs"].get("partition_object") or {})
    }
    converted: dict[str, Any] = {}
    out = frame
    for col in frame.columns:
        if col not in binned:
            continue
        s = frame[col]
        if (
            isinstance(s.dtype, pd.api.extensions.ExtensionDtype)
            and pd.api.types.is_numeric_dtype(s.dtype)
            and not pd.api.types.is_bool_dtype(s.dtype)
            and bool(s.isna().any())
        ):
            if out is frame:
                out = frame.copy()
            converted[col] = s.dtype
            out[col] = s.to_numpy(dtype=np.float64, na_value=np.nan)
    return out, converted


def _in_family(dtype: Any, kind: str) -> bool:
    """Does a column dtype belong to the type family of a real column of this kind?"""
    if kind == "float":
        return bool(pd.api.types.is_float_dtype(dtype))
    if kind == "int":
        return bool(pd.api.types.is_integer_dtype(dtype)) and not pd.api.types.is_bool_dtype(dtype)
    if kind == "bool":
        return bool(pd.api.types.is_bool_dtype(dtype))
    if kind == "category":
        return isinstance(dtype, pd.CategoricalDtype)
    if kind == "string":
        return isinstance(dtype, pd.StringDtype) or dtype == object
    return True


def _str_columns(frame: pd.DataFrame) -> pd.DataFrame:
    if all(isinstance(c, str) for c in frame.columns):
        return frame
    return frame.rename(columns=str)


def _clip(v: float, lo: float, hi: float) -> float:
    return float(min(max(v, lo), hi))


def _camel(snake: str) -> str:
    return "".join(part.upper() if part == "kl" else part.capitalize() for part in snake.split("_"))


def _exception_message(info: Any) -> str | None:
    """The first raised exception's message in a GX ``exception_info`` (flat or keyed by metric)."""
    if not info:
        return None
    if isinstance(info, Mapping):
        if "raised_exception" in info:
            return (
                str(info.get("exception_message") or "error") if info["raised_exception"] else None
            )
        for value in info.values():
            msg = _exception_message(value)
            if msg:
                return msg
        return None
    raised = getattr(info, "raised_exception", False)
    return str(getattr(info, "exception_message", "error")) if raised else None


def _observed(result: Mapping[str, Any]) -> Any:
    if "observed_value" in result:
        return _jsonable(result["observed_value"])
    if "unexpected_percent" in result or "unexpected_count" in result:
        return _jsonable(
            {
                "unexpected_percent": result.get("unexpected_percent"),
                "unexpected_count": result.get("unexpected_count"),
                "element_count": result.get("element_count"),
                "partial_unexpected": list(result.get("partial_unexpected_list") or [])[:5],
            }
        )
    return None


def _summarize_kwargs(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in kwargs.items():
        if key in ("column", "batch_id"):
            continue
        if key == "partition_object" and isinstance(value, Mapping):
            n = len(value.get("weights", []))
            out[key] = f"{'categorical' if 'values' in value else 'binned'} ({n} cells)"
        elif isinstance(value, (list, tuple)) and len(value) > 10:
            out[key] = [*list(value[:10]), f"... ({len(value)} in all)"]
        else:
            out[key] = value
    return _jsonable(out)


def _py(v: Any) -> Any:
    """A plain Python scalar for a pandas / numpy value."""
    if isinstance(v, np.generic):
        return v.item()
    return v


def _jsonable(obj: Any) -> Any:
    """Recursively convert to strict-JSON types (numpy → Python, NaN / inf / NA → None)."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        return f if math.isfinite(f) else None
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset, np.ndarray, pd.Index, pd.Series)):
        return [_jsonable(v) for v in (obj.tolist() if hasattr(obj, "tolist") else obj)]
    if obj is pd.NA or obj is pd.NaT:
        return None
    if isinstance(obj, (pd.Timestamp, np.datetime64)):
        return str(obj)
    if hasattr(obj, "to_json_dict"):
        return _jsonable(obj.to_json_dict())
    return str(obj)

"""Column shapes and column pair trends: how close a synthetic table is to the real one, column
by column and pair by pair (the definitions of SDMetrics' Quality Report, computed here).

* **column shapes**: per column, ``1 − KS`` (continuous) or ``1 − TV`` (categorical), see
  `gan_augment.validation.validate.marginal_distances`; 1 is a perfect match.
* **column pair trends**: per pair of columns, ``1 − |ρ_real − ρ_syn| / 2`` for two continuous
  columns (Pearson correlation; SDMetrics' CorrelationSimilarity), otherwise ``1 − TV`` of the
  two columns' joint frequencies (ContingencySimilarity), continuous columns cut into
  ``PAIR_BINS`` equal-width bins over the real range and missing values a category of their own.

Continuous or categorical follows `gan_augment.models.table_encoding.column_kind` on the real
table, as everywhere in the project.

Example:
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=400)
    >>> real = pd.DataFrame({"x": x, "y": x + rng.normal(size=400) * 0.1})
    >>> round(pair_trends(real, real)["mean"], 3)
    1.0
    >>> broken = real.assign(y=rng.permutation(real["y"].to_numpy()))  # same shapes, no trend
    >>> column_shapes(real, broken)["mean"] == 1.0, pair_trends(real, broken)["mean"] < 0.6
    (True, True)
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd

from gan_augment.errors import DataError
from gan_augment.validation.validate import marginal_distances

#: Equal-width bins (over the real range) a continuous column is cut into for a contingency table.
PAIR_BINS = 10


def column_shapes(real: pd.DataFrame, synthetic: pd.DataFrame) -> dict[str, Any]:
    """``{"mean": score, "columns": {column: score}}``, score = 1 − KS or 1 − TV."""
    per = {col: 1.0 - d for col, d in marginal_distances(real, synthetic[real.columns]).items()}
    return {"mean": float(np.mean(list(per.values()))) if per else float("nan"), "columns": per}


def pair_trends(real: pd.DataFrame, synthetic: pd.DataFrame) -> dict[str, Any]:
    """``{"mean": score, "pairs": {(a, b): score}}`` over every pair of columns of ``real``."""
    kinds = {col: _kind(real[col]) for col in real.columns}
    binned = {col: (_bins(real[col], real[col]), _bins(real[col], synthetic[col])) if kinds[col] == "continuous"
              else (_categories(real[col]), _categories(synthetic[col])) for col in real.columns}
    pairs: dict[tuple[Any, Any], float] = {}
    for a, b in itertools.combinations(real.columns, 2):
        if kinds[a] == kinds[b] == "continuous":
            r = _pearson(real[a], real[b])
            s = _pearson(synthetic[a], synthetic[b])
            pairs[(a, b)] = 1.0 - abs(r - s) / 2.0
        else:
            p = pd.crosstab(binned[a][0], binned[b][0], normalize=True).stack()
            q = pd.crosstab(binned[a][1], binned[b][1], normalize=True).stack()
            pairs[(a, b)] = 1.0 - 0.5 * float(p.sub(q, fill_value=0.0).abs().sum())
    return {"mean": float(np.mean(list(pairs.values()))) if pairs else float("nan"), "pairs": pairs}


def _kind(series: pd.Series) -> str:
    from gan_augment.models.table_encoding import column_kind

    try:
        return column_kind(series)
    except DataError:
        return "categorical"


def _floats(series: pd.Series) -> np.ndarray:
    return pd.to_numeric(series, errors="coerce").astype("float64").to_numpy()


def _pearson(a: pd.Series, b: pd.Series) -> float:
    x, y = _floats(a), _floats(b)
    ok = ~(np.isnan(x) | np.isnan(y))
    if ok.sum() < 2 or x[ok].std() == 0 or y[ok].std() == 0:
        return 0.0
    return float(np.corrcoef(x[ok], y[ok])[0, 1])


def _bins(real: pd.Series, values: pd.Series) -> np.ndarray:
    r, v = _floats(real), _floats(values)
    low, high = np.nanmin(r), np.nanmax(r)
    width = (high - low) / PAIR_BINS or 1.0
    codes = np.clip(np.floor((v - low) / width), 0, PAIR_BINS - 1)
    return np.where(np.isnan(v), -1, codes).astype(np.int64)


def _categories(series: pd.Series) -> np.ndarray:
    return series.astype(object).where(series.notna(), "<missing>").astype(str).to_numpy()


__all__ = ["PAIR_BINS", "column_shapes", "pair_trends"]

"""Tables as float feature matrices: `table_to_matrix` (impute, standardise numbers, one-hot the
rest) and the `TableEncoding` it learns from training rows.

A light module below validation, selection and downstream evaluation, which all encode rows the
same way (the gates' feature space, the coverage selection's neighbourhoods, the classifiers'
inputs); it imports neither TensorFlow nor scikit-learn.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from gan_augment.errors import DataError


@dataclasses.dataclass(frozen=True)
class TableEncoding:
    """What `table_to_matrix` learned from a training frame (pass it back as ``fitted``).

    Numeric columns: missing values -> training median, then standardised with the training
    mean / std. Other columns (strings, categories, objects): missing -> most frequent training
    value, then one-hot over the training categories (unseen categories give all zeros).
    """

    columns: tuple[str, ...]
    numeric: tuple[str, ...]
    medians: tuple[float, ...]
    means: tuple[float, ...]
    scales: tuple[float, ...]
    categorical: tuple[str, ...]
    categories: tuple[tuple[str, ...], ...]
    modes: tuple[str, ...]

    @property
    def feature_names(self) -> list[str]:
        names = list(self.numeric)
        for col, cats in zip(self.categorical, self.categories):
            names.extend(f"{col}={c}" for c in cats)
        return names

    @property
    def n_features(self) -> int:
        return len(self.numeric) + sum(len(c) for c in self.categories)


def is_numeric_column(series: pd.Series) -> bool:
    """Whether `table_to_matrix` standardises the column (a numeric, non-categorical dtype)."""
    return (pd.api.types.is_numeric_dtype(series.dtype)
            and not isinstance(series.dtype, pd.CategoricalDtype))


def numeric_values(series: pd.Series) -> np.ndarray:
    """The column as float64, NaN where missing or not finite."""
    values = np.array(pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan))
    values[~np.isfinite(values)] = np.nan
    return values


def _string_values(series: pd.Series) -> np.ndarray:
    """Category values as strings, with ``None`` where missing."""
    missing = series.isna().to_numpy()
    out = series.astype(object).to_numpy().copy()
    out = np.array([None if m else str(v) for v, m in zip(out, missing)], dtype=object)
    return out


def table_to_matrix(
    frame: pd.DataFrame, fitted: TableEncoding | None = None
) -> tuple[np.ndarray, TableEncoding]:
    """A table as a float32 feature matrix: impute, standardise numbers, one-hot the rest.

    Without ``fitted`` the encoding is learned from ``frame`` (use it on training data); with
    ``fitted`` (the encoding returned for the training data) other frames are encoded the same
    way, with the same columns out.

    Returns:
        ``(matrix, encoding)``: matrix of shape ``(len(frame), encoding.n_features)``.

    Example:
        >>> frame = pd.DataFrame({"a": [1.0, None, 3.0], "c": ["x", "y", None]})
        >>> m, enc = table_to_matrix(frame)
        >>> m.shape, enc.feature_names
        ((3, 3), ['a', 'c=x', 'c=y'])
    """
    if not isinstance(frame, pd.DataFrame):
        raise DataError(
            f"Expected a pandas DataFrame. Received: {type(frame).__name__}."
        )
    columns = tuple(str(c) for c in frame.columns)
    if len(set(columns)) != len(columns):
        raise DataError(f"Expected unique column names. Received: {list(columns)}.")
    frame = frame.set_axis(list(columns), axis=1)
    if fitted is None:
        numeric = tuple(c for c in columns if is_numeric_column(frame[c]))
        medians, means, scales = [], [], []
        for c in numeric:
            v = numeric_values(frame[c])
            med = float(np.nanmedian(v)) if np.isfinite(v).any() else 0.0
            v = np.where(np.isnan(v), med, v)
            sd = float(v.std())
            medians.append(med)
            means.append(float(v.mean()))
            scales.append(sd if sd > 1e-12 else 1.0)
        categorical = tuple(c for c in columns if c not in numeric)
        categories, modes = [], []
        for c in categorical:
            v = _string_values(frame[c])
            present = pd.Series([s for s in v if s is not None], dtype=object)
            counts = present.value_counts(sort=True)
            mode = str(counts.index[0]) if len(counts) else ""
            cats = sorted(set(present.tolist()) | ({mode} if mode else set()))
            categories.append(tuple(cats))
            modes.append(mode)
        fitted = TableEncoding(columns, numeric, tuple(medians), tuple(means), tuple(scales),
                               categorical, tuple(categories), tuple(modes))
    else:
        if set(columns) != set(fitted.columns):
            raise DataError(
                f"Expected the columns the encoding was fitted on: {list(fitted.columns)}. "
                f"Received: {list(columns)}."
            )
    n = len(frame)
    blocks = []
    if fitted.numeric:
        num = np.empty((n, len(fitted.numeric)), np.float64)
        for j, (c, med, mean, sd) in enumerate(
            zip(fitted.numeric, fitted.medians, fitted.means, fitted.scales)
        ):
            v = numeric_values(frame[c])
            num[:, j] = (np.where(np.isnan(v), med, v) - mean) / sd
        blocks.append(num)
    for c, cats, mode in zip(fitted.categorical, fitted.categories, fitted.modes):
        v = _string_values(frame[c])
        v = np.array([mode if s is None else s for s in v], dtype=object)
        index = {cat: i for i, cat in enumerate(cats)}
        onehot = np.zeros((n, len(cats)), np.float64)
        rows = np.array([index.get(s, -1) for s in v], dtype=np.int64)
        known = rows >= 0
        onehot[np.flatnonzero(known), rows[known]] = 1.0
        blocks.append(onehot)
    matrix = np.concatenate(blocks, axis=1) if blocks else np.zeros((n, 0))
    return matrix.astype(np.float32), fitted

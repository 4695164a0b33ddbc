"""Tables as float feature matrices: `table_to_matrix` (impute, standardise numbers, one-hot the
rest) and the `TableEncoding` it learns from training rows.

A light module below validation, selection and downstream evaluation, which all encode rows the
same way (the gates' feature space, the coverage selection's neighbourhoods, the classifiers'
inputs). What each column becomes follows `gan_augment.data.columns.column_type`; the encoding is
a scikit-learn ``ColumnTransformer``. scikit-learn is imported only when a table is encoded.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

import numpy as np
import pandas as pd

from gan_augment.data.columns import column_type
from gan_augment.errors import DataError


@dataclasses.dataclass(frozen=True)
class TableEncoding:
    """What `table_to_matrix` learned from a training frame (pass it back as ``fitted``).

    Per `column_type` of the training column:

    * numeric and datetime (as seconds since 1970) columns: missing values -> training median,
      then standardised with the training mean / std;
    * boolean columns: one 0/1 indicator (True / 1), missing -> the more frequent training value,
      then standardised like a number;
    * categorical columns: missing -> most frequent training value, then one-hot over the
      training categories (compared as text; unseen categories give all zeros);
    * identifiers, and categorical columns without any training value: left out.

    ``numeric`` lists the one-feature columns (numbers, datetimes, booleans; in the frame's order,
    first in the matrix) with their imputed value (``medians``), ``means`` and ``scales``;
    ``categorical`` the one-hot ones with their ``categories`` and ``modes``. ``transformer`` is
    the fitted scikit-learn ``ColumnTransformer`` (``SimpleImputer`` + ``StandardScaler``,
    ``SimpleImputer`` + ``OneHotEncoder``) that does the work.
    """

    columns: tuple[str, ...]
    numeric: tuple[str, ...]
    medians: tuple[float, ...]
    means: tuple[float, ...]
    scales: tuple[float, ...]
    categorical: tuple[str, ...]
    categories: tuple[tuple[str, ...], ...]
    modes: tuple[str, ...]
    transformer: Any = dataclasses.field(default=None, compare=False, repr=False)

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
    """Whether the column holds numbers in a numeric or bool dtype, and `column_type` calls it
    numeric or boolean: `table_to_matrix` standardises it, classical augmentation interpolates it
    (and rounds it back into an integer or bool dtype). Not: categories, identifiers (a row
    number), datetimes, numbers held as objects.
    """
    return (pd.api.types.is_numeric_dtype(series.dtype)
            and not isinstance(series.dtype, pd.CategoricalDtype)
            and column_type(series) in ("numeric", "boolean"))


def numeric_values(series: pd.Series) -> np.ndarray:
    """The column as float64, NaN where missing or not finite (booleans as 0 / 1, datetimes as
    seconds since 1970-01-01 UTC, durations as seconds)."""
    dtype = series.dtype
    if pd.api.types.is_timedelta64_dtype(dtype):
        seconds = pd.to_timedelta(series, errors="coerce") / pd.Timedelta(seconds=1)
    elif pd.api.types.is_datetime64_any_dtype(dtype) or (
        dtype == object and column_type(series) == "datetime"
    ):
        if pd.api.types.infer_dtype(series, skipna=True) in ("timedelta", "timedelta64"):
            seconds = pd.to_timedelta(series, errors="coerce") / pd.Timedelta(seconds=1)
        else:
            stamps = pd.to_datetime(series, errors="coerce", utc=True)
            seconds = (stamps - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)
    else:
        seconds = pd.to_numeric(series, errors="coerce")
    values = np.array(seconds.to_numpy(dtype=np.float64, na_value=np.nan))
    values[~np.isfinite(values)] = np.nan
    return values


def _floats(frame: pd.DataFrame) -> np.ndarray:
    return np.column_stack([numeric_values(frame[c]) for c in frame.columns])


def _strings(frame: pd.DataFrame) -> np.ndarray:
    """Category values as text, NaN where missing."""
    out = np.empty(frame.shape, dtype=object)
    for j, c in enumerate(frame.columns):
        s = frame[c]
        missing = s.isna().to_numpy()
        out[:, j] = [np.nan if m else str(v) for v, m in zip(s.astype(object).to_numpy(), missing)]
    return out


def _fit(frame: pd.DataFrame, columns: tuple[str, ...]) -> TableEncoding:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    types = {c: column_type(frame[c]) for c in columns}
    numeric = [c for c in columns if types[c] in ("numeric", "datetime")]
    boolean = [c for c in columns if types[c] == "boolean"]
    categorical = [c for c in columns if types[c] == "categorical" and frame[c].notna().any()]

    def standardised(strategy: str) -> Any:
        return make_pipeline(FunctionTransformer(_floats),
                             SimpleImputer(strategy=strategy, keep_empty_features=True), StandardScaler())

    transformer = ColumnTransformer(
        [("numeric", standardised("median"), numeric),
         ("boolean", standardised("most_frequent"), boolean),
         ("categorical", make_pipeline(FunctionTransformer(_strings), SimpleImputer(strategy="most_frequent"),
                                       OneHotEncoder(handle_unknown="ignore", sparse_output=False)), categorical)],
        remainder="drop", sparse_threshold=0.0,
    )  # fmt: skip
    transformer.fit(frame)
    fills, means, scales = [], [], []
    for name, cols in (("numeric", numeric), ("boolean", boolean)):
        if cols:
            pipe = transformer.named_transformers_[name]  # floats, imputer, scaler
            fills += pipe[1].statistics_.tolist()
            means += pipe[2].mean_.tolist()
            scales += pipe[2].scale_.tolist()
    cats, modes = [], []
    if categorical:
        pipe = transformer.named_transformers_["categorical"]  # strings, imputer, one-hot
        modes = [str(m) for m in pipe[1].statistics_]
        cats = [tuple(str(c) for c in levels) for levels in pipe[2].categories_]
    # the one-feature columns in the frame's order, as ever (the transformer outputs them by group)
    scaled = numeric + boolean
    at = sorted(range(len(scaled)), key=lambda i: columns.index(scaled[i]))
    return TableEncoding(columns, tuple(scaled[i] for i in at), tuple(float(fills[i]) for i in at),
                         tuple(means[i] for i in at), tuple(scales[i] for i in at), tuple(categorical),
                         tuple(cats), tuple(modes), transformer)


def _feature_order(encoding: TableEncoding) -> list[int]:
    """Where each feature of ``encoding.feature_names`` stands in the transformer's output."""
    scaled = [c for name, _, cols in encoding.transformer.transformers_ if name in ("numeric", "boolean")
              for c in cols]
    at = {c: i for i, c in enumerate(scaled)}
    return [at[c] for c in encoding.numeric] + list(range(len(scaled), encoding.n_features))


def table_to_matrix(
    frame: pd.DataFrame, fitted: TableEncoding | None = None
) -> tuple[np.ndarray, TableEncoding]:
    """A table as a float32 feature matrix: impute, standardise numbers, one-hot the rest.

    Without ``fitted`` the encoding is learned from ``frame`` (use it on training data); with
    ``fitted`` (the encoding returned for the training data) other frames are encoded the same
    way, with the same columns out. See `TableEncoding` for what each column becomes.

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
        if len(frame) == 0:
            raise DataError("Expected at least one row to learn an encoding from. Received: 0 rows.")
        fitted = _fit(frame, columns)
    elif set(columns) != set(fitted.columns):
        raise DataError(
            f"Expected the columns the encoding was fitted on: {list(fitted.columns)}. "
            f"Received: {list(columns)}."
        )
    elif fitted.transformer is None:
        raise DataError("Expected an encoding returned by table_to_matrix. Received: one without "
                        "its fitted transformer.")
    if not fitted.n_features or len(frame) == 0:
        return np.zeros((len(frame), fitted.n_features), np.float32), fitted
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # unknown categories: all zeros, as documented
        matrix = fitted.transformer.transform(frame[list(fitted.columns)])
    return np.asarray(matrix, dtype=np.float32)[:, _feature_order(fitted)], fitted

"""Table sources: scikit-learn tables, Palmer penguins and CSV / parquet files with a class column.

A table Dataset keeps the feature columns as they are (numeric, categorical or string) in
``frame`` and moves the class column into ``y`` (integer codes) and ``class_names``.

Loading rejects columns no model can use (objects that are neither numbers nor strings);
`check_trainable_table` adds what training a GAN needs (no all-missing or identifier-like
columns, at least two classes, ``MIN_ROWS_PER_CLASS`` rows in every class).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gan_augment.data.dataset import Dataset
from gan_augment.data.images import check_synthetic_mask
from gan_augment.errors import DataError

#: Built-in scikit-learn tables: name -> loader function name in ``sklearn.datasets``.
SKLEARN_TABLES: dict[str, str] = {
    "breast_cancer": "load_breast_cancer",
    "wine": "load_wine",
}

#: File name endings read by :func:`load_table_file`.
TABLE_SUFFIXES: tuple[str, ...] = (".csv", ".parquet", ".pq")

#: Column that marks synthetic rows in exported tables (removed from the features on load).
SYNTHETIC_COLUMN = "_synthetic"

#: Fewest real rows of every class that `check_trainable_table` accepts: with fewer, a GAN can
#: only copy them and validation has no held-out rows of the class to compare against.
MIN_ROWS_PER_CLASS = 5

#: Object columns whose values pandas infers as one of these are numbers or strings.
_SCALAR_OBJECTS = ("string", "integer", "floating", "mixed-integer-float", "boolean", "empty")


def load_sklearn_table(name: str, *, source: str | None = None) -> Dataset:
    """A scikit-learn classification table (``"breast_cancer"`` or ``"wine"``) as a Dataset.

    The class column ``target`` becomes ``y``; ``class_names`` are scikit-learn's target names.

    Example:
        >>> ds = load_sklearn_table("wine")
        >>> len(ds), ds.num_classes, ds.target
        (178, 3, 'target')
    """
    if name not in SKLEARN_TABLES:
        raise DataError(
            f"Expected one of the scikit-learn tables {sorted(SKLEARN_TABLES)}. "
            f"Received: name={name!r}."
        )
    import sklearn.datasets

    bunch = getattr(sklearn.datasets, SKLEARN_TABLES[name])(as_frame=True)
    frame = bunch.frame.drop(columns=["target"]).reset_index(drop=True)
    return Dataset(
        kind="table",
        frame=frame,
        y=np.asarray(bunch.target, np.int64),
        class_names=tuple(str(n) for n in bunch.target_names),
        target="target",
        provenance={"source": source or name, "reader": f"sklearn.datasets.{SKLEARN_TABLES[name]}"},
    )


def load_penguins(*, source: str | None = None) -> Dataset:
    """The Palmer penguins table (Horst, Hill & Gorman 2020), from the ``palmerpenguins`` package.

    344 penguins of 3 species (the class column ``species``: Adelie, Chinstrap, Gentoo), with
    numeric (bill length and depth, flipper length, body mass; a few missing), categorical
    (``island``, ``sex`` with 11 missing) and integer (``year``) columns.

    Example:
        >>> ds = load_penguins()
        >>> len(ds), ds.class_names, ds.target
        (344, ('Adelie', 'Chinstrap', 'Gentoo'), 'species')
    """
    try:
        import palmerpenguins
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise DataError(
            "Expected the 'palmerpenguins' package for the penguins table. Received: it is not "
            "installed. Install it with: pip install palmerpenguins."
        ) from exc
    frame = palmerpenguins.load_penguins()
    dataset, _ = frame_to_dataset(
        frame, "species", source=source or "penguins",
        provenance={"reader": "palmerpenguins.load_penguins"},
    )
    return dataset


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a ``.csv`` or ``.parquet`` file into a DataFrame, turning reader errors into DataError.

    Example:
        >>> frame = read_table("data/incoming/plants/measurements.csv")  # doctest: +SKIP
    """
    path = Path(path).expanduser()
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise DataError(
            f"Expected a table file ending in {', '.join(TABLE_SUFFIXES)}. Received: '{path}'."
        )
    try:
        if suffix == ".csv":
            return pd.read_csv(path)
        return pd.read_parquet(path)
    except pd.errors.EmptyDataError as exc:
        raise DataError(
            f"Expected a non-empty table with a header row. Received: an empty file '{path}'."
        ) from exc
    except (OSError, ValueError) as exc:
        raise DataError(
            f"Expected a readable {suffix} table. Received: '{path}' could not be parsed "
            f"({type(exc).__name__}: {exc})."
        ) from exc


def frame_to_dataset(
    frame: pd.DataFrame,
    target: str | None,
    *,
    source: str = "<DataFrame>",
    provenance: dict[str, Any] | None = None,
) -> tuple[Dataset, np.ndarray | None]:
    """Split a DataFrame into features and the class column ``target``; encode the classes.

    Classes are the sorted unique values of ``target`` (as strings); a categorical column keeps
    its category order instead. A column of numbers or booleans keeps its dtype in
    ``class_dtype`` (the exports write the classes back in it); when ``frame.attrs`` lists the
    classes of the column (as a parquet file written by `export_parquet` does), the classes are
    those, so a file that holds some of them reads back with all of them. A ``_synthetic``
    boolean column, as written by :func:`gan_augment.export.export_parquet`, is removed from the
    features and returned as the synthetic mask.

    Example:
        >>> df = pd.DataFrame({"size": [1.0, 2.5, 3.1], "kind": ["b", "a", "b"]})
        >>> ds, _ = frame_to_dataset(df, "kind")
        >>> ds.class_names, ds.y.tolist(), list(ds.frame.columns)
        (('a', 'b'), [1, 0, 1], ['size'])
    """
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"Expected a pandas DataFrame. Received: {type(frame).__name__}.")
    columns = [str(c) for c in frame.columns]
    if len(frame) == 0:
        raise DataError(
            f"Expected a table with at least one row. Received: an empty table from {source!r} "
            f"(0 rows, columns {columns})."
        )
    if target is None:
        raise DataError(
            f"Expected target='<column>' naming the class column of {source!r}, e.g. "
            f"load_dataset({source!r}, target={(columns or ['label'])[-1]!r}). Received: target=None. "
            f"Columns: {columns}."
        )
    if target not in frame.columns:
        raise DataError(
            f"Expected the target column {target!r} in {source!r}. Received: columns {columns}. "
            "Pass target= one of these."
        )

    synthetic = None
    drop = [target]
    if SYNTHETIC_COLUMN in frame.columns and target != SYNTHETIC_COLUMN:
        synthetic = check_synthetic_mask(
            frame[SYNTHETIC_COLUMN].to_numpy(), len(frame), where=f"column {SYNTHETIC_COLUMN!r}"
        )
        drop.append(SYNTHETIC_COLUMN)
    features = frame.drop(columns=drop).reset_index(drop=True)
    features.attrs = {k: v for k, v in frame.attrs.items() if k != CLASSES_ATTR}
    if features.shape[1] == 0:
        raise DataError(
            f"Expected at least one feature column besides the target {target!r} in {source!r}. "
            f"Received: columns {columns}."
        )
    _check_scalar_columns(features, source)

    column = frame[target]
    missing = int(column.isna().sum())
    if missing:
        which = "all" if missing == len(frame) else f"{missing} of"
        raise DataError(
            f"Expected a class in every row of the target column {target!r}. Received: {which} "
            f"{len(frame)} rows with a missing value. Drop those rows first, e.g. "
            f"frame.dropna(subset=[{target!r}])."
        )
    y, class_names = encode_labels(column, _listed_classes(frame, target))
    dataset = Dataset(
        kind="table",
        frame=features,
        y=y,
        class_names=class_names,
        target=str(target),
        provenance={"source": source, **(provenance or {})},
        class_dtype=_value_dtype(column),
    )
    return dataset, synthetic


#: The key of ``DataFrame.attrs`` under which `export_parquet` lists the classes of a class
#: column written as plain values (kept in the parquet file's pandas metadata).
CLASSES_ATTR = "gan_augment_classes"


def _value_dtype(column: pd.Series) -> str | None:
    """The dtype of a class column of numbers or booleans (``"float64"``, ``"Int64"``, ``"bool"``),
    kept so that exports write the classes back as such; None for text and categories."""
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype) or getattr(dtype, "kind", "O") not in "biuf":
        return None
    return str(dtype)


def _listed_classes(frame: pd.DataFrame, target: str) -> tuple[str, ...] | None:
    """The class names ``frame.attrs`` lists for the column ``target`` (see `CLASSES_ATTR`)."""
    listed = frame.attrs.get(CLASSES_ATTR)
    if not isinstance(listed, dict) or listed.get("target") != str(target):
        return None
    names = listed.get("class_names")
    if not isinstance(names, list) or not names or len(set(map(str, names))) != len(names):
        return None
    return tuple(str(n) for n in names)


def _check_scalar_columns(features: pd.DataFrame, source: str) -> None:
    """Reject object columns whose values are neither numbers nor strings (lists, dicts, bytes,
    dates, mixed types): no model, export or validation can use them as they are."""
    for col in features.columns:
        s = features[col]
        if s.dtype != object:
            continue
        inferred = pd.api.types.infer_dtype(s, skipna=True)
        if inferred in _SCALAR_OBJECTS:
            continue
        example = s.dropna().iloc[0]
        raise DataError(
            f"Expected numbers or strings in column {col!r} of {source!r}. Received: objects of "
            f"type {inferred!r} (e.g. {example!r} of type {type(example).__name__}). Convert the "
            f"column to numbers or strings (frame[{col!r}].astype(str)) or drop it before loading."
        )


def check_trainable_table(dataset: Dataset, *, conditional: bool = True) -> None:
    """Raise `DataError`, naming the fix, if a GAN cannot be trained on this table Dataset.

    Checks every feature column (no column with all values missing, only numbers, strings,
    booleans or categories, no identifier-like text: see
    `gan_augment.models.table_encoding.check_column`) and, for a conditional GAN, that the
    class column has at least two classes and every class at least `MIN_ROWS_PER_CLASS` rows.

    Example:
        >>> check_trainable_table(load_sklearn_table("wine"))  # passes silently
    """
    from gan_augment.kinds import require_kind
    from gan_augment.models.table_encoding import check_column

    require_kind(dataset, "table", what="a table GAN")
    for col in dataset.frame.columns:
        check_column(dataset.frame[col], col)
    if not conditional or dataset.y is None:
        return
    target = dataset.target or "the class column"
    counts = dataset.class_counts()
    present = np.flatnonzero(counts > 0)
    if len(present) < 2:
        value = dataset.class_names[present[0]] if len(present) else "?"
        raise DataError(
            f"Expected at least 2 classes in the target column {target!r} to train a conditional "
            f"GAN. Received: the constant value {value!r} in all {len(dataset)} rows. Pick another "
            "column as target=, or pass conditional=False to model the rows without classes."
        )
    small = {dataset.class_names[c]: int(counts[c]) for c in range(len(counts))
             if counts[c] < MIN_ROWS_PER_CLASS}
    if small:
        raise DataError(
            f"Expected at least {MIN_ROWS_PER_CLASS} rows of every class in {target!r} to train a "
            f"GAN. Received: {small} (rows per class). Collect more rows of these classes, merge "
            "them into others, or drop them (dataset.take(np.flatnonzero(...)))."
        )


def encode_labels(column: pd.Series | Sequence[Any],
                  classes: Sequence[str] | None = None) -> tuple[np.ndarray, tuple[str, ...]]:
    """Integer codes and class names of a column with no missing values.

    The classes are the sorted unique values (by value when they sort, else by their text);
    a categorical column keeps its category order. Whole floats are named without ``.0``.
    ``classes``: the class names in label order, when known (a value named otherwise makes
    them ignored).

    Example:
        >>> encode_labels(pd.Series([3, 1, 3]))
        (array([1, 0, 1]), ('1', '3'))
    """
    column = pd.Series(column)
    if isinstance(column.dtype, pd.CategoricalDtype):
        names = tuple(_label_name(c) for c in column.cat.categories)
        return column.cat.codes.to_numpy(np.int64), names
    values = column.to_numpy(dtype=object)
    uniques = list(pd.unique(values))
    if classes is not None:
        lookup_names = {name: i for i, name in enumerate(classes)}
        codes = {v: lookup_names.get(_label_name(v)) for v in uniques}
        if all(code is not None for code in codes.values()):
            y = np.fromiter((codes[v] for v in values), np.int64, count=len(values))
            return y, tuple(classes)
    try:
        uniques = sorted(uniques)
    except TypeError:  # mixed types: order by text
        uniques = sorted(uniques, key=str)
    lookup = {v: i for i, v in enumerate(uniques)}
    y = np.fromiter((lookup[v] for v in values), np.int64, count=len(values))
    return y, tuple(_label_name(v) for v in uniques)


def label_name(value: Any) -> str:
    """The class name of a value of a class column (whole floats without ``.0``)."""
    return _label_name(value)


def _label_name(value: Any) -> str:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, np.generic):
        value = value.item()
    return str(value)


def load_table_file(
    path: str | Path,
    *,
    target: str | None = None,
    source: str | None = None,
) -> tuple[Dataset, np.ndarray | None]:
    """Read a CSV or parquet file whose column ``target`` holds the class of each row.

    Returns the Dataset and the synthetic mask when the file has a ``_synthetic`` column.

    Example:
        >>> ds, _ = load_table_file("data/incoming/plants/measurements.csv", target="species")  # doctest: +SKIP
    """
    path = Path(path).expanduser()
    source = source if source is not None else str(path)
    frame = read_table(path)
    return frame_to_dataset(
        frame,
        target,
        source=source,
        provenance={"reader": path.suffix.lower().lstrip("."), "target": target},
    )

"""What a table column is: the one rule (`column_type`) behind the table GAN's encoder, the Great
Expectations suite and the feature matrix of the gates, the selection and the classifiers.

Five types; missing values are ignored when typing a column.

``"boolean"``
    Two values: a ``bool`` dtype (numpy ``bool``, pandas ``boolean`` with ``<NA>``), an object
    column of ``True`` / ``False`` (what a CSV column of booleans with gaps reads back as), or
    numbers whose values are exactly 0 and 1 (``[0, 1, 1, 0]``, ``[0.0, 1.0, NaN]``; both must
    occur: a constant 0 column is numeric). Not ``{1, 2}`` (a coded sex is a two-level number),
    not the strings ``"yes"`` / ``"no"`` (text is never parsed: categorical), not a
    ``category`` dtype (a declared category stays categorical).
``"numeric"``
    Other numbers: ``int`` / ``float`` dtypes (nullable ``Int64`` / ``Float64`` too) and object
    columns of numbers (``[1, 2.5, None]``) — counts and codes with few levels included: ``[0,
    1, 2, 3]`` visits, a 1–5 rating.
``"categorical"``
    ``category`` dtype, strings (``str`` / ``string`` / object of ``str``), objects of mixed or
    other types, and an all-missing object column — unless an identifier.
``"identifier"``
    Values that barely repeat, so no frequency can be learned from them: a non-numeric column
    with more than ``MAX_CATEGORIES`` (50) distinct values that are also more than
    ``IDENTIFIER_SHARE`` (half) of its values (names, ids, free text, dates held as text); or an
    *integer* column with more than 50 values, all distinct, that fill at least
    ``KEY_DENSITY`` (half) of the integers between their min and max — a row number ``0..n-1``
    (``Unnamed: 0`` of a CSV written with its index), or a split of one. Integer measurements
    repeat long before that (500 distinct incomes in 1000 rows, all distinct incomes spread over
    a range 1000 times wider); a float column is never an identifier (``np.arange(100.0)`` is a
    measurement).
``"datetime"``
    ``datetime64`` (naive or with a time zone), ``timedelta64``, and object columns of
    ``datetime`` / ``date`` / ``timedelta`` objects. Strings are not parsed: ``"2024-01-05"``
    text is categorical, or an identifier when nearly every row has its own date — parse it with
    ``pd.to_datetime`` first. Parsing would guess (is ``01/02/2024`` in January?), cost a parse
    per call, and a few-level date label (``"2024-Q1"``) is modelled well as a category.

Why these lines, from what the three users need:

* **numbers stay numeric, however few their levels.** The feature matrix (`table_to_matrix`)
  standardises them, so order and distance reach the gates' distances and the classifiers'
  splits; one-hot levels would lose both and change every calibrated gate. The GAN encoder and
  the GX suite still *treat* a few-level number as discrete — the encoder one-hots a numeric
  column with at most ``DISCRETE_MAX_VALUES`` (10) levels so its exact levels come back; the
  suite checks the value set of an integer column with at most ``MAX_INT_CATEGORIES`` (20)
  levels — which is how they encode or check a number, not what it is.
* **booleans are their own type** because the old rules disagreed about them (categorical for
  the encoder, numeric for the matrix): the encoder one-hots them, the matrix keeps one
  standardised 0/1 indicator (the feature it always had for ``bool`` and 0/1 columns), the GX
  suite checks value set and frequencies (and a 0/1 number's mean and spread).
* **identifiers** would be copied by a GAN or teach it nothing (the encoder refuses them, naming
  the fix), would add one feature per row to the matrix (dropped there) and have no
  distribution to check (the suite checks type and nulls only). 50 values is the most a GAN
  learns as categories without help; at most 50 distinct values are always categories.
* **datetimes** are not numbers the GAN can restore (the encoder asks for a conversion), are
  seconds since 1970 in the matrix, and the suite checks presence and nulls.

An all-missing column is typed by its dtype alone: float → numeric, bool → boolean, datetime →
datetime, object → categorical.

Example:
    >>> column_type(pd.Series([0, 1, 1, 0])), column_type(pd.Series([1.5, 2.0, None]))
    ('boolean', 'numeric')
    >>> column_type(pd.Series(["a", "b", "a"])), column_type(pd.Series([f"id{i}" for i in range(80)]))
    ('categorical', 'identifier')
    >>> column_type(pd.Series(pd.to_datetime(["2024-01-05", "2024-02-01"])))
    'datetime'
"""

from __future__ import annotations

import typing
from typing import Literal

import numpy as np
import pandas as pd

ColumnType = Literal["numeric", "categorical", "boolean", "datetime", "identifier"]
#: Every `ColumnType`, in the order above.
COLUMN_TYPES: tuple[ColumnType, ...] = typing.get_args(ColumnType)

#: How a column's values are stored: ``value_family``'s answers.
ValueFamily = Literal["float", "int", "bool", "string", "category", "datetime", "other"]

#: A non-numeric column with at most this many distinct values is categorical.
MAX_CATEGORIES = 50
#: ...and with more, an identifier when its distinct values are more than this share of its values.
IDENTIFIER_SHARE = 0.5
#: An integer column with more than ``MAX_CATEGORIES`` values, all distinct, is an identifier when
#: they fill at least this share of the integers from their min to their max.
KEY_DENSITY = 0.5

# object columns: pandas' inferred type -> value family
_INFERRED: dict[str, ValueFamily] = {
    "string": "string", "boolean": "bool", "integer": "int", "floating": "float",
    "mixed-integer-float": "float", "datetime64": "datetime", "datetime": "datetime",
    "date": "datetime", "timedelta64": "datetime", "timedelta": "datetime",
}  # fmt: skip


def value_family(series: pd.Series) -> ValueFamily:
    """How a column's values are stored: ``"float"``, ``"int"``, ``"bool"``, ``"string"``,
    ``"category"``, ``"datetime"`` (dates, times, durations) or ``"other"``; an object column by
    the type of its non-missing values (``"other"``: mixed types, bytes, lists, all missing).

    The GX suite checks a synthetic column against the real column's family; `column_type` starts
    from it.

    Example:
        >>> value_family(pd.Series([True, None], dtype=object)), value_family(pd.Series([1, "a"]))
        ('bool', 'other')
    """
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return "category"
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        return "datetime"
    if isinstance(dtype, pd.StringDtype):
        return "string"
    if dtype == object:
        return _INFERRED.get(pd.api.types.infer_dtype(series, skipna=True), "other")
    return "other"


def column_type(series: pd.Series) -> ColumnType:
    """What the column is: ``"numeric"``, ``"categorical"``, ``"boolean"``, ``"datetime"`` or
    ``"identifier"`` (the rule and its reasons are in the module docstring). Never raises.

    Example:
        >>> column_type(pd.Series([True, None, False])), column_type(pd.Series(range(100)))
        ('boolean', 'identifier')
        >>> column_type(pd.Series([3, 1, 2] * 40)), column_type(pd.Series(["x", "y"], dtype="category"))
        ('numeric', 'categorical')
    """
    family = value_family(series)
    if family == "bool":
        return "boolean"
    if family == "datetime":
        return "datetime"
    values = series.dropna()
    if family in ("int", "float"):
        x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        if len(x) and ((x == 0) | (x == 1)).all() and x.min() == 0 and x.max() == 1:
            return "boolean"
        if family == "int" and _is_key(x):
            return "identifier"
        return "numeric"
    n_distinct = _n_distinct(values)
    if n_distinct > MAX_CATEGORIES and n_distinct > IDENTIFIER_SHARE * len(values):
        return "identifier"
    return "categorical"


def _is_key(x: np.ndarray) -> bool:
    """Whole numbers, more than ``MAX_CATEGORIES``, all distinct, dense in their range."""
    if len(x) <= MAX_CATEGORIES or not np.isfinite(x).all():
        return False
    if len(np.unique(x)) < len(x):
        return False
    return len(x) >= KEY_DENSITY * (float(x.max()) - float(x.min()) + 1.0)


def _n_distinct(values: pd.Series) -> int:
    try:
        return int(values.nunique())
    except TypeError:  # unhashable objects (lists, dicts): by their text
        return int(values.astype(str).nunique())


__all__ = [
    "COLUMN_TYPES",
    "IDENTIFIER_SHARE",
    "KEY_DENSITY",
    "MAX_CATEGORIES",
    "ColumnType",
    "ValueFamily",
    "column_type",
    "value_family",
]

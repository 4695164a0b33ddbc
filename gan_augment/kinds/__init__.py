"""One module per data kind: everything that differs between images and tables, in one place.

Every other module asks the data's kind instead of branching on ``dataset.kind``::

    from gan_augment.kinds import kind_of

    kind_of(dataset).classical_augment(dataset, rng, copies)   # images: shift+rotate; tables: SMOTE-like
    kind_of("table").steps_per_epoch(len(dataset), 500)

`DataKind` (``base.py``) is the protocol; ``image.py`` and ``table.py`` implement it. A new kind
(e.g. paired images for translation) is one more module and one more entry in ``KIND_MODULES``.

The package is light on import (numpy only): a kind module imports the layers it delegates to
(TensorFlow, the validation metrics, Great Expectations, plotting) inside its methods, so the
lowest layer (`gan_augment.data.dataset`) can ask its kind too without an import cycle.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from gan_augment.errors import DataError
from gan_augment.kinds.base import DataKind, ValidationSpace

if TYPE_CHECKING:
    from gan_augment.data.dataset import Dataset

__all__ = ["KIND_MODULES", "KIND_NAMES", "DataKind", "ValidationSpace", "kind_of", "require_kind"]

#: The module implementing each data kind (its ``KIND`` attribute is the `DataKind`).
KIND_MODULES: dict[str, str] = {"image": "gan_augment.kinds.image", "table": "gan_augment.kinds.table"}
#: The data kinds there are.
KIND_NAMES: tuple[str, ...] = tuple(KIND_MODULES)

_LOADED: dict[str, DataKind] = {}


def kind_of(value: str | Dataset | Any) -> DataKind:
    """The `DataKind` of a kind name, or of anything with a ``kind`` attribute (a `Dataset`, a
    `TrainedGAN`).

    Example:
        >>> kind_of("table").name
        'table'
    """
    name = value if isinstance(value, str) else getattr(value, "kind", None)
    if name not in KIND_MODULES:
        raise DataError(f"Expected data of a known kind: {list(KIND_NAMES)}. Received: kind={name!r}.")
    if name not in _LOADED:
        _LOADED[name] = importlib.import_module(KIND_MODULES[name]).KIND
    return _LOADED[name]


def require_kind(dataset: Any, name: str, *, what: str, instead: str = "") -> None:
    """Raise `DataError` unless ``dataset`` is a Dataset of kind ``name`` (``what`` names the
    operation that needs it; ``instead`` suggests what to use for other kinds).

    Example:
        >>> require_kind(load_dataset("digits"), "table", what="this export")  # doctest: +SKIP
        Traceback (most recent call last):
        DataError: Expected a Dataset of kind='table' for this export. Received: kind='image'.
    """
    from gan_augment.data.dataset import Dataset

    if not isinstance(dataset, Dataset):
        raise DataError(f"Expected a gan_augment Dataset for {what}. Received: {type(dataset).__name__}.")
    if dataset.kind != name:
        raise DataError(f"Expected a Dataset of kind={name!r} for {what}. Received: kind={dataset.kind!r}."
                        + (f" {instead}" if instead else ""))

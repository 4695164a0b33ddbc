"""The one container for image and table data sets.

A `Dataset` is immutable: every operation (`split`, `subsample`, `concat`, `take`) returns a new
one. Images live in `x` as float32 NHWC in [0, 1]; tables live in `frame` (features only) with the
class column moved to `y`. Labels are integers 0..num_classes-1 that index `class_names`.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from gan_augment.errors import DataError
from gan_augment.kinds import kind_of

Kind = Literal["image", "table"]  # the names in gan_augment.kinds.KIND_NAMES


@dataclasses.dataclass(frozen=True, eq=False)
class Dataset:
    """Labelled (or unlabelled) images or table rows, plus where they came from.

    Attributes:
        kind: ``"image"`` or ``"table"``.
        x: images, float32 array of shape ``(n, height, width, channels)`` in [0, 1]
            (``None`` for tables).
        frame: table features as a pandas DataFrame (``None`` for images).
        y: int64 labels of shape ``(n,)`` in ``0..len(class_names)-1``, or ``None``.
        class_names: a name per label value.
        target: for tables, the name of the class column (written back on export).
        provenance: where the data came from (source, options, parent operations).
        class_dtype: for tables whose class column held numbers or booleans, its dtype (e.g.
            ``"float64"``): the export writes the classes back as values of that dtype, not as
            text. ``None``: the class names are the classes (text, categories, images).

    Example:
        >>> import numpy as np
        >>> ds = Dataset.from_arrays(np.zeros((4, 8, 8, 1), "float32"), np.array([0, 1, 0, 1]))
        >>> len(ds), ds.num_classes, ds.shape
        (4, 2, (8, 8, 1))
    """

    kind: Kind
    x: np.ndarray | None = None
    frame: pd.DataFrame | None = None
    y: np.ndarray | None = None
    class_names: tuple[str, ...] = ()
    target: str | None = None
    provenance: dict[str, Any] = dataclasses.field(default_factory=dict)
    class_dtype: str | None = None

    # ------------------------------------------------------------------ construction
    def __post_init__(self) -> None:
        n = kind_of(self.kind).check_payload(self.x, self.frame)
        if self.y is not None:
            y = _check_labels(self.y, n, self.class_names)
            object.__setattr__(self, "y", y)
            if not self.class_names:
                object.__setattr__(
                    self, "class_names", tuple(str(i) for i in range(int(y.max()) + 1))
                )
        object.__setattr__(self, "class_names", tuple(str(c) for c in self.class_names))

    @classmethod
    def from_arrays(
        cls,
        x: np.ndarray,
        y: np.ndarray | None = None,
        class_names: Sequence[str] | None = None,
        **provenance: Any,
    ) -> Dataset:
        """Build an image Dataset from arrays, converting and checking them.

        ``x`` may be (n, h, w) or (n, h, w, c), float in [0, 1] or uint8 in [0, 255].
        """
        x = np.asarray(x)
        if x.ndim == 3:
            x = x[..., None]
        if x.dtype == np.uint8:
            x = x.astype(np.float32) / 255.0
        elif np.issubdtype(x.dtype, np.floating):
            x = x.astype(np.float32, copy=False)
        else:
            raise DataError(
                "Expected images as float in [0, 1] or uint8 in [0, 255]. "
                f"Received: x.dtype={x.dtype}. Convert with x.astype('float32') / x.max()."
            )
        return cls(
            kind="image",
            x=x,
            y=None if y is None else np.asarray(y),
            class_names=tuple(class_names or ()),
            provenance=dict(provenance),
        )

    # ------------------------------------------------------------------ properties
    def __len__(self) -> int:
        return len(kind_of(self.kind).payload(self))

    def __repr__(self) -> str:
        what = kind_of(self.kind).describe(self)
        src = self.provenance.get("source", "?")
        return f"Dataset(kind={self.kind!r}, n={len(self)}, {what}, classes={self.num_classes}, source={src!r})"

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of one sample: (h, w, c) for images, (n_columns,) for tables."""
        return tuple(kind_of(self.kind).payload(self).shape[1:])

    @property
    def num_classes(self) -> int:
        return len(self.class_names) if self.y is not None else 0

    @property
    def labeled(self) -> bool:
        return self.y is not None

    def class_counts(self) -> np.ndarray:
        """Number of samples per class, indexed by label (length ``num_classes``)."""
        if self.y is None:
            raise DataError("This Dataset has no labels (y=None), so it has no class counts.")
        return np.bincount(self.y, minlength=self.num_classes)

    def fingerprint(self) -> str:
        """A short hash of the samples (pixels or rows), the labels, the class names and the
        shape: equal for equal data, whatever the kind (cache and checkpoint keys)."""
        h = hashlib.sha256(f"{self.kind}|{self.shape}|{self.class_names}".encode())
        h.update(kind_of(self.kind).content_bytes(self))
        if self.y is not None:
            h.update(np.ascontiguousarray(self.y).tobytes())
        return h.hexdigest()[:16]

    # ------------------------------------------------------------------ operations
    def take(self, indices: np.ndarray | Sequence[int], **provenance: Any) -> Dataset:
        """The samples at ``indices``, in that order."""
        idx = np.asarray(indices, dtype=np.int64)
        return dataclasses.replace(
            self,
            x=None if self.x is None else self.x[idx],
            frame=None if self.frame is None else self.frame.iloc[idx].reset_index(drop=True),
            y=None if self.y is None else self.y[idx],
            provenance={**self.provenance, **provenance} if provenance else dict(self.provenance),
        )

    def split(self, test_size: float = 0.2, seed: int = 0) -> tuple[Dataset, Dataset]:
        """Stratified split into (train, test). ``test_size`` is a fraction or a count.

        Example:
            >>> train, test = load_dataset("digits").split(0.2, seed=0)  # doctest: +SKIP
        """
        train_idx, test_idx = self.split_indices(test_size, seed)
        op = {"split": {"test_size": test_size, "seed": seed}}
        return self.take(train_idx, **op, part="train"), self.take(test_idx, **op, part="test")

    def split_indices(self, test_size: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """The (train, test) indices that `split` with the same arguments takes.

        Example:
            >>> train_idx, test_idx = load_dataset("digits").split_indices(0.2, seed=0)  # doctest: +SKIP
        """
        n = len(self)
        n_test = round(test_size * n) if isinstance(test_size, float) else int(test_size)
        if not 0 < n_test < n:
            raise DataError(
                f"Expected test_size to leave at least one sample on each side of a split of {n} "
                f"samples. Received: test_size={test_size!r}."
            )
        rng = np.random.default_rng(seed)
        if self.y is None:
            perm = rng.permutation(n)
            return perm[n_test:], perm[:n_test]
        test_idx = _stratified_pick(self.y, n_test / n, rng)
        train_idx = rng.permutation(np.setdiff1d(np.arange(n), test_idx))
        return train_idx, test_idx

    def subsample(self, per_class: int, seed: int = 0) -> Dataset:
        """At most ``per_class`` samples of every class, drawn at random (low-data experiments)."""
        if self.y is None:
            raise DataError("subsample(per_class=...) needs labels; this Dataset has y=None.")
        if per_class < 1:
            raise DataError(f"Expected per_class >= 1. Received: per_class={per_class}.")
        rng = np.random.default_rng(seed)
        picks = [
            rng.permutation(np.flatnonzero(self.y == c))[:per_class] for c in range(self.num_classes)
        ]
        idx = np.sort(np.concatenate(picks))
        return self.take(idx, subsample={"per_class": per_class, "seed": seed})

    def concat(self, *others: Dataset) -> Dataset:
        """This Dataset followed by ``others`` (same kind, sample shape and classes), each part
        copied once."""
        for other in others:
            if other.kind != self.kind or other.shape != self.shape:
                raise DataError(
                    "Expected datasets of the same kind and sample shape to concatenate. "
                    f"Received: {self.kind}{self.shape} and {other.kind}{other.shape}."
                )
            if (self.y is None) != (other.y is None) or self.class_names != other.class_names:
                raise DataError(
                    "Expected both datasets to have the same classes to concatenate. "
                    f"Received: {self.class_names} and {other.class_names}."
                )
            if kind_of(self.kind).align(other, self, "other") is not other:
                raise DataError("Expected the same table columns, in the same order, to concatenate.")
        if not others:
            return self
        parts = (self, *others)
        return dataclasses.replace(
            self,
            x=None if self.x is None else np.concatenate([p.x for p in parts]),
            frame=None if self.frame is None else pd.concat([p.frame for p in parts], ignore_index=True),
            y=None if self.y is None else np.concatenate([p.y for p in parts]),
            # GAN samples do not carry it
            class_dtype=next((p.class_dtype for p in parts if p.class_dtype), None),
        )

    def with_labels(self, y: np.ndarray | None, class_names: Sequence[str] | None = None) -> Dataset:
        """The same samples with other labels (``None`` removes them)."""
        return dataclasses.replace(
            self, y=y, class_names=tuple(class_names) if class_names is not None else self.class_names
        )


# ---------------------------------------------------------------------- checks
def _check_labels(y: Any, n: int, class_names: Sequence[str]) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1:
        raise DataError(f"Expected labels of shape (n,). Received: y.shape={y.shape}.")
    if len(y) != n:
        raise DataError(
            f"Expected as many labels as samples. Received: {n} samples and len(y)={len(y)}."
        )
    if y.dtype.kind == "f":
        if not np.isfinite(y).all():
            raise DataError("Expected finite integer labels. Received: NaN or inf in y.")
        if not np.all(y == np.round(y)):
            raise DataError("Expected integer class labels. Received: fractional values in y.")
    elif y.dtype.kind not in "iu":
        raise DataError(
            f"Expected integer class labels. Received: y.dtype={y.dtype}. "
            "Map class names to 0..k-1 first (np.unique(y, return_inverse=True))."
        )
    y = y.astype(np.int64)
    if y.min() < 0:
        raise DataError(f"Expected labels >= 0. Received: min(y)={int(y.min())}.")
    if class_names and y.max() >= len(class_names):
        raise DataError(
            f"Expected labels below len(class_names)={len(class_names)}. Received: max(y)={int(y.max())}."
        )
    return y


def _stratified_pick(y: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Indices of about ``fraction`` of each class (at least one where a class has two or more).

    Not scikit-learn's ``train_test_split(stratify=y)``: it refuses a class with a single sample
    and a test side smaller than the number of classes — the rare classes this package exists to
    fill up. Here a lone sample stays on the training side and every class with two or more has
    one on each side."""
    picks = []
    for c in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == c))
        k = round(fraction * len(members))
        if len(members) > 1:
            k = min(max(k, 1), len(members) - 1)
        else:
            k = 0
        picks.append(members[:k])
    return np.sort(np.concatenate(picks))

"""Write Datasets (real, synthetic or both) to files that `load_dataset` and TFDS read back.

* :func:`export_npz` — image Datasets as ``.npz`` (x, y, class_names, synthetic); no pickles.
* :func:`export_parquet` / :func:`export_csv` — table Datasets as ``.parquet`` / ``.csv``
  (features + class column + synthetic flag).
* :func:`export_tfds` — image Datasets as a real TensorFlow Datasets directory.

Every export is atomic: it is written under a temporary name in the destination folder and
moved into place only when complete, so a crash never leaves a half-written file where a good
one was.

Example:
    >>> from gan_augment import load_dataset
    >>> from gan_augment.export import export_npz
    >>> path = export_npz(load_dataset("digits"), "data/outputs/digits.npz")  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gan_augment._io import _EDQUOT, DIR_MODE, STORAGE_ERRNOS, atomic_path, storage_error
from gan_augment.data.dataset import Dataset
from gan_augment.data.images import SYNTHETIC_KEY, check_synthetic_mask
from gan_augment.data.tables import CLASSES_ATTR, SYNTHETIC_COLUMN, label_name
from gan_augment.errors import DataError, StorageError
from gan_augment.kinds import require_kind

__all__ = ["export_csv", "export_npz", "export_parquet", "export_table", "export_tfds", "storage_errors"]

_TFDS_VERSION = "1.0.0"
_TFDS_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_SPLIT_NAME = re.compile(r"^[A-Za-z0-9_]+$")


def export_npz(dataset: Dataset, path: str | os.PathLike[str], *, synthetic: Any = None) -> Path:
    """Write an image Dataset to ``path`` (``.npz``, compressed), atomically.

    The file holds ``x`` (float32 NHWC in [0, 1]), ``y`` (int64, when labelled),
    ``class_names`` (a string array), ``synthetic`` (bool, when given) and ``provenance``
    (a JSON string). It loads with ``np.load(path, allow_pickle=False)`` and with
    ``load_dataset(path)``. ``.npz`` is appended to ``path`` when missing.

    Args:
        dataset: an image Dataset (tables go to :func:`export_parquet`).
        path: the file to write; its folder is created when needed.
        synthetic: optional boolean mask of length ``len(dataset)``, True for generated samples.

    Returns:
        The path written.

    Example:
        >>> out = export_npz(augmented.dataset, "data/outputs/digits_aug.npz",
        ...                  synthetic=augmented.synthetic)  # doctest: +SKIP
    """
    _require_kind(dataset, "image", "export_parquet")
    path = Path(path).expanduser()
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    arrays = npz_arrays(dataset, synthetic)

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:  # a file object keeps numpy from renaming the file
            np.savez_compressed(fh, **arrays)

    _atomic_write(path, write)
    return path


def export_parquet(
    dataset: Dataset, path: str | os.PathLike[str], *, synthetic: Any = None
) -> Path:
    """Write a table Dataset to ``path`` (``.parquet``), atomically.

    The features are written as they are, followed by the class column ``dataset.target``
    (``"target"`` when unset) as a categorical of the class names in label order — so
    ``load_dataset(path, target=...)`` gives back the same ``y`` and ``class_names`` — and a
    boolean ``_synthetic`` column when ``synthetic`` is given. A class column that was read as
    numbers or booleans (``dataset.class_dtype``, e.g. ``float64``) is written back as those values
    in that dtype, with the class names in the file's pandas metadata, so a file holding some of
    the classes still reads back with all of them.

    Example:
        >>> out = export_parquet(load_dataset("wine"), "data/outputs/wine.parquet")  # doctest: +SKIP
        >>> load_dataset(out, target="target").num_classes  # doctest: +SKIP
        3
    """
    path = Path(path).expanduser()
    frame = _table_frame(dataset, synthetic)

    def write(tmp: Path) -> None:
        try:
            frame.to_parquet(tmp, index=False)
        except (ValueError, TypeError) as exc:  # pyarrow cannot store some object columns
            raise DataError(
                f"Expected columns that parquet can store. Received: {type(exc).__name__}: {exc}. "
                "Convert mixed-type object columns to str first."
            ) from exc

    _atomic_write(path, write)
    return path


def export_csv(dataset: Dataset, path: str | os.PathLike[str], *, synthetic: Any = None) -> Path:
    """Write a table Dataset to ``path`` (``.csv``), atomically: the columns of
    :func:`export_parquet`, for tools that read CSV. CSV keeps no dtypes (categories come back
    as strings); prefer parquet when the file is read by pandas again.

    Example:
        >>> export_csv(load_dataset("penguins"), "data/outputs/penguins.csv")  # doctest: +SKIP
    """
    path = Path(path).expanduser()
    frame = _table_frame(dataset, synthetic)
    _atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False))
    return path


def export_table(dataset: Dataset, path: str | os.PathLike[str], *, synthetic: Any = None) -> Path:
    """:func:`export_csv` for a ``.csv`` path, :func:`export_parquet` otherwise."""
    writer = export_csv if Path(path).suffix.lower() == ".csv" else export_parquet
    return writer(dataset, path, synthetic=synthetic)


def _table_frame(dataset: Dataset, synthetic: Any) -> pd.DataFrame:
    """The features, the class column as a categorical of the class names, and the synthetic flag."""
    _require_kind(dataset, "table", "export_npz or export_tfds")
    target = dataset.target or "target"
    clashes = {target, SYNTHETIC_COLUMN} & {str(c) for c in dataset.frame.columns}
    if clashes:
        raise DataError(
            f"Expected feature columns distinct from the class column {target!r} and "
            f"{SYNTHETIC_COLUMN!r}. Received: feature columns {sorted(clashes)}. Rename them."
        )
    frame = dataset.frame.reset_index(drop=True).copy()
    frame.attrs.pop(CLASSES_ATTR, None)
    if dataset.y is not None:
        y = np.asarray(dataset.y, np.int64)
        values = class_values(dataset)
        if values is None:
            frame[target] = pd.Categorical.from_codes(y, categories=list(dataset.class_names))
        else:  # the column's own numbers (or booleans), in its dtype
            frame[target] = values.take(y)
            frame.attrs[CLASSES_ATTR] = {"target": str(target), "class_names": list(dataset.class_names)}
    if synthetic is not None:
        frame[SYNTHETIC_COLUMN] = check_synthetic_mask(synthetic, len(dataset), where="synthetic=")
    return frame


def class_values(dataset: Dataset) -> Any:
    """The class of each label as a value of the column it was read from (a pandas array of
    ``dataset.class_dtype``), or None when the class names are the values (text, categories) or
    do not parse back to them."""
    dtype = getattr(dataset, "class_dtype", None)
    if dtype is None or not dataset.class_names:
        return None
    try:
        dtype = pd.api.types.pandas_dtype(dtype)
        if dtype.kind == "b":
            parsed: list[Any] = [{"True": True, "False": False}[name] for name in dataset.class_names]
        elif dtype.kind in "iu":
            parsed = [int(name) for name in dataset.class_names]
        elif dtype.kind == "f":
            parsed = [float(name) for name in dataset.class_names]
        else:
            return None
        values = pd.array(parsed, dtype=dtype)
    except (KeyError, TypeError, ValueError, OverflowError):
        return None
    if tuple(label_name(v) for v in values) != tuple(dataset.class_names):
        return None  # the names were changed after loading: they are the classes now
    return values


def export_tfds(
    dataset: Dataset,
    directory: str | os.PathLike[str],
    *,
    name: str = "gan_augment_dataset",
    synthetic: Any = None,
    split: str = "train",
) -> Path:
    """Write an image Dataset as a TensorFlow Datasets dataset under ``directory``.

    Features: ``image`` (uint8, quantised from [0, 1]), ``label`` (``ClassLabel`` with the class
    names; omitted for unlabelled data) and ``synthetic`` (bool, when given). The dataset is
    written with ``tfds.dataset_builders.store_as_tfds_dataset`` into a temporary folder and
    moved to ``directory/<name>/`` when complete; an existing export of that name is replaced
    only then. Order of the examples is kept.

    Returns:
        ``directory/<name>/1.0.0``, the folder that ``tfds.builder_from_directory`` and
        ``load_dataset`` read; ``tfds.load(name, data_dir=directory)`` works as well.

    Example:
        >>> out = export_tfds(load_dataset("digits"), "data/outputs/tfds", name="digits_aug")  # doctest: +SKIP
        >>> import tensorflow_datasets as tfds
        >>> tfds.builder_from_directory(out).info.splits["train"].num_examples  # doctest: +SKIP
        1797
    """
    _require_kind(dataset, "image", "export_parquet")
    check_tfds_name(name)
    if not isinstance(split, str) or not _SPLIT_NAME.match(split):
        raise DataError(
            f"Expected split as a plain name such as 'train'. Received: split={split!r}."
        )
    mask = (
        None
        if synthetic is None
        else check_synthetic_mask(synthetic, len(dataset), where="synthetic=")
    )

    import tensorflow_datasets as tfds

    features = tfds_features(dataset.shape, dataset.class_names if dataset.y is not None else None,
                             synthetic=mask is not None)
    images = to_uint8(dataset.x)

    def examples() -> Iterator[tuple[int, dict[str, Any]]]:
        for i in range(len(images)):
            example: dict[str, Any] = {"image": images[i]}
            if dataset.y is not None:
                example["label"] = int(dataset.y[i])
            if mask is not None:
                example["synthetic"] = bool(mask[i])
            yield i, example

    directory = Path(directory).expanduser()
    final = directory / name
    with storage_errors(final, needs=images.nbytes):
        directory.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=directory))
        os.chmod(staging, DIR_MODE)  # mkdtemp's folder is private; the export is not
    try:
        # TFDS prints "Downloading and preparing dataset Unknown size …" although nothing is
        # downloaded, progress bars over the staging folder, and an absl warning that the staging
        # folder has no dataset_info.json yet: keep its chatter off the user's console (errors
        # still raise).
        with (contextlib.redirect_stdout(io.StringIO()), _quiet_logging(), _no_temp_leftovers(),
              storage_errors(final, needs=images.nbytes)):
            tfds.disable_progress_bar()
            tfds.dataset_builders.store_as_tfds_dataset(
                name=name,
                version=_TFDS_VERSION,
                features=features,
                split_datasets={split: examples()},
                data_dir=staging,
                description=f"Exported by gan_augment. Provenance: {_provenance_json(dataset)}",
                disable_shuffling=True,
            )
        with storage_errors(final):
            _replace_dir(staging / name, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final / _TFDS_VERSION


# ---------------------------------------------------------------------- shared with streaming.py
def npz_arrays(dataset: Dataset, synthetic: Any = None) -> dict[str, np.ndarray]:
    """The arrays of an `export_npz` file: ``x``, ``class_names``, ``provenance``, ``y`` (when
    labelled), ``synthetic`` (when given)."""
    arrays: dict[str, np.ndarray] = {
        "x": np.ascontiguousarray(dataset.x, dtype=np.float32),
        "class_names": np.array(list(dataset.class_names), dtype=np.str_).reshape(-1),
        "provenance": np.array(_provenance_json(dataset)),
    }
    if dataset.y is not None:
        arrays["y"] = np.asarray(dataset.y, np.int64)
    if synthetic is not None:
        arrays[SYNTHETIC_KEY] = check_synthetic_mask(synthetic, len(dataset), where="synthetic=")
    return arrays


def check_tfds_name(name: Any) -> None:
    """A `DataError` unless ``name`` is a TFDS dataset name (snake_case)."""
    if not isinstance(name, str) or not _TFDS_NAME.match(name):
        raise DataError(
            "Expected name in snake_case (lowercase letters, digits and '_', starting with a "
            f"letter), as TFDS requires. Received: name={name!r}."
        )


def tfds_features(shape: tuple[int, ...], class_names: Any, *, synthetic: bool) -> Any:
    """The TFDS features of an image export: ``image`` (uint8), ``label`` (a ``ClassLabel`` of
    ``class_names``; none when ``None``) and ``synthetic`` (bool, when asked for)."""
    import tensorflow_datasets as tfds

    height, width, channels = shape
    if channels not in (1, 3, 4):  # pragma: no cover - the Dataset already guarantees this
        raise DataError(f"Expected 1, 3 or 4 channels. Received: {channels}.")
    spec: dict[str, Any] = {
        "image": tfds.features.Image(shape=(height, width, channels), dtype=np.uint8),
    }
    if class_names is not None:
        spec["label"] = tfds.features.ClassLabel(names=list(class_names))
    if synthetic:
        spec["synthetic"] = tfds.features.Scalar(dtype=np.bool_)
    return tfds.features.FeaturesDict(spec)


def to_uint8(x: np.ndarray) -> np.ndarray:
    """Images in [0, 1] quantised to uint8 as the TFDS exports store them."""
    return np.clip(np.round(x * 255.0), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------------- full or read-only disks
#: What TensorFlow's file-system errors (an ``OpError``, not an ``OSError``: TFDS writes through
#: ``tf.io.gfile``) say for the errno of a full, read-only or unwritable file system.
_TF_STORAGE_MESSAGES = (
    ("No space left on device", errno.ENOSPC),
    ("Disk quota exceeded", _EDQUOT),
    ("Read-only file system", errno.EROFS),
    ("Permission denied", errno.EACCES),
)


def _storage_errno(exc: BaseException) -> int | None:
    """The errno of a full, read-only or unwritable file system that ``exc`` reports, else None."""
    if isinstance(exc, OSError):
        return exc.errno if exc.errno in STORAGE_ERRNOS else None
    if type(exc).__module__.startswith("tensorflow") and hasattr(exc, "error_code"):
        text = str(exc)
        for phrase, code in _TF_STORAGE_MESSAGES:
            if phrase in text:
                return code
    return None


@contextlib.contextmanager
def storage_errors(folder: str | os.PathLike[str], *, needs: Any = None) -> Iterator[None]:
    """A full disk, a read-only file system or a folder without write permission met inside the
    block — an ``OSError`` without a file name (TFDS's own writers) or TensorFlow's ``OpError``
    saying so — raises the one-line `StorageError` naming ``folder`` (the export being written;
    ``needs``: about how many bytes it takes). A `StorageError` (a file already named) and any
    other error pass through as they are.

    Example:
        >>> with storage_errors("out/tfds/digits"):  # doctest: +SKIP
        ...     tfds.dataset_builders.store_as_tfds_dataset(...)
    """
    try:
        yield
    except StorageError:
        raise
    except Exception as exc:
        code = _storage_errno(exc)
        if code is None:
            raise
        cause = exc if isinstance(exc, OSError) else OSError(code, os.strerror(code))
        raise storage_error(cause, folder, needs=needs) from exc


# ---------------------------------------------------------------------- helpers
@contextlib.contextmanager
def _quiet_logging() -> Iterator[None]:
    """absl's warnings off for a block, and the root logger's handlers as they were afterwards
    (TFDS configures the root logger on first use, which would print every library line twice)."""
    import logging

    root, absl = logging.getLogger(), logging.getLogger("absl")
    handlers, level = list(root.handlers), absl.level
    absl.setLevel(logging.ERROR)
    try:
        yield
    finally:
        absl.setLevel(level)
        for handler in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(handler)


@contextlib.contextmanager
def _no_temp_leftovers() -> Iterator[None]:
    """Remove the empty ``tmp…tfds`` folders TFDS leaves in the system temporary folder during the
    block (`DatasetInfo.initialize_from_bucket` makes one for metadata it never finds offline)."""
    root = Path(tempfile.gettempdir())

    def found() -> set[str]:
        try:
            return {p.name for p in root.glob("tmp*tfds")}
        except OSError:
            return set()

    before = found()
    try:
        yield
    finally:
        for name in found() - before:
            try:
                (root / name).rmdir()  # only when empty: a folder another process filled stays
            except OSError:
                pass


def _require_kind(dataset: Any, kind: str, other: str) -> None:
    require_kind(dataset, kind, what="this export", instead=f"Use {other} instead.")


def _provenance_json(dataset: Dataset) -> str:
    return json.dumps(dataset.provenance, default=str, sort_keys=True)


def _atomic_write(path: Path, write: Any) -> None:
    """Call ``write(tmp)`` on a temporary file next to ``path``, then move it onto ``path``."""
    with atomic_path(path) as tmp:
        write(tmp)


def _replace_dir(new: Path, final: Path) -> None:
    """Move the folder ``new`` to ``final``, replacing an existing ``final`` only at the end."""
    if not final.exists():
        os.replace(new, final)
        return
    old = final.with_name(f".{final.name}.old-{os.getpid()}-{os.urandom(3).hex()}")
    os.replace(final, old)
    try:
        os.replace(new, final)
    except BaseException:
        os.replace(old, final)  # put the previous export back
        raise
    shutil.rmtree(old, ignore_errors=True)

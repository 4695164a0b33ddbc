"""`load_dataset`: one entry point for every data source.

Accepted sources:

* built-in names: ``"digits"`` (default; scikit-learn's 1797 real 8x8 digits), ``"breast_cancer"``
  and ``"wine"`` (scikit-learn tables), ``"penguins"`` (the Palmer penguins table from the
  ``palmerpenguins`` package: numeric, categorical and missing values), ``"rendered_digits"``
  (digits drawn with matplotlib's fonts: a labelled source domain for translation; options
  ``per_class``, ``image_size``, ``seed``), ``"sample_photos"`` (tiles of three colour photographs
  inside scikit-learn and matplotlib, for super-resolution; options ``split`` — "train" or the
  held-out "test" photograph — ``tile``, ``stride``);
* ``"tfds:<name>"``: a TensorFlow Datasets catalog data set, e.g. ``"tfds:mnist"`` (prepared in
  ``data_dir``; nothing is downloaded unless ``download=True``);
* ``"tfds_dir:<path>"`` or a directory holding ``dataset_info.json``: a prepared TFDS directory,
  for example one written by :func:`gan_augment.export.export_tfds`;
* a directory of images ``root/<class>/*.png`` or ``root/<split>/<class>/*.png``;
* an ``.npz`` file with arrays ``x`` (and optionally ``y``, ``class_names``, ``synthetic``);
* a ``.csv`` / ``.parquet`` table with ``target="<class column>"``.

A built-in name wins over a folder of the same name: write ``"./digits"`` for the folder.
Importing this module imports neither TensorFlow nor scikit-learn.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np

from gan_augment.data.dataset import Dataset
from gan_augment.errors import DataError, UnknownSourceError

#: The source `load_dataset()` reads when none is given.
DEFAULT_SOURCE = "digits"

_BUILTIN: dict[str, str] = {
    "digits": "scikit-learn's 1797 real 8x8 handwritten digits (images, 10 classes)",
    "breast_cancer": "scikit-learn's breast cancer table (569 rows, 30 features, 2 classes)",
    "wine": "scikit-learn's wine table (178 rows, 13 features, 3 classes)",
    "penguins": "Palmer penguins table (344 rows, 6 mixed features with missing values, 3 species)",
    "rendered_digits": "digits 0-9 drawn with the fonts inside matplotlib, randomly jittered (8x8 images, "
                       "10 classes, 500 per class; a labelled source domain for translation)",
    "sample_photos": "64x64 tiles of colour photographs shipped in scikit-learn and matplotlib (split "
                     "'train': china, flower; 'test': grace_hopper; high-resolution images for super-resolution)",
}

_NPZ_SUFFIXES = (".npz",)
_TABLE_SUFFIXES = (".csv", ".parquet", ".pq")

_ACCEPTED_FORMS = (
    "a built-in name ({names}), 'tfds:<name>' (e.g. 'tfds:mnist'), 'tfds_dir:<path>', or the "
    "path of an image folder (root/<class>/*.png or root/<split>/<class>/*.png), a TFDS dataset "
    "directory (with dataset_info.json), an .npz file (arrays x, y) or a .csv/.parquet table "
    "(with target='<column>')"
)

# options each kind of source takes (besides `synthetic`, which all take)
_OPTIONS: dict[str, tuple[str, ...]] = {
    "digits": ("image_size",),
    "rendered_digits": ("image_size", "per_class", "seed"),
    "sample_photos": ("split", "tile", "stride"),
    "sklearn_table": (),
    "penguins": (),
    "tfds": (
        "data_dir",
        "split",
        "download",
        "image_key",
        "label_key",
        "max_examples",
        "image_size",
    ),
    "tfds_dir": ("split", "image_key", "label_key", "max_examples", "image_size"),
    "image_folder": ("split", "image_size"),
    "npz": ("image_size",),
    "table_file": ("target",),
}

SyntheticChoice = Literal["keep", "drop", "only"]


def list_sources() -> list[str]:
    """Names of the built-in sources, the default first.

    Example:
        >>> list_sources()
        ['digits', 'breast_cancer', 'wine', 'penguins', 'rendered_digits', 'sample_photos']
    """
    return list(_BUILTIN)


def load_dataset(source: str | os.PathLike[str] = DEFAULT_SOURCE, **options: Any) -> Dataset:
    """Load a data set from a built-in name, a TFDS name or directory, or a file or folder path.

    Args:
        source: ``"digits"`` (default), ``"breast_cancer"``, ``"wine"``, ``"penguins"``, ``"tfds:<name>"``,
            ``"tfds_dir:<path>"``, or a path to an image folder, TFDS directory, ``.npz``,
            ``.csv`` or ``.parquet`` file.
        **options: depending on the source —
            ``image_size`` (int or (height, width); images are resized bilinearly),
            ``split`` (image-folder split folder or TFDS split, default ``"train"``),
            ``data_dir``, ``download`` (default False), ``image_key``, ``label_key``,
            ``max_examples`` (TFDS), ``target`` (class column of a table file, required), and
            ``synthetic``: ``"keep"`` (default), ``"drop"`` or ``"only"`` the samples that an
            export marked as synthetic.

    Returns:
        A validated :class:`~gan_augment.data.Dataset` whose ``provenance`` records the source
        and the options used.

    Raises:
        UnknownSourceError: the source is neither a known name nor an existing path.
        DataError: the data cannot be used (missing file, empty folder, NaN, corrupt image, ...).

    Example:
        >>> ds = load_dataset("digits", image_size=28)
        >>> len(ds), ds.shape
        (1797, (28, 28, 1))
        >>> table = load_dataset("plants.csv", target="species")  # doctest: +SKIP
    """
    dataset, _ = load_dataset_and_mask(source, **options)
    return dataset


#: Readers whose sources are tables (every other reader gives images).
_TABLE_READERS = ("sklearn_table", "penguins", "table_file")


def source_kind(source: str | os.PathLike[str]) -> str:
    """``"table"`` or ``"image"``: the kind of Dataset ``load_dataset(source)`` gives, found from
    the source's form without reading the data (an unknown source raises as `load_dataset` does).

    Example:
        >>> source_kind("penguins"), source_kind("digits")
        ('table', 'image')
    """
    return "table" if _resolve(source)[0] in _TABLE_READERS else "image"


def load_dataset_and_mask(
    source: str | os.PathLike[str] = DEFAULT_SOURCE, **options: Any
) -> tuple[Dataset, np.ndarray | None]:
    """Like :func:`load_dataset`, and also the boolean mask of synthetic samples (``None`` when
    the source does not mark any), aligned with the returned Dataset.

    Example:
        >>> ds, synthetic = load_dataset_and_mask("data/outputs/augmented.npz")  # doctest: +SKIP
        >>> real_only = ds.take(np.flatnonzero(~synthetic))  # doctest: +SKIP
    """
    synthetic_choice = options.pop("synthetic", "keep")
    if synthetic_choice not in ("keep", "drop", "only"):
        raise DataError(
            "Expected synthetic='keep', 'drop' or 'only'. "
            f"Received: synthetic={synthetic_choice!r}."
        )
    kind, target, reader = _resolve(source)
    allowed = _OPTIONS[kind]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise DataError(
            f"Expected options for a {kind.replace('_', ' ')} source among "
            f"{sorted([*allowed, 'synthetic'])}. Received: {', '.join(unknown)} "
            f"(source={str(source)!r})."
        )
    dataset, mask = reader(target, dict(options), str(source))
    # the reader made a fresh dict: completing it in place is safe (the Dataset is frozen)
    merged = {
        "source": str(source),
        "source_kind": kind,
        **_jsonable(options),
        **dataset.provenance,  # the reader's normalised values win, e.g. image_size=[28, 28]
    }
    dataset.provenance.clear()
    dataset.provenance.update(merged)

    if mask is not None:
        dataset.provenance["n_synthetic"] = int(mask.sum())
    if synthetic_choice != "keep":
        if mask is None:
            if synthetic_choice == "only":
                raise DataError(
                    f"Expected a source that marks synthetic samples for synthetic='only'. "
                    f"Received: {str(source)!r} has no synthetic mask. Export augmented data with "
                    "export_npz/export_parquet/export_tfds(..., synthetic=mask)."
                )
        else:
            keep = ~mask if synthetic_choice == "drop" else mask
            if not keep.any():
                raise DataError(
                    f"Expected at least one sample left after synthetic={synthetic_choice!r}. "
                    f"Received: {str(source)!r} has {int(mask.sum())} synthetic of {len(mask)}."
                )
            dataset = dataset.take(np.flatnonzero(keep), synthetic=synthetic_choice)
            mask = mask[keep]
    return dataset, mask


# ---------------------------------------------------------------------- dispatch
Loaded = tuple[Dataset, np.ndarray | None]
Reader = Callable[[Any, dict[str, Any], str], Loaded]


def _resolve(source: Any) -> tuple[str, Any, Reader]:
    """(kind, argument for the reader, reader) for a source string or path."""
    if not isinstance(source, (str, os.PathLike)):
        raise UnknownSourceError(
            f"Expected a source as a string or path: {_forms()}. "
            f"Received: {source!r} of type {type(source).__name__}."
        )
    text = os.fspath(source)
    if isinstance(source, str):
        if text == "digits":
            return "digits", None, _read_digits
        if text == "rendered_digits":
            return "rendered_digits", None, _read_rendered_digits
        if text == "sample_photos":
            return "sample_photos", None, _read_sample_photos
        if text in ("breast_cancer", "wine"):
            return "sklearn_table", text, _read_sklearn_table
        if text == "penguins":
            return "penguins", text, _read_penguins
        if text.startswith("tfds:"):
            return "tfds", text[len("tfds:") :], _read_tfds
        if text.startswith("tfds_dir:"):
            return "tfds_dir", Path(text[len("tfds_dir:") :]).expanduser(), _read_tfds_dir
        if not text.strip():
            raise UnknownSourceError(f"Expected a source: {_forms()}. Received: an empty string.")

    path = Path(text).expanduser()
    if not path.exists():
        if _looks_like_path(text):
            raise DataError(
                f"Expected an existing file or folder. Received: '{path}', which does not exist "
                f"(working directory '{Path.cwd()}'). Check the path."
            )
        close = difflib.get_close_matches(text, list(_BUILTIN), n=2)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise UnknownSourceError(
            f"Expected {_forms()}. Received: {text!r}, which is neither a built-in name nor an "
            f"existing path.{hint}"
        )
    if path.is_dir():
        from gan_augment.data.tfds_source import find_tfds_dir

        if find_tfds_dir(path) is not None:
            return "tfds_dir", path, _read_tfds_dir
        return "image_folder", path, _read_image_folder
    suffix = path.suffix.lower()
    if suffix in _NPZ_SUFFIXES:
        return "npz", path, _read_npz
    if suffix in _TABLE_SUFFIXES:
        return "table_file", path, _read_table_file
    raise DataError(
        f"Expected a file ending in {', '.join(_NPZ_SUFFIXES + _TABLE_SUFFIXES)}, or a folder. "
        f"Received: '{path}'. Accepted sources: {_forms()}."
    )


def _forms() -> str:
    return _ACCEPTED_FORMS.format(names=", ".join(repr(n) for n in _BUILTIN))


def _looks_like_path(text: str) -> bool:
    suffix = Path(text).suffix.lower()
    return (
        "/" in text
        or os.sep in text
        or text.startswith((".", "~"))
        or suffix in _NPZ_SUFFIXES + _TABLE_SUFFIXES
    )


def _jsonable(options: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in options.items():
        if isinstance(value, os.PathLike):
            value = os.fspath(value)
        elif isinstance(value, tuple):
            value = list(value)
        out[key] = value
    return out


# ---------------------------------------------------------------------- readers
def _read_digits(_: Any, options: dict[str, Any], source: str) -> Loaded:
    from gan_augment.data.images import load_digits

    return load_digits(source=source, **options), None


def _read_rendered_digits(_: Any, options: dict[str, Any], source: str) -> Loaded:
    from gan_augment.data.rendered import render_digits

    return render_digits(**options), None


def _read_sample_photos(_: Any, options: dict[str, Any], source: str) -> Loaded:
    from gan_augment.data.photos import photo_tiles

    return photo_tiles(**options), None


def _read_sklearn_table(name: str, options: dict[str, Any], source: str) -> Loaded:
    from gan_augment.data.tables import load_sklearn_table

    return load_sklearn_table(name, source=source), None


def _read_penguins(name: str, options: dict[str, Any], source: str) -> Loaded:
    from gan_augment.data.tables import load_penguins

    return load_penguins(source=source), None


def _read_tfds(name: str, options: dict[str, Any], source: str) -> Loaded:
    from gan_augment.data.tfds_source import load_tfds

    return load_tfds(name, source=source, **options)


def _read_tfds_dir(path: Path, options: dict[str, Any], source: str) -> Loaded:
    from gan_augment.data.tfds_source import load_tfds_dir

    return load_tfds_dir(path, source=source, **options)


def _read_image_folder(path: Path, options: dict[str, Any], source: str) -> Loaded:
    from gan_augment.data.images import load_image_folder

    return load_image_folder(path, source=source, **options), None


def _read_npz(path: Path, options: dict[str, Any], source: str) -> Loaded:
    from gan_augment.data.images import load_npz

    return load_npz(path, source=source, **options)


def _read_table_file(path: Path, options: dict[str, Any], source: str) -> Loaded:
    from gan_augment.data.tables import load_table_file

    return load_table_file(path, source=source, **options)

"""TensorFlow Datasets sources: catalog names (``tfds:mnist``) and prepared TFDS directories.

Nothing is downloaded unless the caller passes ``download=True``; GCS is never tried
(``try_gcs=False``). TensorFlow and TFDS are imported inside the functions.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gan_augment.data.dataset import Dataset
from gan_augment.data.images import (
    SYNTHETIC_KEY,
    ImageSize,
    check_synthetic_mask,
    normalize_image_size,
    resize_images,
    to_float_images,
)
from gan_augment.errors import DataError, UnknownSourceError

if TYPE_CHECKING:  # pragma: no cover
    import tensorflow_datasets as tfds

#: File that marks a prepared TFDS dataset directory (``<data_dir>/<name>/<version>/``).
TFDS_INFO_FILE = "dataset_info.json"

_BATCH = 1024


def find_tfds_dir(path: str | Path) -> Path | None:
    """The TFDS dataset directory at ``path``: itself if it holds ``dataset_info.json``, else its
    newest ``<version>/`` sub-folder that does, else ``None``.

    Example:
        >>> find_tfds_dir("data/outputs/tfds/gan_augment_dataset")  # doctest: +SKIP
        PosixPath('data/outputs/tfds/gan_augment_dataset/1.0.0')
    """
    path = Path(path).expanduser()
    if not path.is_dir():
        return None
    if (path / TFDS_INFO_FILE).is_file():
        return path
    versions = []
    for sub in path.iterdir():
        parts = sub.name.split(".")
        if (
            sub.is_dir()
            and len(parts) == 3
            and all(p.isdigit() for p in parts)
            and (sub / TFDS_INFO_FILE).is_file()
        ):
            versions.append((tuple(int(p) for p in parts), sub))
    return max(versions)[1] if versions else None


def load_tfds(
    name: str,
    *,
    data_dir: str | Path | None = None,
    split: str = "train",
    download: bool = False,
    image_key: str = "image",
    label_key: str | None = "label",
    max_examples: int | None = None,
    image_size: ImageSize | None = None,
    source: str | None = None,
) -> tuple[Dataset, np.ndarray | None]:
    """A TFDS catalog data set (``"mnist"``, ``"fashion_mnist"``, ...) as an image Dataset.

    The data set must already be prepared in ``data_dir`` (TFDS's default directory when
    ``None``) unless ``download=True``. Images are converted to float32 [0, 1] NHWC; class names
    come from the ``ClassLabel`` feature ``label_key``. Returns the Dataset and the synthetic
    mask when the data set has a boolean ``synthetic`` feature.

    Example:
        >>> ds, _ = load_tfds("mnist", data_dir="~/tensorflow_datasets", max_examples=1000)  # doctest: +SKIP
    """
    import tensorflow_datasets as tfds

    source = source if source is not None else f"tfds:{name}"
    if not name or not isinstance(name, str):
        raise UnknownSourceError(
            f"Expected a TFDS data set name after 'tfds:', e.g. 'tfds:mnist'. Received: {source!r}."
        )
    builder_kwargs: dict[str, Any] = {}
    if data_dir is not None:
        builder_kwargs["data_dir"] = str(Path(data_dir).expanduser())
    try:
        builder = tfds.builder(name, try_gcs=False, **builder_kwargs)
    except tfds.core.DatasetNotFoundError as exc:
        known = tfds.list_builders(with_community_datasets=False)
        close = difflib.get_close_matches(name.split("/")[0].split(":")[0], known, n=3)
        hint = f" Did you mean {', '.join(repr('tfds:' + c) for c in close)}?" if close else ""
        raise UnknownSourceError(
            f"Expected the name of a TFDS data set, e.g. 'tfds:mnist'. Received: {source!r}, "
            f"which TFDS does not know.{hint} List the names with "
            "`python -c 'import tensorflow_datasets as tfds; print(tfds.list_builders())'` or see "
            "https://www.tensorflow.org/datasets/catalog/overview."
        ) from exc

    if download:
        builder.download_and_prepare()

    def not_prepared(exc: BaseException) -> DataError:
        root = getattr(builder, "data_dir_root", data_dir)
        return DataError(
            f"Expected the TFDS data set {name!r} ({builder.version}) to be prepared in "
            f"data_dir='{root}'. Received: it is not in that data_dir (no '{builder.data_dir}') "
            "and download=False. Pass data_dir= a directory where it was prepared (one holding "
            f"{builder.name}/{builder.version}/dataset_info.json), or download=True to download "
            "and prepare it (needs internet)."
        )

    provenance: dict[str, Any] = {"source": source, "reader": "tfds", "name": name, "split": split,
                                  "version": str(builder.version),
                                  "data_dir": None if data_dir is None else str(data_dir)}
    return builder_to_dataset(builder, split=split, image_key=image_key, label_key=label_key,
                              max_examples=max_examples, image_size=image_size,
                              provenance=provenance, on_missing=not_prepared)


def load_tfds_dir(
    path: str | Path,
    *,
    split: str = "train",
    image_key: str = "image", label_key: str | None = "label",
    max_examples: int | None = None,
    image_size: ImageSize | None = None,
    source: str | None = None,
) -> tuple[Dataset, np.ndarray | None]:
    """A prepared TFDS directory (for example one written by
    :func:`gan_augment.export.export_tfds`) as an image Dataset, read with
    ``tfds.builder_from_directory``.

    ``path`` is the directory holding ``dataset_info.json``, or its parent holding ``<version>/``
    folders (the newest is read).

    Example:
        >>> ds, synthetic = load_tfds_dir("data/outputs/tfds/gan_augment_dataset/1.0.0")  # doctest: +SKIP
    """
    import tensorflow_datasets as tfds

    path = Path(path).expanduser()
    source = source if source is not None else str(path)
    if not path.exists():
        raise DataError(
            f"Expected an existing TFDS dataset directory. Received: '{path}', which does not exist."
        )
    found = find_tfds_dir(path)
    if found is None:
        raise DataError(
            f"Expected a TFDS dataset directory holding {TFDS_INFO_FILE} (or <version>/ folders "
            f"that do). Received: '{path}'. Point at the folder written by export_tfds."
        )
    try:
        builder = tfds.builder_from_directory(str(found))
    except Exception as exc:  # TFDS raises a variety of errors for broken metadata
        raise DataError(
            f"Expected a readable TFDS dataset directory. Received: '{found}' could not be read "
            f"({type(exc).__name__}: {exc})."
        ) from exc

    def missing(exc: BaseException) -> DataError:
        return DataError(
            f"Expected the data files of the TFDS dataset in '{found}'. Received: none ({exc})."
        )

    provenance: dict[str, Any] = {"source": source, "reader": "tfds_dir", "path": str(found),
                                  "name": builder.name, "split": split, "version": str(builder.version)}
    return builder_to_dataset(builder, split=split, image_key=image_key, label_key=label_key,
                              max_examples=max_examples, image_size=image_size,
                              provenance=provenance, on_missing=missing)


def builder_to_dataset(
    builder: tfds.core.DatasetBuilder,
    *,
    split: str = "train",
    image_key: str = "image",
    label_key: str | None = "label",
    max_examples: int | None = None,
    image_size: ImageSize | None = None,
    provenance: dict[str, Any] | None = None,
    on_missing: Any = None,
) -> tuple[Dataset, np.ndarray | None]:
    """Read one split of a TFDS builder into an image Dataset (and its synthetic mask, if any).

    Example:
        >>> import tensorflow_datasets as tfds
        >>> ds, _ = builder_to_dataset(tfds.builder_from_directory(path), split="train")  # doctest: +SKIP
    """
    import tensorflow_datasets as tfds

    if max_examples is not None and (
        isinstance(max_examples, bool) or not isinstance(max_examples, int) or max_examples < 1
    ):
        raise DataError(
            f"Expected max_examples as a positive int or None. Received: max_examples={max_examples!r}."
        )
    size = normalize_image_size(image_size)
    features = builder.info.features
    keys = sorted(features.keys())
    if image_key not in features:
        raise DataError(
            f"Expected an image feature {image_key!r} in TFDS data set {builder.name!r}. "
            f"Received: features {keys}. Pass image_key= one of these."
        )
    if label_key is not None and label_key not in features:
        raise DataError(
            f"Expected a label feature {label_key!r} in TFDS data set {builder.name!r}. "
            f"Received: features {keys}. Pass label_key= one of these, or label_key=None."
        )
    wanted = [image_key] + ([label_key] if label_key is not None else [])
    if SYNTHETIC_KEY in features and SYNTHETIC_KEY not in wanted:
        wanted.append(SYNTHETIC_KEY)

    try:
        tf_ds = builder.as_dataset(split=split, shuffle_files=False)
    except AssertionError as exc:  # TFDS: "could not find data in <data_dir>"
        raise (on_missing(exc) if on_missing else DataError(str(exc))) from exc
    except (ValueError, KeyError) as exc:
        splits = list(builder.info.splits.keys())
        raise DataError(
            f"Expected split= a split of TFDS data set {builder.name!r}"
            f"{f' ({splits})' if splits else ''}, e.g. 'train' or 'train[:10%]'. "
            f"Received: split={split!r} ({exc})."
        ) from exc
    tf_ds = tf_ds.map(lambda ex: {k: ex[k] for k in wanted})
    if max_examples is not None:
        tf_ds = tf_ds.take(max_examples)

    image_shape = tuple(features[image_key].shape)
    fixed = all(d is not None for d in image_shape)
    if not fixed and size is None:
        raise DataError(
            f"Expected images of one size in TFDS data set {builder.name!r}. Received: feature "
            f"{image_key!r} of shape {image_shape} (variable size). Pass image_size=(height, width)."
        )
    columns: dict[str, list[np.ndarray]] = {k: [] for k in wanted}
    if fixed:
        for batch in tfds.as_numpy(tf_ds.batch(_BATCH)):
            for k in wanted:
                columns[k].append(batch[k])
    else:
        for example in tfds.as_numpy(tf_ds):
            image = to_float_images(np.asarray(example[image_key])[None], what="image")
            columns[image_key].append(resize_images(image, size))
            for k in wanted[1:]:
                columns[k].append(np.asarray(example[k])[None])
    if not columns[image_key]:
        raise DataError(
            f"Expected at least one example in split {split!r} of TFDS data set "
            f"{builder.name!r}. Received: an empty split."
        )
    x = to_float_images(np.concatenate(columns[image_key]), what=image_key)
    if fixed and size is not None:
        x = resize_images(x, size)

    y = None
    class_names: tuple[str, ...] = ()
    if label_key is not None:
        y = np.concatenate(columns[label_key])
        label_feature = features[label_key]
        if isinstance(label_feature, tfds.features.ClassLabel):
            class_names = tuple(label_feature.names)
        elif y.dtype.kind in "SUO":
            from gan_augment.data.tables import encode_labels

            y, class_names = encode_labels(
                [v.decode() if isinstance(v, bytes) else str(v) for v in y.tolist()]
            )
    synthetic = None
    if SYNTHETIC_KEY in wanted and SYNTHETIC_KEY not in (image_key, label_key):
        synthetic = check_synthetic_mask(
            np.concatenate(columns[SYNTHETIC_KEY]), len(x), where=f"feature {SYNTHETIC_KEY!r}"
        )
    provenance = dict(provenance or {"source": builder.name, "reader": "tfds"})
    if max_examples is not None:
        provenance["max_examples"] = max_examples
    if size is not None:
        provenance["image_size"] = list(size)
    dataset = Dataset(kind="image", x=x, y=y, class_names=class_names, provenance=provenance)
    return dataset, synthetic

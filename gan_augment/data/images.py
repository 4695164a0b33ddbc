"""Image sources: scikit-learn digits, image folders, ``.npz`` files, and image helpers.

Every reader returns float32 NHWC images in [0, 1] inside a :class:`~gan_augment.data.Dataset`.
Nothing here imports TensorFlow; resizing uses Pillow (bilinear).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gan_augment.data.dataset import Dataset
from gan_augment.errors import DataError

#: File name endings read by :func:`load_image_folder` (case-insensitive).
IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg")

#: Name of the optional boolean mask of synthetic samples in exported files.
SYNTHETIC_KEY = "synthetic"

ImageSize = int | Sequence[int]


# ---------------------------------------------------------------------- helpers
def normalize_image_size(image_size: ImageSize | None) -> tuple[int, int] | None:
    """``image_size`` as a ``(height, width)`` pair of positive ints (``None`` stays ``None``).

    Example:
        >>> normalize_image_size(28)
        (28, 28)
        >>> normalize_image_size((32, 24))
        (32, 24)
    """
    if image_size is None:
        return None
    if isinstance(image_size, (int, np.integer)) and not isinstance(image_size, bool):
        size: tuple[Any, ...] = (int(image_size), int(image_size))
    elif isinstance(image_size, Sequence) and not isinstance(image_size, str):
        size = tuple(image_size)
    else:
        size = ()
    if (
        len(size) != 2
        or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in size)
        or min(size) < 1
    ):
        raise DataError(
            "Expected image_size as a positive int or a (height, width) pair of positive ints. "
            f"Received: image_size={image_size!r}. Pass for example image_size=28 or (28, 28)."
        )
    return int(size[0]), int(size[1])


def to_float_images(array: np.ndarray, *, what: str = "x") -> np.ndarray:
    """Convert integer or float image data to float32 in [0, 1] with a channel axis.

    uint8 is divided by 255, uint16 by 65535; floats are kept as they are (the Dataset checks
    that they lie in [0, 1]). ``(n, h, w)`` gets a channel axis.

    Example:
        >>> to_float_images(np.full((2, 4, 4), 255, np.uint8)).max()
        np.float32(1.0)
    """
    array = np.asarray(array)
    if array.ndim == 3:
        array = array[..., None]
    if array.dtype == np.uint8:
        return array.astype(np.float32) / np.float32(255.0)
    if array.dtype == np.uint16:
        return array.astype(np.float32) / np.float32(65535.0)
    if np.issubdtype(array.dtype, np.floating):
        return array.astype(np.float32, copy=False)
    raise DataError(
        f"Expected images as uint8, uint16 or float in [0, 1]. Received: {what}.dtype="
        f"{array.dtype}. Convert with {what}.astype('float32') / {what}.max()."
    )


def resize_images(x: np.ndarray, image_size: ImageSize) -> np.ndarray:
    """Resize float32 NHWC images with bilinear interpolation; the result is clipped to [0, 1].

    Example:
        >>> resize_images(np.zeros((3, 8, 8, 1), np.float32), 28).shape
        (3, 28, 28, 1)
    """
    from PIL import Image

    height, width = normalize_image_size(image_size)  # type: ignore[misc]
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 4:
        raise DataError(
            f"Expected images of shape (n, height, width, channels). Received: {x.shape}."
        )
    if x.shape[1:3] == (height, width):
        return x.copy()
    out = np.empty((len(x), height, width, x.shape[3]), np.float32)
    for i in range(len(x)):
        for c in range(x.shape[3]):
            plane = Image.fromarray(np.ascontiguousarray(x[i, :, :, c]))  # mode "F"
            out[i, :, :, c] = np.asarray(
                plane.resize((width, height), Image.Resampling.BILINEAR), np.float32
            )
    return np.clip(out, 0.0, 1.0, out=out)


# ---------------------------------------------------------------------- digits
def load_digits(*, image_size: ImageSize | None = None, source: str = "digits") -> Dataset:
    """scikit-learn's 1797 real 8x8 handwritten digits as float32 images in [0, 1].

    Pixel values 0..16 are divided by 16. With ``image_size`` the images are resized (bilinear),
    for example to 28x28 for models built for MNIST.

    Example:
        >>> ds = load_digits()
        >>> len(ds), ds.shape, ds.class_names[:3]
        (1797, (8, 8, 1), ('0', '1', '2'))
    """
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    x = (np.asarray(bunch.images, np.float32) / np.float32(16.0))[..., None]
    size = normalize_image_size(image_size)
    if size is not None:
        x = resize_images(x, size)
    provenance: dict[str, Any] = {"source": source, "reader": "sklearn.datasets.load_digits"}
    if size is not None:
        provenance["image_size"] = list(size)
    return Dataset(
        kind="image",
        x=x,
        y=np.asarray(bunch.target, np.int64),
        class_names=tuple(str(int(c)) for c in bunch.target_names),
        provenance=provenance,
    )


# ---------------------------------------------------------------------- image folder
def _is_image_file(path: Path) -> bool:
    return (
        path.is_file() and not path.name.startswith(".") and path.suffix.lower() in IMAGE_SUFFIXES
    )


def _subdirs(path: Path) -> list[Path]:
    return sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))


def _image_files(path: Path) -> list[Path]:
    return sorted(p for p in path.iterdir() if _is_image_file(p))


def _read_image(path: Path) -> np.ndarray:
    """One image file as a float32 (h, w, c) array in [0, 1], c = 1 (grayscale) or 3 (color)."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.load()
            mode = im.mode
            if mode in ("1", "L", "LA"):
                arr = to_float_images(np.asarray(im.convert("L"))[None], what="image")[0]
            elif mode.startswith("I;16") or mode in ("I", "F"):
                raw = np.asarray(im)
                if raw.dtype.kind == "f":
                    arr = raw.astype(np.float32)[..., None]
                else:
                    arr = (raw.astype(np.float32) / np.float32(65535.0))[..., None]
            else:  # RGB, RGBA (alpha dropped), P, CMYK, YCbCr, ...
                arr = to_float_images(np.asarray(im.convert("RGB"))[None], what="image")[0]
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise DataError(
            f"Expected a readable image file. Received: a corrupt or unsupported image at "
            f"'{path}' ({type(exc).__name__}: {exc}). Remove or replace that file."
        ) from exc
    return arr


def _folder_layout(root: Path) -> tuple[str, list[Path]]:
    """("classes", class_dirs), ("splits", split_dirs) or ("flat", [root])."""
    subdirs = _subdirs(root)
    with_images = [d for d in subdirs if _image_files(d)]
    if with_images:
        return "classes", subdirs
    if subdirs and any(_subdirs(d) for d in subdirs):
        return "splits", subdirs
    return "flat", [root]


def load_image_folder(
    root: str | Path,
    *,
    split: str | None = "train",
    image_size: ImageSize | None = None,
    source: str | None = None,
) -> Dataset:
    """Read ``root/<class>/*.png|jpg|jpeg`` or ``root/<split>/<class>/...`` into a Dataset.

    ``split`` picks the split folder when there are split folders (default ``"train"``); a
    folder without split folders is read whole (only ``split="train"`` or ``None`` is accepted).

    Classes are the sub-folder names, sorted; in the split layout they are the union over all
    splits, so labels mean the same in every split. Images directly in ``root`` (no class
    folders) give an unlabelled Dataset. Grayscale stays one channel and color becomes RGB (alpha
    is dropped); when both occur, all images become RGB. All images must have one size unless
    ``image_size`` is given, in which case each is resized (bilinear).

    Example:
        >>> ds = load_image_folder("data/incoming/sensor", split="train", image_size=28)  # doctest: +SKIP
    """
    root = Path(root).expanduser()
    source = source if source is not None else str(root)
    if not root.is_dir():
        raise DataError(f"Expected an image folder. Received: '{root}', which is not a directory.")
    size = normalize_image_size(image_size)
    layout, dirs = _folder_layout(root)
    if layout != "splits" and split not in (None, "train"):
        raise DataError(
            f"Expected split folders (root/<split>/<class>/...) in '{root}' for split={split!r}. "
            "Received: a folder without split folders. Leave split at its default to read it."
        )
    provenance: dict[str, Any] = {"source": source, "reader": "image_folder", "layout": layout}

    if layout == "splits":
        splits = [d.name for d in dirs]
        if split is None or split not in splits:
            raise DataError(
                f"Expected split= to name one of the split folders of '{root}': {splits}. "
                f"Received: split={split!r}."
            )
        class_names = sorted({c.name for d in dirs for c in _subdirs(d)})
        base = root / split
        files = [
            (f, label)
            for label, name in enumerate(class_names)
            if (base / name).is_dir()
            for f in _image_files(base / name)
        ]
        provenance["split"] = split
    elif layout == "classes":
        loose = _image_files(root)
        if loose:
            raise DataError(
                f"Expected images either in class folders or directly in '{root}', not both. "
                f"Received: {len(loose)} images in the root (e.g. '{loose[0].name}') beside the "
                "class folders. Move them into a class folder."
            )
        class_names = [d.name for d in dirs]
        files = [(f, label) for label, d in enumerate(dirs) for f in _image_files(d)]
    else:
        class_names = []
        files = [(f, -1) for f in _image_files(root)]

    if not files:
        where = root / split if layout == "splits" and split is not None else root
        raise DataError(
            f"Expected image files ({', '.join(IMAGE_SUFFIXES)}) in '{where}' laid out as "
            "root/<class>/<image> or root/<split>/<class>/<image>. Received: an empty folder "
            "(no image files found)."
        )

    images: list[np.ndarray] = []
    first_of_size: dict[tuple[int, int], Path] = {}
    for path, _ in files:
        arr = _read_image(path)
        if size is not None:
            if arr.shape[:2] != size:
                arr = resize_images(arr[None], size)[0]
        else:
            hw = arr.shape[:2]
            if hw not in first_of_size:
                first_of_size[hw] = path
            if len(first_of_size) > 1:
                (s1, p1), (s2, p2) = list(first_of_size.items())[:2]
                raise DataError(
                    "Expected all images of a folder to have one size. Received: "
                    f"'{p1}' is {s1[0]}x{s1[1]} and '{p2}' is {s2[0]}x{s2[1]} (height x width). "
                    "Pass image_size=(height, width) to resize them all."
                )
        images.append(arr)

    if len({a.shape[-1] for a in images}) > 1:  # mixed grayscale and color: all RGB
        images = [np.repeat(a, 3, axis=-1) if a.shape[-1] == 1 else a for a in images]
    x = np.stack(images).astype(np.float32, copy=False)
    if size is not None:
        provenance["image_size"] = list(size)
    y = None if layout == "flat" else np.array([label for _, label in files], np.int64)
    return Dataset(kind="image", x=x, y=y, class_names=tuple(class_names), provenance=provenance)


# ---------------------------------------------------------------------- npz
def load_npz(
    path: str | Path,
    *,
    image_size: ImageSize | None = None,
    source: str | None = None,
) -> tuple[Dataset, np.ndarray | None]:
    """Read an ``.npz`` file with ``x`` (images), optional ``y``, ``class_names``, ``synthetic``.

    The file is opened with ``allow_pickle=False``: object arrays are refused. ``x`` may be
    uint8 (divided by 255), uint16 or float in [0, 1], with shape (n, h, w) or (n, h, w, c).
    Returns the Dataset and the boolean ``synthetic`` mask when the file has one.

    Example:
        >>> ds, synthetic = load_npz("data/outputs/digits_augmented.npz")  # doctest: +SKIP
    """
    path = Path(path).expanduser()
    source = source if source is not None else str(path)
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise DataError(
            f"Expected a readable .npz file. Received: '{path}' could not be opened "
            f"({type(exc).__name__}: {exc})."
        ) from exc
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataError(
            f"Expected an .npz archive of named arrays (np.savez). Received: '{path}' holds a "
            "single array. Save it with np.savez(path, x=x, y=y)."
        )
    with archive:
        keys = list(archive.files)
        arrays: dict[str, np.ndarray] = {}
        for key in keys:
            try:
                arrays[key] = archive[key]
            except ValueError as exc:  # object arrays need pickle
                raise DataError(
                    f"Expected numeric arrays (and a string array class_names) in '{path}'. "
                    f"Received: array {key!r} is an object array, which would need pickle to "
                    "load. Save numbers as numeric dtypes and strings as np.array(names, dtype=str)."
                ) from exc
    if "x" not in arrays:
        raise DataError(
            f"Expected an array named 'x' (images) in '{path}'. Received: keys {keys}. "
            "Save with np.savez(path, x=images, y=labels)."
        )
    x = arrays["x"]
    if x.size == 0:
        raise DataError(f"Expected at least one image in '{path}'. Received: x.shape={x.shape}.")
    if x.dtype.kind in "SUO":
        raise DataError(
            f"Expected numeric images in '{path}'. Received: x.dtype={x.dtype}. "
            "Store pixel values as uint8 or float32."
        )
    if x.ndim not in (3, 4):
        raise DataError(
            f"Expected x of shape (n, height, width) or (n, height, width, channels) in '{path}'. "
            f"Received: x.shape={x.shape}."
        )
    x = to_float_images(x)
    size = normalize_image_size(image_size)
    if size is not None:
        if not np.isfinite(x).all():  # let the Dataset report NaN, not the resizer
            Dataset(kind="image", x=x)
        x = resize_images(x, size)

    class_names: tuple[str, ...] = ()
    if "class_names" in arrays:
        names = arrays["class_names"]
        if names.dtype.kind not in "US" or names.ndim != 1:
            raise DataError(
                f"Expected class_names as a 1-D string array in '{path}'. Received: "
                f"dtype={names.dtype}, shape={names.shape}."
            )
        class_names = tuple(n.decode() if isinstance(n, bytes) else str(n) for n in names.tolist())

    synthetic = None
    if SYNTHETIC_KEY in arrays:
        synthetic = check_synthetic_mask(arrays[SYNTHETIC_KEY], len(x), where=str(path))

    provenance: dict[str, Any] = {"source": source, "reader": "npz"}
    if size is not None:
        provenance["image_size"] = list(size)
    if "provenance" in arrays and arrays["provenance"].dtype.kind == "U":
        try:
            provenance["origin"] = json.loads(str(arrays["provenance"]))
        except json.JSONDecodeError:
            pass
    dataset = Dataset(
        kind="image", x=x, y=arrays.get("y"), class_names=class_names, provenance=provenance
    )
    return dataset, synthetic


def check_synthetic_mask(mask: Any, n: int, *, where: str = "the data") -> np.ndarray:
    """``mask`` as a boolean array of length ``n`` (True marks a synthetic sample).

    Example:
        >>> check_synthetic_mask([0, 1, 1], 3)
        array([False,  True,  True])
    """
    mask = np.asarray(mask)
    if mask.ndim != 1 or len(mask) != n:
        raise DataError(
            f"Expected a synthetic mask of shape ({n},) in {where}. Received: shape {mask.shape}."
        )
    if mask.dtype != np.bool_:
        if mask.dtype.kind not in "iu" or not np.isin(mask, (0, 1)).all():
            raise DataError(
                f"Expected a boolean synthetic mask in {where}. Received: dtype={mask.dtype}."
            )
        mask = mask.astype(bool)
    return mask

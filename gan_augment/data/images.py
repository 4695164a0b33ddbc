"""Image sources: scikit-learn digits, image folders, ``.npz`` files, and image helpers.

Every reader returns float32 NHWC images in [0, 1] inside a :class:`~gan_augment.data.Dataset`.
Nothing here imports TensorFlow; resizing uses Pillow (bilinear).
"""

from __future__ import annotations

import json
import os
import re
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gan_augment._io import format_size
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
#: Environment variable: the most bytes the arrays of one ``.npz`` file may declare (an integer,
#: optionally with a binary unit: ``512M``, ``8G``). Unset: `NPZ_MEMORY_FRACTION` of the memory
#: available when the file is read.
NPZ_BUDGET_ENV = "GAN_AUGMENT_NPZ_MAX_BYTES"

#: Share of the available memory the arrays of one ``.npz`` file may take when `NPZ_BUDGET_ENV`
#: is unset: a file declaring more (a hostile header, a zip bomb) is refused before anything is
#: allocated or decompressed.
NPZ_MEMORY_FRACTION = 0.5

_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
_NPY_HEADER_READERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
    (3, 0): np.lib.format.read_array_header_2_0,  # 3.0 is 2.0 with a UTF-8 header: same shape, dtype
}


class NpzDefect(DataError):
    """An ``.npz`` file that cannot be read safely; ``problem`` says why in a few words (the
    checkpoint reader reports it in its own terms)."""

    def __init__(self, path: Path, problem: str, fix: str) -> None:
        self.problem = " ".join(problem.split())  # one line, whatever the zip module's text holds
        super().__init__(f"Expected a readable .npz archive of arrays (np.savez). Received: '{path}' "
                         f"{self.problem}. {fix}")


def _read_int(path: str) -> int | None:
    try:
        with open(path, encoding="ascii") as fh:
            return int(fh.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None  # absent, or "max" (no limit)


def available_memory() -> int:
    """Bytes this process can still allocate: the kernel's MemAvailable, or less when a cgroup
    (a container) limits the memory."""
    available = None
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    if available is None:
        try:
            available = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, AttributeError):
            available = 8 * 2**30
    for limit, usage in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),  # cgroup v2
                         ("/sys/fs/cgroup/memory/memory.limit_in_bytes",  # cgroup v1
                          "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        cap, used = _read_int(limit), _read_int(usage)
        if cap is not None and used is not None and cap < 2**60:
            available = min(available, max(0, cap - used))
    return available


def npz_memory_budget() -> int:
    """The most bytes the arrays of one ``.npz`` file may declare: ``$GAN_AUGMENT_NPZ_MAX_BYTES``
    (bytes, or with a binary unit: ``512M``, ``8G``, ``8GiB``) when set, else
    `NPZ_MEMORY_FRACTION` of the memory available now.

    Example:
        >>> npz_memory_budget() > 0
        True
    """
    text = os.environ.get(NPZ_BUDGET_ENV, "").strip()
    if not text:
        return int(NPZ_MEMORY_FRACTION * available_memory())
    match = re.fullmatch(r"(\d+(?:\.\d*)?(?:[eE]\d+)?)\s*([KMGTkmgt]?)(?:i?[bB])?", text)
    value = float(match[1]) * _UNITS[match[2].upper()] if match else 0.0
    if not value >= 1:
        raise DataError(f"Expected {NPZ_BUDGET_ENV} as a number of bytes, e.g. 2000000000 or 2G. "
                        f"Received: {text!r}. Fix or unset it.")
    return int(value)


#: Bytes a generated sample takes at least in memory per value (float32), plus its label.
SAMPLE_VALUE_BYTES = 4
SAMPLE_LABEL_BYTES = 8


def sample_bytes(sample_shape: tuple[int, ...] | list[int]) -> int:
    """About the memory one generated sample takes (float32 values and an int64 label)."""
    return SAMPLE_VALUE_BYTES * int(np.prod(sample_shape, dtype=np.int64)) + SAMPLE_LABEL_BYTES


def check_fits_in_memory(nbytes: int, what: str, fix: str) -> None:
    """`DataError` when ``what`` would take more than the memory budget (`npz_memory_budget`:
    ``$GAN_AUGMENT_NPZ_MAX_BYTES``, else half the memory available now), before it is allocated.

    Example:
        >>> check_fits_in_memory(1024, "1 sample", "Ask for fewer.")  # passes silently
    """
    budget = npz_memory_budget()
    if nbytes > budget:
        raise DataError(
            f"Expected a request that fits in the memory budget of {format_size(budget)} ({NPZ_BUDGET_ENV}, else "
            f"{NPZ_MEMORY_FRACTION:.0%} of the memory available now). Received: {what}, about "
            f"{format_size(nbytes)}. {fix}"
        )


def read_npz(path: str | Path, *, budget: int | None = None) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` file by name, read without pickle and without trusting the file.

    Every member's ``.npy`` header is read first; the shapes and dtypes it declares (and the sizes
    in the zip directory) must fit in ``budget`` bytes (default `npz_memory_budget`) and in the
    member before any array is allocated or decompressed, so a hostile header or a zip bomb costs
    nothing. A corrupt, truncated or foreign file raises `NpzDefect` (a `DataError`) naming the
    problem; object arrays (they need pickle) are refused.

    Example:
        >>> arrays = read_npz("data/outputs/digits_augmented.npz")  # doctest: +SKIP
    """
    path = Path(path)
    redo = "Write it again (np.savez, or gan-augment's export) or copy it again from its origin."
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise DataError(f"Expected a readable .npz file. Received: '{path}' could not be opened "
                        f"({exc.strerror or exc}).") from exc
    if size == 0:
        raise NpzDefect(path, "is empty (0 bytes): it was truncated or never written", redo)
    if head.startswith(b"\x93NUMPY"):
        raise DataError(
            f"Expected an .npz archive of named arrays (np.savez). Received: '{path}' holds a "
            "single array (.npy). Save it with np.savez(path, x=x, y=y)."
        )
    if not head.startswith(b"PK"):
        raise NpzDefect(path, f"is not a zip archive (it starts with {head[:4]!r}): it is corrupt or another "
                              "kind of file", redo)
    budget = npz_memory_budget() if budget is None else int(budget)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise NpzDefect(path, f"is a truncated or damaged zip archive ({exc}): its directory at the end is "
                              "missing or unreadable", redo) from exc
    with archive:
        members: list[tuple[str, zipfile.ZipInfo]] = []
        declared: list[tuple[int, str, bool]] = []  # (bytes reading it costs, what, truncated)
        for info in archive.infolist():
            if not info.filename.endswith(".npy"):
                raise NpzDefect(path, f"holds {info.filename!r}, which is not an array (.npy)",
                                "Keep only arrays in the archive (np.savez).")
            key = info.filename[: -len(".npy")]
            try:
                with archive.open(info) as member:
                    version = np.lib.format.read_magic(member)
                    if version not in _NPY_HEADER_READERS:
                        raise ValueError(f"unknown .npy format version {version}")
                    shape, _, dtype = _NPY_HEADER_READERS[version](member)
                    header = member.tell()
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, TypeError,
                    NotImplementedError, RuntimeError) as exc:
                raise NpzDefect(path, f"is corrupt: the header of array {key!r} is unreadable ({exc})", redo) from exc
            if dtype.hasobject:
                raise DataError(
                    f"Expected numeric arrays (and a string array class_names) in '{path}'. "
                    f"Received: array {key!r} is an object array, which would need pickle to "
                    "load. Save numbers as numeric dtypes and strings as np.array(names, dtype=str)."
                )
            if any(d < 0 for d in shape):
                raise NpzDefect(path, f"is corrupt: array {key!r} declares the shape {tuple(shape)}", redo)
            nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize if shape else dtype.itemsize
            held = max(0, info.file_size - header)  # the data bytes the zip directory says it unpacks to
            what = f"array {key!r} declares shape {tuple(shape)} of {dtype} ({format_size(nbytes)})"
            if held < nbytes:
                what += f" but holds only {format_size(held)} of data"
            # what reading it costs: its array, or all the member unpacks to (trailing bytes are read too)
            declared.append((max(nbytes, held), what, held < nbytes))
            members.append((key, info))
        total = sum(n for n, _, _ in declared)
        if total > budget:
            raise DataError(
                f"Expected .npz arrays that fit in the memory budget of {format_size(budget)}. Received: '{path}' "
                f"asks for {format_size(total)} ({max(declared)[1]}): a hostile or damaged file, or more data than "
                f"this machine should load at once. If the file is genuine and memory allows, set "
                f"{NPZ_BUDGET_ENV} (e.g. {NPZ_BUDGET_ENV}={total // 2**30 + 1}G); else split it into smaller files."
            )
        for _, what, short in declared:
            if short:
                raise NpzDefect(path, f"is truncated: {what}", redo)
        arrays: dict[str, np.ndarray] = {}
        for key, info in members:
            try:
                with archive.open(info) as member:
                    arrays[key] = np.lib.format.read_array(member, allow_pickle=False)
                    while member.read(2**20):  # trailing bytes (counted in the budget): reach the CRC check
                        pass
            except (zipfile.BadZipFile, zlib.error) as exc:
                raise NpzDefect(path, f"is corrupt: array {key!r} fails its checksum ({exc}); the file was "
                                      "damaged after it was written", redo) from exc
            except (EOFError, OSError, ValueError, NotImplementedError, RuntimeError) as exc:
                raise NpzDefect(path, f"is corrupt: the data of array {key!r} is truncated or unreadable ({exc})",
                                redo) from exc
    return arrays


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
    arrays = read_npz(path)
    keys = list(arrays)
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

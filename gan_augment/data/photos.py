"""Photographs that ship inside installed packages, cut into tiles: the offline high-resolution
images for super-resolution (``load_dataset("sample_photos")``).

Three colour photographs: scikit-learn's ``china.jpg`` and ``flower.jpg`` (427×640) and
matplotlib's ``grace_hopper.jpg`` (600×512). Nothing is downloaded. The ``"train"`` split tiles
the first two, the ``"test"`` split the third: a held-out *whole* image, so a super-resolution
model is scored on a picture it never saw a patch of. Each tile is labelled with its photo.

Example:
    >>> from gan_augment.data.photos import photo_tiles
    >>> tiles = photo_tiles("test", tile=64)
    >>> tiles.shape, tiles.class_names
    ((64, 64, 3), ('grace_hopper',))
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gan_augment.data.dataset import Dataset
from gan_augment.errors import DataError

#: The photographs of each split (file name without suffix).
SPLITS: dict[str, tuple[str, ...]] = {"train": ("china", "flower"), "test": ("grace_hopper",)}
#: Default tile side in pixels.
TILE = 64


def _photo_path(name: str) -> Path:
    if name == "grace_hopper":
        import matplotlib

        return Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    import sklearn.datasets

    return Path(sklearn.datasets.__file__).parent / "images" / f"{name}.jpg"


def load_photo(name: str) -> np.ndarray:
    """One photograph as float32 RGB in [0, 1], shape (height, width, 3)."""
    from PIL import Image

    path = _photo_path(name)
    if not path.is_file():
        raise DataError(f"Expected the photograph {path} inside the installed package. Received: no such "
                        "file. Reinstall scikit-learn and matplotlib.")
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"), np.float32) / 255.0


def photo_tiles(split: str = "train", *, tile: int | tuple[int, int] = TILE, stride: int | None = None) -> Dataset:
    """Every ``tile``×``tile`` tile (step ``stride``, default ``tile``: no overlap) of the
    photographs of ``split`` ("train" or "test"), labelled by photograph."""
    if split not in SPLITS:
        raise DataError(f"Expected split in {sorted(SPLITS)} for sample_photos. Received: split={split!r}.")
    th, tw = (int(tile), int(tile)) if np.isscalar(tile) else tuple(int(t) for t in tile)
    step = int(stride or min(th, tw))
    if min(th, tw) < 1 or step < 1:
        raise DataError(f"Expected a positive tile and stride. Received: tile={tile}, stride={stride}.")
    tiles, labels = [], []
    for label, name in enumerate(SPLITS[split]):
        photo = load_photo(name)
        h, w, _ = photo.shape
        if h < th or w < tw:
            raise DataError(f"Expected tiles no larger than the photograph {name} ({h}x{w}). "
                            f"Received: tile={th}x{tw}.")
        for top in range(0, h - th + 1, step):
            for left in range(0, w - tw + 1, step):
                tiles.append(photo[top: top + th, left: left + tw])
                labels.append(label)
    return Dataset.from_arrays(np.stack(tiles), np.asarray(labels), SPLITS[split],
                               source="sample_photos", split=split, tile=[th, tw])


__all__ = ["SPLITS", "TILE", "load_photo", "photo_tiles"]

"""Data sets: the `Dataset` container and one module per source kind."""

from gan_augment.data.dataset import Dataset

__all__ = ["Dataset"]

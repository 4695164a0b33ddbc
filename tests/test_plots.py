"""Sample grids: one image per grid, tiles where the labels put them."""

from __future__ import annotations

import matplotlib.image as mpimg
import numpy as np

from gan_augment.plots import save_image_grid, save_translation_grid


def _dark_rows(png) -> np.ndarray:
    """Rows of the picture that hold ink (grayscale tiles are dark ink on white), right of the
    row names."""
    pixels = mpimg.imread(png)[..., :3].mean(axis=-1)
    pixels = pixels[:, pixels.shape[1] // 3 :]
    return np.flatnonzero((pixels < 0.5).any(axis=1))


def test_a_grid_puts_each_class_in_its_own_row(tmp_path):
    ink, blank = np.ones((4, 8, 8, 1), np.float32), np.zeros((4, 8, 8, 1), np.float32)
    # class 0 blank, class 1 inked: ink only in the lower half of the picture
    png = save_image_grid(np.concatenate([blank, ink]), tmp_path / "grid.png",
                          labels=np.repeat([0, 1], 4), class_names=["blank", "ink"])
    rows = _dark_rows(png)
    height = mpimg.imread(png).shape[0]
    assert len(rows) and rows.min() > height * 0.45
    # without labels: a square-ish grid, and every tile inked
    assert len(_dark_rows(save_image_grid(ink, tmp_path / "plain.png"))) > 0


def test_a_translation_grid_shows_every_column_of_every_entry(tmp_path):
    rng = np.random.default_rng(0)
    source = rng.random((6, 8, 8, 3)).astype(np.float32)
    png = save_translation_grid([source, 1.0 - source], tmp_path / "pairs.png", labels=np.repeat([0, 1, 2], 2),
                                titles=["source", "translated"])
    picture = mpimg.imread(png)
    assert picture.shape[1] > picture.shape[0]  # 3 rows of 4 tiles
    assert (picture[..., :3].std(axis=-1) > 0.05).any()  # colour tiles drawn in colour


def test_tiles_of_different_sizes_fill_the_same_cells(tmp_path):
    """Low-resolution images beside high-resolution ones (the super-resolution picture)."""
    low, high = np.ones((2, 4, 4, 1), np.float32), np.ones((2, 8, 8, 1), np.float32)
    png = save_translation_grid([low, high], tmp_path / "sizes.png", labels=np.array([0, 0]),
                                titles=["LR", "HR"])
    assert len(_dark_rows(png)) > 0

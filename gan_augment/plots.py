"""Pictures people would rather look at than read: sample grids and training curves (PNG)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gan_augment._io import atomic_path

if TYPE_CHECKING:
    import pandas as pd


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_image_grid(
    images: np.ndarray,
    path: str | Path,
    *,
    labels: np.ndarray | None = None,
    class_names: Sequence[str] = (),
    title: str | None = None,
) -> Path:
    """Write a grid of images (NHWC in [0, 1]) to a PNG; with labels, one row per class.

    Example:
        >>> save_image_grid(gan.sample(40).x, "samples.png")  # doctest: +SKIP
    """
    images = np.asarray(images)
    if labels is not None:
        rows = [list(images[labels == c]) for c in np.unique(labels)]
        row_names = [class_names[c] if c < len(class_names) else str(c) for c in np.unique(labels)]
    else:
        per_row = int(np.ceil(np.sqrt(len(images))))
        rows = [list(images[i : i + per_row]) for i in range(0, len(images), per_row)]
        row_names = [""] * len(rows)
    n_cols = max((len(r) for r in rows), default=1)
    return _save_mosaic(rows, path, row_names=row_names, title=title,
                        figsize=(n_cols * 0.8 + 0.6, len(rows) * 0.8 + 0.4))


def save_history_plot(history: Mapping[str, Sequence[float]], path: str | Path, *, title: str | None = None) -> Path:
    """Losses (left), mean D(real) / D(fake) (middle, the equilibrium monitor: ½ at the
    solution) and, when ``early_stop`` measured it, the Fréchet distance of the samples to the
    real data at each check (right: the training-length criterion)."""
    plt = _pyplot()
    criterion = bool(history.get("plateau_fd"))
    fig, axes = plt.subplots(1, 3 if criterion else 2, figsize=(15 if criterion else 10, 3.6))
    ax_loss, ax_d = axes[0], axes[1]
    epochs = np.arange(1, len(history.get("d_loss", next(iter(history.values()), []))) + 1)
    for key in [k for k in history if k.endswith("_loss")]:  # d_loss, g_loss, cycle_loss, …
        ax_loss.plot(epochs, history[key], label=key)
    ax_loss.set_xlabel("epoch")
    ax_loss.set_title("losses")
    ax_loss.legend()
    outputs = [k for k in history if k.startswith("d_") and k.endswith(("real", "fake"))]
    for key in outputs:  # d_real, d_fake; a CycleGAN's d_a_real, d_b_fake, …
        ax_d.plot(epochs, history[key], label=f"mean D({key[2:]})")
    ax_d.axhline(0.5, color="gray", linestyle="--", linewidth=1, label="equilibrium ½")
    if all(0.0 <= v <= 1.0 for k in outputs for v in history[k]):
        ax_d.set_ylim(0, 1)
    ax_d.set_xlabel("epoch")
    ax_d.set_title("discriminator outputs")
    ax_d.legend()
    if criterion:
        fd, at = history["plateau_fd"], history.get("plateau_epoch", range(1, len(history["plateau_fd"]) + 1))
        axes[2].plot(at, fd, marker="o")
        best = int(np.argmin(fd))
        axes[2].plot([list(at)[best]], [fd[best]], marker="*", markersize=14, color="tab:red", label="kept")
        axes[2].set_xlabel("epoch")
        axes[2].set_title("Fréchet distance to the real data (early_stop)")
        axes[2].legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def save_translation_grid(columns: Sequence[np.ndarray], path: str | Path, *, labels: np.ndarray,
                          class_names: Sequence[str] = (), titles: Sequence[str] = ()) -> Path:
    """One row per class; in it, for each image of that class, its panels side by side, one per
    array of ``columns`` (e.g. source | translated | translated back, titled ``titles``)."""
    classes = list(dict.fromkeys(int(c) for c in labels))
    members = [np.flatnonzero(labels == c) for c in classes]
    k, per_row = len(columns), max(len(m) for m in members)
    rows = [[images[m] for m in row for images in columns] for row in members]
    return _save_mosaic(rows, path, row_names=[class_names[c] if c < len(class_names) else str(c) for c in classes],
                        column_titles=[titles[j] if j < len(titles) else "" for _ in range(per_row) for j in range(k)],
                        group=k, figsize=(k * per_row * 0.7 + 0.8, len(rows) * 0.75 + 0.6))


def _save_mosaic(rows: Sequence[Sequence[np.ndarray]], path: str | Path, *, row_names: Sequence[str],
                 figsize: tuple[float, float], title: str | None = None, column_titles: Sequence[str] = (),
                 group: int = 1) -> Path:
    """Tiles (HWC in [0, 1], grayscale as dark ink on white) laid out row by row on a white
    canvas, drawn as one image: row names at the left, column titles on top, an extra gap after
    every ``group`` columns. One image instead of a panel per tile: ~20× faster to draw, which
    matters for the grids written during training."""
    plt = _pyplot()
    shapes = [np.shape(t) for row in rows for t in row] or [(1, 1, 1)]
    # tiles of different sizes (low-resolution beside high-resolution images) fill the same cell,
    # enlarged with nearest-neighbour as a panel of their own would show them
    height, width, channels = (max(s[i] for s in shapes) for i in range(3))
    gap = max(1, round(0.25 * max(height, width)))
    n_cols = max((len(r) for r in rows), default=1)

    def left(c: int) -> int:
        return gap + c * (width + gap) + (c // group) * gap * (group > 1)

    gray = channels == 1
    canvas = np.full((gap + len(rows) * (height + gap), left(n_cols - 1) + width + gap)
                     + (() if gray else (channels,)), 0.0 if gray else 1.0, np.float32)
    for r, row in enumerate(rows):
        top = gap + r * (height + gap)
        for c, tile in enumerate(row):
            tile = np.clip(np.asarray(tile, np.float32), 0.0, 1.0)
            tile = tile[np.arange(height) * tile.shape[0] // height][:, np.arange(width) * tile.shape[1] // width]
            if not gray and tile.shape[-1] != channels:  # a grayscale tile among colour ones
                tile = np.repeat(tile[..., :1], channels, axis=-1)
            canvas[top : top + height, left(c) : left(c) + width] = tile[..., 0] if gray else tile
    fig, ax = plt.subplots(figsize=figsize)
    ax.imshow(canvas, cmap="gray_r" if gray else None, vmin=0.0, vmax=1.0, interpolation="nearest")
    for side in ax.spines.values():
        side.set_visible(False)
    ax.tick_params(length=0)
    ax.set_yticks([gap + r * (height + gap) + (height - 1) / 2 for r in range(len(rows))], list(row_names),
                  fontsize=9)
    ax.set_xticks([left(c) + (width - 1) / 2 for c in range(len(column_titles))], list(column_titles), fontsize=6)
    ax.xaxis.tick_top()
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def _save(fig, path: str | Path) -> Path:
    plt = _pyplot()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return Path(path)


def save_feature_histograms(tables: Mapping[str, pd.DataFrame], path: str | Path, *, bins: int = 30) -> Path:
    """Overlaid histograms of every numeric column, one panel per column, one colour per table
    (e.g. ``{"real": ..., "synthetic": ...}``), densities so different sizes compare."""
    plt = _pyplot()
    names = list(tables)
    first = tables[names[0]]
    columns = [c for c in first.columns if np.issubdtype(first[c].dtype, np.number)]
    n_cols = min(4, max(1, len(columns)))
    n_rows = int(np.ceil(len(columns) / n_cols)) or 1
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(3.2 * n_cols, 2.4 * n_rows), squeeze=False)
    for ax, column in zip(axes.flat, columns):
        values = [np.asarray(tables[n][column], dtype=float) for n in names]
        finite = np.concatenate([v[np.isfinite(v)] for v in values])
        edges = np.histogram_bin_edges(finite, bins=bins) if len(finite) else bins
        for n, v in zip(names, values):
            ax.hist(v[np.isfinite(v)], bins=edges, density=True, alpha=0.5, label=n)
        ax.set_title(column, fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(columns):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


#: Width in pixels the image preview is scaled up to (at least), so 8×8 digits stay legible.
PREVIEW_MIN_WIDTH = 720


def save_preview_tiles(ds: Any, path: str | Path, per_class: int = 10) -> Path:
    """A PNG of up to ``per_class`` images per class, one row per class that has samples, each
    row labelled with its class name (images only).

    Tiled with numpy and written with Pillow: milliseconds, where a matplotlib grid of 100
    subplots takes seconds (the Dagster UI shows one for every stored data set)."""
    from PIL import Image, ImageDraw

    path = Path(path)
    if ds.y is None:
        rows = [("", ds.x[i:i + per_class]) for i in range(0, min(len(ds), per_class * per_class), per_class)]
    else:
        names = list(ds.class_names) or [str(c) for c in range(ds.num_classes)]
        rows = [(str(names[c]), ds.x[ds.y == c][:per_class]) for c in range(ds.num_classes)]
        rows = [(name, images) for name, images in rows if len(images)]  # no empty rows
    h, w, channels = ds.shape
    gap = 1
    grid = np.ones(((h + gap) * len(rows) + gap, (w + gap) * per_class + gap, channels), np.float32)
    for r, (_, row) in enumerate(rows):
        for c, image in enumerate(row):
            top, left = gap + r * (h + gap), gap + c * (w + gap)
            # grayscale as dark ink on white, like the library's grids
            grid[top:top + h, left:left + w] = 1.0 - image if channels == 1 else image
    pixels = np.round(np.clip(grid, 0, 1) * 255).astype(np.uint8)
    pixels = pixels[..., 0] if channels == 1 else pixels[..., :3]
    tiles = Image.fromarray(pixels)
    scale = max(1, -(-PREVIEW_MIN_WIDTH // tiles.width))
    tiles = tiles.resize((tiles.width * scale, tiles.height * scale), Image.NEAREST)
    label_width = 12 + 7 * max((len(name) for name, _ in rows), default=0) if ds.y is not None else 0
    picture = Image.new(tiles.mode, (tiles.width + label_width, tiles.height), 255 if tiles.mode == "L" else (255,) * 3)
    picture.paste(tiles, (label_width, 0))
    draw = ImageDraw.Draw(picture)
    for r, (name, _) in enumerate(rows):
        top = (gap + r * (h + gap)) * scale
        draw.text((6, top + (h * scale) // 2 - 6), name, fill=0 if picture.mode == "L" else (0, 0, 0))
    with atomic_path(path) as tmp:
        picture.save(tmp, format="PNG")
    return path

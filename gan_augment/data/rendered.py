"""Rendered digits: the characters 0–9 drawn with the TrueType fonts that ship inside matplotlib.

A labelled, offline, *related* domain for handwritten digits: many fonts (DejaVu Sans / Serif /
Mono and STIX in regular, bold, oblique; Computer Modern), each glyph drawn on a 32×32 canvas
with random rotation, shear, scale, offset and stroke width, then reduced the way scikit-learn's
``digits`` were made (the mean of 4×4 blocks of a 32×32 bitmap gives 8×8) or resized to any other
size. A source domain for translation to handwritten digits (``load_dataset("rendered_digits")``).

Example:
    >>> from gan_augment.data.rendered import render_digits
    >>> ds = render_digits(per_class=20, seed=0)
    >>> ds.shape, ds.num_classes, len(ds)
    ((8, 8, 1), 10, 200)
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np

from gan_augment.data.dataset import Dataset
from gan_augment.errors import DataError

#: Font files (in matplotlib's ``mpl-data/fonts/ttf``) used for rendering: every one draws 0–9.
FONT_FILES: tuple[str, ...] = (
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans-BoldOblique.ttf",
    "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf", "DejaVuSerif-BoldItalic.ttf",
    "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf", "DejaVuSansMono-Oblique.ttf",
    "STIXGeneral.ttf", "STIXGeneralBol.ttf", "STIXGeneralItalic.ttf", "STIXGeneralBolIta.ttf",
    "cmr10.ttf", "cmss10.ttf", "cmtt10.ttf", "cmb10.ttf",
)
CANVAS = 32  # scikit-learn's digits were 32x32 bitmaps reduced by 4x4 blocks
MAX_ROTATION_DEGREES = 15.0
MAX_SHEAR = 0.3
STROKE_RANGE = (0, 3)  # extra stroke width in canvas pixels (max filter size - 1)


def _font_dir() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


@functools.cache
def _glyph(font_file: str, digit: int) -> np.ndarray:
    """The digit drawn large (96 px font) and cropped to its ink: a float array in [0, 1]."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(_font_dir() / font_file), 96)
    img = Image.new("L", (160, 160), 0)
    ImageDraw.Draw(img).text((30, 10), str(digit), fill=255, font=font)
    arr = np.asarray(img, np.float32) / 255.0
    rows, cols = np.flatnonzero(arr.max(1) > 0.1), np.flatnonzero(arr.max(0) > 0.1)
    if not len(rows):
        raise DataError(f"Expected font {font_file} to draw the digit {digit}. Received: an empty glyph.")
    return arr[rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1]


def _render_one(glyph: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One 32x32 bitmap of ``glyph`` under a random affine map and stroke width."""
    from scipy import ndimage

    h, w = glyph.shape
    height = rng.uniform(26, 31)  # the glyph's height on the canvas
    scale = h / height  # canvas px -> glyph px
    aspect = rng.uniform(0.6, 1.0)  # handwritten digits are narrow
    angle = math.radians(rng.uniform(-MAX_ROTATION_DEGREES, MAX_ROTATION_DEGREES))
    shear = rng.uniform(-MAX_SHEAR, MAX_SHEAR)
    cos, sin = math.cos(angle), math.sin(angle)
    rot = np.array([[cos, -sin], [sin, cos]])
    # output (row, col) -> glyph (row, col): scale, aspect, shear and rotate about the centres
    matrix = scale * rot @ np.array([[1.0, 0.0], [shear, 1.0 / aspect]])
    out_centre = np.array([CANVAS / 2, CANVAS / 2]) + rng.uniform(-2, 2, 2)
    offset = np.array([(h - 1) / 2, (w - 1) / 2]) - matrix @ out_centre
    canvas = ndimage.affine_transform(glyph, matrix, offset=offset, output_shape=(CANVAS, CANVAS),
                                      order=1, mode="constant", cval=0.0)
    stroke = int(rng.integers(STROKE_RANGE[0], STROKE_RANGE[1] + 1))
    if stroke:
        canvas = ndimage.maximum_filter(canvas, size=stroke + 1)
    return (canvas > 0.5).astype(np.float32)  # a bitmap, as the digits' scans were


def render_digits(
    per_class: int = 500,
    *,
    image_size: int | tuple[int, int] = 8,
    seed: int = 0,
    fonts: tuple[str, ...] = FONT_FILES,
) -> Dataset:
    """``per_class`` rendered images of each digit 0–9, labelled, in [0, 1] (float32).

    Args:
        per_class: images per digit.
        image_size: 8 (default: 4×4 block means of the 32×32 bitmap, like scikit-learn's digits)
            or any (height, width) the bitmap is resized to (bilinear), e.g. 28.
        seed: the same seed gives the same images.
        fonts: font file names from matplotlib's font folder (default `FONT_FILES`).

    Example:
        >>> render_digits(per_class=3, image_size=28).shape
        (28, 28, 1)
    """
    if per_class < 1:
        raise DataError(f"Expected per_class >= 1. Received: per_class={per_class}.")
    size = (int(image_size), int(image_size)) if np.isscalar(image_size) else tuple(map(int, image_size))
    rng = np.random.default_rng([int(seed), 0xF0])
    n = 10 * per_class
    labels = np.repeat(np.arange(10), per_class)
    font_pick = rng.integers(0, len(fonts), n)
    bitmaps = np.stack([_render_one(_glyph(fonts[f], int(d)), rng) for d, f in zip(labels, font_pick)])
    if size == (8, 8):
        x = bitmaps.reshape(n, 8, 4, 8, 4).mean(axis=(2, 4))
    else:
        from PIL import Image

        x = np.stack([np.asarray(Image.fromarray(b).resize(size[::-1], Image.BILINEAR)) for b in bitmaps])
    order = rng.permutation(n)
    return Dataset.from_arrays(
        np.clip(x[order], 0, 1).astype(np.float32)[..., None], labels[order],
        tuple(str(d) for d in range(10)), source="rendered_digits", seed=int(seed),
    )

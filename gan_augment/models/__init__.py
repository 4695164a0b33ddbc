"""GAN models: the `GANBase` both GANs share, the image GAN (`ConditionalGAN`), architectures,
losses and DiffAugment; the tabular GAN (`TabularGAN`).

`build_gan(kind, sample_shape, num_classes, ...)` picks the architecture for a data kind from
`BUILDERS`: ``"image"`` (a conditional DCGAN, `build_image_gan`) and ``"table"`` (a CTGAN-style
conditional tabular GAN, `build_table_gan`, which takes a fitted
`~gan_augment.models.table_encoding.TableEncoder`).

TensorFlow is imported on first use of a name that needs it, so light modules such as
`gan_augment.models.table_encoding` can be imported without it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gan_augment import _lazy_exports

if TYPE_CHECKING:  # pragma: no cover
    from gan_augment.models.base import GANBase
    from gan_augment.models.gan import ConditionalGAN
    from gan_augment.models.image import build_image_discriminator, build_image_generator
    from gan_augment.models.layers import FusedBatchNorm, InnerProduct
    from gan_augment.models.losses import LOSSES, GANLoss, get_loss
    from gan_augment.models.table_encoding import TableEncoder
    from gan_augment.models.tabular import TabularGAN

# name -> module that defines it (imported on first access)
_LAZY = {
    "GANBase": "gan_augment.models.base",
    "ConditionalGAN": "gan_augment.models.gan",
    "build_image_discriminator": "gan_augment.models.image",
    "build_image_generator": "gan_augment.models.image",
    "FusedBatchNorm": "gan_augment.models.layers",
    "InnerProduct": "gan_augment.models.layers",
    "LOSSES": "gan_augment.models.losses",
    "GANLoss": "gan_augment.models.losses",
    "get_loss": "gan_augment.models.losses",
    "TabularGAN": "gan_augment.models.tabular",
    "build_table_generator": "gan_augment.models.tabular",
    "build_table_discriminator": "gan_augment.models.tabular",
    "TableEncoder": "gan_augment.models.table_encoding",
}


def build_image_gan(
    image_shape: tuple[int, int, int],
    num_classes: int = 0,
    *,
    latent_dim: int = 64,
    width: int | None = None,
    spectral_norm: bool = False,
    diffaugment: str | None = None,
    ema: bool = True,
    mixed_precision: str | bool | None = None,
    seed: int = 0,
    metadata: dict[str, Any] | None = None,
    discriminators: int = 1,
    aggregation: str = "mean",
    r1: float = 0.0,
    lecam: float = 0.0,
    bcr: float = 0.0,
    ada_target: float | None = None,
    mode_seeking: float = 0.0,
) -> ConditionalGAN:
    """A (conditional) DCGAN for images of ``image_shape`` = (h, w, c).

    ``mixed_precision``: ``True``/"mixed_float16" or "mixed_bfloat16" computes in half precision
    (the discriminator's score and the generator's output stay float32).

    Few-shot levers (all off by default; see `ConditionalGAN` and
    `gan_augment.models.regularizers`): ``discriminators`` = K discriminators of the same
    architecture with their own initial weights (the extra ones are named ``discriminator_1``,
    …; K = 1 builds exactly the one-discriminator model) whose generator losses combine by
    ``aggregation`` ("mean", "softmax" or "max"); ``r1``, ``lecam``, ``bcr``: weights of the
    R1, LeCam and bCR regularizers; ``ada_target``: adaptive discriminator augmentation;
    ``mode_seeking``: weight of MSGAN's mode-seeking term in the generator's loss.

    Example:
        >>> gan = build_image_gan((28, 28, 1), num_classes=10, spectral_norm=True)
        >>> gan.generator.output_shape
        (None, 28, 28, 1)
        >>> build_image_gan((8, 8, 1), 10, discriminators=2).extra_discriminators[0].name
        'discriminator_1'
    """
    import keras

    from gan_augment.models.gan import ConditionalGAN
    from gan_augment.models.image import build_image_discriminator, build_image_generator
    from gan_augment.models.regularizers import check_aggregation

    if isinstance(discriminators, bool) or not isinstance(discriminators, int) or discriminators < 1:
        raise ValueError(
            f"Expected discriminators to be an integer >= 1. Received: discriminators={discriminators!r}."
        )
    check_aggregation(aggregation)
    dtype = _dtype_policy(mixed_precision)
    keras.utils.set_random_seed(seed)  # weight initialisation follows the seed
    generator = build_image_generator(image_shape, latent_dim, num_classes, width=width, dtype=dtype)
    # The first discriminator is drawn exactly as in a one-discriminator model; the extra ones
    # continue the same seeded stream, so each starts from its own weights.
    critics = [build_image_discriminator(image_shape, num_classes, width=width,
                                         spectral_norm=spectral_norm, dtype=dtype,
                                         name=f"discriminator_{k}" if k else "discriminator")
               for k in range(discriminators)]
    return ConditionalGAN(generator, critics[0], latent_dim, num_classes, ema=ema, diffaugment=diffaugment,
                          seed=seed, metadata=metadata, extra_discriminators=critics[1:],
                          aggregation=aggregation, r1=r1, lecam=lecam, bcr=bcr, ada_target=ada_target,
                          mode_seeking=mode_seeking)


def build_table_gan(sample_shape: tuple[int, ...], num_classes: int = 0, **options: Any) -> TabularGAN:
    """A conditional tabular GAN (CTGAN-style) for a table with ``sample_shape = (n_columns,)``.

    Needs ``encoder=``, a `TableEncoder` fitted on the real frame; see
    `gan_augment.models.tabular.build_table_gan` for the other options.

    Example:
        >>> enc = TableEncoder().fit(frame)                                     # doctest: +SKIP
        >>> gan = build_gan("table", (frame.shape[1],), 3, encoder=enc, pac=10)  # doctest: +SKIP
    """
    from gan_augment.models.tabular import build_table_gan as build

    return build(sample_shape, num_classes, **options)


def _dtype_policy(mixed_precision: str | bool | None) -> str | None:
    if not mixed_precision:
        return None
    if mixed_precision is True:
        return "mixed_float16"
    if mixed_precision in ("mixed_float16", "mixed_bfloat16"):
        return mixed_precision
    raise ValueError(
        "Expected mixed_precision to be False, True, 'mixed_float16' or 'mixed_bfloat16'. "
        f"Received: mixed_precision={mixed_precision!r}."
    )


#: The GAN builder of every data kind: ``builder(sample_shape, num_classes, **options)``.
BUILDERS: dict[str, Callable[..., Any]] = {"image": build_image_gan, "table": build_table_gan}


def build_gan(kind: str, sample_shape: tuple[int, ...], num_classes: int, **options: Any) -> Any:
    """The GAN for data of ``kind`` (a key of `BUILDERS`: "image" or "table").

    Example:
        >>> gan = build_gan("image", (8, 8, 1), 10)
        >>> type(gan).__name__
        'ConditionalGAN'
    """
    try:
        builder = BUILDERS[kind]
    except KeyError:
        raise NotImplementedError(
            f"Expected a data kind with a GAN architecture: {sorted(BUILDERS)}. Received: kind={kind!r}."
        ) from None
    return builder(sample_shape, num_classes, **options)


def load_model(path: Any, *, what: str = "a model saved by gan_augment") -> Any:
    """The Keras model in the ``.keras`` file ``path``, loaded in safe mode (no code in the file
    runs), with every model class of this package registered; `DataError` naming ``what`` was
    expected when the file is missing or Keras cannot read it."""
    from pathlib import Path

    import keras

    from gan_augment.errors import DataError
    from gan_augment.models import cyclegan, gan, srgan, tabular  # noqa: F401  (register the classes for loading)

    path = Path(path)
    if path.is_dir():
        raise DataError(f"Expected {what} (a .keras file). Received: {str(path)!r}, which is a folder. "
                        "Pass the .keras file inside it.")
    if not path.is_file():
        raise DataError(f"Expected {what} (a .keras file). Received: {str(path)!r}, which does not exist.")
    try:
        return keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as exc:  # keras raises many types for a bad archive
        defect = _archive_defect(path)
        if defect is not None:  # Keras says "File not found" for a truncated or random file
            raise DataError(
                f"Expected {what} in {str(path)!r}. Received: a file that is not a readable Keras archive "
                f"({defect}): it is corrupt or truncated. Save the model again (its .save(path), or re-run "
                "the gan-augment command that wrote it) or copy the file again from where it was written."
            ) from exc
        text = " ".join(str(exc).split()).split(" Full object config:")[0]  # one line, without the config dump
        text = text if len(text) <= 400 else text[:400] + "…"
        raise DataError(f"Expected {what} in {str(path)!r}. Received: a file Keras cannot load ({text}).") from exc


def _archive_defect(path: Any) -> str | None:
    """Why the ``.keras`` file ``path`` is not an intact zip archive with a ``config.json``, in a
    few words; None when it is one (then Keras refused its content, not its bytes)."""
    import zipfile

    try:
        size = path.stat().st_size
        if size == 0:
            return "it is empty, 0 bytes"
        if not zipfile.is_zipfile(path):
            with open(path, "rb") as fh:
                zip_start = fh.read(2) == b"PK"
            return ("a zip archive cut short: its directory at the end is missing" if zip_start else
                    "not a zip archive at all")
        with zipfile.ZipFile(path) as archive:
            if "config.json" not in archive.namelist():
                return f"a zip archive without config.json ({', '.join(archive.namelist()[:3]) or 'empty'})"
            bad = archive.testzip()
        return None if bad is None else f"{bad!r} in it fails its CRC check"
    except (OSError, EOFError, ValueError, NotImplementedError, RuntimeError, zipfile.BadZipFile) as exc:
        return " ".join(f"{type(exc).__name__}: {exc}".split())


__getattr__, __dir__ = _lazy_exports(globals(), _LAZY)

__all__ = [
    "BUILDERS",
    "LOSSES",
    "ConditionalGAN",
    "FusedBatchNorm",
    "GANBase",
    "GANLoss",
    "InnerProduct",
    "TableEncoder",
    "TabularGAN",
    "build_gan",
    "build_image_discriminator",
    "build_image_gan",
    "build_image_generator",
    "build_table_discriminator",
    "build_table_gan",
    "build_table_generator",
    "get_loss",
    "load_model",
]

"""GAN models: the `ConditionalGAN` wrapper, architectures, losses and DiffAugment.

`build_gan(kind, sample_shape, num_classes, ...)` picks the architecture for a data kind; new
kinds (tables) register a builder in `BUILDERS` instead of adding branches elsewhere.
"""

from __future__ import annotations

from typing import Any

from gan_augment.models.gan import ConditionalGAN
from gan_augment.models.image import build_image_discriminator, build_image_generator
from gan_augment.models.losses import LOSSES, GANLoss, get_loss


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
) -> ConditionalGAN:
    """A (conditional) DCGAN for images of ``image_shape`` = (h, w, c).

    ``mixed_precision``: ``True``/"mixed_float16" or "mixed_bfloat16" computes in half precision
    (the discriminator's score and the generator's output stay float32).

    Example:
        >>> gan = build_image_gan((28, 28, 1), num_classes=10, spectral_norm=True)
        >>> gan.generator.output_shape
        (None, 28, 28, 1)
    """
    import keras

    dtype = _dtype_policy(mixed_precision)
    keras.utils.set_random_seed(seed)  # weight initialisation follows the seed
    return ConditionalGAN(
        build_image_generator(image_shape, latent_dim, num_classes, width=width, dtype=dtype),
        build_image_discriminator(image_shape, num_classes, width=width,
                                  spectral_norm=spectral_norm, dtype=dtype),
        latent_dim=latent_dim,
        num_classes=num_classes,
        ema=ema,
        diffaugment=diffaugment,
        seed=seed,
        metadata=metadata,
    )


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


BUILDERS = {"image": build_image_gan}


def build_gan(kind: str, sample_shape: tuple[int, ...], num_classes: int, **options: Any) -> ConditionalGAN:
    """The GAN for data of ``kind`` ("image"; "table" arrives with the tabular model)."""
    try:
        builder = BUILDERS[kind]
    except KeyError:
        raise NotImplementedError(
            f"Expected a data kind with a GAN architecture: {sorted(BUILDERS)}. Received: kind={kind!r}. "
            "Tables get their GAN in a later release."
        ) from None
    return builder(sample_shape, num_classes, **options)


__all__ = [
    "BUILDERS",
    "ConditionalGAN",
    "GANLoss",
    "LOSSES",
    "build_gan",
    "build_image_discriminator",
    "build_image_gan",
    "build_image_generator",
    "get_loss",
]

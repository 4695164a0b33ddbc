"""Image-to-image networks for unpaired translation (CycleGAN, Zhu et al. 2017), built from the
image shape.

* `build_resnet_generator`: ``image in [-1, 1] -> image in [-1, 1]`` of the same shape. A stem
  convolution, ``k`` stride-2 downsamplings, residual blocks at the low resolution, ``k``
  transposed-convolution upsamplings and a tanh convolution back to the image's channels
  (Johnson et al. 2016). ``k`` follows the image size: none for 8×8, one below 32, two from 32
  on, so the smallest map keeps a few pixels.
* `build_patch_discriminator`: ``image -> map of scores`` (PatchGAN, Isola et al. 2017): each
  score judges one patch. Stride-2 convolutions (one for 8×8, up to three from 32 on) and the
  kernels (`patch_kernels`) keep the receptive field smaller than the image: 7 px for 8×8, the
  classic 70 px from 128 px on.
* `translator_pair` / `critic_pair`: the two generators (or discriminators) as one model
  ``[a, b] -> [G(a), F(b)]`` (``[D_A(a), D_B(b)]``), so `GANBase`'s optimizers, EMA and config
  treat a CycleGAN side as one network.

Both networks use instance normalization — `keras.layers.GroupNormalization` with one group per
channel, a built-in layer, so the models load with ``safe_mode=True`` (no Lambda layers) — and
no batch statistics, so training and inference compute the same function.
"""

from __future__ import annotations

import keras
from keras import layers

#: Names of the sub-networks inside the pairs (`CycleGAN` finds them by name).
GENERATOR_AB, GENERATOR_BA = "generator_ab", "generator_ba"
DISCRIMINATOR_A, DISCRIMINATOR_B = "discriminator_a", "discriminator_b"


def check_image_shape(image_shape: tuple[int, ...]) -> tuple[int, int, int]:
    """``image_shape`` as (height, width, channels) of positive ints, or a ValueError."""
    shape = tuple(int(s) for s in image_shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"Expected image_shape=(height, width, channels) of positive sizes. "
                         f"Received: image_shape={tuple(image_shape)}.")
    if min(shape[:2]) < 4:
        raise ValueError(f"Expected images of at least 4x4 pixels. Received: {shape[0]}x{shape[1]}.")
    return shape  # type: ignore[return-value]


def translation_width(height: int, width: int) -> int:
    """Base number of filters of both networks: tiny images need few."""
    side = max(height, width)
    return 16 if side <= 16 else 32 if side <= 64 else 64


def generator_downsamplings(height: int, width: int) -> int:
    """Stride-2 steps of the generator: 0 below 16 px, 1 below 32, else 2 — fewer while the
    size does not divide, so upsampling gives the input size back.

    Example:
        >>> generator_downsamplings(8, 8), generator_downsamplings(28, 28), generator_downsamplings(64, 64)
        (0, 1, 2)
    """
    side = min(height, width)
    k = 0 if side < 16 else 1 if side < 32 else 2
    while k and (height % 2**k or width % 2**k):
        k -= 1
    return k


def residual_blocks(height: int, width: int) -> int:
    """Residual blocks of the generator: 2 up to 16 px, 6 up to 128 (CycleGAN's 128 px), else 9."""
    side = max(height, width)
    return 2 if side <= 16 else 6 if side <= 128 else 9


def discriminator_downsamplings(height: int, width: int) -> int:
    """Stride-2 layers of the PatchGAN: 1 for 8 px, 2 for 16–31, 3 (the 70×70 PatchGAN) from 32.

    Example:
        >>> discriminator_downsamplings(8, 8), discriminator_downsamplings(28, 28)
        (1, 2)
    """
    return min(3, max(1, min(height, width).bit_length() - 3))


def patch_kernels(height: int, width: int) -> tuple[int, int]:
    """(kernel of the convolutions, kernel of the score layer) of the PatchGAN.

    From 128 px on: 4 and 4, the 70×70 PatchGAN. Below: 3 and 1, so the receptive field,
    2^(k+2) − 1 px with k = `discriminator_downsamplings`, stays smaller than the image (7 px
    for 8×8, 15 for 16–31) and each score judges a patch, not the whole image.
    """
    return (4, 4) if min(height, width) >= 128 else (3, 1)


def _instance_norm(name: str) -> layers.Layer:
    return layers.GroupNormalization(groups=-1, name=name)


def _conv_norm_relu(t: keras.KerasTensor, filters: int, kernel: int, name: str,
                    strides: int = 1) -> keras.KerasTensor:
    t = layers.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=False, name=name)(t)
    t = _instance_norm(f"{name}_norm")(t)
    return layers.ReLU(name=f"{name}_relu")(t)


def _residual_block(t: keras.KerasTensor, filters: int, name: str) -> keras.KerasTensor:
    h = _conv_norm_relu(t, filters, 3, f"{name}_conv1")
    h = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv2")(h)
    h = _instance_norm(f"{name}_conv2_norm")(h)
    return layers.Add(name=f"{name}_add")([t, h])


def build_resnet_generator(
    image_shape: tuple[int, int, int],
    *,
    width: int | None = None,
    blocks: int | None = None,
    downsamplings: int | None = None,
    name: str = GENERATOR_AB,
) -> keras.Model:
    """ResNet generator mapping images of ``image_shape`` to images of the same shape.

    Args:
        image_shape: (height, width, channels) of both domains.
        width: filters of the stem (doubled at each downsampling); default `translation_width`.
        blocks: residual blocks; default `residual_blocks`.
        downsamplings: stride-2 steps; default `generator_downsamplings`.
        name: the model's name (`GENERATOR_AB` or `GENERATOR_BA` inside a CycleGAN).
    """
    h, w, c = check_image_shape(image_shape)
    width = width or translation_width(h, w)
    k = generator_downsamplings(h, w) if downsamplings is None else int(downsamplings)
    if h % 2**k or w % 2**k:
        raise ValueError(f"Expected {h}x{w} images to halve {k} times. Received: downsamplings={k}.")
    stem = 7 if min(h, w) >= 32 else 3  # a 7x7 stem would mostly see padding on tiny images
    image = keras.Input((h, w, c), name="image")
    t = _conv_norm_relu(image, width, stem, "stem")
    for i in range(k):
        t = _conv_norm_relu(t, width * 2 ** (i + 1), 3, f"down{i}", strides=2)
    for i in range(residual_blocks(h, w) if blocks is None else int(blocks)):
        t = _residual_block(t, width * 2**k, f"res{i}")
    for i in reversed(range(k)):
        t = layers.Conv2DTranspose(width * 2**i, 3, strides=2, padding="same", use_bias=False,
                                   name=f"up{i}")(t)
        t = _instance_norm(f"up{i}_norm")(t)
        t = layers.ReLU(name=f"up{i}_relu")(t)
    t = layers.Conv2D(c, stem, padding="same", name="to_pixels")(t)
    out = layers.Activation("tanh", dtype="float32", name="translated")(t)
    return keras.Model(image, out, name=name)


def build_patch_discriminator(
    image_shape: tuple[int, int, int],
    *,
    width: int | None = None,
    downsamplings: int | None = None,
    name: str = DISCRIMINATOR_A,
) -> keras.Model:
    """PatchGAN: a map of unbounded scores, one per patch (no sigmoid: the loss reads scores).

    Args:
        image_shape: (height, width, channels) of the domain it judges.
        width: filters of the first layer (doubled per layer, at most 8×); default
            `translation_width`.
        downsamplings: stride-2 layers; default `discriminator_downsamplings`.
        name: the model's name (`DISCRIMINATOR_A` or `DISCRIMINATOR_B` inside a CycleGAN).
    """
    h, w, c = check_image_shape(image_shape)
    width = width or translation_width(h, w)
    k = discriminator_downsamplings(h, w) if downsamplings is None else int(downsamplings)
    kernel, score_kernel = patch_kernels(h, w)
    image = keras.Input((h, w, c), name="image")
    # The first layer has no normalization (as in pix2pix/CycleGAN): it sees raw pixels.
    t = layers.Conv2D(width, kernel, strides=2, padding="same", name="down0")(image)
    t = layers.LeakyReLU(0.2, name="down0_lrelu")(t)
    for i in range(1, k + 1):
        layer_name = f"down{i}" if i < k else "features"
        t = layers.Conv2D(width * 2 ** min(i, 3), kernel, strides=2 if i < k else 1, padding="same",
                          use_bias=False, name=layer_name)(t)
        t = _instance_norm(f"{layer_name}_norm")(t)
        t = layers.LeakyReLU(0.2, name=f"{layer_name}_lrelu")(t)
    scores = layers.Conv2D(1, score_kernel, padding="same", dtype="float32", name="patch_scores")(t)
    return keras.Model(image, scores, name=name)


def _pair(first: keras.Model, second: keras.Model, names: tuple[str, str], pair_name: str) -> keras.Model:
    """``[a, b] -> [first(a), second(b)]``, after checking the two networks' names."""
    if (first.name, second.name) != names:
        raise ValueError(f"Expected networks named {names} (the CycleGAN finds them by name). "
                         f"Received: {(first.name, second.name)}.")
    a = keras.Input(first.input_shape[1:], name="a")
    b = keras.Input(second.input_shape[1:], name="b")
    return keras.Model([a, b], [first(a), second(b)], name=pair_name)


def translator_pair(generator_ab: keras.Model, generator_ba: keras.Model) -> keras.Model:
    """The generators G: A→B and F: B→A as one model ``[a, b] -> [G(a), F(b)]``."""
    return _pair(generator_ab, generator_ba, (GENERATOR_AB, GENERATOR_BA), "generators")


def critic_pair(discriminator_a: keras.Model, discriminator_b: keras.Model) -> keras.Model:
    """The discriminators D_A (judges domain A) and D_B as one model ``[a, b] -> [D_A(a), D_B(b)]``."""
    return _pair(discriminator_a, discriminator_b, (DISCRIMINATOR_A, DISCRIMINATOR_B), "discriminators")


__all__ = [
    "DISCRIMINATOR_A",
    "DISCRIMINATOR_B",
    "GENERATOR_AB",
    "GENERATOR_BA",
    "build_patch_discriminator",
    "build_resnet_generator",
    "check_image_shape",
    "critic_pair",
    "patch_kernels",
    "translator_pair",
]

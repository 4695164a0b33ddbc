"""Convolutional generator and discriminator built from the image shape.

Builders are pure functions of shapes and options and return functional `keras.Model`s:

* generator: ``[z, label] -> image in [-1, 1]`` (``z -> image`` when unconditional). The label is
  embedded and concatenated with z; a dense layer makes a small feature map that transposed
  convolutions double until it reaches the output size (DCGAN).
* discriminator: ``[image, label] -> logit``. Strided convolutions halve the map; the logit is a
  linear score of the pooled features plus, when conditional, the projection
  ``<embed(label), features>`` (Miyato & Koyama 2018), which is what makes the samples follow
  their label.

The generator's batch norms are `~gan_augment.models.layers.FusedBatchNorm` (Keras'
``BatchNormalization`` on TensorFlow's fused kernel) and the projection is an
`~gan_augment.models.layers.InnerProduct` (``Dot(axes=1)`` as a product and a sum): the same
math and weights as the stock layers, which networks saved by earlier versions still use (a
``.keras`` file carries its layers' config, so it loads as it was saved).

Any height/width works that halves down to a map of side 3–7 (8, 16, 28, 32, 48, 64, 128, …).
"""

from __future__ import annotations

import keras
from keras import layers

from gan_augment.models.layers import FusedBatchNorm, InnerProduct


def upsampling_plan(height: int, width: int) -> tuple[int, int, int]:
    """(start_height, start_width, n_doublings) for an image of the given size.

    Example:
        >>> upsampling_plan(28, 28), upsampling_plan(8, 8), upsampling_plan(64, 64)
        ((7, 7, 2), (4, 4, 1), (4, 4, 4))
    """
    if height < 4 or width < 4:
        raise ValueError(f"Expected images of at least 4x4 pixels. Received: {height}x{width}.")
    h, w, k = height, width, 0
    while h % 2 == 0 and w % 2 == 0 and h > 4 and w > 4 and h // 2 >= 3 and w // 2 >= 3:
        h, w, k = h // 2, w // 2, k + 1
    if k == 0 and max(h, w) > 8:
        raise ValueError(
            f"Expected an image size that halves at least once down to a small map "
            f"(e.g. 8, 28, 32, 64). Received: {height}x{width}. Resize with image_size=."
        )
    return h, w, k


def default_width(height: int, width: int) -> int:
    """Base number of filters: small images need few."""
    side = max(height, width)
    return 32 if side <= 32 else 64


def network_plan(image_shape: tuple[int, int, int], width: int | None) -> tuple[int, int, int, int]:
    """(start_height, start_width, n_doublings, base filters) of both networks for images of
    ``image_shape`` = (h, w, c): `upsampling_plan` and ``width`` (default `default_width`).

    Example:
        >>> network_plan((28, 28, 1), None), network_plan((64, 64, 3), 16)
        ((7, 7, 2, 32), (4, 4, 4, 16))
    """
    h, w, _ = image_shape
    return (*upsampling_plan(h, w), width or default_width(h, w))


def build_image_generator(
    image_shape: tuple[int, int, int],
    latent_dim: int = 64,
    num_classes: int = 0,
    *,
    width: int | None = None,
    embed_dim: int = 32,
    dtype: str | None = None,
    name: str = "generator",
) -> keras.Model:
    """DCGAN-style generator for ``image_shape`` = (h, w, c); conditional when num_classes > 0."""
    h0, w0, k, width = network_plan(image_shape, width)
    ch = width * 2 ** max(k, 1)
    z = keras.Input((latent_dim,), name="z")
    inputs = [z]
    t = z
    if num_classes:
        label = keras.Input((), dtype="int32", name="label")
        inputs.append(label)
        e = layers.Embedding(num_classes, embed_dim, name="label_embedding", dtype=dtype)(label)
        t = layers.Concatenate(name="z_and_label", dtype=dtype)([z, e])
    t = layers.Dense(h0 * w0 * ch, use_bias=False, name="project", dtype=dtype)(t)
    t = FusedBatchNorm(name="project_bn", dtype=dtype)(t)
    t = layers.LeakyReLU(0.2, dtype=dtype)(t)
    t = layers.Reshape((h0, w0, ch), dtype=dtype)(t)
    for i in range(k):
        ch = max(width, ch // 2)
        t = layers.Conv2DTranspose(ch, 4, strides=2, padding="same", use_bias=False,
                                   name=f"up{i}", dtype=dtype)(t)
        t = FusedBatchNorm(name=f"up{i}_bn", dtype=dtype)(t)
        t = layers.LeakyReLU(0.2, dtype=dtype)(t)
    t = layers.Conv2D(image_shape[2], 3, padding="same", name="to_pixels", dtype=dtype)(t)
    out = layers.Activation("tanh", dtype="float32", name="image")(t)
    return keras.Model(inputs if num_classes else z, out, name=name)


def build_image_discriminator(
    image_shape: tuple[int, int, int],
    num_classes: int = 0,
    *,
    width: int | None = None,
    spectral_norm: bool = False,
    dropout: float = 0.0,
    dtype: str | None = None,
    name: str = "discriminator",
) -> keras.Model:
    """Strided-conv discriminator with a projection head; conditional when num_classes > 0."""
    _, _, k, width = network_plan(image_shape, width)

    def sn(layer):
        return layers.SpectralNormalization(layer, dtype=dtype) if spectral_norm else layer

    image = keras.Input(image_shape, name="image")
    t = image
    ch = width
    for i in range(max(k, 1) + 1):
        stride = 2 if i < max(k, 1) else 1
        t = sn(layers.Conv2D(ch, 3, strides=stride, padding="same", name=f"down{i}", dtype=dtype))(t)
        t = layers.LeakyReLU(0.2, dtype=dtype)(t)
        if dropout:
            t = layers.Dropout(dropout, dtype=dtype)(t)
        ch = min(ch * 2, width * 8)
    features = layers.Flatten(name="features", dtype=dtype)(t)
    features = layers.Activation("linear", dtype="float32")(features)
    logit = sn(layers.Dense(1, name="score", dtype="float32"))(features)
    if not num_classes:
        return keras.Model(image, logit, name=name)
    label = keras.Input((), dtype="int32", name="label")
    e = layers.Embedding(num_classes, features.shape[-1], name="projection", dtype="float32")(label)
    proj = InnerProduct(name="project_label", dtype="float32")([e, features])
    logit = layers.Add(name="logit", dtype="float32")([logit, proj])
    return keras.Model([image, label], logit, name=name)

"""Networks of SRGAN (Ledig et al. 2017, "Photo-realistic single image super-resolution using a
generative adversarial network"), built from the image shape and the scale.

* `build_srresnet`: ``low-resolution image in [-1, 1] -> image ``scale`` times larger in
  [-1, 1]``. A stem convolution with PReLU, residual blocks (conv-BN-PReLU-conv-BN + skip), a
  long skip around them, then log2(scale) stages of conv → `PixelShuffle` (×2) → PReLU and a
  tanh convolution back to the image's channels. The network is fully convolutional: the shape
  it is built for only sizes it (width, blocks, stem kernel); it upscales any image of at
  least `MIN_LR_SIDE` pixels a side.
* `build_sr_discriminator`: ``high-resolution image -> one unbounded score``. Pairs of
  convolutions (stride 1, then stride 2) with LeakyReLU down to a map of 4–7 pixels a side,
  global average pooling and a dense head, as in the paper but without batch normalization:
  a critic's score of an image should not depend on the other images of its batch.
* `feature_extractor_from_classifier`: the frozen convolutional trunk of a trained classifier
  (`gan_augment.models.classifier.build_classifier_cnn`, e.g. the validation's domain encoder),
  the offline feature space of SRGAN's content loss in place of the paper's ImageNet VGG.

Every layer is a built-in Keras layer or `PixelShuffle`, a registered serializable layer, so the
models load with ``safe_mode=True`` (no Lambda layers).
"""

from __future__ import annotations

import math

import keras
from keras import layers

from gan_augment.models.translation_nets import check_image_shape

#: The upscaling factors the generator supports (one or two ×2 sub-pixel stages).
SCALES = (2, 4)
#: Smallest side of a low-resolution image (`check_image_shape`'s minimum): below it the 3×3
#: convolutions see mostly padding.
MIN_LR_SIDE = 4


class _Upsampling(layers.Layer):
    """A layer that makes each side ``factor`` (>= 2) times larger; ``factor`` is its config."""

    def __init__(self, factor: int, **kwargs: object) -> None:
        super().__init__(**kwargs)
        if int(factor) < 2:
            raise ValueError(f"Expected factor >= 2. Received: factor={factor}.")
        self.factor = int(factor)

    def get_config(self) -> dict:
        return {**super().get_config(), "factor": self.factor}


@keras.saving.register_keras_serializable(package="gan_augment")
class PixelShuffle(_Upsampling):
    """Sub-pixel upsampling (Shi et al. 2016): ``(n, h, w, r²·c) -> (n, r·h, r·w, c)``.

    Channel ``(i·r + j)·c + k`` of input pixel ``(y, x)`` becomes channel ``k`` of output pixel
    ``(r·y + i, r·x + j)`` (TensorFlow's ``depth_to_space``). After a convolution to ``r²·c``
    channels this is a learned upsampling without the checkerboard artefacts of transposed
    convolutions.

    Args:
        factor: r, the upscaling factor of each side (>= 2).

    Example:
        >>> PixelShuffle(2).compute_output_shape((None, 4, 4, 12))
        (None, 8, 8, 3)
    """

    def call(self, inputs: keras.KerasTensor) -> keras.KerasTensor:
        return keras.ops.depth_to_space(inputs, self.factor)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        n, h, w, c = input_shape
        r = self.factor
        if c is not None and c % (r * r):
            raise ValueError(f"Expected channels divisible by factor²={r * r}. Received: {c} channels.")
        return (n, None if h is None else h * r, None if w is None else w * r,
                None if c is None else c // (r * r))



#: Variance scale of the initial weights of SRResNet's last convolution: small, so an untrained
#: network is close to bicubic resizing, yet not zero, so the layers before it get gradients
#: from the first step.
DETAIL_INIT_SCALE = 1e-4


@keras.saving.register_keras_serializable(package="gan_augment")
class BicubicUpsample(_Upsampling):
    """Bicubic upsampling by ``factor`` of images of any size (``tf.image.resize``, no
    antialiasing): SRResNet's global skip, so the network learns only the detail bicubic
    resizing misses and starts where bicubic resizing is (VDSR, Kim et al. 2016).

    Example:
        >>> BicubicUpsample(4).compute_output_shape((None, 8, 8, 3))
        (None, 32, 32, 3)
    """

    def call(self, inputs: keras.KerasTensor) -> keras.KerasTensor:
        import tensorflow as tf

        size = tf.shape(inputs)[1:3] * self.factor
        return tf.cast(tf.image.resize(inputs, size, method="bicubic"), inputs.dtype)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        n, h, w, c = input_shape
        r = self.factor
        return (n, None if h is None else h * r, None if w is None else w * r, c)


def check_scale(scale: int) -> int:
    """``scale`` as an int of `SCALES`, or a ValueError."""
    if isinstance(scale, bool) or scale not in SCALES:
        raise ValueError(f"Expected scale to be one of {SCALES} (×2 sub-pixel stages). "
                         f"Received: scale={scale!r}.")
    return int(scale)


def low_resolution_shape(hr_shape: tuple[int, ...], scale: int) -> tuple[int, int, int]:
    """The low-resolution shape (h / scale, w / scale, c) of high-resolution images of
    ``hr_shape``; a ValueError when the scale does not divide the size or the result is smaller
    than `MIN_LR_SIDE`.

    Example:
        >>> low_resolution_shape((32, 32, 3), 4)
        (8, 8, 3)
    """
    h, w, c = check_image_shape(hr_shape)
    scale = check_scale(scale)
    if h % scale or w % scale:
        raise ValueError(f"Expected a high-resolution size divisible by scale={scale}. Received: "
                         f"{h}x{w}. Crop the images (or pick patches) to a multiple of {scale}.")
    if min(h, w) // scale < MIN_LR_SIDE:
        raise ValueError(f"Expected low-resolution images of at least {MIN_LR_SIDE}x{MIN_LR_SIDE} "
                         f"pixels, i.e. high-resolution ones of at least {MIN_LR_SIDE * scale}x"
                         f"{MIN_LR_SIDE * scale} at scale={scale}. Received: {h}x{w}.")
    return h // scale, w // scale, c


def sr_width(hr_side: int) -> int:
    """Base number of filters of both networks for high-resolution images of side ``hr_side``:
    the paper's 64 from 32-pixel patches on (the generator works at low resolution, so this is
    cheap), 32 for tinier ones.

    Example:
        >>> sr_width(16), sr_width(32), sr_width(96)
        (32, 64, 64)
    """
    return 32 if hr_side <= 16 else 64


def sr_blocks(hr_side: int) -> int:
    """Residual blocks of the generator: the paper's 16 from 96-pixel patches on, fewer below
    (6 for the 32-pixel patches of the default: +1.6 dB over bicubic after 2000 steps on the
    held-out photograph, against +1.4 dB with 32 filters and 4 blocks)."""
    return 2 if hr_side <= 16 else 6 if hr_side <= 64 else 16


def critic_downsamplings(height: int, width: int) -> int:
    """Stride-2 convolutions of the discriminator: down to a map of 4–7 pixels a side, at most 4
    (the paper's 96-pixel patch ends at 6×6).

    Example:
        >>> critic_downsamplings(8, 8), critic_downsamplings(32, 32), critic_downsamplings(96, 96)
        (1, 3, 4)
    """
    return min(4, max(1, min(height, width).bit_length() - 3))


def _prelu(name: str) -> layers.Layer:
    # One slope per channel, shared over the image: works for any image size.
    return layers.PReLU(shared_axes=[1, 2], name=name)


def _residual_block(t: keras.KerasTensor, filters: int, name: str) -> keras.KerasTensor:
    # No batch normalization (EDSR, Lim et al. 2017): it hurts super-resolution, most of all
    # with the small batches a CPU affords, and a block's output then depends on its image only.
    h = layers.Conv2D(filters, 3, padding="same", name=f"{name}_conv1")(t)
    h = _prelu(f"{name}_prelu")(h)
    h = layers.Conv2D(filters, 3, padding="same", name=f"{name}_conv2")(h)
    return layers.Add(name=f"{name}_add")([t, h])


def build_srresnet(
    lr_shape: tuple[int, int, int],
    scale: int,
    *,
    width: int | None = None,
    blocks: int | None = None,
    name: str = "generator",
) -> keras.Model:
    """SRResNet: low-resolution images in [-1, 1] to images ``scale`` times larger (about
    [-1, 1]; callers clip).

    The paper's network (a stem, residual blocks with a long skip, sub-pixel upsampling) with
    two changes for training from scratch on little compute: no batch normalization (EDSR) and
    a global skip — the output is the bicubic upsampling of the input plus what the network
    adds, whose last convolution starts at zero, so an untrained SRResNet *is* bicubic
    resizing and training only adds detail (VDSR).

    Args:
        lr_shape: (height, width, channels) of the low-resolution images it trains on; it sizes
            the network, which takes images of any size with these channels.
        scale: 2 or 4.
        width: filters of the convolutions (default `sr_width` of the high-resolution side).
        blocks: residual blocks (default `sr_blocks`).
        name: the model's name.
    """
    h, w, c = check_image_shape(lr_shape)  # at least MIN_LR_SIDE a side
    scale = check_scale(scale)
    hr_side = max(h, w) * scale
    width = width or sr_width(hr_side)
    kernel = 9 if min(h, w) >= 32 else 3  # the paper's 9×9 would mostly see padding on tiny images
    image = keras.Input((None, None, c), name="low_resolution")
    t = layers.Conv2D(width, kernel, padding="same", name="stem")(image)
    skip = t = _prelu("stem_prelu")(t)
    for i in range(sr_blocks(hr_side) if blocks is None else int(blocks)):
        t = _residual_block(t, width, f"res{i}")
    t = layers.Conv2D(width, 3, padding="same", name="trunk_conv")(t)
    t = layers.Add(name="long_skip")([skip, t])
    for i in range(int(math.log2(scale))):
        t = layers.Conv2D(width * 4, 3, padding="same", name=f"up{i}_conv")(t)
        t = PixelShuffle(2, name=f"up{i}_shuffle")(t)
        t = _prelu(f"up{i}_prelu")(t)
    detail = layers.Conv2D(c, kernel, padding="same", dtype="float32", name="detail",
                           kernel_initializer=keras.initializers.VarianceScaling(DETAIL_INIT_SCALE))(t)
    bicubic = BicubicUpsample(scale, dtype="float32", name="bicubic")(image)
    out = layers.Add(dtype="float32", name="super_resolved")([bicubic, detail])
    return keras.Model(image, out, name=name)


def build_sr_discriminator(
    hr_shape: tuple[int, int, int],
    *,
    width: int | None = None,
    name: str = "discriminator",
) -> keras.Model:
    """SRGAN's discriminator on high-resolution images of ``hr_shape``: one unbounded score per
    image (no sigmoid: the loss reads scores).

    Args:
        hr_shape: (height, width, channels) of the images it judges.
        width: filters of the first stage, doubled per stage up to 8× (default `sr_width`);
            the stages follow `critic_downsamplings`.
        name: the model's name.
    """
    h, w, c = check_image_shape(hr_shape)
    width = width or sr_width(max(h, w))
    k = critic_downsamplings(h, w)
    image = keras.Input((h, w, c), name="high_resolution")
    t = layers.Conv2D(width, 3, padding="same", name="stem")(image)
    t = layers.LeakyReLU(0.2, name="stem_lrelu")(t)
    for i in range(k):
        filters = width * 2 ** min(i, 3)
        if i:  # the stem plays the first stage's stride-1 convolution
            t = layers.Conv2D(filters, 3, padding="same", name=f"stage{i}_conv")(t)
            t = layers.LeakyReLU(0.2, name=f"stage{i}_conv_lrelu")(t)
        t = layers.Conv2D(filters, 3, strides=2, padding="same", name=f"stage{i}_down")(t)
        t = layers.LeakyReLU(0.2, name=f"stage{i}_down_lrelu")(t)
    t = layers.GlobalAveragePooling2D(name="pool")(t)
    t = layers.Dense(width * 16, name="dense")(t)
    t = layers.LeakyReLU(0.2, name="dense_lrelu")(t)
    score = layers.Dense(1, dtype="float32", name="score")(t)
    return keras.Model(image, score, name=name)


def feature_extractor_from_classifier(
    classifier: keras.Model,
    hr_shape: tuple[int, int, int],
    *,
    layer: str | None = None,
    name: str = "feature_extractor",
) -> keras.Model:
    """A frozen copy of ``classifier``'s layers up to ``layer`` (default: its last convolution),
    on images of ``hr_shape`` in [0, 1]: the feature space of SRGAN's content loss.

    ``classifier`` is a chain of layers (`build_classifier_cnn`) trained on images in [0, 1],
    e.g. the validation's domain encoder trained on the high-resolution images' labels. Its
    convolutions do not depend on the image size, so the copy works on training patches of
    any size. The copy has its own weights: the classifier stays as it is.

    Example:
        >>> from gan_augment.models.classifier import build_classifier_cnn
        >>> net = feature_extractor_from_classifier(build_classifier_cnn((16, 16, 3), 3), (32, 32, 3))
        >>> net.output_shape, net.trainable
        ((None, 16, 16, 64), False)
    """
    convs = [lay.name for lay in classifier.layers if isinstance(lay, layers.Conv2D)]
    layer = layer or (convs[-1] if convs else None)
    names = [lay.name for lay in classifier.layers]
    if layer not in names:
        raise ValueError(f"Expected layer to name a layer of the classifier {names}. "
                         f"Received: layer={layer!r}.")
    image = keras.Input(tuple(int(s) for s in hr_shape), name="image")
    t = image
    for source in classifier.layers[1 : names.index(layer) + 1]:
        copy = source.__class__.from_config(source.get_config())
        t = copy(t)
        copy.set_weights(source.get_weights())
    extractor = keras.Model(image, t, name=name)
    extractor.trainable = False
    return extractor


__all__ = [
    "MIN_LR_SIDE",
    "SCALES",
    "BicubicUpsample",
    "PixelShuffle",
    "build_sr_discriminator",
    "build_srresnet",
    "check_scale",
    "critic_downsamplings",
    "feature_extractor_from_classifier",
    "low_resolution_shape",
    "sr_blocks",
    "sr_width",
]

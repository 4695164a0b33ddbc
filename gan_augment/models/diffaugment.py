"""Differentiable augmentation (Zhao et al. 2020, "DiffAugment") for data-efficient GANs.

The same random, differentiable transforms are applied to real and generated images before the
discriminator sees them, so the discriminator cannot memorise a small training set while the
generator still receives gradients through the transform. Images are in [-1, 1], NHWC.

Policies: ``"color"`` (brightness, saturation, contrast), ``"translation"`` (shift by up to 1/8 of
the size, zero padded), ``"cutout"`` (a zeroed square of half the size). Combine with commas.
"""

from __future__ import annotations

import tensorflow as tf

POLICIES = ("color", "translation", "cutout")


def parse_policy(policy: str | None) -> tuple[str, ...]:
    """``"color,translation"`` -> ("color", "translation"); ``None``/"" -> ()."""
    if not policy:
        return ()
    parts = tuple(p.strip() for p in policy.split(",") if p.strip())
    unknown = [p for p in parts if p not in POLICIES]
    if unknown:
        raise ValueError(
            f"Expected a comma-separated DiffAugment policy from {POLICIES}. "
            f"Received: policy={policy!r} (unknown: {unknown})."
        )
    return parts


def diff_augment(x: tf.Tensor, policy: tuple[str, ...], seed: tf.Tensor,
                 p: tf.Tensor | float | None = None) -> tf.Tensor:
    """Apply ``policy`` to the batch ``x`` with randomness drawn from the stateless ``seed``.

    ``p``: when given, each transform is applied to each image with probability ``p`` (a
    per-sample Bernoulli mask picks the transformed or the original image), as in adaptive
    discriminator augmentation (Karras et al. 2020); ``None`` applies every transform to every
    image. The transforms draw the same randomness either way.

    Example:
        >>> x = tf.zeros([4, 8, 8, 1])
        >>> diff_augment(x, ("translation",), tf.constant([1, 2]), p=0.0).shape
        TensorShape([4, 8, 8, 1])
    """
    for i, name in enumerate(policy):
        s = tf.random.experimental.stateless_fold_in(seed, i)
        y = _TRANSFORMS[name](x, s)
        if p is not None:
            mask_seed = tf.random.experimental.stateless_fold_in(s, _MASK_STREAM)
            u = tf.random.stateless_uniform(tf.stack([tf.shape(x)[0], 1, 1, 1]), seed=mask_seed)
            y = tf.where(u < tf.cast(p, tf.float32), y, x)
        x = y
    return x


#: Offset of the seed of the per-sample masks of ``diff_augment(..., p=)`` (a separate stream).
_MASK_STREAM = 7919


def _uniform(shape, seed, lo=0.0, hi=1.0, dtype=tf.float32):
    return tf.random.stateless_uniform(shape, seed=seed, minval=lo, maxval=hi, dtype=dtype)


def _color(x: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    n = tf.shape(x)[0]
    s1, s2, s3 = tf.unstack(tf.random.experimental.stateless_split(seed, 3))
    x = x + (_uniform([n, 1, 1, 1], s1, dtype=x.dtype) - 0.5)
    if x.shape[-1] and x.shape[-1] > 1:
        mean = tf.reduce_mean(x, axis=3, keepdims=True)
        x = (x - mean) * (_uniform([n, 1, 1, 1], s2, dtype=x.dtype) * 2.0) + mean
    mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
    return (x - mean) * (_uniform([n, 1, 1, 1], s3, dtype=x.dtype) + 0.5) + mean


def _translation(x: tf.Tensor, seed: tf.Tensor, ratio: float = 0.125) -> tf.Tensor:
    n, h, w = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2]
    max_h = tf.cast(tf.math.ceil(tf.cast(h, tf.float32) * ratio), tf.int32)
    max_w = tf.cast(tf.math.ceil(tf.cast(w, tf.float32) * ratio), tf.int32)
    sh, sw = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    dy = tf.random.stateless_uniform([n, 1, 1], sh, minval=-max_h, maxval=max_h + 1, dtype=tf.int32)
    dx = tf.random.stateless_uniform([n, 1, 1], sw, minval=-max_w, maxval=max_w + 1, dtype=tf.int32)
    # Source coordinates for every output pixel; outside the image reads zero (the padded border).
    ys = tf.range(h)[None, :, None] - dy
    xs = tf.range(w)[None, None, :] - dx
    inside = (ys >= 0) & (ys < h) & (xs >= 0) & (xs < w)
    ys, xs = tf.clip_by_value(ys, 0, h - 1), tf.clip_by_value(xs, 0, w - 1)
    batch = tf.broadcast_to(tf.range(n)[:, None, None], tf.shape(inside))
    idx = tf.stack([batch, tf.broadcast_to(ys, tf.shape(inside)), tf.broadcast_to(xs, tf.shape(inside))], -1)
    out = tf.gather_nd(x, idx)
    return out * tf.cast(inside, x.dtype)[..., None] + (-1.0) * (1.0 - tf.cast(inside, x.dtype)[..., None])


def _cutout(x: tf.Tensor, seed: tf.Tensor, ratio: float = 0.5) -> tf.Tensor:
    n, h, w = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2]
    ch = tf.cast(tf.cast(h, tf.float32) * ratio + 0.5, tf.int32)
    cw = tf.cast(tf.cast(w, tf.float32) * ratio + 0.5, tf.int32)
    sh, sw = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    cy = tf.random.stateless_uniform([n, 1, 1], sh, minval=0, maxval=h + (1 - ch % 2), dtype=tf.int32)
    cx = tf.random.stateless_uniform([n, 1, 1], sw, minval=0, maxval=w + (1 - cw % 2), dtype=tf.int32)
    ys = tf.range(h)[None, :, None]
    xs = tf.range(w)[None, None, :]
    hole = (tf.abs(ys - cy) <= ch // 2) & (tf.abs(xs - cx) <= cw // 2)
    keep = 1.0 - tf.cast(hole, x.dtype)[..., None]
    # "Zero" in [0, 1] pixel space is -1 in the model's [-1, 1] range.
    return x * keep + (-1.0) * (1.0 - keep)


_TRANSFORMS = {"color": _color, "translation": _translation, "cutout": _cutout}

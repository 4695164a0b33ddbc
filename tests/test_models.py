"""The GAN model itself: builders, losses, DiffAugment and the semantics of `train_step`."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import random_batch, values

from gan_augment.models import build_image_gan, get_loss
from gan_augment.models.diffaugment import diff_augment, parse_policy
from gan_augment.models.image import upsampling_plan
from gan_augment.models.layers import FusedBatchNorm, InnerProduct
from gan_augment.models.losses import gradient_penalty


@pytest.mark.parametrize("shape", [(8, 8, 1), (28, 28, 1), (32, 32, 3), (64, 64, 3)])
def test_architectures_follow_the_image_shape(shape):
    gan = build_image_gan(shape, num_classes=3, spectral_norm=True)
    z = np.zeros((2, gan.latent_dim), "float32")
    images = gan.generate(z, np.array([0, 2]))
    assert images.shape == (2, *shape)
    assert images.min() >= 0.0 and images.max() <= 1.0
    logits = gan.discriminator([tf.zeros((2, *shape)), tf.constant([0, 1])])
    assert tuple(logits.shape) == (2, 1)


def test_upsampling_plan_rejects_sizes_it_cannot_build():
    assert upsampling_plan(28, 28) == (7, 7, 2)
    with pytest.raises(ValueError, match="image_size"):
        upsampling_plan(37, 37)


def test_losses_match_their_formulas():
    zero = tf.zeros([4, 1])
    ns = get_loss("non_saturating")
    assert float(ns.d_loss(zero, zero)) == pytest.approx(2 * math.log(2), rel=1e-6)
    assert float(ns.g_loss(zero)) == pytest.approx(math.log(2), rel=1e-6)
    hinge = get_loss("hinge")
    assert float(hinge.d_loss(tf.fill([4, 1], 2.0), tf.fill([4, 1], -2.0))) == 0.0  # beyond margins
    assert float(hinge.d_loss(zero, zero)) == pytest.approx(2.0)
    w = get_loss("wasserstein_gp")
    assert float(w.d_loss(tf.fill([4, 1], 3.0), tf.fill([4, 1], 1.0))) == pytest.approx(-2.0)
    assert w.gradient_penalty > 0 and w.d_steps == 5
    with pytest.raises(ValueError, match="Received: loss='nope'"):
        get_loss("nope")


@pytest.mark.parametrize("scale, expected", [(1.0, 0.0), (2.0, 1.0), (0.0, 1.0)])
def test_gradient_penalty_of_a_linear_critic(scale, expected):
    # D(x) = scale * sum(x) / ||1|| has gradient norm `scale` everywhere: penalty (scale - 1)^2.
    real, fake = tf.random.normal([8, 4, 4, 1]), tf.random.normal([8, 4, 4, 1])

    def critic(x):
        return scale * tf.reduce_sum(x, axis=[1, 2, 3]) / 4.0

    gp = gradient_penalty(critic, real, fake, seed=tf.constant([1, 2]))
    assert float(gp) == pytest.approx(expected, abs=1e-4)  # finite at zero thanks to the epsilon


def test_diffaugment_is_seeded_differentiable_and_shape_preserving():
    x = tf.random.uniform([6, 8, 8, 1], -1.0, 1.0)
    policy = parse_policy("color,translation,cutout")
    a = diff_augment(x, policy, tf.constant([3, 4]))
    b = diff_augment(x, policy, tf.constant([3, 4]))
    c = diff_augment(x, policy, tf.constant([5, 6]))
    assert a.shape == x.shape
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not np.array_equal(a.numpy(), c.numpy())
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(diff_augment(x, policy, tf.constant([3, 4])))
    assert tape.gradient(y, x) is not None
    with pytest.raises(ValueError, match="unknown"):
        parse_policy("color,zoom")



@pytest.mark.parametrize("frozen", ["generator", "discriminator"])
def test_each_optimizer_moves_only_its_own_network(frozen):
    gan = build_image_gan((8, 8, 1), num_classes=3, ema=False)
    lr = {"generator": (0.0, 1e-2), "discriminator": (1e-2, 0.0)}[frozen]
    gan.compile(g_optimizer=keras.optimizers.Adam(lr[0]), d_optimizer=keras.optimizers.Adam(lr[1]))
    # The optimizers were built on exactly their own network's variables.
    assert len(gan.g_optimizer._trainable_variables) == len(gan.generator.trainable_variables)
    assert len(gan.d_optimizer._trainable_variables) == len(gan.discriminator.trainable_variables)
    g0, d0 = values(gan.generator.trainable_variables), values(gan.discriminator.trainable_variables)
    logs = gan.train_step(random_batch())
    g1, d1 = values(gan.generator.trainable_variables), values(gan.discriminator.trainable_variables)
    g_moved = any(not np.array_equal(a, b) for a, b in zip(g0, g1))
    d_moved = any(not np.array_equal(a, b) for a, b in zip(d0, d1))
    assert (g_moved, d_moved) == ((False, True) if frozen == "generator" else (True, False))
    assert set(logs) == {"d_loss", "g_loss", "d_real", "d_fake"}
    for key in ("d_real", "d_fake"):
        assert 0.0 <= float(logs[key]) <= 1.0
    assert gan.steps_taken == 1


def test_critic_steps_and_ema_follow_the_generator():
    gan = build_image_gan((8, 8, 1), num_classes=3, ema=True)
    gan.compile(loss="wasserstein_gp")
    assert gan.d_steps == 5
    d_iter = int(gan.d_optimizer.iterations.numpy())
    before = values(gan.ema_generator.trainable_variables)
    gan.train_step(random_batch())
    assert int(gan.d_optimizer.iterations.numpy()) - d_iter == 5
    assert int(gan.g_optimizer.iterations.numpy()) == 1
    after = values(gan.ema_generator.trainable_variables)
    assert any(not np.array_equal(a, b) for a, b in zip(before, after))
    # Early in training the EMA is debiased, so it tracks the generator closely.
    gen = values(gan.generator.trainable_variables)
    assert all(np.allclose(a, g, atol=1e-2) for a, g in zip(after, gen))


def test_unconditional_gan_trains_without_labels():
    gan = build_image_gan((8, 8, 1), num_classes=0)
    gan.compile(loss="hinge")
    logs = gan.train_step(random_batch()[0])
    assert np.isfinite(float(logs["g_loss"]))
    assert gan.generate(np.zeros((3, gan.latent_dim), "float32")).shape == (3, 8, 8, 1)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_step(policy):
    gan = build_image_gan((8, 8, 1), num_classes=3, mixed_precision=policy)
    gan.compile()
    if policy == "mixed_float16":
        assert isinstance(gan.g_optimizer, keras.optimizers.LossScaleOptimizer)
    assert gan.discriminator.output.dtype == "float32"
    logs = gan.train_step(random_batch())
    assert np.isfinite(float(logs["d_loss"]))


def _bn_pair(shape, dtype=None):
    """A Keras BatchNormalization and a FusedBatchNorm built for ``shape``, same random weights."""
    rng = np.random.default_rng(1)
    pair = (keras.layers.BatchNormalization(dtype=dtype), FusedBatchNorm(dtype=dtype))
    weights = [rng.normal(size=shape[-1]).astype("float32") for _ in range(2)]
    weights += [rng.normal(size=shape[-1]).astype("float32"), rng.uniform(0.5, 2, shape[-1]).astype("float32")]
    for layer in pair:
        layer.build(shape)
        layer.set_weights(weights)
    return pair


@pytest.mark.parametrize("shape, dtype", [((8, 7, 7, 16), None), ((8, 48), None), ((4, 3, 5), None),
                                          ((8, 4, 4, 16), "mixed_float16"), ((8, 48), "mixed_bfloat16")])
def test_fused_batch_norm_matches_keras_batch_norm(shape, dtype):
    keras_bn, fused = _bn_pair(shape, dtype)
    assert [w.path.split("/")[-1] for w in fused.weights] == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert [w.shape for w in fused.weights] == [w.shape for w in keras_bn.weights]
    rng = np.random.default_rng(2)
    x = tf.constant(rng.normal(1.5, 2.0, shape).astype("float32"))
    w = tf.constant(rng.normal(size=shape).astype("float32"))
    runs = []
    for layer in (keras_bn, fused):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
            loss = tf.reduce_sum(tf.cast(y, "float32") * w)
        grads = tape.gradient(loss, [x, layer.gamma, layer.beta])
        layer(x * 0.5 - 1.0, training=True)  # a second update of the moving statistics
        runs.append([y, *grads, layer.moving_mean, layer.moving_variance, layer(x, training=False)])
    assert runs[1][0].dtype == runs[0][0].dtype == (keras.DTypePolicy(dtype).compute_dtype if dtype else "float32")
    rtol = 1e-5 if dtype is None else 2e-2  # half-precision outputs: a rounding step apart at most
    for ref, new in zip(*runs):
        ref, new = values([tf.cast(ref, "float32"), tf.cast(new, "float32")])
        np.testing.assert_allclose(new, ref, rtol=rtol, atol=rtol * np.abs(ref).max())
    # The same under XLA, and frozen (trainable=False) means inference, as in Keras.
    xla = tf.function(lambda t: fused(t, training=True), jit_compile=True)(x)
    np.testing.assert_allclose(*values([tf.cast(xla, "float32"), tf.cast(runs[1][0], "float32")]),
                               rtol=rtol, atol=rtol)
    inference = fused(x, training=False)
    fused.trainable = False
    before = values([fused.moving_mean])[0]
    np.testing.assert_array_equal(*values([fused(x, training=True), inference]))
    np.testing.assert_array_equal(values([fused.moving_mean])[0], before)


def test_inner_product_is_a_row_dot():
    rng = np.random.default_rng(3)
    a, b = (tf.constant(rng.normal(size=(5, 40)).astype("float32")) for _ in range(2))
    np.testing.assert_allclose(InnerProduct()([a, b]).numpy(), keras.layers.Dot(axes=1)([a, b]).numpy(),
                               rtol=1e-5, atol=1e-5)
    assert InnerProduct().compute_output_shape([(None, 40), (None, 40)]) == (None, 1)


def test_models_saved_with_keras_batch_norm_and_dot_still_load(tmp_path, monkeypatch):
    import functools

    from gan_augment.models import image, load_model

    # The architecture before FusedBatchNorm / InnerProduct, built and saved as earlier versions did.
    with monkeypatch.context() as m:
        m.setattr(image, "FusedBatchNorm", keras.layers.BatchNormalization)
        m.setattr(image, "InnerProduct", functools.partial(keras.layers.Dot, axes=1))
        old = build_image_gan((8, 8, 1), num_classes=3)
    assert type(old.generator.get_layer("project_bn")) is keras.layers.BatchNormalization
    assert type(old.discriminator.get_layer("project_label")) is keras.layers.Dot
    old.compile()
    old.train_step(random_batch())  # moving statistics and weights away from their initial values
    old.save(tmp_path / "old.keras")
    new = build_image_gan((8, 8, 1), num_classes=3)
    new.save(tmp_path / "new.keras")
    assert isinstance(new.generator.get_layer("up0_bn"), FusedBatchNorm)

    loaded = load_model(tmp_path / "old.keras")
    assert type(loaded.generator.get_layer("up0_bn")) is keras.layers.BatchNormalization  # as it was saved
    assert isinstance(load_model(tmp_path / "new.keras").generator.get_layer("up0_bn"), FusedBatchNorm)
    # Old weights (and so checkpoints, which store them by position) fit the new architecture.
    assert [(v.path, v.shape) for v in new.weights] == [(v.path, v.shape) for v in old.weights]
    new.set_weights(loaded.get_weights())
    z, labels = np.random.default_rng(4).normal(size=(6, old.latent_dim)).astype("float32"), np.arange(6) % 3
    images = [gan.generate(z, labels) for gan in (old, loaded, new)]
    np.testing.assert_array_equal(images[1], images[0])
    np.testing.assert_allclose(images[2], images[0], atol=1e-5)
    x = random_batch(6)
    logits = [gan.discriminator(list(x)).numpy() for gan in (old, new)]
    np.testing.assert_allclose(logits[1], logits[0], rtol=1e-5, atol=1e-5)

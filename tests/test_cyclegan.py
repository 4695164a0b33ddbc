"""CycleGAN (gan_augment.models.cyclegan): the step's semantics, the history pool, save/load,
resume and bad input — all on 8×8 images, a few steps each."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import values

from gan_augment import checkpoint as ckpt
from gan_augment import load_dataset
from gan_augment.data.rendered import render_digits
from gan_augment.models import get_loss
from gan_augment.models import translation_nets as nets
from gan_augment.models.cyclegan import CycleGAN, build_cyclegan, pool_exchange

SHAPE = (8, 8, 1)
METRICS = {"d_loss", "g_loss", "cycle_loss", "identity_loss",
           "d_a_real", "d_a_fake", "d_b_real", "d_b_fake"}


def unpaired_batch(n: int = 4, seed: int = 0, shape: tuple[int, ...] = SHAPE) -> tuple[tf.Tensor, ...]:
    """``n`` images of domain A (8×8×1) and ``n`` of domain B (of ``shape``), in [0, 1]."""
    rng = np.random.default_rng(seed)
    return (tf.constant(rng.uniform(0, 1, (n, *SHAPE)).astype("float32")),
            tf.constant(rng.uniform(0, 1, (n, *shape)).astype("float32")))


def moved(before: list[np.ndarray], after: list[np.ndarray]) -> bool:
    return any(not np.array_equal(x, y) for x, y in zip(before, after))


@pytest.mark.parametrize("frozen", ["generators", "discriminators"])
def test_each_optimizer_moves_only_its_own_networks(frozen):
    gan = build_cyclegan(SHAPE, ema=False)
    g_lr, d_lr = (0.0, 1e-2) if frozen == "generators" else (1e-2, 0.0)
    gan.compile(g_optimizer=keras.optimizers.Adam(g_lr), d_optimizer=keras.optimizers.Adam(d_lr))
    networks = [gan.translator("a2b"), gan.translator("b2a"), gan.critic("a"), gan.critic("b")]
    # One optimizer a side, built on exactly both networks of that side.
    sizes = [len(n.trainable_variables) for n in networks]
    assert len(gan.g_optimizer._trainable_variables) == sizes[0] + sizes[1]
    assert len(gan.d_optimizer._trainable_variables) == sizes[2] + sizes[3]
    before = [values(n.trainable_variables) for n in networks]
    logs = gan.train_step(unpaired_batch())
    changed = [moved(b, values(n.trainable_variables)) for b, n in zip(before, networks)]
    assert changed == ([False, False, True, True] if frozen == "generators" else [True, True, False, False])
    assert set(logs) == METRICS and all(math.isfinite(float(v)) for v in logs.values())
    assert gan.steps_taken == 1


def test_the_least_squares_loss_matches_its_formula():
    ls = get_loss("least_squares")
    ones, zeros = tf.ones(3), tf.zeros(3)
    assert float(ls.d_loss(ones, zeros)) == 0.0 and float(ls.d_loss(zeros, ones)) == 1.0
    assert float(ls.g_loss(ones)) == 0.0 and float(ls.g_loss(zeros)) == 1.0
    assert (ls.gradient_penalty, ls.d_steps) == (0.0, 1)


@pytest.mark.parametrize("loss", ["non_saturating", "hinge", "wasserstein_gp"])
def test_the_other_adversarial_losses_play_the_same_step(loss):
    gan = build_cyclegan(SHAPE, pool_size=4)
    gan.compile(loss=loss)
    assert gan.loss_fn.name == loss and build_cyclegan(SHAPE).loss_fn.name == "least_squares"
    logs = gan.train_step(unpaired_batch())
    assert all(math.isfinite(float(v)) for v in logs.values())
    assert int(gan.d_optimizer.iterations.numpy()) == gan.d_steps  # wasserstein_gp: 5 critic steps


def patch_critics() -> keras.Model:
    return nets.critic_pair(*(nets.build_patch_discriminator(SHAPE, name=name)
                              for name in (nets.DISCRIMINATOR_A, nets.DISCRIMINATOR_B)))


def identity_translator(name: str) -> keras.Model:
    """A trainable network that starts as the identity (a 1×1 convolution of weight 1)."""
    image = keras.Input(SHAPE)
    out = keras.layers.Conv2D(1, 1, kernel_initializer="ones", bias_initializer="zeros")(image)
    return keras.Model(image, out, name=name)


def test_the_cycle_and_identity_losses_of_identity_generators_are_zero():
    generators = nets.translator_pair(identity_translator(nets.GENERATOR_AB),
                                      identity_translator(nets.GENERATOR_BA))
    gan = CycleGAN(generators, patch_critics(), ema=False)
    gan.compile()
    logs = gan.train_step(unpaired_batch())
    assert float(logs["cycle_loss"]) == 0.0 and float(logs["identity_loss"]) == 0.0
    # A translator that is not the identity does not close the cycle.
    assert float(build_cyclegan(SHAPE).generator_losses(*unpaired_batch())["cycle_loss"]) > 0.0


def test_the_pool_fills_then_exchanges_fakes_for_stored_ones():
    def images(ids):  # image k is filled with the value k, so it can be told apart
        return tf.constant(np.ones((len(ids), *SHAPE)) * np.reshape(ids, (-1, 1, 1, 1)), tf.float32)

    def ids(x):
        return sorted(np.asarray(x)[:, 0, 0, 0].tolist())

    pool = tf.zeros((4, *SHAPE))
    seen, pool = pool_exchange(pool, tf.constant(0), images([1, 2, 3]), tf.constant([0, 0], tf.int64))
    assert ids(seen) == [1, 2, 3] and ids(pool) == [0, 1, 2, 3]  # filling: fakes pass and are kept
    full = pool_exchange(pool, tf.constant(3), images([4]), tf.constant([0, 1], tf.int64))[1]
    assert ids(full) == [1, 2, 3, 4]
    swaps = 0
    for s in range(8):
        fakes = images([10, 11, 12, 13, 14])  # more than the pool holds
        seen, new = pool_exchange(full, tf.constant(4), fakes, tf.constant([s, 7], tf.int64))
        # An exchange: what is seen plus what is kept is what came in plus what was there.
        assert ids(tf.concat([seen, new], 0)) == ids(tf.concat([fakes, full], 0))
        swaps += sum(i < 10 for i in ids(seen))
        again = pool_exchange(full, tf.constant(4), fakes, tf.constant([s, 7], tf.int64))
        np.testing.assert_array_equal(seen, again[0])  # seeded
    assert 0 < swaps < 8 * 4  # some fakes were exchanged, some passed through


def test_save_and_load_give_identical_translations(tmp_path):
    gan = build_cyclegan(SHAPE, pool_size=4, total_steps=10, seed=1,
                         metadata={"a": "rendered", "b": "digits"})
    gan.compile()
    for i in range(2):
        gan.train_step(unpaired_batch(seed=i))
    path = tmp_path / "cyclegan.keras"
    gan.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True, compile=False)
    options = ("cycle_weight", "identity_weight", "pool_size", "total_steps", "ema", "seed", "metadata")
    assert isinstance(loaded, CycleGAN)
    assert {k: loaded.get_config()[k] for k in options} == {k: gan.get_config()[k] for k in options}
    for x, y in zip(values(gan.weights), values(loaded.weights)):  # pools and step included
        np.testing.assert_array_equal(x, y)
    images = np.random.default_rng(5).uniform(0, 1, (5, *SHAPE)).astype("float32")
    for direction in ("a2b", "b2a"):
        for use_ema in (True, False):
            out = gan.translate(images, direction, use_ema=use_ema, batch_size=2)
            assert out.dtype == np.float32 and out.shape == images.shape
            assert 0 <= out.min() <= out.max() <= 1
            again = loaded.translate(images, direction, use_ema=use_ema, batch_size=2)
            np.testing.assert_array_equal(again, out)
    # The EMA copies are what translate uses by default, and they lag the trained generators.
    assert not np.array_equal(gan.translate(images), gan.translate(images, use_ema=False))


def test_resume_continues_the_step_the_random_stream_and_the_pool(tmp_path):
    def model():
        gan = build_cyclegan(SHAPE, pool_size=4, total_steps=3, seed=2)
        gan.compile(learning_rate=1e-3)
        return gan

    straight = model()
    for i in range(2):
        straight.train_step(unpaired_batch(seed=i))
    ckpt.save_checkpoint(tmp_path, straight, {"epoch": 2, "fingerprint": {}})
    pool_before = values(straight.pools)
    straight.train_step(unpaired_batch(seed=2))
    assert moved(pool_before, values(straight.pools))  # the third step exchanged pool entries

    resumed = model()
    ckpt.load_checkpoint(tmp_path, resumed, {})
    assert resumed.steps_taken == 2
    resumed.train_step(unpaired_batch(seed=2))
    for x, y in zip(values(ckpt.training_variables(straight)), values(ckpt.training_variables(resumed))):
        np.testing.assert_array_equal(x, y)
    # The learning rate decays over the second half of total_steps: half of it at step 2 of 3.
    assert float(resumed.g_optimizer.learning_rate) == pytest.approx(5e-4)


def test_a_non_finite_loss_shows_in_the_logs_for_the_nan_guard():
    gan = build_cyclegan(SHAPE, pool_size=4)
    gan.compile()
    good = ckpt.snapshot(gan)
    a, b = unpaired_batch()
    logs = gan.train_step((a * np.nan, b))
    assert not all(math.isfinite(float(logs[k])) for k in ("g_loss", "cycle_loss"))
    ckpt.restore_snapshot(gan, good)  # what the training driver's NaN guard does
    for x, y in zip(good, values(ckpt.training_variables(gan))):
        np.testing.assert_array_equal(x, y)


def test_bad_input_is_refused_clearly():
    with pytest.raises(ValueError, match=r"image_shape=\(height, width, channels\)"):
        build_cyclegan((8, 8))
    with pytest.raises(ValueError, match="cycle_weight >= 0"):
        build_cyclegan(SHAPE, cycle_weight=-1)
    with pytest.raises(ValueError, match="named"):
        nets.translator_pair(nets.build_resnet_generator(SHAPE), nets.build_resnet_generator(SHAPE))
    mixed = nets.translator_pair(nets.build_resnet_generator(SHAPE),
                                 nets.build_resnet_generator((8, 8, 3), name=nets.GENERATOR_BA))
    with pytest.raises(ValueError, match="one shape"):
        CycleGAN(mixed, patch_critics())

    gan = build_cyclegan(SHAPE, total_steps=10)
    with pytest.raises(ValueError, match="learning-rate schedule"):
        schedule = keras.optimizers.schedules.ExponentialDecay(1e-3, 10, 0.5)
        gan.compile(g_optimizer=keras.optimizers.Adam(schedule))
    gan.compile()
    a, b = unpaired_batch()
    with pytest.raises(ValueError, match="a batch \\(a, b\\)"):
        gan.train_step(a)
    with pytest.raises(ValueError, match=r"domain A of shape \(batch, 8, 8, 1\)"):
        gan.train_step((a[0], b))
    with pytest.raises(tf.errors.InvalidArgumentError, match="non-empty batch"):
        gan.train_step((a[:0], b))
    with pytest.raises(ValueError, match="direction"):
        gan.translate(a.numpy(), "a2c")
    with pytest.raises(ValueError, match=r"Received: \(4, 8, 8, 3\)"):
        gan.translate(np.zeros((4, 8, 8, 3), "float32"))
    rgb = tf.data.Dataset.from_tensor_slices(unpaired_batch(8, shape=(8, 8, 3))).batch(4)
    with pytest.raises(ValueError, match=r"domain B of shape \(batch, 8, 8, 1\)"):
        gan.fit(rgb, epochs=1, verbose=0)  # the channel mismatch surfaces at fit time


def test_rendered_to_handwritten_digits_lowers_the_cycle_loss():
    rendered = render_digits(per_class=4, seed=0).x  # domain A: 40 font-rendered digits
    handwritten = load_dataset("digits").x[:40]  # domain B: scikit-learn's digits
    data = tf.data.Dataset.from_tensor_slices((rendered, handwritten)).batch(8)
    gan = build_cyclegan(SHAPE, pool_size=8, total_steps=30, seed=0)
    gan.compile(learning_rate=2e-3)
    history = gan.fit(data, epochs=6, verbose=0).history
    assert set(history) == METRICS and gan.steps_taken == 30
    assert history["cycle_loss"][-1] < 0.7 * history["cycle_loss"][0]
    assert gan.translate(rendered[:3]).shape == (3, *SHAPE)


def semantic_classifier(shape: tuple[int, ...] = SHAPE) -> keras.Model:
    """A small classifier of images in [0, 1] → 3 class logits (stands in for a trained one)."""
    image = keras.Input(shape)
    logits = keras.layers.Dense(3)(keras.layers.Flatten()(image))
    return keras.Model(image, logits, name="semantic")


def labelled_batch(n: int = 4, seed: int = 0) -> tuple[tf.Tensor, ...]:
    return (*unpaired_batch(n, seed), tf.constant(np.arange(n) % 3, tf.int32))


def test_the_semantic_term_is_off_by_default_and_changes_nothing():
    plain = build_cyclegan(SHAPE, pool_size=4, seed=3)
    assert plain.semantic_weight == 0.0 and plain.semantic is None
    assert "semantic" not in plain.get_config() and "semantic_weight" not in plain.get_config()
    keras.utils.set_random_seed(0)
    on = build_cyclegan(SHAPE, pool_size=4, seed=3, semantic=semantic_classifier(), semantic_weight=1.0)
    # The term's classifier is tracked after everything else: the plain model's weights come first.
    assert [w.path for w in on.weights[: len(plain.weights)]] == [w.path for w in plain.weights]
    with pytest.raises(ValueError, match="exactly when semantic_weight > 0"):
        build_cyclegan(SHAPE, semantic_weight=1.0)
    with pytest.raises(ValueError, match="exactly when semantic_weight > 0"):
        build_cyclegan(SHAPE, semantic=semantic_classifier())
    with pytest.raises(ValueError, match=r"images of shape \(8, 8, 1\)"):
        build_cyclegan(SHAPE, semantic=semantic_classifier((8, 8, 3)), semantic_weight=1.0)


def test_the_semantic_term_trains_the_generators_through_a_frozen_classifier():
    gan = build_cyclegan(SHAPE, pool_size=4, semantic=semantic_classifier(), semantic_weight=2.0)
    gan.compile()
    frozen = values(gan.semantic.weights)
    translators = [gan.translator("a2b"), gan.translator("b2a")]
    before = [values(n.trainable_variables) for n in translators]
    logs = gan.train_step(labelled_batch())
    assert set(logs) == METRICS | {"semantic_loss"} and float(logs["semantic_loss"]) > 0.0
    assert all(moved(b, values(n.trainable_variables)) for b, n in zip(before, translators))
    for x, y in zip(frozen, values(gan.semantic.weights)):
        np.testing.assert_array_equal(x, y)
    # The loss is the weighted sum: the plain part plus 2 × the semantic part.
    losses = gan.generator_losses(*(t * 2.0 - 1.0 for t in labelled_batch()[:2]), labelled_batch()[2])
    plain = build_cyclegan(SHAPE, pool_size=4)
    plain.set_weights(gan.get_weights()[: len(plain.weights)])
    without = plain.generator_losses(*(t * 2.0 - 1.0 for t in labelled_batch()[:2]))["g_loss"]
    assert float(losses["g_loss"]) == pytest.approx(float(without) + 2.0 * float(losses["semantic_loss"]),
                                                    rel=1e-5)
    with pytest.raises(ValueError, match=r"\(a, b, y_a\)"):
        gan.train_step(unpaired_batch())


def test_a_model_with_the_semantic_term_saves_and_loads_identically(tmp_path):
    gan = build_cyclegan(SHAPE, pool_size=4, seed=1, semantic=semantic_classifier(), semantic_weight=0.5)
    gan.compile()
    gan.train_step(labelled_batch())
    path = tmp_path / "semantic.keras"
    gan.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True, compile=False)
    assert loaded.semantic_weight == 0.5 and not loaded.semantic.trainable
    for x, y in zip(values(gan.weights), values(loaded.weights)):  # the classifier's included
        np.testing.assert_array_equal(x, y)
    images = np.random.default_rng(5).uniform(0, 1, (5, *SHAPE)).astype("float32")
    for direction in ("a2b", "b2a"):
        np.testing.assert_array_equal(loaded.translate(images, direction), gan.translate(images, direction))

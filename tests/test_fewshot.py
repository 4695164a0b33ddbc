"""Few-shot training levers: the math of R1, LeCam, bCR, ADA and GMAN, and their plumbing."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import random_batch, values

import gan_augment as ga
from gan_augment.errors import TrainingError
from gan_augment.models import ConditionalGAN, build_image_gan
from gan_augment.models import regularizers as reg
from gan_augment.models.diffaugment import diff_augment
from gan_augment.models.image import build_image_discriminator, build_image_generator


# ---------------------------------------------------------------------- the math
@pytest.mark.parametrize("gamma", [1.0, 10.0])
def test_r1_of_a_linear_critic_is_half_gamma_times_the_squared_weight_norm(gamma):
    w = tf.constant(np.random.default_rng(0).normal(size=(4 * 4, 1)).astype("float32"))

    def critic(x):
        return tf.reshape(x, [-1, 16]) @ w

    x = tf.random.normal([8, 4, 4, 1], seed=1)
    expected = gamma / 2 * float(tf.reduce_sum(w * w))
    assert float(reg.r1_penalty(critic, x, gamma)) == pytest.approx(expected, rel=1e-5)


def test_lecam_matches_its_formula_and_its_anchors_are_moving_averages():
    real, fake = tf.constant([1.0, 3.0]), tf.constant([-2.0, 0.0])
    a_r, a_f = 0.5, -0.25
    expected = np.mean((np.array([1.0, 3.0]) - a_f) ** 2) + np.mean((np.array([-2.0, 0.0]) - a_r) ** 2)
    assert float(reg.lecam_penalty(real, fake, a_r, a_f)) == pytest.approx(expected)
    anchor = 0.0
    for value in (2.0, 2.0):
        anchor = reg.ema(anchor, value, decay=0.99)
    assert float(anchor) == pytest.approx(2.0 * (1 - 0.99**2))
    # In the model: after one step the anchors are (1 - 0.99) x the step's mean logits.
    gan = build_image_gan((8, 8, 1), num_classes=3, lecam=0.5, ema=False, seed=0)
    gan.compile()
    assert values([gan.lecam_anchors])[0].shape == (1, 2)
    logs = gan.train_step(random_batch())
    anchors = values([gan.lecam_anchors])[0][0]
    assert np.all(anchors != 0.0) and np.all(np.abs(anchors) < 0.05)
    assert float(logs["lecam"]) >= 0.0 and "lecam" in logs


def test_bcr_is_zero_for_a_transform_invariant_critic_and_positive_otherwise():
    real, fake = tf.random.uniform([6, 8, 8, 1], -1, 1, seed=2), tf.random.uniform([6, 8, 8, 1], -1, 1, seed=3)
    seeds = tf.constant([[1, 2], [3, 4]], tf.int64)
    policy = reg.BCR_DEFAULT_POLICY

    def translate(x, seed):
        return diff_augment(x, policy, seed)

    def count_of_dark_pixels(x):  # translation pads with -1 (black): this score changes
        return tf.reduce_sum(tf.cast(x < -0.99, tf.float32), axis=[1, 2, 3])[:, None]

    def constant(x):  # a critic that ignores the image is invariant
        return tf.zeros([tf.shape(x)[0], 1])

    assert float(reg.consistency_penalty(constant, real, fake, translate, seeds)) == 0.0
    assert float(reg.consistency_penalty(count_of_dark_pixels, real, fake, translate, seeds)) > 0.0
    # Invariant to a transform that only flips the sign: |x| summed.
    def l1(x):
        return tf.reduce_sum(tf.abs(x), axis=[1, 2, 3])[:, None]

    assert float(reg.consistency_penalty(l1, real, fake, lambda x, s: -x, seeds)) == 0.0


def test_ada_p_moves_up_when_d_overfits_and_down_when_it_does_not():
    images = 16 * reg.ADA_INTERVAL
    step = images / (reg.ADA_KIMG * 1000)
    assert float(reg.ada_adjust(0.2, r_t=0.9, target=0.6, images=images)) == pytest.approx(0.2 + step)
    assert float(reg.ada_adjust(0.2, r_t=0.1, target=0.6, images=images)) == pytest.approx(0.2 - step)
    assert float(reg.ada_adjust(0.0, r_t=-1.0, target=0.6, images=images)) == 0.0  # clipped
    assert float(reg.ada_adjust(1.0, r_t=1.0, target=0.6, images=images)) == 1.0
    # ~500 steps of batch 16 take p from 0 to 1 (the documented speed for tiny data).
    assert 1 / (16 / (reg.ADA_KIMG * 1000)) == pytest.approx(500)


def test_ada_p_in_the_model_follows_r_t_every_interval():
    gan = build_image_gan((8, 8, 1), num_classes=3, ada_target=0.6, ema=False, seed=0)
    gan.compile()
    gan.ada_p.assign(0.5)
    # A critic that calls every image real (r_t = 1 > target): p goes up at the interval.
    score = gan.discriminator.get_layer("score")
    score.bias.assign(np.full(score.bias.shape, 1e3, "float32"))
    gan.compile(d_optimizer=keras.optimizers.SGD(0.0))
    for i in range(reg.ADA_INTERVAL):
        logs = gan.train_step(random_batch())
        expected = 0.5 if i < reg.ADA_INTERVAL - 1 else 0.5 + 16 * reg.ADA_INTERVAL / (reg.ADA_KIMG * 1000)
        assert float(logs["ada_p"]) == pytest.approx(expected)
    score.bias.assign(np.full(score.bias.shape, -1e3, "float32"))  # now it calls them all fake
    for _ in range(reg.ADA_INTERVAL):
        logs = gan.train_step(random_batch())
    assert float(logs["ada_p"]) == pytest.approx(0.5)


def test_ada_augmentation_is_applied_with_probability_p():
    x = tf.random.uniform([64, 8, 8, 1], -1, 1, seed=4)
    seed = tf.constant([5, 6])
    policy = ("translation", "cutout")
    np.testing.assert_array_equal(diff_augment(x, policy, seed, p=0.0).numpy(), x.numpy())
    np.testing.assert_array_equal(diff_augment(x, policy, seed, p=1.0).numpy(),
                                  diff_augment(x, policy, seed).numpy())
    half = diff_augment(x, ("cutout",), seed, p=0.5).numpy()
    changed = np.mean([not np.array_equal(a, b) for a, b in zip(half, x.numpy())])
    assert 0.25 < changed < 0.75


def test_gman_aggregations_match_hand_computed_values():
    losses = tf.constant([1.0, 2.0, 4.0])
    assert float(reg.aggregate_losses(losses, "mean")) == pytest.approx(7 / 3)
    assert float(reg.aggregate_losses(losses, "max")) == pytest.approx(4.0)
    w = np.exp([1.0, 2.0, 4.0]) / np.exp([1.0, 2.0, 4.0]).sum()
    assert float(reg.aggregate_losses(losses, "softmax", 1.0)) == pytest.approx(float(w @ [1, 2, 4]), rel=1e-6)
    assert float(reg.aggregate_losses(losses, "softmax", 0.0)) == pytest.approx(7 / 3)
    assert float(reg.aggregate_losses(losses, "softmax", 100.0)) == pytest.approx(4.0, rel=1e-4)
    assert reg.GMAN_SOFTMAX_LAMBDA == 1.0
    with pytest.raises(ValueError, match=r"Expected aggregation to be one of \['mean', 'softmax', 'max'\]\. "
                                         r"Received: aggregation='x'\."):
        reg.aggregate_losses(losses, "x")


# ---------------------------------------------------------------------- the model
def _old_way(seed):
    """The one-discriminator model as build_image_gan built it before K discriminators existed."""
    keras.utils.set_random_seed(seed)
    return ConditionalGAN(build_image_generator((8, 8, 1), 64, 3), build_image_discriminator((8, 8, 1), 3),
                          latent_dim=64, num_classes=3, diffaugment="color,translation", seed=seed)


def test_one_discriminator_is_exactly_the_plain_model():
    batches = [random_batch(seed=i) for i in range(3)]
    models = [_old_way(7),
              build_image_gan((8, 8, 1), 3, diffaugment="color,translation", seed=7),
              build_image_gan((8, 8, 1), 3, diffaugment="color,translation", seed=7, discriminators=1,
                              aggregation="max", r1=0.0, lecam=0.0, bcr=0.0, ada_target=None)]
    for gan in models:
        gan.compile(loss="hinge")
        assert len(gan.weights) == len(models[0].weights)
        for b in batches:
            logs = gan.train_step(b)
        assert set(logs) == {"d_loss", "g_loss", "d_real", "d_fake"}
    reference = values(models[0].weights)
    z, labels = np.random.default_rng(0).normal(size=(6, 64)).astype("float32"), np.arange(6) % 3
    for gan in models[1:]:
        for a, b in zip(reference, values(gan.weights)):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(gan.generate(z, labels), models[0].generate(z, labels))


def test_two_discriminators_train_save_and_load_exactly(tmp_path):
    gan = build_image_gan((8, 8, 1), 3, discriminators=2, aggregation="softmax", r1=1.0, lecam=0.1,
                          bcr=1.0, ada_target=0.6, seed=1)
    names = [d.name for d in gan.all_discriminators()]
    assert names == ["discriminator", "discriminator_1"]
    d0, d1 = (values(d.weights) for d in gan.all_discriminators())
    assert any(not np.array_equal(a, b) for a, b in zip(d0, d1))  # their own initial weights
    gan.compile()
    assert len(gan.d_optimizer._trainable_variables) == len(gan.critic_variables) == 2 * len(
        gan.discriminator.trainable_variables)
    ids = {id(v) for v in gan.weights}
    assert all(id(v) in ids for v in gan.extra_discriminators[0].weights)  # checkpoints carry them
    assert all(id(v) in ids for v in (gan.lecam_anchors, gan.ada_p, gan.ada_stats))
    before = values(gan.extra_discriminators[0].trainable_weights)
    for i in range(reg.ADA_INTERVAL):
        logs = gan.train_step(random_batch(seed=i))
    assert {"r1", "lecam", "bcr", "ada_p"} <= set(logs)
    assert all(math.isfinite(float(v)) for v in logs.values())
    after = values(gan.extra_discriminators[0].trainable_weights)
    assert any(not np.array_equal(a, b) for a, b in zip(before, after))
    assert values([gan.lecam_anchors])[0].shape == (2, 2)

    path = tmp_path / "k2.keras"
    gan.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True, compile=False)
    assert loaded.num_discriminators == 2 and loaded.aggregation == "softmax"
    assert (loaded.r1, loaded.lecam, loaded.bcr, loaded.ada_target) == (1.0, 0.1, 1.0, 0.6)
    for a, b in zip(values(gan.weights), values(loaded.weights)):
        np.testing.assert_array_equal(a, b)
    z, labels = np.random.default_rng(0).normal(size=(6, 64)).astype("float32"), np.arange(6) % 3
    np.testing.assert_array_equal(loaded.generate(z, labels), gan.generate(z, labels))
    x = random_batch()
    np.testing.assert_array_equal(loaded.extra_discriminators[0](x).numpy(),
                                  gan.extra_discriminators[0](x).numpy())


def test_bad_lever_values_are_refused():
    with pytest.raises(ValueError, match=r"Received: aggregation='x'\."):
        build_image_gan((8, 8, 1), 3, discriminators=2, aggregation="x")
    with pytest.raises(ValueError, match="discriminators=0"):
        build_image_gan((8, 8, 1), 3, discriminators=0)
    with pytest.raises(ValueError, match="r1=-1"):
        build_image_gan((8, 8, 1), 3, r1=-1.0)
    with pytest.raises(ValueError, match="ada_target=2"):
        build_image_gan((8, 8, 1), 3, ada_target=2.0)


# ---------------------------------------------------------------------- through train_gan
@pytest.fixture(scope="module")
def tiny():
    return ga.load_dataset("digits").subsample(per_class=4, seed=0)  # 40 images


@pytest.mark.parametrize("option, metric", [
    ({"discriminators": 2, "aggregation": "max"}, None),
    ({"r1": 1.0}, "r1"),
    ({"lecam": 0.3}, "lecam"),
    ({"bcr": 2.0}, "bcr"),
    ({"ada_target": 0.6}, "ada_p"),
])
def test_each_option_passes_through_train_gan(tiny, option, metric, tmp_path):
    gan = ga.train_gan(tiny, epochs=2, seed=0, verbose=0, checkpoint_dir=tmp_path, **option)
    assert gan.model.metadata["options"].items() >= option.items()
    for key, value in option.items():
        attr = "num_discriminators" if key == "discriminators" else key
        assert getattr(gan.model, attr) == value
    assert all(np.isfinite(v).all() for v in gan.history.values())
    if metric:
        assert len(gan.history[metric]) == 2
    # The checkpoint carries the lever's state and the option is part of its fingerprint.
    again = ga.train_gan(tiny, epochs=2, seed=0, verbose=0, checkpoint_dir=tmp_path, **option)
    assert again.model.steps_taken == gan.model.steps_taken
    for a, b in zip(values(gan.model.weights), values(again.model.weights)):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(TrainingError, match="differs in"):
        ga.train_gan(tiny, epochs=2, seed=0, verbose=0, checkpoint_dir=tmp_path)


def test_unknown_aggregation_is_a_clear_error(tiny):
    with pytest.raises(ValueError, match=r"Expected aggregation to be one of \['mean', 'softmax', 'max'\]\. "
                                         r"Received: aggregation='x'\."):
        ga.train_gan(tiny, epochs=1, discriminators=2, aggregation="x", verbose=0)


def test_a_checkpoint_written_before_the_levers_existed_still_resumes(tiny, tmp_path):
    import json

    from gan_augment.checkpoint import CHECKPOINT_NAME

    first = ga.train_gan(tiny, epochs=1, seed=0, verbose=0, checkpoint_dir=tmp_path)
    path = tmp_path / CHECKPOINT_NAME
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    record = json.loads(str(arrays["record"]))
    for key in ("discriminators", "aggregation", "r1", "lecam", "bcr", "ada_target"):
        del record["fingerprint"][key]  # as the fingerprint was before these options
    arrays["record"] = np.array(json.dumps(record))
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)
    resumed = ga.train_gan(tiny, epochs=2, seed=0, verbose=0, checkpoint_dir=tmp_path)
    assert resumed.model.steps_taken == 2 * first.model.steps_taken
    with pytest.raises(TrainingError, match="differs in"):  # ... but not into a run with a lever on
        ga.train_gan(tiny, epochs=2, seed=0, verbose=0, checkpoint_dir=tmp_path, r1=1.0)


def test_mode_seeking_penalty_matches_its_formula_and_trains():
    from gan_augment.models.regularizers import MODE_SEEKING_EPSILON, mode_seeking_penalty

    f1, f2 = tf.zeros([2, 4, 4, 1]), tf.concat([tf.ones([1, 4, 4, 1]), 3 * tf.ones([1, 4, 4, 1])], 0)
    z1, z2 = tf.zeros([2, 8]), tf.ones([2, 8]) * 2.0
    ratios = np.array([1.0, 3.0]) / 2.0
    expected = np.mean(1.0 / (ratios + MODE_SEEKING_EPSILON))
    assert float(mode_seeking_penalty(f1, f2, z1, z2)) == pytest.approx(expected, rel=1e-5)
    # a generator that ignores z is penalised far more than one that follows it
    assert float(mode_seeking_penalty(f1, f1, z1, z2)) > 1e4
    small = ga.load_dataset("digits").subsample(per_class=4, seed=0)
    gan = ga.train_gan(small, epochs=2, mode_seeking=1.0, verbose=0)
    assert gan.model.mode_seeking == 1.0 and np.isfinite(gan.history["g_loss"]).all()
    with pytest.raises(Exception, match="mode_seeking"):
        ga.train_gan(small, epochs=1, mode_seeking=-1.0, verbose=0)

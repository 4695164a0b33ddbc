"""SRGAN (gan_augment.models.srgan, sr_nets): sub-pixel upsampling, the content loss, the two
phases, save/load, resume, bad input and a short run on photos — on 16×16 → 4×4 and 32×32 → 8×8
images, a few steps each."""

from __future__ import annotations

import itertools
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import values
from sklearn.datasets import load_sample_images

from gan_augment import checkpoint as ckpt
from gan_augment.callbacks import NaNGuard
from gan_augment.errors import DataError
from gan_augment.models import sr_nets
from gan_augment.models.classifier import build_classifier_cnn
from gan_augment.models.srgan import MAX_PSNR, SRGAN, build_srgan, downscale

HR = (16, 16, 3)
METRICS = ["d_loss", "g_loss", "content_loss", "feature_loss", "d_real", "d_fake", "psnr"]


def pairs(n: int = 4, seed: int = 0, shape: tuple[int, int, int] = HR, scale: int = 4) -> tuple[tf.Tensor, ...]:
    """``n`` random high-resolution images in [0, 1] and their bicubic low-resolution partners."""
    hr = np.random.default_rng(seed).uniform(0, 1, (n, *shape)).astype("float32")
    return tf.constant(downscale(hr, scale)), tf.constant(hr)


def extractor(shape: tuple[int, int, int] = HR) -> keras.Model:
    """An (untrained) classifier's convolutional trunk: a feature space of the right shape."""
    keras.utils.set_random_seed(0)
    return sr_nets.feature_extractor_from_classifier(build_classifier_cnn(shape, 3), shape)


def moved(before: list[np.ndarray], after: list[np.ndarray]) -> bool:
    return any(not np.array_equal(x, y) for x, y in zip(before, after))


def test_pixel_shuffle_puts_each_channel_at_its_sub_pixel():
    r, c = 2, 3
    x = np.arange(2 * 3 * 4 * r * r * c, dtype="float32").reshape(2, 3, 4, r * r * c)
    # depth_to_space by hand: channel (i·r + j)·c + k of pixel (y, x) -> pixel (r·y + i, r·x + j), channel k
    expected = x.reshape(2, 3, 4, r, r, c).transpose(0, 1, 3, 2, 4, 5).reshape(2, 3 * r, 4 * r, c)
    layer = sr_nets.PixelShuffle(r)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(x)), expected)
    assert layer.compute_output_shape((None, None, 4, 12)) == (None, None, 8, 3)
    again = sr_nets.PixelShuffle.from_config(layer.get_config())
    assert again.factor == r
    with pytest.raises(ValueError, match="divisible by factor"):
        layer.compute_output_shape((None, 3, 4, 5))
    for scale in sr_nets.SCALES:
        generator = sr_nets.build_srresnet((4, 4, 1), scale)
        assert generator.compute_output_shape((None, 4, 4, 1)) == (None, 4 * scale, 4 * scale, 1)
        assert sum(isinstance(lay, sr_nets.PixelShuffle) for lay in generator.layers) == math.log2(scale)


def nearest_neighbour_generator(scale: int = 4) -> keras.Model:
    """A trainable generator that starts as nearest-neighbour upsampling (a depthwise 1×1
    convolution of weight 1 after repeating each pixel)."""
    image = keras.Input((None, None, HR[2]))
    t = keras.layers.UpSampling2D(scale, interpolation="nearest")(image)
    out = keras.layers.DepthwiseConv2D(1, depthwise_initializer="ones")(t)
    return keras.Model(image, out)


def test_a_perfect_generator_has_zero_content_loss():
    lr = np.random.default_rng(0).uniform(0, 1, (4, 4, 4, 3)).astype("float32")
    hr = lr.repeat(4, axis=1).repeat(4, axis=2)  # nearest-neighbour pairs
    gan = SRGAN(nearest_neighbour_generator(), sr_nets.build_sr_discriminator(HR), scale=4,
                feature_extractor=extractor(), pretrain_steps=1)
    gan.compile()
    for _ in range(2):  # one pre-training, one adversarial step
        logs = gan.train_step((lr, hr))
        assert float(logs["content_loss"]) == 0.0 and float(logs["feature_loss"]) == 0.0
        assert float(logs["psnr"]) == MAX_PSNR  # capped: a finite value for the NaN guard
    # Any other generator leaves a content and a feature loss.
    other = build_srgan(HR, feature_extractor=extractor()).generator_losses(lr * 2 - 1, hr * 2 - 1)
    assert float(other["content_loss"]) > 0.0 and float(other["feature_loss"]) > 0.0


@pytest.mark.parametrize("frozen", ["generator", "discriminator"])
def test_each_optimizer_moves_only_its_own_network(frozen):
    gan = build_srgan(HR, feature_extractor=extractor(), pretrain_steps=0, ema=False)
    g_lr, d_lr = (0.0, 1e-2) if frozen == "generator" else (1e-2, 0.0)
    gan.compile(g_optimizer=keras.optimizers.Adam(g_lr), d_optimizer=keras.optimizers.Adam(d_lr))
    networks = [gan.generator, gan.discriminator, gan.feature_extractor]
    before = [values(n.trainable_variables) for n in networks[:2]] + [values(networks[2].weights)]
    logs = gan.train_step(pairs())
    after = [values(n.trainable_variables) for n in networks[:2]] + [values(networks[2].weights)]
    changed = [moved(b, a) for b, a in zip(before, after)]
    assert changed == ([False, True, False] if frozen == "generator" else [True, False, False])
    assert list(logs) == METRICS and all(math.isfinite(float(v)) for v in logs.values())


def test_pretraining_leaves_the_critic_untouched_then_the_game_starts():
    gan = build_srgan(HR, pretrain_steps=2)
    gan.compile(learning_rate=1e-3)
    critic = values(gan.discriminator.weights)
    generator = values(gan.generator.trainable_variables)
    data = tf.data.Dataset.from_tensor_slices(pairs(8)).batch(4)
    logs = gan.fit(data, epochs=1, verbose=0).history  # two compiled pre-training steps
    assert gan.steps_taken == 2 and not gan.pretraining
    assert not moved(critic, values(gan.discriminator.weights))
    assert int(gan.d_optimizer.iterations.numpy()) == 0
    assert moved(generator, values(gan.generator.trainable_variables))
    assert [logs[k][0] for k in ("d_loss", "d_real", "d_fake")] == [0.0, 0.0, 0.0]
    assert logs["g_loss"][0] == pytest.approx(logs["content_loss"][0])  # MSE only
    logs = gan.fit(data, epochs=1, verbose=0).history  # the adversarial phase
    assert int(gan.d_optimizer.iterations.numpy()) == 2 and gan.steps_taken == 4
    assert moved(critic, values(gan.discriminator.weights))
    assert logs["d_loss"][0] > 0.0 and 0.0 < logs["d_real"][0] < 1.0


MIRRORED = textwrap.dedent("""
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import numpy as np
    from gan_augment.models.srgan import build_srgan, downscale
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    hr = np.random.default_rng(0).uniform(0, 1, (8, 8, 8, 1)).astype("float32")
    with strategy.scope():
        gan = build_srgan((8, 8, 1), 2, pretrain_steps=1)
        gan.compile()
    gan.fit(tf.data.Dataset.from_tensor_slices((downscale(hr, 2), hr)).batch(4), verbose=0)
    print("MIRRORED_OK", gan.steps_taken, int(gan.d_optimizer.iterations.numpy()))
""")


@pytest.mark.slow  # a fresh interpreter: about 20 s
def test_both_phases_run_under_a_distribution_strategy():
    # An optimizer update inside a tf.cond cannot run under MirroredStrategy: each phase is its
    # own compiled step. Logical devices need a fresh interpreter.
    result = subprocess.run([sys.executable, "-c", MIRRORED], cwd=Path(__file__).parents[1],
                            capture_output=True, check=False, text=True, timeout=300,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert "MIRRORED_OK 2 1" in result.stdout, result.stderr[-3000:]


def test_save_and_load_give_identical_outputs(tmp_path):
    gan = build_srgan(HR, feature_extractor=extractor(), pretrain_steps=1, seed=1,
                      metadata={"source": "noise"})
    gan.compile(learning_rate=1e-3)
    gan.train_step(pairs(seed=0))  # pre-training
    gan.train_step(pairs(seed=1))  # adversarial
    gan.save(tmp_path / "srgan.keras")
    loaded = keras.saving.load_model(tmp_path / "srgan.keras", safe_mode=True, compile=False)
    assert isinstance(loaded, SRGAN) and not loaded.feature_extractor.trainable
    saved, reloaded = gan.get_config(), loaded.get_config()
    for key in ("scale", "pretrain_steps", "feature_weight", "adversarial_weight", "ema", "seed", "metadata"):
        assert reloaded[key] == saved[key], key
    assert len(loaded.weights) == len(gan.weights)  # the extractor and the step counter included
    assert not moved(values(gan.weights), values(loaded.weights))
    lr = np.random.default_rng(5).uniform(0, 1, (5, 4, 4, 3)).astype("float32")
    larger = np.random.default_rng(6).uniform(0, 1, (2, 6, 5, 3)).astype("float32")
    for use_ema in (True, False):
        out = gan.upscale(lr, use_ema=use_ema, batch_size=2)
        assert out.dtype == np.float32 and out.shape == (5, 16, 16, 3) and 0 <= out.min() <= out.max() <= 1
        np.testing.assert_array_equal(loaded.upscale(lr, use_ema=use_ema, batch_size=2), out)
    # The generator is fully convolutional: it upscales images of other sizes too.
    np.testing.assert_array_equal(loaded.upscale(larger), gan.upscale(larger))
    assert gan.upscale(larger).shape == (2, 24, 20, 3)
    assert not np.array_equal(gan.upscale(lr), gan.upscale(lr, use_ema=False))  # the EMA lags


def test_resume_continues_the_step_and_the_phase(tmp_path):
    def model() -> SRGAN:
        gan = build_srgan(HR, feature_extractor=extractor(), pretrain_steps=2, seed=2)
        gan.compile(learning_rate=1e-3, loss="wasserstein_gp")  # the penalty draws from the stream
        return gan

    straight = model()
    for i in range(2):
        straight.train_step(pairs(seed=i))
    ckpt.save_checkpoint(tmp_path, straight, {"epoch": 2, "fingerprint": {}})
    straight.train_step(pairs(seed=2))

    resumed = model()
    ckpt.load_checkpoint(tmp_path, resumed, {})
    assert resumed.steps_taken == 2 and not resumed.pretraining
    resumed.train_step(pairs(seed=2))  # the first adversarial step, after the restore
    assert int(resumed.d_optimizer.iterations.numpy()) == resumed.d_steps == 5
    for x, y in zip(values(ckpt.training_variables(straight)), values(ckpt.training_variables(resumed))):
        np.testing.assert_array_equal(x, y)


def test_a_non_finite_step_trips_the_nan_guard_which_restores_the_model():
    gan = build_srgan(HR, pretrain_steps=1)
    gan.compile()
    before = values(ckpt.training_variables(gan))
    lr, hr = (x.numpy() for x in pairs(8))
    lr[4:] = np.nan  # the second step, the first adversarial one, sees NaN
    guard = NaNGuard()
    gan.fit(tf.data.Dataset.from_tensor_slices((lr, hr)).batch(4), verbose=0, callbacks=[guard])
    assert guard.tripped and gan.steps_taken == 0
    assert not moved(before, values(ckpt.training_variables(gan)))


def test_bad_input_is_refused_clearly():
    with pytest.raises(ValueError, match="scale to be one of"):
        build_srgan(HR, scale=3)
    with pytest.raises(ValueError, match="divisible by scale=4"):
        build_srgan((18, 18, 3), scale=4)
    with pytest.raises(ValueError, match="at least 4x4"):
        build_srgan((8, 8, 1), scale=4)
    with pytest.raises(ValueError, match="pretrain_steps >= 0"):
        build_srgan(HR, pretrain_steps=-1)
    with pytest.raises(ValueError, match=r"feature_extractor of images of shape \(16, 16, 3\)"):
        build_srgan(HR, feature_extractor=extractor((16, 16, 1)))
    with pytest.raises(ValueError, match="turning 4x4x3 images into 16x16x3"):
        SRGAN(sr_nets.build_srresnet((4, 4, 3), 2), sr_nets.build_sr_discriminator(HR), scale=4)
    with pytest.raises(DataError, match="divisible by scale=4"):
        downscale(np.zeros((2, 18, 18, 3)), 4)
    with pytest.raises(DataError, match="at least 4x4"):
        downscale(np.zeros((2, 12, 12, 3)), 4)

    gan = build_srgan(HR)
    gan.compile()
    lr, hr = pairs()
    with pytest.raises(DataError, match=r"a batch \(lr, hr\)"):
        gan.train_step(hr)
    with pytest.raises(DataError, match="same channels .1: grey, 3: RGB.. Received: 1 and 3"):
        gan.train_step((lr[..., :1], hr))
    with pytest.raises(DataError, match="with 3 channels"):
        gan.train_step(pairs(shape=(16, 16, 1)))
    with pytest.raises(DataError, match="patches of 16x16.*Received: 8x8"):
        gan.train_step(pairs(shape=(8, 8, 3), scale=2))
    with pytest.raises(DataError, match="low-resolution images of 4x4"):
        gan.train_step(pairs(shape=(16, 16, 3), scale=2))
    with pytest.raises(tf.errors.InvalidArgumentError, match="non-empty batch"):
        gan.train_step((lr[:0], hr[:0]))
    with pytest.raises(DataError, match=r"\(n, height, width, 3\)"):
        gan.upscale(np.zeros((2, 4, 4, 1)))
    with pytest.raises(DataError, match="at least 4x4"):
        gan.upscale(np.zeros((2, 3, 8, 3)))
    grey = tf.data.Dataset.from_tensor_slices(pairs(8, shape=(16, 16, 1))).batch(4)
    with pytest.raises(DataError, match="with 3 channels"):
        gan.fit(grey, epochs=1, verbose=0)  # the mismatch surfaces at fit time too


def test_an_untrained_srresnet_is_close_to_bicubic_resizing():
    from gan_augment.super_resolution import bicubic_upscale

    lr = np.random.default_rng(0).random((2, 8, 8, 3)).astype("float32")
    net = sr_nets.build_srresnet((8, 8, 3), 4)
    out = (keras.ops.convert_to_numpy(net(lr * 2 - 1)) + 1) / 2
    np.testing.assert_allclose(np.clip(out, 0, 1), bicubic_upscale(lr, 4), atol=2e-3)  # DETAIL_INIT_SCALE


def photo_patches(n: int, side: int, seed: int = 0) -> np.ndarray:
    """``n`` random side×side crops of scikit-learn's two sample photos, in [0, 1]."""
    photos = load_sample_images().images
    rng = np.random.default_rng(seed)
    crops = []
    for k in range(n):
        photo = photos[k % len(photos)]
        y, x = rng.integers(0, photo.shape[0] - side), rng.integers(0, photo.shape[1] - side)
        crops.append(photo[y : y + side, x : x + side])
    return np.stack(crops).astype("float32") / 255.0


@pytest.mark.slow  # ~10 s; tests/test_super_resolution.py trains SRGANs end to end by default
def test_a_short_run_on_photo_patches_lowers_the_content_loss():
    hr = photo_patches(48, 32)
    lr = downscale(hr, 4)
    data = tf.data.Dataset.from_tensor_slices((lr, hr)).batch(8)
    gan = build_srgan((32, 32, 3), scale=4, feature_extractor=extractor((32, 32, 3)),
                      pretrain_steps=24, seed=0)
    gan.compile(learning_rate=5e-4)
    steps: list[float] = []
    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: steps.append(float(logs["content_loss"])))
    history = gan.fit(data, epochs=6, verbose=0, callbacks=[record]).history
    assert sorted(history) == sorted(METRICS) and gan.steps_taken == 36
    assert history["d_loss"][0] == 0.0 and history["d_loss"][-1] > 0.0  # the game began at step 25
    # It starts as bicubic resizing (the global skip); the MSE phase lowers the pixel error
    # below that (the per-image PSNR mean can still fall: flat patches weigh most in it).
    pretraining = history["content_loss"][:4]
    assert all(a > b for a, b in itertools.pairwise(pretraining)), history["content_loss"]
    assert gan.upscale(lr[:3]).shape == (3, 32, 32, 3)

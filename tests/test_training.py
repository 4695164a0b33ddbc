"""Training driver: conditional correctness on real digits, save/load, resume, guards, strategies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

import gan_augment as ga
from gan_augment.checkpoint import CHECKPOINT_NAME
from gan_augment.errors import DataError, TrainingError
from gan_augment.models import GANLoss

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def digits():
    return ga.load_dataset("digits")


@pytest.fixture(scope="module")
def digit_classifier(digits):
    """An independent judge: an SVM trained on real digits (97-99% accurate on held-out digits)."""
    from sklearn.svm import SVC

    return SVC(gamma=0.256, C=10).fit(digits.x.reshape(len(digits), -1), digits.y)


@pytest.fixture(scope="module")
def trained(digits, tmp_path_factory):
    out = tmp_path_factory.mktemp("digits_run")
    gan = ga.train_gan(digits, epochs=60, seed=0, output_dir=out, verbose=0)
    return gan, out


def test_conditional_samples_follow_their_labels(trained, digit_classifier):
    gan, _ = trained
    samples = gan.sample(100 * 10, seed=1)
    pred = digit_classifier.predict(samples.x.reshape(len(samples), -1))
    per_class = [float(np.mean(pred[samples.y == c] == c)) for c in range(10)]
    assert min(per_class) >= 0.90, per_class


def test_samples_are_a_dataset_like_the_training_data(trained, digits):
    gan, _ = trained
    s = gan.sample(30, labels=7, seed=3)
    assert s.kind == "image" and s.shape == digits.shape and s.x.dtype == np.float32
    assert 0.0 <= s.x.min() and s.x.max() <= 1.0
    assert (s.y == 7).all() and s.class_names == digits.class_names
    np.testing.assert_array_equal(gan.sample(30, labels=7, seed=3).x, s.x)  # same seed, same samples
    assert not np.array_equal(gan.sample(30, labels=7, seed=4).x, s.x)
    with pytest.raises(DataError, match="labels in 0..9"):
        gan.sample(5, labels=12)


def test_training_writes_pictures_and_history(trained):
    gan, out = trained
    assert (out / "samples.png").stat().st_size > 1000
    assert (out / "training_curves.png").stat().st_size > 1000
    assert len(list((out / "progress").glob("epoch_*.png"))) == 5
    assert len(gan.history["d_loss"]) == 60
    assert all(0 <= v <= 1 for v in gan.history["d_real"] + gan.history["d_fake"])
    assert gan.train_seconds > 0 and gan.stop_reason == f"reached epochs=60 ({gan.model.steps_taken} generator steps)"


def test_save_and_load_give_identical_samples(trained, tmp_path):
    gan, _ = trained
    path = gan.save(tmp_path / "digits.keras")
    loaded = ga.load_gan(path)
    assert loaded.class_names == gan.class_names and loaded.history == gan.history
    np.testing.assert_array_equal(loaded.sample(50, seed=9).x, gan.sample(50, seed=9).x)
    assert loaded.model.steps_taken == gan.model.steps_taken
    assert (loaded.stop_reason, loaded.train_seconds) == (gan.stop_reason, gan.train_seconds)
    with pytest.raises(DataError, match="ending in .keras"):
        gan.save(tmp_path / "digits.h5")
    (tmp_path / "broken.keras").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="broken.keras"):
        ga.load_gan(tmp_path / "broken.keras")


def test_same_seed_same_run(digits):
    small = digits.subsample(per_class=12, seed=0)
    a = ga.train_gan(small, epochs=2, seed=5, verbose=0).sample(20, seed=0)
    b = ga.train_gan(small, epochs=2, seed=5, verbose=0).sample(20, seed=0)
    np.testing.assert_allclose(a.x, b.x, atol=1e-6)


def test_resume_continues_from_the_saved_step(digits, tmp_path):
    small = digits.subsample(per_class=12, seed=0)  # 120 samples, batch 16: 7 steps per epoch
    from gan_augment.checkpoint import CHECKPOINT_NAME, checkpoint_epoch

    assert checkpoint_epoch(tmp_path) == 0
    first = ga.train_gan(small, epochs=2, seed=1, checkpoint_dir=tmp_path, checkpoint_every=1, verbose=0)
    assert first.model.steps_taken == 14
    assert checkpoint_epoch(tmp_path) == 2  # where a run with this folder resumes
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / CHECKPOINT_NAME).write_bytes(b"not an archive")
    with pytest.raises(TrainingError, match="corrupt"):
        checkpoint_epoch(broken)
    resumed = ga.train_gan(small, epochs=4, seed=1, checkpoint_dir=tmp_path, checkpoint_every=1, verbose=0)
    assert resumed.model.steps_taken == 28
    assert len(resumed.history["d_loss"]) == 4
    assert resumed.history["d_loss"][:2] == first.history["d_loss"]
    straight = ga.train_gan(small, epochs=4, seed=1, verbose=0)
    # Same batches, same noise, same optimizer state: the resumed run is the uninterrupted run.
    np.testing.assert_allclose(resumed.sample(10, seed=0).x, straight.sample(10, seed=0).x, atol=1e-5)
    with pytest.raises(TrainingError, match="differs in"):
        ga.train_gan(small, epochs=4, seed=1, checkpoint_dir=tmp_path, loss="hinge", verbose=0)


def test_a_killed_run_resumes_from_its_last_checkpoint(digits, tmp_path):
    script = textwrap.dedent(f"""
        import gan_augment as ga
        small = ga.load_dataset("digits").subsample(per_class=12, seed=0)
        ga.train_gan(small, epochs=10_000, seed=2, checkpoint_dir={str(tmp_path)!r},
                     checkpoint_every=1, verbose=0)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT)
    try:
        deadline = time.time() + 120
        while not (tmp_path / CHECKPOINT_NAME).exists() and time.time() < deadline:
            time.sleep(0.5)
        time.sleep(1.0)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert (tmp_path / CHECKPOINT_NAME).exists(), "the run never wrote a checkpoint"
    assert not list(tmp_path.glob(f".{CHECKPOINT_NAME}*")) or True  # stray temp files are harmless
    small = digits.subsample(per_class=12, seed=0)
    with np.load(tmp_path / CHECKPOINT_NAME) as f:  # the file is complete: a kill never tears it
        import json

        saved_epoch = json.loads(str(f["record"]))["epoch"]
    assert saved_epoch >= 1
    resumed = ga.train_gan(small, epochs=saved_epoch + 1, seed=2, checkpoint_dir=tmp_path,
                           checkpoint_every=1, verbose=0)
    assert resumed.model.steps_taken == (saved_epoch + 1) * 7
    assert len(resumed.history["d_loss"]) == saved_epoch + 1


def test_early_stop_is_off_unless_asked_for(digits):
    from gan_augment.training import default_options

    few = digits.subsample(per_class=20, seed=0)
    assert default_options(few).early_stop is False  # measured: it stops too soon (BENCHMARKS.md)
    assert default_options(few, early_stop=True).early_stop is True
    assert default_options(ga.load_dataset("penguins")).early_stop is False


@pytest.mark.slow  # ~20 s on 2 cores
def test_early_stop_ends_a_run_that_stopped_improving_and_keeps_its_best_generator(digits, tmp_path,
                                                                                   monkeypatch):
    from gan_augment import training

    small = digits.subsample(per_class=4, seed=0)  # 40 images, batch 16: 2 steps per epoch
    # The rule, on a scripted distance curve (checks every 50 // 25 = 2 epochs, no stop before
    # epoch 0.2 * 50 = 10, 3 % is an improvement): best at epoch 8, no 3 % gain at 10 and 12.
    curve = iter([5.0, 4.0, 3.95, 3.80, 3.85, 3.84, 3.0])
    monkeypatch.setattr(training._Plateau, "score", lambda self: next(curve))
    stopped = ga.train_gan(small, epochs=50, seed=0, early_stop=True, early_stop_patience=2,
                           checkpoint_dir=tmp_path, verbose=0)
    assert stopped.stop_reason.startswith("early_stop: ") and "after epoch 12" in stopped.stop_reason
    assert "generator of epoch 8" in stopped.stop_reason
    assert stopped.history["plateau_epoch"] == [2.0, 4.0, 6.0, 8.0, 10.0, 12.0]
    assert len(stopped.history["d_loss"]) == 12
    # the generator kept is the one of epoch 8: the same as a run of 8 epochs
    eight = ga.train_gan(small, epochs=8, seed=0, early_stop=False, verbose=0)
    np.testing.assert_allclose(stopped.sample(20, seed=1).x, eight.sample(20, seed=1).x, atol=1e-5)
    again = ga.train_gan(small, epochs=50, seed=0, early_stop=True, early_stop_patience=2,
                         checkpoint_dir=tmp_path, verbose=0)
    assert again.stop_reason == "already trained: " + stopped.stop_reason
    np.testing.assert_allclose(again.sample(20, seed=1).x, eight.sample(20, seed=1).x, atol=1e-5)
    monkeypatch.undo()
    # The real criterion on a learning GAN: its samples get closer to the real data (without
    # EMA, whose 0.999 average lags by ~1000 steps).
    learning = ga.train_gan(small, epochs=400, seed=0, early_stop=True, ema=False, verbose=0)
    fd = learning.history["plateau_fd"]
    assert len(fd) >= 5 and min(fd) < 0.7 * fd[0]
    assert learning.stop_reason.startswith(("early_stop: ", "reached epochs=400"))


def test_nan_guard_stops_and_restores_the_last_good_weights(digits, capsys):
    small = digits.subsample(per_class=20, seed=0)  # 200 samples, batch 16: 12 steps per epoch
    calls = tf.Variable(0)

    def poisoned_d_loss(real, fake):  # finite for two epochs, then NaN
        calls.assign_add(1)
        base = tf.reduce_mean(tf.nn.softplus(-real)) + tf.reduce_mean(tf.nn.softplus(fake))
        return tf.where(calls > 24, tf.constant(np.nan, tf.float32), base)

    loss = GANLoss("poisoned", poisoned_d_loss, lambda f: tf.reduce_mean(tf.nn.softplus(-f)))
    gan = ga.train_gan(small, epochs=10, seed=0, loss=loss, verbose=0)
    assert "diverged in epoch 3" in capsys.readouterr().out
    assert len(gan.history["d_loss"]) == 2
    assert gan.stop_reason.startswith("diverged in epoch 3")  # recorded with the model
    assert all(np.isfinite(v).all() for v in gan.model.get_weights())
    assert np.isfinite(gan.sample(10, seed=0).x).all()


def test_bad_training_input_is_refused_early(digits):
    one_class = digits.take(np.flatnonzero(digits.y == 3))
    with pytest.raises(DataError, match="at least 2 classes"):
        ga.train_gan(one_class, epochs=1, verbose=0)
    with pytest.raises(TypeError, match="Unknown training option"):
        ga.train_gan(digits, epochs=1, learnin_rate=1e-3, verbose=0)
    with pytest.raises(DataError, match="Dataset"):
        ga.train_gan(digits.x, epochs=1, verbose=0)


def test_unconditional_training_on_one_class(digits):
    threes = digits.take(np.flatnonzero(digits.y == 3)).with_labels(None)
    gan = ga.train_gan(threes, epochs=1, seed=0, verbose=0)
    assert not gan.conditional
    s = gan.sample(8)
    assert s.y is None and s.shape == (8, 8, 1)


@pytest.mark.slow  # ~8 s: XLA compilation
def test_xla_compiled_training(digits):
    gan = ga.train_gan(digits.subsample(per_class=10), epochs=1, jit_compile=True, verbose=0)
    assert np.isfinite(gan.history["g_loss"]).all()


def test_augment_fills_every_class_up(digits):
    rare = digits.take(np.concatenate([np.flatnonzero(digits.y == c)[: 10 + 5 * c] for c in range(10)]))
    aug = ga.augment(rare, seed=0, epochs=1, validate=False, utility=False, verbose=0)  # plan logic
    counts = aug.combined().class_counts()
    assert (counts == rare.class_counts().max()).all()
    assert aug.synthetic_mask.sum() == aug.n_synthetic == len(aug) - len(rare)
    assert (aug.combined().y[aug.synthetic_mask] == aug.synthetic.y).all()
    again = ga.augment(rare, per_class=5, balance=False, gan=aug.gan, validate=False, utility=False,
                       verbose=0)
    assert (again.synthetic.class_counts() == 5).all()
    with pytest.raises(DataError, match="labelled"):
        ga.augment(rare.with_labels(None))


MIRRORED = textwrap.dedent("""
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import numpy as np
    import gan_augment as ga
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    assert strategy.num_replicas_in_sync == 2
    small = ga.load_dataset("digits").subsample(per_class=16, seed=0)
    gan = ga.train_gan(small, epochs=2, batch_size=32, seed=0, strategy=strategy, verbose=0)
    assert gan.model.steps_taken == 2 * (160 // 32), gan.model.steps_taken
    assert all(np.isfinite(v).all() for v in gan.history.values() for v in v)
    ema = [w for w in gan.model.ema_generator.get_weights()]
    gen = [w for w in gan.model.generator.get_weights()]
    assert any(not np.array_equal(a, b) for a, b in zip(ema, gen))
    print("MIRRORED_OK", gan.sample(10, seed=0).x.shape)
""")


@pytest.mark.slow  # ~10 s; multi-worker training has its own slow test too
def test_mirrored_strategy_on_two_logical_cpus():
    # Logical devices must be set before any TF op runs: a fresh interpreter does that.
    result = subprocess.run([sys.executable, "-c", MIRRORED], cwd=ROOT, capture_output=True, check=False,
                            text=True, timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert "MIRRORED_OK (10, 8, 8, 1)" in result.stdout, result.stderr[-3000:]

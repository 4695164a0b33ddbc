"""Super-resolution (`gan_augment.super_resolution`): the photo source, degradation, train →
upscale → evaluate → save/load → resume, the CLI, and bad inputs — on tiny models and images."""

from __future__ import annotations

import json

import numpy as np
import pytest

import gan_augment as ga
from gan_augment.cli import main
from gan_augment.errors import DataError
from gan_augment.super_resolution import (
    METHODS,
    degrade,
    feature_network,
    load_upscaler,
    random_patches,
    reduce_dataset,
    train_srgan,
)

TINY = {"width": 8, "blocks": 1, "batch_size": 8, "verbose": 0}


@pytest.fixture(scope="module")
def glyphs():
    """16×16 rendered glyphs: training images and held-out ones (another seed)."""
    train = ga.load_dataset("rendered_digits", per_class=3, image_size=16, seed=0)
    held_out = ga.load_dataset("rendered_digits", per_class=1, image_size=16, seed=1)
    return train, held_out


@pytest.fixture(scope="module")
def upscaler(glyphs, tmp_path_factory):
    train, held_out = glyphs
    checkpoints = tmp_path_factory.mktemp("sr") / "checkpoints"
    up = train_srgan(train, 2, holdout=held_out, steps=20, pretrain_steps=10, seed=0,
                     checkpoint_dir=checkpoints, **TINY)
    up.checkpoints = checkpoints
    return up


def test_sample_photos_hold_out_a_whole_photograph():
    train = ga.load_dataset("sample_photos", split="train", tile=64)
    test = ga.load_dataset("sample_photos", split="test", tile=64)
    assert train.shape == test.shape == (64, 64, 3)
    assert set(train.class_names).isdisjoint(test.class_names)  # no tile of the test photo in train
    assert train.x.min() >= 0 and train.x.max() <= 1
    again = ga.load_dataset("sample_photos", split="train", tile=64)
    np.testing.assert_array_equal(train.x, again.x)
    with pytest.raises(DataError, match="split"):
        ga.load_dataset("sample_photos", split="validation")


def test_degrade_reduces_and_seeds_its_noise():
    hr = np.random.default_rng(0).random((3, 16, 16, 3)).astype(np.float32)
    assert degrade(hr, 4).shape == (3, 4, 4, 3)
    np.testing.assert_array_equal(degrade(hr, 2, noise=0.05, seed=1), degrade(hr, 2, noise=0.05, seed=1))
    assert not np.array_equal(degrade(hr, 2, noise=0.05, seed=1), degrade(hr, 2))
    flat = np.full((1, 8, 8, 1), 0.5, np.float32)  # a flat image stays flat whatever the blur
    np.testing.assert_allclose(degrade(flat, 2, blur=1.0), 0.5, atol=1e-5)


def test_random_patches_crop_inside_the_images():
    images = np.arange(2 * 10 * 10, dtype=np.float32).reshape(2, 10, 10, 1)
    crops = random_patches(images, 50, 4, np.random.default_rng(0), flips=False)
    assert crops.shape == (50, 4, 4, 1)
    for crop in crops:  # each crop is a contiguous block of one image
        assert crop[0, 1, 0] - crop[0, 0, 0] == 1 and crop[1, 0, 0] - crop[0, 0, 0] == 10


def test_feature_network_is_fixed_by_its_seed():
    x = np.random.default_rng(0).random((2, 16, 16, 1)).astype(np.float32)
    a, b, c = (feature_network(1, seed=s)(x) for s in (3, 3, 4))
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert not np.allclose(np.asarray(a), np.asarray(c))
    assert np.asarray(a).shape == (2, 4, 4, 128)


def test_upscale_keeps_labels_and_says_so(upscaler, glyphs):
    small = reduce_dataset(glyphs[1], 2)
    assert small.shape == (8, 8, 1)
    big = upscaler.upscale(small)
    assert big.shape == (16, 16, 1)
    np.testing.assert_array_equal(big.y, small.y)
    assert big.provenance["upscaled"] == {"scale": 2, "method": "srgan", "steps": upscaler.steps_taken}
    assert 0 <= big.x.min() and big.x.max() <= 1
    unlabelled = ga.Dataset.from_arrays(small.x)
    assert upscaler.upscale(unlabelled).shape == (16, 16, 1)


def test_the_three_methods_differ_and_srresnet_is_the_pretrained_generator(upscaler, glyphs):
    lr = degrade(glyphs[1].x, 2)
    outs = {m: upscaler.upscale_images(lr, method=m) for m in METHODS}
    assert not np.allclose(outs["srresnet"], outs["srgan"])  # the adversarial phase changed G
    assert not np.allclose(outs["bicubic"], outs["srresnet"])
    with pytest.raises(DataError, match="method"):
        upscaler.upscale_images(lr, method="lanczos")


def test_evaluate_reports_every_method(upscaler):
    report = upscaler.evaluate()
    assert set(report.rows) == set(METHODS)
    for row in report.rows.values():
        assert set(row) == {"psnr", "ssim", "fd", "c2st_auc"}
        assert all(np.isfinite(v) for v in row.values())
    assert report.images == 10 and report.scale == 2
    assert "srresnet" in report.table()
    json.dumps(report.to_dict())


def test_save_and_load_upscale_identically(upscaler, glyphs, tmp_path):
    path = upscaler.save(tmp_path / "up.keras")
    again = load_upscaler(path)
    lr = degrade(glyphs[1].x, 2)
    for method in ("srgan", "srresnet"):
        np.testing.assert_array_equal(again.upscale_images(lr, method=method),
                                      upscaler.upscale_images(lr, method=method))
    assert again.steps_taken == upscaler.steps_taken
    with pytest.raises(DataError, match="held-out"):
        again.evaluate()  # a loaded upscaler keeps no images
    with pytest.raises(DataError, match="upscaler"):
        load_upscaler(tmp_path / "missing.keras")


def test_a_rerun_resumes_from_the_checkpoint(glyphs, tmp_path, monkeypatch):
    import gan_augment.super_resolution as sr

    monkeypatch.setattr(sr, "STEPS_PER_EPOCH", 5)
    train, held_out = glyphs
    options = dict(holdout=held_out, pretrain_steps=5, seed=0, checkpoint_dir=tmp_path, **TINY)
    first = train_srgan(train, 2, steps=10, **options)
    more = train_srgan(train, 2, steps=15, **options)  # the same checkpoint: one more epoch
    assert (first.steps_taken, more.steps_taken) == (10, 15)
    assert len(more.history["g_loss"]) == 3
    with pytest.raises(ga.TrainingError, match="feature_weight"):  # other options: refused
        train_srgan(train, 2, steps=15, feature_weight=0.5, **options)


def test_a_classifier_trained_here_can_be_the_content_loss_space(glyphs, monkeypatch):
    import gan_augment.super_resolution as sr

    monkeypatch.setattr(sr, "CLASSIFIER_FEATURE_STEPS", 5)
    train, held_out = glyphs
    up = train_srgan(train, 2, holdout=held_out, steps=4, pretrain_steps=2, feature="classifier", **TINY)
    assert up.model.feature_extractor is not None and not up.model.feature_extractor.trainable
    assert up.history["feature_loss"][-1] > 0
    unlabelled = ga.Dataset.from_arrays(train.x)
    with pytest.raises(DataError, match="labelled"):
        train_srgan(unlabelled, 2, steps=1, feature="classifier", **TINY)


def test_pictures(upscaler, tmp_path):
    paths = upscaler.save_pictures(tmp_path)
    assert set(paths) == {"super_resolution", "curves"}
    assert all(p.stat().st_size > 1000 for p in paths.values())


def test_gan_samples_can_be_upscaled(upscaler):
    tiny_gan = ga.train_gan(ga.load_dataset("digits").subsample(per_class=3, seed=0), epochs=1, verbose=0)
    samples = tiny_gan.sample(20, seed=0, upscaler=upscaler)
    assert samples.shape == (16, 16, 1)
    assert samples.provenance["upscaled"]["scale"] == 2


def test_bad_inputs_raise_clear_errors(glyphs):
    train, held_out = glyphs
    with pytest.raises(DataError, match="divides"):
        train_srgan(train, 4, patch=14, steps=1, **TINY)  # 14 is not a multiple of 4
    with pytest.raises(DataError, match="at least as large as a patch"):
        train_srgan(train, 2, patch=32, steps=1, **TINY)  # images are 16x16
    rgb = ga.Dataset.from_arrays(np.repeat(held_out.x, 3, axis=3), held_out.y, held_out.class_names)
    with pytest.raises(DataError, match="channels"):
        train_srgan(train, 2, holdout=rgb, steps=1, **TINY)
    with pytest.raises(DataError, match="scale"):
        train_srgan(train, 3, steps=1, **TINY)
    with pytest.raises(TypeError, match="Unknown super-resolution option"):
        train_srgan(train, 2, step=1, **TINY)
    with pytest.raises(DataError, match="image"):
        train_srgan(ga.load_dataset("wine"), 2, **TINY)


def test_upscaling_other_channels_is_refused(upscaler, glyphs):
    rgb = ga.Dataset.from_arrays(np.repeat(reduce_dataset(glyphs[1], 2).x, 3, axis=3))
    with pytest.raises(DataError, match="channels"):
        upscaler.upscale(rgb)


def test_cli_upscale_trains_scores_and_writes_the_upscaled_set(tmp_path, capsys):
    out = tmp_path / "up"
    code = main(["upscale", "--hr-source", "rendered_digits", "--hr-image-size", "16", "--scale", "2",
                 "--steps", "10", "--dataset", "digits", "-o", str(out), "--quiet"])
    assert code == 0
    for name in ("upscaler.keras", "evaluation.json", "super_resolution.png", "upscaled.npz"):
        assert (out / name).is_file(), name
    assert ga.load_dataset(out / "upscaled.npz").shape == (16, 16, 1)
    assert set(json.loads((out / "evaluation.json").read_text())["rows"]) == set(METHODS)
    # a saved upscaler is reused with --model
    again = tmp_path / "again"
    assert main(["upscale", "--model", str(out), "--dataset", "digits", "-o", str(again), "--quiet"]) == 0
    assert (again / "upscaled.npz").is_file()

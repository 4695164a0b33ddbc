"""Streamed generation (`gan_augment.streaming.sample_to`, `TrainedGAN.sample_to`): shards read
back as TFDS / npz / parquet, a killed run resumes to the same bytes, memory does not grow with n."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import gan_augment as ga
from gan_augment import streaming
from gan_augment.errors import DataError
from gan_augment.export import to_uint8
from gan_augment.streaming import MANIFEST, shard_seed


@pytest.fixture(scope="module")
def digits_gan():
    return ga.train_gan(ga.load_dataset("digits").subsample(per_class=3), epochs=1, seed=0, verbose=0)


@pytest.fixture(scope="module")
def wine_gan():
    # built (column encoders fitted on the real rows) but not trained: one epoch is 50 WGAN steps, ~9 s
    return ga.train_gan(ga.load_dataset("wine").subsample(per_class=5), epochs=0, seed=0, verbose=0)


def files(directory) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


def shard_sample(gan, seed, index, start, stop, labels=None):
    """What shard ``index`` holds: `TrainedGAN.sample` with the shard's labels and seed."""
    if labels is None:
        labels = np.arange(start, stop) % gan.num_classes
    return gan.sample(stop - start, labels=labels, seed=shard_seed(seed, index))


# ---------------------------------------------------------------------- formats
def test_tfds_directory_reads_back(tmp_path, digits_gan, capsys):
    tfds = pytest.importorskip("tensorflow_datasets")
    out = digits_gan.sample_to(tmp_path / "synthetic digits", 250, seed=4, shard_size=100)
    assert out == tmp_path / "synthetic digits"
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # no temporary files left
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"Generating 250 samples into {out} (tfds, 3 shards of 100)")
    assert lines[-1].startswith("Wrote 250 samples") and len(lines) == 5

    builder = tfds.builder_from_directory(str(out))
    assert builder.info.name == "synthetic_digits"
    assert builder.info.splits["train"].num_examples == 250
    assert builder.info.splits["train"].shard_lengths == [100, 100, 50]
    assert builder.info.features["label"].names == list(digits_gan.class_names)
    arrays = tfds.as_numpy(builder.as_dataset(split="train", batch_size=-1))
    assert arrays["image"].shape == (250, 8, 8, 1) and arrays["image"].dtype == np.uint8
    np.testing.assert_array_equal(arrays["label"], np.arange(250) % 10)  # classes in turn, in order
    assert arrays["synthetic"].all()
    expected = shard_sample(digits_gan, 4, 1, 100, 200)
    np.testing.assert_array_equal(arrays["image"][100:200], to_uint8(expected.x))

    back = ga.load_dataset(str(out))  # a TFDS directory for load_dataset too
    assert len(back) == 250 and back.y.tolist() == arrays["label"].tolist()
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["complete"] and sorted(manifest["shards"]) == ["0", "1", "2"]


def test_labels_one_class_or_one_per_sample(tmp_path, digits_gan):
    tfds = pytest.importorskip("tensorflow_datasets")
    fives = digits_gan.sample_to(tmp_path / "fives", 30, labels=5, shard_size=16, verbose=0)
    labels = tfds.as_numpy(tfds.builder_from_directory(str(fives)).as_dataset(split="train", batch_size=-1))["label"]
    assert labels.tolist() == [5] * 30

    given = np.random.default_rng(0).integers(0, 10, 45)
    out = digits_gan.sample_to(tmp_path / "given", None, labels=given, shard_size=20, format="npz", verbose=0)
    index = json.loads((out / "index.json").read_text())
    back = np.concatenate([np.load(out / shard["file"])["y"] for shard in index["shards"]])
    np.testing.assert_array_equal(back, given)


def test_npz_shards_and_index(tmp_path, digits_gan):
    out = streaming.sample_to(digits_gan, tmp_path / "npz", 250, seed=2, shard_size=100, format="npz", verbose=0)
    index = json.loads((out / "index.json").read_text())
    assert index["count"] == 250 and index["sample_shape"] == [8, 8, 1]
    assert [(s["start"], s["count"]) for s in index["shards"]] == [(0, 100), (100, 100), (200, 50)]
    for i, shard in enumerate(index["shards"]):
        path = out / shard["file"]
        with np.load(path, allow_pickle=False) as archive:  # export_npz's layout
            assert archive["synthetic"].all() and archive["class_names"].tolist() == list(digits_gan.class_names)
        data = ga.load_dataset(str(path))
        start = shard["start"]
        expected = shard_sample(digits_gan, 2, i, start, start + shard["count"])
        np.testing.assert_array_equal(data.x, expected.x)  # exactly gan.sample: the compiled generator
        np.testing.assert_array_equal(data.y, expected.y)


def test_parquet_shards_read_back(tmp_path, wine_gan):
    pq = pytest.importorskip("pyarrow.parquet")
    out = wine_gan.sample_to(tmp_path / "rows", 250, seed=1, shard_size=100, verbose=0)
    parts = sorted(out.glob("*.parquet"))
    assert [p.name for p in parts] == [f"part-0000{i}-of-00003.parquet" for i in range(3)]
    assert all(pq.ParquetFile(p).num_row_groups == 1 for p in parts)
    frame = pd.read_parquet(out)  # the folder; pyarrow skips _manifest.json
    assert len(frame) == 250 and frame["_synthetic"].all()
    target = wine_gan.target or "target"
    assert list(frame[target].cat.categories) == list(wine_gan.class_names)
    assert frame[target].cat.codes.tolist() == (np.arange(250) % 3).tolist()
    expected = shard_sample(wine_gan, 1, 2, 200, 250).frame
    pd.testing.assert_frame_equal(frame.iloc[200:][list(expected.columns)].reset_index(drop=True),
                                  expected.reset_index(drop=True))


# ---------------------------------------------------------------------- resuming, determinism
@pytest.mark.parametrize("format", ["tfds", "npz", "parquet"])
def test_a_killed_run_resumes_to_the_same_bytes(tmp_path, digits_gan, wine_gan, monkeypatch, capsys, format):
    gan = wine_gan if format == "parquet" else digits_gan
    whole = gan.sample_to(tmp_path / "whole" / "out", 230, seed=7, shard_size=50, format=format, verbose=0)

    def kill_after_shard_1(index):
        if index == 1:
            raise KeyboardInterrupt("killed")

    monkeypatch.setattr(streaming, "_shard_written", kill_after_shard_1)
    target = tmp_path / "killed" / "out"
    with pytest.raises(KeyboardInterrupt):
        gan.sample_to(target, 230, seed=7, shard_size=50, format=format, verbose=0)
    assert len(json.loads((target / MANIFEST).read_text())["shards"]) == 2
    assert not (target / "dataset_info.json").exists() and not (target / "index.json").exists()
    kept = {name: (target / name).stat().st_mtime_ns for name in files(target) if name != MANIFEST}
    # a kill in the middle of a write leaves its temporary file: the rerun removes it
    next_shard = streaming.WRITERS[format](streaming._Plan.make(gan, target, 230, None, 7, 50, format)).filename(2)
    (target / f".{next_shard}.abc123").write_bytes(b"half a shard")

    monkeypatch.setattr(streaming, "_shard_written", lambda index: None)
    capsys.readouterr()
    gan.sample_to(target, 230, seed=7, shard_size=50, format=format)
    assert "resuming: 2 finished shards (100 " in capsys.readouterr().out
    assert {name: (target / name).stat().st_mtime_ns for name in kept} == kept  # finished shards kept
    assert files(target) == files(whole)  # byte for byte, manifest and metadata included


def test_same_seed_same_bytes_other_seed_other_samples(tmp_path, digits_gan):
    a = digits_gan.sample_to(tmp_path / "a" / "d", 120, seed=5, shard_size=50, verbose=0)
    b = digits_gan.sample_to(tmp_path / "b" / "d", 120, seed=5, shard_size=50, verbose=0)
    c = digits_gan.sample_to(tmp_path / "c" / "d", 120, seed=6, shard_size=50, verbose=0)
    assert files(a) == files(b)
    shards = [name for name in files(a) if ".tfrecord-" in name]
    assert len(shards) == 3 and all(files(a)[s] != files(c)[s] for s in shards)


def test_a_finished_folder_is_left_alone_and_other_arguments_are_refused(tmp_path, digits_gan, capsys):
    out = digits_gan.sample_to(tmp_path / "d", 60, seed=1, shard_size=25, verbose=0)
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    digits_gan.sample_to(out, 60, seed=1, shard_size=25)
    assert capsys.readouterr().out == f"{out} already holds all 60 samples of this call; nothing to do.\n"
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before
    with pytest.raises(DataError, match=r"n=60 then, 61 now.*same arguments, or a new path"):
        digits_gan.sample_to(out, 61, seed=1, shard_size=25)
    with pytest.raises(DataError, match=r"seed=1 then, 2 now"):
        digits_gan.sample_to(out, 60, seed=2, shard_size=25)


# ---------------------------------------------------------------------- bad inputs
def test_bad_inputs_say_what_and_how_to_fix(tmp_path, digits_gan, wine_gan):
    a_file = tmp_path / "taken.npz"
    a_file.write_bytes(b"x")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    cases = [
        ({"n": 0}, r"Expected n as an integer >= 1.*n=0"),
        ({"n": -5}, r"n=-5"),
        ({"n": 2.5}, r"n=2.5"),
        ({"n": True}, r"n=True"),
        ({"n": None}, r"Expected n.*pass e.g. n=100_000"),
        ({"format": "png"}, r"format in \['tfds', 'npz'\].*format='png'"),
        ({"format": "parquet"}, r"for image GANs.*format='parquet'"),
        ({"path": a_file}, r"Expected path to be a folder.*is a file; pass a new folder path"),
        ({"path": busy}, r"holds other files and no _manifest.json; pass a new path or empty the folder"),
        ({"shard_size": 0}, r"Expected shard_size as an integer >= 1"),
        ({"seed": -1}, r"Expected seed as an integer >= 0"),
        ({"labels": 12}, r"Expected integer labels in 0..9"),
    ]
    for change, message in cases:
        args = {"path": tmp_path / "out", "n": 10, **change}
        with pytest.raises(DataError, match=message) as raised:
            digits_gan.sample_to(args.pop("path"), args.pop("n"), verbose=0, **args)
        assert "\n" not in str(raised.value), change
    with pytest.raises(DataError, match=r"format in \['parquet'\] for table GANs"):
        wine_gan.sample_to(tmp_path / "rows", 10, format="tfds")
    with pytest.raises(DataError, match="Expected a TrainedGAN"):
        streaming.sample_to(digits_gan.model, tmp_path / "m", 10)
    assert not (tmp_path / "out").exists()  # nothing was written for a refused call


# ---------------------------------------------------------------------- memory
def _peak_bytes(gan, directory, n, format):
    import tracemalloc

    tracemalloc.start()
    try:
        gan.sample_to(directory, n, shard_size=500, format=format, verbose=0)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
@pytest.mark.parametrize("format", ["tfds", "npz"])
def test_memory_does_not_grow_with_n(tmp_path, digits_gan, format):
    """numpy's arrays are traced by tracemalloc: 10× the samples (10× the shards) keep the peak."""
    _peak_bytes(digits_gan, tmp_path / "warm", 600, format)  # traces and imports outside the measure
    small = _peak_bytes(digits_gan, tmp_path / "small", 2_000, format)
    large = _peak_bytes(digits_gan, tmp_path / "large", 20_000, format)
    assert large < 1.5 * small + 2**20, (small, large)
    assert large < 20_000 * 8 * 8 * 4  # less than the float32 images themselves


@pytest.mark.slow
def test_unconditional_gan_streams_without_labels(tmp_path):
    tfds = pytest.importorskip("tensorflow_datasets")
    data = ga.load_dataset("digits").subsample(per_class=3)
    gan = ga.train_gan(data, epochs=1, conditional=False, verbose=0)
    out = gan.sample_to(tmp_path / "u", 70, shard_size=30, verbose=0)
    builder = tfds.builder_from_directory(str(out))
    assert "label" not in builder.info.features and builder.info.splits["train"].num_examples == 70
    with pytest.raises(DataError, match="unconditional"):
        gan.sample_to(tmp_path / "v", 10, labels=1)

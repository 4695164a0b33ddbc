"""Exports (`export_npz`, `export_parquet`, `export_tfds`) round-trip through `load_dataset`."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gan_augment.data import Dataset
from gan_augment.data.sources import load_dataset, load_dataset_and_mask
from gan_augment.data.tables import frame_to_dataset
from gan_augment.errors import DataError
from gan_augment.export import export_npz, export_parquet, export_tfds


@pytest.fixture(scope="module")
def digits() -> Dataset:
    return load_dataset("digits").subsample(per_class=3, seed=1)  # 30 images, 10 classes


def leftovers(directory) -> list[str]:
    """Temporary files or folders an export left behind."""
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


# ---------------------------------------------------------------------- npz
def test_npz_round_trip(tmp_path, digits):
    mask = np.arange(len(digits)) % 3 == 0
    path = export_npz(digits, tmp_path / "out" / "digits", synthetic=mask)
    assert path == tmp_path / "out" / "digits.npz" and path.is_file()
    assert leftovers(path.parent) == []

    with np.load(path, allow_pickle=False) as archive:  # no object arrays anywhere
        assert {"x", "y", "class_names", "synthetic"} <= set(archive.files)
        assert archive["class_names"].dtype.kind == "U"
        assert archive["synthetic"].dtype == np.bool_

    back, back_mask = load_dataset_and_mask(path)
    np.testing.assert_array_equal(back.x, digits.x)
    np.testing.assert_array_equal(back.y, digits.y)
    assert back.class_names == digits.class_names
    np.testing.assert_array_equal(back_mask, mask)
    assert back.provenance["origin"]["source"] == "digits"
    assert len(load_dataset(path, synthetic="drop")) == int((~mask).sum())


def test_npz_unlabeled_and_replace(tmp_path, digits):
    path = tmp_path / "d.npz"
    export_npz(digits, path)
    unlabeled = Dataset.from_arrays(digits.x[:4])
    export_npz(unlabeled, path)  # replaces the first file
    back = load_dataset(path)
    assert len(back) == 4 and back.y is None


def test_npz_failed_write_keeps_previous_file(tmp_path, digits, monkeypatch):
    path = export_npz(digits, tmp_path / "d.npz")
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez_compressed", boom)
    with pytest.raises(OSError, match="disk full"):
        export_npz(digits.take([0, 1]), path)
    assert path.read_bytes() == before and leftovers(tmp_path) == []


def test_written_files_get_the_usual_modes_not_owner_only(tmp_path, digits):
    """Atomic writes go through mkstemp/mkdtemp (owner-only); the results must be readable by
    others as plain writes are (a Dagster webserver may run as another user)."""
    import os
    import stat

    from gan_augment._io import DIR_MODE, FILE_MODE, atomic_path

    umask = os.umask(0)
    os.umask(umask)
    assert FILE_MODE == 0o666 & ~umask and DIR_MODE == 0o777 & ~umask
    path = export_npz(digits, tmp_path / "d.npz")
    assert stat.S_IMODE(path.stat().st_mode) == FILE_MODE
    with atomic_path(tmp_path / "r.json") as tmp:
        tmp.write_text("{}")
    assert stat.S_IMODE((tmp_path / "r.json").stat().st_mode) == FILE_MODE
    table = frame_to_dataset(pd.DataFrame({"a": [1.0, 2.0], "t": ["x", "y"]}), "t")[0]
    assert stat.S_IMODE(export_parquet(table, tmp_path / "t.parquet").stat().st_mode) == FILE_MODE
    pytest.importorskip("tensorflow_datasets")
    out = export_tfds(digits.take(np.arange(20)), tmp_path / "tfds", name="modes")
    assert stat.S_IMODE(out.parent.stat().st_mode) == DIR_MODE


def test_npz_bad_inputs(tmp_path, digits):
    with pytest.raises(DataError, match="kind='image'.*export_parquet"):
        export_npz(load_dataset("wine"), tmp_path / "w.npz")
    with pytest.raises(DataError, match=r"synthetic mask of shape \(30,\)"):
        export_npz(digits, tmp_path / "d.npz", synthetic=[True, False])


# ---------------------------------------------------------------------- parquet
def test_parquet_round_trip_keeps_class_order(tmp_path):
    table = load_dataset("breast_cancer")  # class names not in sorted order
    mask = np.zeros(len(table), bool)
    mask[::4] = True
    path = export_parquet(table, tmp_path / "bc.parquet", synthetic=mask)
    assert leftovers(tmp_path) == []

    back, back_mask = load_dataset_and_mask(path, target="target")
    assert back.class_names == ("malignant", "benign")
    np.testing.assert_array_equal(back.y, table.y)
    pd.testing.assert_frame_equal(back.frame, table.frame)
    assert "_synthetic" not in back.frame.columns
    np.testing.assert_array_equal(back_mask, mask)


def test_parquet_mixed_columns(tmp_path):
    frame = pd.DataFrame({"size": [1.5, 2.0, 3.5], "color": ["red", "blue", "red"]})
    table, _ = frame_to_dataset(frame.assign(kind=["b", "a", "b"]), "kind")
    back = load_dataset(export_parquet(table, tmp_path / "t.parquet"), target="kind")
    assert back.class_names == ("a", "b") and back.y.tolist() == [1, 0, 1]
    assert back.frame["color"].tolist() == ["red", "blue", "red"]


def test_parquet_bad_inputs(tmp_path, digits):
    with pytest.raises(DataError, match="kind='table'"):
        export_parquet(digits, tmp_path / "d.parquet")


# ---------------------------------------------------------------------- tfds
def test_tfds_round_trip_with_synthetic_flag(tmp_path, digits, capsys):
    tfds = pytest.importorskip("tensorflow_datasets")
    mask = np.arange(len(digits)) >= 20
    out = export_tfds(digits, tmp_path / "tfds", name="digits_aug", synthetic=mask)
    assert out == tmp_path / "tfds" / "digits_aug" / "1.0.0"
    assert "Downloading" not in capsys.readouterr().out  # TFDS's chatter stays off the console
    assert leftovers(tmp_path / "tfds") == []

    builder = tfds.builder_from_directory(str(out))
    assert builder.info.splits["train"].num_examples == len(digits)
    assert builder.info.features["label"].names == list(digits.class_names)
    arrays = tfds.as_numpy(builder.as_dataset(split="train", batch_size=-1))
    assert arrays["image"].dtype == np.uint8 and arrays["image"].shape == (30, 8, 8, 1)
    np.testing.assert_array_equal(arrays["label"], digits.y)  # order kept
    np.testing.assert_array_equal(arrays["synthetic"], mask)

    back, back_mask = load_dataset_and_mask(out)
    np.testing.assert_array_equal(back.y, digits.y)
    np.testing.assert_allclose(back.x, digits.x, atol=0.5 / 255 + 1e-7)  # uint8 quantisation
    np.testing.assert_array_equal(back_mask, mask)
    assert len(load_dataset(out, synthetic="only")) == 10

    loaded = tfds.load("digits_aug", data_dir=str(tmp_path / "tfds"), split="train", download=False)
    assert int(loaded.cardinality()) == 30


def test_tfds_replaces_existing_export_only_when_complete(tmp_path, digits, monkeypatch):
    tfds = pytest.importorskip("tensorflow_datasets")
    root = tmp_path / "tfds"
    out = export_tfds(digits, root)
    out = export_tfds(digits.take(range(5)), root)  # replaces the previous export
    assert tfds.builder_from_directory(str(out)).info.splits["train"].num_examples == 5

    def boom(*args, **kwargs):
        raise RuntimeError("interrupted")

    monkeypatch.setattr(tfds.dataset_builders, "store_as_tfds_dataset", boom)
    with pytest.raises(RuntimeError, match="interrupted"):
        export_tfds(digits, root)
    assert len(load_dataset(out)) == 5  # the previous export is intact
    assert leftovers(root) == []


def test_tfds_unlabeled_rgb(tmp_path):
    pytest.importorskip("tensorflow_datasets")
    x = np.random.default_rng(0).random((4, 5, 6, 3)).astype(np.float32)
    out = export_tfds(Dataset.from_arrays(x), tmp_path, name="rgb", split="test")
    back = load_dataset(out, split="test", label_key=None)
    assert back.shape == (5, 6, 3) and back.y is None
    np.testing.assert_allclose(back.x, x, atol=0.5 / 255 + 1e-7)


def test_tfds_bad_inputs(tmp_path, digits):
    with pytest.raises(DataError, match="snake_case.*'My Data'"):
        export_tfds(digits, tmp_path, name="My Data")
    with pytest.raises(DataError, match="kind='image'"):
        export_tfds(load_dataset("wine"), tmp_path)
    with pytest.raises(DataError, match="synthetic mask"):
        export_tfds(digits, tmp_path, synthetic=np.ones(3, bool))


def test_tfds_export_is_quiet_and_leaves_logging_as_it_was(tmp_path, digits, capfd):
    import logging

    pytest.importorskip("tensorflow_datasets")
    handlers = list(logging.getLogger().handlers)
    capfd.readouterr()
    export_tfds(digits.take(np.arange(12)), tmp_path / "tfds", name="quiet", synthetic=np.zeros(12, bool))
    out, err = capfd.readouterr()
    assert logging.getLogger().handlers == handlers  # library lines are not printed twice afterwards
    assert "dataset_info.json" not in err and "Generating splits" not in err and not out


def test_a_killed_writers_temporary_is_removed_by_the_next_write_and_a_live_ones_is_kept(tmp_path):
    """A process killed mid-write leaves its hidden temporary; the next atomic write of the same
    file removes it (its writer, on this machine, is gone) but not one of a live writer."""
    import os
    import subprocess
    import sys

    from gan_augment._io import _temporary_prefix, atomic_path

    target = tmp_path / "report.json"
    prefix = _temporary_prefix(target)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    stale = tmp_path / f"{prefix}{gone.stdout.strip()}.abc123.json"
    live = tmp_path / f"{prefix}{os.getppid()}.def456.json"  # this test's parent: alive
    other_host = tmp_path / f".report.json.otherhost.{gone.stdout.strip()}.ghi789.json"
    for path in (stale, live, other_host):
        path.write_text("partial")
    with atomic_path(target) as tmp:
        tmp.write_text("{}")
    assert target.read_text() == "{}"
    assert not stale.exists() and live.exists() and other_host.exists()

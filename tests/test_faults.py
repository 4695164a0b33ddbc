"""Fault tolerance (issue 15): damaged checkpoints, corrupt or hostile input files, misleading
messages. Every case here is a row of docs/RELIABILITY.md: what a user meets, and the one-line
error (or the warning and recovery) the package promises instead of a traceback."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

import gan_augment as ga
from gan_augment import checkpoint as ckpt
from gan_augment import cli, logs
from gan_augment.errors import DataError, TrainingError

ROOT = Path(__file__).resolve().parents[1]
NPZ_BUDGET_ENV = "GAN_AUGMENT_NPZ_MAX_BYTES"  # the documented override of the .npz memory budget
NEWEST, PREVIOUS = "training_state.npz", "training_state.previous.npz"  # a checkpoint_dir's files


def _one_line(message: str) -> str:
    assert "\n" not in message.strip(), message
    return message


# ---------------------------------------------------------------------- ways to damage a file
def _flip_bit(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01  # in the array data: the zip CRC and the checksum catch it
    path.write_bytes(bytes(data))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _garbage(path: Path) -> None:
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())


DAMAGE = {"bit_flip": _flip_bit, "truncated": _truncate, "empty": _empty, "garbage": _garbage}


# ---------------------------------------------------------------------- checkpoints
@pytest.fixture(scope="module")
def tiny():
    return ga.load_dataset("digits").subsample(per_class=3, seed=0)  # 30 images: 1 step per epoch


@pytest.fixture(scope="module")
def run(tiny, tmp_path_factory):
    """A two-epoch run that checkpointed after each epoch: its folder and the trained GAN."""
    folder = tmp_path_factory.mktemp("run") / "checkpoints"
    gan = ga.train_gan(tiny, epochs=2, seed=0, checkpoint_dir=folder, checkpoint_every=1, verbose=0)
    return folder, gan


def _copy(folder: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(folder, tmp_path / "checkpoints"))


def _record(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as f:
        return json.loads(str(f["record"]))


def test_the_last_two_checkpoints_are_kept_with_a_checksum(run):
    folder = run[0]
    assert ckpt.CHECKPOINT_NAMES == (NEWEST, PREVIOUS)
    assert sorted(p.name for p in folder.iterdir()) == sorted((NEWEST, PREVIOUS))
    newest, previous = _record(folder / NEWEST), _record(folder / PREVIOUS)
    assert (newest["epoch"], previous["epoch"]) == (2, 1)
    assert newest["checksum"].startswith("sha256:") and newest["checksum"] != previous["checksum"]
    assert ckpt.checkpoint_epoch(folder) == 2


@pytest.mark.parametrize("damage", DAMAGE.values(), ids=DAMAGE.keys())
def test_a_damaged_newest_checkpoint_falls_back_to_the_previous_one(run, tiny, tmp_path, damage):
    folder = _copy(run[0], tmp_path)
    damage(folder / NEWEST)
    assert ckpt.checkpoint_epoch(folder) == 1  # where a run with this folder resumes (the pipeline asks)
    messages: list[str] = []
    with logs.log_to(messages.append):
        gan = ga.train_gan(tiny, epochs=1, seed=0, checkpoint_dir=folder, checkpoint_every=1, verbose=0)
    assert gan.model.steps_taken == run[1].model.steps_taken // 2  # the state of epoch 1, from the previous one
    warning = _one_line(" ".join(m for m in messages if "previous" in m))
    assert NEWEST in warning and PREVIOUS in warning and "epoch 1" in warning


def test_a_resumed_run_after_damage_is_the_uninterrupted_run_and_keeps_the_good_one(run, tiny, tmp_path):
    folder = _copy(run[0], tmp_path)
    _flip_bit(folder / NEWEST)
    resumed = ga.train_gan(tiny, epochs=2, seed=0, checkpoint_dir=folder, checkpoint_every=1, verbose=0)
    assert resumed.model.steps_taken == run[1].model.steps_taken
    np.testing.assert_array_equal(resumed.sample(10, seed=0).x, run[1].sample(10, seed=0).x)
    # the damaged newest file was replaced without pushing out the good previous one
    assert (_record(folder / NEWEST)["epoch"], _record(folder / PREVIOUS)["epoch"]) == (2, 1)


def test_arrays_changed_behind_an_intact_zip_fail_the_checksum(run, tmp_path):
    folder = _copy(run[0], tmp_path)
    path = folder / NEWEST
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    arrays["v00000"] = arrays["v00000"] + 1.0  # a valid zip with valid CRCs, but not what was saved
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)
    assert ckpt.checkpoint_epoch(folder) == 1


def test_a_checkpoint_without_a_checksum_still_loads(run, tmp_path):
    folder = _copy(run[0], tmp_path)
    path = folder / NEWEST
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    record = json.loads(str(arrays["record"]))
    record.pop("checksum", None)  # as written before checksums existed
    arrays["record"] = np.array(json.dumps(record))
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)
    assert ckpt.checkpoint_epoch(folder) == 2


def test_every_checkpoint_damaged_is_one_line_naming_the_folder_and_the_fix(run, tiny, tmp_path):
    folder = _copy(run[0], tmp_path)
    _flip_bit(folder / NEWEST)
    _truncate(folder / PREVIOUS)
    for call in (lambda: ckpt.checkpoint_epoch(folder),
                 lambda: ga.train_gan(tiny, epochs=2, seed=0, checkpoint_dir=folder, verbose=0)):
        with pytest.raises(TrainingError) as info:
            call()
        message = _one_line(str(info.value))
        assert str(folder) in message and "corrupt" in message
        assert "Delete that folder" in message and "checkpoint_dir" in message
    assert sorted(p.name for p in folder.iterdir()) == sorted((NEWEST, PREVIOUS))  # nothing deleted


def test_the_cli_reports_damaged_checkpoints_in_one_line_with_status_2(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("GAN_AUGMENT_DEBUG", raising=False)
    folder = tmp_path / "out" / "checkpoints"
    folder.mkdir(parents=True)
    for name, damage in zip((NEWEST, PREVIOUS), (_flip_bit, _empty)):
        np.savez(folder / name, v00000=np.zeros(1000), record=np.array(json.dumps({"epoch": 1})))
        damage(folder / name)
    code = cli.main(["train", "--dataset", "digits", "--epochs", "1", "--output-dir", str(tmp_path / "out"),
                     "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("gan-augment: error: ") and str(folder) in _one_line(err)


# ---------------------------------------------------------------------- .npz input
def _npy(shape: tuple, descr: str = "<f4", data: bytes = b"") -> bytes:
    """An .npy member: a hand-written header declaring ``shape`` of ``descr``, then ``data``."""
    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(out, {"descr": descr, "fortran_order": False, "shape": shape})
    return out.getvalue() + data


@pytest.fixture
def good_npz(tmp_path) -> Path:
    path = tmp_path / "good.npz"
    rng = np.random.default_rng(0)
    np.savez(path, x=rng.random((20, 8, 8), np.float32), y=np.arange(20) % 2)
    return path


@pytest.mark.parametrize("damage, match", [
    (_flip_bit, "is corrupt: array 'x' fails its checksum"),
    (_truncate, "truncated or damaged zip archive"),
    (_empty, r"is empty \(0 bytes\)"),
    (_garbage, "is not a zip archive"),
], ids=DAMAGE.keys())
def test_a_damaged_npz_is_one_line_naming_the_problem(good_npz, damage, match):
    damage(good_npz)
    with pytest.raises(DataError, match=match) as info:
        ga.load_dataset(good_npz)
    assert "Write it again" in _one_line(str(info.value)) and "pickle" not in str(info.value)


def test_a_header_declaring_a_huge_array_is_refused_before_allocating(tmp_path):
    path = tmp_path / "huge.npz"
    with zipfile.ZipFile(path, "w") as archive:  # 373 GiB declared in a file of a few hundred bytes
        archive.writestr("x.npy", _npy((100_000, 1000, 1000)))
    with pytest.raises(DataError, match=r"memory budget of .*asks for 372\.5 GiB") as info:
        ga.load_dataset(path)
    assert NPZ_BUDGET_ENV in _one_line(str(info.value))


def test_truncated_array_data_is_called_truncated_not_pickle(tmp_path):
    path = tmp_path / "short.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x.npy", _npy((10, 4, 4), data=bytes(100)))  # 640 bytes declared, 100 there
    with pytest.raises(DataError, match=r"is truncated: array 'x' declares shape \(10, 4, 4\)") as info:
        ga.load_dataset(path)
    assert "pickle" not in str(info.value)


def test_a_zip_bomb_is_refused_without_unpacking_it(tmp_path, monkeypatch):
    path = tmp_path / "bomb.npz"
    np.savez_compressed(path, x=np.zeros((16, 1024, 1024), np.float32))  # 64 MiB in about 64 KiB
    assert path.stat().st_size < 2**20
    monkeypatch.setenv(NPZ_BUDGET_ENV, "16M")
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match=r"memory budget of 16\.0 MiB.*asks for 64\.0 MiB"):
            ga.load_dataset(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2**20  # nothing of the 64 MiB was allocated
    from gan_augment.data.images import read_npz

    monkeypatch.setenv(NPZ_BUDGET_ENV, "1G")  # a genuine file: a larger budget reads it
    assert read_npz(path)["x"].shape == (16, 1024, 1024)
    monkeypatch.setenv(NPZ_BUDGET_ENV, "lots")
    with pytest.raises(DataError, match=f"Expected {NPZ_BUDGET_ENV} as a number of bytes"):
        ga.load_dataset(path)


class _Trap:
    """Unpickling it would create a file: the proof that nothing was unpickled."""

    marker: Path

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker,))


def test_a_pickled_npz_is_refused_without_unpickling(tmp_path):
    trap = _Trap()
    trap.marker = tmp_path / "unpickled"
    path = tmp_path / "pickled.npz"
    np.savez(path, x=np.array([trap, trap], dtype=object))
    with pytest.raises(DataError, match="object array, which would need pickle"):
        ga.load_dataset(path)
    assert not trap.marker.exists()


# ---------------------------------------------------------------------- .keras files
@pytest.fixture(scope="module")
def model_file(run, tmp_path_factory) -> Path:
    return run[1].save(tmp_path_factory.mktemp("model") / "model.keras")


@pytest.mark.parametrize("damage", DAMAGE.values(), ids=DAMAGE.keys())
def test_a_damaged_keras_file_is_called_corrupt_not_missing(model_file, tmp_path, damage):
    from gan_augment.training import load_gan, load_trained

    path = Path(shutil.copy(model_file, tmp_path / "model.keras"))
    damage(path)
    for load in (load_gan, load_trained):
        with pytest.raises(DataError, match="not a readable Keras archive") as info:
            load(path)
        message = _one_line(str(info.value))
        assert "corrupt or truncated" in message and "Save the model again" in message
        assert "File not found" not in message


def test_a_saved_gan_loads_in_a_fresh_process(model_file):
    """`gan-augment generate` runs in a process that never built a GAN: the model classes must be
    registered by the loader itself."""
    script = "from gan_augment.training import load_trained; print(type(load_trained(%r).model).__name__)"
    result = subprocess.run([sys.executable, "-c", script % str(model_file)], cwd=ROOT, capture_output=True,
                            text=True, timeout=300, check=False, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "ConditionalGAN"


def test_a_model_with_a_python_lambda_is_refused_by_safe_mode(tmp_path):
    import keras

    from gan_augment.models import load_model

    path = tmp_path / "lambda.keras"
    keras.Sequential([keras.Input((3,)), keras.layers.Lambda(lambda x: x * 2)]).save(path)
    with pytest.raises(DataError, match="Lambda") as info:
        load_model(path)
    assert "safe_mode" in _one_line(str(info.value))


def test_generate_names_the_folder_that_holds_no_model(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("GAN_AUGMENT_DEBUG", raising=False)
    folder = tmp_path / "empty_run"
    folder.mkdir()
    assert cli.main(["generate", "--model", str(folder)]) == 2
    err = _one_line(capsys.readouterr().err.strip())
    assert f"the folder '{folder}', which holds none of them" in err and "does not exist" not in err


def test_generate_with_a_damaged_model_exits_2_in_one_line(model_file, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("GAN_AUGMENT_DEBUG", raising=False)
    path = Path(shutil.copy(model_file, tmp_path / "model.keras"))
    _truncate(path)
    assert cli.main(["generate", "--model", str(path)]) == 2
    assert "not a readable Keras archive" in _one_line(capsys.readouterr().err.strip())


@pytest.mark.parametrize("name", ["adir", "adir.npz"])
def test_generate_out_naming_a_folder_says_so(model_file, tmp_path, capsys, monkeypatch, name):
    monkeypatch.delenv("GAN_AUGMENT_DEBUG", raising=False)
    (tmp_path / name).mkdir()
    assert cli.main(["generate", "--model", str(model_file), "--n", "4", "--out", str(tmp_path / name)]) == 2
    err = _one_line(capsys.readouterr().err.strip())
    assert f"Received: '{tmp_path / name}', which is a folder" in err
    assert not list(tmp_path.glob(".*.npz")) and "samples.npz" in err  # no temporary file named


# ---------------------------------------------------------------------- data/datasets.yaml
@pytest.mark.parametrize("text, where, fix", [
    ("digits: {source: digits}\nwine: {source: wine\nbad: 1\n", "line 3, column 4", "close every {"),
    ("digits:\n\tsource: digits\n", "line 2, column 1", "spaces, not tabs"),
], ids=["syntax", "tab"])
def test_a_broken_datasets_yaml_names_the_file_line_and_column(tmp_path, text, where, fix):
    from pipelines.config import load_dataset_specs

    path = tmp_path / "datasets.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError) as info:
        load_dataset_specs(path)
    message = _one_line(str(info.value))
    assert str(path) in message and where in message and fix in message and "<unicode string>" not in message


def test_a_datasets_yaml_that_is_not_utf8_names_the_file(tmp_path):
    from pipelines.config import load_dataset_specs

    path = tmp_path / "datasets.yaml"
    path.write_bytes(b"digits: {source: digits}\nwine: {source: \xff}\n")
    with pytest.raises(ValueError, match="Expected UTF-8 YAML text") as info:
        load_dataset_specs(path)
    assert str(path) in _one_line(str(info.value)) and "at line 2 (byte offset 40)" in str(info.value)


# ---------------------------------------------------------------------- requests larger than memory
def test_sample_refuses_more_than_memory_and_names_sample_to(run):
    with pytest.raises(DataError, match=r"memory budget of .*TiB.*sample_to") as info:
        run[1].sample(10**12)  # would be 245 TiB of float32 digits (and 7 TiB of labels first)
    _one_line(str(info.value))
    with pytest.raises(DataError, match="sample_to"):
        run[1].sample(10**12, labels=3)


def test_generate_refuses_a_request_larger_than_memory_and_disk(model_file, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("GAN_AUGMENT_DEBUG", raising=False)
    code = cli.main(["generate", "--model", str(model_file), "--n", str(10**12), "--out", str(tmp_path / "s.npz")])
    err = _one_line(capsys.readouterr().err.strip())
    assert code == 2 and err.startswith("gan-augment: error: ")
    assert "TiB" in err and "memory budget" in err and "free" in err and "--n" in err
    assert list(tmp_path.iterdir()) == []  # nothing written, no lock left


def test_generate_streams_a_request_over_the_memory_budget_to_a_folder(model_file, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("GAN_AUGMENT_DEBUG", raising=False)
    monkeypatch.setenv(NPZ_BUDGET_ENV, "4K")  # 40 digits take about 10 KiB
    code = cli.main(["generate", "--model", str(model_file), "--n", "40", "--out", str(tmp_path / "s.npz")])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "shard by shard" in captured.err and str(tmp_path / "s") in captured.err
    assert (tmp_path / "s").is_dir() and not (tmp_path / "s.npz").exists()
    assert not (tmp_path / cli.LOCK_NAME).exists()


def test_augment_refuses_a_plan_larger_than_memory_before_training(tiny, tmp_path, capsys, monkeypatch):
    from gan_augment import training

    def no_training(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(training, "train_gan", no_training)
    with pytest.raises(DataError, match=r"about \d+\.\d TiB.*per_class") as info:
        ga.augment(tiny, per_class=10**9, verbose=0)
    assert "augment_to" in _one_line(str(info.value))
    monkeypatch.delenv("GAN_AUGMENT_DEBUG", raising=False)
    out = tmp_path / "runs" / "big"
    code = cli.main(["augment", "--dataset", "digits", "--per-class", str(10**9), "-o", str(out), "--quiet"])
    err = _one_line(capsys.readouterr().err.strip())
    # too large for memory, so the CLI would stream it; too large for the disk too: refused, untrained
    assert code == 2 and "--per-class" in err and "fit on disk" in err and "GiB" in err
    assert not (tmp_path / "runs").exists()  # the folders this failed run created are gone


# ---------------------------------------------------------------------- full disk, read-only file system
def _enospc(*args, **kwargs):
    raise OSError(28, "No space left on device")


def test_a_full_disk_while_checkpointing_is_one_line_and_keeps_the_checkpoint(run, tmp_path, monkeypatch):
    from gan_augment.errors import StorageError

    folder = _copy(run[0], tmp_path)
    before = {name: (folder / name).read_bytes() for name in (NEWEST, PREVIOUS)}

    def half_then_full(fh, **arrays):  # the disk fills up in the middle of the write
        fh.write(b"PK\x03\x04" + bytes(1000))
        _enospc()

    monkeypatch.setattr(np, "savez", half_then_full)
    with pytest.raises(StorageError) as info:
        ckpt.save_checkpoint(folder, run[1].model, {"epoch": 3, "history": {}, "fingerprint": {}})
    monkeypatch.undo()
    message = _one_line(str(info.value))
    assert str(folder / NEWEST) in message and "no space left" in message
    assert "needs about" in message and "MiB" in message and "Free some space" in message
    assert sorted(p.name for p in folder.iterdir()) == sorted((NEWEST, PREVIOUS))  # no temporary file left
    assert {name: (folder / name).read_bytes() for name in (NEWEST, PREVIOUS)} == before
    assert ckpt.checkpoint_epoch(folder) == 2  # still loads


def test_a_full_disk_while_saving_the_model_keeps_the_saved_one(run, model_file, tmp_path, monkeypatch):
    from gan_augment.errors import StorageError
    from gan_augment.training import load_gan

    path = Path(shutil.copy(model_file, tmp_path / "model.keras"))
    model_type = type(run[1].model)

    def half_then_full(self, filepath, *args, **kwargs):
        Path(filepath).write_bytes(b"PK\x03\x04" + bytes(1000))
        _enospc()

    monkeypatch.setattr(model_type, "save", half_then_full)
    with pytest.raises(StorageError, match="no space left") as info:
        run[1].save(path)
    monkeypatch.undo()
    assert str(path) in _one_line(str(info.value)) and "needs about" in str(info.value)
    assert [p.name for p in tmp_path.iterdir()] == ["model.keras"]
    assert load_gan(path).model.steps_taken == run[1].model.steps_taken


def test_a_read_only_output_folder_is_one_line_with_status_2(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("GAN_AUGMENT_DEBUG", raising=False)
    out = tmp_path / "ro" / "out"

    def read_only(self, *args, **kwargs):
        raise OSError(30, "Read-only file system", str(self))

    monkeypatch.setattr(Path, "mkdir", read_only)
    code = cli.main(["train", "--dataset", "digits", "--epochs", "1", "-o", str(out), "--quiet"])
    err = _one_line(capsys.readouterr().err.strip())
    assert code == 2 and err.startswith("gan-augment: error: ")
    assert "read-only" in err and str(tmp_path / "ro") in err and "Traceback" not in err


# ---------------------------------------------------------------------- images: the per-class minimum
def test_an_image_class_with_one_image_is_refused_before_training(tiny, monkeypatch):
    from gan_augment import training

    keep = np.concatenate([np.flatnonzero(tiny.y != 7), np.flatnonzero(tiny.y == 7)[:1]])
    one_seven = tiny.take(np.sort(keep))
    monkeypatch.setattr(training, "build_gan", lambda *a, **k: pytest.fail("the GAN was built"))
    with pytest.raises(DataError, match=r"at least 2 images of every class.*\{'7': 1\}") as info:
        ga.train_gan(one_seven, epochs=1, verbose=0)
    assert "Collect more images" in _one_line(str(info.value))


# ---------------------------------------------------------------------- smaller CLI faults
def test_epochs_0_without_a_checkpoint_is_refused_and_leaves_no_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("GAN_AUGMENT_DEBUG", raising=False)
    out = tmp_path / "new" / "run"
    assert cli.main(["train", "--dataset", "digits", "--epochs", "0", "-o", str(out), "--quiet"]) == 2
    err = _one_line(capsys.readouterr().err.strip())
    assert "--epochs 0" in err and "untrained" in err and "--epochs N" in err
    assert not (tmp_path / "new").exists()


def test_a_second_run_into_a_locked_output_folder_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("GAN_AUGMENT_DEBUG", raising=False)
    out = tmp_path / "out"
    out.mkdir()
    lock = out / cli.LOCK_NAME
    lock.write_text(f"{os.getppid()}\n")  # a live process holds it
    assert cli.main(["train", "--dataset", "digits", "--epochs", "0", "-o", str(out), "--quiet"]) == 2
    err = _one_line(capsys.readouterr().err.strip())
    assert f"PID {os.getppid()}" in err and "another output folder" in err
    assert lock.read_text().strip() == str(os.getppid())  # not ours to remove
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    lock.write_text(dead.stdout)  # a run that is gone: its lock is stale and taken over
    assert cli.main(["train", "--dataset", "digits", "--epochs", "0", "-o", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--epochs 0" in err and "PID" not in err
    assert not lock.exists() and out.is_dir()  # released; a folder the run did not create stays


def test_a_tfds_export_leaves_nothing_in_the_system_temp_folder(tiny, tmp_path):
    import tempfile

    from gan_augment.export import export_tfds

    root = Path(tempfile.gettempdir())
    before = set(root.glob("tmp*tfds"))
    export_tfds(tiny.take(np.arange(10)), tmp_path / "tfds", name="clean")
    assert set(root.glob("tmp*tfds")) - before == set()


def test_a_long_run_also_checkpoints_on_a_time_interval(tmp_path, monkeypatch):
    """--epochs 10**9 would otherwise write its first checkpoint only after epochs/10 epochs."""
    from gan_augment import checkpoint as ckpt_module
    from gan_augment.callbacks import Checkpoint

    saved: list[int] = []
    monkeypatch.setattr(ckpt_module, "save_checkpoint", lambda d, m, record: saved.append(record["epoch"]))

    class FakeModel:
        stop_training = False
        steps_taken = 0

    every_epochs = Checkpoint(tmp_path, {}, {}, every=10**8, epochs=10**9, every_seconds=3600)
    every_epochs.set_model(FakeModel())
    every_epochs.on_train_begin()
    every_epochs.on_epoch_end(0)
    assert saved == []  # neither the epoch interval nor the time interval has passed
    overdue = Checkpoint(tmp_path, {}, {}, every=10**8, epochs=10**9, every_seconds=0.0)
    overdue.set_model(FakeModel())
    overdue.on_train_begin()
    overdue.on_epoch_end(0)
    overdue.on_epoch_end(1)
    assert saved == [1, 2]  # the time interval: a checkpoint at every epoch end once overdue


# ---------------------------------------------------------------------- tables: the class column's dtype
@pytest.mark.parametrize("values", [
    [0.5, 1.5, 2.5], [1.0, 2.0, 3.0], np.array([0.25, 0.5, 0.75], np.float32), [3, 1, 2], [True, False, True],
], ids=["float", "whole_float", "float32", "int", "bool"])
def test_a_numeric_class_column_keeps_its_dtype_in_parquet(tmp_path, values):
    """A float (int, bool) class column came back from parquet as a categorical of text ('0.5',
    '1' for 1.0); it keeps its values and dtype now, and a file holding some of the classes still
    reads back with all of them."""
    import pandas as pd

    from gan_augment.data.tables import frame_to_dataset
    from gan_augment.export import export_csv, export_parquet

    column = pd.Series(np.tile(np.asarray(values), 4))
    frame = pd.DataFrame({"size": np.arange(len(column), dtype=float), "label": column})
    table, _ = frame_to_dataset(frame, "label")
    assert table.class_dtype == str(column.dtype)
    written = pd.read_parquet(export_parquet(table, tmp_path / "t.parquet"))
    assert written["label"].dtype == column.dtype
    assert written["label"].tolist() == column.tolist()
    back = ga.load_dataset(tmp_path / "t.parquet", target="label")
    assert back.class_names == table.class_names and back.y.tolist() == table.y.tolist()
    assert back.class_dtype == table.class_dtype

    one_class = export_parquet(table.take(np.flatnonzero(table.y == 1)), tmp_path / "one.parquet")
    assert pd.read_parquet(one_class)["label"].dtype == column.dtype
    some = ga.load_dataset(one_class, target="label")
    assert some.class_names == table.class_names and set(some.y.tolist()) == {1}

    # real rows followed by GAN rows (which carry no class_dtype), as `augment` writes them
    generated = dataclasses.replace(table.take([0, 1]), class_dtype=None)
    combined = table.concat(generated)
    assert pd.read_parquet(export_parquet(combined, tmp_path / "aug.parquet"))["label"].dtype == column.dtype
    assert pd.read_csv(export_csv(table, tmp_path / "t.csv"))["label"].tolist() == column.tolist()


def test_text_and_renamed_classes_stay_a_categorical_of_the_names(tmp_path):
    import pandas as pd

    from gan_augment.data.tables import frame_to_dataset
    from gan_augment.export import export_parquet

    frame = pd.DataFrame({"size": [1.0, 2.0, 3.0, 4.0], "label": [0.5, 1.5, 0.5, 1.5]})
    table, _ = frame_to_dataset(frame, "label")
    renamed = table.with_labels(table.y, ["small", "large"])  # the names no longer parse as the values
    written = pd.read_parquet(export_parquet(renamed, tmp_path / "r.parquet"))
    assert list(written["label"].cat.categories) == ["small", "large"]
    text, _ = frame_to_dataset(frame.assign(label=["b", "a", "b", "a"]), "label")
    assert text.class_dtype is None


# ---------------------------------------------------------------------- lock files of the other commands
def _live_lock(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / cli.LOCK_NAME
    lock.write_text(f"{os.getppid()}\n")  # a live process (pytest's parent) holds it
    return lock


@pytest.mark.parametrize("command", ["translate", "upscale"])
def test_translate_and_upscale_take_the_output_folder_lock(tiny, tmp_path, capsys, monkeypatch, command):
    from gan_augment.export import export_npz

    monkeypatch.delenv("GAN_AUGMENT_DEBUG", raising=False)
    source = export_npz(tiny, tmp_path / "tiny.npz")
    out = tmp_path / "out"
    lock = _live_lock(out)
    argv = (["translate", "--source", str(source), "--target", str(source)] if command == "translate"
            else ["upscale", "--hr-source", str(source), "--model", str(tmp_path / "none.keras")])
    assert cli.main([*argv, "-o", str(out), "--quiet"]) == 2
    err = _one_line(capsys.readouterr().err.strip())
    assert f"PID {os.getppid()}" in err and str(out) in err and "another output folder" in err
    assert lock.read_text().strip() == str(os.getppid())  # not ours to remove
    lock.unlink()
    if command == "upscale":  # free: the run takes the lock, fails later, and releases it
        assert cli.main([*argv, "-o", str(out), "--quiet"]) == 2
        assert "none.keras" in capsys.readouterr().err and not lock.exists()


def test_output_lock_is_held_for_a_block_and_refuses_a_live_holder(tmp_path):
    """What a plugin command (`gan-augment run`) takes for its output folder."""
    out = tmp_path / "storage" / "digits"
    with cli.output_lock(out) as lock:
        assert lock == out / cli.LOCK_NAME and lock.read_text().strip() == str(os.getpid())
    assert not lock.exists()
    _live_lock(out)
    with (pytest.raises(DataError, match=rf"PID {os.getppid()}.*another output folder") as info,
          cli.output_lock(out)):
        pytest.fail("entered a folder a live run holds")
    _one_line(str(info.value))
    assert (out / cli.LOCK_NAME).exists()


# ---------------------------------------------------------------------- full disks inside TFDS's writers
@pytest.mark.parametrize("code, said", [(28, "no space left on the device"), (30, "read-only")],
                         ids=["ENOSPC", "EROFS"])
def test_a_full_disk_inside_tfds_is_one_line_naming_the_export_folder(tiny, tmp_path, monkeypatch, code, said):
    """TFDS's writers raise an OSError without a file name (or TensorFlow's OpError): the
    message names the export folder, the previous export stays, nothing temporary is left."""
    import tensorflow_datasets as tfds

    from gan_augment.errors import StorageError
    from gan_augment.export import export_tfds

    small = tiny.take(np.arange(10))
    good = export_tfds(small, tmp_path / "tfds", name="digits_aug")
    before = sorted(p.name for p in good.iterdir())

    def full(*args, **kwargs):
        raise OSError(code, os.strerror(code))  # no file name, as a write() inside TFDS raises it

    monkeypatch.setattr(tfds.dataset_builders, "store_as_tfds_dataset", full)
    with pytest.raises(StorageError) as info:
        export_tfds(small, tmp_path / "tfds", name="digits_aug")
    message = _one_line(str(info.value))
    assert f"'{tmp_path / 'tfds' / 'digits_aug'}'" in message and said in message
    assert info.value.errno == code
    assert sorted(p.name for p in good.iterdir()) == before
    assert [p.name for p in (tmp_path / "tfds").iterdir()] == ["digits_aug"]  # no staging folder left


def test_a_full_disk_inside_a_streamed_tfds_export_is_one_line_naming_the_folder(run, tmp_path, monkeypatch):
    import tensorflow as tf
    import tensorflow_datasets as tfds
    from tensorflow_datasets.core import file_adapters

    from gan_augment.errors import StorageError

    gan = run[1]

    def tf_full(*args, **kwargs):  # what tf.io.TFRecordWriter raises on a full disk
        raise tf.errors.ResourceExhaustedError(None, None, "/x/shard.tfrecord; No space left on device")

    monkeypatch.setattr(file_adapters.TfRecordFileAdapter, "write_examples", tf_full)
    with pytest.raises(StorageError, match="no space left on the device") as info:
        gan.sample_to(tmp_path / "full", 20, seed=0, shard_size=10, verbose=0)
    assert f"'{tmp_path / 'full'}'" in _one_line(str(info.value))
    monkeypatch.undo()

    def read_only(*args, **kwargs):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(tfds.folder_dataset, "write_metadata", read_only)
    with pytest.raises(StorageError, match="read-only") as info:
        gan.sample_to(tmp_path / "ro", 20, seed=0, shard_size=10, verbose=0)
    assert f"'{tmp_path / 'ro'}'" in _one_line(str(info.value))
    assert not [p for p in (tmp_path / "ro").iterdir() if p.name.startswith(".")]  # staging removed


def test_the_cli_names_the_output_folder_for_an_oserror_without_a_file_name(model_file, tmp_path, capsys,
                                                                            monkeypatch):
    monkeypatch.delenv("GAN_AUGMENT_DEBUG", raising=False)

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cli, "_print_paths", full)
    out = tmp_path / "gen"
    assert cli.main(["generate", "--model", str(model_file), "--n", "4", "--out", str(out / "s.npz")]) == 2
    err = _one_line(capsys.readouterr().err.strip())
    assert err.startswith("gan-augment: error: Could not write ") and f"'{out}'" in err
    assert "no space left" in err and not (out / cli.LOCK_NAME).exists()

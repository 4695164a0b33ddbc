"""Fault injection (issue 15, the slow part): ``kill -9`` at seeded random points of
`gan-augment train`, `gan-augment augment`, a streamed export (`sample_to`, TFDS and npz shards)
and a Dagster run in-process (`python -m pipelines.run`).

Each test runs the command once uninterrupted (the reference), then runs it again in a fresh
folder and kills it (SIGKILL, to its whole process group) at several points drawn from a seeded
random stream — after the first checkpoint appears, at a random fraction of the reference's wall
time, while the outputs are written — rerunning the same command after each kill, and finally
lets it finish. After every kill, every file at a final path (no part of its path starting with
``.``: temporary files and staging folders are named so) must read back: ``.npz``, ``.keras``,
``.json``, ``.parquet``, ``.csv``, ``.png``, TFRecord shards and TFDS directories. The finished
rerun must equal the reference: the same weights, the same arrays, the same bytes where the
command promises them (streamed shards).

The kill points are printed (``-s``) and named in every assertion message, so a failure can be
replayed with the same seed. Run with ``pytest -m slow tests/test_fault_injection.py``; about
five minutes on 2 CPU cores.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import gan_augment as ga
from gan_augment import logs
from gan_augment.checkpoint import CHECKPOINT_NAME, checkpoint_epoch
from gan_augment.cli import LOCK_NAME

ROOT = Path(__file__).resolve().parents[1]
SEED = 15  # the number: every kill point below is drawn from it
TIMEOUT = 600  # seconds for one process, a safety net on a busy machine

pytestmark = pytest.mark.slow


# ---------------------------------------------------------------------- processes and kills
def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "GAN_AUGMENT_DEBUG"}
    env.update(extra)
    return env


class Trigger:
    """When to kill: ``delay`` seconds after ``condition(started)`` first holds (``started``: the
    wall-clock time the process was started), polled every few milliseconds while it runs."""

    def __init__(self, what: str, condition: Callable[[float], bool], delay: float) -> None:
        self.what, self.condition, self.delay = what, condition, delay
        self.started, self.seen = 0.0, None

    def start(self) -> None:
        self.started, self.seen = time.time(), None

    def due(self, elapsed: float) -> bool:
        if self.seen is None and self.condition(self.started):
            self.seen = elapsed
        return self.seen is not None and elapsed >= self.seen + self.delay

    def __repr__(self) -> str:
        return f"{self.delay:.2f} s after {self.what}"


def after(seconds: float) -> Trigger:
    return Trigger("the start", lambda started: True, seconds)


def once(condition: Callable[[float], bool], delay: float, what: str) -> Trigger:
    return Trigger(what, condition, delay)


def written(*paths: Path) -> Callable[[float], bool]:
    """A condition: one of ``paths`` was written by this process (modified since it started)."""
    def condition(started: float) -> bool:
        for path in paths:
            try:
                if path.stat().st_mtime >= started:
                    return True
            except OSError:
                pass
        return False

    return condition


def run(command: list[str], log: Path, *, kill: Trigger | None = None, env: dict[str, str] | None = None,
        cwd: Path = ROOT) -> tuple[int | None, float]:
    """Run ``command`` (its output appended to ``log``) until it ends or ``kill`` is due, then
    SIGKILL its process group. Returns (exit status, or None when killed; seconds)."""
    start = time.monotonic()
    with open(log, "ab") as out:
        out.write(f"\n$ {' '.join(command)}   # kill: {kill}\n".encode())
        out.flush()
        if kill is not None:
            kill.start()
        proc = subprocess.Popen(command, cwd=cwd, env=env or _env(), stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            while proc.poll() is None:
                elapsed = time.monotonic() - start
                if kill is not None and kill.due(elapsed):
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                    return None, elapsed
                if elapsed > TIMEOUT:
                    pytest.fail(f"{command} ran for more than {TIMEOUT} s; see {log}")
                time.sleep(0.01)
        finally:
            if proc.poll() is None:  # a failing test: leave no process behind
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    return proc.returncode, time.monotonic() - start


def kill_then_finish(command: list[str], log: Path, kills: list[Trigger], *, check: Callable[[str], None],
                     env: dict[str, str] | None = None) -> list[str]:
    """Run ``command`` with each kill in turn, calling ``check(where)`` after each, then once to
    its end (status 0 required). Returns what happened at each kill (for messages)."""
    happened = []
    for number, trigger in enumerate(kills, 1):
        code, seconds = run(command, log, kill=trigger, env=env)
        where = f"kill {number} ({trigger}): " + (f"killed at {seconds:.1f} s" if code is None
                                                  else f"the run ended first, status {code}")
        print(where)
        happened.append(where)
        assert code in (None, 0), f"{where}; see {log}"
        check(where)
    code, _ = run(command, log, env=env)
    assert code == 0, f"the rerun after {happened} ended with status {code}; see {log}"
    assert sum("killed" in h for h in happened) >= len(kills) - 1, f"too few kills landed: {happened}"
    return happened


# ---------------------------------------------------------------------- what a reader finds
def final_files(root: Path) -> list[Path]:
    """Files under ``root`` at final paths: no part of the path below ``root`` starts with '.'
    (temporary files, staging folders and lock files are named so)."""
    return sorted(p for p in root.rglob("*") if p.is_file()
                  and not any(part.startswith(".") for part in p.relative_to(root).parts))


def check_readable(root: Path, where: str) -> list[Path]:
    """Every artifact at a final path under ``root`` reads back completely."""
    import pandas as pd
    import tensorflow as tf
    from PIL import Image

    from gan_augment.models import load_model

    problems = []
    files = final_files(root)
    for path in files:
        name, suffix = path.name, path.suffix.lower()
        try:
            if suffix == ".npz":
                with np.load(path, allow_pickle=False) as f:
                    [f[k] for k in f.files]
            elif suffix == ".json":
                json.loads(path.read_text(encoding="utf-8"))
            elif suffix == ".keras":
                with zipfile.ZipFile(path) as archive:
                    assert archive.testzip() is None, "a member fails its CRC"
                load_model(path)  # any model of the package (GAN, upscaler, cached encoder), safe mode
            elif suffix == ".parquet":
                pd.read_parquet(path)
            elif suffix == ".csv":
                pd.read_csv(path)
            elif suffix == ".png":
                with Image.open(path) as image:
                    image.load()
            elif ".tfrecord-" in name:
                sum(1 for _ in tf.data.TFRecordDataset(str(path)))
            if name == "dataset_info.json":
                _check_tfds_directory(path.parent)
        except Exception as exc:  # noqa: BLE001 - collected into one assertion
            problems.append(f"{path.relative_to(root)}: {type(exc).__name__}: {str(exc)[:200]}")
    assert not problems, f"after {where}, files at final paths do not read back: {problems}"
    return files


def _check_tfds_directory(folder: Path) -> None:
    """A TFDS directory that has its ``dataset_info.json`` (what marks it complete) holds every
    shard it lists, with every example."""
    import tensorflow as tf
    import tensorflow_datasets as tfds

    info = tfds.builder_from_directory(str(folder)).info
    for split in info.splits.values():
        found = sum(sum(1 for _ in tf.data.TFRecordDataset(str(f))) for f in split.filepaths)
        assert found == split.num_examples, f"{folder}: {found} of {split.num_examples} examples"


def check_checkpoints(folder: Path, where: str) -> int:
    """The checkpoint folder loads without falling back (a kill never damages a checkpoint)."""
    messages: list[str] = []
    with logs.log_to(messages.append):
        epoch = checkpoint_epoch(folder)
    damaged = [m for m in messages if "previous" in m or "corrupt" in m or "damaged" in m]
    assert not damaged, f"after {where}, a checkpoint in {folder} was damaged: {damaged}"
    return epoch


def weights(model_path: Path) -> list[np.ndarray]:
    import keras

    from gan_augment.training import load_trained

    model = load_trained(model_path).model
    return [np.array(keras.ops.convert_to_numpy(w)) for w in model.weights]


def assert_same_weights(reference: Path, resumed: Path, context: object) -> None:
    a, b = weights(reference), weights(resumed)
    assert len(a) == len(b), context
    differ = [i for i, (x, y) in enumerate(zip(a, b)) if x.shape != y.shape or not np.array_equal(x, y)]
    assert not differ, f"{len(differ)} of {len(a)} weights differ from the uninterrupted run's; {context}"


def npz_arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def assert_same_npz(reference: Path, resumed: Path, context: object, *,
                    moved: tuple[Path, Path] | None = None) -> None:
    """The arrays of two ``.npz`` files are equal; ``moved``: (the reference's folder, the rerun's),
    which the provenance (a JSON string) may name."""
    a, b = npz_arrays(reference), npz_arrays(resumed)
    assert a.keys() == b.keys(), context
    if moved is not None and "provenance" in a:
        a["provenance"] = np.array(str(a["provenance"]).replace(str(moved[0]), str(moved[1])))
    differ = [k for k in a if not np.array_equal(a[k], b[k])]
    assert not differ, f"{resumed.name}: arrays {differ} differ from the uninterrupted run's; {context}"


def tfds_examples(folder: Path) -> list:
    """The examples of a TFDS directory as parsed protos (the bytes of TFDS's own writer depend
    on the process: the order of a hash map)."""
    import tensorflow as tf

    return [tf.train.Example.FromString(r.numpy()) for f in sorted(folder.glob("*.tfrecord-*"))
            for r in tf.data.TFRecordDataset(str(f))]


@pytest.fixture(scope="module")
def tiny_npz(tmp_path_factory) -> Path:
    """30 digits (3 per class) and 12 more of class 0: one or two training steps an epoch."""
    from gan_augment.export import export_npz

    digits = ga.load_dataset("digits")
    small = digits.subsample(per_class=3, seed=0)
    extra = digits.take(np.flatnonzero(digits.y == 0)[3:6])
    return export_npz(small.concat(extra), tmp_path_factory.mktemp("data") / "tiny.npz")


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "gan_augment", *args]


# ---------------------------------------------------------------------- gan-augment train
@pytest.mark.slow
def test_train_killed_at_random_points_resumes_to_the_uninterrupted_weights(tiny_npz, tmp_path):
    rng = random.Random(f"{SEED}-train")
    log = tmp_path / "log.txt"

    def command(out: Path) -> list[str]:
        return cli("train", "--dataset", str(tiny_npz), "--epochs", "20", "--seed", "3", "-o", str(out), "--quiet")

    reference = tmp_path / "reference"
    code, seconds = run(command(reference), log)
    assert code == 0, log.read_text()[-3000:]
    out = tmp_path / "killed"
    checkpoints = out / "checkpoints"
    kills = [  # (each rerun resumes, so each kill lands later in the run)
        once(written(checkpoints / CHECKPOINT_NAME), rng.uniform(0.0, 0.5), "the first checkpoint"),
        once(written(checkpoints / CHECKPOINT_NAME), rng.uniform(0.0, 1.0), "a checkpoint of this rerun"),
        once(written(out / "samples.png"), rng.uniform(0.0, 0.3), "the sample picture (the model is saved next)"),
    ]
    print(f"reference: {seconds:.1f} s; kills: {kills}")

    def check(where: str) -> None:
        check_readable(out, where)
        if checkpoints.exists():
            check_checkpoints(checkpoints, where)

    happened = kill_then_finish(command(out), log, kills, check=check)
    check_readable(out, "the finished rerun")
    assert_same_weights(reference / "model.keras", out / "model.keras", happened)
    assert_same_npz(reference / "checkpoints" / CHECKPOINT_NAME, checkpoints / CHECKPOINT_NAME, happened)
    assert not (out / LOCK_NAME).exists()
    assert outputs(reference) == outputs(out), happened


def outputs(folder: Path) -> set[Path]:
    """The final files under ``folder`` but the progress grids: a kill between a checkpoint and
    the grid of its epoch loses that grid (training.py writes the checkpoint first)."""
    return {p.relative_to(folder) for p in final_files(folder) if "progress" not in p.relative_to(folder).parts}


# ---------------------------------------------------------------------- gan-augment augment
@pytest.mark.slow
def test_augment_killed_at_random_points_resumes_to_the_uninterrupted_outputs(tiny_npz, tmp_path):
    rng = random.Random(f"{SEED}-augment")
    log = tmp_path / "log.txt"

    def command(out: Path) -> list[str]:
        return cli("augment", "--dataset", str(tiny_npz), "--epochs", "20", "--per-class", "8", "--seed", "1",
                   "--no-validate", "--no-utility", "-o", str(out), "--quiet")

    reference = tmp_path / "reference"
    code, seconds = run(command(reference), log)
    assert code == 0, log.read_text()[-3000:]
    out = tmp_path / "killed"
    kills = [
        once(written(out / "checkpoints" / CHECKPOINT_NAME), rng.uniform(0.0, 0.5), "the first checkpoint"),
        once(written(out / "training_curves.png"), rng.uniform(0.0, 0.5), "training ended"),
        once(written(out / "augmented.npz"), rng.uniform(0.0, 0.2), "augmented.npz (the TFDS export is next)"),
    ]
    print(f"reference: {seconds:.1f} s; kills: {kills}")

    def check(where: str) -> None:
        check_readable(out, where)
        if (out / "checkpoints").exists():
            check_checkpoints(out / "checkpoints", where)

    happened = kill_then_finish(command(out), log, kills, check=check)
    check_readable(out, "the finished rerun")
    assert_same_weights(reference / "model.keras", out / "model.keras", happened)
    assert_same_npz(reference / "augmented.npz", out / "augmented.npz", happened)
    assert npz_arrays(out / "augmented.npz")["synthetic"].sum() > 0  # GAN samples were written
    summaries = [json.loads((folder / "summary.json").read_text()) for folder in (reference, out)]
    for summary in summaries:
        summary.pop("seconds")
        summary.pop("paths")
        summary.pop("training_stop_reason")  # a rerun after training ended says it resumed a finished run
    assert summaries[0] == summaries[1], happened
    tfds_dir = Path("tfds") / "tiny_augmented" / "1.0.0"
    assert tfds_examples(reference / tfds_dir) == tfds_examples(out / tfds_dir), happened
    assert not (out / LOCK_NAME).exists()


# ---------------------------------------------------------------------- a streamed export
STREAM_SCRIPT = """
import sys
from gan_augment.training import load_gan
model, folder, n, shard_size, fmt = sys.argv[1:]
load_gan(model).sample_to(folder, int(n), seed=7, shard_size=int(shard_size), format=fmt, verbose=0)
"""


@pytest.fixture(scope="module")
def small_gan(tiny_npz, tmp_path_factory) -> Path:
    gan = ga.train_gan(ga.load_dataset(tiny_npz), epochs=2, seed=0, verbose=0)
    return gan.save(tmp_path_factory.mktemp("gan") / "model.keras")


def _recorded(folder: Path) -> int:
    """Shards the manifest of a `sample_to` folder records (0 while there is none)."""
    from gan_augment.streaming import MANIFEST

    try:
        return len(json.loads((folder / MANIFEST).read_text())["shards"])
    except (OSError, ValueError, KeyError):
        return 0


def check_stream(folder: Path, n: int, shards: int, where: str) -> None:
    """The files at final paths read back, every shard the manifest records is there with its
    recorded checksum, and the metadata that marks the folder complete (TFDS's
    ``dataset_info.json``, npz's ``index.json``) is there only with every shard."""
    import hashlib

    from gan_augment.streaming import MANIFEST, NPZ_INDEX

    if not folder.exists():
        return
    files = {p.name for p in check_readable(folder, where)}
    if not (folder / MANIFEST).exists():
        return
    manifest = json.loads((folder / MANIFEST).read_text())
    for index, entry in manifest["shards"].items():
        digest = hashlib.sha256((folder / entry["file"]).read_bytes()).hexdigest()
        assert digest == entry["sha256"], f"after {where}, shard {index} is not the one recorded"
    present = {p for p in files if ".tfrecord-" in p or p.startswith("shard-")}
    if "dataset_info.json" in files or NPZ_INDEX in files:
        recorded = sum(entry["count"] for entry in manifest["shards"].values())
        assert len(present) == shards and recorded == n, f"after {where}: marked complete too early"


@pytest.mark.slow
@pytest.mark.parametrize("format", ["tfds", "npz"])
def test_a_streamed_export_killed_at_random_points_resumes_to_the_same_bytes(small_gan, tmp_path, format):
    rng = random.Random(f"{SEED}-stream-{format}")
    n, shard_size = 12_000, 400  # 30 shards
    log = tmp_path / "log.txt"

    def command(folder: Path) -> list[str]:
        return [sys.executable, "-c", STREAM_SCRIPT, str(small_gan), str(folder), str(n), str(shard_size), format]

    reference = tmp_path / "reference" / "samples"
    code, seconds = run(command(reference), log)
    assert code == 0, log.read_text()[-3000:]
    folder = tmp_path / "killed" / "samples"
    first, more = rng.randint(1, 5), rng.randint(3, 12)
    kills = [
        once(lambda _: _recorded(folder) >= first, rng.uniform(0.0, 0.1), f"shard {first} was recorded"),
        once(lambda _: _recorded(folder) >= first + more, rng.uniform(0.0, 0.1),
             f"shard {first + more} was recorded"),
        once(lambda _: _recorded(folder) >= n // shard_size, rng.uniform(0.0, 0.05), "the last shard was recorded"),
    ]
    print(f"reference: {seconds:.1f} s; kills: {kills}")
    shards = n // shard_size
    happened = kill_then_finish(command(folder), log, kills,
                                check=lambda where: check_stream(folder, n, shards, where))
    check_stream(folder, n, shards, "the finished rerun")

    def contents(directory: Path) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}

    got, want = contents(folder), contents(reference)
    assert sorted(got) == sorted(want), happened  # nothing temporary left, nothing missing
    differ = [name for name in want if got[name] != want[name]]
    assert not differ, f"{differ} differ from the uninterrupted run's bytes; {happened}"


# ---------------------------------------------------------------------- a Dagster run, in process
PIPELINE_CONFIG = """\
gan_model: {epochs: 4}
synthetic_samples:
  per_class: 25
  thresholds: {frechet_ratio: 1000.0, c2st_auc: 1.0, coverage_ratio: 0.0, near_copy_share: 1.0,
               label_fidelity_ratio: 0.0, class_share_error: 1.0, gx: false}
augmented_dataset: {utility_classifier: logreg, utility_seeds: 1, utility_classical: false}
downstream_evaluation: {classifier: logreg, seeds: 1, classical_augmentation: false}
"""
PARTITION = "digits_low"


def _pipeline(tmp_path: Path, name: str) -> tuple[list[str], Path]:
    """The command of an in-process run of ``PARTITION`` into its own storage root and Dagster
    instance, and its storage folder."""
    config = tmp_path / "config.yaml"
    config.write_text(PIPELINE_CONFIG)
    home = tmp_path / name / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    command = [sys.executable, "-m", "pipelines.run", PARTITION, "--executor", "in_process", "--smoke",
               "--config", str(config), "--storage-root", str(tmp_path / name / "storage"),
               "--dagster-home", str(home)]
    return command, tmp_path / name / "storage" / PARTITION


@pytest.mark.slow
def test_a_dagster_run_killed_at_random_points_reruns_to_the_uninterrupted_outputs(tmp_path):
    rng = random.Random(f"{SEED}-dagster")
    log = tmp_path / "log.txt"
    env = _env(GAN_AUGMENT_CACHE=str(tmp_path / "encoder_cache"))  # validation's encoder: trained once
    command, reference = _pipeline(tmp_path, "reference")
    code, seconds = run(command, log, env=env)
    assert code == 0, log.read_text()[-3000:]
    command, storage = _pipeline(tmp_path, "killed")
    kills = [
        once(lambda _: any(storage.glob(f"checkpoints/*/{CHECKPOINT_NAME}")), rng.uniform(0.0, 1.0),
             "the GAN's first checkpoint"),
        after(rng.uniform(0.3, 0.9) * seconds),
        once(written(storage / "validation_report" / "report.json"), rng.uniform(0.0, 2.0),
             "the validation report (augmented_dataset and its TFDS export are next)"),
    ]
    print(f"reference: {seconds:.1f} s; kills: {kills}")

    def check(where: str) -> None:
        if storage.exists():
            check_readable(storage, where)
            for folder in storage.glob("checkpoints/*"):
                check_checkpoints(folder, where)
        check_readable(tmp_path / "encoder_cache", where)

    happened = kill_then_finish(command, log, kills, check=check, env=env)
    check_readable(storage, "the finished rerun")
    assert outputs(reference) == outputs(storage), happened
    assert_same_weights(reference / "gan_model.keras", storage / "gan_model.keras", happened)
    for part in ("source_dataset/train.npz", "synthetic_samples/data.npz", "augmented_dataset/augmented.npz"):
        assert_same_npz(reference / part, storage / part, happened, moved=(reference, storage))


@pytest.mark.slow
def test_gan_augment_run_refuses_an_output_folder_a_live_run_holds(tmp_path):
    command, storage = _pipeline(tmp_path, "locked")
    storage.mkdir(parents=True)
    (storage / LOCK_NAME).write_text(f"{os.getppid()}\n")  # a live process holds it
    result = subprocess.run(cli("run", *command[3:]), check=False, cwd=ROOT, env=_env(), capture_output=True,
                            text=True, timeout=TIMEOUT)
    assert result.returncode == 2, result.stderr
    err = result.stderr.strip().splitlines()
    assert len(err) == 1 and f"PID {os.getppid()}" in err[0] and str(storage) in err[0], result.stderr
    assert (storage / LOCK_NAME).read_text().strip() == str(os.getppid())
    assert [p.name for p in storage.iterdir()] == [LOCK_NAME]  # nothing ran

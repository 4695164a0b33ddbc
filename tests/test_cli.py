"""The `gan-augment` command line: help without TensorFlow, a train → generate round trip,
`augment` end to end on digits, and one-line errors with exit status 2.

Training runs in-process (`gan_augment.cli.main([...])`) with 2 epochs to stay fast; the help
and the error paths also run the installed console script in a subprocess.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import gan_augment as ga
from gan_augment import cli
from gan_augment.errors import DataError

COMMANDS = ("augment", "train", "generate", "translate", "sources")


def _console_script() -> str:
    """The installed `gan-augment` script of the interpreter running the tests."""
    candidate = Path(sys.executable).parent / "gan-augment"
    if candidate.is_file():
        return str(candidate)
    found = shutil.which("gan-augment")
    if found is None:
        pytest.fail("The gan-augment console script is not installed; run `pip install -e .`.")
    return found


def _run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("GAN_AUGMENT_DEBUG", None)
    return subprocess.run(list(args), check=False, capture_output=True, text=True,
                          timeout=timeout, env=env)


# ---------------------------------------------------------------------- help, no TensorFlow
def test_console_script_help_lists_the_subcommands():
    result = _run(_console_script(), "--help", timeout=60)
    assert result.returncode == 0, result.stderr
    for command in COMMANDS:
        assert command in result.stdout
    assert "usage: gan-augment" in result.stdout
    assert "Traceback" not in result.stderr


def test_python_dash_m_is_the_same_cli():
    result = _run(sys.executable, "-m", "gan_augment", "--help", timeout=60)
    assert result.returncode == 0, result.stderr
    assert "usage: gan-augment" in result.stdout
    for command in COMMANDS:
        assert command in result.stdout


def test_help_and_sources_do_not_import_tensorflow():
    commands = repr(COMMANDS)
    code = (
        "import contextlib, io, sys\n"
        "import gan_augment.cli as cli\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    codes = [cli.main(['--help']), *(cli.main([c, '--help']) for c in " + commands + "),\n"
        "             cli.main(['sources'])]\n"
        "assert codes == [0] * len(codes), codes\n"
        "assert 'digits' in out.getvalue()\n"
        "heavy = sorted(m for m in ('tensorflow', 'keras', 'tensorflow_datasets') if m in sys.modules)\n"
        "assert not heavy, heavy\n"
        "print('ok')\n"
    )
    result = _run(sys.executable, "-c", code, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("ok")


def test_tensorflow_retracing_advice_is_dropped_and_real_warnings_are_kept(caplog):
    import logging

    import gan_augment  # noqa: F401  (installs the filter)

    logger = logging.getLogger("tensorflow")
    with caplog.at_level(logging.WARNING, logger="tensorflow"):
        logger.warning("5 out of the last 7 calls to <function f> triggered tf.function retracing. Tracing ...")
        logger.warning("Something the user should see.")
    assert [r.getMessage() for r in caplog.records] == ["Something the user should see."]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_subcommand_explains_itself(command, capsys):
    assert cli.main([command, "--help"]) == 0
    text = capsys.readouterr().out
    assert f"usage: gan-augment {command}" in text
    assert "example" in text
    assert f"gan-augment {command}" in text.split("example", 1)[1]


def test_sources_lists_builtin_names_and_forms(capsys):
    assert cli.main(["sources"]) == 0
    text = capsys.readouterr().out
    for name in ("digits", "breast_cancer", "wine", "tfds:", "tfds_dir:", ".npz", ".csv"):
        assert name in text


# ---------------------------------------------------------------------- helpers
def test_dataset_name_for_default_output_dir():
    assert cli.dataset_name("digits") == "digits"
    assert cli.dataset_name("tfds:mnist") == "mnist"
    assert cli.dataset_name("data/faces.npz") == "faces"
    assert cli.dataset_name("my images/") == "my_images"
    assert cli.dataset_name("tfds_dir:out/tfds/digits_augmented/1.0.0") == "digits_augmented"


def test_parse_labels_accepts_names_and_numbers():
    names = ["dog", "cat", "bird"]
    assert cli.parse_labels("cat, 2", names) == [1, 2]
    assert cli.parse_labels("0", names) == [0]
    from gan_augment.errors import DataError

    for bad in ("3", "-1", "fish", " , "):
        with pytest.raises(DataError, match="Expected"):
            cli.parse_labels(bad, names)


@pytest.mark.parametrize("command", ["train", "augment"])
def test_training_flags_reach_the_library_only_when_given(command):
    parser = cli.build_parser()
    given = parser.parse_args([command, "--dataset", "penguins", "--time-budget", "30", "--no-early-stop"])
    assert cli._training_options(given) == {"time_budget": 30.0, "early_stop": False}
    assert cli._training_options(parser.parse_args([command, "--dataset", "penguins"])) == {}


def test_split_evenly():
    assert cli.split_evenly(20, 1) == [20]
    assert cli.split_evenly(10, 3) == [4, 3, 3]
    assert sum(cli.split_evenly(7, 4)) == 7


# ---------------------------------------------------------------------- round trip
@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """`gan-augment train --epochs 2` on digits; returns its output folder."""
    out = tmp_path_factory.mktemp("train")
    code = cli.main(["train", "--dataset", "digits", "--epochs", "2", "--output-dir", str(out),
                     "--quiet"])
    assert code == 0
    return out


def test_train_writes_model_pictures_and_checkpoint(trained):
    assert (trained / "model.keras").is_file()
    assert (trained / "samples.png").is_file()
    assert (trained / "training_curves.png").is_file()
    assert (trained / "checkpoints" / "training_state.npz").is_file()
    assert list((trained / "progress").glob("epoch_*.png"))


def test_train_again_resumes_from_the_checkpoint(trained, capsys):
    code = cli.main(["train", "--dataset", "digits", "--epochs", "2", "--output-dir", str(trained)])
    assert code == 0
    text = capsys.readouterr().out
    assert "Resuming from" in text
    assert str(trained / "model.keras") in text


def test_generate_one_label(trained, capsys):
    out = trained / "s.npz"
    code = cli.main(["generate", "--model", str(trained / "model.keras"), "--n", "20",
                     "--labels", "3", "--out", str(out), "--seed", "1"])
    assert code == 0
    assert str(out) in capsys.readouterr().out
    with np.load(out, allow_pickle=False) as f:
        assert f["x"].shape == (20, 8, 8, 1)
        assert f["y"].tolist() == [3] * 20
        assert f["synthetic"].all()
        assert 0.0 <= f["x"].min() and f["x"].max() <= 1.0
    assert (trained / "s_grid.png").is_file()


def test_generate_splits_evenly_over_labels_and_defaults_next_to_model(trained):
    # --model may name the output folder (train writes model.keras, the pipeline gan_model.keras)
    code = cli.main(["generate", "--model", str(trained), "--n", "21", "--labels", "3,5"])
    assert code == 0
    with np.load(trained / "samples.npz", allow_pickle=False) as f:
        assert np.bincount(f["y"], minlength=10)[[3, 5]].tolist() == [11, 10]
        assert len(f["y"]) == 21


def test_model_path_accepts_the_folder_and_either_file_name(trained):
    assert cli.saved_model_path(trained) == trained / "model.keras"
    assert cli.saved_model_path(trained / "gan_model.keras") == trained / "model.keras"
    with pytest.raises(DataError, match="holds model.keras"):
        cli.saved_model_path(trained / "other.keras")


def test_a_bug_keeps_its_traceback(monkeypatch):
    # only the package's own errors (and missing files) are user errors printed as one line
    def broken(args):
        raise ValueError("a bug, not a user error")

    monkeypatch.setattr(cli, "_cmd_generate", broken)
    with pytest.raises(ValueError, match="a bug"):
        cli.main(["generate", "--model", "x.keras"])


def test_generate_bad_label_is_a_one_line_error(trained, capsys):
    code = cli.main(["generate", "--model", str(trained / "model.keras"), "--labels", "12"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("gan-augment: error: ")
    assert "'12'" in err


def test_augment_writes_every_output_with_the_right_counts(tmp_path, capsys):
    from gan_augment import load_dataset

    out = tmp_path / "aug"
    code = cli.main(["augment", "--dataset", "digits", "--epochs", "2", "--per-class", "200",
                     "--no-validate", "--no-utility", "--output-dir", str(out), "--quiet"])
    assert code == 0
    text = capsys.readouterr().out

    real = load_dataset("digits").class_counts()
    expected_synthetic = 200 - real  # digits has 174..183 per class

    summary = json.loads((out / "summary.json").read_text())
    assert summary["totals"] == {"real": int(real.sum()), "classical": 0,
                                 "synthetic": int(expected_synthetic.sum()), "total": 2000}
    assert [c["real"] for c in summary["classes"].values()] == real.tolist()
    assert [c["synthetic"] for c in summary["classes"].values()] == expected_synthetic.tolist()
    assert all(c["total"] == 200 for c in summary["classes"].values())
    assert summary["options"]["per_class"] == 200 and summary["options"]["balance"] is True
    assert summary["options"]["training"]["epochs"] == 2

    with np.load(out / "augmented.npz", allow_pickle=False) as f:
        assert f["x"].shape == (2000, 8, 8, 1)
        assert np.bincount(f["y"]).tolist() == [200] * 10
        assert int(f["synthetic"].sum()) == int(expected_synthetic.sum())
        assert not f["synthetic"][: int(real.sum())].any()

    tfds_dirs = list((out / "tfds").glob("*/*/dataset_info.json"))
    assert len(tfds_dirs) == 1
    for name in ("model.keras", "samples.png", "training_curves.png"):
        assert (out / name).is_file(), name
    assert (out / "checkpoints" / "training_state.npz").is_file()
    # the short summary and the paths are printed even with --quiet
    assert "synthetic" in text and "2000" in text
    for name in ("augmented.npz", "summary.json", "model.keras", str(out / "tfds")):
        assert name in text


def test_augment_streams_to_disk_when_asked_or_when_it_would_not_fit(tmp_path, capsys, monkeypatch):
    from gan_augment import load_dataset

    out = tmp_path / "big"
    argv = ["augment", "--dataset", "digits", "--epochs", "1", "--per-class", "300", "--no-validate",
            "--no-utility", "--validation-sample", "100", "--output-dir", str(out), "--quiet"]
    assert cli.main([*argv, "--stream"]) == 0
    text = capsys.readouterr().out
    assert str(out / "data") in text and "augmentation.json" in text
    data = load_dataset(str(out / "data"))
    assert np.bincount(data.y).tolist() == [300] * 10  # real + synthetic streamed into one TFDS directory
    summary = json.loads((out / "augmentation.json").read_text())
    assert sum(summary["validated_on"].values()) <= 100 and summary["real"] == 1797

    # without --stream: streamed when the in-memory path would not fit (a tiny memory budget here)
    monkeypatch.setenv("GAN_AUGMENT_NPZ_MAX_BYTES", "1000000")
    other = tmp_path / "auto"
    assert cli.main([*argv[:-3], "--output-dir", str(other), "--quiet"]) == 0
    assert (other / "data" / "dataset_info.json").is_file() and not (other / "augmented.npz").exists()


VALIDATION_ARGV = ["augment", "--dataset", "digits", "--epochs", "2", "--per-class", "200",
                   "--quiet"]


def test_augment_validation_failure_stops_with_the_report_on_disk(tmp_path, capsys):
    """Two epochs cannot pass validation: the default stops with status 2, writes no data set
    and leaves the validation report on disk."""
    out = tmp_path / "aug"
    assert cli.main([*VALIDATION_ARGV, "--output-dir", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gan-augment: error: ") and "Traceback" not in err
    assert "failed validation" in err and "--on-fail warn" in err
    assert (out / "validation" / "report.json").is_file()
    assert not (out / "augmented.npz").exists()


@pytest.mark.slow
def test_augment_on_fail_warn_keeps_the_curated_samples(tmp_path, capsys):
    out = tmp_path / "aug"
    assert cli.main([*VALIDATION_ARGV, "--output-dir", str(out), "--on-fail", "warn"]) == 0
    assert "gan-augment: warning: " in capsys.readouterr().err
    assert (out / "validation" / "report.html").is_file()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["validation"]["passed"] is False
    assert summary["validation"]["failed_gates"]
    assert summary["options"]["on_fail"] == "warn"
    with np.load(out / "augmented.npz", allow_pickle=False) as f:
        assert int(f["synthetic"].sum()) == summary["totals"]["synthetic"]


# ---------------------------------------------------------------------- tables
def test_augment_and_generate_a_csv_table(tmp_path, capsys):
    """A CSV with --target: augment writes parquet + CSV (real rows first, classes filled up,
    dtypes kept in the parquet); generate draws rows of one class into a CSV."""
    import pandas as pd

    from gan_augment import load_dataset

    penguins = load_dataset("penguins")
    csv = tmp_path / "birds.csv"
    penguins.frame.assign(kind=[penguins.class_names[c] for c in penguins.y]).to_csv(csv, index=False)
    out = tmp_path / "aug"
    code = cli.main(["augment", "--dataset", str(csv), "--target", "kind", "--epochs", "2",
                     "--no-validate", "--no-utility", "--output-dir", str(out), "--quiet"])
    assert code == 0, capsys.readouterr().err
    real = load_dataset(csv, target="kind")
    top = int(real.class_counts().max())
    table = pd.read_parquet(out / "augmented.parquet")
    assert list(table.columns) == [*real.frame.columns, "kind", "_synthetic"]
    assert table["kind"].value_counts().tolist() == [top] * real.num_classes
    assert not table["_synthetic"][: len(real)].any() and table["_synthetic"][len(real):].all()
    pd.testing.assert_frame_equal(table.iloc[: len(real)][list(real.frame.columns)], real.frame)
    assert len(pd.read_csv(out / "augmented.csv")) == len(table)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["kind"] == "table" and summary["totals"]["total"] == top * real.num_classes

    rows = tmp_path / "rare.csv"
    code = cli.main(["generate", "--model", str(out / "model.keras"), "--labels", "Chinstrap",
                     "--n", "30", "--out", str(rows)])
    assert code == 0
    generated = pd.read_csv(rows)
    assert len(generated) == 30 and set(generated["kind"]) == {"Chinstrap"}
    assert set(generated["island"].dropna()) <= set(real.frame["island"].dropna())
    assert cli.main(["generate", "--model", str(out / "model.keras"), "--out", str(tmp_path / "x.npz")]) == 2
    assert "Expected --out to end in .parquet or .csv" in capsys.readouterr().err
    assert cli.main(["generate", "--model", str(out / "model.keras"), "--n", "5", "--out", str(tmp_path / "few")]) == 0
    assert len(load_dataset(tmp_path / "few.parquet", target="kind")) == 5  # the default suffix added


# ---------------------------------------------------------------------- errors
def test_unknown_dataset_exits_2_without_traceback():
    result = _run(_console_script(), "train", "--dataset", "no_such_dataset_xyz", timeout=60)
    assert result.returncode == 2
    assert "gan-augment: error:" in result.stderr
    assert "no_such_dataset_xyz" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_a_training_run_prints_no_tensorflow_runtime_noise(tmp_path):
    result = _run(_console_script(), "train", "--dataset", "digits", "--epochs", "1", "--output-dir",
                  str(tmp_path), "--quiet", timeout=300)
    assert result.returncode == 0, result.stderr
    assert "model.keras" in result.stdout
    noise = [line for line in result.stderr.splitlines() if "absl" in line or re.match(r"[IWE]\d{4} ", line)]
    assert noise == [], noise


@pytest.mark.parametrize(
    "argv, words",
    [
        (["augment", "--dataset", "no_such_dataset_xyz"], ["no_such_dataset_xyz"]),
        (["train", "--dataset", "missing/folder/"], ["does not exist"]),
        (["train", "--dataset", "digits", "--data-dir", "x"], ["data_dir"]),
        (["augment", "--dataset", "wine", "--diffaugment", "color"], ["only for images"]),
        (["generate", "--model", "nowhere/model.keras"], ["does not exist"]),
    ],
)
def test_bad_input_is_a_one_line_error(argv, words, tmp_path, capsys):
    code = cli.main([*argv, *(["--output-dir", str(tmp_path)] if argv[0] != "generate" else [])])
    assert code == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("gan-augment: error: ")
    for word in words:
        assert word in captured.err
    assert "Traceback" not in captured.err


@pytest.mark.parametrize(
    "argv",
    [["train", "--loss", "nope"], ["train", "--epochs", "-1"], ["generate"], ["nope"]],
)
def test_usage_errors_exit_2(argv, capsys):
    assert cli.main(argv) == 2
    assert "error:" in capsys.readouterr().err


def test_run_delegates_to_the_dagster_pipeline(capsys):
    from gan_augment.cli import main

    assert main(["run", "--help"]) == 0
    out = capsys.readouterr().out
    assert "Dagster pipeline" in out and "--executor" in out
    assert main(["run", "no_such_dataset"]) != 0



def test_verbose_shows_tensorflow_messages_and_tracebacks(monkeypatch):
    from gan_augment import _quiet

    monkeypatch.setenv("GAN_AUGMENT_DEBUG", "")  # restored (unset) afterwards: --verbose sets it
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    assert not _quiet.debugging()

    def broken(args):
        raise DataError("a user error")

    monkeypatch.setattr(cli, "_cmd_generate", broken)
    assert cli.main(["generate", "--model", "x.keras"]) == 2  # one line
    with pytest.raises(DataError, match="a user error"):  # --verbose: the traceback
        cli.main(["--verbose", "generate", "--model", "x.keras"])
    assert _quiet.debugging() and os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0"
    _quiet.quiet_tensorflow()
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0"  # nothing is filtered under GAN_AUGMENT_DEBUG
    import logging

    logging.getLogger("tensorflow").addFilter(_quiet._FILTER)  # leave the other tests as they were


def test_translate_trains_saves_and_writes_the_translated_source(tmp_path, capsys):
    from gan_augment.export import export_npz

    out, source = tmp_path / "r2d", export_npz(ga.load_dataset("rendered_digits", per_class=4), tmp_path / "r.npz")
    assert cli.main(["translate", "--source", str(source), "--target", "digits", "--epochs", "1",
                     "--batch-size", "64", "-o", str(out), "-q"]) == 0
    assert {"translator.keras", "translated.npz", "translations.png"} <= {p.name for p in out.iterdir()}
    translated = ga.load_dataset(out / "translated.npz", synthetic="keep")
    assert len(translated) == 40 and translated.num_classes == 10
    assert "translated.npz" in capsys.readouterr().out
    assert cli.main(["translate", "--target", "wine", "-o", str(tmp_path / "bad"), "-q"]) == 2
    assert "kind='image'" in capsys.readouterr().err


def test_generate_from_a_translator_writes_translated_samples(tmp_path):
    import gan_augment.translation as tr

    source = ga.load_dataset("rendered_digits", per_class=3)
    translator = tr.train_cyclegan(source, ga.load_dataset("digits").subsample(per_class=3), epochs=1,
                                   width=8, blocks=1, batch_size=16, verbose=0)
    translator.save(tmp_path / "translator.keras")
    assert cli.main(["generate", "--model", str(tmp_path), "--labels", "3", "--n", "4",
                     "--out", str(tmp_path / "threes.npz")]) == 0
    threes = ga.load_dataset(tmp_path / "threes.npz", synthetic="keep")
    assert len(threes) == 4 and set(threes.y) == {3}

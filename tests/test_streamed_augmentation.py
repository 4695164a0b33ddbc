"""`augment_to`: the decisions of `augment` on a stated subsample, the full amount streamed to disk
(real data first, then curated synthetic shards), resumable; `write_stream`'s curation per shard."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from helpers import encoder_cache  # noqa: F401  (autouse: one domain-encoder cache per module)

import gan_augment as ga
from gan_augment.errors import DataError
from gan_augment.streamed_augmentation import scaled_plan
from gan_augment.streaming import write_stream


@pytest.fixture(scope="module")
def small_digits():
    return ga.load_dataset("digits").subsample(per_class=15, seed=0)


def read_npz_shards(folder) -> ga.Dataset:
    index = json.loads((folder / "index.json").read_text())
    parts = [ga.load_dataset(folder / shard["file"]) for shard in index["shards"]]
    data = parts[0]
    for part in parts[1:]:
        data = data.concat(part)
    return data


def synthetic_flags(folder) -> np.ndarray:
    index = json.loads((folder / "index.json").read_text())
    return np.concatenate([np.load(folder / s["file"])["synthetic"] for s in index["shards"]])


def test_scaled_plan_keeps_every_planned_class_and_the_proportions():
    assert scaled_plan(np.array([0, 100_000, 50_000]), 300).tolist() == [0, 200, 100]
    assert scaled_plan(np.array([0, 7, 1_000_000]), 100).tolist() == [0, 1, 99]
    assert scaled_plan(np.array([3, 4]), 100).tolist() == [3, 4]  # small plans are validated whole


def test_augment_to_writes_real_then_synthetic_shards_and_resumes(tmp_path, small_digits, capsys):
    folder = tmp_path / "digits_big"
    kwargs = {"per_class": 40, "validation_sample": 60, "epochs": 1, "seed": 0, "validate": False,
              "utility": False, "format": "npz", "shard_size": 128, "verbose": 1}
    result = ga.augment_to(small_digits, folder, **kwargs)
    assert "validating 60 of them first" in capsys.readouterr().out
    assert result.requested == (25,) * 10 and result.written == (25,) * 10
    assert result.validated_on == (6,) * 10 and result.real == 150
    assert (folder / "model.keras").is_file()
    summary = json.loads((folder / "augmentation.json").read_text())
    assert summary["validated_on"]["0"] == 6 and summary["written"]["9"] == 25 and summary["real"] == 150

    data, flags = read_npz_shards(result.data), synthetic_flags(result.data)
    assert len(data) == 400 and flags.tolist() == [False] * 150 + [True] * 250
    np.testing.assert_array_equal(data.x[:150], small_digits.x)  # the real data first, as it was
    synthetic = data.take(np.arange(150, 400))
    assert synthetic.class_counts().tolist() == [25] * 10
    assert len(set(synthetic.y[:20].tolist())) > 3  # classes mixed over the shards, not one after another

    before = {p.name: p.read_bytes() for p in result.data.iterdir()}
    again = ga.augment_to(small_digits, folder, **kwargs)
    out = capsys.readouterr().out
    assert "Using the GAN an earlier run saved" in out and "nothing to do" in out
    assert {p.name: p.read_bytes() for p in again.data.iterdir()} == before


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:The synthetic samples failed validation")  # a short training run
def test_augment_to_validates_a_subsample_and_curates_every_streamed_shard(tmp_path):
    digits = ga.load_dataset("digits").subsample(per_class=60, seed=0)
    result = ga.augment_to(digits, tmp_path / "big", per_class=160, validation_sample=200, epochs=60, seed=0,
                           utility=False, on_fail="warn", format="npz", shard_size=256, verbose=0)
    assert result.validated_on == (20,) * 10 and result.written == (100,) * 10
    report = result.sample.report
    assert (tmp_path / "big" / "validation" / "report.json").is_file()
    assert 0 < report.accepted.sum() < len(report.accepted)  # curation had something to refuse
    data = read_npz_shards(result.data)
    synthetic = data.take(np.flatnonzero(synthetic_flags(result.data)))
    assert synthetic.class_counts().tolist() == [100] * 10
    # curation streamed: every written sample passes the subsample validation's per-sample rules
    assert np.asarray(result.sample.report.acceptor(synthetic), bool).all()
    assert json.loads((tmp_path / "big" / "augmentation.json").read_text())["validation"]["passed"] == report.passed


def test_write_stream_curates_each_shard_with_the_given_rule(tmp_path, small_digits):
    gan = ga.train_gan(small_digits, epochs=0, seed=0, verbose=0)

    threshold = float(np.median(gan.sample(200, seed=9).x.mean(axis=(1, 2, 3))))

    def bright(samples):  # a deterministic rule that refuses about half of the candidates
        return samples.x.mean(axis=(1, 2, 3)) >= threshold

    labels = np.repeat(np.arange(10), 7)
    out = write_stream(gan, tmp_path / "curated", 70, labels=labels, seed=3, shard_size=32, format="npz",
                       accept=bright, accept_key="bright", verbose=0)
    data = read_npz_shards(out)
    np.testing.assert_array_equal(data.y, labels)  # the planned labels, in order
    assert synthetic_flags(out).all()
    plain = write_stream(gan, tmp_path / "plain", 70, labels=labels, seed=3, shard_size=32, format="npz",
                         verbose=0)
    assert not np.array_equal(read_npz_shards(plain).x, data.x)  # the rule changed what was kept
    assert bright(data).all() and not bright(read_npz_shards(plain)).all()
    with pytest.raises(DataError, match="curation to accept enough"):
        write_stream(gan, tmp_path / "never", 10, labels=np.zeros(10, np.int64), seed=0, format="npz",
                     accept=lambda s: np.zeros(len(s), bool), accept_key="none", verbose=0)


def test_augment_to_streams_table_rows_to_parquet(tmp_path):
    wine = ga.load_dataset("wine").subsample(per_class=8, seed=0)
    result = ga.augment_to(wine, tmp_path / "wine", per_class=20, epochs=0, validate=False, utility=False,
                           shard_size=16, verbose=0)
    frame = pd.read_parquet(result.data)
    assert len(frame) == 24 + 36 and frame["_synthetic"].tolist() == [False] * 24 + [True] * 36
    assert frame.loc[frame["_synthetic"], "target"].value_counts().to_dict() == {name: 12 for name in wine.class_names}


def test_augment_to_refuses_bad_arguments_before_training(tmp_path, small_digits):
    with pytest.raises(DataError, match="on_no_gain"):
        ga.augment_to(small_digits, tmp_path / "a", on_no_gain="classical")
    with pytest.raises(DataError, match="validation_sample"):
        ga.augment_to(small_digits, tmp_path / "a", validation_sample=0)
    with pytest.raises(DataError, match="plan as 10 integer counts"):
        ga.augment_to(small_digits, tmp_path / "a", plan=[1, 2])
    (tmp_path / "file").write_text("x")
    with pytest.raises(DataError, match="is a file"):
        ga.augment_to(small_digits, tmp_path / "file")

"""The pipeline with a plan larger than `validation_sample`: validation and the utility gate on a
seeded subsample, the whole published amount streamed to a TFDS directory shard by shard."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import encoder_cache  # noqa: F401  (autouse: one encoder cache per module)

import gan_augment as ga
from pipelines.config import SMOKE_CONFIG
from pipelines.run import run_pipeline


@pytest.mark.slow
def test_a_plan_above_the_validation_sample_is_validated_on_a_subsample_and_streamed(tmp_path):
    tfds = pytest.importorskip("tensorflow_datasets")
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    config = {**SMOKE_CONFIG,
              "synthetic_samples": {"per_class": 400, "validation_sample": 600},
              "augmented_dataset": {**SMOKE_CONFIG["augmented_dataset"], "on_no_gain": "ignore"}}
    result = run_pipeline("digits", storage_root=tmp_path / "outputs", config=config, dagster_home=home,
                          verbose=False)
    assert result.success, (result.failed_steps, result.failed_gates)

    folder = tmp_path / "outputs" / "digits"
    report = json.loads((folder / "validation_report" / "report.json").read_text())
    judged, planned = np.array(report["info"]["requested"]), np.array(report["info"]["streamed_plan"])
    assert planned.sum() > 2000 and judged.sum() <= 600  # the gates saw the stated subsample

    manifest = json.loads((folder / "augmented_dataset" / "manifest.json").read_text())
    streamed = manifest["streamed"]
    assert streamed is not None and sum(streamed["synthetic"]) > 1000
    directory = folder / "augmented_dataset" / streamed["path"]
    assert result.tfds_directory == directory.resolve()
    builder = tfds.builder_from_directory(str(directory))
    n_real = manifest["parts"]["real"]
    assert builder.info.splits["train"].num_examples == streamed["total"] == n_real + sum(streamed["synthetic"])
    data = ga.load_dataset(str(directory))
    arrays = tfds.as_numpy(builder.as_dataset(split="train", batch_size=-1))
    assert not arrays["synthetic"][:n_real].any() and arrays["synthetic"][n_real:].all()
    assert np.bincount(data.y[n_real:], minlength=10).tolist() == streamed["synthetic"]

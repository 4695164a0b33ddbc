"""The pipeline's `upscaler` asset (issue 13): a data set entry with ``upscale`` trains its GAN on
the train split reduced ``scale`` times, an SRGAN on the full-size train split, and upscales the
GAN's samples to the real data's size; the blocking check ``psnr_vs_bicubic`` judges the SRGAN
on the holdout split. Real Dagster runs, no mocks.

The fast tests cover the data set list, the run config, the check's verdict and a partition
without ``upscale`` (None stored, the check skipped); the two runs that train (``-m slow``, about
a minute each on 2 CPU cores) cover the whole graph of ``digits_upscaled`` and the block.
"""

from __future__ import annotations

import base64
import dataclasses
import json

import dagster as dg
import numpy as np
import pytest
from helpers import encoder_cache  # noqa: F401  (autouse: one encoder cache per module)

import gan_augment as ga
from gan_augment.super_resolution import SuperResolutionReport, train_srgan
from pipelines.assets import gan_model, sample_and_validate, source_dataset, upscaler
from pipelines.checks import UPSCALER_CHECK, UPSCALER_CHECK_SPEC, upscaler_result
from pipelines.config import (
    DATASET_SPECS,
    DATASETS,
    UPSCALE_FACTORS,
    UpscalerConfig,
    build_run_config,
    library_default,
    load_dataset_specs,
)
from pipelines.definitions import defs, make_resources
from pipelines.io_managers import UpscalerIOManager
from pipelines.resources import StorageRoot
from pipelines.run import _summarize

PARTITION = "digits_upscaled"


def _materialized(result) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


def _metadata(result) -> dict[str, dict]:
    return {e.asset_key.to_user_string(): e.step_materialization_data.materialization.metadata
            for e in result.get_asset_materialization_events()}


def _png(value) -> bytes:
    text = value.value
    assert "](data:image/png;base64," in text
    return base64.b64decode(text.split("base64,", 1)[1].rstrip(")"))


# ---------------------------------------------------------------------- the data set list
def test_upscale_entries_are_parsed_and_bad_values_refused(tmp_path):
    from gan_augment.models.sr_nets import SCALES

    assert UPSCALE_FACTORS == SCALES  # the config's copy (no Keras import there) is the library's
    assert DATASET_SPECS[PARTITION].upscale["scale"] == 4 and PARTITION in DATASETS.get_partition_keys()
    assert DATASET_SPECS["digits"].upscale is None
    path = tmp_path / "datasets.yaml"
    path.write_text("a: {source: digits, upscale: 2}\n"
                    "b: {source: digits, upscale: {scale: 4, options: {steps: 50, blur: 0.5}}}\n"
                    "c: {source: digits, upscale: {options: {steps: 50}}}\n")
    specs = load_dataset_specs(path)
    assert specs["a"].upscale == {"scale": 2, "options": {}}
    assert specs["b"].upscale == {"scale": 4, "options": {"steps": 50, "blur": 0.5}}
    assert specs["c"].upscale["scale"] == library_default(train_srgan, "scale")

    bad = {
        "3": "scale as one of",
        "0": "scale as one of",
        "true": "scale as one of",
        "'4'": "scale as one of",
        "4.0": "scale as one of",
        "{scale: 8}": "scale as one of",
        "{scale: 4, factor: 2}": r"keys among \['options', 'scale'\]",
        "{scale: 4, options: 5}": "upscale.options` as a mapping",
        "{scale: 4, options: {stepz: 5}}": r"train_srgan options .*Received: \['stepz'\]",
    }
    for value, message in bad.items():
        path.write_text(f"x: {{source: digits, upscale: {value}}}\n")
        with pytest.raises(ValueError, match=message) as caught:
            load_dataset_specs(path)
        assert "'x'" in str(caught.value) and "\n" not in str(caught.value), value
    path.write_text("x: {source: digits, upscale: 4, translate_from: rendered_digits}\n")
    with pytest.raises(ValueError, match="either `upscale` or `translate_from`"):
        load_dataset_specs(path)


def test_upscaler_run_config_wins_over_the_entry_options():
    entry = DATASET_SPECS[PARTITION].upscale["options"]
    assert UpscalerConfig().train_options(entry) == {**entry, "seed": library_default(train_srgan, "seed")}
    assert UpscalerConfig(steps=50, seed=3).train_options(entry) == {**entry, "steps": 50, "seed": 3}
    assert build_run_config({"upscaler": {"steps": 50}}) == {"ops": {"upscaler": {"config": {"steps": 50}}}}
    assert build_run_config({"psnr_vs_bicubic": {"evaluation_seed": 1}}) == {
        "ops": {"upscaler": {"config": {"evaluation_seed": 1}}}}


def test_the_upscaler_is_in_the_graph_with_a_blocking_partitioned_check():
    graph = defs.resolve_asset_graph()
    assert dg.AssetKey("upscaler") in graph.get_all_asset_keys()
    assert graph.get(dg.AssetKey("upscaler")).partitions_def == DATASETS
    assert dg.AssetKey("upscaler") in graph.get(dg.AssetKey("synthetic_samples")).parent_keys
    assert UPSCALER_CHECK_SPEC.key in graph.asset_check_keys
    assert UPSCALER_CHECK_SPEC.blocking and UPSCALER_CHECK_SPEC.partitions_def == DATASETS


def test_the_check_passes_when_the_srgan_reaches_bicubic_psnr():
    def report(srgan: float) -> SuperResolutionReport:
        row = {"ssim": 0.9, "fd": 0.1, "c2st_auc": 0.7}
        return SuperResolutionReport(rows={"bicubic": {**row, "psnr": 27.5}, "srresnet": {**row, "psnr": 30.0},
                                           "srgan": {**row, "psnr": srgan}}, images=357, scale=4)

    good = upscaler_result(report(29.0))
    assert good.passed and good.check_name == UPSCALER_CHECK and good.asset_key == dg.AssetKey("upscaler")
    assert good.metadata["srgan_psnr"].value == 29.0 and good.metadata["bicubic_psnr"].value == 27.5
    assert good.metadata["margin_db"].value == pytest.approx(1.5)
    assert "| srgan | 29.00 |" in good.metadata["table"].value and "C2ST AUC" in good.metadata["table"].value
    assert upscaler_result(report(27.5)).passed  # a tie is enough
    bad = upscaler_result(report(20.0))
    assert not bad.passed and bad.severity == dg.AssetCheckSeverity.ERROR
    assert "20.00 dB < bicubic 27.50 dB" in bad.description and "steps" in bad.description


# ---------------------------------------------------------------------- a partition without upscale
def test_a_partition_without_upscale_stores_none_and_skips_the_check(tmp_path):
    folder = tmp_path / "digits" / "upscaler"
    folder.mkdir(parents=True)
    (folder / "upscaler.keras").write_bytes(b"from an earlier entry")  # removed when None is stored
    result = dg.materialize([source_dataset, upscaler], resources=make_resources(storage_root=tmp_path),
                            partition_key="digits", raise_on_error=False)
    assert result.success
    assert _materialized(result) == {"source_dataset", "upscaler"}
    assert result.get_asset_check_evaluations() == []  # skipped, not passed
    metadata = _metadata(result)["upscaler"]
    assert metadata["configured"].value is False and "not configured" in metadata["note"].value
    assert json.loads((folder / "manifest.json").read_text())["type"] == "none"
    assert not (folder / "upscaler.keras").exists()

    manager = UpscalerIOManager(storage=StorageRoot(root=str(tmp_path)))
    context = dg.build_input_context(asset_key=dg.AssetKey("upscaler"), partition_key="digits")
    assert manager.load_input(context) is None
    missing = dg.build_input_context(asset_key=dg.AssetKey("upscaler"), partition_key="wine")
    with pytest.raises(FileNotFoundError, match="materialize the upstream asset"):
        manager.load_input(missing)


# ---------------------------------------------------------------------- runs that train
def _config() -> dict:
    """Up to the synthetic samples: a short GAN at 8x8, 100 SRGAN steps (fewer than the entry's)."""
    return {"gan_model": {"epochs": 10}, "synthetic_samples": {"per_class": 30}, "upscaler": {"steps": 100}}


@pytest.mark.slow  # trains a GAN and an SRGAN (100 steps) and validates 32x32 samples: about a minute
def test_an_upscale_partition_generates_small_and_upscales_to_the_real_size(tmp_path):
    resources = make_resources(storage_root=tmp_path)
    result = dg.materialize([source_dataset, gan_model, upscaler, sample_and_validate], resources=resources,
                            partition_key=PARTITION, run_config=build_run_config(_config()),
                            raise_on_error=False)
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    check = evaluations[UPSCALER_CHECK]
    assert check.partition == PARTITION and check.asset_key == dg.AssetKey("upscaler")
    srgan, bicubic = check.metadata["srgan_psnr"].value, check.metadata["bicubic_psnr"].value
    assert check.passed and srgan >= bicubic, check.description
    assert {"source_dataset", "gan_model", "upscaler", "synthetic_samples", "validation_report"} <= _materialized(result)

    folder = tmp_path / PARTITION
    train = ga.load_dataset(folder / "source_dataset" / "train.npz")
    assert train.shape == (32, 32, 1)
    assert ga.load_gan(folder / "gan_model.keras").sample(3, labels=1, seed=0).shape == (8, 8, 1)
    samples = ga.load_dataset(folder / "synthetic_samples" / "data.npz", synthetic="keep")
    assert samples.shape == train.shape and samples.num_classes == 10 and len(samples) > 0
    stored = ga.load_upscaler(folder / "upscaler" / "upscaler.keras")
    assert stored.scale == 4 and stored.steps_taken == 100

    metadata = _metadata(result)
    up = metadata["upscaler"]
    assert up["configured"].value is True and up["steps"].value == 100 and up["scale"].value == 4
    assert up["train_seconds"].value > 0 and up["resumed_from_epoch"].value == 0
    for method in ("bicubic", "srresnet", "srgan"):
        assert f"| {method} |" in up["evaluation"].value
    assert up["psnr_srgan"].value == srgan
    assert _png(up["super_resolution"]).startswith(b"\x89PNG")
    assert _png(up["training_curves"]).startswith(b"\x89PNG")
    assert metadata["gan_model"]["sample_shape"].value == "(8, 8, 1)"
    assert "upscaled x4" in metadata["synthetic_samples"]["upscaled"].value
    checkpoints = up["checkpoint_dir"].value
    assert checkpoints.startswith(str(folder / "checkpoints" / "upscaler_"))

    # the same data and options again: the finished checkpoint is found, nothing trains again
    again = dg.materialize([source_dataset, upscaler], resources=resources, partition_key=PARTITION,
                           run_config=build_run_config({"upscaler": _config()["upscaler"]}))
    resumed = _metadata(again)["upscaler"]
    assert resumed["resumed_from_epoch"].value == 2 and resumed["checkpoint_dir"].value == checkpoints
    assert resumed["psnr_srgan"].value == pytest.approx(srgan)


@pytest.mark.slow  # trains an SRGAN (50 steps) and a GAN (1 epoch)
def test_an_upscaler_worse_than_bicubic_blocks_the_synthetic_samples(tmp_path, monkeypatch):
    # an entry whose SRGAN learns to undo a heavy blur that the evaluation's reduction does not
    # have: it over-sharpens the held-out digits, about 10 dB below bicubic resizing
    spec = DATASET_SPECS[PARTITION]
    monkeypatch.setitem(DATASET_SPECS, PARTITION, dataclasses.replace(
        spec, upscale={"scale": 4, "options": {"blur": 3.0, "learning_rate": 1e-3}}))
    config = build_run_config({"gan_model": {"epochs": 1}, "upscaler": {"steps": 50}})
    result = dg.materialize([source_dataset, gan_model, upscaler, sample_and_validate],
                            resources=make_resources(storage_root=tmp_path), partition_key=PARTITION,
                            run_config=config, raise_on_error=False)
    assert not result.success
    (check,) = result.get_asset_check_evaluations()
    assert check.check_name == UPSCALER_CHECK and not check.passed and check.blocking
    assert check.severity == dg.AssetCheckSeverity.ERROR
    assert check.metadata["srgan_psnr"].value < check.metadata["bicubic_psnr"].value
    assert "synthetic_samples" not in _materialized(result) and "upscaler" in _materialized(result)
    messages = [e.step_failure_data.error.message for e in result.get_step_failure_events()]
    assert any("blocking asset check" in m for m in messages), messages
    summary = _summarize(result, PARTITION, tmp_path, tmp_path / PARTITION, 0.0)  # what run_pipeline prints
    assert [gate for gate, _ in summary.failed_gates] == [UPSCALER_CHECK]
    assert "synthetic_samples" in summary.skipped and not np.isnan(check.metadata["margin_db"].value)

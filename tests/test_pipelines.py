"""The Dagster pipeline: real runs (no mocks) of the whole graph on a small configuration, the
blocking gates, the utility gate (noise as GAN samples), resume, schedule and sensor evaluation,
and the workspace entry points.

The two full runs share one domain-encoder cache (same training split), so validation trains its
encoder once. About two minutes on 2 CPU cores, most of it GAN training.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import dagster as dg
import numpy as np
import pytest
from helpers import encoder_cache  # noqa: F401  (autouse: one encoder cache per module)

import gan_augment as ga
from gan_augment.data.sources import load_dataset_and_mask, source_kind
from gan_augment.training import load_trained
from gan_augment.validation.gates import ALL_GATES, GATES_BY_KIND
from pipelines.assets import (
    ASSET_NAMES,
    ASSETS,
    augmented_dataset,
    downstream_evaluation,
    gan_model,
    source_dataset,
)
from pipelines.checks import GATE_CHECK_SPECS, UPSCALER_CHECK, UTILITY_CHECK, UTILITY_CHECK_SPEC
from pipelines.config import (
    DATASET_SPECS,
    DATASETS,
    REPO_ROOT,
    SMOKE_CONFIG,
    GanConfig,
    build_run_config,
    load_dataset_specs,
    smoke_config,
)
from pipelines.definitions import defs, make_resources
from pipelines.io_managers import Splits
from pipelines.resources import IncomingData
from pipelines.run import _summarize, run_pipeline
from pipelines.schedules import weekly_retrain
from pipelines.sensors import incoming_data_sensor


def _dagster_home(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return path


def _materialized(result) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


# ---------------------------------------------------------------------- definitions
def test_definitions_load_with_partitioned_assets_and_blocking_gate_checks():
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert keys == set(ASSET_NAMES)
    assert DATASETS.get_partition_keys() == list(load_dataset_specs())
    assert "digits" in DATASETS.get_partition_keys()
    for key in graph.get_all_asset_keys():
        assert graph.get(key).partitions_def == DATASETS
        # the UI renders descriptions as Markdown: a bare <placeholder> is eaten as an HTML tag
        prose = re.sub(r"`[^`]*`", "", graph.get(key).description or "")
        assert not re.search(r"<[a-z_]+>", prose), (key, prose)
    checks = {(spec.asset_key.to_user_string(), spec.name): spec for spec in GATE_CHECK_SPECS}
    assert set(checks) == {("synthetic_samples", gate) for gate in ALL_GATES}
    assert all(spec.blocking and spec.partitions_def == DATASETS for spec in checks.values())
    assert {k.name for k in graph.asset_check_keys} == {*ALL_GATES, UTILITY_CHECK, UPSCALER_CHECK}
    utility = UTILITY_CHECK_SPEC
    assert utility.asset_key == dg.AssetKey("augmented_dataset") and utility.name == "utility_gain"
    assert utility.blocking and utility.partitions_def == DATASETS
    assert dg.AssetCheckKey(dg.AssetKey("augmented_dataset"), "utility_gain") in graph.asset_check_keys
    assert "digits_low" in DATASETS.get_partition_keys()
    job = defs.resolve_job_def("augment_pipeline")
    assert job.executor_def.name == "in_process"
    assert defs.resolve_job_def("augment_pipeline_multiprocess").executor_def.name == "multiprocess"


def test_adding_a_data_set_is_one_line(tmp_path):
    path = tmp_path / "datasets.yaml"
    path.write_text("digits: {source: digits}\nwine: {source: wine}\n"
                    "mine: {source: data/incoming/mine, options: {image_size: 28}}\n")
    specs = load_dataset_specs(path)
    assert list(specs) == ["digits", "wine", "mine"]
    assert specs["mine"].resolved_source() == str(REPO_ROOT / "data" / "incoming" / "mine")
    assert specs["digits"].resolved_source() == "digits"
    path.write_text("wide: {source: breast_cancer, gan: {epochs: 60, batch_size: 100}}\n")
    wide = load_dataset_specs(path)["wide"]
    assert GanConfig().train_options(wide.gan) == {"epochs": 60, "batch_size": 100, "seed": 0}
    assert GanConfig(epochs=5).train_options(wide.gan) == {"epochs": 5, "batch_size": 100, "seed": 0}
    assert DATASET_SPECS["breast_cancer"].gan == {}  # the library trains wide tables longer itself
    path.write_text("wide: {source: wine, gan: 60}\n")
    with pytest.raises(TypeError, match="gan"):
        load_dataset_specs(path)
    path.write_text("Bad-Name: {source: digits}\n")
    with pytest.raises(ValueError, match="lowercase"):
        load_dataset_specs(path)
    path.write_text("digits: {sauce: digits}\n")
    with pytest.raises(ValueError, match="source"):
        load_dataset_specs(path)


def test_pipeline_defaults_are_the_library_defaults():
    # a field the pipeline and the library both have must default alike (read, not copied)
    import inspect

    from gan_augment.downstream import evaluate_downstream
    from gan_augment.generation import OVERSAMPLE, augment
    from gan_augment.training import train_gan
    from gan_augment.utility import measure_utility
    from pipelines import config as cfg

    def default(function, name):
        return inspect.signature(function).parameters[name].default

    pairs = {
        (cfg.SyntheticConfig, "balance"): default(augment, "balance"),
        (cfg.SyntheticConfig, "oversample"): OVERSAMPLE,
        (cfg.AugmentedConfig, "utility"): default(augment, "utility"),
        (cfg.AugmentedConfig, "on_no_gain"): default(augment, "on_no_gain"),
        (cfg.AugmentedConfig, "utility_seeds"): default(augment, "utility_seeds"),
        (cfg.AugmentedConfig, "utility_classifier"): default(augment, "utility_classifier"),
        (cfg.AugmentedConfig, "utility_weights"): list(default(measure_utility, "weights")),
        (cfg.AugmentedConfig, "utility_classical"): default(measure_utility, "classical"),
        (cfg.DownstreamConfig, "classifier"): default(evaluate_downstream, "classifier"),
        (cfg.DownstreamConfig, "seeds"): default(evaluate_downstream, "seeds"),
        (cfg.DownstreamConfig, "classical_augmentation"): default(evaluate_downstream, "classical_augmentation"),
        (cfg.DownstreamConfig, "steps"): default(evaluate_downstream, "steps"),
        (cfg.GanConfig, "seed"): default(train_gan, "seed"),
    }
    for (config, field), expected in pairs.items():
        assert getattr(config(), field) == expected, (config.__name__, field)
    # the GAN's and the gates' knobs are all None: the library (per data kind) decides
    assert all(v is None for k, v in GanConfig().model_dump().items() if k != "seed")
    assert all(v is None for v in cfg.ThresholdsConfig().model_dump().values())


def test_run_config_maps_asset_sections_to_steps():
    config = build_run_config({"gan_model": {"epochs": 3}, "synthetic_samples": {"per_class": 9},
                               "validation_report": {"validation_seed": 2}}, storage_root="/x")
    assert config == {
        "ops": {"gan_model": {"config": {"epochs": 3}},
                "sample_and_validate": {"config": {"per_class": 9, "validation_seed": 2}}},
        "resources": {"storage": {"config": {"root": "/x"}}},
    }
    with pytest.raises(ValueError, match="gan_modle"):
        build_run_config({"gan_modle": {"epochs": 3}})
    # a deploy/ file (Dagster sections) with asset sections on top (e.g. --smoke): merged
    deploy = {"execution": {"config": {"cluster": {}}}, "ops": {"gan_model": {"config": {"epochs": 9, "seed": 1}}}}
    merged = build_run_config({**deploy, "gan_model": {"epochs": 3}, "synthetic_samples": {"per_class": 9}})
    assert merged == {"execution": {"config": {"cluster": {}}},
                      "ops": {"gan_model": {"config": {"epochs": 3, "seed": 1}},
                              "sample_and_validate": {"config": {"per_class": 9}}}}
    assert deploy["ops"]["gan_model"]["config"] == {"epochs": 9, "seed": 1}  # the caller's dict untouched


def test_the_multiprocess_executor_forks_steps_from_a_preloaded_forkserver_by_default():
    from pipelines.forkserver import FORKSERVER_PRELOAD, with_defaults
    from pipelines.jobs import multiprocess_executor

    assert multiprocess_executor.name == "multiprocess"
    assert with_defaults({})["start_method"] == {"forkserver": {"preload_modules": FORKSERVER_PRELOAD}}
    assert "tensorflow" in FORKSERVER_PRELOAD and "pipelines.definitions" in FORKSERVER_PRELOAD
    chosen = with_defaults({"start_method": {"spawn": {}}, "max_concurrent": 4})  # run config wins
    assert chosen["start_method"] == {"spawn": {}} and chosen["max_concurrent"] == 4
    from pipelines import definitions

    assert definitions.job_for_executor("multiprocess").executor_def is multiprocess_executor


def test_the_forkserver_preload_follows_the_run_config():
    from pipelines.forkserver import FORKSERVER_PRELOAD, forkserver_preload, start_forkserver

    assert forkserver_preload(None) == ["dagster._core.executor.multiprocess", *FORKSERVER_PRELOAD]
    assert forkserver_preload({"start_method": {"forkserver": {"preload_modules": ["numpy"]}}}) == [
        "dagster._core.executor.multiprocess", "numpy"]
    assert forkserver_preload({"start_method": {"forkserver": {}}})[1:] == ["pipelines.definitions"]
    assert forkserver_preload({"start_method": {"spawn": {}}}) is None
    assert start_forkserver({"start_method": {"spawn": {}}}) is False  # nothing to start


def test_gan_augment_run_starts_the_forkserver_early_only_for_the_multiprocess_executor():
    from pipelines.command import _asks_for

    assert _asks_for(["digits", "--executor", "multiprocess"], "--executor", "multiprocess")
    assert _asks_for(["--smoke", "--executor=multiprocess"], "--executor", "multiprocess")
    assert not _asks_for(["--executor", "in_process"], "--executor", "multiprocess")
    assert not _asks_for(["digits", "--executor"], "--executor", "multiprocess")
    assert _asks_for(["--config", "run.yaml"], "--config") and _asks_for(["--config=run.yaml"], "--config")
    assert not _asks_for(["digits", "--smoke"], "--config")


def test_the_forkserver_preloads_what_a_step_process_needs_to_open_the_instance(tmp_path):
    """A forked step opens the Dagster instance before its step (`DagsterInstance.from_ref`);
    with `INSTANCE_STORAGE_MODULES` preloaded that imports nothing new (without: ~450 modules,
    0.8 s per step on 2 cores)."""
    dg.DagsterInstance.from_config(str(tmp_path)).dispose()  # the run's instance exists already
    code = (
        "import sys\n"
        "from pipelines.forkserver import INSTANCE_STORAGE_MODULES\n"
        "for name in INSTANCE_STORAGE_MODULES: __import__(name)\n"
        "import dagster as dg\n"
        "from dagster._core.instance.ref import InstanceRef\n"
        "before = set(sys.modules)\n"
        f"dg.DagsterInstance.from_ref(InstanceRef.from_dir({str(tmp_path)!r})).dispose()\n"
        "print(sorted(m for m in set(sys.modules) - before if m.split('.')[0] not in sys.stdlib_module_names))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout[-2000:]


def test_unknown_data_sets_and_executors_are_refused_with_the_choices():
    from pipelines.jobs import executor_from_env

    with pytest.raises(ValueError, match="data/datasets.yaml"):
        run_pipeline("no_such_set", verbose=False)
    with pytest.raises(ValueError, match="in_process"):
        run_pipeline("digits", executor="threads", verbose=False)
    with pytest.raises(ValueError, match="GAN_AUGMENT_EXECUTOR"):
        executor_from_env("spark")
    assert executor_from_env("multiprocess").name == "multiprocess"


# ---------------------------------------------------------------------- the whole graph
@pytest.fixture(scope="module")
def good_run(tmp_path_factory):
    """The whole graph for digits on the smoke configuration, into a temporary storage root."""
    root = tmp_path_factory.mktemp("storage")
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(ASSETS, resources=make_resources(storage_root=root), partition_key="digits",
                            run_config=build_run_config(SMOKE_CONFIG), instance=instance,
                            raise_on_error=False)
    return result, root / "digits", instance


def test_whole_graph_materializes_and_every_gate_passes(good_run):
    result, _, instance = good_run
    failures = [e.step_failure_data.error.message for e in result.get_step_failure_events()]
    assert result.success, failures
    assert _materialized(result) == set(ASSET_NAMES)
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    # the table-only gates do not apply to images: skipped in this run, not shown as passes
    assert set(evaluations) == {*GATES_BY_KIND["image"], UTILITY_CHECK}
    assert all(evaluations[gate].passed for gate in GATES_BY_KIND["image"])
    assert all(e.partition == "digits" for e in evaluations.values())
    utility = evaluations[UTILITY_CHECK]  # passed, or failed as a warning (the run went on)
    assert utility.passed or utility.severity == dg.AssetCheckSeverity.WARN
    assert "| real " in utility.metadata["table"].value and "| real+GAN " in utility.metadata["table"].value
    latest = instance.get_latest_materialization_event(dg.AssetKey("augmented_dataset"))
    assert latest is not None and latest.dagster_event.partition == "digits"


def test_outputs_are_readable_by_the_library_and_tfds(good_run):
    import tensorflow_datasets as tfds

    _, folder, _ = good_run
    manifest = json.loads((folder / "augmented_dataset" / "manifest.json").read_text())
    data, mask = load_dataset_and_mask(folder / "augmented_dataset" / "augmented.npz")
    parts = manifest["parts"]  # what the utility gate published: real, classical, GAN (file order)
    assert data.num_classes == 10 and mask is not None and not mask.all()
    assert len(data) == sum(parts.values()) and int(mask.sum()) == parts["classical"] + parts["synthetic"]
    assert parts["synthetic"] <= sum(manifest["requested"])
    assert (parts["synthetic"] > 0) == (manifest["utility"]["passed"])
    if mask.any():
        assert len(ga.load_dataset(folder / "augmented_dataset" / "augmented.npz", synthetic="only")) == mask.sum()

    builder = tfds.builder_from_directory(str(folder / "augmented_dataset" / manifest["tfds"]))
    assert builder.info.splits["train"].num_examples == len(data)
    assert set(builder.info.features) == {"image", "label", "synthetic"}
    assert builder.info.features["label"].num_classes == 10

    train = ga.load_dataset(folder / "source_dataset" / "train.npz")
    assert np.array_equal(train.x, data.x[~mask])  # real part first, unchanged
    gan = ga.load_gan(folder / "gan_model.keras")
    assert gan.sample(5, labels=3, seed=0).shape == (8, 8, 1)
    assert (folder / "validation_report" / "report.html").is_file()
    downstream = (folder / "downstream_evaluation" / "report.md").read_text()
    assert "| real |" in downstream and ("| real+synthetic |" in downstream) == (parts["synthetic"] > 0)
    assert (folder / "downstream_evaluation" / "plot.png").stat().st_size > 1000


def test_the_ui_gets_pictures_tables_counts_and_paths(good_run):
    result, folder, _ = good_run
    metadata = {e.asset_key.to_user_string(): e.step_materialization_data.materialization.metadata
                for e in result.get_asset_materialization_events()}

    def image(value) -> bytes:
        text = value.value
        assert "](data:image/png;base64," in text
        return base64.b64decode(text.split("base64,", 1)[1].rstrip(")"))

    assert image(metadata["source_dataset"]["sample_grid"]).startswith(b"\x89PNG")
    assert image(metadata["gan_model"]["samples"]).startswith(b"\x89PNG")
    assert image(metadata["gan_model"]["training_curves"]).startswith(b"\x89PNG")
    assert image(metadata["synthetic_samples"]["sample_grid"]).startswith(b"\x89PNG")
    assert image(metadata["validation_report"]["histograms"]).startswith(b"\x89PNG")
    assert image(metadata["downstream_evaluation"]["plot"]).startswith(b"\x89PNG")
    assert "| frechet_distance" in metadata["validation_report"]["metrics"].value
    assert "baseline" in metadata["validation_report"]["metrics"].value
    assert "GX:" in metadata["validation_report"]["gx_summary"].value
    comparison = metadata["downstream_evaluation"]["comparison"].value
    published_gan = metadata["augmented_dataset"]["n_synthetic"].value > 0
    assert "| real |" in comparison
    assert ("| real+synthetic |" in comparison) == ("| synthetic-only |" in comparison) == published_gan
    assert metadata["gan_model"]["epochs"].value == SMOKE_CONFIG["gan_model"]["epochs"]
    assert "| real+synthetic" in metadata["augmented_dataset"]["utility_table"].value
    assert metadata["augmented_dataset"]["n_curated_pool"].value > 0
    assert metadata["source_dataset"]["n_train"].value > 0
    for name in ASSET_NAMES:
        assert Path(metadata[name]["path"].value).exists(), name
    assert str(folder) in metadata["augmented_dataset"]["tfds_directory"].value


@pytest.mark.slow  # ~45 s on 2 cores; the image partition covers the graph in the default suite
def test_a_table_partition_runs_the_same_graph_with_the_table_gates(tmp_path):
    """penguins (numeric, categorical and missing values) through the same assets: the tabular
    GAN, the table gates as the same blocking checks, parquet outputs the library reads back."""
    import pandas as pd

    assert source_kind(DATASET_SPECS["penguins"].resolved_source()) == "table"
    result = dg.materialize(ASSETS, resources=make_resources(storage_root=tmp_path), partition_key="penguins",
                            run_config=build_run_config(smoke_config("table")), raise_on_error=False)
    failures = [e.step_failure_data.error.message for e in result.get_step_failure_events()]
    assert result.success, failures
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert set(evaluations) == {*GATES_BY_KIND["table"], UTILITY_CHECK}
    assert all(evaluations[gate].passed for gate in GATES_BY_KIND["table"])
    assert evaluations["marginals"].metadata["value"].value < evaluations["marginals"].metadata["threshold"].value

    folder = tmp_path / "penguins"
    train = ga.load_dataset(folder / "source_dataset" / "train.parquet", target="species")
    augmented, mask = load_dataset_and_mask(folder / "augmented_dataset" / "augmented.parquet", target="species")
    assert augmented.kind == "table" and not mask[: len(train)].any()
    pd.testing.assert_series_equal(augmented.frame.dtypes, train.frame.dtypes)
    pd.testing.assert_frame_equal(augmented.frame.iloc[: len(train)].reset_index(drop=True), train.frame)
    # what the utility gate published follows the real rows: classical copies, then GAN rows
    manifest = json.loads((folder / "augmented_dataset" / "manifest.json").read_text())
    parts = manifest["parts"]
    assert parts["real"] == len(train) and int(mask.sum()) == parts["classical"] + parts["synthetic"]
    assert (parts["synthetic"] > 0) == manifest["utility"]["passed"]
    metadata = {e.asset_key.to_user_string(): e.step_materialization_data.materialization.metadata
                for e in result.get_asset_materialization_events()}
    preview = metadata["source_dataset"]["preview"].value
    assert preview.startswith("|") and "island" in preview and "Chinstrap" in preview
    assert "| real |" in metadata["downstream_evaluation"]["comparison"].value


@pytest.mark.slow  # trains a CycleGAN on 5000 rendered digits (and its semantic classifier)
def test_a_translation_partition_fills_classes_with_translated_images(tmp_path):
    """digits_translated: gan_model holds a CycleGAN translator (rendered → handwritten digits),
    synthetic_samples are translations with their carried labels, judged by the image gates and
    label preservation; augmented_dataset and downstream_evaluation run on them as on GAN samples."""
    from gan_augment.translation import TrainedTranslator

    assert DATASET_SPECS["digits_translated"].translate_from == {"source": "rendered_digits", "options": {}}
    config = smoke_config("image")
    config["gan_model"] = {"epochs": 1, "batch_size": 64}
    config["synthetic_samples"] = {"per_class": 15}
    result = dg.materialize(ASSETS, resources=make_resources(storage_root=tmp_path),
                            partition_key="digits_translated", run_config=build_run_config(config),
                            raise_on_error=False)
    assert _materialized(result) >= {"gan_model", "synthetic_samples", "validation_report"}
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert "label_preservation" in evaluations and set(evaluations) >= set(GATES_BY_KIND["image"])
    folder = tmp_path / "digits_translated"
    assert isinstance(load_trained(folder / "gan_model.keras"), TrainedTranslator)
    assert (folder / "gan" / "translations.png").is_file()
    samples = ga.load_dataset(folder / "synthetic_samples" / "data.npz", synthetic="keep")
    assert samples.num_classes == 10 and len(samples) > 0


def test_bad_gan_fails_a_blocking_gate_and_stops_the_graph(tmp_path):
    """A GAN trained for 0 epochs makes noise: gates fail, augmented_dataset is not materialized,
    and the run (recorded in its DAGSTER_HOME) says which gate failed and why."""
    home = _dagster_home(tmp_path / "dagster_home")
    config = {**SMOKE_CONFIG, "gan_model": {"epochs": 0}}
    result = run_pipeline("digits", storage_root=tmp_path / "outputs", config=config,
                          dagster_home=home, verbose=False)
    assert not result.success
    failed = dict(result.failed_gates)
    assert {"frechet_distance", "label_fidelity"} <= set(failed)
    assert "Fréchet distance" in failed["frechet_distance"]  # the report's Check.why
    assert set(result.outputs) == {"source_dataset", "gan_model", "upscaler", "synthetic_samples",
                                   "validation_report"}
    assert result.skipped == ["augmented_dataset", "downstream_evaluation"]
    assert result.validation_report is not None and result.validation_report.is_file()
    assert not (tmp_path / "outputs" / "digits" / "augmented_dataset").exists()
    assert any("blocking asset check" in message for _, message in result.failed_steps)

    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert instance.get_latest_materialization_event(dg.AssetKey("augmented_dataset")) is None
        assert instance.get_latest_materialization_event(dg.AssetKey("validation_report")) is not None
        run = instance.get_run_by_id(result.run_id)
        assert run.status == dg.DagsterRunStatus.FAILURE and run.tags["dagster/partition"] == "digits"
        records = instance.get_records_for_run(result.run_id).records
        evaluations = [r.event_log_entry.dagster_event.event_specific_data for r in records
                       if r.event_log_entry.dagster_event is not None
                       and r.event_log_entry.dagster_event.event_type_value == "ASSET_CHECK_EVALUATION"]
        assert {e.check_name for e in evaluations} == set(GATES_BY_KIND["image"])  # table-only gates: skipped
        assert any(not e.passed and e.blocking for e in evaluations)


# ---------------------------------------------------------------------- the utility gate
@pytest.fixture(scope="module")
def noise_inputs():
    """Stand-ins for the upstream assets (in memory): 20 real digits per class to train on, real
    holdout and test splits, and 20 "GAN samples" per class that are uniform noise, with a
    validation report that let them all through (as if every gate had passed)."""
    from types import SimpleNamespace

    digits = ga.load_dataset("digits")
    rest, test = digits.split(0.2, seed=0)
    train, holdout = rest.split(300, seed=0)
    train = train.subsample(per_class=20, seed=0)
    labels = np.repeat(np.arange(10), 20)
    rng = np.random.default_rng(0)
    noise = dataclasses.replace(train.take(np.zeros(len(labels), np.int64)),
                                x=rng.random((len(labels), *train.shape), dtype=np.float32), y=labels)
    report = SimpleNamespace(passed=True, requested=np.full(10, 20), accepted=np.ones(len(noise), bool),
                             summary=lambda: "all gates passed (stand-in)", info={})
    kw = {"partitions_def": DATASETS, "io_manager_key": "memory_io_manager"}

    @dg.asset(name="source_dataset", **kw)
    def fake_source() -> Splits:
        return Splits(train=train, holdout=holdout, test=test)

    @dg.asset(name="synthetic_samples", **kw)
    def fake_samples():
        return noise

    @dg.asset(name="validation_report", **kw)
    def fake_report():
        return report

    @dg.asset(name="gan_model", **kw)
    def fake_gan():  # a dependency of augmented_dataset, loaded from its file only to stream
        return None

    return [fake_source, fake_samples, fake_report, fake_gan], train


def _utility_run(noise_inputs, root: Path, on_no_gain: str):
    stubs, _ = noise_inputs
    config = {"augmented_dataset": {"utility_classifier": "logreg", "utility_seeds": 1, "on_no_gain": on_no_gain},
              "downstream_evaluation": {"classifier": "logreg", "seeds": 1, "classical_augmentation": False}}
    resources = {**make_resources(storage_root=root), "memory_io_manager": dg.InMemoryIOManager()}
    return dg.materialize([*stubs, augmented_dataset, downstream_evaluation], resources=resources,
                          partition_key="digits", run_config=build_run_config(config), raise_on_error=False)


def test_noise_fails_the_utility_gate_and_the_best_baseline_is_published(noise_inputs, tmp_path):
    """Noise as GAN samples: utility_gain fails as a warning, augmented_dataset holds no GAN sample
    (the best baseline instead), and downstream_evaluation still runs on it."""
    result = _utility_run(noise_inputs, tmp_path, "classical")
    failures = [e.step_failure_data.error.message for e in result.get_step_failure_events()]
    assert result.success, failures
    assert {"augmented_dataset", "downstream_evaluation"} <= _materialized(result)
    (check,) = result.get_asset_check_evaluations()
    assert check.check_name == "utility_gain" and check.partition == "digits"
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert "do not help" in check.description
    table = check.metadata["table"].value
    for setting in ("| real", "| real+classical", "| real+GAN", "| real+GAN+classical"):
        assert setting in table
    assert " ± " in table and check.metadata["measured"].value is True
    assert "gain" in check.metadata and "confidence" in check.metadata

    folder = tmp_path / "digits" / "augmented_dataset"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["parts"]["synthetic"] == 0 and manifest["synthetic_weight"] == 1.0
    assert manifest["utility"]["passed"] is False and manifest["utility"]["rows"]
    assert "do not help" in (folder / "utility.md").read_text()
    data, mask = load_dataset_and_mask(folder / "augmented.npz")
    _, train = noise_inputs
    assert int(mask.sum()) == manifest["parts"]["classical"] and len(data) == len(train) + mask.sum()
    assert np.array_equal(data.x[: len(train)], train.x)
    summary = _summarize(result, "digits", tmp_path, tmp_path / "digits", 0.0)  # what run_pipeline prints
    assert not summary.failed_gates and [c for c, _ in summary.warnings] == ["utility_gain"]
    assert "do not help" in summary.utility and "| real+classical" in summary.utility
    metadata = {e.asset_key.to_user_string(): e.step_materialization_data.materialization.metadata
                for e in result.get_asset_materialization_events()}
    assert metadata["augmented_dataset"]["n_synthetic"].value == 0
    assert "GAN" not in metadata["augmented_dataset"]["published"].value
    assert "| real+synthetic |" not in metadata["downstream_evaluation"]["comparison"].value

    # the IO manager reads the parts and the report back
    from pipelines.io_managers import AugmentedDatasetIOManager
    from pipelines.resources import StorageRoot

    manager = AugmentedDatasetIOManager(storage=StorageRoot(root=str(tmp_path)))
    context = dg.build_input_context(asset_key=dg.AssetKey("augmented_dataset"), partition_key="digits")
    loaded = manager.load_input(context)
    assert loaded.synthetic is None and loaded.n_classical == manifest["parts"]["classical"]
    assert len(loaded.real) == len(train) and not loaded.utility.passed
    # a folder written before the utility gate (no parts, no report) still loads, by the mask
    old = {k: v for k, v in manifest.items() if k not in ("parts", "synthetic_weight", "utility")}
    (folder / "manifest.json").write_text(json.dumps(old))
    loaded = manager.load_input(context)
    assert len(loaded.real) == len(train) and loaded.utility is None and loaded.synthetic_weight == 1.0


def test_on_no_gain_raise_blocks_downstream(noise_inputs, tmp_path):
    result = _utility_run(noise_inputs, tmp_path, "raise")
    assert not result.success
    (check,) = result.get_asset_check_evaluations()
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR and check.blocking
    assert "downstream_evaluation" not in _materialized(result)
    messages = [e.step_failure_data.error.message for e in result.get_step_failure_events()]
    assert any("blocking asset check" in m for m in messages), messages
    summary = _summarize(result, "digits", tmp_path, tmp_path / "digits", 0.0)
    assert [c for c, _ in summary.failed_gates] == ["utility_gain"] and not summary.warnings


def test_a_repeated_run_resumes_training_from_its_checkpoint(tmp_path):
    """Same data and options: the second run picks up the first one's checkpoint and trains on."""
    resources = make_resources(storage_root=tmp_path)
    metadata = []
    for epochs in (1, 2):
        config = {"source_dataset": {"max_per_class": 20}, "gan_model": {"epochs": epochs}}
        result = dg.materialize([source_dataset, gan_model], resources=resources, partition_key="digits",
                                run_config=build_run_config(config))
        (event,) = [e for e in result.get_asset_materialization_events()
                    if e.asset_key == dg.AssetKey("gan_model")]
        metadata.append({k: v.value for k, v in event.step_materialization_data.materialization.metadata.items()})
    assert metadata[0]["resumed_from_epoch"] == 0 and metadata[0]["epochs"] == 1
    assert metadata[1]["resumed_from_epoch"] == 1 and metadata[1]["epochs"] == 2
    assert metadata[1]["steps"] == 2 * metadata[0]["steps"]
    assert metadata[0]["checkpoint_dir"] == metadata[1]["checkpoint_dir"]


# ---------------------------------------------------------------------- schedule and sensor
def test_weekly_schedule_requests_one_run_per_data_set():
    tick = dt.datetime(2026, 11, 23, 3, 0, tzinfo=dt.UTC)
    requests = list(weekly_retrain(dg.build_schedule_context(scheduled_execution_time=tick)))
    assert [r.partition_key for r in requests] == DATASETS.get_partition_keys()
    assert len({r.run_key for r in requests}) == len(requests)
    assert all("2026-11-23" in r.run_key for r in requests)
    assert weekly_retrain.cron_schedule == "0 3 * * 1"
    assert weekly_retrain.job_name == "augment_pipeline"


def _evaluate_sensor(incoming: Path, cursor: str | None):
    context = dg.build_sensor_context(cursor=cursor, resources={"incoming": IncomingData(root=str(incoming))})
    result = incoming_data_sensor(context)
    return result.run_requests or [], result.cursor


def test_sensor_requests_a_run_for_new_files_once(tmp_path):
    incoming = tmp_path / "incoming"
    requests, cursor = _evaluate_sensor(incoming, None)  # no folder at all
    assert requests == []

    (incoming / "digits").mkdir(parents=True)
    (incoming / "digits" / ".gitkeep").touch()
    (incoming / "elsewhere").mkdir()
    (incoming / "elsewhere" / "x.png").write_bytes(b"not a data set of ours")
    requests, cursor = _evaluate_sensor(incoming, cursor)
    assert requests == []  # hidden files and unknown data sets do not count

    (incoming / "digits" / "batch1.npz").write_bytes(b"1")
    requests, cursor = _evaluate_sensor(incoming, cursor)
    assert [r.partition_key for r in requests] == ["digits"]
    assert requests[0].run_key.startswith("incoming:digits:")
    first_key = requests[0].run_key

    again, cursor = _evaluate_sensor(incoming, cursor)
    assert again == []  # the same files do not trigger twice

    (incoming / "digits" / "more").mkdir()
    (incoming / "digits" / "more" / "batch2.npz").write_bytes(b"22")
    requests, cursor = _evaluate_sensor(incoming, cursor)
    assert len(requests) == 1 and requests[0].run_key != first_key
    assert _evaluate_sensor(incoming, cursor)[0] == []


# ---------------------------------------------------------------------- entry points
def _dagster(*args: str, tmp_path: Path, timeout: int = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "DAGSTER_HOME": str(_dagster_home(tmp_path / "dagster_home"))}
    exe = Path(sys.executable).with_name("dagster")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "dagster"]
    return subprocess.run([*command, *args], check=False, cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_dagster_definitions_validate_passes_on_the_workspace(tmp_path):
    done = _dagster("definitions", "validate", "-w", "workspace.yaml", tmp_path=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_dagster_asset_materialize_with_selection_and_partition(tmp_path):
    config = json.dumps(build_run_config(storage_root=tmp_path / "outputs"))
    done = _dagster("asset", "materialize", "-m", "pipelines.definitions", "--select", "source_dataset",
                    "--partition", "digits", "--config-json", config, tmp_path=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    splits = tmp_path / "outputs" / "digits" / "source_dataset"
    assert len(ga.load_dataset(splits / "train.npz")) > len(ga.load_dataset(splits / "test.npz"))


@pytest.mark.slow
def test_multiprocess_executor_runs_the_graph(tmp_path):
    """One process per step (each re-imports TensorFlow); the 0-epoch GAN keeps it short."""
    config = {**SMOKE_CONFIG, "gan_model": {"epochs": 0}}
    result = run_pipeline("digits", storage_root=tmp_path / "outputs", config=config, executor="multiprocess",
                          dagster_home=_dagster_home(tmp_path / "home"), verbose=False)
    assert set(result.outputs) == {"source_dataset", "gan_model", "upscaler", "synthetic_samples",
                                   "validation_report"}
    assert result.failed_gates and "augmented_dataset" in result.skipped


# ====================================================================== an installed copy
def _import_installed_copy(site: Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Import the pipeline from ``site`` (a copy of the package, as pip would install it: no
    checkout around it), in ``cwd``; prints its project directory."""
    environ = {k: v for k, v in os.environ.items() if k != "GAN_AUGMENT_PROJECT_DIR"}
    environ.update(env or {}, PYTHONPATH=str(site))
    code = "import pipelines.config as c; print(c.__file__); print(c.REPO_ROOT)"
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=environ, capture_output=True, text=True,
                          check=False)


def test_an_installed_pipeline_finds_its_project_from_the_env_or_the_working_directory(tmp_path):
    import shutil

    repo = Path(__file__).resolve().parents[1]
    site = tmp_path / "site"
    shutil.copytree(repo / "pipelines", site / "pipelines", ignore=shutil.ignore_patterns("__pycache__"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    lost = _import_installed_copy(site, elsewhere)
    assert lost.returncode != 0
    assert "Expected a project directory holding data/datasets.yaml" in lost.stderr
    assert str(elsewhere) in lost.stderr and "GAN_AUGMENT_PROJECT_DIR" in lost.stderr
    found = _import_installed_copy(site, elsewhere, {"GAN_AUGMENT_PROJECT_DIR": str(repo)})
    assert found.returncode == 0, found.stderr
    module, root = found.stdout.split()[-2:]
    assert module.startswith(str(site)) and root == str(repo)
    inside = _import_installed_copy(site, repo / "docs")  # a subfolder of the project
    assert inside.returncode == 0 and inside.stdout.split()[-1] == str(repo)
    wrong = _import_installed_copy(site, repo, {"GAN_AUGMENT_PROJECT_DIR": str(elsewhere)})
    assert wrong.returncode != 0 and "no such file" in wrong.stderr


@pytest.mark.slow
def test_a_non_editable_install_runs_the_pipeline_command(tmp_path):
    # `pip install .` (no checkout around the package): `gan-augment run --project-dir` finds the
    # data set list; without it, outside a project, one clear line
    import shutil

    repo = Path(__file__).resolve().parents[1]
    source, target = tmp_path / "source", tmp_path / "installed"  # built from a copy: no build/ in the tree
    shutil.copytree(repo, source, ignore=shutil.ignore_patterns(".git", ".venv*", "data", "build", "*.egg-info",
                                                                "__pycache__", ".pytest_cache"))
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--target", str(target), str(source)], check=True, capture_output=True)
    environ = {k: v for k, v in os.environ.items() if k != "GAN_AUGMENT_PROJECT_DIR"}
    environ["PYTHONPATH"] = str(target)
    cli = [sys.executable, "-c", "import sys; from gan_augment.cli import main; sys.exit(main())"]
    lost = subprocess.run([*cli, "run", "--help"], cwd=tmp_path, env=environ, capture_output=True, text=True,
                          check=False)
    assert lost.returncode == 2 and "Expected a project directory" in lost.stderr
    ok = subprocess.run([*cli, "run", "--project-dir", str(repo), "--help"], cwd=tmp_path, env=environ,
                        capture_output=True, text=True, check=False)
    assert ok.returncode == 0 and str(repo) in ok.stdout, ok.stderr


def test_image_preview_labels_rows_and_skips_classes_without_samples(tmp_path):
    from PIL import Image

    from gan_augment.plots import PREVIEW_MIN_WIDTH, save_preview_tiles

    digits = ga.load_dataset("digits")
    without_four = digits.take(np.flatnonzero(digits.y != 4)[:300])
    with Image.open(save_preview_tiles(without_four, tmp_path / "p.png")) as picture:
        width, height = picture.size
        pixels = np.asarray(picture)
    assert width >= PREVIEW_MIN_WIDTH
    scale = -(-PREVIEW_MIN_WIDTH // (9 * 10 + 1))
    assert height == (9 * 9 + 1) * scale  # 9 rows of 8-pixel digits: no empty row for class 4
    assert (pixels[:, :20] < 128).any()  # the class names, left of the tiles


def test_skipped_gates_do_not_warn_on_the_console(caplog):
    # the table-only gates are skipped on images on purpose; a missing image gate would still warn
    import logging

    logger = logging.getLogger("dagster._core.execution.plan.active")
    with caplog.at_level(logging.WARNING, logger=logger.name):
        logger.warning("Blocking asset check 'synthetic_samples:marginals' emitted no result in step 's'")
        logger.warning("Blocking asset check 'synthetic_samples:coverage' emitted no result in step 's'")
    assert [r.getMessage() for r in caplog.records] == [
        "Blocking asset check 'synthetic_samples:coverage' emitted no result in step 's'"]

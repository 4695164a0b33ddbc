"""The assets: ingestion → GAN → synthetic samples + validation → augmented data → downstream.

Every asset is partitioned by data set name (`config.DATASETS`, read from data/datasets.yaml)
and is a thin call into `gan_augment`; storage is the IO managers' job (`io_managers.py`), the
UI metadata is built here from what the library returns. TensorFlow and Great Expectations are
imported inside the asset bodies only, so loading the definitions stays fast.

    source_dataset ──► gan_model ──► synthetic_samples ══► validation_report
          │                              ║  9 blocking checks (one per gate)
          │                              ▼
          └────────────────────► augmented_dataset ──► downstream_evaluation

``synthetic_samples`` and ``validation_report`` come from one step (`sample_and_validate`), so
the checks judge exactly the samples that were stored, and validation runs once.
"""

import hashlib
import json
import time
from typing import Any

import dagster as dg
import numpy as np

from gan_augment.data.dataset import Dataset
from pipelines.checks import GATE_CHECK_SPECS, gate_results
from pipelines.config import (
    DATASET_SPECS,
    DATASETS,
    DownstreamConfig,
    GanConfig,
    SourceConfig,
    SyntheticConfig,
)
from pipelines.io_managers import Splits, png_markdown
from pipelines.resources import StorageRoot

GROUP = "gan_augment"


# ---------------------------------------------------------------------- helpers
def _class_table(class_names: tuple[str, ...], **columns: Any) -> dg.MetadataValue:
    """A Markdown table with one row per class and the given count columns."""
    names = list(columns)
    lines = ["| class | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for c, name in enumerate(class_names):
        lines.append(f"| {name} | " + " | ".join(str(int(columns[k][c])) for k in names) + " |")
    lines.append("| **total** | " + " | ".join(str(int(np.sum(columns[k]))) for k in names) + " |")
    return dg.MetadataValue.md("\n".join(lines))


def _training_key(train: Dataset, options: dict[str, Any]) -> str:
    """A short hash of the training data and the options that shape the run (not ``epochs``:
    raising the epochs resumes the same run and trains on)."""
    h = hashlib.sha256()
    h.update(f"{train.kind}|{train.shape}|{train.class_names}".encode())
    if train.kind == "image":
        h.update(np.ascontiguousarray(train.x).tobytes())
    else:
        import pandas as pd

        h.update(pd.util.hash_pandas_object(train.frame, index=False).to_numpy().tobytes())
    if train.y is not None:
        h.update(np.ascontiguousarray(train.y).tobytes())
    shaping = {k: v for k, v in options.items() if k != "epochs"}
    h.update(json.dumps(shaping, sort_keys=True, default=str).encode())
    return h.hexdigest()[:12]


def _checkpoint_epoch(directory: Any) -> int:
    """The epoch a checkpoint in ``directory`` was written at (0 when there is none)."""
    from gan_augment.checkpoint import CHECKPOINT_NAME

    path = directory / CHECKPOINT_NAME
    if not path.is_file():
        return 0
    with np.load(path, allow_pickle=False) as archive:
        return int(json.loads(str(archive["record"])).get("epoch", 0))


def _log_progress_callback(log: Any) -> Any:
    """A Keras callback that logs the GAN's losses to the Dagster run log about 10 times."""
    import keras

    class LogProgress(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            epochs = int(self.params.get("epochs") or 0)
            done = epoch + 1
            if logs and (done % max(1, epochs // 10) == 0 or done == epochs):
                values = ", ".join(f"{k}={float(v):.3f}" for k, v in logs.items())
                log.info(f"GAN epoch {done}/{epochs}: {values}")

    return LogProgress()


# ---------------------------------------------------------------------- assets
@dg.asset(
    partitions_def=DATASETS, io_manager_key="dataset_io_manager", group_name=GROUP, kinds={"python"},
    description="The real data set (source from data/datasets.yaml), split stratified into train "
                "(GAN training), holdout (validation reference) and test (downstream evaluation).",
)
def source_dataset(context: dg.AssetExecutionContext, config: SourceConfig) -> dg.Output[Splits]:
    import gan_augment as ga

    spec = DATASET_SPECS[context.partition_key]
    data = ga.load_dataset(spec.resolved_source(), **spec.options)
    rest, test = data.split(config.test_fraction, seed=config.split_seed)
    train, holdout = rest.split(round(config.holdout_fraction * len(data)), seed=config.split_seed)
    if config.max_per_class is not None:
        train = train.subsample(per_class=config.max_per_class, seed=config.split_seed)
    splits = Splits(train=train, holdout=holdout, test=test)
    metadata: dict[str, Any] = {
        "source": spec.source, "kind": data.kind, "sample_shape": str(data.shape),
        "num_classes": data.num_classes, "n_total": len(data),
        **{f"n_{name}": len(ds) for name, ds in splits.parts().items()},
    }
    if data.labeled:
        metadata["class_counts"] = _class_table(
            data.class_names, **{name: ds.class_counts() for name, ds in splits.parts().items()})
    return dg.Output(splits, metadata=metadata)


@dg.asset(
    partitions_def=DATASETS, io_manager_key="keras_io_manager", group_name=GROUP,
    kinds={"tensorflow", "keras"},
    description="A class-conditional GAN trained on the train split (gan_augment.train_gan). "
                "Checkpoints under <storage>/<dataset>/checkpoints/<key>/: a retried or repeated "
                "run with the same data and options resumes; more epochs train on.",
)
def gan_model(context: dg.AssetExecutionContext, config: GanConfig, storage: StorageRoot,
              source_dataset: Splits) -> dg.Output[Any]:
    import gan_augment as ga

    train = source_dataset.train
    options = config.train_options(DATASET_SPECS[context.partition_key].gan)
    folder = storage.dataset_dir(context.partition_key)
    checkpoints = folder / "checkpoints" / _training_key(train, options)
    resumed_at = _checkpoint_epoch(checkpoints)
    if resumed_at:
        context.log.info(f"Resuming from the checkpoint in {checkpoints} (epoch {resumed_at}).")
    started = time.perf_counter()
    gan = ga.train_gan(train, checkpoint_dir=checkpoints, output_dir=folder / "gan", verbose=0,
                       callbacks=[_log_progress_callback(context.log)], **options)
    seconds = time.perf_counter() - started
    history = gan.history
    metadata: dict[str, Any] = {
        "epochs": len(history.get("d_loss", [])), "steps": int(gan.model.steps_taken),
        "resumed_from_epoch": resumed_at, "train_seconds": round(seconds, 1),
        "n_train": len(train), "options": dg.MetadataValue.json(
            {k: v for k, v in gan.options.items() if not isinstance(v, float) or np.isfinite(v)}),
        "checkpoint_dir": dg.MetadataValue.path(str(checkpoints)),
        "pictures_dir": dg.MetadataValue.path(str(folder / "gan")),
    }
    for key in ("d_loss", "g_loss", "d_real", "d_fake"):
        if history.get(key):
            metadata[f"final_{key}"] = float(history[key][-1])
    for name, title in (("samples.png", "generated samples, one row per class"),
                        ("training_curves.png", "losses and mean D outputs per epoch")):
        if (folder / "gan" / name).is_file():
            metadata[name.removesuffix(".png")] = png_markdown(folder / "gan" / name, title)
    return dg.Output(gan, metadata=metadata)


@dg.multi_asset(
    name="sample_and_validate",
    outs={
        "synthetic_samples": dg.AssetOut(
            io_manager_key="dataset_io_manager", kinds={"tensorflow"},
            description="Class-balanced generated samples (generation_plan × oversampling), all "
                        "of them, before curation. One blocking check per validation gate (9)."),
        "validation_report": dg.AssetOut(
            io_manager_key="report_io_manager", kinds={"great_expectations"},
            description="gan_augment.validate of the synthetic samples against the holdout: gates "
                        "with real-vs-real baselines, GX suite, curation mask (report.html)."),
    },
    internal_asset_deps={
        "synthetic_samples": {dg.AssetKey("gan_model"), dg.AssetKey("source_dataset")},
        "validation_report": {dg.AssetKey("synthetic_samples"), dg.AssetKey("source_dataset")},
    },
    check_specs=GATE_CHECK_SPECS,
    partitions_def=DATASETS,
    can_subset=False,
    group_name=GROUP,
)
def sample_and_validate(context: dg.AssetExecutionContext, config: SyntheticConfig,
                        storage: StorageRoot, source_dataset: Splits, gan_model: Any):
    import gan_augment as ga
    from gan_augment.generation import generation_plan, sample_for_plan

    train = source_dataset.train
    plan = generation_plan(train.class_counts(), config.per_class, config.balance)
    if not plan.any():
        raise dg.Failure(
            description=f"Nothing to generate: every class already has per_class={config.per_class} "
                        "samples or more. Raise per_class, or set balance=False to add samples anyway.")
    synthetic = sample_for_plan(gan_model, plan, oversample=config.oversample, seed=config.sample_seed)
    report = ga.validate(train, synthetic, reference=source_dataset.holdout, requested=plan,
                         thresholds=config.thresholds.overrides(train.kind) or None,
                         seed=config.validation_seed, cache_dir=storage.cache_dir())

    yield dg.Output(synthetic, output_name="synthetic_samples", metadata={
        "n_generated": len(synthetic), "oversample": config.oversample,
        "per_class": _class_table(train.class_names, real=train.class_counts(), planned=plan,
                                  generated=synthetic.class_counts()),
    })
    gates = [c for c in report.checks if c.gate]
    frame = report.to_frame()
    yield dg.Output(report, output_name="validation_report", metadata={
        "passed": report.passed,
        "gates_passed": f"{sum(c.passed for c in gates)}/{len(gates)}",
        "failed_gates": ", ".join(c.name for c in report.failed()) or "none",
        "summary": dg.MetadataValue.md(report.summary().replace("\n", "  \n")),
        "metrics": dg.MetadataValue.md(frame.to_markdown(index=False, floatfmt=".4g")),
        "gx_summary": str(report.gx.get("summary", "")),
        "n_accepted": int(report.accepted.sum()), "n_rejected": int((~report.accepted).sum()),
        "rejections": dg.MetadataValue.json(report.rejection_counts),
        "validation_seconds": float(report.info.get("seconds", 0.0)),
    })
    yield from gate_results(report, context.log)


@dg.asset(
    partitions_def=DATASETS, io_manager_key="tfds_io_manager", group_name=GROUP, kinds={"numpy"},
    description="Real train split + the curated synthetic samples (accepted by validation, up to "
                "the plan per class), exported as augmented.npz (parquet for tables) and a TFDS "
                "directory, with a per-sample synthetic flag. Runs only when every gate passed.",
)
def augmented_dataset(context: dg.AssetExecutionContext, source_dataset: Splits,
                      synthetic_samples: Dataset, validation_report: Any) -> dg.Output[Any]:
    from gan_augment.generation import AugmentedDataset, shortfall, take_per_class

    if not validation_report.passed:  # the blocking checks stop this in a run; this guards a
        # lone materialization of this asset on top of a failed validation
        raise dg.Failure(description="The synthetic samples failed validation:\n"
                                     + validation_report.summary())
    train = source_dataset.train
    requested = validation_report.info.get("requested")  # validate() records the plan it judged
    if requested is None:
        raise dg.Failure(description="The validation report names no plan (info['requested']); "
                                     "re-materialize synthetic_samples to write a current report.")
    plan = np.asarray(requested, dtype=np.int64)
    kept = take_per_class(synthetic_samples, plan, accepted=validation_report.accepted)
    augmented = AugmentedDataset(
        real=train, synthetic=kept, requested=tuple(plan.tolist()),
        dropped=int((~validation_report.accepted).sum()))
    counts = augmented.class_counts()
    metadata: dict[str, Any] = {
        "n_real": len(train), "n_synthetic": augmented.n_synthetic, "n_total": len(augmented),
        "n_rejected_by_curation": augmented.dropped,
        "class_counts": _class_table(train.class_names, real=counts["real"],
                                     synthetic=counts["synthetic"],
                                     total=counts["real"] + counts["synthetic"]),
    }
    metadata["short_of_plan"] = dg.MetadataValue.json(shortfall(kept, plan, train.class_names))
    return dg.Output(augmented, metadata=metadata)


@dg.asset(
    partitions_def=DATASETS, io_manager_key="report_io_manager", group_name=GROUP,
    kinds={"scikitlearn"},
    description="Does the synthetic data help? The same classifier trained on real only, "
                "real + classical augmentation, real + synthetic and synthetic only, scored on "
                "the real test split (gan_augment.evaluate_downstream).",
)
def downstream_evaluation(context: dg.AssetExecutionContext, config: DownstreamConfig,
                          source_dataset: Splits, augmented_dataset: Any) -> dg.Output[Any]:
    import gan_augment as ga

    report = ga.evaluate_downstream(
        augmented_dataset.real, source_dataset.test, augmented_dataset.synthetic,
        classifier=config.classifier, seeds=config.seeds,
        classical_augmentation=config.classical_augmentation, epochs=config.epochs)
    metadata: dict[str, Any] = {
        "comparison": dg.MetadataValue.md(report.to_markdown()),
        "classifier": report.classifier, "seeds": str(report.seeds), "n_test": report.n_test,
    }
    settings = report.settings
    for setting in ("real+synthetic", "synthetic-only", "real+classical"):
        if setting in settings:
            key = setting.replace("+", "_plus_").replace("-", "_")
            metadata[f"gain_{key}_over_real"] = report.gain(setting, over="real")
    return dg.Output(report, metadata=metadata)


ASSETS = [source_dataset, gan_model, sample_and_validate, augmented_dataset, downstream_evaluation]

#: The asset names in graph order.
ASSET_NAMES = ["source_dataset", "gan_model", "synthetic_samples", "validation_report",
               "augmented_dataset", "downstream_evaluation"]

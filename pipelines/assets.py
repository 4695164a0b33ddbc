"""The assets: ingestion → GAN → synthetic samples + validation → augmented data → downstream.

Every asset is partitioned by data set name (`config.DATASETS`, read from data/datasets.yaml)
and is a thin call into `gan_augment`; storage is the IO managers' job (`io_managers.py`), the
UI metadata is built here from what the library returns. TensorFlow and Great Expectations are
imported inside the asset bodies only, so loading the definitions stays fast.

    source_dataset ──► gan_model ──► synthetic_samples ══► validation_report
          │ └──► upscaler ──────────────┘ ║  9 blocking checks (one per gate)
          │      ║ psnr_vs_bicubic        ▼
          └────────────────────► augmented_dataset ──► downstream_evaluation
                                         ║  utility_gain (blocking; WARN unless on_no_gain="raise")

``synthetic_samples`` and ``validation_report`` come from one step (`sample_and_validate`), so
the checks judge exactly the samples that were stored, and validation runs once. ``upscaler``
is None on a partition without ``upscale`` in data/datasets.yaml; with it, the GAN trains on the
train split reduced ``scale`` times and ``synthetic_samples`` are upscaled by the SRGAN.
"""

import hashlib
import json
import time
from typing import Any

import dagster as dg
import numpy as np

from gan_augment import log_to
from gan_augment.checkpoint import checkpoint_epoch
from gan_augment.data.dataset import Dataset
from gan_augment.validation.gates import origin_of
from pipelines.checks import (
    GATE_CHECK_SPECS,
    UPSCALER_CHECK_SPEC,
    UTILITY_CHECK_SPEC,
    gate_results,
    upscaler_result,
    upscaler_table,
    utility_result,
)
from pipelines.config import (
    DATASET_SPECS,
    DATASETS,
    AugmentedConfig,
    DatasetSpec,
    DownstreamConfig,
    GanConfig,
    SourceConfig,
    SyntheticConfig,
    UpscalerConfig,
    translation_options,
)
from pipelines.io_managers import Splits, load_saved_model, png_markdown, saved_model_file
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
    """A short hash of the training data (`Dataset.fingerprint`) and the options that shape the
    run (not ``epochs``: raising the epochs resumes the same run and trains on)."""
    shaping = {k: v for k, v in options.items() if k != "epochs"}
    h = hashlib.sha256(train.fingerprint().encode())
    h.update(json.dumps(shaping, sort_keys=True, default=str).encode())
    return h.hexdigest()[:12]


def _upscale_factor(spec: DatasetSpec, data: Dataset) -> int:
    """The ``upscale`` scale of ``spec`` (a partition that has it), checked against its data:
    images whose sides the scale divides; otherwise a `dg.Failure` naming the fix."""
    from gan_augment.errors import DataError
    from gan_augment.kinds import require_kind

    scale = int(spec.upscale["scale"])
    try:
        require_kind(data, "image", what=f"`upscale` of {spec.name!r} in data/datasets.yaml",
                     instead="Remove `upscale` from that entry.")
    except DataError as exc:
        raise dg.Failure(description=str(exc)) from None
    if data.shape[0] % scale or data.shape[1] % scale:
        raise dg.Failure(description=(
            f"Expected image sides divisible by upscale={scale} for {spec.name!r}. Received: "
            f"{data.shape[0]}x{data.shape[1]}. Set options.image_size in data/datasets.yaml to a "
            f"multiple of {scale}, or another scale."))
    return scale


# ---------------------------------------------------------------------- assets
@dg.asset(
    partitions_def=DATASETS, io_manager_key="dataset_io_manager", group_name=GROUP, kinds={"python"},
    description="The real data set (source from data/datasets.yaml), split stratified into train "
                "(GAN training), holdout (validation reference and utility gate) and test "
                "(downstream evaluation). A low-data partition (train_per_class) keeps a few "
                "training samples per class; holdout and test stay those of the full data set.",
)
def source_dataset(context: dg.AssetExecutionContext, config: SourceConfig) -> dg.Output[Splits]:
    import gan_augment as ga

    spec = DATASET_SPECS[context.partition_key]
    data = ga.load_dataset(spec.resolved_source(), **spec.options)
    rest, test = data.split(config.test_fraction, seed=config.split_seed)
    train, holdout = rest.split(round(config.holdout_fraction * len(data)), seed=config.split_seed)
    per_class = config.max_per_class if config.max_per_class is not None else spec.train_per_class
    if per_class is not None:
        train = train.subsample(per_class=per_class, seed=config.split_seed)
    splits = Splits(train=train, holdout=holdout, test=test)
    metadata: dict[str, Any] = {
        "source": spec.source, "kind": data.kind, "sample_shape": str(data.shape),
        "num_classes": data.num_classes, "n_total": len(data),
        "train_per_class": "all" if per_class is None else int(per_class),
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
                "Checkpoints under `<storage>/<dataset>/checkpoints/<key>/`: a retried or repeated "
                "run with the same data and options resumes; more epochs train on.",
)
def gan_model(context: dg.AssetExecutionContext, config: GanConfig, storage: StorageRoot,
              source_dataset: Splits) -> dg.Output[Any]:
    import gan_augment as ga

    train = source_dataset.train
    spec = DATASET_SPECS[context.partition_key]
    if spec.upscale is not None:  # generate small, the upscaler brings the samples to full size
        from gan_augment.super_resolution import reduce_dataset

        full = train.shape
        train = reduce_dataset(train, _upscale_factor(spec, train))
        context.log.info(f"upscale: the GAN trains on the train split reduced from {full} to {train.shape}.")
    options = config.train_options(spec.gan)
    folder = storage.dataset_dir(context.partition_key)
    checkpoints = folder / "checkpoints" / _training_key(train, {**options, "translate_from": spec.translate_from})
    resumed_at = checkpoint_epoch(checkpoints)
    if resumed_at:
        context.log.info(f"Resuming from the checkpoint in {checkpoints} (epoch {resumed_at}).")
    started = time.perf_counter()
    with log_to(context.log.info):  # the library's progress lines (about 10 epoch lines) → the run log
        if spec.translate_from is None:
            gan = ga.train_gan(train, checkpoint_dir=checkpoints, output_dir=folder / "gan", **options)
        else:  # a translator from another labelled domain stands in for the GAN
            source = ga.load_dataset(spec.translate_from["source"], **spec.translate_from["options"])
            gan = ga.train_cyclegan(source, train, checkpoint_dir=checkpoints, output_dir=folder / "gan",
                                    **translation_options(options, context.log))
    seconds = time.perf_counter() - started
    history = gan.history
    metadata: dict[str, Any] = {
        "epochs": len(history.get("d_loss", [])), "steps": int(gan.model.steps_taken),
        "resumed_from_epoch": resumed_at, "train_seconds": round(seconds, 1),
        "stop_reason": gan.stop_reason,
        "n_train": len(train), "sample_shape": str(train.shape),
        "options": dg.MetadataValue.json(
            {k: v for k, v in gan.options.items() if not isinstance(v, float) or np.isfinite(v)}),
        "checkpoint_dir": dg.MetadataValue.path(str(checkpoints)),
        "pictures_dir": dg.MetadataValue.path(str(folder / "gan")),
    }
    for key in ("d_loss", "g_loss", "d_real", "d_fake"):
        if history.get(key):
            metadata[f"final_{key}"] = float(history[key][-1])
    for name, title in (("samples.png", "generated samples, one row per class"),
                        ("translations.png", "per class: source | translated | translated back"),
                        ("training_curves.png", "losses, mean D outputs and the early-stop criterion per epoch")):
        if (folder / "gan" / name).is_file():
            metadata[name.removesuffix(".png")] = png_markdown(folder / "gan" / name, title)
    if spec.upscale is not None:
        metadata["upscale"] = f"x{spec.upscale['scale']} by the upscaler asset"
    return dg.Output(gan, metadata=metadata)


@dg.multi_asset(
    name="upscaler",
    outs={
        "upscaler": dg.AssetOut(
            io_manager_key="upscaler_io_manager", kinds={"tensorflow", "keras"},
            description="For a partition with upscale in data/datasets.yaml: an SRGAN "
                        "(gan_augment.train_srgan) trained on the full-resolution train split, which "
                        "brings the GAN's small samples to the real data's size; scored on the "
                        "holdout split against bicubic resizing (blocking check psnr_vs_bicubic). "
                        "Checkpoints under `<storage>/<dataset>/checkpoints/upscaler_<key>/`: a "
                        "retried run resumes. Other partitions: None (not configured), no check."),
    },
    check_specs=[UPSCALER_CHECK_SPEC],
    partitions_def=DATASETS,
    # subsettable so that a partition without upscale yields no check result (the UI shows the
    # check skipped, not passed), as the validation gates that do not apply do
    can_subset=True,
    group_name=GROUP,
)
def upscaler(context: dg.AssetExecutionContext, config: UpscalerConfig, storage: StorageRoot,
             source_dataset: Splits):
    spec = DATASET_SPECS[context.partition_key]
    selected = dg.AssetKey("upscaler") in context.selected_asset_keys
    if spec.upscale is None:
        context.log.info(f"No `upscale` for {context.partition_key!r} in data/datasets.yaml: no upscaler "
                         f"(stored as None); the check psnr_vs_bicubic is skipped.")
        if selected:
            yield dg.Output(None, output_name="upscaler", metadata={
                "configured": False,
                "note": "not configured for this partition (no `upscale` in data/datasets.yaml)"})
        return
    import gan_augment as ga

    train, holdout = source_dataset.train, source_dataset.holdout
    scale = _upscale_factor(spec, train)
    options = config.train_options(spec.upscale["options"])
    folder = storage.dataset_dir(context.partition_key)
    checkpoints = folder / "checkpoints" / f"upscaler_{_training_key(train, {**options, 'scale': scale})}"
    resumed_at = checkpoint_epoch(checkpoints)
    if resumed_at:
        context.log.info(f"Resuming the upscaler from the checkpoint in {checkpoints} (epoch {resumed_at}).")
    started = time.perf_counter()
    with log_to(context.log.info):
        trained = ga.train_srgan(train, scale, holdout=holdout, checkpoint_dir=checkpoints,
                                 output_dir=folder / "srgan", **options)
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    report = trained.evaluate(seed=config.evaluation_seed)
    context.log.info(report.table())
    metadata: dict[str, Any] = {
        "configured": True, "scale": scale,
        "lr_shape": str(tuple(s // scale for s in train.shape[:2]) + train.shape[2:]),
        "hr_shape": str(train.shape), "steps": int(trained.steps_taken),
        "resumed_from_epoch": resumed_at, "train_seconds": round(seconds, 1),
        "evaluation_seconds": round(time.perf_counter() - started, 1),
        "stop_reason": trained.stop_reason, "n_train": len(train), "n_holdout": len(holdout),
        "evaluation": dg.MetadataValue.md(upscaler_table(report)),
        **{f"psnr_{method}": dg.MetadataValue.float(float(row["psnr"])) for method, row in report.rows.items()},
        "options": dg.MetadataValue.json(
            {k: v for k, v in trained.options.items() if not isinstance(v, float) or np.isfinite(v)}),
        "checkpoint_dir": dg.MetadataValue.path(str(checkpoints)),
        "pictures_dir": dg.MetadataValue.path(str(folder / "srgan")),
    }
    for name, title in (("super_resolution.png", "held-out crops: LR | bicubic | SRResNet | SRGAN | HR"),
                        ("training_curves.png", "SRGAN losses per epoch")):
        if (folder / "srgan" / name).is_file():
            metadata[name.removesuffix(".png")] = png_markdown(folder / "srgan" / name, title)
    if selected:
        yield dg.Output(trained, output_name="upscaler", metadata=metadata)
    if UPSCALER_CHECK_SPEC.key in context.selected_asset_check_keys:
        yield upscaler_result(report, context.log)


@dg.multi_asset(
    name="sample_and_validate",
    outs={
        "synthetic_samples": dg.AssetOut(
            io_manager_key="dataset_io_manager", kinds={"tensorflow"},
            description="Class-balanced generated samples (generation_plan × oversampling) — or, for a "
                        "partition with translate_from, translated images of the source domain — all "
                        "of them, before curation; on a partition with upscale, generated small and "
                        "enlarged by the upscaler. One blocking check per validation gate."),
        "validation_report": dg.AssetOut(
            io_manager_key="report_io_manager", kinds={"great_expectations"},
            description="gan_augment.validate of the synthetic samples against the holdout: gates "
                        "with real-vs-real baselines, GX suite, curation mask (report.html)."),
    },
    internal_asset_deps={
        "synthetic_samples": {dg.AssetKey("gan_model"), dg.AssetKey("upscaler"), dg.AssetKey("source_dataset")},
        "validation_report": {dg.AssetKey("synthetic_samples"), dg.AssetKey("source_dataset")},
    },
    check_specs=GATE_CHECK_SPECS,
    partitions_def=DATASETS,
    # subsettable so that a gate that does not apply to the partition's data yields no result
    # (the UI shows it skipped, not passed); a lone selection of one of the two assets still
    # generates and validates, and stores what was selected
    can_subset=True,
    group_name=GROUP,
)
def sample_and_validate(context: dg.AssetExecutionContext, config: SyntheticConfig,
                        storage: StorageRoot, source_dataset: Splits, gan_model: Any, upscaler: Any):
    import gan_augment as ga
    from gan_augment.generation import BALANCED_RATIO, generation_plan, sample_for_plan
    from gan_augment.streamed_augmentation import scaled_plan
    from gan_augment.training import TrainedGAN

    train = source_dataset.train
    plan = generation_plan(train.class_counts(), config.per_class, config.balance)
    if config.per_class is None and not plan.any():  # a balanced set: as `augment` does, offer
        # up to BALANCED_RATIO synthetic samples per real one; the utility gate picks the amount
        plan = np.ceil(BALANCED_RATIO * train.class_counts()).astype(np.int64)
    if not plan.any():
        raise dg.Failure(
            description=f"Nothing to generate: every class already has per_class={config.per_class} "
                        "samples or more. Raise per_class, or set balance=False to add samples anyway.")
    full_plan, plan = plan, scaled_plan(plan, config.validation_sample)
    streamed = not np.array_equal(plan, full_plan)
    if streamed and (upscaler is not None or not isinstance(gan_model, TrainedGAN)):
        raise dg.Failure(description=(
            f"Expected at most validation_sample={config.validation_sample} planned samples on a partition with "
            f"{'upscale' if upscaler is not None else 'translate_from'} (streaming to disk writes GAN samples "
            f"only). Received: a plan of {int(full_plan.sum())}; lower per_class."))
    if streamed:
        context.log.info(f"The plan asks for {int(full_plan.sum())} samples: validating a seeded subsample of "
                         f"{int(plan.sum())} (validation_sample); augmented_dataset streams the published amount.")
    synthetic = sample_for_plan(gan_model, plan, oversample=config.oversample, seed=config.sample_seed)
    generated_shape = synthetic.shape
    if upscaler is not None:  # a partition with upscale: the GAN generated small
        synthetic = upscaler.upscale(synthetic)
    if synthetic.shape != train.shape:
        raise dg.Failure(description=(
            f"Expected synthetic samples of the real data's shape {train.shape}. Received: "
            f"{synthetic.shape} (generated {generated_shape}, "
            f"{'upscaled' if upscaler is not None else 'no upscaler'}). Re-materialize gan_model and "
            f"upscaler for {context.partition_key!r} after changing `upscale` in data/datasets.yaml."))
    report = ga.validate(train, synthetic, reference=source_dataset.holdout, requested=plan,
                         thresholds=config.thresholds.overrides(train.kind) or None,
                         seed=config.validation_seed, cache_dir=storage.cache_dir())
    if streamed:  # the plan augmented_dataset streams; `requested` is the subsample judged here
        report.info["streamed_plan"] = [int(v) for v in full_plan]

    selected = context.selected_asset_keys
    if dg.AssetKey("synthetic_samples") in selected:
        yield dg.Output(synthetic, output_name="synthetic_samples", metadata={
            "n_generated": len(synthetic), "oversample": config.oversample,
            **({"validated_on": f"a seeded subsample: {int(plan.sum())} of the {int(full_plan.sum())} planned "
                                "samples (validation_sample); augmented_dataset streams the rest"}
               if streamed else {}),
            **({"upscaled": f"generated at {generated_shape}, upscaled x{upscaler.scale} to {synthetic.shape}"}
               if upscaler is not None else {}),
            "per_class": _class_table(train.class_names, real=train.class_counts(), planned=plan,
                                      generated=synthetic.class_counts()),
        })
    gates = [c for c in report.checks if c.gate]
    frame = report.to_frame()
    if dg.AssetKey("validation_report") in selected:
        yield dg.Output(report, output_name="validation_report", metadata={
            "passed": report.passed,
            "gates_passed": f"{sum(c.passed for c in gates)}/{len(gates)}",
            "failed_gates": ", ".join(c.name for c in report.failed()) or "none",
            "summary": dg.MetadataValue.md(report.summary().replace("\n", "  \n")),
            "metrics": dg.MetadataValue.md(frame.to_markdown(index=False, floatfmt=".4g")),
            "gx_summary": str(report.gx.get("summary", "")),
            "n_accepted": int(report.accepted.sum()), "n_rejected": int((~report.accepted).sum()),
            "rejections": dg.MetadataValue.json(report.rejection_counts),
            "validation_seconds": report.seconds,
        })
    selected_checks = {key.name for key in context.selected_asset_check_keys}
    yield from (result for result in gate_results(report, context.log, origin_of(synthetic))
                if result.check_name in selected_checks)


@dg.asset(
    partitions_def=DATASETS, io_manager_key="tfds_io_manager", group_name=GROUP, kinds={"numpy"},
    check_specs=[UTILITY_CHECK_SPEC], deps=["gan_model"],  # loaded only to stream (saved_model_file)
    description="What the utility gate found worth publishing: the real train split, plus the "
                "curated GAN samples (amount per class and loss weight chosen on the holdout "
                "split) when they beat real-only and real + classical augmentation, plus "
                "classical copies when the chosen setting has them; otherwise the best baseline "
                "(on_no_gain). Exported as augmented.npz (parquet for tables) and a TFDS "
                "directory, with the origin of every sample. Runs only when every validation "
                "gate passed.",
)
def augmented_dataset(context: dg.AssetExecutionContext, config: AugmentedConfig, storage: StorageRoot,
                      source_dataset: Splits, synthetic_samples: Dataset, validation_report: Any):
    from gan_augment.generation import ON_NO_GAIN, AugmentedDataset, shortfall, take_per_class

    if config.on_no_gain not in ON_NO_GAIN:
        raise dg.Failure(description=f"Expected on_no_gain as one of {list(ON_NO_GAIN)}. "
                                     f"Received: on_no_gain={config.on_no_gain!r}.")
    if not validation_report.passed:  # the blocking checks stop this in a run; this guards a
        # lone materialization of this asset on top of a failed validation
        raise dg.Failure(description="The synthetic samples failed validation:\n"
                                     + validation_report.summary())
    train = source_dataset.train
    plan = validation_report.requested  # validate() records the plan it judged
    if plan is None:
        raise dg.Failure(description="The validation report names no plan (ValidationReport.requested); "
                                     "re-materialize synthetic_samples to write a current report.")
    kept = take_per_class(synthetic_samples, plan, accepted=validation_report.accepted)

    synthetic, classical, weight, gate = kept, None, 1.0, None
    if config.utility:
        synthetic, classical, weight, gate = _utility_gate(context, config, source_dataset, kept)
    streamed_plan = validation_report.info.get("streamed_plan")
    streamed = None
    if streamed_plan is not None and synthetic is not None:
        gan = load_saved_model(saved_model_file(storage, context.partition_key))
        streamed = _stream_published(context, storage, train, gan, validation_report, kept, synthetic,
                                     np.asarray(streamed_plan, np.int64), config.stream_seed)
    augmented = AugmentedDataset(
        real=train, synthetic=synthetic, requested=tuple(plan.tolist()),
        dropped=int((~validation_report.accepted).sum()), classical=classical,
        synthetic_weight=weight, utility=gate, streamed=streamed)
    published = _published(augmented)
    counts = augmented.class_counts()
    metadata: dict[str, Any] = {
        "published": published,
        "n_real": len(train), "n_classical": augmented.n_classical,
        "n_synthetic": augmented.n_synthetic, "n_total": len(augmented),
        "synthetic_weight": dg.MetadataValue.float(float(weight)),
        "n_curated_pool": 0 if kept is None else len(kept),
        "n_rejected_by_curation": augmented.dropped,
        "class_counts": _class_table(train.class_names, real=counts["real"], classical=counts["classical"],
                                     GAN=counts["synthetic"],
                                     total=counts["real"] + counts["classical"] + counts["synthetic"]),
        "short_of_plan": dg.MetadataValue.json(shortfall(kept, plan, train.class_names)),
    }
    if streamed is not None:
        metadata["streamed"] = (f"{streamed.total} samples ({len(train)} real + {streamed.total - len(train)} "
                                f"curated GAN samples) streamed to {streamed.path}; the counts above are the "
                                f"validated subsample's")
    if gate is not None:
        metadata.update({
            "utility_passed": bool(gate.passed), "utility_verdict": gate.verdict(),
            "utility_gain": dg.MetadataValue.float(float(gate.gain)),
            "utility_table": dg.MetadataValue.md(gate.to_markdown()),
            "utility_seconds": dg.MetadataValue.float(round(float(gate.seconds), 1)),
        })
    yield dg.Output(augmented, metadata=metadata)
    yield utility_result(gate, config.on_no_gain, published, context.log)


def _stream_published(context: dg.AssetExecutionContext, storage: StorageRoot, train: Dataset, gan: Any,
                      report: Any, pool: Dataset, published: Dataset, full_plan: np.ndarray, seed: int) -> Any:
    """Stream what the gate published on the subsample at the scale of the whole plan: per class,
    the share of the curated pool it published × the planned count, curated shard by shard with
    the validation's rules (`acceptor_for`), after the real train split."""
    from gan_augment.generation import StreamedSet
    from gan_augment.streaming import mixed_labels, write_stream
    from gan_augment.validation.validate import acceptor_for

    share = published.class_counts() / np.maximum(pool.class_counts(), 1)
    counts = np.round(share * full_plan).astype(np.int64)
    labels = mixed_labels(counts, seed)
    folder = storage.dataset_dir(context.partition_key) / "augmented_dataset" / "streamed"
    context.log.info(f"Streaming {len(train)} real + {int(counts.sum())} GAN samples to {folder} …")
    with log_to(context.log.info):
        accept = acceptor_for(report, train, cache_dir=storage.cache_dir())
        path = write_stream(gan, folder, int(counts.sum()), labels=labels, seed=seed, real=train, accept=accept,
                            accept_key=f"validation seed {report.info.get('seed')}, {len(report.accepted)} samples",
                            replace=True)
    return StreamedSet(path=path, total=len(train) + int(counts.sum()), synthetic=tuple(counts.tolist()))


def _utility_gate(context: dg.AssetExecutionContext, config: AugmentedConfig, splits: Splits,
                  pool: Dataset | None) -> tuple[Dataset | None, Dataset | None, float, Any]:
    """Run `measure_utility` on (train, holdout, curated pool) and choose what to publish:
    ``(synthetic, classical, synthetic_weight, report)``."""
    from gan_augment.utility import measure_utility, publication

    train = splits.train
    context.log.info(f"Utility gate: {len(train)} real training samples, "
                     f"{0 if pool is None else len(pool)} curated GAN samples, scored on "
                     f"{len(splits.holdout)} holdout samples ({config.utility_classifier}, "
                     f"{config.utility_seeds} seeds) …")
    with log_to(context.log.info):
        report = measure_utility(train, splits.holdout, pool, weights=tuple(config.utility_weights),
                                 classifier=config.utility_classifier, seeds=config.utility_seeds,
                                 classical=config.utility_classical, verbose=1)
    context.log.info(f"{report.verdict()}\n{report.to_markdown()}")
    synthetic, classical, weight = publication(report, train, pool, on_no_gain=config.on_no_gain,
                                               seed=config.classical_seed)
    return synthetic, classical, weight, report


def _published(augmented: Any) -> str:
    """What an `AugmentedDataset` holds, in words (e.g. "real + classical")."""
    parts = ["real"]
    if augmented.n_classical:
        parts.append("classical")
    if augmented.n_synthetic:
        parts.append(f"GAN (weight {augmented.synthetic_weight:g})")
    return " + ".join(parts)


@dg.asset(
    partitions_def=DATASETS, io_manager_key="report_io_manager", group_name=GROUP,
    kinds={"scikitlearn"},
    description="Does what was published help on the untouched test split? The same classifier "
                "(same gradient steps) trained on real only, real + classical, real + the "
                "published GAN samples (at their loss weight), both, and GAN only "
                "(gan_augment.evaluate_downstream).",
)
def downstream_evaluation(context: dg.AssetExecutionContext, config: DownstreamConfig,
                          source_dataset: Splits, augmented_dataset: Any) -> dg.Output[Any]:
    import gan_augment as ga

    started = time.perf_counter()
    with log_to(context.log.info):
        report = ga.evaluate_downstream(
            augmented_dataset.real, source_dataset.test, augmented_dataset.synthetic,
            classifier=config.classifier, seeds=config.seeds,
            classical_augmentation=config.classical_augmentation,
            synthetic_weight=float(augmented_dataset.synthetic_weight),
            steps=config.steps, epochs=config.epochs, verbose=1)
    metadata: dict[str, Any] = {
        "comparison": dg.MetadataValue.md(report.to_markdown()),
        "classifier": report.classifier, "seeds": str(report.seeds), "n_test": report.n_test,
        "published": _published(augmented_dataset),
        "synthetic_weight": dg.MetadataValue.float(float(augmented_dataset.synthetic_weight)),
        "evaluation_seconds": dg.MetadataValue.float(round(time.perf_counter() - started, 1)),
    }
    if augmented_dataset.streamed is not None:
        metadata["evaluated_on"] = (f"the validated subsample's published samples; the whole set "
                                    f"({augmented_dataset.streamed.total} samples) is at {augmented_dataset.streamed.path}")
    settings = report.settings
    for setting in ("real+synthetic", "real+synthetic+classical", "synthetic-only", "real+classical"):
        if setting in settings:
            key = setting.replace("+", "_plus_").replace("-", "_")
            metadata[f"gain_{key}_over_real"] = report.gain(setting, over="real")
    return dg.Output(report, metadata=metadata)


ASSETS = [source_dataset, gan_model, upscaler, sample_and_validate, augmented_dataset, downstream_evaluation]

#: The asset names in graph order.
ASSET_NAMES = ["source_dataset", "gan_model", "upscaler", "synthetic_samples", "validation_report",
               "augmented_dataset", "downstream_evaluation"]

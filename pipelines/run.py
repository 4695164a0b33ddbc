"""`run_pipeline`: the whole asset graph for one data set, as a real Dagster run.

The run is recorded in the Dagster instance at ``$DAGSTER_HOME`` (default ``data/dagster_home``
under the repository root, created if missing; SQLite unless its dagster.yaml says otherwise), so
it shows in ``dagster dev -w workspace.yaml`` afterwards, with its logs, metadata and checks.

    python -m pipelines.run digits_low                # the main demo: 20 real digits per class
    python -m pipelines.run digits                    # in-process, default configuration
    python -m pipelines.run digits --smoke            # a small configuration (about a minute)
    python -m pipelines.run digits --config my.yaml --storage-root /data/runs

Example:
    >>> from pipelines.run import run_pipeline
    >>> result = run_pipeline("digits", config={"gan_model": {"epochs": 60}})  # doctest: +SKIP
    >>> result.success, result.outputs["augmented_dataset"]                    # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gan_augment.errors import GanAugmentError
from pipelines import PROJECT_DIR_ENV
from pipelines.config import DATASET_SPECS, REPO_ROOT, build_run_config, smoke_config
from pipelines.forkserver import start_forkserver
from pipelines.jobs import EXECUTORS as EXECUTOR_MODULES

EXECUTORS = tuple(EXECUTOR_MODULES)
DEFAULT_DAGSTER_HOME = REPO_ROOT / "data" / "dagster_home"
DEFAULT_STORAGE_ROOT = REPO_ROOT / "data" / "outputs"


@dataclasses.dataclass
class PipelineResult:
    """What a run did and where its outputs are.

    Attributes:
        dataset: the data set (partition) that ran.
        success: every step succeeded (all gates passed, every asset materialized).
        run_id: the Dagster run id (look it up in the UI).
        dagster_home: the instance the run is recorded in.
        storage_dir: ``<storage root>/<dataset>``, where every output of this data set lies.
        outputs: asset name -> the path of what it wrote (materialized assets only).
        tfds_directory: the TFDS export of the augmented data (images), when it was written.
        validation_report: ``report.html`` of the validation, when validation ran.
        downstream_report: ``report.md`` of the downstream evaluation, when it ran.
        failed_gates: ``(check, why)`` for every blocking check that failed with ERROR severity
            (a validation gate, ``psnr_vs_bicubic`` on the upscaler, or ``utility_gain`` with
            ``on_no_gain="raise"``).
        failed_steps: ``(step, error message)`` for every step that failed.
        skipped: assets of the graph that were not materialized.
        seconds: wall-clock time of the run.
        warnings: ``(check, why)`` for every check that failed with WARN severity (``utility_gain``
            when the GAN samples did not help and the best baseline was published instead).
        utility: the utility gate's verdict and table (from augmented_dataset), when it ran.
        comparison: the downstream comparison table on the test split, when it ran.
        step_seconds: wall-clock seconds per step that succeeded.
    """

    dataset: str
    success: bool
    run_id: str
    dagster_home: Path
    storage_dir: Path
    outputs: dict[str, Path]
    tfds_directory: Path | None
    validation_report: Path | None
    downstream_report: Path | None
    failed_gates: list[tuple[str, str]]
    failed_steps: list[tuple[str, str]]
    skipped: list[str]
    seconds: float
    warnings: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    utility: str | None = None
    comparison: str | None = None
    step_seconds: dict[str, float] = dataclasses.field(default_factory=dict)

    def __str__(self) -> str:
        verdict = "succeeded" if self.success else "FAILED"
        lines = [(f"Pipeline run {self.run_id} for {self.dataset!r} {verdict} in {self.seconds:.0f} s "
                  f"(Dagster instance: {self.dagster_home}).")]
        if self.failed_gates:
            lines.append("Blocking checks that failed (what is downstream of them was not materialized):")
            lines += [f"  ✗ {gate}: {why}" for gate, why in self.failed_gates]
        elif self.failed_steps:
            lines.append("Failed steps:")
            lines += [f"  ✗ {step}: {message}" for step, message in self.failed_steps]
        if self.warnings:
            lines.append("Checks that failed as warnings (the run went on):")
            lines += [f"  ! {check}: {why}" for check, why in self.warnings]
        if self.step_seconds:
            lines.append("Step times: " + ", ".join(f"{k} {v:.0f} s" for k, v in self.step_seconds.items()))
        if self.utility:
            lines += ["Utility gate (holdout split, training side):", self.utility]
        if self.comparison:
            lines += ["Downstream evaluation (test split):", self.comparison]
        lines.append(f"Outputs in {self.storage_dir}:")
        lines += [f"  {name:22s} {path}" for name, path in self.outputs.items()]
        if self.skipped:
            lines.append(f"  not materialized: {', '.join(self.skipped)}")
        if self.tfds_directory is not None:
            lines.append(f"TFDS directory: {self.tfds_directory}")
        if self.validation_report is not None:
            lines.append(f"Validation report: {self.validation_report}")
        if self.downstream_report is not None:
            lines.append(f"Downstream evaluation: {self.downstream_report}")
        lines.append("Browse the run: DAGSTER_HOME=" + str(self.dagster_home)
                     + " dagster dev -w workspace.yaml")
        return "\n".join(lines)


def resolve_dagster_home(dagster_home: str | os.PathLike | None = None) -> Path:
    """``dagster_home``, else ``$DAGSTER_HOME``, else ``data/dagster_home``; created if missing."""
    home = Path(dagster_home or os.environ.get("DAGSTER_HOME") or DEFAULT_DAGSTER_HOME).expanduser()
    home = home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    return home


def run_pipeline(
    dataset: str = "digits",
    *,
    storage_root: str | os.PathLike | None = None,
    config: Mapping[str, Any] | None = None,
    executor: str = "in_process",
    dagster_home: str | os.PathLike | None = None,
    verbose: bool = True,
) -> PipelineResult:
    """Materialize the whole graph for ``dataset`` in one Dagster run and say where things are.

    Args:
        dataset: a data set (partition) listed in data/datasets.yaml.
        storage_root: where outputs go (``<storage_root>/<dataset>/...``); a relative path is
            relative to the current directory. Default: the root in ``config``'s resources, else
            ``data/outputs`` in the repository.
        config: per-asset settings, e.g. ``{"gan_model": {"epochs": 60}, "synthetic_samples":
            {"per_class": 150}, "downstream_evaluation": {"classifier": "logreg", "seeds": 1}}``
            (fields: `pipelines.config`), or full Dagster run config (with ``"ops"``).
        executor: ``"in_process"`` (default: every step in this process) or
            ``"multiprocess"`` (a process per step, forked from a server that imported
            TensorFlow once; `pipelines.forkserver`); ``"k8s"``,
            ``"celery"`` and ``"dask"`` need their package and the settings in deploy/.
        dagster_home: the Dagster instance folder; default ``$DAGSTER_HOME`` or
            ``data/dagster_home`` (created if missing).
        verbose: print the summary at the end.

    Returns:
        A `PipelineResult`. A failed gate or step does not raise: ``result.success`` is False and
        ``failed_gates`` / ``failed_steps`` say why.

    Raises:
        ValueError: an unknown data set, executor or config section.
    """
    import dagster as dg

    from pipelines import definitions

    if dataset not in DATASET_SPECS:
        raise ValueError(f"Expected a data set listed in data/datasets.yaml: {sorted(DATASET_SPECS)}. "
                         f"Received: dataset={dataset!r}. Add a line `{dataset}: {{source: ...}}` there.")
    if executor not in EXECUTORS:
        raise ValueError(f"Expected executor in {EXECUTORS}. Received: executor={executor!r}.")
    run_config = build_run_config(
        config, storage_root=None if storage_root is None else Path(storage_root).expanduser().resolve())
    if executor == "multiprocess":  # the step processes' imports start now, on another core
        start_forkserver(run_config.get("execution", {}).get("config"))
    configured = run_config.get("resources", {}).get("storage", {}).get("config", {}).get("root")
    root = Path(configured).expanduser() if configured else DEFAULT_STORAGE_ROOT
    if not root.is_absolute():  # a root from run config is repository-relative, as in StorageRoot
        root = REPO_ROOT / root
    run_config.setdefault("loggers", {"console": {"config": {"log_level": "INFO"}}})
    home = resolve_dagster_home(dagster_home)
    job = dg.build_reconstructable_job("pipelines.definitions", definitions.job_for_executor.__name__,
                                       reconstructable_args=(executor,))

    from gan_augment.cli import output_lock

    started = time.perf_counter()
    with output_lock(root / dataset), dg.DagsterInstance.from_config(str(home)) as instance:
        result = dg.execute_job(job, instance=instance, run_config=run_config,
                                tags={"dagster/partition": dataset, "gan_augment/trigger": "run_pipeline"})
        summary = _summarize(result, dataset, home, root / dataset, time.perf_counter() - started)
    if verbose:
        print(summary)
    return summary


def _summarize(result: Any, dataset: str, home: Path, storage_dir: Path, seconds: float) -> PipelineResult:
    import dagster as dg

    from pipelines.assets import ASSET_NAMES

    outputs: dict[str, Path] = {}
    tfds_directory = None
    utility = comparison = None
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        metadata = materialization.metadata
        path = metadata.get("path")
        outputs[materialization.asset_key.to_user_string()] = Path(str(path.value)) if path else storage_dir
        if "tfds_directory" in metadata:
            tfds_directory = Path(str(metadata["tfds_directory"].value))
        if "utility_table" in metadata:
            utility = f"{metadata['utility_table'].value}\n{metadata['utility_verdict'].value}"
        if "comparison" in metadata:
            comparison = str(metadata["comparison"].value)
    evaluations = result.get_asset_check_evaluations()
    failed_gates = [(e.check_name, e.description or "") for e in evaluations
                    if not e.passed and e.severity != dg.AssetCheckSeverity.WARN]
    warned = [(e.check_name, e.description or "") for e in evaluations
              if not e.passed and e.severity == dg.AssetCheckSeverity.WARN]
    step_seconds = {e.step_key: e.event_specific_data.duration_ms / 1000
                    for e in result.all_events if e.event_type_value == "STEP_SUCCESS"}
    failed_steps = [(e.step_key or "?", e.step_failure_data.error.message.strip()
                     if e.step_failure_data.error else "")
                    for e in result.get_step_failure_events()]
    names = ASSET_NAMES
    validation = storage_dir / "validation_report" / "report.html"
    downstream = storage_dir / "downstream_evaluation" / "report.md"
    return PipelineResult(
        dataset=dataset, success=bool(result.success), run_id=result.run_id, dagster_home=home,
        storage_dir=storage_dir, outputs={n: outputs[n] for n in names if n in outputs},
        tfds_directory=tfds_directory,
        validation_report=validation if "validation_report" in outputs else None,
        downstream_report=downstream if "downstream_evaluation" in outputs else None,
        failed_gates=failed_gates, failed_steps=failed_steps,
        skipped=[n for n in names if n not in outputs], seconds=seconds,
        warnings=warned, utility=utility, comparison=comparison, step_seconds=step_seconds,
    )


def main(argv: list[str] | None = None, prog: str = "python -m pipelines.run") -> int:
    """Command line of `run_pipeline`; returns 0 when the run succeeded, 1 when a gate or step
    failed. Usage errors (unknown data set, unreadable --config) exit with status 2."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run the gan_augment Dagster pipeline (the whole asset graph) for one data set.")
    parser.add_argument("dataset", nargs="?", default="digits",
                        help=f"a data set from data/datasets.yaml ({', '.join(DATASET_SPECS)}; default digits)")
    parser.add_argument("--storage-root", help="where outputs go (default data/outputs)")
    parser.add_argument("--executor", choices=EXECUTORS, default="in_process")
    parser.add_argument("--config", help="a YAML or JSON file of per-asset settings "
                                         "(e.g. {gan_model: {epochs: 60}})")
    parser.add_argument("--smoke", action="store_true",
                        help="the small configuration of the tests (pipelines.config.smoke_config: "
                             "SMOKE_CONFIG for images, TABLE_SMOKE_CONFIG for tables)")
    parser.add_argument("--dagster-home", help="Dagster instance folder (default $DAGSTER_HOME or "
                                               "data/dagster_home)")
    parser.add_argument("--project-dir", help=f"the folder holding data/datasets.yaml (default "
                                              f"${PROJECT_DIR_ENV}, else the working directory or the "
                                              f"nearest parent holding it; now {REPO_ROOT})")
    args = parser.parse_args(argv)
    if args.project_dir and Path(args.project_dir).expanduser().resolve() != REPO_ROOT:
        parser.error(f"--project-dir {args.project_dir}: the pipeline was already loaded from {REPO_ROOT}; "
                     f"use `gan-augment run --project-dir ...` or set ${PROJECT_DIR_ENV}.")
    config: dict[str, Any] = {}
    if args.smoke and args.dataset in DATASET_SPECS:  # an unknown name is refused below
        from gan_augment.data.sources import source_kind

        config.update(smoke_config(source_kind(DATASET_SPECS[args.dataset].resolved_source())))
    if args.config:
        import yaml

        try:
            loaded = yaml.safe_load(Path(args.config).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            parser.error(f"--config {args.config}: {exc}")
        if not isinstance(loaded, dict) or not all(isinstance(v, dict) for v in loaded.values()):
            parser.error(f"--config {args.config}: expected sections of fields, e.g. "
                         "`gan_model: {epochs: 60}`.")
        for section, fields in loaded.items():
            config.setdefault(section, {}).update(fields)
    try:
        result = run_pipeline(args.dataset, storage_root=args.storage_root, config=config or None,
                              executor=args.executor, dagster_home=args.dagster_home)
    except GanAugmentError as exc:  # e.g. another live run holds the output folder: one line
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, TypeError, ImportError) as exc:  # unknown data set / section / executor package
        parser.error(str(exc))
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())

"""Jobs: the whole graph for one data set, in-process by default.

In-process is the default: every step of this graph imports TensorFlow (and validation Great
Expectations). The steps form a chain, so one data set gains nothing from running steps in
parallel; the multiprocess job is there for isolation (a step that crashes the interpreter cannot
take the run worker with it) and locally proves what the scale-out executors need. Its step
processes fork from a *forkserver* that imported TensorFlow, Great Expectations and this package
once (`pipelines.forkserver`), instead of each paying those imports again in a fresh interpreter
(``start_method: {spawn: {}}`` in the run config restores that; bench/pipeline_overhead.py
measures both).

``GAN_AUGMENT_EXECUTOR`` picks the executor of `augment_job` and of asset runs started from the
UI: ``in_process`` (default), ``multiprocess``, or a scale-out executor whose package you
installed — ``k8s`` (dagster-k8s), ``celery`` (dagster-celery), ``dask`` (dagster-dask). Their
run config examples are in deploy/executors/. Steps on other machines need the storage root on
a shared filesystem and a Dagster instance they can all reach (PostgreSQL, deploy/dagster.yaml).
"""

import os

import dagster as dg

from pipelines.assets import ASSETS
from pipelines.config import DATASETS
from pipelines.forkserver import with_defaults

#: executor name -> (module, attribute); the scale-out ones are imported only when chosen
EXECUTORS: dict[str, tuple[str, str]] = {
    "in_process": ("dagster", "in_process_executor"),
    "multiprocess": ("pipelines.jobs", "multiprocess_executor"),
    "k8s": ("dagster_k8s", "k8s_job_executor"),
    "celery": ("dagster_celery", "celery_executor"),
    "dask": ("dagster_dask", "dask_executor"),
}


def executor_from_env(name: str | None = None) -> dg.ExecutorDefinition:
    """The executor named by ``name`` or ``$GAN_AUGMENT_EXECUTOR`` (default ``in_process``)."""
    import importlib

    name = (name or os.environ.get("GAN_AUGMENT_EXECUTOR") or "in_process").strip()
    if name not in EXECUTORS:
        raise ValueError(f"Expected GAN_AUGMENT_EXECUTOR in {sorted(EXECUTORS)}. Received: {name!r}.")
    module, attribute = EXECUTORS[name]
    try:
        return getattr(importlib.import_module(module), attribute)
    except ImportError as exc:
        raise ImportError(f"GAN_AUGMENT_EXECUTOR={name!r} needs the package "
                          f"{module.replace('_', '-')}: pip install {module.replace('_', '-')}.") from exc


SELECTION = dg.AssetSelection.assets(*ASSETS)

#: Dagster's multiprocess executor (same name and config), forking step processes from a
#: forkserver by default. Job-level default run config does not reach partitioned asset jobs
#: launched with run config of their own, so the default lives in the executor.
multiprocess_executor = dg.multiprocess_executor.configured(
    with_defaults, name="multiprocess", config_schema=dg.multiprocess_executor.config_schema.as_field().config_type)


#: The whole graph for one data set (partition); in-process unless GAN_AUGMENT_EXECUTOR says otherwise.
augment_job = dg.define_asset_job(
    "augment_pipeline", selection=SELECTION, partitions_def=DATASETS,
    executor_def=executor_from_env(),
    description="Ingest → train the GAN → generate and validate (blocking gates) → augmented "
                "data set (npz + TFDS) → downstream evaluation, for one data set.",
)

#: The same graph, one process per step (forked from a server that imported TensorFlow once).
augment_job_multiprocess = dg.define_asset_job(
    "augment_pipeline_multiprocess", selection=SELECTION, partitions_def=DATASETS,
    executor_def=multiprocess_executor,
    description="The augment pipeline with one process per step (multiprocess executor).",
)

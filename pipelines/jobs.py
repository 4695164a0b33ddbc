"""Jobs: the whole graph for one data set, in-process by default.

In-process is the default: every step of this graph imports TensorFlow (and validation Great
Expectations). The steps form a chain, so one data set gains nothing from running steps in
parallel; the multiprocess job is there for isolation (a step that crashes the interpreter cannot
take the run worker with it) and locally proves what the scale-out executors need. Its step
processes fork from a *forkserver* that imported TensorFlow, Great Expectations and this package
once (`MULTIPROCESS_DEFAULTS`), instead of each paying those imports again in a fresh interpreter
(``start_method: {spawn: {}}`` in the run config restores that; bench/pipeline_overhead.py
measures both).

``GAN_AUGMENT_EXECUTOR`` picks the executor of `augment_job` and of asset runs started from the
UI: ``in_process`` (default), ``multiprocess``, or a scale-out executor whose package you
installed — ``k8s`` (dagster-k8s), ``celery`` (dagster-celery), ``dask`` (dagster-dask). Their
run config examples are in deploy/executors/. Steps on other machines need the storage root on
a shared filesystem and a Dagster instance they can all reach (PostgreSQL, deploy/dagster.yaml).
"""

import os
from collections.abc import Mapping
from typing import Any

import dagster as dg

from pipelines.assets import ASSETS
from pipelines.config import DATASETS

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

#: Dagster's instance storage (SQLAlchemy, Alembic, the SQLite run/event/schedule storages, the
#: compute-log manager, the secrets loader): a step process opens the instance before its step
#: (`DagsterInstance.from_ref`), which imports ~450 modules — 0.8 s per step on a 2-core machine
#: unless the forkserver imported them. An instance configured otherwise (PostgreSQL,
#: deploy/dagster.yaml) imports its own storage in each step; missing names are skipped.
INSTANCE_STORAGE_MODULES = ["dagster._core.instance.factory", "dagster._core.storage.sqlite_storage",
                            "dagster._core.storage.local_compute_log_manager", "dagster._core.storage.root",
                            "dagster._core.scheduler", "dagster._core.run_coordinator",
                            "dagster._core.secrets.loader", "dagster._core.secrets.env_file",
                            "dagster._core.storage.migration.utils", "upath.implementations.local"]

#: imported once by the multiprocess executor's forkserver; every step process forks from it
FORKSERVER_PRELOAD = ["pipelines.definitions", "tensorflow", "keras", "gan_augment.training",
                      "gan_augment.validation", "gan_augment.downstream", "gan_augment.export",
                      *INSTANCE_STORAGE_MODULES]

#: the multiprocess executor's settings unless run config says otherwise
MULTIPROCESS_DEFAULTS: dict = {"max_concurrent": 2,
                               "start_method": {"forkserver": {"preload_modules": FORKSERVER_PRELOAD}}}


def _with_defaults(config: dict) -> dict:
    """Run config of the multiprocess executor with `MULTIPROCESS_DEFAULTS` for what it leaves out."""
    return {**MULTIPROCESS_DEFAULTS, **{k: v for k, v in config.items() if v is not None}}


def forkserver_preload(execution_config: Mapping[str, Any] | None = None) -> list[str] | None:
    """The modules the multiprocess executor's forkserver imports for a run whose ``execution:
    config:`` section is ``execution_config`` (the defaults filled in as the executor fills them,
    `dagster._core.executor.multiprocess` first as the executor puts it); None when the start
    method is not forkserver."""
    start_method = _with_defaults(dict(execution_config or {})).get("start_method") or {}
    if "forkserver" not in start_method:
        return None
    # without preload_modules the executor preloads the job's module
    preload = (start_method["forkserver"] or {}).get("preload_modules") or ["pipelines.definitions"]
    first = "dagster._core.executor.multiprocess"
    return [first, *(m for m in preload if m != first)]


def start_forkserver(execution_config: Mapping[str, Any] | None = None) -> bool:
    """Start the multiprocess executor's forkserver now, so that its imports (TensorFlow, Keras,
    GX, the package: ~4 s on a 2-core machine) run on another core while this process is still
    setting the run up, instead of after the run asked for its first step. Dagster's executor
    finds the server running and forks every step process from it. Returns False, starting
    nothing, when the run's start method is not forkserver (`forkserver_preload`)."""
    import multiprocessing
    from multiprocessing import forkserver

    preload = forkserver_preload(execution_config)
    if preload is None:
        return False
    multiprocessing.get_context("forkserver").set_forkserver_preload(preload)
    forkserver.ensure_running()
    return True


#: Dagster's multiprocess executor (same name and config), forking step processes from a
#: forkserver by default. Job-level default run config does not reach partitioned asset jobs
#: launched with run config of their own, so the default lives in the executor.
multiprocess_executor = dg.multiprocess_executor.configured(
    _with_defaults, name="multiprocess", config_schema=dg.multiprocess_executor.config_schema.as_field().config_type)


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

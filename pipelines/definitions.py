"""The Dagster definitions of the gan_augment pipeline: ``dagster dev -w workspace.yaml``.

Also loadable directly: ``dagster asset materialize -m pipelines.definitions --select '*'
--partition digits``. Runs are in-process by default (see `pipelines.jobs`).
"""

from __future__ import annotations

import dagster as dg

from pipelines.assets import ASSETS
from pipelines.config import DATASETS
from pipelines.io_managers import (
    AugmentedDatasetIOManager,
    DatasetIOManager,
    KerasModelIOManager,
    ReportIOManager,
    UpscalerIOManager,
)
from pipelines.jobs import SELECTION, augment_job, augment_job_multiprocess, executor_from_env
from pipelines.resources import IncomingData, StorageRoot
from pipelines.schedules import weekly_retrain
from pipelines.sensors import incoming_data_sensor


def make_resources(storage_root: str | None = None, incoming_root: str | None = None,
                   encoder_cache: str | None = None) -> dict[str, object]:
    """The resources, keyed as the assets expect them.

    Without arguments the storage root can still be set per run (run config
    ``resources: {storage: {config: {root: ...}}}``); with ``storage_root`` it is fixed.
    """
    if storage_root is None and encoder_cache is None:
        storage = StorageRoot.configure_at_launch()
    else:
        storage = StorageRoot(root=str(storage_root or "data/outputs"),
                              encoder_cache=None if encoder_cache is None else str(encoder_cache))
    return {
        "storage": storage,
        "incoming": IncomingData(root=str(incoming_root or "data/incoming")),
        "dataset_io_manager": DatasetIOManager(storage=storage),
        "keras_io_manager": KerasModelIOManager(storage=storage),
        "upscaler_io_manager": UpscalerIOManager(storage=storage),
        "report_io_manager": ReportIOManager(storage=storage),
        "tfds_io_manager": AugmentedDatasetIOManager(storage=storage),
    }


defs = dg.Definitions(
    assets=ASSETS,
    jobs=[augment_job, augment_job_multiprocess],
    schedules=[weekly_retrain],
    sensors=[incoming_data_sensor],
    resources=make_resources(),
    executor=executor_from_env(),
)


def job_for_executor(executor: str = "in_process") -> dg.JobDefinition:
    """The whole graph as the ``augment_pipeline`` job with the named executor (see
    `pipelines.jobs.EXECUTORS`); `pipelines.run` rebuilds it in every process it starts."""
    job = dg.define_asset_job(augment_job.name, selection=SELECTION, partitions_def=DATASETS,
                              executor_def=executor_from_env(executor))
    return dg.Definitions(assets=ASSETS, jobs=[job], resources=make_resources()).resolve_job_def(job.name)

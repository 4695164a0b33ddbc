"""Jobs: the whole graph for one data set, run in-process (default) or one process per step.

In-process is the default: every step of this graph imports TensorFlow (and validation Great
Expectations), and the multiprocess executor pays that import once per step, in a new process.
Steps here form a chain, so running them in parallel gains nothing for one data set; the
multiprocess job is there for isolation (a crashing step cannot take the run down with it) and
as the template for the scale-out executors in deploy/.
"""

from __future__ import annotations

import dagster as dg

from pipelines.assets import ASSETS
from pipelines.config import DATASETS

SELECTION = dg.AssetSelection.assets(*ASSETS)

#: The whole graph for one data set (partition), every step in the run's own process.
augment_job = dg.define_asset_job(
    "augment_pipeline", selection=SELECTION, partitions_def=DATASETS,
    executor_def=dg.in_process_executor,
    description="Ingest → train the GAN → generate and validate (blocking gates) → augmented "
                "data set (npz + TFDS) → downstream evaluation, for one data set, in-process.",
)

#: The same graph, one process per step (each step re-imports TensorFlow: slower, isolated).
augment_job_multiprocess = dg.define_asset_job(
    "augment_pipeline_multiprocess", selection=SELECTION, partitions_def=DATASETS,
    executor_def=dg.multiprocess_executor.configured({"max_concurrent": 2}),
    description="The augment pipeline with one process per step (multiprocess executor).",
)

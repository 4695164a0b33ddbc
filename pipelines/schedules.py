"""A weekly retrain of every data set: one run per partition, Mondays 03:00 UTC.

A run whose training data and GAN options did not change resumes its finished checkpoint instead
of training again (the same seed would give the same GAN); new data in a data set's source, or
new options, train afresh.
"""

import dagster as dg

from pipelines.config import DATASETS
from pipelines.jobs import augment_job

WEEKLY_CRON = "0 3 * * 1"


@dg.schedule(
    cron_schedule=WEEKLY_CRON, job=augment_job, execution_timezone="UTC",
    description="Retrain and re-validate every data set in data/datasets.yaml, weekly.",
)
def weekly_retrain(context: dg.ScheduleEvaluationContext):
    """One run request per data set; the run key ties it to this tick (no double runs)."""
    tick = context.scheduled_execution_time
    stamp = tick.strftime("%Y-%m-%dT%H:%M") if tick is not None else "manual"
    for dataset in DATASETS.get_partition_keys():
        yield dg.RunRequest(
            run_key=f"weekly:{dataset}:{stamp}", partition_key=dataset,
            tags={"gan_augment/trigger": "weekly_retrain"},
        )

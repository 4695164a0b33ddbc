"""A sensor that starts a run for a data set when new files land in ``data/incoming/<dataset>/``.

The sensor lists the files under each data set's incoming folder (hidden files such as
``.gitkeep`` are ignored) and fingerprints them (relative path, size, modification time). The
cursor remembers the last fingerprint per data set; a changed, non-empty folder gives one run
request whose run key is the data set and the fingerprint, so the same files never start two
runs. Folders of names not in data/datasets.yaml are ignored (a line in the sensor log says so).
Point the data set's ``source`` at its incoming folder to train on what lands there.
"""

import hashlib
import json
from pathlib import Path

import dagster as dg

from pipelines.config import DATASETS
from pipelines.jobs import augment_job
from pipelines.resources import IncomingData


def incoming_files(folder: Path) -> list[Path]:
    """Regular, non-hidden files under ``folder`` (recursively), sorted."""
    if not folder.is_dir():
        return []
    return sorted(
        p for p in folder.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def fingerprint(folder: Path, files: list[Path]) -> str:
    """A hash of the files' relative paths, sizes and modification times."""
    h = hashlib.sha256()
    for path in files:
        stat = path.stat()
        h.update(f"{path.relative_to(folder).as_posix()}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


@dg.sensor(
    job=augment_job, minimum_interval_seconds=60,
    description="Starts the augment pipeline for a data set when new files land in "
                "`data/incoming/<dataset>/`.",
)
def incoming_data_sensor(context: dg.SensorEvaluationContext, incoming: IncomingData):
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    known = set(DATASETS.get_partition_keys())
    root = incoming.path
    if root.is_dir():
        for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if folder.name not in known:
                context.log.info(f"Ignoring {folder}: {folder.name!r} is not in data/datasets.yaml.")
    requests: list[dg.RunRequest] = []
    cursor = dict(seen)
    for dataset in sorted(known):
        folder = root / dataset
        files = incoming_files(folder)
        if not files:
            cursor.pop(dataset, None)  # emptied: the same files landing again count as new
            continue
        digest = fingerprint(folder, files)
        if seen.get(dataset) == digest:
            continue
        cursor[dataset] = digest
        requests.append(dg.RunRequest(
            run_key=f"incoming:{dataset}:{digest}", partition_key=dataset,
            tags={"gan_augment/trigger": "incoming_data", "gan_augment/files": str(len(files))},
        ))
    if not requests:
        return dg.SensorResult(skip_reason=f"No new files in {root}/<dataset>/.",
                               cursor=json.dumps(cursor, sort_keys=True))
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(cursor, sort_keys=True))

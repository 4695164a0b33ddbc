"""The multiprocess executor's forkserver: what it imports once for every step process, and
starting it early. Light on purpose (no Dagster, no TensorFlow at import), so that a command can
start the server before it imports Dagster itself (`pipelines.command`).

Dagster's multiprocess executor forks each step process from a *forkserver* when the run config's
start method is ``forkserver`` (this project's default, `MULTIPROCESS_DEFAULTS`): the server
imports `FORKSERVER_PRELOAD` once, and a forked step starts with all of it (0.1 s from
"launching" to "executing" on a 2-core machine, against 4-7 s for a fresh interpreter that imports
TensorFlow again). The server's own imports take ~4.5 s; `start_forkserver` starts them while the
run is still being set up, on the other core.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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

#: imported once by the forkserver; every step process forks from it with all of these
FORKSERVER_PRELOAD = ["pipelines.definitions", "tensorflow", "keras", "gan_augment.training",
                      "gan_augment.validation", "gan_augment.downstream", "gan_augment.export",
                      *INSTANCE_STORAGE_MODULES]

#: the multiprocess executor's settings unless run config says otherwise
MULTIPROCESS_DEFAULTS: dict = {"max_concurrent": 2,
                               "start_method": {"forkserver": {"preload_modules": FORKSERVER_PRELOAD}}}


def with_defaults(config: dict) -> dict:
    """Run config of the multiprocess executor with `MULTIPROCESS_DEFAULTS` for what it leaves out."""
    return {**MULTIPROCESS_DEFAULTS, **{k: v for k, v in config.items() if v is not None}}


def forkserver_preload(execution_config: Mapping[str, Any] | None = None) -> list[str] | None:
    """The modules the multiprocess executor's forkserver imports for a run whose ``execution:
    config:`` section is ``execution_config`` (the defaults filled in as the executor fills them,
    `dagster._core.executor.multiprocess` first as the executor puts it); None when the start
    method is not forkserver."""
    start_method = with_defaults(dict(execution_config or {})).get("start_method") or {}
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

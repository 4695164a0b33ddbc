"""The examples in deploy/ on real engines, on this machine's loopback only.

* ``deploy/executors/dask.yaml``: the whole graph for ``digits`` (``SMOKE_CONFIG``) through the
  dagster-dask executor against a real ``dask.distributed.LocalCluster`` (scheduler and two worker
  processes on 127.0.0.1, no dashboard), started through `run_pipeline` (``executor="dask"``)
  with the example's run config, its cluster address pointed at that cluster.
* ``deploy/dagster.yaml``, copied as it is into ``$DAGSTER_HOME``: runs, events and check
  results in a real PostgreSQL server (``initdb`` + ``pg_ctl`` in a temporary folder, 127.0.0.1 on
  a free port, password auth, as the ``postgres`` user when the tests run as root).

Both need the ``deploy`` extra (``pip install -e '.[deploy]'``: dagster-dask, dagster-postgres)
and skip, saying why, without it; the PostgreSQL test installs the server binaries when they
are missing (``apt-get install postgresql``, as root) and skips, saying why, when it cannot. Each runs the whole graph (a minute or two on 2 CPU cores):
``pytest -m slow tests/test_deploy.py``. Every process they start is stopped in a ``finally``.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import yaml
from helpers import encoder_cache  # noqa: F401  (autouse: one encoder cache per module)

from gan_augment.validation.gates import GATES_BY_KIND
from pipelines.assets import ASSET_NAMES
from pipelines.checks import UTILITY_CHECK
from pipelines.config import REPO_ROOT, SMOKE_CONFIG, build_run_config
from pipelines.run import run_pipeline

DEPLOY = REPO_ROOT / "deploy"
LOOPBACK = "127.0.0.1"

# dagster-dask / dagster-postgres are published up to 0.29.27, which pin dagster==1.13.27; on a
# newer dagster 1.13.x they work but warn at import
pytestmark = pytest.mark.filterwarnings("ignore:Found version mismatch:UserWarning")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def _records(instance: dg.DagsterInstance, run_id: str, event_type: str) -> list:
    """The run's events of one type, as stored in ``instance``."""
    return [r.event_log_entry for r in instance.get_records_for_run(run_id).records
            if r.event_log_entry.dagster_event is not None
            and r.event_log_entry.dagster_event.event_type_value == event_type]


def _check_whole_graph(result, instance: dg.DagsterInstance) -> None:
    """What the in-process tests check of a good run, read back from the run's instance."""
    assert result.success, (result.failed_steps, result.failed_gates)
    assert set(result.outputs) == set(ASSET_NAMES) and result.skipped == []
    assert result.failed_gates == [] and result.failed_steps == []
    assert result.validation_report is not None and result.validation_report.is_file()
    assert result.downstream_report is not None and result.downstream_report.is_file()
    assert result.tfds_directory is not None and (result.tfds_directory / "dataset_info.json").is_file()
    assert (result.storage_dir / "augmented_dataset" / "augmented.npz").is_file()
    assert (result.storage_dir / "gan_model.keras").is_file()

    run = instance.get_run_by_id(result.run_id)
    assert run.status == dg.DagsterRunStatus.SUCCESS and run.tags["dagster/partition"] == "digits"
    materialized = {e.dagster_event.asset_key.to_user_string()
                    for e in _records(instance, result.run_id, "ASSET_MATERIALIZATION")}
    assert materialized == set(ASSET_NAMES)
    checks = {e.dagster_event.event_specific_data.check_name: e.dagster_event.event_specific_data
              for e in _records(instance, result.run_id, "ASSET_CHECK_EVALUATION")}
    assert set(checks) == {*GATES_BY_KIND["image"], UTILITY_CHECK}
    assert all(checks[gate].passed for gate in GATES_BY_KIND["image"])
    latest = instance.get_latest_materialization_event(dg.AssetKey("augmented_dataset"))
    assert latest is not None and latest.run_id == result.run_id


# ---------------------------------------------------------------------- Dask
def test_the_dask_example_config_is_valid_run_config():
    """deploy/executors/dask.yaml: the executor's config and the storage resource, nothing else."""
    pytest.importorskip("dagster_dask", reason="the deploy extra is not installed: pip install -e '.[deploy]'")
    from pipelines.definitions import job_for_executor

    config = yaml.safe_load((DEPLOY / "executors" / "dask.yaml").read_text())
    assert set(config) == {"execution", "resources"}
    assert set(config["execution"]["config"]["cluster"]) == {"existing"}
    job = job_for_executor("dask")
    assert job.executor_def.name == "dask"
    validated = dg.validate_run_config(job, config)  # raises on a field the job does not take
    assert validated["execution"]["dask"]["cluster"]["existing"]["address"].startswith("tcp://")
    assert set(validated["resources"]["storage"]["config"]) == {"root", "encoder_cache"}


@pytest.mark.slow  # the whole graph on SMOKE_CONFIG, each step in a Dask worker process
def test_the_whole_graph_runs_on_a_dask_cluster_on_loopback(tmp_path):
    pytest.importorskip("dagster_dask", reason="the deploy extra is not installed: pip install -e '.[deploy]'")
    import psutil
    from dask.distributed import Client, LocalCluster

    config = yaml.safe_load((DEPLOY / "executors" / "dask.yaml").read_text())
    storage = config["resources"]["storage"]["config"]
    storage["root"], storage["encoder_cache"] = str(tmp_path / "outputs"), os.environ["GAN_AUGMENT_CACHE"]
    home = tmp_path / "dagster_home"  # SQLite: the workers share this machine's disk
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")

    # processes: Dagster steps are not thread-safe, and a worker process keeps TensorFlow imported
    cluster = LocalCluster(host=LOOPBACK, protocol="tcp", n_workers=2, threads_per_worker=1,
                           processes=True, dashboard_address=None)
    worker_pids: list[int] = []
    try:
        address = cluster.scheduler_address
        assert address.startswith(f"tcp://{LOOPBACK}:")
        with Client(address) as client:
            workers = client.scheduler_info()["workers"]
            assert len(workers) == 2 and all(w.startswith(f"tcp://{LOOPBACK}:") for w in workers)
            worker_pids = sorted(client.run(os.getpid).values())
        config["execution"]["config"]["cluster"]["existing"]["address"] = address
        run_config = {**build_run_config(SMOKE_CONFIG), **config}

        result = run_pipeline("digits", config=run_config, executor="dask", dagster_home=home,
                              verbose=False)

        with dg.DagsterInstance.from_config(str(home)) as instance:
            _check_whole_graph(result, instance)
            assert instance.get_run_by_id(result.run_id).job_name == "augment_pipeline"
            # every step ran in a Dask worker process, none in this one
            starts = _records(instance, result.run_id, "STEP_START")
            assert {e.step_key for e in starts} == set(result.step_seconds)
            step_pids = {e.dagster_event.pid for e in starts}
            assert step_pids <= set(worker_pids) and os.getpid() not in step_pids
    finally:
        cluster.close(timeout=60)
    deadline = time.monotonic() + 30  # the nannies stop their workers on close
    while any(psutil.pid_exists(pid) for pid in worker_pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert worker_pids and not any(psutil.pid_exists(pid) for pid in worker_pids)


# ---------------------------------------------------------------------- PostgreSQL
def _find_postgres_binaries() -> tuple[Path, Path] | None:
    """``initdb`` and ``pg_ctl``: on PATH, else Debian's /usr/lib/postgresql/<version>/bin."""
    found = [shutil.which(name) for name in ("initdb", "pg_ctl")]
    if all(found):
        return Path(found[0]), Path(found[1])
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(folder) / "initdb").is_file() and (Path(folder) / "pg_ctl").is_file():
            return Path(folder) / "initdb", Path(folder) / "pg_ctl"
    return None


def _postgres_binaries() -> tuple[Path, Path]:
    """The server binaries; when missing, installed with ``apt-get install postgresql`` where
    that can run (root on a Debian-like system with a reachable package mirror), else a skip
    that says why."""
    found = _find_postgres_binaries()
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        tried = []
        for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "postgresql"]):
            try:
                done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600, check=False)
            except subprocess.TimeoutExpired:
                tried.append(f"`{' '.join(command)}` timed out")
                break
            if done.returncode != 0:
                tried.append(f"`{' '.join(command)}` failed: {done.stderr.strip()[-300:]}")
                break
        found = _find_postgres_binaries()
        if found is None:
            pytest.skip("no PostgreSQL server binaries, and installing them did not work: " + "; ".join(tried))
    if found is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl on PATH or in /usr/lib/postgresql/*/bin), "
                    "and apt-get cannot run here (needs root): apt-get install postgresql")
    return found


@contextlib.contextmanager
def postgres_server(db_name: str = "dagster") -> Iterator[dict[str, str]]:
    """A PostgreSQL server of its own: a new cluster in a temporary folder, listening on
    127.0.0.1 on a free port only (no Unix socket), password authentication for user
    ``dagster``; yields the ``DAGSTER_PG_*`` settings. Stopped and deleted on exit.

    PostgreSQL refuses to run as root: as root it runs as the ``postgres`` user (skip when
    there is none)."""
    initdb, pg_ctl = _postgres_binaries()
    as_user: dict[str, int] = {}
    if os.geteuid() == 0:
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root, which PostgreSQL refuses, and there is no 'postgres' user to run "
                        "the server as (apt-get install postgresql creates one)")
        as_user = {"user": account.pw_uid, "group": account.pw_gid}
    folder = Path(tempfile.mkdtemp(prefix="gan_augment_pg_"))  # not under pytest's root-only tmp
    data, log, password_file = folder / "data", folder / "server.log", folder / "password"
    password = secrets.token_hex(16)
    password_file.write_text(password + "\n")
    if as_user:
        for path in (folder, password_file):
            os.chown(path, as_user["user"], as_user["group"])

    def run(*command: str | Path) -> subprocess.CompletedProcess:
        return subprocess.run([str(c) for c in command], check=False, cwd=folder, capture_output=True,
                              text=True, timeout=120, env={**os.environ, "LC_ALL": "C"}, **as_user)

    started = False
    try:
        made = run(initdb, "-D", data, "-U", "dagster", f"--pwfile={password_file}", "--auth=scram-sha-256",
                   "--encoding=UTF8", "--no-locale", "--no-sync")
        if made.returncode != 0:
            pytest.skip(f"initdb failed: {made.stderr.strip()[-500:]}")
        port = _free_port()
        with open(data / "postgresql.conf", "a") as conf:  # appended: the file keeps its owner
            conf.write(f"\nlisten_addresses = '{LOOPBACK}'\nport = {port}\nunix_socket_directories = ''\n"
                       "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n")
        start = run(pg_ctl, "-D", data, "-l", log, "-w", "-t", "60", "start")
        started = True
        if start.returncode != 0:
            details = log.read_text()[-1000:] if log.exists() else start.stderr
            raise RuntimeError(f"pg_ctl start failed ({start.returncode}): {details}")
        import psycopg2

        connection = psycopg2.connect(host=LOOPBACK, port=port, user="dagster", password=password,
                                      dbname="postgres", connect_timeout=10)
        connection.autocommit = True  # CREATE DATABASE runs outside a transaction
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"CREATE DATABASE {db_name}")
        finally:
            connection.close()
        yield {"DAGSTER_PG_USERNAME": "dagster", "DAGSTER_PG_PASSWORD": password,
               "DAGSTER_PG_HOST": LOOPBACK, "DAGSTER_PG_PORT": str(port), "DAGSTER_PG_DB": db_name}
    finally:
        if started:
            stopped = run(pg_ctl, "-D", data, "-m", "fast", "-w", "-t", "60", "stop")
            pid_file = data / "postmaster.pid"
            if stopped.returncode != 0 and pid_file.exists():  # last resort: the postmaster's pid
                with contextlib.suppress(OSError, ValueError):
                    os.kill(int(pid_file.read_text().split()[0]), signal.SIGKILL)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow  # the whole graph on SMOKE_CONFIG, recorded in PostgreSQL
def test_the_postgres_instance_example_records_a_whole_run(tmp_path, monkeypatch):
    pytest.importorskip("dagster_postgres", reason="the deploy extra is not installed: pip install -e '.[deploy]'")
    import psycopg2
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage

    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(DEPLOY / "dagster.yaml", home / "dagster.yaml")  # the example as it is
    monkeypatch.setenv("DAGSTER_COMPUTE_LOG_DIR", str(tmp_path / "compute_logs"))
    with postgres_server() as settings:
        for name, value in settings.items():
            monkeypatch.setenv(name, value)
        result = run_pipeline("digits", storage_root=tmp_path / "outputs", config=SMOKE_CONFIG,
                              dagster_home=home, verbose=False)

        with dg.DagsterInstance.from_config(str(home)) as instance:
            assert isinstance(instance.run_storage, PostgresRunStorage)
            assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
            assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
            _check_whole_graph(result, instance)
        # nothing went to SQLite next to the dagster.yaml
        assert sorted(p.name for p in home.iterdir()) == ["dagster.yaml"]

        # and the rows are in the database itself
        connection = psycopg2.connect(host=settings["DAGSTER_PG_HOST"], port=int(settings["DAGSTER_PG_PORT"]),
                                      user=settings["DAGSTER_PG_USERNAME"],
                                      password=settings["DAGSTER_PG_PASSWORD"],
                                      dbname=settings["DAGSTER_PG_DB"], connect_timeout=10)
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT status, partition FROM runs WHERE run_id = %s", (result.run_id,))
                assert cursor.fetchall() == [("SUCCESS", "digits")]
                cursor.execute("SELECT count(*) FROM event_logs WHERE run_id = %s "
                               "AND dagster_event_type = 'ASSET_MATERIALIZATION'", (result.run_id,))
                assert cursor.fetchone()[0] == len(ASSET_NAMES)
                cursor.execute("SELECT check_name, execution_status FROM asset_check_executions "
                               "WHERE run_id = %s", (result.run_id,))
                # a row per planned check; those that do not apply to images stay PLANNED
                executions = dict(cursor.fetchall())
                evaluated = {name for name, status in executions.items() if status in ("SUCCEEDED", "FAILED")}
                assert evaluated == {*GATES_BY_KIND["image"], UTILITY_CHECK}, executions
                assert all(executions[gate] == "SUCCEEDED" for gate in GATES_BY_KIND["image"]), executions
        finally:
            connection.close()

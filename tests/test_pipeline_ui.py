"""UI smoke test: the Dagster webserver serves the pipeline's asset graph and its checks.

Starts ``dagster-webserver -w workspace.yaml`` on a free port of 127.0.0.1 with a temporary
DAGSTER_HOME, asks its GraphQL endpoint for the asset nodes and their checks, and stops it (the
whole process group). About 15–30 s, most of it the webserver loading the definitions.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from gan_augment.validation.gates import ALL_GATES
from pipelines.config import DATASETS, REPO_ROOT

STARTUP_TIMEOUT_S = 50

QUERY = """
{
  assetNodes {
    assetKey { path }
    groupName
    isPartitioned
    partitionKeys
    assetChecksOrError {
      __typename
      ... on AssetChecks { checks { name blocking } }
    }
  }
}
"""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _graphql(url: str, query: str, timeout: float = 10.0) -> dict:
    request = urllib.request.Request(url, data=json.dumps({"query": query}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def _stop(process: subprocess.Popen) -> None:
    """Terminate the webserver's whole process group (it starts a code server child)."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
    except ProcessLookupError:
        pass


@pytest.fixture
def webserver(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    port = _free_port()
    exe = Path(sys.executable).with_name("dagster-webserver")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "dagster_webserver"]
    log = (tmp_path / "webserver.log").open("w")
    process = subprocess.Popen(
        [*command, "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO_ROOT, env={**os.environ, "DAGSTER_HOME": str(home)},
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/graphql"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"dagster-webserver exited with {process.returncode}:\n"
                            + (tmp_path / "webserver.log").read_text()[-3000:])
            try:
                answer = _graphql(url, "{ version }", timeout=2)
                if answer.get("data", {}).get("version"):
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"dagster-webserver did not answer within {STARTUP_TIMEOUT_S} s:\n"
                            + (tmp_path / "webserver.log").read_text()[-3000:])
            time.sleep(0.5)
        yield url
    finally:
        _stop(process)
        log.close()


def test_webserver_serves_the_asset_graph_and_blocking_checks(webserver):
    data = _graphql(webserver, QUERY, timeout=30)
    assert "errors" not in data, data.get("errors")
    nodes = {"/".join(n["assetKey"]["path"]): n for n in data["data"]["assetNodes"]}
    assert set(nodes) == {"source_dataset", "gan_model", "upscaler", "synthetic_samples", "validation_report",
                          "augmented_dataset", "downstream_evaluation"}
    for node in nodes.values():
        assert node["isPartitioned"] and node["partitionKeys"] == DATASETS.get_partition_keys()
        assert node["groupName"] == "gan_augment"
    checks = nodes["synthetic_samples"]["assetChecksOrError"]
    assert checks["__typename"] == "AssetChecks"
    assert {c["name"] for c in checks["checks"]} == set(ALL_GATES)
    assert all(c["blocking"] for c in checks["checks"])
    utility = nodes["augmented_dataset"]["assetChecksOrError"].get("checks")
    assert utility == [{"name": "utility_gain", "blocking": True}]
    upscaler = nodes["upscaler"]["assetChecksOrError"].get("checks")
    assert upscaler == [{"name": "psnr_vs_bicubic", "blocking": True}]

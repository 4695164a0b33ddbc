"""deploy/kubernetes/multi_worker_training.yaml: every pod's TF_CONFIG, rendered by the pod's own
shell command, is what `train_gan(strategy="multi_worker")` accepts, the cluster is the same for
all pods and names the headless Service's pod DNS names, and the command is a valid CLI call."""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from gan_augment.training import parse_tf_config

EXAMPLE = Path(__file__).resolve().parents[1] / "deploy" / "kubernetes" / "multi_worker_training.yaml"


def documents() -> tuple[dict, dict]:
    docs = {doc["kind"]: doc for doc in yaml.safe_load_all(EXAMPLE.read_text())}
    return docs["Service"], docs["Job"]


def render_tf_config(job: dict, index: int) -> str:
    """Run the container's script up to the exec with ``JOB_COMPLETION_INDEX=index``; print TF_CONFIG."""
    container = job["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"]}
    script = container["args"][0]
    head = script[: script.index("exec ")]
    done = subprocess.run(["/bin/sh", "-c", head + 'printf "%s" "$TF_CONFIG"'], capture_output=True, text=True,
                          env={**env, "JOB_COMPLETION_INDEX": str(index), "PATH": "/usr/bin:/bin"}, check=True)
    return done.stdout


def test_every_pod_gets_a_tf_config_train_gan_accepts():
    service, job = documents()
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed" and spec["completions"] == spec["parallelism"]
    assert spec["template"]["spec"]["subdomain"] == service["metadata"]["name"]
    assert service["spec"]["clusterIP"] == "None"  # headless: pod DNS names
    name, port = job["metadata"]["name"], service["spec"]["ports"][0]["port"]
    expected = [f"{name}-{i}.{service['metadata']['name']}:{port}" for i in range(spec["completions"])]
    for index in range(spec["completions"]):
        config = parse_tf_config(render_tf_config(job, index))
        assert config["cluster"] == {"worker": expected}
        assert config["task"] == {"type": "worker", "index": index}


def test_the_pods_command_is_a_valid_train_call():
    from gan_augment.cli import build_parser

    _, job = documents()
    script = job["spec"]["template"]["spec"]["containers"][0]["args"][0]
    command = shlex.split(script[script.index("exec ") + len("exec "):].replace("\\\n", " "))
    assert command[0] == "gan-augment"
    args = build_parser().parse_args(command[1:])
    assert args.command == "train" and args.strategy == "multi_worker" and args.checkpoint_dir


@pytest.mark.parametrize("raw, problem", [("", "Received: none"), ("{", "JSON"),
                                          (json.dumps({"cluster": {"worker": ["a:1"]},
                                                       "task": {"type": "worker", "index": 3}}), "not in the cluster")])
def test_a_bad_tf_config_is_one_clear_error(raw, problem):
    from gan_augment.errors import DataError

    with pytest.raises(DataError, match=problem):
        parse_tf_config(raw)


@pytest.mark.parametrize("config, chief", [
    (None, True),
    ({"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 0}}, True),
    ({"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 1}}, False),
    ({"cluster": {"chief": ["c:1"], "worker": ["a:1"]}, "task": {"type": "worker", "index": 0}}, False),
    ({"cluster": {"chief": ["c:1"], "worker": ["a:1"]}, "task": {"type": "chief", "index": 0}}, True),
])
def test_only_the_chief_worker_writes(monkeypatch, config, chief):
    from gan_augment.training import is_chief_worker

    if config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", json.dumps(config))
    assert is_chief_worker() is chief

"""What ``chalice deploy`` would make in API Gateway, checked on ``chalice package``'s template.

moto cannot import Chalice's Swagger 2.0 (/work/shared/NOTES-aws-local.md), so
tests/e2e/test_cli_deploy.py uses a stand-in for ``chalice deploy``; this test runs the real
``chalice package`` on a stage as ``calltracking deploy`` leaves it (the infra stack's outputs in
its environment) and holds the template to cfn-lint and to what the CLI's later steps assume:
the routes ``deploy`` throttles exist under the stage it patches, and the stream and queue
handlers are wired to the stack's outputs. (It downloads the Lambda wheels from PyPI, as
``chalice package`` does: about 30 s.)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from calltracking_cli import throttle
from calltracking_cli.deploy import OUTPUT_SETTINGS
from tests.support import servers

ROOT = servers.ROOT
STREAM = "arn:aws:dynamodb:us-east-1:123456789012:table/calltracking-dev-calls/stream/2026-11-30T00:00:00.000"


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    project = tmp_path_factory.mktemp("package")
    for name in ("app.py", "requirements.txt"):
        shutil.copy(ROOT / name, project / name)
    shutil.copytree(ROOT / "chalicelib", project / "chalicelib", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / ".chalice", project / ".chalice", ignore=shutil.ignore_patterns("deployed", "deployments"))
    config = json.loads((project / ".chalice" / "config.json").read_text())
    env = config["stages"]["dev"]["environment_variables"]
    # What setup and deploy write: real values, and the infra stack's outputs.
    env |= {
        "PUBLIC_BASE_URL": "https://calls.example.com/api",
        "TWILIO_ACCOUNT_SID": "AC" + "a" * 32,
        "DEFAULT_FORWARD_TO": "+12025550123",
    }
    env |= dict.fromkeys(OUTPUT_SETTINGS.values(), "")
    env |= {
        "CALLS_STREAM_ARN": STREAM,
        "EVENTS_QUEUE": "calltracking-dev-events",
        "EVENTS_DLQ": "calltracking-dev-events-dlq",
        "RECORDINGS_BUCKET": "calltracking-dev-recordings",
    }
    (project / ".chalice" / "config.json").write_text(json.dumps(config, indent=2))
    out = project / "out"
    done = subprocess.run(
        [str(Path(sys.executable).parent / "chalice"), "package", "--stage", "dev", str(out)],
        cwd=project,
        env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    path = out / "sam.json"
    return json.loads(path.read_text()), path


def test_cfn_lint_passes_on_chalice_packages_template(packaged):
    _, path = packaged
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from cfnlint.runner import main; sys.exit(main())", "--", str(path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_throttled_routes_exist_in_the_stage_deploy_patches(packaged):
    body, _ = packaged
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    api = body["Resources"]["RestAPI"]["Properties"]
    assert api["StageName"] == config["stages"]["dev"]["api_gateway_stage"]
    paths = api["DefinitionBody"]["paths"]
    for limit in throttle.limits():
        assert limit.method.lower() in paths[limit.resource], limit
    # the webhooks are routes of the same API, left to the account's limits
    assert "post" in paths["/twilio/voice"]


def test_the_event_handlers_use_the_stacks_outputs(packaged):
    body, _ = packaged
    functions = {k: v for k, v in body["Resources"].items() if v["Type"] == "AWS::Serverless::Function"}
    events = [e for f in functions.values() for e in f["Properties"].get("Events", {}).values()]
    streams = [e["Properties"]["Stream"] for e in events if e["Type"] == "DynamoDB"]
    queues = [e["Properties"]["Queue"] for e in events if e["Type"] == "SQS"]
    assert streams == [STREAM]
    assert any("calltracking-dev-events" in json.dumps(q) for q in queues)
    # A burst of events waits in the queue: its handler never takes more than EVENTS_MAX_CONCURRENCY
    # of the account's concurrency away from the voice webhook.
    [sqs] = [e for e in events if e["Type"] == "SQS"]
    assert sqs["Properties"]["ScalingConfig"] == {"MaximumConcurrency": 5}
    for function in functions.values():
        env = function["Properties"]["Environment"]["Variables"]
        assert env["RECORDINGS_BUCKET"] == "calltracking-dev-recordings" and env["CALLS_STREAM_ARN"] == STREAM

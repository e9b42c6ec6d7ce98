"""Which AWS actions a run of the CLI makes: ``CALLTRACKING_AWS_CALL_LOG=file`` appends one JSON line
per request (``{"action": "dynamodb:PutItem"}``, IAM's name for it).

The deployer policy (``infra/deployer-policy.json``) is checked against these logs by the deploy
tests: every action ``setup``, ``deploy`` (Chalice's deployer included: ``chalice_trimmed`` logs
too) and ``status`` make must be allowed by it.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

LOG_ENV = "CALLTRACKING_AWS_CALL_LOG"
_lock = threading.Lock()
_installed = False

# IAM names that are not the operation's own name.
RENAMED = {
    "s3:ListObjectsV2": "s3:ListBucket",
    "s3:HeadObject": "s3:GetObject",
    "s3:HeadBucket": "s3:ListBucket",
}


def iam_action(model: Any) -> str:
    """IAM's name for an operation (botocore's ``OperationModel``): its service's signing name and the
    operation, or, for API Gateway's management API, the HTTP method (IAM controls it by method and path)."""
    prefix = model.service_model.signing_name
    if prefix == "apigateway":
        return f"apigateway:{model.http['method']}"
    name = f"{prefix}:{model.name}"
    return RENAMED.get(name, name)


def install_from_env() -> None:
    """Log every request botocore makes in this process (boto3's clients and PynamoDB's, which emit
    the same ``before-call`` event), when ``CALLTRACKING_AWS_CALL_LOG`` names a file."""
    global _installed
    path = os.environ.get(LOG_ENV)
    if not path or _installed:
        return
    from botocore.session import Session

    def log(model: Any, **_: Any) -> None:
        line = json.dumps({"action": iam_action(model)})
        with _lock, open(path, "a", encoding="utf-8") as out:
            out.write(line + "\n")

    original = Session.create_client

    def create_client(self: Any, *args: Any, **kwargs: Any) -> Any:
        client = original(self, *args, **kwargs)
        client.meta.events.register("before-call", log)
        return client

    Session.create_client = create_client  # type: ignore[method-assign]
    _installed = True


def read(path: str) -> set[str]:
    """The actions a log holds."""
    if not os.path.exists(path):
        return set()
    with open(path, encoding="utf-8") as f:
        return {json.loads(line)["action"] for line in f if line.strip()}

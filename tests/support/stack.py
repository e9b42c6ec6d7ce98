"""The local stack as separate processes: embedded DynamoDB + the app served like ``chalice local``.

Used by tests that need a real HTTP server (browser tests, Schemathesis, the concurrency
test) and by benchmarks. Each stack gets its own ports and table prefix.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from tests.support import servers

API_KEY = "local-dev-key"  # the local stage's key in .chalice/config.json
AUTH_TOKEN = "local-auth-token"


@dataclass
class Stack:
    base_url: str
    ddb_endpoint: str
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        """A management API call with the local API key; returns (status, parsed JSON or None)."""
        h = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json", **(headers or {})}
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base_url + path, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                raw = resp.read()
                return resp.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as err:
            raw = err.read()
            return err.code, json.loads(raw) if raw else None

    def stop(self) -> None:
        for proc in reversed(self.procs):
            servers.stop(proc)


def start(*, table_prefix: str = "stack-", extra_env: dict[str, str] | None = None, seed: bool = False) -> Stack:
    """Start DynamoDB and the app on free loopback ports, create the tables, optionally seed demo data."""
    ddb_proc, ddb = servers.start_dynamodb()
    port = servers.free_port()
    base = f"http://127.0.0.1:{port}"
    overrides = {
        "DYNAMODB_ENDPOINT": ddb,
        "SQS_ENDPOINT": ddb,
        "S3_ENDPOINT": ddb,
        "SSM_ENDPOINT": ddb,  # alert channels' secrets
        "SES_ENDPOINT": ddb,  # alert emails
        "TABLE_PREFIX": table_prefix,
        "PUBLIC_BASE_URL": base,
        "CALLTRACKING_LOCAL": "true",  # the local stage's, kept whatever the caller's environment says
        **(extra_env or {}),
    }
    env = {k: v for k, v in os.environ.items() if k not in overrides}
    local = [sys.executable, str(servers.ROOT / "scripts" / "local.py")]
    setup_env = {**env, **overrides}
    subprocess.run([*local, "create-tables"], check=True, env=setup_env, cwd=servers.ROOT, capture_output=True)
    if seed:
        subprocess.run([*local, "seed"], check=True, env=setup_env, cwd=servers.ROOT, capture_output=True)
    args = [sys.executable, str(servers.ROOT / "scripts" / "serve_local.py"), "--port", str(port)]
    for key, value in overrides.items():
        args += ["--set", f"{key}={value}"]
    app_proc = subprocess.Popen(args, env=env, cwd=servers.ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stack = Stack(base_url=base, ddb_endpoint=ddb, procs=[ddb_proc, app_proc], env=overrides)
    try:
        servers.wait_for_port(port, app_proc)
    except Exception:
        stack.stop()
        raise
    return stack

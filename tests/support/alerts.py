"""Alert test fixtures: local stand-ins for Slack's incoming webhooks and Telegram's Bot API,
SSM and SES on the test process's moto server, and what moto's SES recorded."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest

from tests.support.database import DDB_ENDPOINT
from tests.support.env import body

CALLER = "+14155550177"
SENDER = "alerts@calls.example.test"
SLACK_PATH = "/services/T000/B000/abcdefghijklmnopqrstuvwx"
BOT_TOKEN = "123456789:AAExampleExampleExampleExample_abcd"


@dataclass
class Stub:
    """A local receiver standing in for Slack's incoming webhooks and Telegram's Bot API."""

    url: str = ""
    got: list[tuple[str, Any]] = field(default_factory=list)  # (path, JSON body)
    answers: list[int] = field(default_factory=list)  # statuses to answer, then 200

    def paths(self, prefix: str) -> list[Any]:
        return [b for p, b in self.got if p.startswith(prefix)]


@contextmanager
def serving(*, echo: bool = False) -> Iterator[Stub]:
    """A ``Stub`` listening on loopback while the block runs; ``echo``: it answers each POST with
    the body it was sent (a webhook receiver that echoes, so a delivery log holds what was sent)."""
    state = Stub()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length") or 0))
            state.got.append((self.path, json.loads(raw)))
            status = state.answers.pop(0) if state.answers else 200
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.end_headers()
            if echo:
                self.wfile.write(raw)
            else:
                self.wfile.write(b'{"ok":true}' if status == 200 else b'{"ok":false}')

        def log_message(self, *args: Any) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    state.url = f"http://127.0.0.1:{srv.server_address[1]}"
    try:
        yield state
    finally:
        srv.shutdown()
        srv.server_close()


@pytest.fixture
def stub() -> Iterator[Stub]:
    with serving() as state:
        yield state


@pytest.fixture
def alerting(api: Any, settings_env: Any, stub: Stub) -> Any:
    """SSM and SES on moto's server, a verified sender, Telegram's API at the stub."""
    settings_env(
        SSM_ENDPOINT=DDB_ENDPOINT,
        SES_ENDPOINT=DDB_ENDPOINT,
        ALERTS_FROM_EMAIL=SENDER,
        TELEGRAM_API_BASE_URL=stub.url + "/telegram",
    )
    ses().create_email_identity(EmailIdentity="calls.example.test")
    # moto loads SSM's default parameters on its first SSM request: slow on a busy machine, and not
    # what the app's timeouts are for, so that first request is made here, patiently.
    from botocore.config import Config

    patient = Config(read_timeout=120, retries={"max_attempts": 1})
    boto3.client("ssm", region_name="us-east-1", endpoint_url=DDB_ENDPOINT, config=patient).put_parameter(
        Name="/warm-up", Value="x", Type="String", Overwrite=True
    )
    return api


def ses() -> Any:
    return boto3.client("sesv2", region_name="us-east-1", endpoint_url=DDB_ENDPOINT)


def sent_emails() -> list[dict[str, Any]]:
    """What moto's SES recorded (its server's model data: SES v2 sends through the v1 backend)."""
    with urllib.request.urlopen(f"{DDB_ENDPOINT}/moto-api/data.json", timeout=10) as answer:
        data = json.loads(answer.read())
    return list(data.get("ses", {}).get("Message", []))


def recipient(api: Any, **fields: Any) -> dict[str, Any]:
    answer = api.call("POST", "/v1/alerts/recipients", {"name": "Owner", **fields})
    assert answer.status_code == 201, answer.body
    return dict(body(answer))

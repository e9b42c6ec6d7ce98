"""Test setup: a real embedded DynamoDB per test process, environment set before ``app`` is imported."""

from __future__ import annotations

import json
import os
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.support import servers

pytest_plugins = ("tests.support.alerts",)  # the alert tests' stub receivers and SES/SSM set-up

BASE_URL = "https://calls.example.test/api"
AUTH_TOKEN = "test-auth-token-0123456789abcdef"
API_KEY = "test-api-key"
DEFAULT_PHONE = "+12025550199"

_ddb_proc, DDB_ENDPOINT = servers.start_dynamodb()

# Settings are read once, at first use: set the environment before anything imports chalicelib.
os.environ.update(
    {
        "STAGE": "test",
        "CALLTRACKING_LOCAL": "true",  # loopback receivers, the demo page: the local stack's (never in Lambda)
        "TELEPHONY": "local",
        "TABLE_PREFIX": "test-",
        "DYNAMODB_ENDPOINT": DDB_ENDPOINT,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "PUBLIC_BASE_URL": BASE_URL,
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "API_KEY": API_KEY,
        "DEFAULT_FORWARD_TO": DEFAULT_PHONE,
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "WEBHOOK_READ_TIMEOUT": "5",
        "SQS_ENDPOINT": DDB_ENDPOINT,  # moto's server serves SQS and the DynamoDB stream too
        "S3_ENDPOINT": DDB_ENDPOINT,  # and S3 (the recordings bucket)
        "EVENT_RETRY_SECONDS": "0,0,0",  # a failing subscriber is tried again at once, three times
        "OUTBOUND_WEBHOOK_RETRY_SECONDS": "0,0,0,0,0,0,0",  # Svix's eight attempts, without the waits
    }
)


_CLIENT_PROJECT = Path(tempfile.mkdtemp(prefix="chalice-test-"))
(_CLIENT_PROJECT / ".chalice").mkdir()
(_CLIENT_PROJECT / ".chalice" / "config.json").write_text(
    json.dumps({"version": "2.0", "app_name": "calltracking", "stages": {"test": {}}})
)


def pytest_unconfigure(config: pytest.Config) -> None:
    from tests.support import browser

    browser.close_shared()
    servers.stop(_ddb_proc)


def reset_dynamodb() -> None:
    req = urllib.request.Request(f"{DDB_ENDPOINT}/moto-api/reset", method="POST", data=b"")
    urllib.request.urlopen(req, timeout=10).read()


@pytest.fixture
def tables() -> Iterator[None]:
    """Empty tables for each test."""
    from calltracking_local import pump
    from chalicelib.core import clock, secrets
    from chalicelib.core.telephony import set_provider
    from chalicelib.events import bus
    from chalicelib.recordings import storage
    from chalicelib.store import models

    reset_dynamodb()
    models.create_tables()
    bus.reset()
    pump.create_queues()
    storage.reset()
    storage.create_bucket()
    global _PUMP
    _PUMP = None  # a new database: a new stream to read from its start
    set_provider(None)
    clock.set_source(None)
    secrets.clear_cache()
    yield
    clock.set_source(None)
    set_provider(None)
    secrets.clear_cache()


_PUMP: Any = None


def pump() -> Any:
    """The local event pump of this test process (the one ``make run`` runs beside the app)."""
    global _PUMP
    if _PUMP is None:
        from calltracking_local.pump import Pump

        _PUMP = Pump()
    return _PUMP


class Api:
    """The app through Chalice's test client, with signed Twilio posts and keyed JSON calls.

    Reports follow the calls through the call events, a moment later; before reading a
    report the client runs the event pump until it is idle, as waiting that moment would.
    """

    def __init__(self, client: Any) -> None:
        self.client = client

    def twilio(
        self,
        path: str,
        params: dict[str, str],
        *,
        signature: str | None = "sign",
        token: str = AUTH_TOKEN,
        headers: dict[str, str] | None = None,
    ) -> Any:
        from twilio.request_validator import RequestValidator

        headers = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        if signature == "sign":
            signature = RequestValidator(token).compute_signature(BASE_URL + path, params)
        if signature is not None:
            headers["X-Twilio-Signature"] = signature
        return self.client.http.post(path, headers=headers, body=urlencode(params))

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        key: str | None = API_KEY,
        headers: dict[str, str] | None = None,
    ) -> Any:
        if method.upper() == "GET" and path.startswith("/v1/reports"):
            pump().drain()
        h = {"Content-Type": "application/json"}
        if key is not None:
            h["Authorization"] = f"Bearer {key}"
        h.update(headers or {})
        data = body if isinstance(body, (str, bytes)) or body is None else json.dumps(body)
        return getattr(self.client.http, method.lower())(path, headers=h, body=data)


@pytest.fixture
def api(tables: None) -> Iterator[Api]:
    from chalice.test import Client

    from app import app

    # A config of its own: Chalice's test client would otherwise put the local stage's
    # environment (its DynamoDB endpoint, keys) into os.environ during each request.
    with Client(app, stage_name="test", project_dir=str(_CLIENT_PROJECT)) as client:
        yield Api(client)


def body(response: Any) -> Any:
    return json.loads(response.body)


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Change settings for one test: ``settings_env(DEFAULT_FORWARD_TO="")``."""
    from chalicelib.core.settings import get_settings

    def apply(**values: str) -> None:
        for key, value in values.items():
            monkeypatch.setenv(key, value)
        get_settings.cache_clear()

    yield apply
    monkeypatch.undo()
    get_settings.cache_clear()


T0 = 1_790_000_000.0  # 2026-09-21T13:33:20Z, the fake clock's start


@pytest.fixture
def fake_clock(tables: None) -> Any:
    """Time stands still until the test moves it (``fake_clock.advance(seconds)``)."""
    from chalicelib.core import clock

    fake = clock.FakeClock(T0)
    clock.set_source(fake)
    return fake

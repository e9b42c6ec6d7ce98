"""The test process's embedded DynamoDB and the fixtures that use it: ``tables``, ``api``, ``fake_clock``.

Only ``tests/integration/conftest.py`` and ``tests/e2e/conftest.py`` call ``start()`` (at their
import, so the endpoints are in the environment before a test module imports ``app``); importing
this module starts nothing. One moto server per test process serves DynamoDB, its stream, SQS,
S3, SSM and SES, started single-threaded so conditional writes are atomic as in DynamoDB.
``DDB_ENDPOINT`` can be imported from here once it runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import urllib.request
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.support import servers
from tests.support.env import API_KEY, AUTH_TOKEN, BASE_URL, T0

_proc: subprocess.Popen[bytes] | None = None
_endpoint = ""
started_by = ""  # the module that started it (the unit tests check it is never theirs)


def start(by: str) -> str:
    """Start the server once per process (both conftests may ask) and point the app's settings at it."""
    global _proc, _endpoint, started_by
    if _proc is None:
        _proc, _endpoint = servers.start_dynamodb()
        started_by = by
        os.environ.update(
            {
                "DYNAMODB_ENDPOINT": _endpoint,
                "SQS_ENDPOINT": _endpoint,  # moto's server serves SQS and the DynamoDB stream too
                "S3_ENDPOINT": _endpoint,  # and S3 (the recordings bucket)
            }
        )
    return _endpoint


def endpoint() -> str:
    if not _endpoint:
        raise RuntimeError("no embedded DynamoDB in this process: only integration and e2e tests start one")
    return _endpoint


def __getattr__(name: str) -> str:
    # ``from tests.support.database import DDB_ENDPOINT`` in a test module: the conftest of its
    # kind has started the server by then; anywhere else it says why there is none.
    if name == "DDB_ENDPOINT":
        return endpoint()
    raise AttributeError(name)


def stop() -> None:
    if _proc is not None:
        servers.stop(_proc)


def reset() -> None:
    req = urllib.request.Request(f"{endpoint()}/moto-api/reset", method="POST", data=b"")
    urllib.request.urlopen(req, timeout=10).read()


_PUMP: Any = None


def pump() -> Any:
    """The local event pump of this test process (the one ``make run`` runs beside the app)."""
    global _PUMP
    if _PUMP is None:
        from calltracking_local.pump import Pump

        _PUMP = Pump()
    return _PUMP


@pytest.fixture
def tables() -> Iterator[None]:
    """Empty tables for each test."""
    from calltracking_local import pump as local_pump
    from chalicelib import business
    from chalicelib.core import clock, secrets
    from chalicelib.core.telephony import set_provider
    from chalicelib.events import bus
    from chalicelib.recordings import storage
    from chalicelib.store import models

    global _PUMP
    reset()
    models.create_tables()
    bus.reset()
    local_pump.create_queues()
    storage.reset()
    storage.create_bucket()
    _PUMP = None  # a new database: a new stream to read from its start
    set_provider(None)
    clock.set_source(None)
    secrets.clear_cache()
    business.clear_cache()  # the profile is kept a minute per process: a new database has its own
    yield
    clock.set_source(None)
    set_provider(None)
    secrets.clear_cache()


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


@cache
def _client_project() -> Path:
    # A config of its own: Chalice's test client would otherwise put the local stage's
    # environment (its DynamoDB endpoint, keys) into os.environ during each request.
    project = Path(tempfile.mkdtemp(prefix="chalice-test-"))
    (project / ".chalice").mkdir()
    (project / ".chalice" / "config.json").write_text(
        json.dumps({"version": "2.0", "app_name": "calltracking", "stages": {"test": {}}})
    )
    return project


@pytest.fixture
def api(tables: None) -> Iterator[Api]:
    from chalice.test import Client

    from app import app

    with Client(app, stage_name="test", project_dir=str(_client_project())) as client:
        yield Api(client)


@pytest.fixture
def fake_clock(tables: None) -> Any:
    """Time stands still until the test moves it (``fake_clock.advance(seconds)``)."""
    from chalicelib.core import clock

    fake = clock.FakeClock(T0)
    clock.set_source(fake)
    return fake

"""Shared benchmark plumbing: an embedded DynamoDB, request counting, result files."""

from __future__ import annotations

import json
import os
import platform
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


@contextmanager
def embedded_dynamodb(prefix: str) -> Iterator[str]:
    """A fresh embedded DynamoDB (moto's server, single-threaded) with the app's settings pointed at it."""
    from tests.support import servers

    proc, endpoint = servers.start_dynamodb()
    try:
        local_env(endpoint, prefix)
        yield endpoint
    finally:
        servers.stop(proc)


def local_env(endpoint: str, prefix: str) -> None:
    """Settings for an in-process app against ``endpoint``: set, and taken up at once.

    Settings are read per request and connections are keyed by endpoint, so one ``make bench``
    run can start a fresh embedded DynamoDB per benchmark and the app follows it.
    """
    switch_env(endpoint, prefix)
    from chalicelib.store import connections

    connections.reset()


def switch_env(endpoint: str, prefix: str) -> None:
    """``local_env`` without forgetting the connections: a benchmark that goes back and forth between
    two embedded DynamoDBs keeps each one's connection (they are keyed by endpoint), so a switch
    costs no new client; the caches that hold one store's answers are emptied."""
    os.environ.update(
        {
            "STAGE": "bench",
            "TELEPHONY": "local",
            "TABLE_PREFIX": prefix,
            "DYNAMODB_ENDPOINT": endpoint,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "PUBLIC_BASE_URL": "http://127.0.0.1:9",
            "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
            "TWILIO_AUTH_TOKEN": "bench-token",
            "API_KEY": "bench-key",
            "CALLER_PEPPER": "1:bench-caller-pepper",
            "DEFAULT_FORWARD_TO": "+12025550199",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "CRITICAL",
        }
    )
    from chalicelib import business, sites
    from chalicelib.core.settings import get_settings
    from chalicelib.voice import blocklist

    get_settings.cache_clear()
    business.clear_cache()
    sites.clear_cache()
    blocklist.clear_cache()


class RequestCounter:
    """Counts DynamoDB requests with botocore's event hooks, on every session PynamoDB creates."""

    def __init__(self) -> None:
        self.ops: Counter[str] = Counter()

    def __call__(self, model: Any, **_: Any) -> None:
        self.ops[model.name] += 1
        self.threads.append(threading.get_ident())

    @property
    def threads(self) -> list[int]:
        """The thread each request since the last reset was sent from, in order."""
        if not hasattr(self, "_threads"):
            self._threads: list[int] = []
        return self._threads

    def sequential(self) -> int:
        """Requests since the last reset sent from the main thread (the request's own): those of
        other threads ran beside them (the voice webhook's worker), so these are the round trips in a row."""
        return sum(1 for t in self.threads if t == threading.main_thread().ident)

    @property
    def total(self) -> int:
        return sum(self.ops.values())

    def reset(self) -> None:
        self.ops.clear()
        self.threads.clear()


@contextmanager
def counting(counter: Any = None) -> Iterator[Any]:
    """Count every DynamoDB request PynamoDB sends while the block runs (all threads), with
    ``counter`` (a ``before-call`` hook; a ``RequestCounter`` by default)."""
    import botocore.session
    from pynamodb.connection import base

    counter = RequestCounter() if counter is None else counter
    original = base.get_session

    def session_with_hook() -> botocore.session.Session:
        session = original()
        session.register("before-call.dynamodb", counter)
        return session

    base.get_session = session_with_hook
    _forget_clients()
    try:
        yield counter
    finally:
        base.get_session = original
        _forget_clients()


def _forget_clients() -> None:
    """Drop PynamoDB's cached connections so new ones are built from the (un)hooked session."""
    from chalicelib.store import connections

    connections.reset()


def timed(fn: Callable[[], Any], n: int) -> float:
    """Seconds for ``n`` calls of ``fn``."""
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return time.perf_counter() - start


def median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else 0.0


def write(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    data = {"benchmark": name, "machine": {"cpus": os.cpu_count(), "python": platform.python_version()}, **data}
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


class OverBudget(AssertionError):
    """A benchmark's asserted budget missed: ``python -m bench`` keeps its figures (``result``), runs
    the others, and lists every missed budget at the end (the run itself passes: a missed budget
    is a figure to state, not a failure to hide)."""

    def __init__(self, message: str, result: dict[str, Any]) -> None:
        super().__init__(message)
        self.result = result

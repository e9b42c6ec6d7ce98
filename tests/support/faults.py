"""An AWS JSON endpoint that fails on purpose: throttles, errors, hangs, or refuses connections.

DynamoDB and SSM both speak the AWS JSON protocol, so one fake serves either: point the
store (``dynamodb_failing``) or the secrets (``ssm_failing``) at it.
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support import servers

ERRORS = {
    "throttle": (400, "ThrottlingException", "Rate of requests exceeds the allowed throughput."),
    "server-error": (500, "InternalServerError", "Internal server error"),
    # SSM's definite answers (not failures): the parameter is gone, or this role may not read it.
    "not-found": (400, "ParameterNotFound", "Parameter not found."),
    "denied": (400, "AccessDeniedException", "User is not authorized to perform: ssm:GetParameter"),
}
# How each service names its errors' ``__type`` (botocore reads what follows the '#').
TYPE_PREFIX = {"dynamodb": "com.amazonaws.dynamodb.v20120810#", "ssm": ""}
MODES = ("throttle", "server-error", "refused", "hang")  # SSM or the network failing
ABSENT_MODES = ("not-found", "denied")  # SSM answering that the secret is not there for us


class _JsonServer:
    """A loopback server answering each AWS JSON POST with ``answer``: the fakes' shared plumbing."""

    server: ThreadingHTTPServer | None = None
    url = ""

    def answer(self, raw: bytes, headers: Any) -> tuple[int, bytes] | None:
        """``(status, JSON body)`` for one request; ``None``: no answer at all (a hang)."""
        raise NotImplementedError

    def _serve(self) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                found = outer.answer(raw, self.headers)
                if found is None:
                    return
                status, payload = found
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.0")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


class FaultyEndpoint(_JsonServer):
    def __init__(self, mode: str, service: str = "dynamodb") -> None:
        self.mode, self.service = mode, service
        self.requests = 0
        if mode == "refused":
            self.url = f"http://127.0.0.1:{servers.free_port()}"  # nothing listens there
            return
        self._serve()

    def answer(self, raw: bytes, headers: Any) -> tuple[int, bytes] | None:
        self.requests += 1
        if self.mode == "hang":
            time.sleep(5)
            return None
        status, kind, message = ERRORS[self.mode]
        return status, json.dumps({"__type": TYPE_PREFIX[self.service] + kind, "message": message}).encode()


FaultyDynamoDB = FaultyEndpoint  # the name the first fault tests used


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Settings are read per request, so changing the environment is all it takes."""
    from chalicelib.core.settings import get_settings

    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    get_settings.cache_clear()
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()


@contextmanager
def dynamodb_failing(mode: str, *, read_timeout: float = 0.8) -> Iterator[FaultyEndpoint]:
    """Point the store at a failing endpoint, with the product's default webhook timeouts."""
    from chalicelib.voice import blocklist

    fake = FaultyEndpoint(mode, "dynamodb")
    blocklist.clear_cache()
    try:
        with _environment({"DYNAMODB_ENDPOINT": fake.url, "WEBHOOK_READ_TIMEOUT": str(read_timeout)}):
            yield fake
    finally:
        blocklist.clear_cache()
        fake.close()


@contextmanager
def ssm_failing(mode: str) -> Iterator[FaultyEndpoint]:
    """Point the secrets at a failing SSM endpoint (the cached values stay: a warm container's)."""
    fake = FaultyEndpoint(mode, "ssm")
    try:
        with _environment({"SSM_ENDPOINT": fake.url}):
            yield fake
    finally:
        fake.close()


class ConflictingDynamoDB(_JsonServer):
    """A proxy to a real (moto) DynamoDB that cancels every ``every``-th TransactWriteItems with
    ``TransactionConflict`` for each of its items, as DynamoDB does when another transaction
    touches the same items at the same moment (moto never does)."""

    def __init__(self, target: str, every: int, limit: int | None = None) -> None:
        self.target, self.every, self.limit = target, every, limit
        self.transactions = 0
        self.conflicts = 0
        self._serve()

    def answer(self, raw: bytes, headers: Any) -> tuple[int, bytes] | None:
        op = (headers.get("X-Amz-Target") or "").rsplit(".", 1)[-1]
        if op == "TransactWriteItems":
            self.transactions += 1
            under = self.limit is None or self.conflicts < self.limit
            if under and self.transactions % self.every == 0:
                self.conflicts += 1
                items = json.loads(raw).get("TransactItems", [])
                reasons = [{"Code": "TransactionConflict", "Message": "Transaction is ongoing"} for _ in items]
                payload = {
                    "__type": TYPE_PREFIX["dynamodb"] + "TransactionCanceledException",
                    "message": "Transaction cancelled, please refer cancellation reasons for specific "
                    "reasons [" + ", ".join("TransactionConflict" for _ in items) + "]",
                    "CancellationReasons": reasons,
                }
                return 400, json.dumps(payload).encode()
        forwarded = {k: v for k, v in headers.items() if k.lower() not in ("host", "content-length")}
        request = urllib.request.Request(self.target, data=raw, headers=forwarded, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()


@contextmanager
def dynamodb_conflicting(every: int = 2, limit: int | None = None) -> Iterator[ConflictingDynamoDB]:
    """Point the store at a proxy of the current DynamoDB that makes every ``every``-th
    transaction conflict, ``limit`` times at most (``ConflictingDynamoDB``)."""
    from chalicelib.core.settings import get_settings

    proxy = ConflictingDynamoDB(get_settings().dynamodb_endpoint or "", every, limit)
    try:
        with _environment({"DYNAMODB_ENDPOINT": proxy.url}):
            yield proxy
    finally:
        proxy.close()

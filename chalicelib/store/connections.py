"""Connections to DynamoDB with timeouts chosen by who is asking.

Twilio waits 15 s for the voice webhook and botocore's defaults can retry for longer than
that, so requests made while answering Twilio fail fast (``voice_path()``: the webhook
timeouts and few attempts) and the caller is forwarded anyway. The management API, the
lease endpoint and background work may wait longer and retry more (the store timeouts):
a slow report should not fail because the voice path has to be impatient.

Connections are built lazily and cached per (timeouts, endpoint, region), so changing the
settings (a benchmark that starts a new embedded DynamoDB, a test that points at a failing
one) takes effect at the next request. Every model (and every transaction) of one timeout
class shares one ``Connection``, so one botocore client and one TLS pool: a cold container
builds one per class it uses (usually one, two once it answers Twilio), not one per model.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, NamedTuple

from pynamodb.connection import Connection, TableConnection

from chalicelib.core.settings import get_settings


class Timeouts(NamedTuple):
    connect: float
    read: float
    attempts: int  # requests in all, the first included


_voice: ContextVar[bool] = ContextVar("store_voice_path", default=False)
_tables: dict[tuple[Any, ...], TableConnection] = {}
_plain: dict[tuple[Any, ...], Connection] = {}
_building = threading.RLock()  # one connection per class even when two threads ask first together


@contextmanager
def voice_path() -> Iterator[None]:
    """Every DynamoDB request made inside uses the short webhook timeouts."""
    token = _voice.set(True)
    try:
        yield
    finally:
        _voice.reset(token)


def current() -> Timeouts:
    s = get_settings()
    if _voice.get():
        return Timeouts(s.webhook_connect_timeout, s.webhook_read_timeout, s.webhook_max_attempts)
    return Timeouts(s.store_connect_timeout, s.store_read_timeout, s.store_max_attempts)


def _options(t: Timeouts) -> dict[str, Any]:
    s = get_settings()
    return {
        "region": s.region,
        "host": s.dynamodb_endpoint,
        "connect_timeout_seconds": t.connect,
        "read_timeout_seconds": t.read,
        "max_retry_attempts": max(0, t.attempts - 1),
    }


def table(model: Any) -> TableConnection:
    """The connection ``model`` uses for a request made now: a thin per-table wrapper around the
    one ``Connection`` of the current timeout class (``shared()``)."""
    t = current()
    opts = _options(t)
    key = (model.__name__, model.Meta.table_name, t, opts["host"], opts["region"])
    conn = _tables.get(key)
    if conn is None:
        with _building:  # the voice webhook's worker thread may ask at the same moment
            conn = TableConnection.__new__(TableConnection)
            conn.table_name = model.Meta.table_name
            conn.connection = shared()
            if conn.table_name not in conn.connection._tables:
                conn.connection.add_meta_table(model._meta_table())
            conn = _tables.setdefault(key, conn)
    return conn


def shared() -> Connection:
    """The one connection (botocore client) of the timeout class of whoever asks now: every
    model's requests and every multi-table transaction or batch go through it."""
    opts = _options(current())
    key = tuple(sorted(opts.items()))
    conn = _plain.get(key)
    if conn is None:
        with _building:
            conn = _plain.get(key) or _plain.setdefault(key, Connection(**opts))
    return conn


def transactions() -> Connection:
    """A plain connection for multi-table transactions, with the timeouts of whoever asks now."""
    return shared()


def clients() -> int:
    """How many botocore clients the process holds (one per timeout class used; a test counts them)."""
    return len({id(c) for c in _plain.values()})


def reset() -> None:
    """Forget every connection (benchmarks that count requests with a hooked botocore session)."""
    _tables.clear()
    _plain.clear()

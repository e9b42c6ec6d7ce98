"""Integration tests: the app's code against moto's server (DynamoDB, SQS, S3, SSM, SES), Prism, and
the app through Chalice's test client. The server starts here, at import, so its endpoints are in
the environment before any test module of this folder imports ``app``."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support import database

database.start(by=__name__)

from tests.support.alerts import alerting, stub  # noqa: E402, F401  (fixtures: receivers, SES and SSM)
from tests.support.conversions import ga4, google_ads  # noqa: E402, F401  (fixtures: the ad platforms' receivers)
from tests.support.database import api, fake_clock, tables  # noqa: E402, F401  (fixtures)
from tests.support.transcribe_standin import transcribe  # noqa: E402, F401  (fixture: the Transcribe stand-in)


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """Powertools' JSON log lines written during the test (the API keys' and the observability tests)."""
    from chalicelib.core.observability import logger

    stream = io.StringIO()
    handler = logger.registered_handler
    old_stream, old_level = handler.setStream(stream), logger.log_level
    logger.setLevel("INFO")

    def lines() -> list[dict[str, Any]]:
        return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]

    yield lines
    handler.setStream(old_stream)
    logger.setLevel(old_level)

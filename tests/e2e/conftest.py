"""End-to-end tests: real processes (the app served like ``chalice local``, ``make run``'s script, the
``calltracking`` CLI, the Lambda package and site builds) and Debian's Chromium. Some also read or
seed the test process's own tables, so the embedded DynamoDB starts here too, at import."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.support import database

database.start(by=__name__)

from tests.support.alerts import stub  # noqa: E402, F401  (fixture: a receiver on loopback, for webhooks)
from tests.support.dashboard import dashboard, pump  # noqa: E402, F401  (fixtures: the local stack + Chromium; its event pump)
from tests.support.database import api, fake_clock, tables  # noqa: E402, F401  (fixtures)

if TYPE_CHECKING:
    from playwright.sync_api import Browser


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """The process's one shared Chromium (audio plays without a click: a person's click does it on the
    dashboard); closed at the end of the session by the root conftest."""
    from tests.support import browser as br

    with br.launched() as b:
        yield b

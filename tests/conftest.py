"""What every kind of test shares: the test stage's environment, set before anything imports
``chalicelib``, and the fixtures more than one kind uses. It starts nothing: the unit tests run
without a database; ``integration/`` and ``e2e/`` start the embedded DynamoDB in their conftests.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import servers
from tests.support.env import BASE_ENV

# Settings are read once, at first use: set the environment before anything imports chalicelib.
os.environ.update(BASE_ENV)


# The slow kinds first: `make test` hands the files to its two workers in collection order
# (--dist loadfile --no-loadscope-reorder), so the long end-to-end files start at once and the
# many short unit files fill in at the end, and neither worker waits idle for the other's last
# long file. A file's tests keep their order (the sort is stable).
# The two integration files that take minutes (measured: --durations) go out with the e2e files.
KIND_ORDER = (
    "tests/integration/test_events.py",
    "tests/integration/test_lease_concurrency.py",
    "tests/e2e/",
    "tests/integration/",
    "tests/unit/",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    def kind(item: pytest.Item) -> int:
        path = item.nodeid.split("::", 1)[0]
        return next((i for i, prefix in enumerate(KIND_ORDER) if path.startswith(prefix)), len(KIND_ORDER))

    items.sort(key=kind)


def pytest_unconfigure(config: pytest.Config) -> None:
    # Close only what this run started: a unit-only run imports neither module (and must not).
    browser = sys.modules.get("tests.support.browser")
    if browser is not None:
        browser.close_shared()
    database = sys.modules.get("tests.support.database")
    if database is not None:
        database.stop()


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


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    """infra/tables.yaml, parsed (the alarms' and the infrastructure's tests, unit and integration)."""
    import yaml

    return yaml.safe_load((servers.ROOT / "infra" / "tables.yaml").read_text())

"""The suite's kinds hold: a unit test reaches no network, and the unit tests start no DynamoDB."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest

from tests.support.servers import ROOT
from tests.unit.conftest import NetworkUsed

UNIT = ROOT / "tests" / "unit"


def _children_running(script: str) -> list[int]:
    """This process's child processes whose command line names ``script`` (Linux's /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue  # a process that ended while we looked
        if ppid == os.getpid() and script.encode() in cmdline:
            found.append(int(stat.parent.name))
    return found


def test_a_unit_test_cannot_open_a_network_connection() -> None:
    # Given a loopback port (nothing need listen: the guard refuses before connecting)
    # When a unit test connects to it
    # Then the unit tests' guard refuses, naming where such a test belongs
    with pytest.raises(NetworkUsed, match="tests/integration"):
        socket.create_connection(("127.0.0.1", 9), timeout=1)


def test_the_unit_tests_start_no_dynamodb(request: pytest.FixtureRequest) -> None:
    # Given this run's tests, the unit tests alone or beside the other kinds
    unit_only = all(item.path.is_relative_to(UNIT) for item in request.session.items)
    database = sys.modules.get("tests.support.database")
    started_by = getattr(database, "started_by", "")
    if unit_only:
        # Then with the unit tests alone nothing started the embedded DynamoDB or named it
        assert started_by == ""
        assert not _children_running("dynamodb_server.py")
        for name in ("DYNAMODB_ENDPOINT", "SQS_ENDPOINT", "S3_ENDPOINT"):
            assert name not in os.environ
    else:
        # Then beside the other kinds it was their conftest that started it, never the root's or the unit tests'
        assert started_by in {"tests.integration.conftest", "tests.e2e.conftest"}


def test_one_run_collects_every_kind() -> None:
    # Given pyproject's testpaths (what `make test`'s one pytest run collects; a missing folder there
    # would be skipped without a word)
    import tomllib

    testpaths = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["testpaths"]
    # Then they are the three kinds, each a folder with its own conftest and tests
    assert testpaths == ["tests/unit", "tests/integration", "tests/e2e"]
    for path in testpaths:
        assert (ROOT / path / "conftest.py").is_file()
        assert list((ROOT / path).glob("test_*.py"))
    # and no test file is left outside them
    assert not list((ROOT / "tests").glob("test_*.py"))

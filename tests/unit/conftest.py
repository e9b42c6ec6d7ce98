"""Unit tests: pure code, no database, no network, no servers. Every test runs behind a socket guard,
so a core that quietly reaches for DynamoDB (or anything else over the network) fails here, whether
the unit tests run alone or beside the integration tests (whose server is then running)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

_INET = (socket.AF_INET, socket.AF_INET6)


class NetworkUsed(AssertionError):
    """A unit test opened a network connection."""


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def refuse(sock: socket.socket, address: object) -> None:
        raise NetworkUsed(f"a unit test connected to {address!r}: it belongs in tests/integration")

    def connect(sock: socket.socket, address: object) -> None:
        if sock.family in _INET:
            refuse(sock, address)
        real_connect(sock, address)  # type: ignore[arg-type]

    def connect_ex(sock: socket.socket, address: object) -> int:
        if sock.family in _INET:
            refuse(sock, address)
        return real_connect_ex(sock, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    yield


@pytest.fixture(autouse=True)
def business_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    """No database here: the business's profile is the deployment's defaults (what an install that
    never saved Settings has), so code that shows days or amounts reads it without a GetItem."""
    from chalicelib import business

    monkeypatch.setattr(business, "profile", business.defaults)

"""Safe outbound HTTP: addresses inside are refused, the checked address is the one connected
to (no second lookup), no redirects, bounded reads and time. Pure plus a loopback server.

The tests of this area that need no database, network or server; the ones that need
the database are in ``tests/integration/test_outbound.py``.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from typing import Any

import pytest

from chalicelib.integrations import outbound


@pytest.mark.parametrize(
    "ip",
    ["169.254.169.254", "fd00:ec2::254", "10.0.0.5", "172.16.3.4", "192.168.1.1", "127.0.0.1", "::1", "0.0.0.0",
     "169.254.10.10", "fe80::1", "224.0.0.1", "100.64.0.1", "::ffff:10.0.0.1", "240.0.0.1"],
)  # fmt: skip
def test_addresses_inside_are_refused(ip: str) -> None:
    assert outbound.address_refused(ipaddress.ip_address(ip)) is not None


def test_public_addresses_pass_and_loopback_only_when_allowed() -> None:
    assert outbound.address_refused(ipaddress.ip_address("93.184.216.34")) is None
    assert outbound.address_refused(ipaddress.ip_address("2606:4700::1111")) is None
    assert outbound.address_refused(ipaddress.ip_address("127.0.0.1"), allow_loopback=True) is None
    assert outbound.address_refused(ipaddress.ip_address("169.254.169.254"), allow_loopback=True) is not None


def _fake_dns(monkeypatch: pytest.MonkeyPatch, answers: list[str]) -> list[str]:
    asked: list[str] = []

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        asked.append(host)
        ip = answers[min(len(asked), len(answers)) - 1]
        family = socket.AF_INET6 if ":" in ip else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (ip, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def test_a_name_resolving_to_the_metadata_address_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_dns(monkeypatch, ["169.254.169.254"])
    with pytest.raises(outbound.Refused, match="metadata"):
        outbound.request("POST", "https://hooks.example.com/x", allow_loopback=True)


def test_tls_names_the_host_not_the_address(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_dns(monkeypatch, ["93.184.216.34"])
    seen: dict[str, Any] = {}

    class Stop(Exception):
        pass

    def connect(self: socket.socket, addr: tuple[str, int]) -> None:
        seen["addr"] = addr

    def wrap(self: Any, sock: socket.socket, server_hostname: str | None = None, **kw: Any) -> Any:
        seen["sni"] = server_hostname
        seen["verify"] = (self.check_hostname, self.verify_mode)
        sock.close()
        raise Stop

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr("ssl.SSLContext.wrap_socket", wrap)
    with pytest.raises(Stop):
        outbound.request("POST", "https://hooks.example.com/x")
    assert seen == {"addr": ("93.184.216.34", 443), "sni": "hooks.example.com", "verify": (True, ssl.CERT_REQUIRED)}


def test_a_name_that_does_not_resolve_is_worth_another_try(monkeypatch: pytest.MonkeyPatch) -> None:
    def getaddrinfo(*args: Any, **kwargs: Any) -> list[Any]:
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    with pytest.raises(outbound.Unresolved):  # an OSError: retried, not refused for good
        outbound.request("POST", "https://hooks.example.com/x")


@pytest.mark.parametrize("url", ["ftp://example.com/", "https://user:pw@example.com/", "not a url", "https:///x"])
def test_only_plain_http_urls(url: str) -> None:
    with pytest.raises(outbound.Refused):
        outbound.request("POST", url)

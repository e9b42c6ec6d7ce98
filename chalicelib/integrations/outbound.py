"""Safe outbound HTTP: one request to a URL a user gave us, without letting it reach inside.

The host is resolved once; every address it resolves to is checked (private, loopback,
link-local, multicast, reserved, unspecified and the cloud metadata addresses are refused),
and the connection goes to the address that was checked: there is no second lookup that a
DNS-rebinding answer could change. For https the TLS handshake still names and verifies the
host (SNI, certificate), and the ``Host`` header is the URL's. Redirects are never followed
(a 3xx is just the answer), every step has a timeout, and at most ``max_bytes`` of the
response are read. Generic on purpose: webhooks use it, alerts will.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

MAX_BYTES = 64 * 1024
METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class Refused(ValueError):
    """The URL may not be called: not http(s), or its host has an address inside."""


class Unresolved(OSError):
    """The host could not be resolved just now (it may resolve later: worth another try)."""


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]  # lower-cased names
    body: bytes  # at most the first ``max_bytes``
    duration_ms: int
    address: str = field(default="")  # the address connected to


def address_refused(ip: IPAddress, *, allow_loopback: bool = False) -> str | None:
    """Why a connection to ``ip`` is refused, or ``None`` when it may be reached."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in METADATA:
        return "a cloud metadata address"
    if ip.is_loopback:
        return None if allow_loopback else "a loopback address"
    for test, why in (
        (ip.is_unspecified, "an unspecified address"),
        (ip.is_link_local, "a link-local address"),
        (ip.is_multicast, "a multicast address"),
        (ip.is_private, "a private address"),
        (ip.is_reserved, "a reserved address"),
        (not ip.is_global, "not a public address"),
    ):
        if test:
            return why
    return None


def _split(url: str) -> tuple[str, str, int]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise Refused(f"{url!r} is not a URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused("the URL must start with https:// and name a host")
    if parts.username or parts.password:
        raise Refused("the URL must not carry a user name or password")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def resolve(url: str, *, allow_loopback: bool = False) -> IPAddress:
    """The one address ``url`` will be reached at, after checking every address its host has."""
    _, host, port = _split(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except UnicodeError as exc:
        raise Refused(f"the host {host!r} is not a host name: {exc}") from None
    except OSError as exc:
        raise Unresolved(f"the host {host!r} could not be resolved: {exc}") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not addresses:
        raise Refused(f"the host {host!r} has no address")
    for ip in addresses:
        why = address_refused(ip, allow_loopback=allow_loopback)
        if why:
            raise Refused(f"the host {host!r} resolves to {ip}, {why}")
    return addresses[0]


class _PinnedConnection(http.client.HTTPConnection):
    """An HTTP(S) connection to a checked address that speaks to the URL's host name."""

    def __init__(self, host: str, port: int, address: IPAddress, timeout: float, tls: bool) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address
        self._tls = tls

    def connect(self) -> None:
        # Not socket.create_connection: it would look the address up again through getaddrinfo.
        family = socket.AF_INET6 if self._address.version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect((str(self._address), self.port))
        except BaseException:
            sock.close()
            raise
        if self._tls:
            context = ssl.create_default_context()
            sock = context.wrap_socket(sock, server_hostname=self.host)
        self.sock = sock


def request(
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    timeout: float = 10.0,
    allow_loopback: bool = False,
    max_bytes: int = MAX_BYTES,
) -> Answer:
    """Send one request; the answer, ``Refused`` for a URL that may not be called, or the
    ``OSError`` (``Unresolved``, ``TimeoutError``, a refused connection, a TLS failure) the attempt met."""
    scheme, host, port = _split(url)
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    started = time.monotonic()
    address = resolve(url, allow_loopback=allow_loopback)
    conn = _PinnedConnection(host, port, address, timeout, scheme == "https")
    try:
        conn.request(method, target, body=body, headers=headers or {})
        response = conn.getresponse()
        remaining = timeout - (time.monotonic() - started)
        if remaining <= 0:
            raise TimeoutError("the answer took longer than the timeout")
        if conn.sock is not None:
            conn.sock.settimeout(remaining)
        data = response.read(max_bytes)
        if time.monotonic() - started > timeout:
            raise TimeoutError("the answer took longer than the timeout")
        return Answer(
            status=response.status,
            headers={k.lower(): v for k, v in response.getheaders()},
            body=data,
            duration_ms=int((time.monotonic() - started) * 1000),
            address=str(address),
        )
    except http.client.HTTPException as exc:
        raise ConnectionError(f"not an HTTP answer: {exc!r}") from None
    finally:
        conn.close()

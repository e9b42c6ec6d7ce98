"""Safe outbound HTTP: one request to a URL a user gave us, without letting it reach inside.

The host is resolved once; every address it resolves to is checked (private, loopback,
link-local, multicast, reserved, unspecified and the cloud metadata addresses are refused),
and the connection goes to the address that was checked: there is no second lookup that a
DNS-rebinding answer could change. For https the TLS handshake still names and verifies the
host (SNI, certificate), and the ``Host`` header is the URL's. Redirects are never followed
(a 3xx is just the answer). One deadline covers the whole exchange (every socket operation waits
at most the time left) and one byte cap covers everything read, status line and headers included.
Generic on purpose: webhooks and alerts use it.
"""

from __future__ import annotations

import http.client
import io
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

MAX_BYTES = 64 * 1024
METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class Refused(ValueError):
    """The URL may not be called: not http(s), or its host has an address inside."""


class TooLarge(ConnectionError):
    """The status line and headers alone are larger than the byte cap: not an answer we read."""


class Unresolved(OSError):
    """The host could not be resolved just now (it may resolve later: worth another try)."""


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]  # lower-cased names
    body: bytes  # what fits in ``max_bytes`` after the status line and headers
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


class _Budget:
    """One deadline and one byte cap for a whole exchange (connect, TLS handshake, sending, headers, body).

    The deadline is ``time.monotonic()`` (not ``chalicelib.core.clock``, which tests fake): sockets wait in
    real time. Every socket operation is given the time left, so a receiver trickling a byte just
    inside each wait still cannot hold a request past its timeout.
    """

    def __init__(self, timeout: float, max_bytes: int) -> None:
        self.timeout = timeout
        self.started = time.monotonic()
        self.deadline = self.started + timeout
        self.max_bytes = max_bytes
        self.received = 0
        self.head_read = False  # set once the status line and headers are parsed

    def left(self) -> float:
        """Seconds left until the deadline; ``TimeoutError`` once it has passed."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no complete answer within the {self.timeout:g} s timeout")
        return left


class _Reader(io.RawIOBase):
    """The response's bytes: each read waits at most until the deadline and none reads past the cap.

    Past the cap, a read during the status line and headers raises ``TooLarge``; during the body it
    is the end of the answer (the body is cut to what fits after the headers).
    """

    def __init__(self, sock: socket.socket, budget: _Budget) -> None:
        super().__init__()
        self._sock = sock
        self._budget = budget

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        budget = self._budget
        room = budget.max_bytes - budget.received
        if room <= 0:
            if budget.head_read:
                return 0
            raise TooLarge(f"the answer's status line and headers are larger than {budget.max_bytes} bytes")
        view = memoryview(buffer).cast("B")[:room]
        self._sock.settimeout(budget.left())
        n = self._sock.recv_into(view)
        budget.received += n
        return n


class _GuardedSocket:
    """What ``http.client`` sees as its socket: sends and reads under the budget.

    ``close`` does nothing: ``http.client`` closes its socket when it hands a ``Connection: close``
    answer to the response, which still reads from it; ``request`` closes the real one at the end.
    """

    def __init__(self, sock: socket.socket, budget: _Budget) -> None:
        self._sock = sock
        self._budget = budget

    def sendall(self, data: bytes) -> None:
        # Not socket.sendall: over TLS it gives each partial send a full timeout of its own.
        view = memoryview(data).cast("B")
        while view:
            self._sock.settimeout(self._budget.left())
            view = view[self._sock.send(view) :]

    def makefile(self, mode: str, *args: Any, **kwargs: Any) -> io.BufferedReader:
        return io.BufferedReader(_Reader(self._sock, self._budget))

    def close(self) -> None:
        pass


def _tls_context() -> ssl.SSLContext:
    """The system's trusted authorities, host names checked (a seam: tests trust their own certificate)."""
    return ssl.create_default_context()


class _PinnedConnection(http.client.HTTPConnection):
    """An HTTP(S) connection to a checked address that speaks to the URL's host name, under one budget."""

    def __init__(self, host: str, port: int, address: IPAddress, budget: _Budget, tls: bool) -> None:
        super().__init__(host, port, timeout=budget.timeout)
        self._address = address
        self._budget = budget
        self._tls = tls
        self.real_sock: socket.socket | None = None

    def connect(self) -> None:
        # Not socket.create_connection: it would look the address up again through getaddrinfo.
        family = socket.AF_INET6 if self._address.version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(self._budget.left())
            sock.connect((str(self._address), self.port))
            if self._tls:
                # The handshake runs under the time left (CPython gives a handshake one deadline).
                sock.settimeout(self._budget.left())
                sock = _tls_context().wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise
        self.real_sock = sock
        self.sock = _GuardedSocket(sock, self._budget)


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
    ``OSError`` (``Unresolved``, ``TimeoutError``, ``TooLarge``, a refused connection, a TLS failure)
    the attempt met.

    ``timeout`` is one deadline for the whole exchange, the name lookup included; ``max_bytes`` caps
    everything read, the status line and headers included. Headers that do not fit are refused
    (``TooLarge``: there is no answer to speak of); a body that does not fit is cut to what does,
    since the status is what callers act on and they keep only the body's first bytes.
    """
    scheme, host, port = _split(url)
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    budget = _Budget(timeout, max_bytes)
    address = resolve(url, allow_loopback=allow_loopback)
    conn = _PinnedConnection(host, port, address, budget, scheme == "https")
    try:
        conn.request(method, target, body=body, headers=headers or {})
        response = conn.getresponse()
        budget.head_read = True
        try:
            data = response.read(max_bytes)
        except http.client.IncompleteRead as exc:
            if budget.received < max_bytes:
                raise
            data = exc.partial  # a chunked body cut at the cap
        return Answer(
            status=response.status,
            headers={k.lower(): v for k, v in response.getheaders()},
            body=data,
            duration_ms=int((time.monotonic() - budget.started) * 1000),
            address=str(address),
        )
    except http.client.HTTPException as exc:
        raise ConnectionError(f"not an HTTP answer: {exc!r}") from None
    finally:
        conn.close()
        if conn.real_sock is not None:
            conn.real_sock.close()

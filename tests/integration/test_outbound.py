"""Safe outbound HTTP: addresses inside are refused, the checked address is the one connected
to (no second lookup), no redirects, bounded reads and time. Pure plus a loopback server."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from chalicelib.integrations import outbound
from tests.unit.test_outbound import _fake_dns


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.end_headers()
            return
        if self.path == "/big":
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"x" * 200_000)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(f"host={self.headers.get('host')}".encode())

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[int]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv.server_address[1]
    srv.shutdown()
    srv.server_close()


def test_the_checked_address_is_the_one_connected_to(monkeypatch: pytest.MonkeyPatch, server: int) -> None:
    # Given a name that answers a good address first and a private one to any later lookup (DNS rebinding)
    asked = _fake_dns(monkeypatch, ["127.0.0.1", "10.0.0.1"])
    # When it is called
    answer = outbound.request("POST", f"http://hooks.example.com:{server}/x", body=b"{}", allow_loopback=True)
    # Then the name was looked up once, the checked address reached, with the URL's host name
    assert asked == ["hooks.example.com"]
    assert answer.status == 200 and answer.address == "127.0.0.1"
    assert answer.body == f"host=hooks.example.com:{server}".encode()


def test_loopback_is_refused_unless_allowed(server: int) -> None:
    with pytest.raises(outbound.Refused, match="loopback"):
        outbound.request("POST", f"http://127.0.0.1:{server}/x")


def test_redirects_are_not_followed_and_reads_are_bounded(server: int) -> None:
    moved = outbound.request("POST", f"http://127.0.0.1:{server}/redirect", allow_loopback=True)
    assert moved.status == 302  # the answer, not the metadata service
    big = outbound.request("POST", f"http://127.0.0.1:{server}/big", allow_loopback=True)
    # the cap counts the status line and headers too (about 100 bytes here): the body is cut to what fits
    assert big.status == 200 and outbound.MAX_BYTES - 200 < len(big.body) < outbound.MAX_BYTES


def test_a_silent_server_times_out() -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    try:
        with pytest.raises(TimeoutError):
            outbound.request("POST", f"http://127.0.0.1:{silent.getsockname()[1]}/", timeout=0.3, allow_loopback=True)
    finally:
        silent.close()


# --- one deadline and one byte cap over the whole exchange ---------------------------------------


@contextmanager
def _raw_server(serve: Callable[[socket.socket], None]) -> Iterator[int]:
    """A one-connection receiver on loopback that answers however ``serve`` writes to the socket."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)  # a client that never connects must not leave the thread waiting for ever

    def run() -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn, suppress(OSError):  # the client hung up: what these receivers are for
            serve(conn)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()
        thread.join(timeout=10)


def _trickle(head: bytes, slow: bytes, every: float = 0.3) -> Callable[[socket.socket], None]:
    def serve(conn: socket.socket) -> None:
        conn.recv(65536)  # the request (small: one read takes it)
        conn.sendall(head)
        for i in range(len(slow)):
            time.sleep(every)
            conn.sendall(slow[i : i + 1])

    return serve


@pytest.mark.parametrize(
    ("head", "slow"),
    [
        (b"", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),  # the status line and headers, a byte at a time
        (b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n", b"x" * 20),  # the body, a byte at a time
    ],
    ids=["headers", "body"],
)
def test_a_trickling_answer_times_out_at_the_deadline(head: bytes, slow: bytes) -> None:
    # Given a receiver that sends one byte every 0.3 s (each read succeeds well inside a 1 s timeout)
    with _raw_server(_trickle(head, slow)) as port:
        started = time.monotonic()
        # When it is called with a 1 s timeout
        with pytest.raises(TimeoutError):
            outbound.request("POST", f"http://127.0.0.1:{port}/", timeout=1.0, allow_loopback=True)
        # Then the request fails at the deadline, not when the receiver is done (several seconds later)
        assert time.monotonic() - started < 3.0


def test_headers_past_the_byte_cap_are_refused_and_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a receiver sending 90 headers of 60 KB each (5.4 MB, each line under http.client's own limit)
    def serve(conn: socket.socket) -> None:
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        for i in range(90):
            conn.sendall(f"X-Pad-{i}: ".encode() + b"a" * 60_000 + b"\r\n")
        conn.sendall(b"Content-Length: 2\r\n\r\nok")

    received: list[int] = []
    real_recv_into = socket.socket.recv_into

    def counting(self: socket.socket, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        n = real_recv_into(self, buffer, nbytes, flags)
        received.append(n)
        return n

    monkeypatch.setattr(socket.socket, "recv_into", counting)  # the receiver above only uses recv
    # When it is called
    with _raw_server(serve) as port, pytest.raises(outbound.TooLarge, match=f"{outbound.MAX_BYTES} bytes"):
        outbound.request("POST", f"http://127.0.0.1:{port}/", timeout=5.0, allow_loopback=True)
    # Then reading stopped at the cap (the status line and headers count), give or take one buffer
    assert sum(received) <= outbound.MAX_BYTES + 8192


def test_a_long_body_is_cut_to_what_fits_in_the_cap_after_the_headers() -> None:
    # Given a receiver answering 200 with a 200 KB body after about 100 bytes of status line and headers
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 200000\r\n\r\n"

    def serve(conn: socket.socket) -> None:
        conn.recv(65536)
        conn.sendall(head + b"x" * 200_000)

    with _raw_server(serve) as port:
        # When it is called
        answer = outbound.request("POST", f"http://127.0.0.1:{port}/", allow_loopback=True)
    # Then the answer stands, its body cut so that head and body together are the cap
    assert answer.status == 200
    assert answer.body == b"x" * (outbound.MAX_BYTES - len(head))


def _tls_receiver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host: str) -> ssl.SSLContext:
    """The server side of TLS for ``host`` with a self-signed certificate the client is made to trust
    (``cryptography`` comes with moto), and ``host`` resolving to 127.0.0.1."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    plain = serialization.NoEncryption()
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, plain))
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(cert_path, key_path)
    monkeypatch.setattr(outbound, "_tls_context", lambda: ssl.create_default_context(cafile=str(cert_path)))
    _fake_dns(monkeypatch, ["127.0.0.1"])
    return server_side


def test_an_https_answer_is_read_through_the_same_guards(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Given an https receiver with a certificate for the URL's host name
    server_side = _tls_receiver(tmp_path, monkeypatch, "hooks.example.com")

    def serve(conn: socket.socket) -> None:
        with server_side.wrap_socket(conn, server_side=True) as tls:
            # the whole request (headers and body may come in two records): closing with some of it
            # unread would make the kernel answer with a reset, and the client lose the answer
            got = b""
            while not got.endswith(b"\r\n\r\n{}"):
                got += tls.recv(65536)
            tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    with _raw_server(serve) as port:
        # When it is called
        answer = outbound.request(
            "POST", f"https://hooks.example.com:{port}/", body=b"{}", timeout=5.0, allow_loopback=True
        )
    # Then the answer is read over TLS
    assert (answer.status, answer.body) == (200, b"ok")


def test_the_tls_handshake_gets_only_the_time_left(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Given an https receiver reached by a connect that takes 0.5 s (of a 1 s timeout)
    server_side = _tls_receiver(tmp_path, monkeypatch, "hooks.example.com")
    trusting = outbound._tls_context()
    real_wrap, real_connect = trusting.wrap_socket, socket.socket.connect
    handshake_timeouts: list[float | None] = []

    def wrap(sock: socket.socket, **kw: Any) -> ssl.SSLSocket:
        handshake_timeouts.append(sock.gettimeout())  # the handshake runs under this (one deadline in CPython)
        return real_wrap(sock, **kw)

    def slow_connect(self: socket.socket, address: Any) -> None:
        time.sleep(0.5)
        real_connect(self, address)

    monkeypatch.setattr(trusting, "wrap_socket", wrap)
    monkeypatch.setattr(outbound, "_tls_context", lambda: trusting)
    monkeypatch.setattr(socket.socket, "connect", slow_connect)

    def serve(conn: socket.socket) -> None:
        with server_side.wrap_socket(conn, server_side=True) as tls:
            tls.recv(65536)
            tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    with _raw_server(serve) as port:
        # When it is called with a 1 s timeout
        answer = outbound.request("POST", f"https://hooks.example.com:{port}/", timeout=1.0, allow_loopback=True)
    # Then the handshake was given what was left of the second, not a second of its own
    assert answer.status == 200
    [left] = handshake_timeouts
    assert left is not None and left <= 0.55

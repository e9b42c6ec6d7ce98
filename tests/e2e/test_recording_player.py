"""The recording player in Debian's Chromium: a presigned URL from the API plays in ``<audio>``,
through S3's range requests (206), and a URL that expires mid-listen is replaced where it was.

moto does not enforce a presigned URL's expiry, so a small proxy in front of the embedded S3
does: it answers at most 16 kB a request, at twice the recording's bit rate (so the browser
reads it in several range requests, as it reads a long recording), and refuses the first URL
with 403 once it has served a few of them.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import pytest

from calltracking_local import audio
from tests.integration.test_recordings import recorded_call
from tests.support import browser as br
from tests.support import database
from tests.support.env import body

PLAYER = Path(__file__).resolve().parents[2] / "chalicelib" / "dashboard" / "static" / "player.js"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHUNK, PAUSE = 4000, 0.125  # 32 kB/s: twice the WAV's 16 kB/s, so it plays while the rest is fetched
# Every answer is 16 kB at most (a 206 may be shorter than asked): the rest takes further range
# requests, as a recording too long to fetch at once does, so an expired URL is noticed soon.
PART = 16_384


class ExpiringS3:
    """A proxy to moto's S3 that makes the first presigned URL "expire" (403) after ``lifetime`` answers."""

    def __init__(self, upstream: str) -> None:
        self.upstream = urlsplit(upstream)
        self.log: list[dict[str, Any]] = []
        self.refused: set[str] = set()  # X-Amz-Signature values that now get 403
        self.lifetime: int | None = None  # the first URL "expires" after serving this many parts
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                signature = parse_qs(urlsplit(self.path).query).get("X-Amz-Signature", [""])[0]
                entry = {"range": self.headers.get("Range"), "signature": signature[:6], "status": 0}
                proxy.log.append(entry)
                served = sum(1 for e in proxy.log if e["signature"] == signature[:6] and e["status"] == 206)
                if proxy.lifetime is not None and served >= proxy.lifetime and not proxy.refused:
                    proxy.refused.add(signature[:6])  # the first URL expires while the browser still reads
                if signature[:6] in proxy.refused:
                    entry["status"] = 403
                    data = b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"
                    self.send_response(403)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                conn = http.client.HTTPConnection(proxy.upstream.hostname, proxy.upstream.port, timeout=10)
                first = int((self.headers.get("Range") or "bytes=0-")[6:].split("-")[0] or 0)
                headers = {"Range": f"bytes={first}-{first + PART - 1}"}
                conn.request("GET", self.path, headers=headers)
                answer = conn.getresponse()
                data = answer.read()
                conn.close()
                entry["status"] = answer.status
                self.send_response(answer.status)
                for name in ("Content-Type", "Content-Range", "Accept-Ranges", "ETag", "Last-Modified"):
                    if answer.getheader(name):
                        self.send_header(name, answer.getheader(name))
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                for start in range(0, len(data), CHUNK):
                    try:
                        self.wfile.write(data[start : start + CHUNK])
                        self.wfile.flush()
                    except OSError:
                        return
                    time.sleep(PAUSE)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def through(self, presigned: str) -> str:
        parts = urlsplit(presigned)
        return urlunsplit(parts._replace(scheme="http", netloc=urlsplit(self.url).netloc))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxy() -> Iterator[ExpiringS3]:
    p = ExpiringS3(database.endpoint())
    yield p
    p.close()


def _signature(url: str) -> str:
    return parse_qs(urlsplit(url).query)["X-Amz-Signature"][0]


def test_the_player_seeks_with_ranges_and_resumes_where_it_was_when_the_url_expires(api, chromium, proxy):
    sid, _ = recorded_call(api)
    issued: list[str] = []

    def fresh_url() -> str:
        link = body(api.call("GET", f"/v1/calls/{sid}/recording"))
        assert parse_qs(urlsplit(link["url"]).query)["X-Amz-Expires"] == ["300"]
        issued.append(link["url"])
        time.sleep(1.05)  # the next URL is signed in another second: another signature
        return proxy.through(link["url"])

    proxy.lifetime = 4
    context = br.new_context(chromium)
    page = context.new_page()
    log = br.watch(page)
    page.expose_function("freshUrl", fresh_url)
    page.set_content("<!doctype html><title>Recording</title><audio id=a controls preload=metadata></audio>")
    page.add_script_tag(path=str(PLAYER))
    # The listener seeks to the middle and presses play at once (before the metadata has arrived).
    page.evaluate("""(() => { const a = document.getElementById('a');
        window.resumedAt = []; window.failedAt = [];
        a.addEventListener('error', () => window.failedAt.push(a.currentTime));
        a.addEventListener('seeked', () => { if (window.failedAt.length) window.resumedAt.push(a.currentTime); });
        window.player = RecordingPlayer.attach(a, () => window.freshUrl());
        window.player.ready.then(() => { a.currentTime = 4; a.play().catch(() => {}); }); })()""")

    # The duration is the recording's, from the WAV header S3 served.
    page.wait_for_function("document.getElementById('a').duration > 0", timeout=15_000)
    duration = page.evaluate("document.getElementById('a').duration")
    assert duration == pytest.approx(audio.SECONDS, abs=0.1)

    first = _signature(issued[0])[:6]

    # The first URL expires while the browser is still reading it (after four parts: Chromium reads
    # a file this small whole before it reports the metadata): the next range request is refused
    # (403), and the player gets a new URL and plays on from where the listener was, the middle.
    page.wait_for_function("window.player.refreshes >= 1 && window.resumedAt.length >= 1", timeout=20_000)
    assert len(issued) == 2 and _signature(issued[1]) != _signature(issued[0])
    assert [e["status"] for e in proxy.log if e["signature"] == first][-1] == 403
    resumed = page.evaluate("window.resumedAt[0]")
    assert resumed == pytest.approx(audio.SECONDS / 2, abs=0.25)  # where the listener was
    page.wait_for_function(f"document.getElementById('a').currentTime > {resumed + 0.5}", timeout=15_000)
    assert page.evaluate("document.getElementById('a').paused") is False

    # It played from the middle through range requests with the new URL, each answered 206.
    second = [e for e in proxy.log if e["signature"] == _signature(issued[1])[:6]]
    assert second and all(e["range"] and e["status"] == 206 for e in second), proxy.log
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "recording-player.png"))
    assert log.problems == []
    context.close()

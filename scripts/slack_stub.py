"""A local stand-in for Slack's incoming webhooks (``make run``): logs each message it receives.

It answers as Slack does (200 with the body ``ok``) and prints one line per message: the time,
the path, the message's ``text`` and its mrkdwn section, so an owner running ``make run`` sees
the alert a missed call makes. Loopback only.

    python scripts/slack_stub.py --port 8025
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_BODY = 64 * 1024


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = min(int(self.headers.get("content-length") or 0), MAX_BODY)
        raw = self.rfile.read(length)
        try:
            message: Any = json.loads(raw)
        except ValueError:
            self._answer(400, b"invalid_payload")
            return
        if not isinstance(message, dict) or not message.get("text"):
            self._answer(400, b"no_text")
            return
        blocks = [b.get("text", {}).get("text", "") for b in message.get("blocks", []) if isinstance(b, dict)]
        at = datetime.now(UTC).strftime("%H:%M:%S")
        print(f"[{at}] slack message to {self.path}: {message['text']}", flush=True)
        for text in blocks:
            for line in str(text).splitlines():
                print(f"    {line}", flush=True)
        self._answer(200, b"ok")

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("content-type", "text/plain")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass  # one line per message above is the log


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8025)
    args = parser.parse_args(argv)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    sys.stderr.write(f"local Slack stub on http://127.0.0.1:{args.port}\n")
    server.serve_forever()


if __name__ == "__main__":
    main()

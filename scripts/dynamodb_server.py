"""The embedded DynamoDB: moto's server on loopback, one request at a time.

Serving one request at a time applies writes one by one, as DynamoDB does per item,
so conditional writes are atomic against concurrent clients (moto's threaded server
and its in-process backend do not promise that).

    python scripts/dynamodb_server.py --port 8001
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args(argv)
    if not args.host.startswith("127.") and args.host not in ("localhost", "::1"):
        parser.error("the embedded DynamoDB listens on loopback only")
    app = DomainDispatcherApplication(create_backend_app)
    server = make_server(args.host, args.port, app, threaded=False, request_handler=MotoRequestHandler)
    # Everything is in memory: SIGTERM ends the process at once. (sys.exit waited for the threads moto
    # starts, so stopping a stack that had taken a month of calls hung until the caller's kill, 10 s.)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    sys.stderr.write(f"embedded DynamoDB on http://{args.host}:{args.port}\n")
    sys.stderr.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()

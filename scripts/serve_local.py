"""Serve the app like ``chalice local --stage local``, with some of the stage's settings overridden.

``make run`` uses ``chalice local`` itself; tests and benchmarks use this to run the same
local server on free ports against their own embedded DynamoDB:

    python scripts/serve_local.py --port 8123 --set DYNAMODB_ENDPOINT=http://127.0.0.1:8124
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


class _Overlay(dict):  # type: ignore[type-arg]
    """os.environ, but the stage's variables never replace the overrides."""

    def __init__(self, overrides: dict[str, str]) -> None:
        super().__init__(os.environ)
        self.overrides = overrides

    def update(self, other: Mapping[str, Any] | Iterable[Any] = (), **kw: Any) -> None:
        os.environ.update(dict(other, **kw))
        os.environ.update(self.overrides)
        super().update(os.environ)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--stage", default="local")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    overrides = dict(item.split("=", 1) for item in args.set)
    overrides.setdefault("PUBLIC_BASE_URL", f"http://{args.host}:{args.port}")
    os.environ.update(overrides)

    from chalice.cli import validate_routes
    from chalice.cli.factory import CLIFactory
    from chalice.local import ChaliceRequestHandler

    # The handler speaks HTTP/1.1 and writes a response's head and body in separate sends: with
    # Nagle's algorithm on, a keep-alive client (requests' sessions, Chromium) waits out its
    # delayed ACK, 40 ms on Linux, on every request after a connection's first.
    ChaliceRequestHandler.disable_nagle_algorithm = True

    factory = CLIFactory(str(ROOT), environ=_Overlay(overrides))
    config = factory.create_config_obj(chalice_stage_name=args.stage)
    validate_routes(config.chalice_app.routes)
    server = factory.create_local_server(config.chalice_app, config, args.host, args.port)
    sys.stderr.write(f"serving on http://{args.host}:{args.port}\n")
    sys.stderr.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()

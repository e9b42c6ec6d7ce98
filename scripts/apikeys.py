"""Management API keys: create, list and revoke the keys stored (hashed) in the counters table.

    python scripts/apikeys.py create --name "CI deploys" [--stage local|dev|prod] [--json]
    python scripts/apikeys.py list [--stage ...] [--json]
    python scripts/apikeys.py revoke KEY_ID [--stage ...] [--json]

``create`` prints the key (``ct_<key id>_<secret>``) on stdout, once: only a hash is kept,
so a lost key is revoked and replaced, never recovered. Notes go to stderr, so
``KEY=$(python scripts/apikeys.py create --name ci)`` captures just the key. ``list`` never
shows a key or a hash, only the id, name, dates and the key's last four characters.
``revoke`` takes effect at once in this process and within 60 s in every running Lambda
(each caches a good key for that long).

Settings come from the stage in ``.chalice/config.json`` (``local`` by default: ``make
run``'s embedded DynamoDB); variables already in the environment win, so tests can point
this at their own DynamoDB. ``--stage dev`` or ``--stage prod`` use that stage's
``TABLE_PREFIX`` (and the rest of its variables) from ``.chalice/config.json`` against AWS:
credentials and the region come from the environment as for any AWS tool (``AWS_PROFILE``
or ``AWS_ACCESS_KEY_ID``..., ``AWS_REGION``), and they need ``dynamodb:GetItem``,
``PutItem``, ``Query`` and ``UpdateItem`` on the stage's counters table. Make sure no
``DYNAMODB_ENDPOINT`` or ``TABLE_PREFIX`` of another stage is left in the environment: the
table used is printed to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts import _localenv

STAGES = ("local", "dev", "prod")
# A command run from a laptop against AWS can afford to wait longer than the app does.
CLI_TIMEOUTS = {"STORE_CONNECT_TIMEOUT": "5", "STORE_READ_TIMEOUT": "20", "STORE_MAX_ATTEMPTS": "5"}


def _env(stage: str) -> None:
    """The stage's settings, with anything already set in the environment kept."""
    for key, value in {**CLI_TIMEOUTS, **_localenv.stage_env(stage)}.items():
        os.environ.setdefault(key, value)


def _target() -> str:
    from chalicelib.settings import get_settings

    s = get_settings()
    where = s.dynamodb_endpoint or f"AWS {s.region}"
    return f"table {s.table_name('counters')} ({where})"


def _print_table(keys: list[dict[str, Any]]) -> None:
    if not keys:
        print("no API keys", file=sys.stderr)
        return
    rows = [("ID", "NAME", "CREATED", "STATUS", "KEY")]
    for k in keys:
        status = f"revoked {k['revoked_at']}" if k["revoked_at"] else "active"
        rows.append((k["id"], k["name"], k["created_at"] or "", status, f"ct_{k['id']}_...{k['hint']}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())


def main(argv: list[str] | None = None) -> int:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--stage", default="local", choices=STAGES, help="whose tables (default: local)")
    common.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    create = sub.add_parser("create", parents=[common], help="make a key and print it (once)")
    create.add_argument("--name", required=True, help="who or what uses it, e.g. 'CI deploys'")
    sub.add_parser("list", parents=[common], help="every key: id, name, dates, status, last 4 characters")
    revoke = sub.add_parser("revoke", parents=[common], help="stop a key from working")
    revoke.add_argument("key_id", metavar="KEY_ID", help="the id from `list` (the part after ct_)")
    args = parser.parse_args(argv)

    _env(args.stage)
    from chalicelib import apikeys
    from chalicelib.errors import ApiError

    print(_target(), file=sys.stderr)
    try:
        if args.cmd == "create":
            made = apikeys.create(args.name)
            if args.json:
                print(json.dumps(made, indent=2))
            else:
                print(f"created API key {made['id']} ({made['name']}); it is shown only now:", file=sys.stderr)
                print(made["key"])
        elif args.cmd == "list":
            keys = apikeys.list_keys()
            if args.json:
                print(json.dumps(keys, indent=2))
            else:
                _print_table(keys)
        else:
            key_id = args.key_id.strip()
            if key_id.startswith("ct_"):  # a whole key pasted: take its id, never echo the rest
                key_id = key_id[3:].split("_", 1)[0]
            gone = apikeys.revoke(key_id)
            if args.json:
                print(json.dumps(gone, indent=2))
            else:
                print(f"revoked {gone['id']} ({gone['name']}) at {gone['revoked_at']}")
                print(f"running Lambdas stop accepting it within {int(apikeys.CACHE_SECONDS)} s", file=sys.stderr)
    except ApiError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Dashboard users: create, list, disable and enable the people who may sign in.

    python scripts/users.py create --email owner@example.com --role admin [--stage local|dev|prod]
    python scripts/users.py list [--stage ...] [--json]
    python scripts/users.py disable owner@example.com      (their sessions end at once)
    python scripts/users.py enable owner@example.com

``create`` asks for the password twice when run in a terminal (leave it empty to have one
made up); otherwise (``--generate``, or no terminal) it makes one up and prints it on stdout,
once: only an Argon2 hash is kept. ``--password-stdin`` reads it from the first line of
standard input instead (scripts and tests), never from the command line, where other users
of the machine could see it. ``make user EMAIL=... ROLE=admin`` runs ``create``.

Settings come from the stage in ``.chalice/config.json`` (``local`` by default: ``make run``'s
embedded DynamoDB); variables already in the environment win. For ``--stage dev|prod``
credentials and region come from the environment as for any AWS tool; the table used is
printed to stderr.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts import _localenv

STAGES = ("local", "dev", "prod")
CLI_TIMEOUTS = {"STORE_CONNECT_TIMEOUT": "5", "STORE_READ_TIMEOUT": "20", "STORE_MAX_ATTEMPTS": "5"}


def _env(stage: str) -> None:
    for key, value in {**CLI_TIMEOUTS, **_localenv.stage_env(stage)}.items():
        os.environ.setdefault(key, value)


def _target() -> str:
    from chalicelib.settings import get_settings

    s = get_settings()
    return f"table {s.table_name('counters')} ({s.dynamodb_endpoint or f'AWS {s.region}'})"


def _password(args: argparse.Namespace) -> tuple[str, bool]:
    """The new user's password, and whether it was made up here (then it is printed)."""
    from chalicelib.dashboard import users

    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n"), False
    if args.generate or not sys.stdin.isatty():
        return users.generate_password(), True
    first = getpass.getpass(f"password for {args.email} (empty: make one up): ")
    if not first:
        return users.generate_password(), True
    if getpass.getpass("again: ") != first:
        raise SystemExit("error: the two passwords differ")
    return first, False


def _print_table(found: list[dict[str, Any]]) -> None:
    if not found:
        print("no users: add one with `make user EMAIL=you@example.com ROLE=admin`", file=sys.stderr)
        return
    rows = [("EMAIL", "ROLE", "STATUS", "CREATED")]
    rows += [(u["email"], u["role"], "disabled" if u["disabled"] else "active", u["created_at"] or "") for u in found]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())


def main(argv: list[str] | None = None) -> int:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--stage", default="local", choices=STAGES, help="whose tables (default: local)")
    common.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    create = sub.add_parser("create", parents=[common], help="add a user (prints a made-up password once)")
    create.add_argument("--email", required=True)
    create.add_argument("--role", required=True, choices=("admin", "viewer"))
    how = create.add_mutually_exclusive_group()
    how.add_argument("--generate", action="store_true", help="make a password up and print it")
    how.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    sub.add_parser("list", parents=[common], help="every user: email, role, status")
    for name, text in (("disable", "stop a user signing in (their sessions end)"), ("enable", "let them in again")):
        one = sub.add_parser(name, parents=[common], help=text)
        one.add_argument("email")
    args = parser.parse_args(argv)

    _env(args.stage)
    from chalicelib.dashboard import users
    from chalicelib.errors import ApiError

    print(_target(), file=sys.stderr)
    try:
        if args.cmd == "create":
            password, made_up = _password(args)
            made = users.create_user(args.email, args.role, password)
            if args.json:
                print(json.dumps({**made, "password": password} if made_up else made, indent=2))
            else:
                print(f"added {made['email']} ({made['role']})", file=sys.stderr)
                if made_up:
                    print("password (shown only now):", file=sys.stderr)
                    print(password)
        elif args.cmd == "list":
            found = users.list_users()
            print(json.dumps(found, indent=2)) if args.json else _print_table(found)
        else:
            changed = users.set_disabled(args.email, args.cmd == "disable")
            if args.json:
                print(json.dumps(changed, indent=2))
            else:
                print(f"{changed['email']} is {'disabled' if changed['disabled'] else 'active'}")
    except ApiError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

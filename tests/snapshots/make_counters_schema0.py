"""Writes ``counters_schema0.json``: counters-table items as the code before schema 1 wrote them.

Run once, from a checkout of the code before the migration (``git worktree add /tmp/schema0
house~0``, then ``cd /tmp/schema0 && <venv>/bin/python <this file> <output>``): it makes a user
of each role (one disabled), signs one in (a web session and a remembered address), an
endpoint and two alert recipients through the public functions of that code, inside moto, and
dumps every counters item in DynamoDB's JSON. The JSON is committed; ``tests/integration/test_migrations.py``
loads it and upgrades it with today's code. Never regenerate it with code after schema 1.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

os.environ.update(
    {
        "STAGE": "test",
        "CALLTRACKING_LOCAL": "true",
        "TELEPHONY": "local",
        "TABLE_PREFIX": "snap-",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "PUBLIC_BASE_URL": "https://calls.example.test/api",
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": "test-auth-token-0123456789abcdef",
        "API_KEY": "test-api-key",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }
)
sys.path.insert(0, os.getcwd())

PASSWORD = "correct horse battery"  # the snapshot users' password (tests sign in with it)


def main(out: str) -> None:
    from moto import mock_aws

    with mock_aws():
        import boto3

        from chalicelib.core import clock
        from chalicelib.dashboard import users, websessions
        from chalicelib.integrations.alerts import recipients
        from chalicelib.integrations.webhooks import endpoints
        from chalicelib.store.models import create_tables

        clock.set_source(lambda: 1_780_000_000.0)  # a fixed time, so the snapshot is the same every run
        create_tables(wait=True)
        users.create_user("owner@example.com", "admin", PASSWORD)
        users.create_user("viewer@example.com", "viewer", PASSWORD)
        users.create_user("gone@example.com", "viewer", PASSWORD)
        users.set_disabled("gone@example.com", True)
        user = users.authenticate("owner@example.com", PASSWORD, "203.0.113.7")
        websessions.start(user["email"], user["role"])
        endpoints.create({"url": "http://127.0.0.1:9/hook", "events": ["call.completed"], "description": "crm"})
        recipients.create({"name": "Owner", "channel": "email", "email": "owner@example.com"})
        token = "123456:" + "A" * 30  # a made-up bot token (it goes to moto's SSM, never into the snapshot)
        recipients.create(
            {"name": "Team", "channel": "telegram", "telegram_bot_token": token, "telegram_chat_id": "-100200300"}
        )
        table = boto3.client("dynamodb").scan(TableName="snap-counters")["Items"]
        wanted = ("DASHUSER", "WEBSESSION#", "HOOK#endpoints", "ALERT#recipients")
        items: list[dict[str, Any]] = [i for i in table if i["pk"]["S"].startswith(wanted)]
        items.sort(key=lambda i: (i["pk"]["S"], i["sk"]["S"]))
    with open(out, "w") as f:
        json.dump({"password": PASSWORD, "items": items}, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])

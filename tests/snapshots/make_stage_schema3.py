"""Writes ``stage_schema3.json``: every table of a stage as this release (schema 3) writes it.

Run from the checkout of this release (``.venv/bin/python tests/snapshots/make_stage_schema3.py
tests/snapshots/stage_schema3.json``): against a fresh moto server it makes a channel with its
number, a website pool with two numbers, a visitor's lease from a Google Ads click, and six calls
through the app as Twilio plays them (answered and missed, a repeat caller, one from the visit),
runs the call events so the reports are written, and dumps every item of every table. The JSON
is committed; ``tests/integration/test_upgrade.py`` loads it and upgrades it with later code.
Never regenerate it with a later release: write that release's own snapshot beside it.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

sys.path.insert(0, os.getcwd())

from tests.support.env import BASE_ENV, T0

os.environ.update({**BASE_ENV, "TABLE_PREFIX": "snap-"})

CALLS = [  # (sid, caller, to: "channel" or "pool", answered)
    ("CA" + "1" * 32, "+14155550101", "channel", True),
    ("CA" + "2" * 32, "+14155550102", "channel", False),
    ("CA" + "3" * 32, "+14155550101", "channel", True),  # a repeat caller
    ("CA" + "4" * 32, "+14155550103", "pool", True),  # from the leased visit
    ("CA" + "5" * 32, "+14155550104", "pool", False),
    ("CA" + "6" * 32, "+14155550105", "channel", True),
]


def main(out: str) -> None:
    from tests.support import database

    database.start(by="snapshot")  # before the app reads its settings: the endpoints are in the environment
    from chalice.test import Client

    from app import app
    from calltracking_cli import restore
    from calltracking_local import pump as local_pump
    from chalicelib.core import clock
    from chalicelib.core.settings import get_settings
    from chalicelib.events import bus
    from chalicelib.recordings import storage
    from chalicelib.store import models
    from tests.integration.test_leases import leased, make_pool
    from tests.support.env import body

    get_settings.cache_clear()
    fake = clock.FakeClock(T0)
    clock.set_source(fake)
    models.create_tables()
    bus.reset()
    local_pump.create_queues()
    storage.reset()
    storage.create_bucket()
    with Client(app, stage_name="test", project_dir=str(database._client_project())) as client:
        api = database.Api(client)
        ch = body(api.call("POST", "/v1/channels", {"name": "Radio", "forward_to": "+12025550144"}))
        channel_number = body(api.call("POST", "/v1/numbers", {"channel_id": ch["id"]}))["number"]
        pool = make_pool(api, size=2)
        held = leased(
            api,
            pool,
            "visitor-0001",
            page_url="https://shop.example.com/?utm_source=google&utm_campaign=spring&gclid=abc",
        )
        for i, (sid, caller, to, answered) in enumerate(CALLS):
            fake.advance(600)
            number = channel_number if to == "channel" else held["number"]
            base = {"CallSid": sid, "From": caller, "To": number}
            dial = (
                {"DialCallStatus": "completed", "DialCallDuration": str(30 + i)}
                if answered
                else {"DialCallStatus": "no-answer"}
            )
            for path, params in (
                ("/twilio/voice", {**base, "CallStatus": "ringing"}),
                ("/twilio/dial-status?step=0", {**base, **dial}),
                ("/twilio/call-status", {**base, "CallStatus": "completed", "CallDuration": str(40 + i)}),
            ):
                assert api.twilio(path, params).status_code == 200, path
        database.pump().drain()
    from chalicelib.store import migrations

    while migrations.state().version < 3:  # as deploy leaves a stage of this release: schema 3
        migrations.run(remaining_ms=lambda: 10**9)
    assert migrations.LATEST == 3, "this snapshot is schema 3's: run it from that release's checkout"
    client = restore._client()
    tables: dict[str, list[dict[str, Any]]] = {}
    for name in restore.table_names():
        items = list(restore._items(client, get_settings().table_name(name)))
        tables[name] = sorted(items, key=lambda i: json.dumps(i, sort_keys=True))
    with open(out, "w") as f:
        json.dump(
            {"schema": 3, "t0": T0, "calls": [c[0] for c in CALLS], "tables": tables}, f, indent=1, sort_keys=True
        )
        f.write("\n")
    database.stop()


if __name__ == "__main__":
    main(sys.argv[1])

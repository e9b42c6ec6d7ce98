"""An upgrade from this release: a stage's tables as schema 3 wrote them (a committed snapshot,
``tests/snapshots/stage_schema3.json``, made by ``make_stage_schema3.py``), upgraded by the code of
the checkout with calls arriving while its migrations run: every item read in the new shape, the
calls stored, the counts equal before and after (plus the calls made meanwhile).

With no migration after 3 the runner has nothing to do and the test holds the new code to reading
today's items as they are; the first release that adds one runs it here, chunk by chunk."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.env import body

SNAPSHOT = Path(__file__).resolve().parents[1] / "snapshots" / "stage_schema3.json"
FOREVER = lambda: 10**9  # noqa: E731 - a deadline that never comes


def _load() -> dict[str, Any]:
    import boto3

    from chalicelib.core.settings import get_settings

    s = get_settings()
    client = boto3.client("dynamodb", endpoint_url=s.dynamodb_endpoint, region_name=s.region)
    snap: dict[str, Any] = json.loads(SNAPSHOT.read_text())
    for name, items in snap["tables"].items():
        for item in items:
            client.put_item(TableName=s.table_name(name), Item=item)
    return snap


def _seen(api: Any, sids: list[str]) -> dict[str, Any]:
    """What an owner reads: each call, the log, the channel report of the snapshot's day."""
    calls = {}
    for sid in sids:
        c = body(api.call("GET", f"/v1/calls/{sid}"))
        calls[sid] = {k: c.get(k) for k in ("status", "answered", "duration", "source", "first_time", "campaign")}
    report = body(api.call("GET", "/v1/reports/channels?from=2026-09-21&to=2026-09-22"))
    return {"calls": calls, "report": report}


def _totals(report: dict[str, Any]) -> dict[str, int]:
    rows = report.get("rows") or report.get("channels") or []
    keys = ("calls", "answered", "missed", "unique_callers")
    return {k: sum(int(r.get(k) or 0) for r in rows) for k in keys}


def test_a_stage_of_this_release_upgrades_while_calls_go_on(api: Any, fake_clock: Any) -> None:
    from chalicelib.store import migrations

    # Given: the stage as this release left it, at schema 3
    snap = _load()
    fake_clock.advance(6 * 3600)  # the snapshot's calls were made in the hour after T0
    assert migrations.state().version == snap["schema"] == 3
    before = _seen(api, snap["calls"])
    assert _totals(before["report"])["calls"] == len(snap["calls"])

    # When: the checkout's migrations run in small chunks, a call arriving between every two
    number = next(i["number"]["S"] for i in snap["tables"]["numbers"] if "channel_id" in i)
    made = []

    def a_call() -> None:
        sid = f"CA{len(made):032d}"
        base = {"CallSid": sid, "From": f"+1415555{len(made):04d}", "To": number}
        for path, params in (
            ("/twilio/voice", {**base, "CallStatus": "ringing"}),
            ("/twilio/dial-status?step=0", {**base, "DialCallStatus": "completed", "DialCallDuration": "20"}),
            ("/twilio/call-status", {**base, "CallStatus": "completed", "CallDuration": "25"}),
        ):
            assert api.twilio(path, params).status_code == 200
        made.append(sid)

    a_call()
    runs = 0
    while migrations.state().version < migrations.LATEST:
        migrations.run(remaining_ms=FOREVER, max_items=2, chunk=1)
        a_call()
        runs += 1
        assert runs < 500
    after = _seen(api, snap["calls"])

    # Then: the schema is the checkout's, every call of the snapshot reads as before, and the
    # counts are the snapshot's plus the calls made meanwhile, each stored once
    assert migrations.state().version == migrations.LATEST
    assert after["calls"] == before["calls"]
    grown = _totals(after["report"])
    assert grown["calls"] == _totals(before["report"])["calls"] + len(made)
    assert grown["answered"] == _totals(before["report"])["answered"] + len(made)
    for sid in made:
        assert body(api.call("GET", f"/v1/calls/{sid}"))["status"] == "completed"

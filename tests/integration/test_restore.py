"""The restore drill (``calltracking restore``) against moto's DynamoDB: staging tables from
point-in-time recovery, what the live tables lost put back, what is new since kept.

moto's ``RestoreTableToPointInTime`` copies the table as it is when called (it ignores the
moment), so the plumbing is tested here and the choice of moment in tests/unit: a "mistake" made
after the restore call is one made after the moment restored to."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from calltracking_cli import restore
from chalicelib.core import aws
from chalicelib.core.settings import get_settings
from tests.support.env import body


def _ddb() -> Any:
    return aws.client("dynamodb", None, endpoint=get_settings().dynamodb_endpoint)


def _with_recovery() -> None:
    client = _ddb()
    for name in restore.table_names():
        client.update_continuous_backups(
            TableName=get_settings().table_name(name),
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )


def test_a_deleted_channel_comes_back_and_what_is_new_since_stays(api: Any) -> None:
    # Given: two channels, point-in-time recovery on (as infra/tables.yaml makes the tables)
    kept = body(api.call("POST", "/v1/channels", {"name": "Radio", "forward_to": "+12025550144"}))
    lost = body(api.call("POST", "/v1/channels", {"name": "Print", "forward_to": "+12025550145"}))
    _with_recovery()
    said: list[str] = []

    # When: the tables are restored to the latest restorable moment (staging tables beside the live ones)
    problems = restore.restore_to(None, dry_run=False, say=said.append)
    assert problems == []
    staging = [restore.staging_name(n) for n in restore.table_names()]
    assert set(staging) <= set(_ddb().list_tables()["TableNames"])
    assert any(line.startswith(f"checked {restore.staging_name('channels')}: ") for line in said)
    # and a second restore before the staging tables are discarded is refused, saying why
    again = restore.restore_to(None, dry_run=False, say=said.append)
    assert again and "run restore --discard first" in again[0]

    # And then: the mistake (a channel deleted), a change, and a new channel since the moment
    assert api.call("DELETE", f"/v1/channels/{lost['id']}").status_code == 204
    api.call("PATCH", f"/v1/channels/{kept['id']}", {"name": "Radio 2"})
    new = body(api.call("POST", "/v1/channels", {"name": "TV", "forward_to": "+12025550146"}))

    # When: the switch puts back what the live tables lost
    put = restore.switch(overwrite=False, say=said.append)

    # Then: the deleted channel is back, the change and the new channel are kept
    names = {c["id"]: c["name"] for c in body(api.call("GET", "/v1/channels"))["channels"]}
    assert names == {kept["id"]: "Radio 2", lost["id"]: "Print", new["id"]: "TV"}
    assert put["channels"] == 1
    # and with --overwrite, everything goes back to the moment except what is new since
    restore.switch(overwrite=True, say=said.append)
    names = {c["id"]: c["name"] for c in body(api.call("GET", "/v1/channels"))["channels"]}
    assert names == {kept["id"]: "Radio", lost["id"]: "Print", new["id"]: "TV"}

    # When: discarded, the staging tables are gone and the live ones untouched
    assert restore.discard(say=said.append) == len(staging)
    assert not set(staging) & set(_ddb().list_tables()["TableNames"])
    assert len(body(api.call("GET", "/v1/channels"))["channels"]) == 3


def test_a_dry_run_creates_nothing_and_a_table_without_recovery_is_refused(api: Any) -> None:
    said: list[str] = []
    found = restore.restore_to(dt.datetime.now(dt.UTC), dry_run=True, say=said.append)
    assert found and all("no point-in-time recovery" in f for f in found)
    _with_recovery()
    assert restore.restore_to(None, dry_run=True, say=said.append) == []
    # and a moment outside the window is refused before anything is made
    (late, *_) = restore.restore_to(dt.datetime.now(dt.UTC) + dt.timedelta(hours=1), dry_run=False, say=said.append)
    assert "after the latest restorable moment" in late
    assert any(line.startswith("would restore ") for line in said)
    assert not [t for t in _ddb().list_tables()["TableNames"] if "restore-" in t]


def test_a_caller_erased_after_the_moment_stays_erased_through_the_restore(api: Any) -> None:
    ch = body(api.call("POST", "/v1/channels", {"name": "Radio", "forward_to": "+12025550144"}))
    number = body(api.call("POST", "/v1/numbers", {"channel_id": ch["id"]}))["number"]
    caller, sid = "+14155550177", "CA" + "7" * 32
    base = {"CallSid": sid, "From": caller, "To": number}
    for path, params in (
        ("/twilio/voice", {**base, "CallStatus": "ringing"}),
        ("/twilio/call-status", {**base, "CallStatus": "completed", "CallDuration": "20"}),
    ):
        assert api.twilio(path, params).status_code == 200
    _with_recovery()
    said: list[str] = []
    # Given: the tables restored (the staging copy holds the caller's call, number and all)
    assert restore.restore_to(None, dry_run=False, say=said.append) == []
    # When: the caller is erased after that moment, then the restored items are written back over the live ones
    assert api.call("DELETE", f"/v1/callers/{caller}").status_code in (200, 202)
    restore.switch(overwrite=True, say=said.append)
    # Then: the logged erasure was re-applied to the staging copy first: the number did not come back
    call = body(api.call("GET", f"/v1/calls/{sid}"))
    assert caller not in json.dumps(call) and call.get("caller") in (None, "")
    assert any(
        line.startswith("erasures re-applied to the staging tables: ") and line.endswith(", 1 call(s)") for line in said
    )
    restore.discard(say=said.append)

"""Call events: stream records become events, fanned out through SQS, delivered once in effect,
retried, dead-lettered, parked, swept; the reports follow them; days in the business's time zone.

All against moto's server (DynamoDB, its stream, SQS) through the same local event pump that
``make run`` runs beside the app.

The tests of this area that need no database, network or server; the ones that need
the database are in ``tests/integration/test_events.py``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from boto3.dynamodb.types import TypeSerializer

from chalicelib.events import model
from tests.support.env import T0

CALLER = "+14155550111"


SER = TypeSerializer()


def image(**fields: Any) -> dict[str, Any]:
    base = {"call_sid": "CA" + "e" * 32, "started_at": int(T0 * 1000), "caller": CALLER, "kind": "channel"}
    return {k: SER.serialize(v) for k, v in {**base, **fields}.items() if v is not None}


def rec(name: str, old: dict[str, Any] | None, new: dict[str, Any] | None, seq: str = "1", **top: Any) -> dict:
    ddb: dict[str, Any] = {"SequenceNumber": seq, "ApproximateCreationDateTime": T0, "StreamViewType": "X"}
    if old is not None:
        ddb["OldImage"] = old
    if new is not None:
        ddb["NewImage"] = new
    return {"eventID": f"id-{seq}", "eventName": name, "dynamodb": ddb, **top}


def test_a_new_call_is_started_and_its_end_is_completed_once() -> None:
    ringing = image(status="ringing", status_rank=2)
    done = image(status="completed", status_rank=4, answered=True, talk_time=30)
    assert [e.type for e in model.from_record(rec("INSERT", None, ringing))] == ["call.started"]
    completed = model.from_record(rec("MODIFY", ringing, done, "2"))
    assert [e.type for e in completed] == ["call.completed"]
    assert completed[0].call["result"] == "answered" and completed[0].call["talk_time"] == 30
    # the same change delivered again makes the same event; a later change of a final call does not complete it again
    assert model.from_record(rec("MODIFY", ringing, done, "2")) == completed
    again = image(status="completed", status_rank=4, answered=True, talk_time=30, updated_at=5)
    assert model.from_record(rec("MODIFY", done, again, "3")) == []


def test_a_call_first_seen_final_is_started_and_completed() -> None:
    done = image(status="completed", status_rank=4)
    assert [e.type for e in model.from_record(rec("INSERT", None, done))] == ["call.started", "call.completed"]


def test_an_outcome_is_an_update_with_the_previous_values() -> None:
    done = image(status="completed", status_rank=4, answered=True)
    sold = image(status="completed", status_rank=4, answered=True, outcome="sale", revenue=120)
    [event] = model.from_record(rec("MODIFY", done, sold, "9"))
    assert event.type == "call.updated"
    assert event.changes == {"outcome": None, "revenue": None}
    assert event.call["outcome"] == "sale"
    assert event.id != model.from_record(rec("MODIFY", done, sold, "10"))[0].id  # another change, another id


def test_bookkeeping_makes_no_event() -> None:
    # The reports subscriber writes agg and agg_version on the call: no event may follow, or it would loop.
    done = image(status="completed", status_rank=4)
    synced = image(status="completed", status_rank=4, agg=json.dumps({"x": {"calls": 1}}), agg_version=1, updated_at=9)
    assert model.from_record(rec("MODIFY", done, synced)) == []


def test_deleted_by_ttl_or_by_erasure() -> None:
    done = image(status="completed", status_rank=4)
    ttl = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    [by_ttl] = model.from_record(rec("REMOVE", done, None, userIdentity=ttl))
    [erased] = model.from_record(rec("REMOVE", done, None))
    assert (by_ttl.type, by_ttl.reason, erased.reason) == ("call.deleted", "retention", "erasure")


def test_an_unknown_time_zone_is_refused_at_start() -> None:
    from chalicelib.core.settings import load

    with pytest.raises(ValueError, match="IANA"):
        load({"REPORT_TIMEZONE": "Mars/Olympus"})


@pytest.mark.parametrize(
    "bad",
    [
        "not a record",
        {"eventName": "INSERT"},
        rec("UPSERT", None, image()),
        rec("INSERT", None, None),
        rec("INSERT", None, {"call_sid": {"N": "not a number"}}),
        rec("INSERT", None, {"started_at": {"N": "1"}}),  # no call sid
    ],
)
def test_records_that_can_never_be_events_are_poison(bad: Any) -> None:
    with pytest.raises(model.PoisonRecord):
        model.from_record(bad)

"""A call-back made from the dashboard, without a database: its own record (``medium`` "outbound")
is in no call figure and makes no event; what it stores; who may be rung."""

from __future__ import annotations

import pytest

from chalicelib import callback_dial, calls
from chalicelib.core.errors import BadRequest, Conflict
from chalicelib.dashboard import logpage
from chalicelib.reports import aggregates
from chalicelib.store.calls import CallRecord
from tests.support.env import T0
from tests.unit.test_events import image, model, rec

NOW = int(T0 * 1000)
SID = "CA" + "2" * 32
ORIGINAL = CallRecord(
    "CA" + "1" * 32,
    started_at=NOW - 60_000,
    caller="+14155550111",
    called="+12015550100",
    kind="channel",
    channel_id="ch_1",
    channel_name="Radio",
    forwarded_to="+12025550144",
    status="completed",
    status_rank=4,
    answered=False,
)


def test_a_call_back_is_no_call_in_any_figure_and_makes_no_event() -> None:
    values = callback_dial.outbound_record(ORIGINAL, "+12025550177", NOW)
    made = CallRecord(
        SID, medium=calls.OUTBOUND, **{**values, "status": "completed", "status_rank": 4, "answered": True}
    )
    # Then it names the call it called back, the caller, the tracking number and the user's phone rung first
    assert (made.callback_of, made.caller, made.called, made.forwarded_to) == (
        ORIGINAL.call_sid,
        "+14155550111",
        "+12015550100",
        "+12025550177",
    )
    assert made.channel_id == "ch_1" and made.month is not None and made.expires_at is not None
    # and one rule keeps it out of every call figure: not a call, its own result, nothing to count
    assert calls.is_call(ORIGINAL) and not calls.is_call(made)
    assert calls.result_of(made) == "outbound" and aggregates.contribution(made) == {}
    assert aggregates.contribution(ORIGINAL) != {}
    # the log lists it only when asked for
    every, asked = logpage.parse_filters({}, "2026-11-18"), logpage.parse_filters({"result": "outbound"}, "2026-11-18")
    assert not logpage.matches(made, every) and logpage.matches(ORIGINAL, every)
    assert logpage.matches(made, asked) and not logpage.matches(ORIGINAL, asked)
    # and the stream makes no event of it (no call.started / completed / updated / deleted / erased)
    stored = image(call_sid=SID, medium="outbound", callback_of=ORIGINAL.call_sid, status="queued", status_rank=0)
    done = image(call_sid=SID, medium="outbound", callback_of=ORIGINAL.call_sid, status="completed", status_rank=4)
    assert model.from_record(rec("INSERT", None, stored)) == []
    assert model.from_record(rec("MODIFY", stored, done, "2")) == []
    assert model.from_record(rec("REMOVE", done, None, "3")) == []
    assert model.from_record(rec("MODIFY", done, image(call_sid=SID, medium="outbound", erased_at=NOW), "4")) == []


def test_a_call_back_needs_a_phone_to_ring_first() -> None:
    # No phone: refused with where to give one (no fall-back to the line's phone)
    for missing in (None, "", "  "):
        with pytest.raises(Conflict, match="Account page"):
            callback_dial.call_back(ORIGINAL.call_sid, missing)
    with pytest.raises(BadRequest, match="'phone'"):
        callback_dial.call_back(ORIGINAL.call_sid, "12")

""" "Called back", defined once (``chalicelib.callbacks``): the rule and the list it makes, without a database."""

from __future__ import annotations

from typing import Any

from chalicelib import callbacks
from chalicelib.store.calls import CallRecord

CALLER = "+14155550100"


def call(sid: str, at: int, result: str, caller: str = CALLER, **kw: Any) -> CallRecord:
    answered = result == "answered"
    values: dict[str, Any] = {
        "call_sid": sid,
        "caller": caller,
        "started_at": at,
        "status_rank": 4,
        "status": "completed",
        "answered": answered,
        "voicemail": result == "voicemail",
        "kind": "channel",
        "channel_name": "Radio FM 101",
        "attribution": {"confidence": "static", "channel_id": "ch_r", "channel_name": "Radio FM 101"},
    }
    values.update(kw)
    return CallRecord(**values)


def test_a_missed_caller_waits_until_a_later_call_of_theirs_is_answered():
    missed = call("CA1", 1_000, "missed")
    assert [w.call_sid for w in callbacks.pending([missed])] == ["CA1"]
    assert callbacks.pending([missed])[0].source_name == "Radio FM 101"
    # They call again and nobody answers: still waiting, now with two missed calls, the latest shown
    again = call("CA2", 2_000, "voicemail")
    [w] = callbacks.pending([again, missed])
    assert (w.call_sid, w.missed_calls, w.voicemail) == ("CA2", 2, True)
    # They call again and are answered: nobody is waiting
    assert callbacks.pending([missed, again, call("CA3", 3_000, "answered")]) == []
    # An answered call before the missed one does not count
    assert [w.call_sid for w in callbacks.pending([call("CA0", 500, "answered"), missed])] == ["CA1"]


def test_marked_by_hand_covers_that_call_and_the_earlier_ones():
    missed = call("CA1", 1_000, "missed")
    marked = call("CA2", 2_000, "missed", called_back_at=2_500)
    assert callbacks.pending([missed, marked]) == []
    assert callbacks.called_back(missed, [marked])
    # an outbound call after it counts too
    assert callbacks.called_back(missed, [], outbound=[1_500]) and not callbacks.called_back(missed, [], outbound=[900])


def test_spam_blocked_and_withheld_callers_are_not_listed_and_the_newest_come_first():
    found = [
        call("CA1", 1_000, "missed", outcome="spam"),
        call("CA2", 2_000, "missed", caller="anonymous"),
        call("CA3", 3_000, "missed", caller="+14155550101", blocked=True),
        call("CA4", 4_000, "missed", caller="+14155550102"),
        call("CA5", 5_000, "voicemail", caller="+14155550103"),
    ]
    assert [w.call_sid for w in callbacks.pending(found)] == ["CA5", "CA4"]

"""GET /v1/callbacks: the call-back list kept by its subscriber, and PATCH called_back."""

from __future__ import annotations

from chalicelib.core import clock
from tests.support import database
from tests.support.env import body

CALLER = "+14155550177"


def _call(api, sid: str, to: str, answered: bool, caller: str = CALLER) -> None:
    params = {"CallSid": sid, "From": caller, "To": to}
    api.twilio("/twilio/voice", params)
    status = "completed" if answered else "no-answer"
    api.twilio(
        "/twilio/dial-status", {**params, "DialCallStatus": status, "DialCallDuration": "30" if answered else "0"}
    )
    api.twilio("/twilio/call-status", {**params, "CallStatus": "completed", "CallDuration": "40"})


def _waiting(api, query: str = "") -> list[dict]:
    database.pump().drain()
    r = api.call("GET", "/v1/callbacks" + query)
    assert r.status_code == 200, r.body
    return body(r)["callers"]


def test_a_missed_caller_leaves_the_list_when_they_call_again_and_are_answered(api):
    fake = clock.FakeClock(1_790_000_000)
    clock.set_source(fake)
    ch = body(api.call("POST", "/v1/channels", {"name": "Radio FM 101", "forward_to": "+12025550144"}))
    number = body(api.call("POST", "/v1/numbers", {"channel_id": ch["id"]}))["number"]
    _call(api, "CA" + "1" * 32, number, answered=False)
    fake.advance(600)
    _call(api, "CA" + "2" * 32, number, answered=False, caller="+14155550178")
    [newest, first] = _waiting(api)
    assert newest["caller"] == "+14155550178" and first["caller"] == CALLER
    assert first["source_name"] == "Radio FM 101" and first["missed_calls"] == 1
    fake.advance(600)
    _call(api, "CA" + "3" * 32, number, answered=True)
    assert [w["caller"] for w in _waiting(api)] == ["+14155550178"]
    # marked by hand through the API: gone at once, and the mark is on the call
    r = api.call("PATCH", f"/v1/calls/{'CA' + '2' * 32}", {"called_back": True})
    assert r.status_code == 200 and body(r)["called_back_at"] is not None
    assert _waiting(api) == []
    assert api.call("GET", "/v1/callbacks?days=0").status_code == 400
    assert api.call("GET", "/v1/callbacks?colour=red").status_code == 400

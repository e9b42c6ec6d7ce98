"""Calling a missed caller back from the dashboard: the business's phone first, then the caller."""

from __future__ import annotations

from xml.etree import ElementTree

from calltracking_local.telephony import LocalTelephony
from chalicelib.core.telephony import set_provider
from tests.integration.test_dashboard_pages import Browser, html
from tests.support.database import pump
from tests.support.env import BASE_URL, body

CALLER = "+14155550123"


def test_an_admin_calls_a_missed_caller_back_through_the_tracking_number(api):
    # Given a missed call to a tracking number
    phone = LocalTelephony(area_codes=("201",))
    set_provider(phone)
    ch = body(
        api.call(
            "POST",
            "/v1/channels",
            {"name": "Radio", "forward_to": "+12025550144", "flow": {"when_unanswered": "message"}},
        )
    )
    number = body(api.call("POST", "/v1/numbers", {"channel_id": ch["id"]}))["number"]
    call = {"CallSid": "CA77", "From": CALLER, "To": number}
    api.twilio("/twilio/voice", call)
    api.twilio("/twilio/dial-status?step=0", call | {"DialCallStatus": "no-answer"})
    api.twilio("/twilio/call-status", call | {"CallStatus": "completed"})
    admin, viewer = Browser(api, "admin"), Browser(api, "viewer")
    page = html(admin.get("/dashboard/calls/CA77"))
    assert f"Call {CALLER} back" in page
    assert "Call back" not in html(viewer.get("/dashboard/calls/CA77"))
    # A viewer's POST by hand, or one without the CSRF token, rings nobody
    assert viewer.post("/dashboard/calls/CA77/call-back", {"csrf": viewer.csrf}).status_code == 403
    assert admin.post("/dashboard/calls/CA77/call-back", {}).status_code == 403
    assert phone.calls == []
    # When the admin presses the button
    r = admin.post("/dashboard/calls/CA77/call-back", {"csrf": admin.csrf})
    assert r.status_code == 303
    # Then the business's phone rings, showing the tracking number, and the call is marked called back
    [made] = phone.calls
    assert (made["to"], made["from"]) == ("+12025550144", number)
    assert made["url"].startswith(f"{BASE_URL}/twilio/bridge?")
    stored = body(api.call("GET", "/v1/calls/CA77"))
    assert stored["called_back"]["call_sid"] == made["sid"] and stored["result"] == "missed"
    assert "Called back" in html(admin.get("/dashboard/calls/CA77?called_back=1"))
    # When the owner answers, Twilio asks the bridge: the caller is dialled from the tracking number
    path = made["url"][len(BASE_URL) :]
    leg = {"CallSid": made["sid"], "From": number, "To": "+12025550144"}
    dial = ElementTree.fromstring(api.twilio(path, leg).body).find("Dial")
    assert dial.get("callerId") == number and dial.find("Number").text == CALLER
    assert api.twilio(path, leg, signature=None).status_code == 403
    assert api.twilio("/twilio/bridge?to=nope&from=x", leg).status_code == 400
    # ... and the outbound leg never becomes a call of its own (no status callback)
    assert [c["sid"] for c in body(api.call("GET", "/v1/calls"))["calls"]] == ["CA77"]

    # Given another missed caller waiting on the overview's call-back list
    other = "+14155550124"
    call = {"CallSid": "CA79", "From": other, "To": number}
    api.twilio("/twilio/voice", call)
    api.twilio("/twilio/dial-status?step=0", call | {"DialCallStatus": "no-answer"})
    api.twilio("/twilio/call-status", call | {"CallStatus": "completed"})
    pump().drain()
    listed = html(admin.get("/dashboard"))
    # Then each caller on it has the same call-back button as the call's page (admins only)
    assert '/dashboard/calls/CA79/call-back"' in listed and "Call back now" in listed
    assert "Call back now" not in html(viewer.get("/dashboard"))
    assert viewer.post("/dashboard/calls/CA79/call-back", {"csrf": viewer.csrf, "back": "overview"}).status_code == 403
    assert len(phone.calls) == 1
    # When the admin presses it, the business's phone rings (the call page's own code) and the list says so
    r = admin.post("/dashboard/calls/CA79/call-back", {"csrf": admin.csrf, "back": "overview"})
    assert r.status_code == 303 and r.headers["Location"].endswith("/dashboard?calling=CA79")
    made = phone.calls[-1]
    assert (made["to"], made["from"]) == ("+12025550144", number) and f"to=%2B{other[1:]}" in made["url"]
    assert body(api.call("GET", "/v1/calls/CA79"))["called_back"]["call_sid"] == made["sid"]
    pump().drain()
    after = html(admin.get("/dashboard?calling=CA79"))
    assert "Calling your phone ((202) 555-0144) now" in after and "CA79/call-back" not in after
    assert admin.get("/dashboard?calling=nope").status_code == 400


def test_an_anonymous_caller_cannot_be_called_back(api):
    set_provider(LocalTelephony(area_codes=("201",)))
    api.twilio(
        "/twilio/call-status", {"CallSid": "CA78", "From": "Anonymous", "To": "+12015550100", "CallStatus": "completed"}
    )
    admin = Browser(api, "admin")
    r = admin.post("/dashboard/calls/CA78/call-back", {"csrf": admin.csrf})
    assert r.status_code == 409 and "no caller number" in html(r)

"""Calling a missed caller back from the dashboard: the signed-in user's own phone first, then the
caller; the call-back stored as an outbound record of its own, linked to the original."""

from __future__ import annotations

import re
from xml.etree import ElementTree

from calltracking_local.telephony import LocalTelephony
from chalicelib.core.telephony import set_provider
from tests.integration.test_dashboard_outlets import field_error
from tests.integration.test_dashboard_pages import Browser, html
from tests.support.database import pump
from tests.support.env import BASE_URL, body

CALLER = "+14155550123"
LINE_PHONE = "+12025550144"
MINE = "+12025550177"


def _missed(api, sid: str, caller: str, number: str) -> None:
    call = {"CallSid": sid, "From": caller, "To": number}
    api.twilio("/twilio/voice", call)
    api.twilio("/twilio/dial-status?step=0", call | {"DialCallStatus": "no-answer"})
    api.twilio("/twilio/call-status", call | {"CallStatus": "completed"})


def test_an_admin_calls_a_missed_caller_back_from_their_own_phone(api):
    # Given a missed call to a tracking number
    phone = LocalTelephony(area_codes=("201",))
    set_provider(phone)
    ch = body(
        api.call(
            "POST", "/v1/channels", {"name": "Radio", "forward_to": LINE_PHONE, "flow": {"when_unanswered": "message"}}
        )
    )
    number = body(api.call("POST", "/v1/numbers", {"channel_id": ch["id"]}))["number"]
    _missed(api, "CA77", CALLER, number)
    admin, viewer = Browser(api, "admin"), Browser(api, "viewer")
    assert "Call back" not in html(viewer.get("/dashboard/calls/CA77"))
    # When the admin has no phone of their own: the page says so and links to the Account page
    page = html(admin.get("/dashboard/calls/CA77"))
    assert "your account has none" in page and "/dashboard/account#your-phone" in page
    assert "Ring my phone, then" not in page
    # ... and a POST by hand rings nobody (no fall-back to the line's phone)
    r = admin.post("/dashboard/calls/CA77/call-back", {"csrf": admin.csrf})
    assert r.status_code == 409 and "Account page" in html(r) and phone.calls == []
    # ... and the overview's call-back list links there instead of its "Call back now"
    pump().drain()
    listed = html(admin.get("/dashboard"))
    assert "Add your phone to call back" in listed and "Call back now" not in listed

    # When they give a phone that is no phone: the error beside the field, what they typed kept
    r = admin.post("/dashboard/account/phone", {"csrf": admin.csrf, "phone": "555-01"})
    assert r.status_code == 400 and "'phone'" in field_error(html(r), "phone") and 'value="555-01"' in html(r)
    assert admin.post("/dashboard/account/phone", {"phone": MINE}).status_code == 403  # no CSRF token
    # ... then their own (national format taken, stored as E.164), which the Account page shows
    r = admin.post("/dashboard/account/phone", {"csrf": admin.csrf, "phone": "(202) 555-0177"})
    assert r.status_code == 200 and "Your phone is saved" in html(r) and f'value="{MINE}"' in html(r)
    # A viewer may keep a phone too (it is theirs), and erase it again
    assert viewer.post("/dashboard/account/phone", {"csrf": viewer.csrf, "phone": "+12025550188"}).status_code == 200
    r = viewer.post("/dashboard/account/phone", {"csrf": viewer.csrf, "phone": ""})
    assert "Your phone is removed" in html(r) and 'id="phone" name="phone" type="tel" value=""' in html(r)

    # A viewer's POST by hand, or one without the CSRF token, rings nobody
    assert viewer.post("/dashboard/calls/CA77/call-back", {"csrf": viewer.csrf}).status_code == 403
    assert admin.post("/dashboard/calls/CA77/call-back", {}).status_code == 403
    assert phone.calls == []
    # When the admin presses the button
    page = html(admin.get("/dashboard/calls/CA77"))
    assert "Your phone ((202) 555-0177) rings first" in page and "Ring my phone, then (415) 555-0123</button>" in page
    r = admin.post("/dashboard/calls/CA77/call-back", {"csrf": admin.csrf})
    assert r.status_code == 303
    # Then their own phone rings, showing the tracking number, with the call-back's own status route
    [made] = phone.calls
    assert (made["to"], made["from"]) == (MINE, number)
    assert made["url"].startswith(f"{BASE_URL}/twilio/bridge?")
    assert made["status_callback"] == f"{BASE_URL}/twilio/callback-status"
    stored = body(api.call("GET", "/v1/calls/CA77"))
    assert stored["called_back"]["call_sid"] == made["sid"] and stored["result"] == "missed"
    # and the call-back is a record of its own: outbound, linked to the original, the caller on it
    back = body(api.call("GET", f"/v1/calls/{made['sid']}"))
    assert (back["medium"], back["callback_of"], back["caller"], back["called"]) == ("outbound", "CA77", CALLER, number)
    assert back["forwarded_to"] == MINE and back["status"] == "queued"
    assert "Calling your phone ((202) 555-0177) now" in html(admin.get("/dashboard/calls/CA77?called_back=1"))

    # When the owner answers, Twilio asks the bridge: the caller is dialled from the tracking number
    path = made["url"][len(BASE_URL) :]
    leg = {"CallSid": made["sid"], "From": number, "To": MINE}
    dial = ElementTree.fromstring(api.twilio(path, leg).body).find("Dial")
    assert dial.get("callerId") == number and dial.find("Number").text == CALLER
    assert api.twilio(path, leg, signature=None).status_code == 403
    assert api.twilio("/twilio/bridge?to=nope&from=x", leg).status_code == 400
    # ... and Twilio's signed status callback completes the call-back's record, never an inbound call
    done = leg | {"CallStatus": "completed", "CallDuration": "95"}
    assert api.twilio("/twilio/callback-status", done, signature=None).status_code == 403
    assert api.twilio("/twilio/callback-status", done).status_code == 200
    assert api.twilio("/twilio/callback-status", done | {"CallStatus": "ringing"}).status_code == 200  # late: ignored
    back = body(api.call("GET", f"/v1/calls/{made['sid']}"))
    assert (back["status"], back["duration"], back["answered"]) == ("completed", 95, True)
    other_leg = {"CallSid": "CA" + "9" * 32, "From": number, "To": MINE, "CallStatus": "completed"}
    api.twilio("/twilio/callback-status", other_leg)
    assert api.call("GET", f"/v1/calls/{'CA' + '9' * 32}").status_code == 404  # not one: nothing made

    # Then it is in no call figure and off the log by default, listed when asked for
    pump().drain()
    assert [c["sid"] for c in body(api.call("GET", "/v1/calls"))["calls"]] == ["CA77"]
    assert [c["sid"] for c in body(api.call("GET", "/v1/calls?medium=outbound"))["calls"]] == [made["sid"]]
    total = body(api.call("GET", "/v1/reports/channels"))["total"]
    assert (total["calls"], total["answered"], total["unique_callers"]) == (1, 0, 1)
    log = html(admin.get("/dashboard/calls"))
    assert "/dashboard/calls/CA77" in log and made["sid"] not in log
    assert made["sid"] in html(admin.get("/dashboard/calls?result=outbound"))
    # ... shown on the original call's page, and its own page links back
    page = html(admin.get("/dashboard/calls/CA77"))
    assert "Called back from here" in page and f"/dashboard/calls/{made['sid']}" in page
    own = html(admin.get(f"/dashboard/calls/{made['sid']}"))
    assert "Why they called" not in own and "Save outcome" not in own and "Sent to ad platforms" not in own
    assert "Call back to" in own and re.search(r'href="[^"]*/dashboard/calls/CA77"', own), re.findall(r"<h1>.*", own)
    # ... and the caller index holds it, so access, erasure and retention reach it with the caller's calls
    from chalicelib.store import calls as store_calls

    assert made["sid"] in store_calls.sids_of_caller(CALLER)

    # Given another missed caller waiting on the overview's call-back list
    other = "+14155550124"
    _missed(api, "CA79", other, number)
    pump().drain()
    listed = html(admin.get("/dashboard"))
    # Then each caller on it has the same call-back button as the call's page (admins only)
    assert '/dashboard/calls/CA79/call-back"' in listed and "Call back now" in listed
    assert "Call back now" not in html(viewer.get("/dashboard"))
    assert viewer.post("/dashboard/calls/CA79/call-back", {"csrf": viewer.csrf, "back": "overview"}).status_code == 403
    assert len(phone.calls) == 1
    # When the admin presses it, their phone rings (the call page's own code) and the list says so
    r = admin.post("/dashboard/calls/CA79/call-back", {"csrf": admin.csrf, "back": "overview"})
    assert r.status_code == 303 and r.headers["Location"].endswith("/dashboard?calling=CA79")
    made = phone.calls[-1]
    assert (made["to"], made["from"]) == (MINE, number) and f"to=%2B{other[1:]}" in made["url"]
    assert body(api.call("GET", "/v1/calls/CA79"))["called_back"]["call_sid"] == made["sid"]
    pump().drain()
    after = html(admin.get("/dashboard?calling=CA79"))
    assert "Calling your phone ((202) 555-0177) now" in after and "CA79/call-back" not in after
    assert admin.get("/dashboard?calling=nope").status_code == 400

    # The caller's data (access) holds the call-back with their calls, and erasing them erases it too
    back_sid = body(api.call("GET", "/v1/calls/CA77"))["called_back"]["call_sid"]
    held = body(api.call("GET", "/v1/callers/%2B" + CALLER[1:]))
    assert back_sid in [c["sid"] for c in held["calls"]]
    assert api.call("DELETE", "/v1/callers/%2B" + CALLER[1:]).status_code == 200
    erased = body(api.call("GET", f"/v1/calls/{back_sid}"))
    assert erased["caller"] is None and erased["medium"] == "outbound"


def test_an_api_client_says_which_phone_rings_first(api):
    phone = LocalTelephony(area_codes=("201",))
    set_provider(phone)
    ch = body(api.call("POST", "/v1/channels", {"name": "Radio", "forward_to": LINE_PHONE}))
    number = body(api.call("POST", "/v1/numbers", {"channel_id": ch["id"]}))["number"]
    _missed(api, "CA80", CALLER, number)
    # Without a phone, or with one that is none: refused, nobody rung
    r = api.call("POST", "/v1/calls/CA80/call-back", {})
    assert r.status_code == 409 and "phone" in body(r)["error"]["message"]
    r = api.call("POST", "/v1/calls/CA80/call-back", {"phone": "nope"})
    assert r.status_code == 400 and "'phone'" in body(r)["error"]["message"]
    assert api.call("POST", "/v1/calls/CA404/call-back", {"phone": MINE}).status_code == 404
    assert phone.calls == []
    # With one: it rings first, and the answer is the call with its call-back's SID
    r = api.call("POST", "/v1/calls/CA80/call-back", {"phone": MINE})
    assert r.status_code == 202
    [made] = phone.calls
    assert (made["to"], made["from"]) == (MINE, number) and body(r)["called_back"]["call_sid"] == made["sid"]
    # A call-back is not called back in turn
    r = api.call("POST", f"/v1/calls/{made['sid']}/call-back", {"phone": MINE})
    assert r.status_code == 409 and len(phone.calls) == 1


def test_an_anonymous_caller_cannot_be_called_back(api):
    set_provider(LocalTelephony(area_codes=("201",)))
    api.twilio(
        "/twilio/call-status", {"CallSid": "CA78", "From": "Anonymous", "To": "+12015550100", "CallStatus": "completed"}
    )
    admin = Browser(api, "admin")
    admin.post("/dashboard/account/phone", {"csrf": admin.csrf, "phone": MINE})
    r = admin.post("/dashboard/calls/CA78/call-back", {"csrf": admin.csrf})
    assert r.status_code == 409 and "no caller number" in html(r)

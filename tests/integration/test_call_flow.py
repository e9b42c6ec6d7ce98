"""Call-flow settings: whisper, disclosure voice, business hours, failover, voicemail, blocking."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from xml.etree import ElementTree

import pytest

from calltracking_local.telephony import LocalTelephony
from chalicelib.core import clock
from chalicelib.core.telephony import set_provider
from chalicelib.voice import blocklist
from tests.support.database import pump
from tests.support.env import BASE_URL, body
from tests.support.twiml_rules import problems as twiml_problems

CALLER = "+14155550111"
# Wednesday 2026-11-18, 15:00 UTC = 10:00 in New York; 03:00 UTC the next day = 22:00 there.
OPEN = datetime(2026, 11, 18, 15, 0, tzinfo=UTC).timestamp()
NIGHT = datetime(2026, 11, 19, 3, 0, tzinfo=UTC).timestamp()
HOURS = {
    "timezone": "America/New_York",
    "weekly": {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
}


@pytest.fixture
def at(tables):
    def set_time(t: float) -> None:
        clock.set_source(clock.FakeClock(t))

    set_time(OPEN)
    blocklist.clear_cache()
    yield set_time
    blocklist.clear_cache()


def line(api, **flow):
    ch = body(
        api.call(
            "POST",
            "/v1/channels",
            {"name": "Google Ads", "forward_to": "+12025550144", "record": True, "flow": flow},
        )
    )
    assert "id" in ch, ch
    return ch, body(api.call("POST", "/v1/numbers", {"channel_id": ch["id"]}))["number"]


def voice(api, number, sid="CA1", caller=CALLER):
    r = api.twilio("/twilio/voice", {"CallSid": sid, "From": caller, "To": number})
    assert r.status_code == 200, r.body
    return ElementTree.fromstring(r.body)


def dial_result(api, number, status, step, sid="CA1"):
    params = {"CallSid": sid, "From": CALLER, "To": number, "DialCallStatus": status}
    if status == "completed":
        params["DialCallDuration"] = "30"
    r = api.twilio(f"/twilio/dial-status?step={step}", params)
    assert r.status_code == 200, r.body
    return ElementTree.fromstring(r.body)


def call(api, sid="CA1"):
    return body(api.call("GET", f"/v1/calls/{sid}"))


def test_whisper_goes_to_the_agent_only(api, at):
    ch, number = line(api, whisper=True, whisper_text="Tracked call from {name}")
    root = voice(api, number)
    num = root.find("Dial/Number")
    assert num.get("url") == f"{BASE_URL}/twilio/whisper/channel/{ch['id']}"
    assert root.find("Say").text != "Tracked call from Google Ads"  # the caller hears the disclosure only
    r = api.twilio(f"/twilio/whisper/channel/{ch['id']}", {"CallSid": "CA2", "From": CALLER, "To": "+12025550144"})
    assert ElementTree.fromstring(r.body).find("Say").text == "Tracked call from Google Ads"
    assert api.twilio(f"/twilio/whisper/channel/{ch['id']}", {"CallSid": "CA2"}, signature=None).status_code == 403


def test_disclosure_language_and_voice(api, at):
    _, number = line(api, disclosure_language="es-MX", disclosure_voice="Polly.Mia")
    say = voice(api, number).find("Say")
    assert (say.get("language"), say.get("voice")) == ("es-MX", "Polly.Mia")


def test_after_hours_voicemail_is_stored_as_voicemail(api, at):
    _, number = line(api, hours=HOURS, after_hours={"action": "voicemail"}, voicemail_prompt="Leave a message.")
    assert voice(api, number, sid="CA10").find("Dial") is not None  # 10:00 on a Wednesday: open
    at(NIGHT)
    root = voice(api, number, sid="CA11")
    assert root.find("Dial") is None and root.find("Say").text == "Leave a message."
    rec = root.find("Record")
    assert rec.get("action") == f"{BASE_URL}/twilio/voicemail"
    assert rec.get("recordingStatusCallback") == f"{BASE_URL}/twilio/recording-status?kind=voicemail"
    left = {"CallSid": "CA11", "From": CALLER, "To": number, "RecordingUrl": "https://api.twilio.com/RE1"}
    left |= {"RecordingDuration": "14", "RecordingSid": "RE1"}
    api.twilio("/twilio/voicemail", left)
    api.twilio("/twilio/call-status", {"CallSid": "CA11", "From": CALLER, "To": number, "CallStatus": "completed"})
    c = call(api, "CA11")
    assert c["voicemail"] is True and c["result"] == "voicemail" and c["answered"] is None
    assert c["recording"]["sid"] == "RE1" and c["recording"]["duration"] == 14
    assert c["recording"]["url"] == f"{BASE_URL}/v1/calls/CA11/recording"  # the API's link, never Twilio's


def test_recording_callback_alone_marks_voicemail(api, at):
    _, number = line(api, hours=HOURS)
    at(NIGHT)
    voice(api, number, sid="CA12")
    rec = {"CallSid": "CA12", "RecordingSid": "RE2", "RecordingUrl": "https://x.example/RE2", "RecordingDuration": "9"}
    assert api.twilio("/twilio/recording-status?kind=voicemail", rec).status_code == 200
    assert call(api, "CA12")["result"] == "voicemail"
    # The query string is part of what Twilio signs: a signature for the bare path does not fit.
    from twilio.request_validator import RequestValidator

    from tests.support.env import AUTH_TOKEN

    sig = RequestValidator(AUTH_TOKEN).compute_signature(BASE_URL + "/twilio/recording-status", rec)
    assert api.twilio("/twilio/recording-status?kind=voicemail", rec, signature=sig).status_code == 403


def test_closed_dates_and_after_hours_forward(api, at):
    hours = {**HOURS, "closed_dates": ["2026-11-18"]}
    _, number = line(api, hours=hours, after_hours={"action": "forward", "forward_to": "+12025550177"})
    root = voice(api, number)
    assert root.find("Dial/Number").text == "+12025550177"


def test_failover_walks_the_list_then_voicemail(api, at):
    _, number = line(api, failover=["+12025550111", "+12025550122"], when_unanswered="voicemail")
    assert voice(api, number).find("Dial/Number").text == "+12025550144"
    nxt = dial_result(api, number, "no-answer", 0)
    assert nxt.find("Dial/Number").text == "+12025550111" and nxt.find("Say") is None  # no second disclosure
    assert nxt.find("Dial").get("action") == f"{BASE_URL}/twilio/dial-status?step=1&phone=%2B12025550111"
    nxt = dial_result(api, number, "busy", 1)
    assert nxt.find("Dial/Number").text == "+12025550122"
    nxt = dial_result(api, number, "failed", 2)
    assert nxt.find("Record") is not None
    c = call(api)
    assert c["answered"] is False and c["dial_status"] == "failed"


def test_failover_answered_on_the_second_phone_survives_a_late_first_result(api, at):
    _, number = line(api, failover=["+12025550111"])
    voice(api, number)
    assert [e.tag for e in dial_result(api, number, "completed", 1)] == ["Hangup"]
    dial_result(api, number, "no-answer", 0)  # Twilio delivered the first phone's result late
    c = call(api)
    assert c["answered"] is True and c["result"] == "answered" and c["talk_time"] == 30


def test_a_new_line_takes_a_voicemail_greeted_with_its_name_and_it_counts_as_voicemail(api, at):
    # Given a line created with no choice about unanswered calls
    ch, number = line(api)
    assert ch["flow"]["when_unanswered"] == "voicemail"
    # When its phone rings out (Twilio adds ~5 s to the timeout: 15 rings about 20 s, before a mobile's own voicemail)
    assert voice(api, number).find("Dial").get("timeout") == "15"
    root = dial_result(api, number, "no-answer", 0)
    # Then the caller hears the line's name and leaves a message, and the call is a voicemail
    assert [e.tag for e in root] == ["Say", "Record", "Hangup"]
    assert root.find("Say").text.startswith("You've reached Google Ads. ")
    left = {"CallSid": "CA1", "From": CALLER, "To": number, "RecordingUrl": "https://api.twilio.com/RE9"}
    api.twilio("/twilio/voicemail", left | {"RecordingDuration": "8", "RecordingSid": "RE9"})
    api.twilio("/twilio/call-status", {"CallSid": "CA1", "From": CALLER, "To": number, "CallStatus": "completed"})
    assert call(api)["result"] == "voicemail"


def test_a_line_may_ring_longer_or_say_sorry_instead(api, at):
    _, number = line(api, when_unanswered="message", ring_seconds=30)
    assert voice(api, number).find("Dial").get("timeout") == "25"
    root = dial_result(api, number, "no-answer", 0)
    assert [e.tag for e in root] == ["Say", "Hangup"]
    assert call(api)["result"] == "missed"


def test_blocked_callers_are_rejected_and_stored_as_blocked(api, at):
    _, number = line(api)
    r = api.call("PUT", "/v1/blocked-callers", {"callers": ["+1 415 555 0111", "+1900*"]})
    assert body(r) == {"callers": ["+14155550111", "+1900*"]}
    assert body(api.call("GET", "/v1/blocked-callers"))["callers"] == ["+14155550111", "+1900*"]
    for sid, caller in (("CA30", CALLER), ("CA31", "+19005550100")):
        root = voice(api, number, sid=sid, caller=caller)
        assert [e.tag for e in root] == ["Reject"]
        api.twilio("/twilio/call-status", {"CallSid": sid, "From": caller, "To": number, "CallStatus": "busy"})
        c = call(api, sid)
        assert c["blocked"] is True and c["result"] == "blocked" and c["status"] == "blocked"
    assert voice(api, number, sid="CA32", caller="+14155550199").find("Dial") is not None


@pytest.mark.parametrize(
    ("flow", "words"),
    [
        ({"hours": {"timezone": "Mars/Olympus", "weekly": {}}}, "time zone"),
        ({"hours": {"timezone": "UTC", "weekly": {"funday": []}}}, "days"),
        ({"hours": {"timezone": "UTC", "weekly": {"mon": [["9am", "5pm"]]}}}, "HH:MM"),
        ({"hours": {"timezone": "UTC", "weekly": {"mon": [["17:00", "09:00"]]}}}, "not before"),
        ({"hours": {"timezone": "UTC", "weekly": {}, "closed_dates": ["christmas"]}}, "date"),
        ({"failover": ["+12025550111", "call mum"]}, "failover[1]"),
        ({"failover": ["+12025550111"] * 6}, "at most"),
        ({"after_hours": {"action": "forward"}}, "forward_to"),
        ({"after_hours": {"action": "dance"}}, "after_hours"),
        ({"when_unanswered": "sing"}, "when_unanswered"),
        ({"voicemail_prompt": "x" * 501}, "longer"),
        ({"whisper": "yes"}, "whisper"),
        ({"disclosure_voice": "<script>"}, "voice"),
        ({"colour": "red"}, "colour"),
        ({"ring_seconds": 5}, "ring_seconds"),
        ({"ring_seconds": 61}, "ring_seconds"),
        ({"ring_seconds": "20"}, "ring_seconds"),
        ({"ring_seconds": True}, "ring_seconds"),
        ({"ring": "round"}, "flow.ring"),
        ({"menu": {"prompt": "Hi", "options": []}}, "flow.menu.options"),
        ({"menu": {"prompt": "Hi", "options": [{"key": "0", "label": "A", "action": "voicemail"}]}}, "key"),
        ({"menu": {"prompt": "Hi", "options": [{"key": "1", "label": "A", "forward_to": "x"}]}}, "forward_to"),
        (
            {"menu": {"prompt": "Hi", "options": [{"key": "1", "label": "A", "action": "voicemail"}], "default": "2"}},
            "default",
        ),
        ("everything", "object"),
    ],
)
def test_bad_flows_are_400_and_nothing_is_saved(api, at, flow, words):
    r = api.call("POST", "/v1/channels", {"name": "X", "forward_to": "+12025550144", "flow": flow})
    assert r.status_code == 400 and words in body(r)["error"]["message"], r.body
    assert body(api.call("GET", "/v1/channels"))["channels"] == []
    ch, _ = line(api)
    r = api.call("PATCH", f"/v1/channels/{ch['id']}", {"flow": flow})
    assert r.status_code == 400
    assert body(api.call("GET", f"/v1/channels/{ch['id']}"))["flow"] == {"when_unanswered": "voicemail"}


def test_bad_blocklists_are_400(api, at):
    for payload in ({"callers": "+14155550111"}, {"callers": ["not a phone"]}, {"numbers": []}):
        r = api.call("PUT", "/v1/blocked-callers", payload)
        assert r.status_code == 400, payload
    assert body(api.call("GET", "/v1/blocked-callers"))["callers"] == []


def test_pools_take_flows_too(api, at):
    from tests.integration.test_leases import make_pool

    pool = make_pool(api, size=1, flow={"whisper": True, "failover": ["+12025550111"]})
    root = voice(api, pool["numbers"][0])
    assert root.find("Dial/Number").get("url") == f"{BASE_URL}/twilio/whisper/pool/{pool['id']}"
    r = api.twilio(f"/twilio/whisper/pool/{pool['id']}", {"CallSid": "CA2"})
    assert ElementTree.fromstring(r.body).find("Say").text == "Call from Shop."


def test_a_screened_phone_taken_by_its_own_voicemail_is_not_answered_and_the_caller_goes_on(api, at):
    # Given a screened line with a backup phone
    ch, number = line(api, screen=True, failover=["+12025550111"])
    root = voice(api, number)
    dial = root.find("Dial")
    assert dial.get("action") == f"{BASE_URL}/twilio/dial-status?step=0&screen=1&phone=%2B12025550144&alert=3"
    screen_url = f"/twilio/screen/channel/{ch['id']}?call=CA1&step=0"
    assert dial.find("Number").get("url") == BASE_URL + screen_url
    # When the first phone's voicemail answers: it hears the whisper and the prompt, presses nothing
    leg = {"CallSid": "CA2", "ParentCallSid": "CA1", "From": CALLER, "To": "+12025550144"}
    heard = ElementTree.fromstring(api.twilio(screen_url, leg).body)
    gather = heard.find("Gather")
    assert gather.get("action") == f"{BASE_URL}/twilio/screen-key?call=CA1&step=0" and gather.get("numDigits") == "1"
    assert gather.findtext("Say") == "Call from Google Ads. Press any key to take this call."
    assert heard[-1].tag == "Hangup"  # no key: that leg ends unconnected
    done = {"CallSid": "CA1", "From": CALLER, "To": number, "DialCallStatus": "completed", "DialCallDuration": "9"}
    nxt = ElementTree.fromstring(api.twilio("/twilio/dial-status?step=0&screen=1", done).body)
    # Then Twilio's "completed" is not an answer: the backup phone rings, and the call is not answered
    assert nxt.find("Dial/Number").text == "+12025550111"
    step1 = "/twilio/dial-status?step=1&screen=1&phone=%2B12025550111&alert=3"
    assert nxt.find("Dial").get("action") == BASE_URL + step1
    c = call(api)
    assert c["answered"] is False
    assert c["screen"] == {"pressed": None, "phone": 1, "refused_in_row": 1, "alert": False}
    # When a person answers the backup phone and presses 1, the call is theirs
    pressed = api.twilio("/twilio/screen-key?call=CA1&step=1", {**leg, "CallSid": "CA3", "Digits": "1"})
    assert pressed.status_code == 200 and len(ElementTree.fromstring(pressed.body)) == 0  # connect
    end = ElementTree.fromstring(api.twilio(step1, done).body)
    assert [e.tag for e in end] == ["Hangup"]
    c = call(api)
    assert c["answered"] is True and c["result"] == "answered"
    # ... the press is stored, the line's count of refusals starts again, and the phone that took it is kept
    assert c["screen"] == {"pressed": "1", "phone": 2, "refused_in_row": 0, "alert": False}
    assert c["answered_phone"] == "+12025550111"


def test_screen_urls_are_signed_and_checked(api, at):
    ch, _ = line(api, screen=True)
    leg = {"CallSid": "CA2", "Digits": "1"}
    assert api.twilio("/twilio/screen-key?call=CA1&step=0", leg, signature=None).status_code == 403
    assert api.twilio(f"/twilio/screen/channel/{ch['id']}?call=CA1&step=0", leg, signature=None).status_code == 403
    for bad in ("/twilio/screen-key?call=nope&step=0", "/twilio/screen-key?call=CA1&step=x"):
        assert api.twilio(bad, leg).status_code == 400
    assert api.call("GET", "/v1/calls/CA1").status_code == 404


class MobileLookup(LocalTelephony):
    """Lookup says +12025550144 is a mobile, every other phone a landline; counts its lookups."""

    def __init__(self) -> None:
        super().__init__(area_codes=("201",))
        self.asked: list[str] = []

    def line_type(self, number):
        self.asked.append(number)
        return "mobile" if number == "+12025550144" else "landline"


def test_screening_is_on_by_default_only_for_a_mobile_looked_up_once(api, at):
    lookup = MobileLookup()
    set_provider(lookup)
    mobile, _ = line(api)
    desk = body(api.call("POST", "/v1/channels", {"name": "Desk", "forward_to": "+12025550155"}))
    chosen = body(
        api.call("POST", "/v1/channels", {"name": "PBX", "forward_to": "+12025550144", "flow": {"screen": False}})
    )
    spec = {"name": "Site", "forward_to": "+12025550144", "allowed_origins": ["https://example.com"]}
    pool = body(api.call("POST", "/v1/pools", spec | {"original_number": "+12025550188"}))
    assert (mobile["flow"].get("screen"), desk["flow"].get("screen"), chosen["flow"]["screen"]) == (True, None, False)
    assert pool["flow"].get("screen") is True, pool
    # Once per new line (not for the one whose owner chose), never per call or per change
    api.call("PATCH", f"/v1/channels/{desk['id']}", {"name": "Front desk"})
    assert lookup.asked == ["+12025550144", "+12025550155", "+12025550144"]


def test_a_ring_group_rings_every_phone_at_once_then_voicemail(api, at):
    # Given a line whose backup phone rings together with its own
    _, number = line(api, failover=["+12025550111"], ring="together")
    dial = voice(api, number).find("Dial")
    # Then both phones are in one <Dial> (the first to answer takes the call)
    assert [n.text for n in dial.findall("Number")] == ["+12025550144", "+12025550111"]
    # ... and when neither answers, the caller leaves a voicemail (no second round of ringing)
    assert dial_result(api, number, "no-answer", 0).find("Record") is not None


def test_the_phone_of_a_group_rung_together_that_answered_is_stored(api, at):
    # Given a line whose backup phone rings together with its own
    _, number = line(api, failover=["+12025550111"], ring="together")
    numbers = voice(api, number, sid="CA2").findall("Dial/Number")
    # Then each phone's leg says when it answers (Twilio's dial action does not say which one did)
    callbacks = [n.get("statusCallback", "").removeprefix(BASE_URL) for n in numbers]
    assert callbacks == [
        "/twilio/leg-answered?call=CA2&phone=%2B12025550144",
        "/twilio/leg-answered?call=CA2&phone=%2B12025550111",
    ]
    assert {n.get("statusCallbackEvent") for n in numbers} == {"answered"}
    # When the backup phone answers first (and the other's late answer changes nothing)
    leg = {"CallSid": "CA3", "ParentCallSid": "CA2", "CallStatus": "in-progress"}
    assert api.twilio(callbacks[1], leg).status_code == 200
    assert api.twilio(callbacks[0], leg | {"CallSid": "CA4"}).status_code == 200
    dial_result(api, number, "completed", 0, sid="CA2")
    # Then the call was answered by the backup phone
    c = call(api, "CA2")
    assert (c["result"], c["answered_phone"]) == ("answered", "+12025550111")
    assert api.twilio(callbacks[1], leg, signature=None).status_code == 403
    assert api.twilio("/twilio/leg-answered?call=CA2&phone=nope", leg).status_code == 400


def test_a_screened_group_rung_together_stores_the_phone_that_pressed(api, at):
    ch, number = line(api, failover=["+12025550111"], ring="together", screen=True)
    numbers = voice(api, number, sid="CA5").findall("Dial/Number")
    urls = [n.get("url", "").removeprefix(BASE_URL) for n in numbers]
    assert urls[1] == f"/twilio/screen/channel/{ch['id']}?call=CA5&step=0&phone=%2B12025550111"
    assert all(n.get("statusCallback") is None for n in numbers)  # the press says which phone
    heard = ElementTree.fromstring(api.twilio(urls[1], {"CallSid": "CA6", "ParentCallSid": "CA5"}).body)
    key = heard.find("Gather").get("action").removeprefix(BASE_URL)
    assert key == "/twilio/screen-key?call=CA5&step=0&phone=%2B12025550111"
    assert api.twilio(key, {"CallSid": "CA6", "Digits": "1"}).status_code == 200
    done = {"CallSid": "CA5", "From": CALLER, "To": number, "DialCallStatus": "completed", "DialCallDuration": "9"}
    api.twilio("/twilio/dial-status?step=0&screen=1&alert=3", done)
    c = call(api, "CA5")
    assert (c["result"], c["answered_phone"], c["screen"]["pressed"]) == ("answered", "+12025550111", "1")


MENU = {
    "prompt": "For sales press 1. For service press 2.",
    "options": [
        {"key": "1", "label": "Sales", "forward_to": "+12025550166"},
        {"key": "2", "label": "Service", "action": "voicemail"},
    ],
    "default": "1",
}


def test_a_menu_choice_routes_and_is_stored_with_the_next_steps_result(api, at):
    # Given a recorded line with a menu
    ch, number = line(api, menu=MENU)
    root = voice(api, number)
    # Then the caller hears the disclosure, then the menu by key or voice
    assert [e.tag for e in root] == ["Say", "Gather"]
    gather = root.find("Gather")
    assert gather.get("action") == f"{BASE_URL}/twilio/menu/channel/{ch['id']}" and gather.get("input") == "dtmf speech"
    assert gather.get("actionOnEmptyResult") == "true" and gather.findtext("Say") == MENU["prompt"]
    # When the caller says "service", the line's voicemail takes the message, and the option is stored
    base = {"CallSid": "CA1", "From": CALLER, "To": number}
    chose = ElementTree.fromstring(
        api.twilio(f"/twilio/menu/channel/{ch['id']}", base | {"SpeechResult": "Service."}).body
    )
    assert chose.find("Record").get("action") == f"{BASE_URL}/twilio/voicemail?option=2"
    left = base | {"RecordingUrl": "https://api.twilio.com/RE5", "RecordingDuration": "6", "RecordingSid": "RE5"}
    api.twilio("/twilio/voicemail?option=2", left)
    assert (call(api)["menu_option"], call(api)["voicemail"]) == ("2", True)
    # When another caller presses nothing, the default (sales) rings, with no second disclosure
    other = {"CallSid": "CA2", "From": CALLER, "To": number}
    voice(api, number, sid="CA2")
    rang = ElementTree.fromstring(api.twilio(f"/twilio/menu/channel/{ch['id']}", other).body)
    assert [e.tag for e in rang] == ["Dial"] and rang.find("Dial/Number").text == "+12025550166"
    sales = "/twilio/dial-status?step=0&option=1"
    assert rang.find("Dial").get("action") == BASE_URL + sales
    # ... and unanswered, it goes to the line's voicemail, the option kept
    after = ElementTree.fromstring(api.twilio(sales, other | {"DialCallStatus": "no-answer"}).body)
    assert after.find("Record").get("action") == f"{BASE_URL}/twilio/voicemail?option=1"
    assert call(api, "CA2")["menu_option"] == "1"
    # The calls list filters by the option chosen
    listed = {o: [c["sid"] for c in body(api.call("GET", f"/v1/calls?menu_option={o}"))["calls"]] for o in "123"}
    assert listed == {"1": ["CA2"], "2": ["CA1"], "3": []}
    assert "'menu_option' must be one digit" in body(api.call("GET", "/v1/calls?menu_option=0"))["error"]["message"]
    # ... and the menu report counts the calls per line and option once they end
    for sid in ("CA1", "CA2"):
        api.twilio("/twilio/call-status", {"CallSid": sid, "From": CALLER, "To": number, "CallStatus": "completed"})
    pump().drain()
    rows = body(api.call("GET", "/v1/reports/menu?from=2026-11-18&to=2026-11-18"))["rows"]
    assert [(r["line_name"], r["option"], r["label"], r["calls"], r["voicemail"], r["missed"]) for r in rows] == [
        ("Google Ads", "1", "Sales", 1, 0, 1),
        ("Google Ads", "2", "Service", 1, 1, 0),
    ]
    # ... on the overview too (the reports page), each option linking to its calls in the log
    from tests.integration.test_dashboard_pages import Browser, html

    page = html(Browser(api, "viewer").get("/dashboard?from=2026-11-18&to=2026-11-18"))
    report = page[page.index('id="menu-report"') :]
    assert "Menu options chosen" in report and "Google Ads" in report and "2 · Service" in report
    assert f"menu_option=2&amp;source={ch['id']}" in report and re.search(r'data-label="Voicemail">1<', report)
    # A bad option in a URL is a 400, an unsigned menu answer a 403
    assert api.twilio("/twilio/dial-status?step=0&option=x", other | {"DialCallStatus": "busy"}).status_code == 400
    assert api.twilio(f"/twilio/menu/channel/{ch['id']}", other, signature=None).status_code == 403


def test_a_menu_option_rings_its_own_group_in_order_and_stores_the_option_and_the_phone(api, at):
    # Given a menu whose option 2 is a ring group: two phones in order, 15 s then 30 s
    group = {"key": "2", "label": "Service", "forward_to": "+12025550177"}
    group |= {"failover": ["+12025550188"], "ring": "in_order", "ring_each": [15, 30]}
    ch, number = line(api, menu={**MENU, "options": [MENU["options"][0], group]}, failover=["+12025550111"])
    assert body(api.call("GET", f"/v1/channels/{ch['id']}"))["flow"]["menu"]["options"][1] == group
    voice(api, number)
    base = {"CallSid": "CA1", "From": CALLER, "To": number}
    # When the caller presses 2, the option's first phone rings alone for its own time (not the line's phones)
    answer = api.twilio(f"/twilio/menu/channel/{ch['id']}", base | {"Digits": "2"}).body
    assert twiml_problems(answer, BASE_URL) == []
    first = ElementTree.fromstring(answer).find("Dial")
    assert [n.text for n in first.findall("Number")] == ["+12025550177"] and first.get("timeout") == "10"
    action = first.get("action").removeprefix(BASE_URL)
    assert action == "/twilio/dial-status?step=0&option=2&phone=%2B12025550177"
    # ... then, unanswered, the option's second phone for its own time
    answer = api.twilio(action, base | {"DialCallStatus": "no-answer"}).body
    assert twiml_problems(answer, BASE_URL) == []
    second = ElementTree.fromstring(answer).find("Dial")
    assert [n.text for n in second.findall("Number")] == ["+12025550188"] and second.get("timeout") == "25"
    # When it answers, the call stores the option and the phone that answered
    done = base | {"DialCallStatus": "completed", "DialCallDuration": "12"}
    assert [
        e.tag for e in ElementTree.fromstring(api.twilio(second.get("action").removeprefix(BASE_URL), done).body)
    ] == ["Hangup"]
    c = call(api)
    assert (c["menu_option"], c["result"], c["answered_phone"]) == ("2", "answered", "+12025550188")
    # An option's group is checked as a line's is, naming the option
    bad = {**MENU, "options": [{**group, "ring": "sometimes"}]}
    refused = api.call("POST", "/v1/channels", {"name": "X", "forward_to": "+12025550144", "flow": {"menu": bad}})
    assert refused.status_code == 400 and "'flow.menu.options[0].ring'" in body(refused)["error"]["message"]


def test_a_ring_group_in_order_tries_the_second_phone_after_the_firsts_ring_time(api, at):
    # Given a line whose own phone rings 15 s and whose backup phone rings 30 s, one after another
    _, number = line(api, failover=["+12025550111"], ring_each=[15, 30])
    first = voice(api, number).find("Dial")
    # Then the first <Dial> rings only its phone, for its own ring time (Twilio adds ~5 s to the timeout)
    assert [n.text for n in first.findall("Number")] == ["+12025550144"] and first.get("timeout") == "10"
    # When it rings out, the second phone rings for its own time
    second = dial_result(api, number, "no-answer", 0).find("Dial")
    assert [n.text for n in second.findall("Number")] == ["+12025550111"] and second.get("timeout") == "25"
    # When the second phone answers, the call is answered, and by that phone
    done = {"CallSid": "CA1", "From": CALLER, "To": number, "DialCallStatus": "completed", "DialCallDuration": "30"}
    path = second.get("action").removeprefix(BASE_URL)
    assert [e.tag for e in ElementTree.fromstring(api.twilio(path, done).body)] == ["Hangup"]
    c = call(api)
    assert (c["result"], c["answered_phone"], c["talk_time"]) == ("answered", "+12025550111", 30)
    # A phone in a URL that is not one is a 400
    assert api.twilio("/twilio/dial-status?step=0&phone=nope", done).status_code == 400


def test_round_robin_starts_each_call_at_the_next_phone(api, at):
    # Given a line with two backup phones rung round-robin
    _, number = line(api, failover=["+12025550111", "+12025550122"], ring="round_robin")
    firsts = [voice(api, number, sid=f"CA{n}").find("Dial/Number").text for n in range(1, 5)]
    # Then each call starts one phone further along, and wraps around
    assert firsts == ["+12025550144", "+12025550111", "+12025550122", "+12025550144"]
    # ... and goes on in order from there, its turn carried in the action URL
    second_call = voice(api, number, sid="CA5")
    assert second_call.find("Dial").get("action").endswith("step=0&turn=4&phone=%2B12025550111")
    params = {"CallSid": "CA5", "From": CALLER, "To": number, "DialCallStatus": "no-answer"}
    nxt = ElementTree.fromstring(api.twilio("/twilio/dial-status?step=0&turn=4&phone=%2B12025550111", params).body)
    assert nxt.find("Dial/Number").text == "+12025550122"
    nxt = ElementTree.fromstring(api.twilio("/twilio/dial-status?step=1&turn=4&phone=%2B12025550122", params).body)
    assert nxt.find("Dial/Number").text == "+12025550144"


def test_refused_screens_in_a_row_alert_once_the_lines_count_is_reached(api, at):
    # Given a screened line whose alert comes after 2 refused screens in a row
    _, number = line(api, screen=True, screen_alert_after=2)

    def screened_call(sid: str, press: bool) -> dict:
        action = voice(api, number, sid=sid).find("Dial").get("action").removeprefix(BASE_URL)
        assert action.endswith("&alert=2")
        if press:
            api.twilio(f"/twilio/screen-key?call={sid}&step=0", {"CallSid": "CAleg" + sid, "Digits": "1"})
        done = {"CallSid": sid, "From": CALLER, "To": number, "DialCallStatus": "completed", "DialCallDuration": "9"}
        api.twilio(action, done)
        api.twilio(action, done)  # Twilio sent the result again: counted once
        return call(api, sid)["screen"]

    # When a phone's voicemail takes one call, a person the next, then the voicemail twice more
    assert screened_call("CA1", False) == {"pressed": None, "phone": 1, "refused_in_row": 1, "alert": False}
    assert screened_call("CA2", True)["refused_in_row"] == 0  # a press starts the count again
    assert screened_call("CA3", False)["alert"] is False
    # Then the second refusal in a row is the one that alerts
    assert screened_call("CA4", False) == {"pressed": None, "phone": 1, "refused_in_row": 2, "alert": True}
    assert screened_call("CA5", False)["alert"] is False


def test_a_round_robin_turn_that_cannot_be_counted_rings_the_first_phone_and_asks_nothing_more(api, at, monkeypatch):
    _, number = line(api, failover=["+12025550111"], ring="round_robin")

    def hung(kind: str, target_id: str) -> int:
        raise TimeoutError("DynamoDB did not answer")

    monkeypatch.setattr("chalicelib.store.lines.next_turn", hung)
    # Then the caller is still forwarded, to the first phone, and the store is not asked again
    assert voice(api, number, sid="CA9").find("Dial/Number").text == "+12025550144"
    assert api.call("GET", "/v1/calls/CA9").status_code == 404  # the callbacks create it later

"""Texts to tracking numbers through the app: stored once, attributed like a call, counted beside
calls, listed, forwarded to the owner (SMS or email, never back to the owner's own phone); SMS
alerts; StirVerstat on the call and no text-back to a caller whose attestation failed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from calltracking_local.telephony import LocalTelephony
from chalicelib.core import clock
from chalicelib.core.telephony import set_provider
from chalicelib.events.model import Event
from chalicelib.integrations.alerts import dispatch
from chalicelib.integrations.alerts import texts as forward
from chalicelib.integrations.textback import sender
from chalicelib.reports import aggregates
from tests.integration.test_leases import SITE, leased, make_pool
from tests.integration.test_textback import OPEN, missed_call
from tests.support.alerts import SENDER, recipient, sent_emails
from tests.support.env import body

CALLER = "+14155550111"
LINE_PHONE = "+12025550144"


@pytest.fixture
def now(tables: Any) -> clock.FakeClock:
    fake = clock.FakeClock(OPEN)  # a weekday morning: text-back's lines are open
    clock.set_source(fake)
    return fake


@pytest.fixture
def phone(now: clock.FakeClock) -> LocalTelephony:
    provider = LocalTelephony(area_codes=("201",))
    set_provider(provider)
    return provider


def line(api: Any, **flow: Any) -> str:
    spec = {"name": "Joe's Plumbing", "forward_to": LINE_PHONE, **({"flow": flow} if flow else {})}
    ch = body(api.call("POST", "/v1/channels", spec))
    return str(body(api.call("POST", "/v1/numbers", {"channel_id": ch["id"]}))["number"])


def text(api: Any, number: str, sid: str, words: str = "Do you fix boilers?", caller: str = CALLER, **more: str) -> Any:
    r = api.twilio("/twilio/sms", {"MessageSid": sid, "From": caller, "To": number, "Body": words, **more})
    assert r.status_code == 200 and r.body.strip().endswith(b"<Response />"), r.body
    return r


def received(api: Any, sid: str) -> Event:
    """The ``text.received`` event of a stored text, as the stream makes it."""
    [t] = [t for t in body(api.call("GET", "/v1/texts"))["texts"] if t["sid"] == sid]
    return Event("evt_" + sid, "text.received", sid, 0, t)


def test_a_text_sent_twice_is_stored_once_attributed_to_its_channel_and_listed_apart_from_calls(api, phone, now):
    # Given a channel's number
    number = line(api)
    # When Twilio delivers the same text twice (a retried webhook, a minute later), with a picture
    first = clock.iso(clock.now_ms())
    for _ in range(2):
        text(api, number, "SM" + "1" * 32, NumMedia="1")
        now.advance(60)
    # Then one text is listed, with its words, the channel's attribution and the line's phone
    texts = body(api.call("GET", "/v1/texts"))["texts"]
    assert len(texts) == 1
    t = texts[0]
    assert t["medium"] == "text" and t["result"] == "text" and t["caller"] == CALLER and t["called"] == number
    assert t["started_at"] == first  # the repeat wrote nothing
    assert t["text"] == {"body": "Do you fix boilers?", "media_count": 1}
    assert t["attribution"]["channel_name"] == "Joe's Plumbing" and t["source_name"] == "Joe's Plumbing"
    # And the calls API is as it was (no text in it) unless asked for both
    assert body(api.call("GET", "/v1/calls"))["calls"] == []
    assert body(api.call("GET", f"/v1/calls?channel_id={t['channel_id']}&answered=false"))["calls"] == []
    assert len(body(api.call("GET", f"/v1/texts?channel_id={t['channel_id']}"))["texts"]) == 1
    assert [c["sid"] for c in body(api.call("GET", "/v1/calls?medium=all"))["calls"]] == [t["sid"]]
    assert api.call("GET", "/v1/calls?medium=fax").status_code == 400
    assert api.call("GET", "/v1/texts?medium=call").status_code == 400


def test_a_text_to_a_leased_pool_number_belongs_to_the_visit_that_held_it(api, phone, now):
    from bench.common import counting

    pool = make_pool(api, size=1)
    got = leased(
        api, pool, page_url=f"{SITE}/?utm_source=google&utm_medium=cpc", utm={"source": "google", "medium": "cpc"}
    )
    now.advance(60)
    with counting() as counter:
        text(api, got["number"], "SM" + "2" * 32)
    print("sms webhook requests", counter.total)
    assert counter.total <= 4, counter.total  # the number, its pool, the lease read, one conditional write
    [t] = body(api.call("GET", "/v1/texts"))["texts"]
    assert t["attribution"]["session_id"] == got["session_id"] and t["attribution"]["confidence"] == "active"
    assert t["source"] == "web:google" and t["pool_id"] == pool["id"]


def test_a_text_counts_as_a_text_beside_the_calls_and_changes_no_call_figure(api, phone):
    # Given a missed call counted in the reports
    number = line(api)
    missed = missed_call(api, number, "CA" + "3" * 32)
    aggregates.on_event(missed)
    before = body(api.call("GET", "/v1/reports/channels"))["total"]
    # When a text comes and its event is handled twice
    text(api, number, "SM" + "3" * 32)
    for _ in range(2):
        aggregates.on_event(received(api, "SM" + "3" * 32))
    # Then the source counts one text, and every call figure is what it was
    after = body(api.call("GET", "/v1/reports/channels"))["total"]
    assert before["texts"] == 0 and after["texts"] == 1
    assert {k: v for k, v in after.items() if k != "texts"} == {k: v for k, v in before.items() if k != "texts"}


def test_a_text_is_forwarded_by_sms_from_the_tracking_number_but_never_back_to_the_owners_phone(api, phone):
    number = line(api, text_forward="sms")
    text(api, number, "SM" + "4" * 32)
    event = received(api, "SM" + "4" * 32)
    forward.on_event(event)
    [sms] = phone.sent
    assert (sms["to"], sms["from"]) == (LINE_PHONE, number)
    assert "(415) 555-0111" in sms["body"] and "Do you fix boilers?" in sms["body"]
    # And the owner's own phone texting the number (say, answering the forward) is not sent back
    text(api, number, "SM" + "5" * 32, "Yes we do", caller=LINE_PHONE)
    forward.on_event(received(api, "SM" + "5" * 32))
    assert len(phone.sent) == 1


def test_a_text_is_emailed_by_default_and_off_means_off(alerting, phone):
    api = alerting
    recipient(api, channel="email", email="owner@example.com")
    number = line(api)
    text(api, number, "SM" + "6" * 32)
    forward.on_event(received(api, "SM" + "6" * 32))
    [email] = sent_emails()
    assert email["source"] == SENDER and email["destinations"]["ToAddresses"] == ["owner@example.com"]
    assert "Do you fix boilers?" in json.dumps(email) and phone.sent == []
    quiet = line(api, text_forward="off")
    text(api, quiet, "SM" + "7" * 32)
    forward.on_event(received(api, "SM" + "7" * 32))
    assert len(sent_emails()) == 1


def test_a_line_refuses_an_unknown_forward_choice(api, phone):
    ch = {"name": "X", "forward_to": LINE_PHONE, "flow": {"text_forward": "fax"}}
    r = api.call("POST", "/v1/channels", ch)
    assert r.status_code == 400 and "text_forward" in r.body.decode()


def test_an_sms_recipient_gets_missed_call_alerts_by_text(alerting, phone, settings_env):
    api = alerting
    settings_env(ALERTS_SMS_FROM="+12015550999")
    rcp = recipient(api, channel="sms", phone="(202) 555-0188", events=["missed_call"])
    assert rcp["phone"] == "+12025550188"
    number = line(api)
    event = missed_call(api, number, "CA" + "8" * 32)
    dispatch.deliver(event, rcp["id"])
    [sms] = phone.sent
    assert (sms["to"], sms["from"]) == ("+12025550188", "+12015550999")
    assert sms["body"].startswith("Missed call") and "/dashboard/calls/" in sms["body"]
    assert (
        api.call("POST", "/v1/alerts/recipients", {"name": "x", "channel": "sms", "phone": "nope"}).status_code == 400
    )
    assert (
        api.call(
            "POST", "/v1/alerts/recipients", {"name": "x", "channel": "email", "phone": "+12025550188"}
        ).status_code
        == 400
    )


def test_stir_verstat_is_stored_and_a_failed_attestation_gets_no_text_back(api, phone, settings_env):
    settings_env(TEXT_BACK_ENABLED="true")
    number = line(api, text_back=True, when_unanswered="message")
    sid = "CA" + "9" * 32
    base = {"CallSid": sid, "From": CALLER, "To": number, "StirVerstat": "TN-Validation-Failed-C"}
    assert api.twilio("/twilio/voice", base).status_code == 200
    api.twilio("/twilio/dial-status?step=0", base | {"DialCallStatus": "no-answer"})
    api.twilio("/twilio/call-status", base | {"CallStatus": "completed", "CallDuration": "25"})
    call = body(api.call("GET", f"/v1/calls/{sid}"))
    assert call["stir_verstat"] == "TN-Validation-Failed-C" and call["result"] == "missed"
    sender.on_event(Event("evt_x", "call.completed", sid, 0, call))
    assert phone.sent == []


def test_erasing_a_caller_takes_their_texts_words_too(api, phone):
    number = line(api)
    text(api, number, "SM" + "a" * 32, "my address is 1 Main St")
    assert api.call("DELETE", "/v1/callers/%2B" + CALLER.lstrip("+")).status_code in (200, 202, 204)
    [t] = body(api.call("GET", "/v1/texts"))["texts"]
    assert t["caller"] is None and t["text"]["body"] is None


def test_the_stream_carries_a_text_to_the_reports_and_the_forward_once(api, phone):
    # Given a line that forwards texts by SMS
    from tests.support.database import pump

    number = line(api, text_forward="sms")
    # When a text comes (twice, as a retried webhook) and the event pump runs the stream and the queue
    for _ in range(2):
        text(api, number, "SM" + "b" * 32)
    pump().drain()
    # Then it was forwarded once and counted once
    assert [(s["to"], s["from"]) for s in phone.sent] == [(LINE_PHONE, number)]
    assert body(api.call("GET", "/v1/reports/channels"))["total"]["texts"] == 1


def test_stir_verstat_costs_the_voice_webhook_no_request(api, phone, settings_env):
    from bench.common import counting
    from chalicelib.voice import blocklist
    from tests.support.database import DDB_ENDPOINT

    settings_env(SSM_ENDPOINT=DDB_ENDPOINT)  # the caller-hash key, read with the auth token, from moto
    number = line(api)

    def voice(i: int, **more: str) -> int:
        params = {"CallSid": f"CA{i:032d}", "From": "+14155550111", "To": number, "CallStatus": "ringing", **more}
        blocklist.clear_cache()
        with counting() as counter:
            assert api.twilio("/twilio/voice", params).status_code == 200
        return counter.total

    voice(1)  # warm: imports, caches
    plain = [voice(i) for i in (2, 3)]
    stirred = [voice(i, StirVerstat="TN-Validation-Passed-A") for i in (4, 5)]
    assert plain == stirred and plain[0] > 0, (plain, stirred)
    print("voice webhook requests", plain)
    assert body(api.call("GET", f"/v1/calls/CA{5:032d}"))["stir_verstat"] == "TN-Validation-Passed-A"


def test_the_sweep_resends_a_text_whose_messages_were_lost(api, phone):
    from chalicelib.core import clock as clk
    from chalicelib.events import bus, sweep
    from tests.support.database import pump

    # Given a text whose event messages were lost (the queue purged before delivery)
    number = line(api, text_forward="sms")
    text(api, number, "SM" + "d" * 32)
    pump().stream_once()
    bus.sqs().purge_queue(QueueUrl=bus.queue_url())
    # When the sweep runs a while later
    later = clk.now_ms() + 3_600_000
    assert sweep.run(later)["resent"] >= 2  # the reports and the forward (the webhooks' gate lets nothing through)
    pump().drain()
    # Then the text was forwarded and counted, once, and nothing is left to send
    assert len(phone.sent) == 1
    assert body(api.call("GET", "/v1/reports/channels"))["total"]["texts"] == 1
    assert sweep.run(later)["resent"] == 0

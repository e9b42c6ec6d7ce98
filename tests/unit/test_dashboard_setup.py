"""The setup pages' pure parts: the call-handling form to the API's body and back, which field a
refusal names, what a caller hears in words, phones as people type them, the install check's tag test."""

from __future__ import annotations

import pytest

from chalicelib import handling
from chalicelib.core import validation as v
from chalicelib.core.errors import BadRequest
from chalicelib.dashboard import callflow, install
from chalicelib.site import parse_tag


def test_the_form_is_the_apis_flow_and_the_domain_accepts_it() -> None:
    form = {
        "hours_on": "on",
        "tz": "America/New_York",
        "mon_open": "09:00",
        "mon_close": "17:00",
        "failover": "(202) 555-0111\n+44 20 7946 0958",
        "when_unanswered": "voicemail",
        "voicemail_prompt": "Leave a message.",
        "record": "on",
    }
    body = callflow.body_from_form(form)
    flow = handling.parse(body["flow"])
    assert flow is not None
    assert flow["hours"]["weekly"] == {"mon": [["09:00", "17:00"]]}
    assert flow["failover"] == ["+12025550111", "+442079460958"]
    assert body["record"] is True and body["disclosure"] is None
    # and back: the form shows what was saved, phones as people type them
    back = callflow.form_from_line({"record": True, "flow": flow})
    assert back["mon_open"] == "09:00" and back["hours_on"] == "on"
    assert back["failover"].splitlines() == ["(202) 555-0111", "+44 20 7946 0958"]
    assert [v.e164(p, "x") for p in back["failover"].splitlines()] == flow["failover"]


def test_a_half_typed_day_is_refused_on_that_day() -> None:
    with pytest.raises(BadRequest) as err:
        callflow.body_from_form({"hours_on": "on", "tue_open": "09:00"})
    assert callflow.field_of(err.value.message) == "tue_open"


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ("'forward_to' is not a phone number: x", "forward_to"),
        ("'flow.failover[1]' is not a valid phone number: '12'", "failover"),
        ("'flow.hours.timezone' 'Mars/Base' is not a known time zone", "tz"),
        ("'flow.after_hours.forward_to' must be a phone number as a string", "after_hours_forward"),
        ("'hold_seconds' must be between 60 and 86400", "hold_minutes"),
        ("no number is available for that country", "form"),
    ],
)
def test_a_refusal_is_shown_beside_the_field_it_names(message: str, field: str) -> None:
    assert callflow.field_of(message) == field


def test_the_preview_tells_the_voice_webhooks_own_twiml_in_words(settings_env) -> None:
    settings_env(PUBLIC_BASE_URL="https://calls.example.com")
    flow = handling.parse(
        {
            "hours": {"timezone": "UTC", "weekly": {d: [["09:00", "17:00"]] for d in handling.DAYS[:5]}},
            "failover": ["+12025550111"],
            "when_unanswered": "voicemail",
            "voicemail_prompt": "Leave a message, please.",
            "whisper": True,
        }
    )
    line = {"id": "ch_1", "name": "Radio", "forward_to": "+12025550144", "record": True, "flow": flow}
    line["disclosure"] = handling.DEFAULT_DISCLOSURE
    scenarios = callflow.preview("channel", line)
    assert [s["title"] for s in scenarios] == ["During business hours", "Outside business hours and on closed dates"]
    words = " ".join(step["text"] for step in scenarios[0]["steps"])
    assert handling.DEFAULT_DISCLOSURE in words
    assert "Rings (202) 555-0144" in words and "recording the conversation" in words
    assert "whoever answers hears “Call from Radio.”" in words
    assert "Rings (202) 555-0111" in words and "voicemail" in words
    closed = " ".join(step["text"] for step in scenarios[1]["steps"])
    assert "Leave a message, please." in closed and "Rings" not in closed


def test_the_install_check_finds_only_this_pools_tag() -> None:
    html = '<p>x</p><script async src="https://api.example.com/ct.js" data-site="sk_abcdefghijkl"></script>'
    assert install.has_tag(html, "sk_abcdefghijkl")
    assert not install.has_tag(html, "sk_abcdefghijk")
    assert not install.has_tag("<p>sk_abcdefghijkl</p>", "sk_abcdefghijkl")


def test_the_install_check_fetches_only_the_pools_own_sites() -> None:
    pool = {"allowed_origins": ["https://www.example.com"]}
    assert install.check_url(pool, "https://www.example.com/contact") == "https://www.example.com/contact"
    for bad in ("http://169.254.169.254/latest", "https://evil.example.net/", "file:///etc/passwd", ""):
        with pytest.raises(BadRequest):
            install.check_url(pool, bad)


def test_the_test_website_keeps_only_a_site_tags_two_attributes() -> None:
    tag = '<script async src="http://127.0.0.1:8000/ct.js" data-site="sk_abcdefghijkl"></script>'
    assert parse_tag(tag) == ("http://127.0.0.1:8000/ct.js", "sk_abcdefghijkl")
    assert parse_tag('<script src="javascript:alert(1)//ct.js" data-site="sk_abcdefghijkl">') is None
    assert parse_tag("<img src=x onerror=alert(1)>") is None


def test_the_size_advice_is_the_sizing_models_for_the_visitors_expected() -> None:
    from chalicelib.dashboard import setup
    from chalicelib.reports import sizing

    advice = setup.size_advice("1,200", hold_seconds=900, size=4)
    load = 1200 * (setup.VISIT_MINUTES + 15) / 60
    assert advice["suggested"] == sizing.recommend(load, 0.01)
    assert sizing.erlang_b(load, advice["suggested"]) <= 0.01 < sizing.erlang_b(load, advice["suggested"] - 1)
    assert advice["to_add"] == advice["suggested"] - 4 and advice["overflow_now_percent"] > 50
    with pytest.raises(BadRequest, match="'visitors'"):
        setup.size_advice("lots", hold_seconds=900, size=4)


def test_a_tracking_numbers_call_counts_on_its_own_day_and_is_no_report_source() -> None:
    from chalicelib.reports import aggregates
    from chalicelib.store import keys
    from chalicelib.store.calls import CallRecord

    c = CallRecord(
        call_sid="CA" + "1" * 32, called="+12015550100", kind="channel", status_rank=4, started_at=1_790_000_000_000
    )
    got = aggregates.contribution(c)
    number_buckets = [b for b in got if keys.is_number_bucket(b)]
    assert len(number_buckets) == 1 and got[number_buckets[0]] == {"calls": 1}
    assert keys.split_bucket(number_buckets[0]).sk.endswith("#+12015550100")
    blocked = CallRecord(
        call_sid="CA" + "2" * 32, called="+12015550100", kind="blocked", blocked=True, status_rank=4, started_at=1
    )
    assert not any(keys.is_number_bucket(b) for b in aggregates.contribution(blocked))


def test_only_a_field_named_first_places_the_message_and_a_typed_value_is_never_taken_for_one() -> None:
    assert callflow.field_of("'example' is not an origin; write it like https://www.example.com") == "form"
    assert callflow.field_of("the pool's 'name' is taken") == "form"
    # the pools name the field before the value they quote
    with pytest.raises(BadRequest) as err:
        v.origin("example", "allowed_origins")
    assert callflow.field_of(err.value.message) == "allowed_origins"


def test_a_round_robin_group_with_its_own_ring_times_and_a_screen_alert_on_the_form_and_in_words(settings_env) -> None:
    settings_env(PUBLIC_BASE_URL="https://calls.example.com")
    form = {
        "failover": "(202) 555-0111\n(202) 555-0122",
        "ring": "round_robin",
        "ring_each": "15, 30 25",
        "screen": "on",
        "screen_alert_after": "2",
        "when_unanswered": "voicemail",
    }
    flow = handling.parse(callflow.body_from_form(form)["flow"])
    assert flow is not None
    assert (flow["ring"], flow["ring_each"], flow["screen_alert_after"]) == ("round_robin", [15, 30, 25], 2)
    back = callflow.form_from_line({"flow": flow})
    assert (back["ring"], back["ring_each"], back["screen_alert_after"]) == ("round_robin", "15, 30, 25", "2")
    line = {"id": "ch_1", "name": "Radio", "forward_to": "+12025550144", "record": False, "flow": flow}
    [scenario] = callflow.preview("channel", line)
    words = " ".join(f"{s['when']}: {s['text']}" for s in scenario["steps"])
    # Each phone for its own time, in order; the next call starts at the next phone; the alert's count
    assert "Rings (202) 555-0144 for about 15 seconds" in words
    assert "Rings (202) 555-0111 for about 30 seconds" in words and "Rings (202) 555-0122 for about 25 seconds" in words
    assert "The next call starts at the next phone ((202) 555-0111, then (202) 555-0122, then (202) 555-0144)" in words
    assert "After 2 screened answers in a row without a key press" in words
    # A ring time that is no number, or out of range, is refused beside its field
    for typed in ("15, soon", "5"):
        with pytest.raises(BadRequest) as err:
            handling.parse(callflow.body_from_form({**form, "ring_each": typed})["flow"])
        assert callflow.field_of(err.value.message) == "ring_each", err.value.message
    with pytest.raises(BadRequest) as err:
        handling.parse(callflow.body_from_form({**form, "screen_alert_after": "0"})["flow"])
    assert callflow.field_of(err.value.message) == "screen_alert_after"


def test_a_menu_options_ring_group_on_the_form_and_in_words(settings_env) -> None:
    settings_env(PUBLIC_BASE_URL="https://calls.example.com")
    form = {
        "menu_prompt": "For sales press 1. For service press 2.",
        "menu_1_label": "Sales",
        "menu_1_to": "(202) 555-0166",
        "menu_2_label": "Service",
        "menu_2_to": "(202) 555-0177, (202) 555-0188",
        "menu_2_ring": "in_order",
        "menu_2_ring_each": "15, 30",
        "when_unanswered": "voicemail",
    }
    flow = handling.parse(callflow.body_from_form(form)["flow"])
    assert flow is not None
    option = flow["menu"]["options"][1]
    assert (option["forward_to"], option["failover"], option["ring_each"]) == (
        "+12025550177",
        ["+12025550188"],
        [15, 30],
    )
    back = callflow.form_from_line({"flow": flow})
    assert (back["menu_2_to"], back["menu_2_ring"], back["menu_2_ring_each"]) == (
        "(202) 555-0177, (202) 555-0188",
        "in_order",
        "15, 30",
    )
    line = {"id": "ch_1", "name": "Radio", "forward_to": "+12025550144", "record": False, "flow": flow}
    [scenario] = callflow.preview("channel", line)
    words = " ".join(f"{s['when']}: {s['text']}" for s in scenario["steps"])
    # The menu names the group; option 2 rings its phones in order, each for its own time, then voicemail
    assert "2 or “Service” rings (202) 555-0177 and (202) 555-0188 one after another" in words
    assert "Rings (202) 555-0177 for about 15 seconds. If nobody answers: Rings (202) 555-0188 for about 30" in words
    assert words.count("leaves a voicemail") >= 2
    # A bad ring time of an option is refused beside that option's field
    with pytest.raises(BadRequest) as err:
        handling.parse(callflow.body_from_form({**form, "menu_2_ring_each": "15, soon"})["flow"])
    assert callflow.field_of(err.value.message) == "menu_2_ring_each", err.value.message
    with pytest.raises(BadRequest) as err:
        handling.parse(
            callflow.body_from_form(
                {**form, "menu_2_ring": "x", "menu_2_ring_each": ""} | {"menu_2_to": "+12025550177, +1"}
            )["flow"]
        )
    assert callflow.field_of(err.value.message) == "menu_2_to", err.value.message

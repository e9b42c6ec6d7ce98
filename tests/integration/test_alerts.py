"""Alerts and summaries, end to end: a missed call through the voice webhook, its callbacks and
the event pump becomes an email that moto's SES recorded, a Slack message and a Telegram message
to local stub receivers; the limit turns a flood into a digest; quiet hours hold alerts; the
daily summary agrees with the report API; secrets stay in SSM.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from chalicelib.integrations.alerts import messages, schedule
from tests.integration.test_events import callbacks, line
from tests.support.alerts import BOT_TOKEN, CALLER, SENDER, SLACK_PATH, Stub, recipient, sent_emails
from tests.support.database import pump
from tests.support.env import BASE_URL

SHOWN = "(415) 555-0177"  # CALLER as the business writes numbers (national format)


def missed_call(api: Any, number: str, sid: str, caller: str = CALLER) -> str:
    for path, params in callbacks(sid, number, caller, answered=False):
        assert api.twilio(path, params).status_code == 200
    return sid


def sid_of(i: int) -> str:
    return "CA" + f"{i:032x}"


# --- the missed call, on every channel ------------------------------------------------------------


def test_a_missed_call_is_emailed_slacked_and_telegrammed_with_caller_source_and_link(
    alerting: Any, stub: Stub
) -> None:
    api = alerting
    # Given an email, a Slack and a Telegram recipient of missed calls
    recipient(api, channel="email", email="owner@example.com", events=["missed_call"])
    slack = recipient(api, channel="slack", slack_webhook_url=stub.url + SLACK_PATH, events=["missed_call"])
    recipient(api, channel="telegram", telegram_bot_token=BOT_TOKEN, telegram_chat_id="-100123", events=["missed_call"])
    assert slack["secret_hint"] == "…uvwx" and stub.url not in json.dumps(slack)
    # When a call to a tracking number rings out
    sid = missed_call(api, line(api), sid_of(1))
    pump().drain()
    link = f"{BASE_URL}/dashboard/calls/{sid}"
    # Then moto's SES has the email, with the caller, first-time, the source and the call's dashboard page
    [email] = sent_emails()
    assert email["source"] == SENDER and email["destinations"]["ToAddresses"] == ["owner@example.com"]
    assert SHOWN in email["subject"] and "Missed call" in email["subject"]
    assert SHOWN in email["body"] and "first-time caller" in email["body"] and "Radio" in email["body"]
    assert f"tel:{CALLER}" in email["body"]
    assert f'href="{link}"' in email["body"] and "<script" not in email["body"]
    # and Slack got one message with them, its link as Slack writes links
    [message] = stub.paths(SLACK_PATH)
    text = message["blocks"][0]["text"]["text"]
    assert SHOWN in message["text"] and "Source: Radio" in text and f"<{link}|Open the call>" in text
    # and Telegram's sendMessage for the bot, to the chat
    [tg] = stub.paths(f"/telegram/bot{BOT_TOKEN}/sendMessage")
    assert tg["chat_id"] == "-100123" and tg["parse_mode"] == "HTML"
    assert SHOWN in tg["text"] and "Source: Radio" in tg["text"] and f'href="{link}"' in tg["text"]
    # And the same events again (a redelivered stream batch, the sweep) send nothing more
    pump().drain()
    assert len(sent_emails()) == 1 and len(stub.paths(SLACK_PATH)) == 1


def test_an_answered_call_alerts_nobody_but_a_first_time_caller_recipient(alerting: Any, stub: Stub) -> None:
    api = alerting
    recipient(api, channel="slack", slack_webhook_url=stub.url + "/missed", events=["missed_call"])
    recipient(api, channel="slack", slack_webhook_url=stub.url + "/new", events=["first_time_caller"])
    number = line(api)
    for path, params in callbacks(sid_of(2), number, CALLER, answered=True):
        api.twilio(path, params)
    pump().drain()
    assert stub.paths("/missed") == [] and len(stub.paths("/new")) == 1
    # a second call from the same caller is no first-time call
    for path, params in callbacks(sid_of(3), number, CALLER, answered=True):
        api.twilio(path, params)
    pump().drain()
    assert len(stub.paths("/new")) == 1


def test_a_voicemail_gives_a_listen_link_and_a_sale_alerts_once(alerting: Any, stub: Stub) -> None:
    api = alerting
    recipient(api, channel="slack", slack_webhook_url=stub.url + "/hook", events=["voicemail", "sale"])
    call = {"sid": sid_of(4), "caller": CALLER, "result": "voicemail", "voicemail": True, "channel_name": "Radio"}
    kinds = messages.kinds_of("call.completed", call, {})
    assert kinds == ["voicemail"]
    alert = messages.call_alert(kinds, call, BASE_URL, 0)
    assert alert["listen"] == f"{BASE_URL}/dashboard/calls/{sid_of(4)}#recording"
    assert f"<{alert['listen']}|Listen>" in messages.as_slack(alert)["blocks"][0]["text"]["text"]
    # A real call marked a sale by PATCH alerts once; changing its note after does not alert again
    number = line(api)
    for path, params in callbacks(sid_of(5), number, CALLER, answered=True):
        api.twilio(path, params)
    pump().drain()
    assert api.call("PATCH", f"/v1/calls/{sid_of(5)}", {"outcome": "sale"}).status_code == 200
    pump().drain()
    assert api.call("PATCH", f"/v1/calls/{sid_of(5)}", {"note": "paid"}).status_code == 200
    pump().drain()
    [sale] = stub.paths("/hook")
    assert "Call marked a sale" in sale["text"]


def test_the_alert_link_opens_the_calls_page_in_the_dashboard_for_a_signed_in_owner(alerting: Any, stub: Stub) -> None:
    """The alert's link is the dashboard's route for the call (and ``#recording`` its player's section)."""
    from chalicelib.dashboard import users
    from tests.e2e.test_dashboard_auth import PASSWORD, STAGE_PATH, Browser

    api = alerting
    recipient(api, channel="slack", slack_webhook_url=stub.url + SLACK_PATH, events=["missed_call"])
    sid = missed_call(api, line(api), sid_of(9))
    pump().drain()
    [message] = stub.paths(SLACK_PATH)
    link = re.search(r"<([^|>]+)\|Open the call>", message["blocks"][0]["text"]["text"])
    assert link and link.group(1).startswith(BASE_URL + "/dashboard/calls/")
    path = urlsplit(link.group(1)).path.removeprefix(STAGE_PATH)  # the test client has no stage path
    # A signed-out browser following the link is sent to sign in, and comes back to that call
    owner = Browser(api.client)
    first = owner.get(path)
    assert first.status_code == 303 and "/dashboard/signin" in first.headers["Location"]
    users.create_user("owner@example.com", "viewer", PASSWORD)
    assert owner.sign_in("owner@example.com", next_path=path).status_code == 303
    assert owner.last.headers["Location"].endswith(path)
    page = owner.get(path)
    assert page.status_code == 200
    html = page.body.decode()
    assert CALLER in html and sid in html and 'id="recording"' in html


# --- the brakes: the limit and quiet hours ---------------------------------------------------------


def test_fifty_missed_calls_in_ten_minutes_make_five_alerts_and_one_digest(
    alerting: Any, stub: Stub, fake_clock: Any
) -> None:
    api = alerting
    recipient(
        api,
        channel="slack",
        slack_webhook_url=stub.url + "/hook",
        events=["missed_call"],
        limit={"count": 5, "minutes": 10},
    )
    number = line(api)
    # When 50 callers' calls ring out within ten minutes (the scheduled run going every minute)
    for i in range(50):
        missed_call(api, number, sid_of(100 + i), caller=f"+1415555{1000 + i}")
        pump().drain()
        fake_clock.advance(11)
        if i % 5 == 0:
            schedule.run()
    # Then five alerts went out, and the digest waits for the window to end
    assert len(stub.got) == 5
    assert all(m["text"].startswith("Missed call") for _, m in stub.got)
    fake_clock.advance(600 - 50 * 11 + 1)
    assert schedule.run()["digests"] == 1
    # Exactly one digest, naming the 45 calls held back, each with its link
    assert len(stub.got) == 6
    digest = stub.got[-1][1]
    assert digest["text"].startswith("45 alerts")
    text = digest["blocks"][0]["text"]["text"]
    assert text.count(f"{BASE_URL}/dashboard/calls/") == 45 and "(415) 555-1049" in text
    # and it is not sent again
    fake_clock.advance(600)
    assert schedule.run()["digests"] == 0 and len(stub.got) == 6


def test_a_missed_call_in_quiet_hours_goes_into_the_next_digest(alerting: Any, stub: Stub, fake_clock: Any) -> None:
    api = alerting
    # Given quiet hours 22:00 to 07:00 in New York, and a call at 23:30 there
    night = datetime(2026, 9, 22, 3, 30, tzinfo=UTC).timestamp()  # 23:30 EDT
    fake_clock.t = night
    recipient(
        api,
        channel="email",
        email="owner@example.com",
        events=["missed_call"],
        timezone="America/New_York",
        quiet_hours={"start": "22:00", "end": "07:00"},
    )
    sid = missed_call(api, line(api), sid_of(7))
    pump().drain()
    schedule.run()
    # Then nothing is sent during the night
    assert sent_emails() == []
    fake_clock.t = datetime(2026, 9, 22, 10, 59, tzinfo=UTC).timestamp()  # 06:59
    assert schedule.run()["digests"] == 0
    # And the first run after 07:00 sends one digest with the call
    fake_clock.t = datetime(2026, 9, 22, 11, 1, tzinfo=UTC).timestamp()
    assert schedule.run()["digests"] == 1
    [email] = sent_emails()
    assert email["subject"] == "1 alert while you were away"
    assert SHOWN in email["body"] and f"{BASE_URL}/dashboard/calls/{sid}" in email["body"]
    assert "during quiet hours" in email["body"]


def test_an_old_missed_call_replayed_alerts_nobody_but_a_late_sale_does(
    alerting: Any, stub: Stub, fake_clock: Any
) -> None:
    api = alerting
    recipient(api, channel="slack", slack_webhook_url=stub.url + "/hook", events=["missed_call", "sale"])
    sid = missed_call(api, line(api), sid_of(8))
    # Given the call's events arrive two days late (the sweep, a restore)
    fake_clock.advance(2 * 86_400)
    pump().drain()
    assert stub.got == []
    # but marking it a sale now is news
    assert api.call("PATCH", f"/v1/calls/{sid}", {"tags": ["Sale"]}).status_code == 200
    pump().drain()
    [(_, sale)] = stub.got
    assert sale["text"].startswith("Call marked a sale")


def test_refused_screens_in_a_row_alert_through_the_recipients_channel(alerting: Any, stub: Stub) -> None:
    api = alerting
    # Given a recipient of the screening alert and a screened line that alerts after one refusal
    recipient(api, channel="slack", slack_webhook_url=stub.url + "/screens", events=["screens_refused"])
    ch = body_of(
        api.call(
            "POST",
            "/v1/channels",
            {"name": "Van", "forward_to": "+12025550144", "flow": {"screen": True, "screen_alert_after": 1}},
        )
    )
    number = body_of(api.call("POST", "/v1/numbers", {"channel_id": ch["id"]}))["number"]
    # When the phone's own voicemail answers a call (Twilio: completed, no key pressed) and the call ends
    sid = sid_of(40)
    base = {"CallSid": sid, "From": CALLER, "To": number}
    assert api.twilio("/twilio/voice", base).status_code == 200
    done = base | {"DialCallStatus": "completed", "DialCallDuration": "20"}
    assert api.twilio("/twilio/dial-status?step=0&screen=1&alert=1", done).status_code == 200
    assert (
        api.twilio("/twilio/call-status", base | {"CallStatus": "completed", "CallDuration": "40"}).status_code == 200
    )
    pump().drain()
    # Then the owner is told, through the alerts' own channel (its limits and quiet hours)
    [alert] = stub.paths("/screens")
    assert "Screened calls not taken" in alert["text"]
    assert "1 screened calls in a row" in json.dumps(alert)


def body_of(answer: Any) -> dict[str, Any]:
    assert answer.status_code in (200, 201), answer.body
    return dict(json.loads(answer.body))

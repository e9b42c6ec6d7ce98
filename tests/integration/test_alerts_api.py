"""The alerts API and the scheduled checks: recipients are validated and their secrets stay in SSM
(a masked hint only), the sender's state says what to do, conditions alert once per period, and
the voice webhook does not make one more DynamoDB request with ten recipients configured.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from chalicelib import sites
from chalicelib.core import clock
from chalicelib.events import stream
from chalicelib.integrations.alerts import dispatch, schedule, sender, transports
from chalicelib.store import keys
from chalicelib.store.models import CounterModel
from chalicelib.voice import blocklist
from tests.integration.test_events import line
from tests.support.alerts import BOT_TOKEN, SLACK_PATH, Stub, recipient
from tests.support.database import DDB_ENDPOINT, pump
from tests.support.env import AUTH_TOKEN, body

# --- recipients and their secrets ----------------------------------------------------------------


def ssm() -> Any:
    return boto3.client("ssm", region_name="us-east-1", endpoint_url=DDB_ENDPOINT)


def test_secrets_live_in_ssm_and_the_api_shows_only_a_hint(alerting: Any, stub: Stub) -> None:
    api = alerting
    url = stub.url + SLACK_PATH
    created = recipient(api, channel="slack", slack_webhook_url=url)
    tg = recipient(api, channel="telegram", telegram_bot_token=BOT_TOKEN, telegram_chat_id=-100123)
    # The secrets are SecureString parameters, and no answer of the API carries them
    for r, secret in ((created, url), (tg, BOT_TOKEN)):
        param = ssm().get_parameter(Name=f"/calltracking/test/alerts/{r['id']}", WithDecryption=True)["Parameter"]
        assert param["Type"] == "SecureString" and param["Value"] == secret
    shown = [
        api.call("GET", "/v1/alerts/recipients").body,
        api.call("GET", f"/v1/alerts/recipients/{created['id']}").body,
        api.call("PATCH", f"/v1/alerts/recipients/{tg['id']}", {"name": "Night shift"}).body,
        json.dumps(created),
        json.dumps(tg),
    ]
    for text in shown:
        assert SLACK_PATH.encode() not in (text if isinstance(text, bytes) else text.encode())
        assert BOT_TOKEN.split(":")[1].encode() not in (text if isinstance(text, bytes) else text.encode())
    assert tg["secret_hint"] == "…abcd" and tg["telegram_chat_id"] == "-100123"
    # A new URL replaces the parameter; deleting the recipient deletes it
    new = stub.url + "/services/T1/B1/zzzzzzzzzzzzzzzzzzzz9999"
    changed = body(api.call("PATCH", f"/v1/alerts/recipients/{created['id']}", {"slack_webhook_url": new}))
    assert changed["secret_hint"] == "…9999"
    assert api.call("DELETE", f"/v1/alerts/recipients/{created['id']}").status_code == 204
    with pytest.raises(ssm().exceptions.ParameterNotFound):
        ssm().get_parameter(Name=f"/calltracking/test/alerts/{created['id']}")
    assert api.call("GET", f"/v1/alerts/recipients/{created['id']}").status_code == 404


@pytest.mark.parametrize(
    ("payload", "mentions"),
    [
        ({"channel": "pigeon"}, "channel"),
        ({"channel": "email", "email": "not-an-address"}, "email"),
        ({"channel": "email", "email": "a@b.co", "events": ["everything"]}, "events"),
        ({"channel": "email", "email": "a@b.co", "summaries": ["hourly"]}, "summaries"),
        ({"channel": "email", "email": "a@b.co", "summary_hour": 24}, "summary_hour"),
        ({"channel": "email", "email": "a@b.co", "timezone": "Mars/Olympus"}, "timezone"),
        ({"channel": "email", "email": "a@b.co", "quiet_hours": {"start": "25:00", "end": "07:00"}}, "quiet_hours"),
        ({"channel": "email", "email": "a@b.co", "quiet_hours": {"start": "07:00", "end": "07:00"}}, "quiet_hours"),
        ({"channel": "email", "email": "a@b.co", "limit": {"count": 0}}, "count"),
        ({"channel": "email", "email": "a@b.co", "slack_webhook_url": "https://hooks.slack.com/x"}, "slack"),
        ({"channel": "slack"}, "slack_webhook_url"),
        ({"channel": "slack", "slack_webhook_url": "https://169.254.169.254/latest"}, "'slack_webhook_url' is refused"),
        ({"channel": "slack", "slack_webhook_url": "http://hooks.slack.com/services/x"}, "https"),
        ({"channel": "slack", "slack_webhook_url": "http://127.0.0.1:9/x", "summaries": ["daily"]}, "email"),
        ({"channel": "telegram", "telegram_bot_token": "nope", "telegram_chat_id": "1"}, "telegram_bot_token"),
        ({"channel": "telegram", "telegram_bot_token": BOT_TOKEN, "telegram_chat_id": "x y"}, "telegram_chat_id"),
        ({"channel": "email", "email": "a@b.co", "surprise": 1}, "unknown"),
    ],
)
def test_bad_recipients_get_a_clear_400(alerting: Any, payload: dict[str, Any], mentions: str) -> None:
    answer = alerting.call("POST", "/v1/alerts/recipients", {"name": "X", **payload})
    assert answer.status_code == 400, answer.body
    assert mentions in body(answer)["error"]["message"]


def test_the_channel_cannot_change_and_unknown_ids_are_404(alerting: Any) -> None:
    r = recipient(alerting, channel="email", email="a@example.com")
    answer = alerting.call("PATCH", f"/v1/alerts/recipients/{r['id']}", {"channel": "slack"})
    assert answer.status_code == 400 and "cannot change" in body(answer)["error"]["message"]
    assert alerting.call("GET", "/v1/alerts/recipients/rcp_nope").status_code == 404
    assert alerting.call("DELETE", "/v1/alerts/recipients/" + "x" * 300).status_code == 404
    assert alerting.call("GET", "/v1/alerts/recipients", key=None).status_code == 401


def test_a_test_message_says_what_the_channel_answered(alerting: Any, stub: Stub) -> None:
    r = recipient(alerting, channel="slack", slack_webhook_url=stub.url + "/hook")
    assert body(alerting.call("POST", f"/v1/alerts/recipients/{r['id']}/test")) == {"ok": True, "error": None}
    assert stub.got[-1][1]["text"].startswith("Test alert")
    stub.answers = [404]
    answer = body(alerting.call("POST", f"/v1/alerts/recipients/{r['id']}/test"))
    assert answer["ok"] is False and "404" in answer["error"] and "/hook" not in answer["error"]


# --- the sender ------------------------------------------------------------------------------------


def test_the_sender_is_checked_against_ses(alerting: Any, settings_env: Any) -> None:
    ready = body(alerting.call("GET", "/v1/alerts/sender"))
    assert ready["ready"] is True and ready["verification_status"] == "SUCCESS" and ready["sandbox"] is None
    assert ready["identity"] == "calls.example.test"  # the sender's domain is verified
    settings_env(ALERTS_FROM_EMAIL="alerts@unverified.example")
    missing = body(alerting.call("GET", "/v1/alerts/sender"))
    assert missing["ready"] is False and "no identity" in missing["problems"][0]
    settings_env(ALERTS_FROM_EMAIL="")
    assert "ALERTS_FROM_EMAIL" in body(alerting.call("GET", "/v1/alerts/sender"))["problems"][0]


class FakeSes:
    """What AWS answers that moto does not: a pending identity and an account in the sandbox."""

    def get_email_identity(self, EmailIdentity: str) -> dict[str, Any]:
        return {"VerificationStatus": "PENDING", "IdentityType": "DOMAIN"}

    def get_account(self) -> dict[str, Any]:
        return {"ProductionAccessEnabled": False, "SendingEnabled": True}


@pytest.mark.parametrize(
    "deployed",
    [
        {"STAGE": "prod", "CALLTRACKING_LOCAL": "false"},
        # a stage named like the local one, in Lambda (whose environment claims local, wrongly)
        {"STAGE": "test", "CALLTRACKING_LOCAL": "true", "AWS_LAMBDA_FUNCTION_NAME": "calltracking-test"},
    ],
)
def test_a_deployed_stage_checks_verification_and_the_sandbox(
    settings_env: Any, monkeypatch: Any, deployed: dict[str, str]
) -> None:
    settings_env(**deployed, ALERTS_FROM_EMAIL="alerts@shop.example")
    monkeypatch.setattr(transports, "ses", FakeSes)
    found = sender.status()
    assert found["sandbox"] is True and found["verification_status"] == "PENDING" and not found["ready"]
    assert any("not verified" in p and "DNS" in p for p in found["problems"])
    assert any("sandbox" in p and "production access" in p for p in found["problems"])


# --- scheduled conditions ---------------------------------------------------------------------------


def test_conditions_alert_once_per_period(alerting: Any, stub: Stub, fake_clock: Any, settings_env: Any) -> None:
    api = alerting
    settings_env(ALERT_POOL_EXHAUSTED_PER_HOUR="3")
    recipient(
        api,
        channel="slack",
        slack_webhook_url=stub.url + "/ops",
        events=["pool_exhausted", "webhook_disabled", "events_stuck"],
    )
    pool = body(
        api.call(
            "POST",
            "/v1/pools",
            {
                "name": "Site",
                "allowed_origins": ["https://shop.example"],
                "original_number": "+12025550123",
                "forward_to": "+12025550144",
            },
        )
    )
    now = clock.now_ms()
    for _ in range(3):
        sites.count_exhaustion(pool["id"], now)
    assert schedule.run()["conditions"] == 0  # three is not more than three
    sites.count_exhaustion(pool["id"], now)
    stream.park({"eventID": "bad"}, "a test record")
    hook = CounterModel(*keys.webhook_endpoint("ep_1"))
    hook.data = {"url": "https://h.example", "enabled": False, "disabled_reason": "failing for 5 days", "updated_at": 1}
    hook.save()
    assert schedule.run()["conditions"] == 3
    titles = sorted(m["text"].split(":")[0] for _, m in stub.got)
    assert titles == ["Call events need attention", "Number pool exhausted", "Webhook endpoint disabled"]
    # The same conditions, still true, alert nobody again in the same period
    sites.count_exhaustion(pool["id"], now)
    fake_clock.advance(300)
    assert schedule.run()["conditions"] == 0 and len(stub.got) == 3


# --- the brakes keep a retried delivery's slot -------------------------------------------------------


def test_a_retried_alert_keeps_its_slot(alerting: Any, fake_clock: Any) -> None:
    data = {"limit": {"count": 1, "minutes": 10}}
    now = clock.now_ms()
    assert dispatch.take_slot("rcp_x", data, "evt_a", now)
    assert dispatch.take_slot("rcp_x", data, "evt_a", now + 1000)  # the same alert again
    assert not dispatch.take_slot("rcp_x", data, "evt_b", now + 2000)  # the window is full
    assert dispatch.take_slot("rcp_x", data, "evt_c", now + 600_001)  # a new window


# --- the voice webhook is not touched --------------------------------------------------------------


def test_the_voice_webhook_makes_the_same_dynamodb_requests_with_ten_recipients(alerting: Any, stub: Stub) -> None:
    from bench.common import counting

    api = alerting
    number = line(api)

    def voice(i: int) -> int:
        params = {"CallSid": f"CA{i:032d}", "From": "+14155550111", "To": number, "CallStatus": "ringing"}
        blocklist.clear_cache()  # every call reads the blocklist: its cache's refresh never falls on one side only
        with counting() as counter:
            assert api.twilio("/twilio/voice", params).status_code == 200
        return counter.total

    voice(1)  # warm: imports, the blocklist cache
    without = [voice(i) for i in range(2, 5)]
    for i in range(10):
        recipient(api, channel="slack", slack_webhook_url=f"{stub.url}/r{i}", events=["missed_call"])
    with_ten = [voice(i) for i in range(5, 8)]
    assert without == with_ten and without[0] > 0
    pump().drain()  # and the ringing calls' events alert nobody (nothing missed yet)
    assert stub.got == []
    assert AUTH_TOKEN  # the calls above were signed with it

"""Logs: one JSON line per event, with the call SID (or the API key's id) as a key, never a key itself."""

from __future__ import annotations

import json

from tests.support.env import API_KEY, body


def test_voice_webhook_logs_once_with_the_call_sid(api, log_lines):
    ch = body(api.call("POST", "/v1/channels", {"name": "Radio", "forward_to": "+12025550144"}))
    number = body(api.call("POST", "/v1/numbers", {"channel_id": ch["id"]}))["number"]
    api.twilio("/twilio/voice", {"CallSid": "CA123", "From": "+14155550111", "To": number})
    answered = [line for line in log_lines() if line["message"] == "call answered"]
    assert len(answered) == 1  # no duplicate lines from a second handler
    assert answered[0]["call_sid"] == "CA123" and answered[0]["level"] == "INFO"
    assert answered[0]["route"] == "channel"


def test_management_requests_log_the_key_id_not_the_key(api, log_lines):
    api.call("GET", "/v1/nothing-here")
    api.call("GET", "/v1/channels", key="wrong-key")
    text = json.dumps(log_lines())
    assert API_KEY not in text and "wrong-key" not in text
    refused = [line for line in log_lines() if line["message"] == "request refused"]
    assert refused and refused[-1]["status"] == 401

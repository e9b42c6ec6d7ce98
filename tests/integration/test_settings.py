"""Settings problems: said loudly (a warning at a container's first request, and a list a deploy or
status command can show), never raised, so that a bad setting cannot stop calls being forwarded."""

from __future__ import annotations

import logging
from xml.etree import ElementTree

from chalicelib.routes import http
from tests.support.env import body
from tests.unit.test_settings import LAMBDA


def test_an_empty_default_phone_is_a_warning_at_the_first_request_not_an_error(api, settings_env, monkeypatch, caplog):
    # Given a deployed stage without a default phone, in a fresh container
    settings_env(STAGE="prod", CALLTRACKING_LOCAL="false", DEFAULT_FORWARD_TO="")
    monkeypatch.setattr(http, "_settings_checked", False)
    caplog.set_level(logging.WARNING)
    # When calls come in
    first = api.twilio("/twilio/voice", {"CallSid": "CA1", "From": "+14155550111", "To": "+12025550777"})
    second = api.twilio("/twilio/fallback?to=%2B12025550144", {"CallSid": "CA2", "From": "+14155550111"})
    # Then it is said once, as a warning, and the calls are still answered
    warned = [r for r in caplog.records if r.levelno == logging.WARNING and "DEFAULT_FORWARD_TO" in r.getMessage()]
    assert len(warned) == 1
    assert first.status_code == 200 and ElementTree.fromstring(first.body)[0].tag == "Say"
    assert ElementTree.fromstring(second.body).find("Dial/Number").text == "+12025550144"
    assert api.call("GET", "/v1/channels").status_code == 200 and body(api.call("GET", "/v1/channels"))


# --- local or deployed: a signal Lambda never gives, not the stage's name ------------------------------


def test_a_stage_named_test_in_lambda_refuses_loopback_and_demo_and_sets_secure_cookies(api, settings_env):
    from chalicelib.dashboard import web

    # Given a stage named `test` in Lambda, served over plain http, whose environment claims to be local
    settings_env(STAGE="test", CALLTRACKING_LOCAL="true", PUBLIC_BASE_URL="http://calls.example.test/api", **LAMBDA)
    # When a webhook endpoint on this machine is added (Lambda's runtime API, say)
    hook = api.call("POST", "/v1/webhooks", {"url": "http://127.0.0.1:9001/2018-06-01/runtime/invocation/next"})
    # Then it is refused, the demo page is not there, and the session cookie is Secure all the same
    assert hook.status_code == 400 and body(hook)["error"]["code"] == "bad_request"
    demo = api.client.http.get("/demo")
    assert demo.status_code == 404 and body(demo)["error"]["code"] == "not_found"
    assert "Secure" in web.cookie("ct_session", "x").split("; ")

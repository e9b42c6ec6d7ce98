"""Settings problems: said loudly (a warning at a container's first request, and a list a deploy or
status command can show), never raised, so that a bad setting cannot stop calls being forwarded."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

from chalicelib import http, settings
from tests.conftest import body

ROOT = Path(__file__).resolve().parents[1]
CONFIG = json.loads((ROOT / ".chalice" / "config.json").read_text())


def stage_env(stage: str) -> dict[str, str]:
    return {**CONFIG.get("environment_variables", {}), **CONFIG["stages"][stage].get("environment_variables", {})}


def deployed(**over: str) -> settings.Settings:
    env = {
        "STAGE": "prod",
        "PUBLIC_BASE_URL": "https://calls.example.com/api",
        "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
        "TWILIO_AUTH_TOKEN_PARAM": "/calltracking/prod/twilio-auth-token",
        "DEFAULT_FORWARD_TO": "+12025550100",
        "ALERTS_FROM_EMAIL": "alerts@calls.example.com",
    }
    return settings.load({**env, **over})


def test_a_complete_deployed_stage_has_no_problems():
    assert settings.problems(deployed()) == []


@pytest.mark.parametrize(
    ("over", "words"),
    [
        ({"DEFAULT_FORWARD_TO": ""}, "DEFAULT_FORWARD_TO is empty"),
        ({"DEFAULT_FORWARD_TO": "202-555-0100"}, "not an E.164"),
        ({"PUBLIC_BASE_URL": ""}, "PUBLIC_BASE_URL"),
        ({"PUBLIC_BASE_URL": "https://REPLACE-WITH-YOUR-API-DOMAIN/api"}, "PUBLIC_BASE_URL"),
        ({"TWILIO_ACCOUNT_SID": "REPLACE-WITH-YOUR-ACCOUNT-SID"}, "TWILIO_ACCOUNT_SID"),
        ({"TWILIO_AUTH_TOKEN_PARAM": ""}, "forwarded unverified"),
        ({"TWILIO_AUTH_TOKEN_PARAM": "", "TWILIO_AUTH_TOKEN": "x" * 32}, "plain text"),
        ({"SSM_ENDPOINT": "http://127.0.0.1:4566"}, "SSM_ENDPOINT"),
        ({"SES_ENDPOINT": "http://127.0.0.1:4566"}, "SES_ENDPOINT"),
        ({"ALERTS_FROM_EMAIL": ""}, "ALERTS_FROM_EMAIL is not set"),
        ({"ALERTS_FROM_EMAIL": "REPLACE-WITH-alerts@your-verified-domain"}, "ALERTS_FROM_EMAIL is not set"),
        ({"ALERTS_FROM_EMAIL": "alerts"}, "not an email address"),
        ({"SUMMARY_HOUR": "24"}, "SUMMARY_HOUR"),
    ],
)
def test_each_problem_is_named(over, words):
    found = settings.problems(deployed(**over))
    assert len(found) == 1 and words in found[0], found


def test_the_shipped_deployed_stages_are_flagged_until_filled_in():
    # .chalice/config.json ships dev and prod with an empty default phone and placeholders.
    for stage in ("dev", "prod"):
        found = " | ".join(settings.problems(settings.load(stage_env(stage))))
        assert "DEFAULT_FORWARD_TO is empty" in found and "PUBLIC_BASE_URL" in found, stage
    # The local stage, which make run uses, is complete.
    assert settings.problems(settings.load(stage_env("local"))) == []


def test_an_empty_default_phone_is_a_warning_at_the_first_request_not_an_error(api, settings_env, monkeypatch, caplog):
    # Given a deployed stage without a default phone, in a fresh container
    settings_env(STAGE="prod", DEFAULT_FORWARD_TO="")
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


def test_importing_the_app_never_fails_on_a_bad_setting():
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env |= {"STAGE": "prod", "DEFAULT_FORWARD_TO": "", "PUBLIC_BASE_URL": "", "TELEPHONY": "twilio"}
    done = subprocess.run([sys.executable, "-c", "import app"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr

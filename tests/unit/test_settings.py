"""Settings problems: said loudly (a warning at a container's first request, and a list a deploy or
status command can show), never raised, so that a bad setting cannot stop calls being forwarded.

The tests of this area that need no database, network or server; the ones that need
the database are in ``tests/integration/test_settings.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.core import settings

ROOT = Path(__file__).resolve().parents[2]


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


def test_the_shipped_deployed_stages_are_flagged_until_filled_in():
    # .chalice/config.json ships dev and prod with an empty default phone and placeholders.
    for stage in ("dev", "prod"):
        found = " | ".join(settings.problems(settings.load(stage_env(stage))))
        assert "DEFAULT_FORWARD_TO is empty" in found and "PUBLIC_BASE_URL" in found, stage
    # The local stage, which make run uses, is complete.
    assert settings.problems(settings.load(stage_env("local"))) == []


LAMBDA = {"AWS_LAMBDA_FUNCTION_NAME": "calltracking-test", "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12"}


@pytest.mark.parametrize(
    ("env", "local"),
    [
        ({"STAGE": "local", "CALLTRACKING_LOCAL": "true"}, True),
        ({"STAGE": "anything", "CALLTRACKING_LOCAL": "1"}, True),
        ({"STAGE": "local"}, False),  # the name alone says nothing
        ({"STAGE": "test"}, False),
        ({"STAGE": "test", "CALLTRACKING_LOCAL": "yes-please"}, False),
        ({"STAGE": "test", "CALLTRACKING_LOCAL": "true", "AWS_LAMBDA_FUNCTION_NAME": "calltracking-test"}, False),
        ({"STAGE": "local", "CALLTRACKING_LOCAL": "true", "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12"}, False),
        # Chalice writes this placeholder into any process that imports the app: not Lambda's
        ({"STAGE": "test", "CALLTRACKING_LOCAL": "true", "AWS_EXECUTION_ENV": "AWS_Lambda aws-chalice/1.31.4"}, True),
        ({"CALLTRACKING_LOCAL": "true", "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12 aws-chalice/1.31.4"}, False),
    ],
)
def test_local_is_what_the_environment_says_and_never_in_lambda(env, local):
    # Given an environment as a mapping (load reads nothing else: no database, no os.environ)
    # When it is loaded
    s = settings.load(env)
    # Then it is local only when asked to be, outside Lambda
    assert s.local is local


def test_a_stage_named_test_in_lambda_reports_the_deployed_stages_problems():
    # Given a stage named `test` running in Lambda, whose environment claims to be local
    env = {"STAGE": "test", "CALLTRACKING_LOCAL": "true", "DEFAULT_FORWARD_TO": "", "SSM_ENDPOINT": "http://x"}
    env |= LAMBDA
    # When its settings are checked
    found = " | ".join(settings.problems(settings.load(env)))
    # Then it is judged as the deployed stage it is
    assert "DEFAULT_FORWARD_TO is empty" in found and "SSM_ENDPOINT is set on a deployed stage" in found
    assert "TWILIO_AUTH_TOKEN_PARAM is not set" in found


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


def test_importing_the_app_never_fails_on_a_bad_setting():
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env |= {"STAGE": "prod", "DEFAULT_FORWARD_TO": "", "PUBLIC_BASE_URL": "", "TELEPHONY": "twilio"}
    done = subprocess.run([sys.executable, "-c", "import app"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr

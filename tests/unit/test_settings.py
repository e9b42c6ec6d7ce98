"""Settings problems: said loudly (a warning at a container's first request, and a list a deploy or
status command can show), never raised, so that a bad setting cannot stop calls being forwarded.

The tests of this area that need no database, network or server; the ones that need
the database are in ``tests/integration/test_settings.py``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.core import settings
from chalicelib.integrations import wiring

ROOT = Path(__file__).resolve().parents[2]


CONFIG = json.loads((ROOT / ".chalice" / "config.json").read_text())


def stage_env(stage: str) -> dict[str, str]:
    return {**CONFIG.get("environment_variables", {}), **CONFIG["stages"][stage].get("environment_variables", {})}


def deployed(**over: str) -> dict[str, str]:
    env = {
        "STAGE": "prod",
        "PUBLIC_BASE_URL": "https://calls.example.com/api",
        "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
        "TWILIO_AUTH_TOKEN_PARAM": "/calltracking/prod/twilio-auth-token",
        "CALLER_PEPPER_PARAM": "/calltracking/prod/caller-pepper",
        "DEFAULT_FORWARD_TO": "+12025550100",
        "ALERTS_FROM_EMAIL": "alerts@calls.example.com",
    }
    return {**env, **over}


def test_a_complete_deployed_stage_has_no_problems():
    assert wiring.settings_problems(deployed()) == []


def test_a_deployed_stage_without_the_caller_key_in_ssm_is_a_problem():
    # Given a deployed stage with no caller-hash key parameter, or the key in plain text
    missing = " | ".join(wiring.settings_problems(deployed(CALLER_PEPPER_PARAM="")))
    plain = " | ".join(wiring.settings_problems(deployed(CALLER_PEPPER_PARAM="", CALLER_PEPPER="1:" + "x" * 20)))
    # Then each says so, with its fix
    assert "CALLER_PEPPER_PARAM is not set" in missing and "calltracking setup" in missing
    assert "CALLER_PEPPER is set in plain text" in plain


def test_the_shipped_deployed_stages_are_flagged_until_filled_in():
    # .chalice/config.json ships dev and prod with an empty default phone and placeholders.
    for stage in ("dev", "prod"):
        found = " | ".join(wiring.settings_problems(stage_env(stage)))
        assert "DEFAULT_FORWARD_TO is empty" in found and "PUBLIC_BASE_URL" in found, stage
    # The local stage, which make run uses, is complete.
    assert wiring.settings_problems(stage_env("local")) == []


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
    found = " | ".join(wiring.settings_problems(env))
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
    found = wiring.settings_problems(deployed(**over))
    assert len(found) == 1 and words in found[0], found


def test_importing_the_app_never_fails_on_a_bad_setting():
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env |= {"STAGE": "prod", "DEFAULT_FORWARD_TO": "", "PUBLIC_BASE_URL": "", "TELEPHONY": "twilio"}
    done = subprocess.run([sys.executable, "-c", "import app"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


# --- declared once: the field, its variable, default, parser and documentation line ------------------------

README = (ROOT / "README.md").read_text()


def _readme_settings_block() -> str:
    start = README.index("<!-- settings: made by python -m chalicelib.integrations.wiring -->\n")
    end = README.index("<!-- /settings -->")
    return README[README.index("\n", start) + 1 : end]


def _readme_rows() -> dict[str, str]:
    """Each variable named in the first column of the README's settings tables, with its default cell."""
    rows: dict[str, str] = {}
    for line in _readme_settings_block().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`"):
            for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", cells[0]):
                rows[name] = cells[2]
    return rows


def _every_declaration() -> list[settings.Declared]:
    """The core's declarations, then each integration's (its folder's settings.py)."""
    own = [d for m in wiring.settings_modules() for d in settings.declared(m.SETTINGS).values()]
    return [*settings.DECLARED.values(), *own]


def test_every_declared_variable_is_in_the_readme_with_its_default_and_nothing_else_is():
    # Given the declarations (the core's and each integration's) and the README's configuration tables
    declared = {name: d.default_shown() for d in _every_declaration() for name in (d.env, *d.also)}
    # When the tables' variables and defaults are read
    rows = _readme_rows()
    # Then each declared variable is there with its default, and the tables name nothing undeclared
    assert {k: rows.get(k) for k in declared} == declared
    assert set(rows) - set(declared) == set()


def test_the_readme_tables_are_made_from_the_declarations():
    # Given the declarations (field, variable, default, parser, documentation line, section)
    # When the README's tables are made from them
    made = wiring.readme_table()
    # Then the README holds exactly those tables (python -m chalicelib.integrations.wiring prints them)
    assert _readme_settings_block() == made


def test_each_setting_is_declared_once_in_a_section():
    # Given every setting, the core's and each integration's
    declared = _every_declaration()
    # Then each has one declaration, in a known section, with a variable no other setting reads, and a
    # documentation line; an integration's settings are in its own section, the core's in the core's
    sections = {s.name for s in settings.SECTIONS}
    core = settings.declared(settings.Settings)
    assert len(core) == len(settings.Settings._fields)
    assert all(d.section in sections and d.doc for d in core.values())
    for module in wiring.settings_modules():
        own = settings.declared(module.SETTINGS).values()
        assert own and all(d.section == module.SECTION.name and d.doc for d in own), module.__name__
        assert module.SECTION.name not in sections, module.__name__
    names = [n for d in declared for n in (d.env, *d.also)]
    assert len(names) == len(set(names))


def test_an_integrations_settings_are_read_again_with_the_core_settings(monkeypatch):
    # Given the alerts' settings read once in this process
    from chalicelib.integrations.alerts import settings as alert_settings

    settings.get_settings.cache_clear()
    monkeypatch.setenv("SUMMARY_HOUR", "6")
    assert alert_settings.get().summary_hour == 6
    # When the environment changes and the core settings are read again
    monkeypatch.setenv("SUMMARY_HOUR", "7")
    assert alert_settings.get().summary_hour == 6  # read once, like the core's
    settings.get_settings.cache_clear()
    # Then the integration's are read again too, and a derived default follows the core's values
    assert alert_settings.get().summary_hour == 7
    monkeypatch.setenv("STAGE", "staging")
    settings.get_settings.cache_clear()
    assert alert_settings.get().alerts_ssm_prefix == "/calltracking/staging/alerts"
    monkeypatch.undo()
    settings.get_settings.cache_clear()


def test_a_refused_value_names_its_variable():
    # Given a variable whose value its parser refuses
    # When settings are loaded
    # Then the error names the variable, as each hand-written check did
    with pytest.raises(ValueError, match=r"^RECORDINGS_DELETE_AT_TWILIO must be true or false, not 'maybe'$"):
        settings.load({"RECORDINGS_DELETE_AT_TWILIO": "maybe"})
    with pytest.raises(ValueError, match=r"^TELEPHONY must be 'twilio' or 'local'"):
        settings.load({"TELEPHONY": "sip"})
    with pytest.raises(ValueError, match=r"^EVENT_RETRY_SECONDS must be delays"):
        settings.load({"EVENT_RETRY_SECONDS": "99999"})
    with pytest.raises(ValueError, match=r"^EVENTS_MAX_CONCURRENCY must be 2 to 1000"):
        settings.load({"EVENTS_MAX_CONCURRENCY": "1"})


@pytest.mark.parametrize(
    ("env", "field", "value"),
    [
        ({}, "stage", "dev"),
        ({"STAGE": ""}, "stage", ""),  # an empty value is a value when the default applies only if unset
        ({"TABLE_PREFIX": ""}, "table_prefix", ""),
        ({"RING_TIMEOUT_SECONDS": "  "}, "ring_timeout_seconds", 20),  # blank: the default
        ({"STORE_CONNECT_TIMEOUT": "3"}, "store_connect_timeout", 3.0),
        ({"TABLE_PREFIX": "t-"}, "events_queue", "t-events"),  # derived from an earlier setting
        ({"TABLE_PREFIX": "t-", "EVENTS_DLQ": ""}, "events_dlq", "t-events-dlq"),
        ({"TABLE_PREFIX": "T_"}, "recordings_bucket", "t-recordings"),
        ({"RECORDINGS_BUCKET": " my.bucket "}, "recordings_bucket", "my.bucket"),
        ({"STAGE": "prod"}, "alerts_ssm_prefix", "/calltracking/prod/alerts"),
        ({"ALERTS_SSM_PREFIX": "/x/"}, "alerts_ssm_prefix", "/x"),
        ({"AWS_DEFAULT_REGION": "eu-west-1"}, "region", "eu-west-1"),
        ({"AWS_REGION": "eu-west-2", "AWS_DEFAULT_REGION": "eu-west-1"}, "region", "eu-west-2"),
        ({"DYNAMODB_ENDPOINT": ""}, "dynamodb_endpoint", None),
        ({"LOCAL_NUMBER_AREA_CODES": " 305, ,646"}, "local_number_area_codes", ("305", "646")),
        ({"DEFAULT_REGION": "gb"}, "default_region", "GB"),
    ],
)
def test_a_declaration_reads_its_variable_as_the_hand_written_load_did(env, field, value):
    # Given an environment as a mapping
    # When it is loaded (an integration's field by its own settings, a derived default from the core's)
    from chalicelib.integrations.alerts import settings as alert_settings

    s = alert_settings.load(env) if field in alert_settings.SETTINGS._fields else settings.load(env)
    # Then the field has the value the hand-written load() gave it
    assert getattr(s, field) == value

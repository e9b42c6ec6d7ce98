"""The CLI's pure parts: what setup and deploy refuse, make run's ports, and status's check of the
numbers' URLs at Twilio (through the real SDK, against a local server answering Twilio's list).

The tests of this area that need no database, network or server; the ones that need
the database are in ``tests/integration/test_cli_units.py``.
"""

from __future__ import annotations

import pytest

from calltracking_cli import checks
from calltracking_cli.project import LOCAL, Project, local_ports

GOOD_SID = "AC" + "0123456789abcdef" * 2


@pytest.mark.parametrize(
    ("check", "value"),
    [
        (checks.account_sid, GOOD_SID),
        (checks.auth_token, "0123456789abcdef" * 2),
        (checks.public_url, "https://abc123.execute-api.eu-west-1.amazonaws.com/api"),
        (checks.public_url, ""),  # deploy takes API Gateway's
        (checks.phone, "+12025550123"),
        (checks.region, "eu-west-1"),
        (checks.email, ""),
        (checks.stage_name, "acme2"),
    ],
)
def test_good_inputs_pass(check, value):
    assert check(value) == []


def test_the_shipped_config_is_refused_as_it_is():
    env = Project().stage_env("prod")
    found = checks.stage_env(env)
    assert any("TWILIO_ACCOUNT_SID" in f for f in found) and any("PUBLIC_BASE_URL" in f for f in found)


def test_make_runs_ports_become_the_local_stages_endpoints():
    env = Project().effective_env(LOCAL, {"DDB_PORT": "8101", "API_PORT": "8100"})
    assert env["DYNAMODB_ENDPOINT"] == env["SQS_ENDPOINT"] == env["S3_ENDPOINT"] == "http://127.0.0.1:8101"
    assert env["PUBLIC_BASE_URL"] == "http://127.0.0.1:8100"
    # without them, the local stage's own settings (what `make run` uses by default)
    env = Project().effective_env(LOCAL, {})
    assert env["DYNAMODB_ENDPOINT"] == "http://127.0.0.1:8001" and env["PUBLIC_BASE_URL"] == "http://127.0.0.1:8000"
    # an endpoint already in the environment wins (tests point commands at their own DynamoDB)
    env = Project().effective_env(LOCAL, {"DDB_PORT": "8101", "DYNAMODB_ENDPOINT": "http://127.0.0.1:9"})
    assert env["DYNAMODB_ENDPOINT"] == "http://127.0.0.1:9"
    with pytest.raises(ValueError, match="DDB_PORT"):
        local_ports({"DDB_PORT": "80; rm -rf /"})


def test_a_deployed_stage_keeps_its_own_tables_whatever_the_shell_says():
    env = Project().effective_env("prod", {"TABLE_PREFIX": "calltracking-dev-", "DYNAMODB_ENDPOINT": "http://x"})
    assert env["TABLE_PREFIX"] == "calltracking-prod-"  # a stale variable never sends a command elsewhere
    assert env["DYNAMODB_ENDPOINT"] == "http://x"  # endpoints may be overridden (tests, a local stack)


def test_a_deployed_stage_runs_in_the_region_setup_recorded(tmp_path):
    import shutil

    (tmp_path / ".chalice").mkdir()
    shutil.copy(Project().config_path, tmp_path / ".chalice" / "config.json")
    project = Project(tmp_path)
    project.write_deploy_settings("prod", {"region": "eu-west-1"})
    env = project.effective_env("prod", {"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1"})
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert env["SSM_READ_TIMEOUT"] == "10"  # a laptop may wait longer for SSM than the voice webhook does


DEPLOYED_TEST_STAGE = {"iam_policy_file": "policy-test.json", "environment_variables": {"STAGE": "test"}}


GOOD_SETUP = [
    "--account-sid", GOOD_SID, "--forward-to", "+12025550123", "--region", "eu-west-1",
    "--public-url", "https://calls.example.com/api",
]  # fmt: skip


@pytest.mark.parametrize("name", ["local", "test"])
def test_a_new_stage_named_like_the_local_stack_is_refused(name):
    # Given no stage of that name (or only the local stack's own) in .chalice/config.json
    for existing in (None, {"environment_variables": {"STAGE": name, "CALLTRACKING_LOCAL": "true"}}):
        # When setup or deploy checks the name
        found = checks.stage_name(name, existing)
        # Then it is refused, saying why
        assert len(found) == 1 and "reserved for the local stack" in found[0] and "make run" in found[0]


def test_an_existing_deployed_stage_named_test_keeps_working():
    # Given a stage `test` made before the names were reserved: a deployed one
    # When setup is run again on it, or it is deployed
    # Then its name is accepted (it behaves as deployed: Settings.local is never true in Lambda)
    assert checks.stage_name("test", DEPLOYED_TEST_STAGE) == []


def test_setup_refuses_a_new_stage_named_test_before_touching_anything(tmp_path):
    import shutil

    from click.testing import CliRunner

    from calltracking_cli.main import cli

    # Given a checkout without a stage `test`, and otherwise good answers
    (tmp_path / ".chalice").mkdir()
    shutil.copy(Project().config_path, tmp_path / ".chalice" / "config.json")
    before = (tmp_path / ".chalice" / "config.json").read_text()
    # When setup is asked to make it
    done = CliRunner().invoke(
        cli,
        ["--project-dir", str(tmp_path), "setup", "--stage", "test", *GOOD_SETUP],
        env={"TWILIO_AUTH_TOKEN": "0123456789abcdef" * 2},
    )
    # Then it stops with the reason, and nothing was written (nor Twilio or AWS asked: no network here)
    assert done.exit_code == 1 and "reserved for the local stack" in done.output, done.output
    assert (tmp_path / ".chalice" / "config.json").read_text() == before


GOOD_TOKEN = "0123456789abcdef" * 2


def _setup(tmp_path, *args: str, env: dict[str, str] | None = None, stdin: str | None = None):
    """``calltracking setup`` on a copy of the config, with a bad phone so it stops before any network."""
    import shutil

    from click.testing import CliRunner

    from calltracking_cli.main import cli

    (tmp_path / ".chalice").mkdir(exist_ok=True)
    shutil.copy(Project().config_path, tmp_path / ".chalice" / "config.json")
    bad_phone = [a if a != "+12025550123" else "555-0100" for a in GOOD_SETUP]
    argv = ["--project-dir", str(tmp_path), "setup", "--stage", "acme", *bad_phone, *args]
    return CliRunner().invoke(cli, argv, env={"TWILIO_AUTH_TOKEN": None, **(env or {})}, input=stdin)


def test_an_auth_token_on_the_command_line_is_refused(tmp_path):
    # Given the token typed as an option (visible in ps and the shell's history)
    # When setup runs
    done = _setup(tmp_path, "--auth-token", GOOD_TOKEN)
    # Then it refuses, saying the ways that keep it off the command line
    assert done.exit_code == 2, done.output
    assert "--auth-token-stdin" in done.output and "TWILIO_AUTH_TOKEN" in done.output and "ps" in done.output


def test_the_auth_token_comes_from_stdin_or_the_environment(tmp_path):
    # Given the token piped in, or in the environment
    piped = _setup(tmp_path, "--auth-token-stdin", stdin=GOOD_TOKEN + "\n")
    from_env = _setup(tmp_path, env={"TWILIO_AUTH_TOKEN": GOOD_TOKEN})
    malformed = _setup(tmp_path, "--auth-token-stdin", stdin="nothex\n")
    # Then it is read (only the bad phone is left to fix), and checked as any token is
    for done in (piped, from_env):
        assert done.exit_code == 1 and "E.164" in done.output and "auth token" not in done.output, done.output
    assert "auth token is malformed" in malformed.output and "nothex" not in malformed.output


def test_no_auth_token_without_a_terminal_says_the_three_ways(tmp_path):
    # Given no token in the environment, none piped, and no terminal to ask at
    done = _setup(tmp_path)
    # Then setup stops, naming every way to give it
    assert done.exit_code == 1
    said = done.output.replace("\n  ", " ")
    assert "TWILIO_AUTH_TOKEN" in said and "--auth-token-stdin" in said and "terminal" in said, said


def test_at_a_terminal_the_auth_token_is_asked_for_hidden(monkeypatch):
    from calltracking_cli import setup

    # Given someone at a terminal and no token in the environment
    asked: list[dict] = []

    def prompt(text: str, **kwargs):
        asked.append(kwargs)
        return GOOD_TOKEN + " "

    monkeypatch.setattr(setup.sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(setup.click, "prompt", prompt)
    # When setup needs the token (with or without --auth-token-stdin: a terminal is never read in clear)
    # Then it asks with the input hidden
    assert setup.read_auth_token(from_stdin=False, from_env=None) == GOOD_TOKEN
    assert setup.read_auth_token(from_stdin=True, from_env=None) == GOOD_TOKEN
    assert [a["hide_input"] for a in asked] == [True, True]


@pytest.mark.parametrize(
    ("check", "value", "words"),
    [
        (checks.account_sid, "REPLACE-WITH-YOUR-ACCOUNT-SID", "placeholder"),
        (checks.account_sid, "AC123", "malformed"),
        (checks.account_sid, "", "missing"),
        (checks.auth_token, "REPLACE-WITH-TOKEN", "placeholder"),
        (checks.auth_token, "short", "32 lowercase hex"),
        (checks.public_url, "http://calls.example.com/api", "https://"),
        (checks.public_url, "https://REPLACE-WITH-YOUR-API-DOMAIN/api", "placeholder"),
        (checks.public_url, "https://calls.example.com/api?x=1", "no query"),
        (checks.public_url, "https://localhost/api", "https://"),
        (checks.phone, "2025550100", "E.164"),
        (checks.phone, "+12005550100", "not a valid"),  # area codes never start with 0 or 1 after +1
        (checks.region, "", "AWS_DEFAULT_REGION"),
        (checks.region, "Europe", "not an AWS region"),
        (checks.email, "owner-at-example.com", "not an email"),
        (checks.stage_name, "Acme Corp", "lowercase"),
        (checks.stage_name, "local", "make run"),
    ],
)
def test_each_bad_input_says_what_to_fix(check, value, words):
    found = check(value)
    assert len(found) == 1 and words in found[0]


def test_the_package_python_is_checked_before_anything_is_made():
    from calltracking_cli import checks

    assert checks.python_version((3, 11)) == []
    (problem,) = checks.python_version((3, 13))
    assert "Python 3.13" in problem and "python3.11" in problem and "python3.11-venv" in problem


def test_a_trial_twilio_account_is_a_warning():
    from calltracking_cli import checks

    assert checks.twilio_account("Full") == []
    (warning,) = checks.twilio_account("Trial")
    assert "trial notice" in warning and "verified numbers" in warning


def test_a_restore_moment_needs_its_zone_and_must_be_inside_the_recovery_window():
    import datetime as dt

    import click

    from calltracking_cli import restore

    assert restore.parse_time("2026-12-07T09:55Z") == dt.datetime(2026, 12, 7, 9, 55, tzinfo=dt.UTC)
    assert restore.parse_time("2026-12-07T10:55+01:00") == dt.datetime(2026, 12, 7, 9, 55, tzinfo=dt.UTC)
    for bad in ("2026-12-07T09:55", "yesterday", "2026-13-01T00:00Z"):
        with pytest.raises(click.BadParameter):
            restore.parse_time(bad)
    earliest = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
    latest = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)
    assert restore.check_window(dt.datetime(2026, 12, 1, tzinfo=dt.UTC), earliest, latest) == []
    (before,) = restore.check_window(dt.datetime(2026, 11, 1, tzinfo=dt.UTC), earliest, latest)
    assert "before the earliest restorable moment, 2026-11-02T00:00Z" in before
    (after,) = restore.check_window(dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC), earliest, latest)
    assert "after the latest restorable moment, 2026-12-07T09:00Z" in after


def test_the_api_functions_reservation_leaves_aws_its_unreserved_hundred():
    from calltracking_cli.deploy import concurrency_problem

    assert concurrency_problem(50, 900, 0) is None  # 900 - 50 >= 100
    assert concurrency_problem(50, 140, 20) is None  # what it reserves now comes back first
    problem = concurrency_problem(50, 10, 0)  # a new account: a quota of 10
    assert problem and "ask AWS for a higher Lambda concurrency quota" in problem and "at most 0" in problem
    assert concurrency_problem(0, 10, 0) is None and concurrency_problem(50, None, 0) is None

"""``calltracking status``: every problem it knows makes it exit 1, each said with its fix (the
judging is pure; ``tests/e2e/test_cli_deploy.py`` runs the command against moto and Prism)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from click.testing import CliRunner

from calltracking_cli import status as status_cli
from calltracking_cli.status import Facts, problems_of

WELL = Facts(
    stage="prod",
    region="eu-west-1",
    stack_name="calltracking-prod-infra",
    stack_status="UPDATE_COMPLETE",
    outputs={"CallsStreamArn": "arn"},
    api_url="https://abc.execute-api.eu-west-1.amazonaws.com/api/",
    public_url="https://calls.example.com/api",
    dead_letters=0,
    parked=0,
    schema="1 (up to date)",
    migration_pending=False,
    misdirected=[],
    caller_key=True,
)


def test_a_healthy_stage_has_no_problem():
    assert problems_of(WELL) == []


@pytest.mark.parametrize(
    ("change", "kind", "fix"),
    [
        ({"config_problems": ["DEFAULT_FORWARD_TO is empty: ..."]}, "config", "calltracking deploy"),
        ({"stack_status": "not created (run calltracking deploy)"}, "stack", "calltracking deploy"),
        ({"stack_status": "UPDATE_ROLLBACK_COMPLETE"}, "stack", "calltracking deploy"),
        ({"stack_status": "CREATE_IN_PROGRESS"}, "stack", "calltracking deploy"),
        ({"api_url": None}, "api", "calltracking deploy"),
        ({"dead_letters": 3}, "dead_letters", "redrive"),
        ({"parked": 2}, "parked", "/v1/events/parked"),
        ({"migration_pending": True, "schema": "0 of 1: 1 migration(s) to run"}, "schema", "calltracking migrate"),
        ({"misdirected": ["+12025550100: voice https://elsewhere"]}, "numbers", "--repoint-all"),
        ({"caller_key": False}, "caller_key", "put back the parameter's last value"),
    ],
)
def test_each_problem_is_named_with_its_fix(change, kind, fix):
    found = problems_of(replace(WELL, **change))
    assert [p.kind for p in found] == [kind]
    assert fix in found[0].fix


@pytest.mark.parametrize(("facts", "code"), [(WELL, 0), (replace(WELL, parked=1), 1)])
def test_the_command_exits_1_on_a_problem_and_says_it(monkeypatch, facts, code):
    # Given a stage whose facts are read (the reading is the e2e test's)
    monkeypatch.setattr(status_cli, "region_of", lambda project, stage, region: "eu-west-1")
    monkeypatch.setattr(status_cli, "gather", lambda project, stage, region: facts)
    # When status runs, as lines and as JSON
    lines = CliRunner().invoke(status_cli.status, ["--stage", "prod"], obj=object())
    as_json = CliRunner().invoke(status_cli.status, ["--stage", "prod", "--json"], obj=object())
    # Then both exit 1 exactly when there is a problem, each problem on its own line with its fix
    assert lines.exit_code == code and as_json.exit_code == code, lines.output
    assert ("all well" in lines.output) is (code == 0)
    if code:
        assert "problem    parked: 1 stream record(s) parked -> read GET /v1/events/parked" in lines.output

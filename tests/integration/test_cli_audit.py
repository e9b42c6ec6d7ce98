"""The CLI's own changes are in the audit log, as the API's are: who is ``cli:`` and the AWS
identity of the credentials it ran with (STS GetCallerIdentity, asked once per run)."""

from __future__ import annotations

from typing import Any

from tests.support.env import body


def test_the_clis_changes_are_audited_with_its_aws_identity(api: Any, monkeypatch: Any) -> None:
    from click.testing import CliRunner

    from calltracking_cli import project
    from calltracking_cli.main import cli
    from chalicelib.core import aws

    # Given a run of the CLI whose STS calls are counted (moto answers as its default user)
    monkeypatch.setattr(project, "_identity", [])
    asked: list[str] = []
    real = aws.client

    def counted(service: str, *args: Any, **kwargs: Any) -> Any:
        if service == "sts":
            asked.append(service)
        return real(service, *args, **kwargs)

    monkeypatch.setattr(aws, "client", counted)
    run = CliRunner()
    # When the owner adds a user, makes and revokes an API key, and re-applies the erasures
    made = run.invoke(cli, ["users", "create", "--email", "ops@example.com", "--role", "viewer", "--generate"])
    key = run.invoke(cli, ["keys", "create", "--name", "CRM", "--scope", "read", "--json"])
    assert made.exit_code == 0 and key.exit_code == 0, made.output + key.output
    import json

    key_id = json.loads(key.stdout)["id"]
    gone = run.invoke(cli, ["keys", "revoke", key_id])
    again = run.invoke(cli, ["callers", "reapply-erasures"])
    assert gone.exit_code == 0 and again.exit_code == 0, gone.output + again.output
    assert "0 erasure log object(s) read" in again.output
    # Then each change is in the audit log, by the CLI with its AWS identity, never a secret
    entries = body(api.call("GET", "/v1/audit"))["entries"]
    by_action = {e["action"]: e for e in entries}
    for action in ("users.create", "api_keys.create", "api_keys.revoke", "callers.reapply_erasures"):
        entry = by_action[action]
        assert entry["actor_kind"] == "cli" and entry["actor"].startswith("cli:arn:aws:"), entry
    assert by_action["users.create"]["details"]["email"] == "ops@example.com"
    # And STS was asked once for the whole run
    assert asked == ["sts"]

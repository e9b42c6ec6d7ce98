"""``calltracking status``: what is deployed, and what needs looking at.

The infra stack's status and outputs, the API's URL, the numbers whose webhooks at Twilio do
not point at this deployment (read from Twilio itself, so a change made in Twilio's console
shows), the dead-letter queue's depth, how many stream records are parked, and the tables'
schema version with a running migration's progress (``calltracking migrate``).
"""

from __future__ import annotations

from typing import Any

import click

from calltracking_cli.deploy import region_of, resources
from calltracking_cli.project import Project, stage_environment


def stack_summary(session: Any, name: str) -> tuple[str, dict[str, str]]:
    from botocore.exceptions import ClientError

    try:
        stack = session.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
    except ClientError:
        return "not created (run calltracking deploy)", {}
    return str(stack["StackStatus"]), {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def misdirected_numbers(client: Any = None) -> list[str]:
    """Active numbers whose voice, fallback or status URL at the provider is not this deployment's.

    Runs inside ``stage_environment``. Twilio's list is one request per page; numbers bought
    elsewhere (not in the stage's table) are not this deployment's business.
    """
    from calltracking_cli import twilio_api
    from chalicelib import numbers
    from chalicelib.core import secrets
    from chalicelib.core.settings import get_settings
    from chalicelib.store import lines

    s = get_settings()
    ours = {n.number: n for n in lines.active_numbers() if n.provider == "twilio"}
    if not ours:
        return []
    if client is None:
        client = twilio_api.client(s.twilio_account_sid, secrets.twilio_auth_token(), base_url=s.twilio_api_base_url)
    found: list[str] = []
    for remote in client.incoming_phone_numbers.stream(page_size=1000):
        item = ours.get(str(remote.phone_number))
        if item is None:
            continue
        want = numbers.webhooks(item.hooks_to)
        have = (remote.voice_url, remote.voice_fallback_url, remote.status_callback)
        if have != (want.voice_url, want.voice_fallback_url, want.status_callback):
            found.append(f"{item.number}: voice {remote.voice_url}")
    return found


def schema_line() -> tuple[str, bool]:
    """The schema version (and a running migration's progress) and whether a migration is pending."""
    from chalicelib.store import migrations

    found = migrations.state()
    return found.describe(), bool(found.pending)


def parked_count() -> int:
    from chalicelib.events import stream

    return len(stream.parked(limit=1000))


@click.command()
@click.option("--stage", default="prod", show_default=True)
@click.option("--region", default=None)
@click.pass_obj
def status(project: Project, stage: str, region: str | None) -> None:
    """Show the stack, the API URL, misdirected numbers, the dead-letter queue and parked events."""
    import boto3

    chosen = region_of(project, stage, region)
    if not chosen:
        raise click.ClickException("no region: pass --region or run calltracking setup")
    session = boto3.session.Session(region_name=chosen)
    env = project.stage_env(stage)
    name = project.deploy_settings(stage).get("stack_name") or f"{env['TABLE_PREFIX']}infra"
    stack_status, outputs = stack_summary(session, name)
    click.echo(f"stage      {stage} ({chosen})")
    click.echo(f"stack      {name}: {stack_status}")
    for key in sorted(outputs):
        click.echo(f"             {key} = {outputs[key]}")
    api = resources(project.deployed(stage), "rest_api")
    click.echo(f"API        {api[0]['rest_api_url'] if api else 'not deployed'}")
    click.echo(f"public URL {env.get('PUBLIC_BASE_URL') or '(not set)'}")
    problems = 0
    with stage_environment(project, stage, extra={"AWS_REGION": chosen, "AWS_DEFAULT_REGION": chosen}):
        from chalicelib.core.settings import get_settings
        from chalicelib.integrations.wiring import settings_problems as setting_problems

        for problem in setting_problems():
            problems += 1
            click.echo(f"config     {problem}")
        if stack_status.endswith("_COMPLETE"):
            sqs = session.client("sqs")
            dlq = sqs.get_queue_url(QueueName=get_settings().events_dlq)["QueueUrl"]
            attrs = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])
            depth = int(attrs["Attributes"]["ApproximateNumberOfMessages"])
            problems += depth > 0
            click.echo(f"dead letters {depth} in the events dead-letter queue")
            parked = parked_count()
            problems += parked > 0
            click.echo(f"parked     {parked} stream record(s) (GET /v1/events/parked)")
            schema, pending = schema_line()
            problems += pending
            click.echo(f"schema     {schema}")
            wrong = misdirected_numbers()
            problems += len(wrong)
            click.echo(f"numbers    {len(wrong)} not pointing here (calltracking deploy --repoint-all re-points them)")
            for line in wrong:
                click.echo(f"             {line}")
    click.echo("all well" if not problems else f"{problems} thing(s) to look at")

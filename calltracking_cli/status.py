"""``calltracking status``: what is deployed, and what needs looking at.

The infra stack's status and outputs, the API's URL, the numbers whose webhooks at Twilio do
not point at this deployment (read from Twilio itself, so a change made in Twilio's console
shows), the dead-letter queue's depth, how many stream records are parked, and the tables'
schema version with a running migration's progress (``calltracking migrate``).
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field
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


def caller_key_exists(session: Any, name: str) -> bool | None:
    """Whether the caller-hash key's parameter is there (its value is not read); None without one."""
    if not name:
        return None
    ssm = session.client("ssm")
    try:
        ssm.get_parameter(Name=name)
    except ssm.exceptions.ParameterNotFound:
        return False
    return True


def schema_line() -> tuple[str, bool]:
    """The schema version (and a running migration's progress) and whether a migration is pending."""
    from chalicelib.store import migrations

    found = migrations.state()
    return found.describe(), bool(found.pending)


def parked_count() -> int:
    from chalicelib.events import stream

    return len(stream.parked(limit=1000))


@dataclass
class Facts:
    """What ``status`` read about a stage (None: not read, as the stack is not there)."""

    stage: str
    region: str
    stack_name: str
    stack_status: str
    outputs: dict[str, str] = field(default_factory=dict)
    api_url: str | None = None
    public_url: str | None = None
    config_problems: list[str] = field(default_factory=list)
    dead_letters: int | None = None
    parked: int | None = None
    schema: str | None = None
    migration_pending: bool = False
    misdirected: list[str] | None = None
    caller_key: bool | None = None  # the caller-hash key's SSM parameter exists (None: not a deployed stage's)
    domain: str | None = None  # setup --domain's custom domain
    certificate: str | None = None  # its certificate's status (ISSUED, PENDING_VALIDATION...)
    validation_record: str | None = None  # the DNS record that validates it
    validation_visible: bool | None = None  # the resolver sees that record
    domain_record: str | None = None  # the domain's CNAME to API Gateway (once the custom domain exists)
    domain_visible: bool | None = None
    previous_urls: list[str] = field(default_factory=list)  # still accepted: the URLs before the switch


@dataclass(frozen=True)
class Problem:
    kind: str
    text: str
    fix: str


def problems_of(facts: Facts) -> list[Problem]:
    """Everything ``status`` knows to be wrong, each with what to do about it. Pure."""
    found = [
        Problem("config", p, "set it in .chalice/config.json, then calltracking deploy") for p in facts.config_problems
    ]
    if not facts.stack_status.endswith("_COMPLETE") or "ROLLBACK" in facts.stack_status:
        found.append(
            Problem("stack", f"the infra stack {facts.stack_name} is {facts.stack_status}", "run calltracking deploy")
        )
    if facts.api_url is None:
        found.append(Problem("api", "the API is not deployed", "run calltracking deploy"))
    if facts.dead_letters:
        found.append(
            Problem(
                "dead_letters",
                f"{facts.dead_letters} event(s) in the events dead-letter queue",
                "read GET /v1/events/parked and the logs; fix the subscriber, then redrive the queue",
            )
        )
    if facts.parked:
        found.append(
            Problem("parked", f"{facts.parked} stream record(s) parked", "read GET /v1/events/parked and the logs")
        )
    if facts.caller_key is False:
        found.append(
            Problem(
                "caller_key",
                "the caller-hash key is missing from SSM: no call is stored, and every stored caller hash is useless "
                "without it",
                "put back the parameter's last value (SSM keeps its history; or your backup); only if it is lost, "
                "calltracking setup makes a new one (first-time and unique callers then start over)",
            )
        )
    if facts.migration_pending:
        found.append(Problem("schema", f"schema {facts.schema}", "run calltracking migrate"))
    for line in facts.misdirected or []:
        found.append(Problem("numbers", f"not pointing here: {line}", "run calltracking deploy --repoint-all"))
    found += _domain_problems(facts)
    return found


def _domain_problems(facts: Facts) -> list[Problem]:
    """Where the custom domain stands, while it is not yet the stage's URL."""
    if not facts.domain or facts.public_url == f"https://{facts.domain}":
        return []
    name = facts.domain
    if facts.certificate == "PENDING_VALIDATION":
        seen = "visible; ACM checks it within about 30 minutes" if facts.validation_visible else "not visible yet"
        return [
            Problem(
                "domain",
                f"the certificate for {name} waits for its DNS record ({seen})",
                f"add {facts.validation_record or 'the record setup printed'} at your DNS provider",
            )
        ]
    if facts.certificate != "ISSUED":
        return [Problem("domain", f"the certificate for {name} is {facts.certificate}", "run setup --domain again")]
    if facts.domain_record is None:
        return [
            Problem("domain", f"the certificate for {name} is issued", "run calltracking deploy to make the domain")
        ]
    if not facts.domain_visible:
        return [
            Problem(
                "domain",
                f"{name} does not point at API Gateway yet",
                f"add {facts.domain_record}, then run calltracking deploy",
            )
        ]
    return [Problem("domain", f"{name} is ready", "run calltracking deploy to move the stage to it")]


def domain_facts(session: Any, facts: Facts, settings: dict[str, Any]) -> None:
    """Fill the custom domain's facts: its certificate, its records and what the resolver sees."""
    from calltracking_cli import domain as custom

    facts.domain = settings.get("domain") or None
    arn = settings.get("certificate_arn")
    if not facts.domain or not arn:
        return
    status, record = custom.certificate(session, arn)
    facts.certificate = status
    if record is not None:
        facts.validation_record = record.line()
        facts.validation_visible = custom.visible(record)
    apigw = session.client("apigateway")
    try:
        target = apigw.get_domain_name(domainName=facts.domain)["regionalDomainName"]
    except apigw.exceptions.NotFoundException:
        return
    record = custom.Record(facts.domain, "CNAME", target)
    facts.domain_record = record.line()
    facts.domain_visible = custom.visible(record)


def gather(project: Project, stage: str, region: str) -> Facts:
    """Read the stage: its stack, API, settings, queues, stream, schema and numbers at Twilio."""
    import boto3

    session = boto3.session.Session(region_name=region)
    env = project.stage_env(stage)
    name = project.deploy_settings(stage).get("stack_name") or f"{env['TABLE_PREFIX']}infra"
    stack_status, outputs = stack_summary(session, name)
    api = resources(project.deployed(stage), "rest_api")
    facts = Facts(stage, region, name, stack_status, outputs, api[0]["rest_api_url"] if api else None)
    facts.public_url = env.get("PUBLIC_BASE_URL") or None
    facts.previous_urls = [u for u in str(env.get("PREVIOUS_BASE_URLS") or "").split(",") if u.strip()]
    domain_facts(session, facts, project.deploy_settings(stage))
    with stage_environment(project, stage, extra={"AWS_REGION": region, "AWS_DEFAULT_REGION": region}):
        from chalicelib.core.settings import get_settings
        from chalicelib.integrations.wiring import settings_problems

        facts.config_problems = settings_problems()
        facts.caller_key = caller_key_exists(session, get_settings().caller_pepper_param)
        if stack_status.endswith("_COMPLETE"):
            sqs = session.client("sqs")
            dlq = sqs.get_queue_url(QueueName=get_settings().events_dlq)["QueueUrl"]
            attrs = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])
            facts.dead_letters = int(attrs["Attributes"]["ApproximateNumberOfMessages"])
            facts.parked = parked_count()
            facts.schema, facts.migration_pending = schema_line()
            facts.misdirected = misdirected_numbers()
    return facts


def show(facts: Facts, found: list[Problem]) -> None:
    click.echo(f"stage      {facts.stage} ({facts.region})")
    click.echo(f"stack      {facts.stack_name}: {facts.stack_status}")
    for key in sorted(facts.outputs):
        click.echo(f"             {key} = {facts.outputs[key]}")
    click.echo(f"API        {facts.api_url or 'not deployed'}")
    click.echo(f"public URL {facts.public_url or '(not set)'}")
    if facts.domain:
        click.echo(f"domain     {facts.domain}: certificate {facts.certificate}")
    if facts.previous_urls:
        click.echo(f"also       {', '.join(facts.previous_urls)} (Twilio's requests signed for it are accepted)")
    if facts.dead_letters is not None:
        click.echo(f"dead letters {facts.dead_letters} in the events dead-letter queue")
        click.echo(f"parked     {facts.parked} stream record(s) (GET /v1/events/parked)")
        click.echo(f"schema     {facts.schema}")
        click.echo(f"numbers    {len(facts.misdirected or [])} not pointing here")
    for problem in found:
        click.echo(f"problem    {problem.kind}: {problem.text} -> {problem.fix}")
    click.echo("all well" if not found else f"{len(found)} thing(s) to look at")


@click.command()
@click.option("--stage", default="prod", show_default=True)
@click.option("--region", default=None)
@click.option("--json", "as_json", is_flag=True, help="one JSON object (for monitoring) instead of lines")
@click.pass_obj
def status(project: Project, stage: str, region: str | None, as_json: bool) -> None:
    """Show the stack, the API URL, misdirected numbers, the dead-letter queue and parked events.

    Exits 1 when anything needs looking at (one line per problem, with the fix), 0 when all is well.
    """
    chosen = region_of(project, stage, region)
    if not chosen:
        raise click.ClickException("no region: pass --region or run calltracking setup")
    facts = gather(project, stage, chosen)
    found = problems_of(facts)
    if as_json:
        click.echo(json.dumps({"facts": asdict(facts), "problems": [asdict(p) for p in found], "ok": not found}))
    else:
        show(facts, found)
    if found:
        sys.exit(1)

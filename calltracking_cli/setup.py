"""``calltracking setup``: a deployed stage's settings, checked, then written (SSM, stage config, policy).

Nothing is created before every input is checked, and the Twilio credentials are tried
against Twilio's API: a placeholder, a malformed SID, URL or phone, or a missing region
stop it with what to fix, and AWS is not touched.
"""

from __future__ import annotations

import copy
import json
import secrets
import sys
from dataclasses import dataclass
from typing import Any

import click

from calltracking_cli import checks
from calltracking_cli.project import Project

TEMPLATE_STAGE = "prod"  # a new stage (an agency's client) starts as a copy of this one


@dataclass(frozen=True)
class Answers:
    stage: str
    account_sid: str
    auth_token: str
    public_url: str
    forward_to: str
    region: str
    alarm_email: str
    subaccount_sid: str
    table_prefix: str
    alerts_from: str = ""  # the SES sender of alert and summary emails; empty: no email alerts yet
    domain: str = ""  # a custom domain for the API (calls.example.com); empty: API Gateway's URL

    def problems(self, existing: dict[str, Any] | None = None) -> list[str]:
        """What to fix; ``existing``: the stage's entry in .chalice/config.json, if it has one."""
        found = checks.stage_name(self.stage, existing)
        found += checks.account_sid(self.account_sid)
        found += checks.auth_token(self.auth_token)
        if self.subaccount_sid:
            found += checks.account_sid(self.subaccount_sid, name="the Twilio subaccount SID")
        found += checks.public_url(self.public_url)
        found += checks.phone(self.forward_to)
        found += checks.region(self.region)
        found += checks.email(self.alarm_email)
        found += checks.email(self.alerts_from, name="the alerts' sender")
        found += checks.python_version((sys.version_info.major, sys.version_info.minor))
        found += checks.domain(self.domain)
        if not checks.STAGE.fullmatch(self.table_prefix.rstrip("-").replace("-", "")):
            found.append(f"the table prefix {self.table_prefix!r} must be lowercase letters, digits and '-'")
        return found


def _ask(value: str | None, text: str, *, optional: bool = False) -> str:
    """An option's value; asked for only when missing and someone is at the terminal."""
    if value is None and sys.stdin.isatty():
        return str(click.prompt(text, default="" if optional else None, show_default=False)).strip()
    return (value or "").strip()


def read_auth_token(*, from_stdin: bool, from_env: str | None) -> str:
    """The Twilio auth token: piped in (``--auth-token-stdin``), else ``TWILIO_AUTH_TOKEN``, else asked
    for with the input hidden when someone is at the terminal; empty when there is none (the checks
    then say the ways). ``--auth-token-stdin`` at a terminal asks hidden too rather than echo it."""
    interactive = sys.stdin.isatty()
    if from_stdin and not interactive:
        return sys.stdin.readline().strip()
    if not from_stdin and from_env and from_env.strip():
        return from_env.strip()
    if interactive:
        return str(click.prompt("Twilio auth token", hide_input=True, show_default=False)).strip()
    return ""


def _no_token_on_the_command_line(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """``--auth-token`` is refused, not ignored: the token would already be in ps and the shell's
    history, and silently ignoring it would leave the owner believing setup used it. The same
    parameter still takes ``TWILIO_AUTH_TOKEN`` from the environment."""
    if value is not None and ctx.get_parameter_source(param.name or "") == click.core.ParameterSource.COMMANDLINE:
        raise click.UsageError(
            "--auth-token is no longer accepted: a token on the command line is visible in ps and the shell's "
            f"history. Instead {checks.AUTH_SOURCES}."
        )
    return value


def policy_for(project: Project, stage: str, prefix: str) -> dict[str, Any]:
    """The stage's IAM policy: its own file, or the template stage's with every name moved to ``stage``.

    Names in the policy are the table/queue/bucket prefix, the function's log group
    (``calltracking-<stage>``) and the SSM path (``/calltracking/<stage>/``).
    """
    own = project.root / ".chalice" / f"policy-{stage}.json"
    if own.exists():
        data: dict[str, Any] = json.loads(own.read_text())
        return data
    text = (project.root / ".chalice" / f"policy-{TEMPLATE_STAGE}.json").read_text()
    template_prefix = project.stage_env(TEMPLATE_STAGE)["TABLE_PREFIX"]
    text = text.replace(template_prefix, prefix)
    text = text.replace(f"/calltracking/{TEMPLATE_STAGE}/", f"/calltracking/{stage}/")
    text = text.replace(
        f"log-group:/aws/lambda/calltracking-{TEMPLATE_STAGE}", f"log-group:/aws/lambda/calltracking-{stage}"
    )
    data = json.loads(text)
    return data


def stage_entry(project: Project, answers: Answers, *, account_sid: str) -> dict[str, Any]:
    """The stage's entry in .chalice/config.json: the existing one (or the template's), its settings replaced."""
    config = project.config()
    stages = config.get("stages", {})
    entry = copy.deepcopy(stages.get(answers.stage) or stages[TEMPLATE_STAGE])
    entry["iam_policy_file"] = f"policy-{answers.stage}.json"
    env = entry.setdefault("environment_variables", {})
    env.update(
        {
            "STAGE": answers.stage,
            "TELEPHONY": "twilio",
            "TABLE_PREFIX": answers.table_prefix,
            "PUBLIC_BASE_URL": answers.public_url.rstrip("/"),
            "TWILIO_ACCOUNT_SID": account_sid,
            "TWILIO_AUTH_TOKEN_PARAM": f"/calltracking/{answers.stage}/twilio-auth-token",
            "API_KEY_PARAM": f"/calltracking/{answers.stage}/api-key",
            "CALLER_PEPPER_PARAM": f"/calltracking/{answers.stage}/caller-pepper",
            "DEFAULT_FORWARD_TO": answers.forward_to,
            # Alert and summary emails come from here (a verified SES identity: GET /v1/alerts/sender
            # says whether it is); empty until the owner has one, which settings report as a problem.
            "ALERTS_FROM_EMAIL": answers.alerts_from,
        }
    )
    if answers.stage != TEMPLATE_STAGE and answers.stage not in stages:
        # The infra stack's outputs of the template stage are not this stage's: deploy fills them in.
        for key in ("CALLS_STREAM_ARN", "EVENTS_QUEUE", "EVENTS_DLQ", "RECORDINGS_BUCKET"):
            if key in env:
                env[key] = ""
    return dict(entry)


def run(project: Project, answers: Answers) -> None:
    found = answers.problems(project.config().get("stages", {}).get(answers.stage))
    if found:
        raise click.ClickException("nothing was changed; fix these first:\n  - " + "\n  - ".join(found))

    # Function-level imports: boto3 and the policy tool are needed only once the inputs are good.
    import boto3

    from calltracking_cli import policy as policy_tool
    from calltracking_cli import twilio_api

    try:
        account = twilio_api.fetch_account(answers.account_sid, answers.auth_token, answers.subaccount_sid or None)
    except ValueError as exc:
        raise click.ClickException(f"nothing was changed: {exc}") from None
    token = answers.auth_token
    if answers.subaccount_sid:
        # A subaccount signs its webhooks with its own auth token, which its parent can read.
        token = str(getattr(account, "auth_token", "") or "")
        if checks.auth_token(token):
            raise click.ClickException("nothing was changed: Twilio did not give the subaccount's auth token")
    warnings = checks.twilio_account(str(getattr(account, "type", "") or ""))
    click.echo(f"Twilio account {account.sid} ({account.friendly_name or 'no name'}): credentials accepted")
    for warning in warnings:
        click.echo(f"warning: {warning}")

    from botocore.exceptions import BotoCoreError, ClientError

    session = boto3.session.Session(region_name=answers.region)
    try:
        aws_account = session.client("sts").get_caller_identity()["Account"]
    except (BotoCoreError, ClientError) as exc:
        raise click.ClickException(
            f"nothing was changed: AWS did not accept the credentials ({exc}); set AWS_PROFILE or "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY for an identity with infra/deployer-policy.json"
        ) from None
    click.echo(f"AWS account {aws_account}, region {answers.region}")

    policy = policy_tool.scope(
        policy_for(project, answers.stage, answers.table_prefix), account=aws_account, region=answers.region
    )
    policy_path = project.root / ".chalice" / f"policy-{answers.stage}.json"

    ssm = session.client("ssm")
    token_param = f"/calltracking/{answers.stage}/twilio-auth-token"
    key_param = f"/calltracking/{answers.stage}/api-key"
    ssm.put_parameter(Name=token_param, Value=token, Type="SecureString", Overwrite=True)
    click.echo(f"SSM {token_param}: the Twilio auth token (SecureString)")
    try:
        ssm.get_parameter(Name=key_param)
        click.echo(f"SSM {key_param}: kept (the deployment's API key exists)")
    except ssm.exceptions.ParameterNotFound:
        api_key = secrets.token_urlsafe(32)
        ssm.put_parameter(Name=key_param, Value=api_key, Type="SecureString", Overwrite=False)
        click.echo(f"SSM {key_param}: a new API key, shown only now (or make stored keys: calltracking keys create)")
        click.echo(api_key)
    pepper_param = f"/calltracking/{answers.stage}/caller-pepper"
    try:  # never replaced: every stored caller hash was made with it (calltracking callers rotate-key)
        ssm.get_parameter(Name=pepper_param)
        click.echo(f"SSM {pepper_param}: kept (the caller-hash key exists)")
    except ssm.exceptions.ParameterNotFound:
        from chalicelib.core import callerkeys

        ssm.put_parameter(Name=pepper_param, Value=callerkeys.initial(), Type="SecureString", Overwrite=False)
        click.echo(f"SSM {pepper_param}: a new caller-hash key (SecureString: losing it voids every caller hash)")

    policy_path.write_text(json.dumps(policy, indent=2) + "\n")
    click.echo(f"{policy_path.relative_to(project.root)}: every ARN in {answers.region}, account {aws_account}")
    config = project.config()
    config.setdefault("stages", {})[answers.stage] = stage_entry(project, answers, account_sid=str(account.sid))
    project.write_config(config)
    recorded = {
        **project.deploy_settings(answers.stage),  # a custom domain's certificate and switch are kept
        "region": answers.region,
        "aws_account": aws_account,
        "alarm_email": answers.alarm_email,
        "stack_name": f"{answers.table_prefix}infra",
    }
    if answers.domain:
        recorded.update(custom_domain(session, answers.domain))
    project.write_deploy_settings(answers.stage, recorded)
    click.echo(f".chalice/config.json: stage {answers.stage} (tables {answers.table_prefix}*)")
    click.echo(f"next: calltracking deploy --stage {answers.stage}")


def custom_domain(session: Any, name: str) -> dict[str, str]:
    """Request (or find) the domain's regional certificate and print the DNS record that validates it."""
    import time

    from calltracking_cli import domain as custom

    arn = custom.request_certificate(session, name)
    status, record = custom.certificate(session, arn)
    for _ in range(10):  # ACM takes a moment to name the validation record
        if record is not None:
            break
        time.sleep(1)
        status, record = custom.certificate(session, arn)
    click.echo(f"domain {name}: certificate {status.lower().replace('_', ' ')} ({arn})")
    if status != "ISSUED":
        if record is not None:
            click.echo(f"  add this DNS record at your DNS provider: {record.line()}")
        click.echo(
            "  calltracking status says when it is issued; then calltracking deploy moves the stage to the domain"
        )
    return {"domain": name, "certificate_arn": arn}


@click.command()
@click.option("--stage", default="prod", show_default=True, help="the stage; an agency uses one per client")
@click.option("--account-sid", envvar="TWILIO_ACCOUNT_SID", help="Twilio account SID (AC...) [TWILIO_ACCOUNT_SID]")
@click.option("--auth-token", envvar="TWILIO_AUTH_TOKEN", hidden=True, callback=_no_token_on_the_command_line)
@click.option(
    "--auth-token-stdin",
    is_flag=True,
    help="read the Twilio auth token from stdin (or set TWILIO_AUTH_TOKEN; at a terminal it is asked for, hidden)",
)
@click.option("--subaccount-sid", default="", help="a client's Twilio subaccount (its numbers and token)")
@click.option("--public-url", envvar="PUBLIC_BASE_URL", help="the API's public URL; empty: API Gateway's own")
@click.option("--forward-to", envvar="DEFAULT_FORWARD_TO", help="the business's main phone, E.164")
@click.option("--region", envvar=["AWS_DEFAULT_REGION", "AWS_REGION"], help="AWS region [AWS_DEFAULT_REGION]")
@click.option("--alarm-email", envvar="ALARM_EMAIL", help="who gets the alarms (optional)")
@click.option("--alerts-from", envvar="ALERTS_FROM_EMAIL", help="the verified SES sender of alert emails (optional)")
@click.option("--table-prefix", default=None, help="default: calltracking-<stage>-")
@click.option("--domain", default="", help="a custom domain for the API, e.g. calls.example.com (optional)")
@click.pass_obj
def setup(
    project: Project,
    stage: str,
    account_sid: str | None,
    auth_token: str | None,
    auth_token_stdin: bool,
    subaccount_sid: str,
    public_url: str | None,
    forward_to: str | None,
    region: str | None,
    alarm_email: str | None,
    alerts_from: str | None,
    table_prefix: str | None,
    domain: str,
) -> None:
    """Check and write a deployed stage's settings: Twilio credentials (tried against Twilio), SSM
    secrets, the stage in .chalice/config.json and its IAM policy file. Asks for what is missing."""
    answers = Answers(
        stage=stage,
        account_sid=_ask(account_sid, "Twilio account SID"),
        auth_token=read_auth_token(from_stdin=auth_token_stdin, from_env=auth_token),
        public_url=_ask(public_url, "Public URL (empty: API Gateway's)", optional=True),
        forward_to=_ask(forward_to, "Default forward-to phone (E.164)"),
        region=_ask(region, "AWS region"),
        alarm_email=_ask(alarm_email, "Alarm email (optional)", optional=True),
        alerts_from=_ask(alerts_from, "Sender of alert emails, a verified SES identity (optional)", optional=True),
        subaccount_sid=subaccount_sid.strip(),
        table_prefix=table_prefix or f"calltracking-{stage}-",
        domain=domain.strip().lower().rstrip("."),
    )
    run(project, answers)

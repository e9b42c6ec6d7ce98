"""``calltracking deploy``: the infrastructure stack, the app, the fast package, throttling, the numbers.

In order, each step safe to run again:

1. refuse a stage with placeholders, no region, or a policy still naming the example account;
2. create or update the CloudFormation stack from ``infra/tables.yaml`` (tables, stream,
   queues, bucket, alarms) and wait for it;
3. put its outputs (stream ARN, queue names, bucket) into the stage's environment variables;
4. build the optimized package (``calltracking_cli.package``: compiled bytecode, pruned botocore)
   and run Chalice's own deployer with it (``calltracking_cli.chalice_trimmed``: its packager
   swapped in-process), so the role, the functions, the event sources and the REST API are
   Chalice's, the API and its URL never change, and every ``CreateFunction``/``UpdateFunctionCode``
   carries the optimized package: no window in which Chalice's slower package serves. A stage
   without a public URL takes API Gateway's and is deployed again with it. If Chalice fails, the
   deploy stops, exits non-zero and says which code each function runs and that the API's last
   deployment is the one serving;
5. check each function runs exactly that zip (Lambda's ``CodeSha256``) and ship it where not
   (a ``--chalice`` command that ignores the package, e.g. plain ``chalice``);
6. set API Gateway's per-method throttling (``throttle.py``);
7. re-point every number whose webhooks do not yet point at the public URL (each number
   remembers the URL it was pointed at, so a second run sends Twilio nothing).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click

from calltracking_cli import checks, throttle
from calltracking_cli.migrate import run_migrations
from calltracking_cli.project import Project, stage_environment

# infra stack output -> the stage's environment variable that the app reads
OUTPUT_SETTINGS = {
    "CallsStreamArn": "CALLS_STREAM_ARN",
    "EventsQueueName": "EVENTS_QUEUE",
    "EventsDeadLetterQueueName": "EVENTS_DLQ",
    "RecordingsBucketName": "RECORDINGS_BUCKET",
}
NO_UPDATES = "No updates are to be performed"


def region_of(project: Project, stage: str, given: str | None) -> str:
    """The region: --region, what setup recorded, then AWS_DEFAULT_REGION or AWS_REGION."""
    return (
        given
        or project.deploy_settings(stage).get("region")
        or os.environ.get("AWS_DEFAULT_REGION")
        or os.environ.get("AWS_REGION")
        or ""
    )


def preflight(project: Project, stage: str, region: str) -> list[str]:
    """Everything that keeps ``stage`` from being deployed, before anything is created."""
    found = checks.stage_name(stage, project.config().get("stages", {}).get(stage)) + checks.region(region)
    found += checks.python_version((sys.version_info.major, sys.version_info.minor))
    try:
        env = project.stage_env(stage)
    except KeyError as exc:
        return [*found, str(exc.args[0])]
    found += checks.stage_env(env)
    found += checks.account_sid(env.get("TWILIO_ACCOUNT_SID", ""), name="TWILIO_ACCOUNT_SID")
    found += checks.phone(env.get("DEFAULT_FORWARD_TO", ""), name="DEFAULT_FORWARD_TO")
    found += checks.public_url(env.get("PUBLIC_BASE_URL", ""))
    from calltracking_cli import policy as policy_tool  # the checkout's own policy tool

    policy_file = project.root / ".chalice" / project.stage(stage).get("iam_policy_file", f"policy-{stage}.json")
    if not policy_file.exists():
        found.append(f"{policy_file.name} does not exist: run `calltracking setup --stage {stage}`")
    else:
        regions, accounts = policy_tool.scoped_to(json.loads(policy_file.read_text()))
        if policy_tool.EXAMPLE_ACCOUNT in accounts:
            found.append(f"{policy_file.name} names the example account: run `calltracking setup --stage {stage}`")
        elif region and regions != {region}:
            found.append(f"{policy_file.name} is for {sorted(regions)}, not {region}: run setup again")
    return found


def _declared_parameters(template: str) -> set[str]:
    import yaml

    return set((yaml.safe_load(template) or {}).get("Parameters", {}) or {})


def stack_parameters(project: Project, stage: str, template: str) -> list[dict[str, str]]:
    """The stack's parameters, only those the template declares (the alarms add AlarmEmail, FunctionName,
    NoCallsAlarmHours: ``no_calls_alarm_hours`` in .chalice/deploy.json, 0 = off)."""
    env = project.stage_env(stage)
    app_name = project.config().get("app_name", "calltracking")
    values = {
        "TablePrefix": env["TABLE_PREFIX"],
        "AlarmEmail": project.deploy_settings(stage).get("alarm_email", "") or "",
        "FunctionName": f"{app_name}-{stage}",
        # Every declared parameter is passed, defaults included: CloudFormation then sees an unchanged
        # stack as unchanged (moto, like an update that omits one, compares only what was sent).
        "NoCallsAlarmHours": str(int(project.deploy_settings(stage).get("no_calls_alarm_hours", 0) or 0)),
    }
    declared = _declared_parameters(template)
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in values.items() if k in declared]


def _unchanged(cfn: Any, stack: dict[str, Any], template: str, parameters: list[dict[str, str]]) -> bool:
    """Whether the stack already has this template body and these parameter values."""
    have = {p["ParameterKey"]: p.get("ParameterValue") for p in stack.get("Parameters", [])}
    want = {p["ParameterKey"]: p["ParameterValue"] for p in parameters}
    if any(have.get(k) != v for k, v in want.items()):
        return False
    body = cfn.get_template(StackName=stack["StackName"], TemplateStage="Original")["TemplateBody"]
    return isinstance(body, str) and body == template


def ensure_stack(cfn: Any, name: str, template: str, parameters: list[dict[str, str]], *, delay: int) -> dict[str, str]:
    """Create or update the stack and wait; returns its outputs."""
    from botocore.exceptions import ClientError

    try:
        stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    except ClientError as exc:
        if "does not exist" not in str(exc):
            raise
        stack = None
    if stack is not None and stack["StackStatus"] == "ROLLBACK_COMPLETE":
        raise click.ClickException(
            f"stack {name} failed to create (ROLLBACK_COMPLETE): read its events, delete it, and deploy again"
        )
    args = {
        "StackName": name,
        "TemplateBody": template,
        "Parameters": parameters,
        "Tags": [{"Key": "app", "Value": "calltracking"}],
    }
    if stack is None:
        click.echo(f"stack {name}: creating")
        cfn.create_stack(**args, OnFailure="ROLLBACK")
        cfn.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig={"Delay": delay, "MaxAttempts": 720})
    elif _unchanged(cfn, stack, template, parameters):
        # Nothing to send: CloudFormation would answer "No updates are to be performed" (and moto,
        # which compares a Number parameter's resolved value with the string sent, never does).
        click.echo(f"stack {name}: up to date")
    else:
        try:
            cfn.update_stack(**args)
        except ClientError as exc:
            if NO_UPDATES not in str(exc):
                raise
            click.echo(f"stack {name}: up to date")
        else:
            click.echo(f"stack {name}: updating")
            cfn.get_waiter("stack_update_complete").wait(
                StackName=name, WaiterConfig={"Delay": delay, "MaxAttempts": 720}
            )
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def apply_outputs(project: Project, stage: str, outputs: dict[str, str]) -> bool:
    """Write the stack's outputs into the stage's environment; True when something changed."""
    config = project.config()
    env = config["stages"][stage].setdefault("environment_variables", {})
    changed = False
    for output, setting in OUTPUT_SETTINGS.items():
        if output in outputs and env.get(setting) != outputs[output]:
            env[setting] = outputs[output]
            changed = True
    if changed:
        project.write_config(config)
    return changed


class ChaliceFailed(click.ClickException):
    """``chalice deploy`` exited non-zero: what serves is said by ``serving``."""


def chalice_deploy(
    project: Project, stage: str, region: str, command: str, package_zip: Path | None = None
) -> dict[str, Any]:
    """Run ``chalice deploy`` (``command``: ``chalice_trimmed`` by default, a test's stand-in, or plain
    ``chalice``), handing it the optimized package in ``CALLTRACKING_PACKAGE_ZIP``; returns
    .chalice/deployed/<stage>.json."""
    from calltracking_cli.chalice_trimmed import PACKAGE_ENV

    argv = [*shlex.split(command), "--project-dir", str(project.root), "deploy", "--stage", stage]
    click.echo("$ " + " ".join(argv))
    # Chalice reads AWS_DEFAULT_REGION, not AWS_REGION.
    env = {**os.environ, "AWS_DEFAULT_REGION": region}
    env.pop(PACKAGE_ENV, None)
    if package_zip is not None:
        env[PACKAGE_ENV] = str(package_zip)
    done = subprocess.run(argv, env=env, check=False)
    if done.returncode != 0:
        raise ChaliceFailed(f"chalice deploy failed (exit {done.returncode}); the stack is in place")
    deployed = project.deployed(stage)
    if not deployed:
        raise click.ClickException(f"chalice deploy wrote no .chalice/deployed/{stage}.json")
    return deployed


def resources(deployed: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in deployed.get("resources", []) if r.get("resource_type") == kind]


def build_package(project: Project, stage: str, region: str) -> Path:
    """The optimized package for this stage, built once per content (``package.cached_build``)."""
    from calltracking_cli import package

    try:
        return Path(package.cached_build(stage, project_dir=project.root, region=region).zip_path)
    except package.PackageError as exc:
        raise click.ClickException(f"the optimized package could not be built: {exc}") from None


def code_sha(zip_path: Path) -> str:
    """Lambda's ``CodeSha256`` of a zip: base64 of its SHA-256."""
    return base64.b64encode(hashlib.sha256(zip_path.read_bytes()).digest()).decode()


def serving(session: Any, project: Project, stage: str, package_zip: Path | None) -> list[str]:
    """What serves the stage now, one line per function and one for the API, for a failed deploy to say."""
    from botocore.exceptions import BotoCoreError, ClientError

    name = f"{project.config().get('app_name', 'calltracking')}-{stage}"
    ours = code_sha(package_zip) if package_zip is not None else None
    lines = []
    try:
        pages = session.client("lambda").get_paginator("list_functions").paginate()
        functions = [f for page in pages for f in page["Functions"]]
    except (BotoCoreError, ClientError) as exc:
        return [f"what serves could not be read: {exc}"]
    for f in sorted(functions, key=lambda f: f["FunctionName"]):
        if f["FunctionName"] != name and not f["FunctionName"].startswith(name + "-"):
            continue
        code = f.get("CodeSha256", "")
        which = "this deploy's optimized package" if code == ours else "the code it ran before this deploy"
        lines.append(f"{f['FunctionName']}: {which} (sha256 {code[:12]})")
    if not lines:
        lines.append(f"no function {name} exists: nothing serves this stage yet")
    api = resources(project.deployed(stage) or {}, "rest_api")
    if api:
        lines.append(
            f"API {api[0]['rest_api_id']}: its last complete deployment serves, at {api[0].get('rest_api_url', '')}"
        )
    else:
        lines.append("no API was deployed for this stage yet")
    return lines


def ship_package(
    session: Any, project: Project, stage: str, region: str, deployed: dict[str, Any], *, delay: int
) -> int:
    """Make sure each Lambda function runs the optimized package; returns how many had to be updated.

    ``chalice_trimmed`` already gave Chalice this zip, so normally every function runs it (Lambda's
    ``CodeSha256``) and nothing is sent; a function that does not (a ``--chalice`` command that
    ignores the package) is updated now.
    """
    functions = resources(deployed, "lambda_function")
    zip_path = build_package(project, stage, region)
    code = zip_path.read_bytes()
    sha = code_sha(zip_path)
    client = session.client("lambda")
    updated = 0
    for function in functions:
        arn = function["lambda_arn"]
        if client.get_function_configuration(FunctionName=arn).get("CodeSha256") == sha:
            continue
        client.update_function_code(FunctionName=arn, ZipFile=code)
        client.get_waiter("function_updated_v2").wait(
            FunctionName=arn, WaiterConfig={"Delay": delay, "MaxAttempts": 300}
        )
        updated += 1
    click.echo(
        f"package: {updated} of {len(functions)} function(s) updated to the optimized package "
        f"({len(code) / 1e6:.1f} MB, sha256 {sha[:12]})"
    )
    return updated


MIN_UNRESERVED = 100  # AWS keeps at least this much of an account's concurrency unreserved


def concurrency_problem(want: int, unreserved: int | None, reserved_now: int) -> str | None:
    """Why ``want`` concurrent executions cannot be reserved for the API function, or ``None``.

    ``unreserved``: the account's ``UnreservedConcurrentExecutions`` (None: not readable), which
    includes what this function reserves now (``reserved_now``) once that is released."""
    if want <= 0 or unreserved is None:
        return None
    free = unreserved + reserved_now
    if free - want < MIN_UNRESERVED:
        return (
            f"--api-concurrency {want}: the account has {free} concurrent executions to give and AWS keeps "
            f"{MIN_UNRESERVED} unreserved; ask AWS for a higher Lambda concurrency quota, or reserve at most "
            f"{max(0, free - MIN_UNRESERVED)} (0: none)"
        )
    return None


def reserve_api_concurrency(session: Any, project: Project, stage: str, want: int | None) -> None:
    """Write the API function's reserved concurrency into the stage's Chalice config (Chalice sets it on
    every deploy, and removes it when the config has none), after checking the account can give it."""
    if want is None:
        return
    from botocore.exceptions import BotoCoreError, ClientError

    name = f"{project.config().get('app_name', 'calltracking')}-{stage}"
    client = session.client("lambda")
    try:
        unreserved: int | None = int(client.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"])
    except (BotoCoreError, ClientError, KeyError):
        unreserved = None
    try:
        reserved_now = int(client.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions") or 0)
    except (BotoCoreError, ClientError):
        reserved_now = 0
    problem = concurrency_problem(want, unreserved, reserved_now)
    if problem:
        raise click.ClickException(f"nothing was deployed: {problem}")
    config = project.config()
    functions = config["stages"][stage].setdefault("lambda_functions", {})
    handler = functions.setdefault("api_handler", {})
    if want > 0:
        handler["reserved_concurrency"] = want
    else:
        handler.pop("reserved_concurrency", None)
        if not handler:
            functions.pop("api_handler")
        if not functions:
            config["stages"][stage].pop("lambda_functions")
    project.write_config(config)
    checked = "" if unreserved is not None else " (the account's quota could not be read: not checked)"
    click.echo(f"API function: {want or 'no'} concurrent executions reserved{checked}")


PREVIOUS_GRACE_SECONDS = 4 * 3600  # Twilio's longest call: its callbacks may still post to the old URL


def switch_domain(session: Any, project: Project, stage: str, rest_api_id: str, api_stage: str) -> bool:
    """Move the stage to its custom domain when it is ready; True when ``PUBLIC_BASE_URL`` changed.

    Ready: the certificate issued (``setup --domain``), API Gateway's custom domain made with its
    base path mapping, and the domain's CNAME to it visible through the resolver. Until then the
    stage keeps its URL and this says what is missing. At the switch the old URL goes to
    ``PREVIOUS_BASE_URLS``, so Twilio's requests still signed for it are accepted.
    """
    from calltracking_cli import domain as custom

    settings = project.deploy_settings(stage)
    name, arn = settings.get("domain"), settings.get("certificate_arn")
    if not name or not arn:
        return False
    env = project.stage_env(stage)
    status, _ = custom.certificate(session, arn)
    if status != "ISSUED":
        click.echo(f"domain: the certificate for {name} is {status}; the stage keeps {env.get('PUBLIC_BASE_URL')}")
        return False
    target = custom.ensure_api_domain(session, name, arn, rest_api_id, api_stage)
    new = custom.base_url(name)
    if env.get("PUBLIC_BASE_URL") == new:
        return False
    if not custom.visible(target):
        click.echo(
            f"domain: add the DNS record {target.line()}, then deploy again; until then the stage keeps "
            f"{env.get('PUBLIC_BASE_URL')}"
        )
        return False
    config = project.config()
    stage_env = config["stages"][stage]["environment_variables"]
    old = str(stage_env.get("PUBLIC_BASE_URL") or "").rstrip("/")
    previous = [u for u in str(stage_env.get("PREVIOUS_BASE_URLS") or "").split(",") if u.strip()]
    stage_env["PREVIOUS_BASE_URLS"] = ",".join(dict.fromkeys([*previous, *([old] if old else [])]))
    stage_env["PUBLIC_BASE_URL"] = new
    project.write_config(config)
    project.write_deploy_settings(stage, {**project.deploy_settings(stage), "switched_at": int(time.time())})
    click.echo(
        f"domain: {name} is ready: PUBLIC_BASE_URL is {new}; Twilio's requests signed for {old} are "
        "accepted until every number is re-pointed and its calls are over"
    )
    return True


def clear_previous_urls(project: Project, stage: str, now: float) -> bool:
    """Forget the URLs before a switch once every number was re-pointed after it and Twilio's longest
    call has had time to end; True when the stage's environment changed."""
    settings = project.deploy_settings(stage)
    config = project.config()
    stage_env = config["stages"][stage]["environment_variables"]
    if not stage_env.get("PREVIOUS_BASE_URLS"):
        return False
    switched, repointed = settings.get("switched_at"), settings.get("repointed_at")
    if not switched or not repointed or repointed < switched or now - switched < PREVIOUS_GRACE_SECONDS:
        return False
    stage_env["PREVIOUS_BASE_URLS"] = ""
    project.write_config(config)
    click.echo(
        "domain: every number points at the new URL and the calls of the switch are over: "
        "the old URL's signatures are no longer accepted"
    )
    return True


def repoint_numbers(project: Project, stage: str, region: str, *, force: bool = False) -> int:
    """Point every active number at the stage's public URL where it is not yet."""
    with stage_environment(project, stage, extra={"AWS_REGION": region, "AWS_DEFAULT_REGION": region}):
        from chalicelib import numbers
        from chalicelib.core.errors import ApiError

        try:
            return numbers.repoint_deployment(force=force)
        except ApiError as exc:
            raise click.ClickException(exc.message) from None


def first_admin(project: Project, stage: str, region: str, admin_email: str | None) -> list[str]:
    """How the first admin signs in, as lines to print: the admins there are, or the one made now
    (with ``admin_email``: a made-up password shown once), or the command that makes one."""
    with stage_environment(project, stage, extra={"AWS_REGION": region, "AWS_DEFAULT_REGION": region}):
        from chalicelib.core.errors import ApiError
        from chalicelib.dashboard import users

        admins = [u["email"] for u in users.list_users() if u["role"] == "admin" and not u["disabled"]]
        if admins:
            return [f"sign in as an admin ({', '.join(admins[:3])}{', ...' if len(admins) > 3 else ''})"]
        if not admin_email:
            return [
                "no admin yet: make the first one, then sign in with it:",
                f"  calltracking users create --email you@example.com --role admin --stage {stage}",
            ]
        password = users.generate_password()
        try:
            made = users.create_user(admin_email, "admin", password)
        except ApiError as exc:
            raise click.ClickException(f"the first admin was not made: {exc.message}") from None
        return [
            f"first admin made: {made['email']}",
            f"  password (shown only now; change it on the Users page): {password}",
        ]


@click.command()
@click.option("--stage", default="prod", show_default=True)
@click.option("--region", default=None, help="default: what setup recorded, then AWS_DEFAULT_REGION/AWS_REGION")
@click.option(
    "--chalice",
    "chalice_command",
    default=f"{sys.executable} -m calltracking_cli.chalice_trimmed",
    help="the chalice command (default: Chalice's deployer handed the optimized package)",
)
@click.option(
    "--leases-rate",
    type=float,
    default=throttle.DEFAULT_RATE,
    show_default=True,
    help="POST /v1/leases: requests per second across the API",
)
@click.option("--leases-burst", type=int, default=throttle.DEFAULT_BURST, show_default=True)
@click.option(
    "--api-concurrency",
    type=click.IntRange(min=0),
    default=None,
    help="reserve this many concurrent executions for the API function (Twilio's webhooks, the dashboard); "
    "0 removes the reservation; default: leave it as it is",
)
@click.option("--skip-package", is_flag=True, help="leave chalice's own (slower to start) package in place")
@click.option("--repoint-all", is_flag=True, help="re-point every number, even those this stage pointed here")
@click.option(
    "--migrate-minutes",
    type=float,
    default=10.0,
    show_default=True,
    help="run the data migrations for at most this long once the code is live (0: leave them to calltracking migrate)",
)
@click.option("--wait-delay", type=int, default=10, hidden=True, help="seconds between status polls")
@click.option(
    "--admin-email", default=None, help="when the stage has no admin yet: make this one (password printed once)"
)
@click.pass_obj
def deploy(
    project: Project,
    stage: str,
    region: str | None,
    chalice_command: str,
    leases_rate: float,
    leases_burst: int,
    api_concurrency: int | None,
    skip_package: bool,
    repoint_all: bool,
    migrate_minutes: float,
    wait_delay: int,
    admin_email: str | None,
) -> None:
    """Create or update the stack, deploy the app, ship the fast package, throttle, re-point numbers."""
    import boto3

    chosen = region_of(project, stage, region)
    found = preflight(project, stage, chosen)
    if found:
        raise click.ClickException("nothing was deployed; fix these first:\n  - " + "\n  - ".join(found))
    session = boto3.session.Session(region_name=chosen)
    template = project.template_path.read_text()
    name = project.deploy_settings(stage).get("stack_name") or f"{project.stage_env(stage)['TABLE_PREFIX']}infra"
    outputs = ensure_stack(
        session.client("cloudformation"), name, template, stack_parameters(project, stage, template), delay=wait_delay
    )
    if apply_outputs(project, stage, outputs):
        click.echo(".chalice/config.json: the stack's stream, queues and bucket are in the stage's environment")

    def run_chalice() -> dict[str, Any]:
        zip_path = None if skip_package else build_package(project, stage, chosen)
        try:
            return chalice_deploy(project, stage, chosen, chalice_command, zip_path)
        except ChaliceFailed as exc:
            what = "\n  ".join(serving(session, project, stage, zip_path))
            raise ChaliceFailed(f"{exc.message}. What serves now:\n  {what}\nFix the cause and deploy again.") from None

    clear_previous_urls(project, stage, time.time())
    reserve_api_concurrency(session, project, stage, api_concurrency)
    deployed = run_chalice()
    api = resources(deployed, "rest_api")
    api_url = str(api[0]["rest_api_url"]).rstrip("/") if api else ""
    if not project.stage_env(stage).get("PUBLIC_BASE_URL") and api_url:
        config = project.config()
        config["stages"][stage]["environment_variables"]["PUBLIC_BASE_URL"] = api_url
        project.write_config(config)
        click.echo(f"PUBLIC_BASE_URL is API Gateway's: {api_url}; deploying again so the app knows it")
        deployed = run_chalice()

    if skip_package:
        click.echo("package: skipped (--skip-package): the functions run chalice's own package")
    else:
        ship_package(session, project, stage, chosen, deployed, delay=max(1, wait_delay // 5))

    if api and switch_domain(
        session, project, stage, api[0]["rest_api_id"], project.stage(stage).get("api_gateway_stage", "api")
    ):
        click.echo("deploying again so the app knows its new URL")
        deployed = run_chalice()
        if not skip_package:
            ship_package(session, project, stage, chosen, deployed, delay=max(1, wait_delay // 5))

    if api:
        api_stage = project.stage(stage).get("api_gateway_stage", "api")
        wanted = throttle.limits(leases_rate, leases_burst)
        changed = throttle.apply(session.client("apigateway"), api[0]["rest_api_id"], api_stage, wanted)
        click.echo(f"throttling: {throttle.LEASES} at {leases_rate:g}/s, burst {leases_burst} ({changed} change(s))")

    moved = repoint_numbers(project, stage, chosen, force=repoint_all)
    click.echo(f"numbers: {moved} re-pointed at {project.stage_env(stage).get('PUBLIC_BASE_URL')}")
    if project.stage_env(stage).get("PREVIOUS_BASE_URLS"):
        project.write_deploy_settings(stage, {**project.deploy_settings(stage), "repointed_at": int(time.time())})
    # The code now live reads both shapes, so the data moves after it, while calls go on.
    if migrate_minutes > 0:
        schema = run_migrations(project, stage, migrate_minutes)
        if schema.version < schema.latest:
            click.echo(
                "schema: not finished in the time given; run calltracking migrate to go on (calls are unaffected)"
            )
    base = str(project.stage_env(stage).get("PUBLIC_BASE_URL") or "").rstrip("/")
    click.echo(f"deployed {stage}: {base}")
    click.echo("")
    click.echo(f"next: open the dashboard, {base}/dashboard")
    for line in first_admin(project, stage, chosen, admin_email):
        click.echo("  " + line)
    click.echo("  it opens on a checklist: make a channel and buy its number, put the site script on your")
    click.echo("  website (Website page), add an alert recipient, call your number once.")

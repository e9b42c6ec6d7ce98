"""``calltracking setup`` and ``deploy`` end to end, against moto's server standing in for AWS and
Prism serving Twilio's published OpenAPI spec.

What is real: the CLI runs as a separate process, exactly as an owner runs it; every AWS call
(CloudFormation from infra/tables.yaml, DynamoDB, SQS, S3, SSM, STS, IAM, Lambda, API Gateway's
update_stage for throttling) goes to moto's server through boto3 (``AWS_ENDPOINT_URL``); every
Twilio call goes through the Twilio SDK to Prism (``--errors``: a request that breaks Twilio's
spec fails), through a small recording proxy that counts what is sent.

What is not: ``chalice deploy`` is replaced by tests/support/fake_chalice.py (the CLI's
``--chalice`` option), because moto's API Gateway cannot import Chalice's Swagger 2.0 and the real
command fails there. The stand-in makes the role, the Lambda function and a REST API in moto
and writes ``.chalice/deployed/<stage>.json`` like Chalice; the API Gateway template Chalice
would deploy is checked with cfn-lint in tests/e2e/test_cli_package_template.py. moto's
CloudFormation skips alarms and bucket settings: tests/integration/test_infra.py asserts those on the template.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.support import prism as prism_support
from tests.support import servers

pytestmark = pytest.mark.contract

ROOT = servers.ROOT
REGION = "us-east-1"
STAGE = "acme"  # an agency's client: a stage of its own made by setup
ACCOUNT = "AC" + "a" * 32
TOKEN = "0123456789abcdef0123456789abcdef"
PUBLIC_URL = "https://calls.acme.example.com/api"
OLD_URL = "https://old-calls.acme.example.com/api"
FORWARD_TO = "+12025550123"
AWS_CALLS = "aws-calls.log"
FAKE_CHALICE = f"{sys.executable} {ROOT / 'tests' / 'support' / 'fake_chalice.py'}"


class Proxy(BaseHTTPRequestHandler):
    """Forwards to Prism and keeps (method, path) of every request: what the CLI sent Twilio."""

    target = ""
    seen: list[tuple[str, str]] = []

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length) if length else None
        type(self).seen.append((self.command, self.path.split("?")[0]))
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        req = urllib.request.Request(self.target + self.path, data=data, headers=headers, method=self.command)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                status, body, out = resp.status, resp.read(), resp.headers
        except urllib.error.HTTPError as err:
            status, body, out = err.code, err.read(), err.headers
        self.send_response(status)
        self.send_header("Content-Type", out.get("Content-Type", "application/json"))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_DELETE = _forward

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def twilio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[type[Proxy]]:
    proc, url = prism_support.start(tmp_path_factory.mktemp("prism"))
    Proxy.target = url
    server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Proxy.base = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    yield Proxy
    server.shutdown()
    servers.stop(proc)


@pytest.fixture
def aws() -> Iterator[str]:
    """A fresh moto server (it serves every AWS service on one port)."""
    proc, endpoint = servers.start_dynamodb()
    yield endpoint
    servers.stop(proc)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the checkout's configuration (what setup and deploy write to)."""
    (tmp_path / ".chalice").mkdir()
    for name in ("config.json", "policy-dev.json", "policy-prod.json"):
        shutil.copy(ROOT / ".chalice" / name, tmp_path / ".chalice" / name)
    (tmp_path / "infra").mkdir()
    shutil.copy(ROOT / "infra" / "tables.yaml", tmp_path / "infra" / "tables.yaml")
    # and the app, which deploy packages (package.build: chalice package, trimmed and compiled)
    for name in ("app.py", "requirements.txt", "requirements.lock"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "chalicelib", tmp_path / "chalicelib", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def run(
    project: Path,
    aws: str,
    twilio: type[Proxy],
    *args: str,
    region: bool = True,
    token: str = TOKEN,
    extra: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """The CLI as a process; ``token`` is on its stdin, which ``setup --auth-token-stdin`` reads."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": aws,
        "TWILIO_API_BASE_URL": twilio.base,  # type: ignore[attr-defined]
        "SSM_READ_TIMEOUT": "10",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "POWERTOOLS_METRICS_DISABLED": "true",
        # every AWS action the CLI (and Chalice's deployer under it) makes: held to the deployer policy
        "CALLTRACKING_AWS_CALL_LOG": str(project / AWS_CALLS),
    }
    if region:
        env["AWS_DEFAULT_REGION"] = REGION
    env.update(extra or {})
    return subprocess.run(
        [sys.executable, "-m", "calltracking_cli", "--project-dir", str(project), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
        input=token + "\n",
    )


def assert_the_deployer_policy_allows_every_action(project: Path) -> None:
    """Every AWS action the CLI made (setup, deploy with Chalice's deployer, status) is one that
    infra/deployer-policy.json allows: the policy an owner gives the person or CI that deploys."""
    from calltracking_cli import awscalls, policy

    made = awscalls.read(str(project / AWS_CALLS))
    assert len(made) > 10, made
    doc = policy.deployer(account="123456789012", region=REGION)
    assert sorted(a for a in made if not policy.allows(doc, a)) == []


def setup_args(**override: str) -> list[str]:
    values = {
        "--account-sid": ACCOUNT,
        "--public-url": OLD_URL,
        "--forward-to": FORWARD_TO,
        "--alarm-email": "owner@acme.example.com",
        "--alerts-from": "alerts@acme.example.com",
        **override,
    }
    return ["setup", "--stage", STAGE, "--auth-token-stdin", *[x for kv in values.items() for x in kv]]


def nothing_in_aws(aws: str) -> None:
    def client(service: str) -> Any:
        return boto3.client(
            service, endpoint_url=aws, region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t"
        )

    assert client("ssm").describe_parameters()["Parameters"] == []
    assert client("cloudformation").list_stacks()["StackSummaries"] == []
    assert client("dynamodb").list_tables()["TableNames"] == []
    assert client("lambda").list_functions()["Functions"] == []


def test_placeholders_and_a_missing_region_stop_setup_before_anything_is_created(project, aws, twilio):
    config_before = (project / ".chalice" / "config.json").read_text()
    twilio.seen.clear()

    done = run(project, aws, twilio, *setup_args(**{"--account-sid": "REPLACE-WITH-YOUR-ACCOUNT-SID"}))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "placeholder" in done.stderr and "account SID" in done.stderr

    done = run(project, aws, twilio, *setup_args(), region=False)
    assert done.returncode == 1
    assert "region is missing" in done.stderr and "AWS_DEFAULT_REGION" in done.stderr

    done = run(project, aws, twilio, *setup_args(**{"--public-url": "http://calls", "--forward-to": "555-0100"}))
    assert done.returncode == 1
    assert "https://" in done.stderr and "E.164" in done.stderr

    # deploy of a stage still holding the shipped placeholders stops too
    done = run(project, aws, twilio, "deploy", "--stage", "prod", "--chalice", FAKE_CHALICE, "--wait-delay", "1")
    assert done.returncode == 1
    assert "REPLACE-WITH" in done.stderr and "nothing was deployed" in done.stderr

    nothing_in_aws(aws)
    assert twilio.seen == []  # not even the credentials check: the inputs were wrong first
    assert (project / ".chalice" / "config.json").read_text() == config_before
    assert not (project / ".chalice" / f"policy-{STAGE}.json").exists()


def test_setup_refuses_credentials_twilio_rejects(project, aws, twilio):
    twilio.seen.clear()
    done = run(project, aws, twilio, *setup_args(), token="nothex")
    assert done.returncode == 1 and "32 lowercase hex" in done.stderr
    nothing_in_aws(aws)


def _numbers_table(aws: str) -> Any:
    return boto3.client(
        "dynamodb", endpoint_url=aws, region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t"
    )


def test_setup_then_deploy_creates_the_stack_repoints_numbers_once_and_is_idempotent(project, aws, twilio):
    # Given: setup of a client stage, with credentials Twilio (Prism) accepts
    twilio.seen.clear()
    done = run(project, aws, twilio, *setup_args())
    assert done.returncode == 0, done.stdout + done.stderr
    assert ("GET", f"/2010-04-01/Accounts/{ACCOUNT}.json") in twilio.seen
    ssm = boto3.client("ssm", endpoint_url=aws, region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t")
    token = ssm.get_parameter(Name=f"/calltracking/{STAGE}/twilio-auth-token", WithDecryption=True)["Parameter"]
    assert token["Type"] == "SecureString" and token["Value"] == TOKEN
    assert ssm.get_parameter(Name=f"/calltracking/{STAGE}/api-key")["Parameter"]["Type"] == "SecureString"
    # And the caller-hash key is made once: a second setup keeps it (every stored caller hash needs it)
    pepper_name = f"/calltracking/{STAGE}/caller-pepper"
    pepper = ssm.get_parameter(Name=pepper_name, WithDecryption=True)["Parameter"]
    assert pepper["Type"] == "SecureString" and pepper["Value"].startswith("1:")
    again = run(project, aws, twilio, *setup_args())
    assert again.returncode == 0 and "caller-hash key exists" in again.stdout, again.stdout + again.stderr
    assert ssm.get_parameter(Name=pepper_name, WithDecryption=True)["Parameter"]["Value"] == pepper["Value"]
    config = json.loads((project / ".chalice" / "config.json").read_text())
    env = config["stages"][STAGE]["environment_variables"]
    assert env["TABLE_PREFIX"] == f"calltracking-{STAGE}-"
    assert env["CALLER_PEPPER_PARAM"] == pepper_name
    assert env["TWILIO_AUTH_TOKEN_PARAM"] == f"/calltracking/{STAGE}/twilio-auth-token"
    assert env["TWILIO_ACCOUNT_SID"] == ACCOUNT and env["PUBLIC_BASE_URL"] == OLD_URL
    assert env["ALERTS_FROM_EMAIL"] == "alerts@acme.example.com"  # the template's placeholder replaced
    policy = (project / ".chalice" / f"policy-{STAGE}.json").read_text()
    assert f"table/calltracking-{STAGE}-calls" in policy and f"parameter/calltracking/{STAGE}/api-key" in policy
    assert "calltracking-prod" not in policy and "111122223333" not in policy and "123456789012" in policy

    # When: the first deploy
    deploy = ["deploy", "--stage", STAGE, "--chalice", FAKE_CHALICE, "--wait-delay", "1"]
    done = run(project, aws, twilio, *deploy)
    assert done.returncode == 0, done.stdout + done.stderr

    # Then: it ends with the dashboard's address and how the first admin signs in (none yet)
    assert f"next: open the dashboard, {OLD_URL}/dashboard" in done.stdout
    assert (
        "no admin yet" in done.stdout
        and f"users create --email you@example.com --role admin --stage {STAGE}" in done.stdout
    )

    # and the stack is there and its outputs are in the stage's environment
    cfn = boto3.client(
        "cloudformation", endpoint_url=aws, region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t"
    )
    stack = cfn.describe_stacks(StackName=f"calltracking-{STAGE}-infra")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    env = json.loads((project / ".chalice" / "config.json").read_text())["stages"][STAGE]["environment_variables"]
    assert (
        env["CALLS_STREAM_ARN"] == outputs["CallsStreamArn"]
        and ":table/calltracking-acme-calls/stream/" in env["CALLS_STREAM_ARN"]
    )
    assert env["EVENTS_QUEUE"] == "calltracking-acme-events" and env["EVENTS_DLQ"] == "calltracking-acme-events-dlq"
    assert env["RECORDINGS_BUCKET"] == "calltracking-acme-recordings"
    ddb = _numbers_table(aws)
    assert "calltracking-acme-numbers" in ddb.list_tables()["TableNames"]

    # and the function runs the optimized package, handed to chalice's deployer: nothing to replace after it
    assert "package: 0 of 1 function(s) updated" in done.stdout, done.stdout
    lam = boto3.client("lambda", endpoint_url=aws, region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t")
    shipped = lam.get_function_configuration(FunctionName=f"calltracking-{STAGE}")
    assert shipped["CodeSize"] > 1_000_000

    # and the lease endpoint is throttled on the REST API the deploy made
    deployed = json.loads((project / ".chalice" / "deployed" / f"{STAGE}.json").read_text())
    api_id = next(r for r in deployed["resources"] if r["resource_type"] == "rest_api")["rest_api_id"]
    apigw = boto3.client(
        "apigateway", endpoint_url=aws, region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t"
    )
    settings = apigw.get_stage(restApiId=api_id, stageName="api")["methodSettings"]
    assert settings["~1v1~1leases/POST"]["throttlingRateLimit"] == 50.0
    assert settings["~1v1~1leases/POST"]["throttlingBurstLimit"] == 100

    # Given: two numbers bought while the stage had its old URL, one released long ago
    for i, (status, base) in enumerate([("active", OLD_URL), ("active", None), ("released", OLD_URL)]):
        item = {
            "number": {"S": f"+1202555017{i}"},
            "provider": {"S": "twilio"},
            "provider_sid": {"S": f"PN{i:032x}"},
            "status": {"S": status},
            "kind": {"S": "channel"},
            "channel_id": {"S": "ch1"},
            "hooks_to": {"S": FORWARD_TO},
            "created_at": {"N": "1"},
        }
        if base:
            item["hooks_base"] = {"S": base}
        ddb.put_item(TableName="calltracking-acme-numbers", Item=item)

    # When: the public URL changes and deploy runs
    config = json.loads((project / ".chalice" / "config.json").read_text())
    config["stages"][STAGE]["environment_variables"]["PUBLIC_BASE_URL"] = PUBLIC_URL
    (project / ".chalice" / "config.json").write_text(json.dumps(config, indent=2))
    twilio.seen.clear()
    done = run(project, aws, twilio, *deploy, "--admin-email", "Owner@Acme.example.com")
    assert done.returncode == 0, done.stdout + done.stderr
    # (and, with no admin yet, the one named is made, its password shown once)
    assert "first admin made: owner@acme.example.com" in done.stdout and "password (shown only now" in done.stdout

    # Then: each active number's webhooks are updated once (Prism checked each request against the spec)
    numbers_path = f"/2010-04-01/Accounts/{ACCOUNT}/IncomingPhoneNumbers"
    assert sorted(twilio.seen) == [("POST", f"{numbers_path}/PN{i:032x}.json") for i in (0, 1)]
    assert "numbers: 2 re-pointed" in done.stdout
    shipped = lam.get_function_configuration(FunctionName=f"calltracking-{STAGE}")  # rebuilt: the stage changed
    items = ddb.scan(TableName="calltracking-acme-numbers")["Items"]
    bases = {i["number"]["S"]: i.get("hooks_base", {}).get("S") for i in items}
    assert bases == {"+12025550170": PUBLIC_URL, "+12025550171": PUBLIC_URL, "+12025550172": OLD_URL}

    # When: deploy runs again with nothing changed
    twilio.seen.clear()
    done = run(project, aws, twilio, *deploy)
    assert done.returncode == 0, done.stdout + done.stderr

    # Then: the same stack outputs, nothing sent to Twilio, no throttling change
    stack = cfn.describe_stacks(StackName=f"calltracking-{STAGE}-infra")["Stacks"][0]
    assert {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]} == outputs
    assert twilio.seen == []
    assert "numbers: 0 re-pointed" in done.stdout and "up to date" in done.stdout
    assert "sign in as an admin (owner@acme.example.com)" in done.stdout
    # chalice deploy uploads a package on every run: the optimized one (built once, cached), so the
    # function never ran anything else and nothing is replaced after it.
    assert "package: 0 of 1 function(s) updated" in done.stdout
    assert lam.get_function_configuration(FunctionName=f"calltracking-{STAGE}")["CodeSha256"] == shipped["CodeSha256"]
    # (moto's create_deployment, which the stand-in calls on every run as Chalice does, resets the
    # stage's methodSettings, where AWS keeps them; so deploy sets them again here, and they hold.)
    settings = apigw.get_stage(restApiId=api_id, stageName="api")["methodSettings"]
    assert settings["~1v1~1leases/POST"]["throttlingRateLimit"] == 50.0
    assert settings["~1v1~1leases/POST"]["throttlingBurstLimit"] == 100

    # When: chalice fails after the function's code is uploaded (as it would at a later API Gateway step)
    done = run(project, aws, twilio, *deploy, extra={"FAKE_CHALICE_FAIL": "after-lambda"})
    # Then: deploy exits non-zero and says what serves: the optimized package, the API's last deployment
    assert done.returncode != 0, done.stdout + done.stderr
    said = done.stdout + done.stderr
    assert "chalice deploy failed (exit 1)" in said and "What serves now:" in said, said
    assert f"calltracking-{STAGE}: this deploy's optimized package (sha256 {shipped['CodeSha256'][:12]})" in said
    assert f"API {api_id}: its last complete deployment serves" in said
    assert lam.get_function_configuration(FunctionName=f"calltracking-{STAGE}")["CodeSha256"] == shipped["CodeSha256"]

    # status: what is deployed, the dead-letter queue's depth, parked records, the numbers at Twilio
    sqs = boto3.client("sqs", endpoint_url=aws, region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t")
    dlq = sqs.get_queue_url(QueueName="calltracking-acme-events-dlq")["QueueUrl"]
    sqs.send_message(QueueUrl=dlq, MessageBody="{}")
    twilio.seen.clear()
    done = run(project, aws, twilio, "status", "--stage", STAGE)
    # (a dead letter is something to look at: status says so and exits 1, for a monitor or CI to see)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "problem    dead_letters: 1 event(s) in the events dead-letter queue -> " in done.stdout
    assert "calltracking-acme-infra: CREATE_COMPLETE" in done.stdout
    assert f"CallsStreamArn = {outputs['CallsStreamArn']}" in done.stdout
    assert f"API        https://{api_id}.execute-api.us-east-1.amazonaws.com/api/" in done.stdout
    assert "dead letters 1" in done.stdout and "parked     0" in done.stdout
    assert twilio.seen == [("GET", f"{numbers_path}.json")]  # one list of the account's numbers, read-only
    assert "thing(s) to look at" in done.stdout
    # and as one JSON object for monitoring
    done = run(project, aws, twilio, "status", "--stage", STAGE, "--json")
    assert done.returncode == 1, done.stdout + done.stderr
    said = json.loads(done.stdout)
    assert said["ok"] is False and said["facts"]["dead_letters"] == 1 and said["facts"]["api_url"]
    assert [p["kind"] for p in said["problems"]] == ["dead_letters"]
    assert said["facts"]["migration_pending"] is False  # deploy ran the migrations once its code was live
    assert said["facts"]["caller_key"] is True
    # and a stage whose caller-hash key is gone is told so, with how to put it back
    ssm = boto3.client("ssm", endpoint_url=aws, region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t")
    ssm.delete_parameter(Name=f"/calltracking/{STAGE}/caller-pepper")
    said = json.loads(run(project, aws, twilio, "status", "--stage", STAGE, "--json").stdout)
    assert [p["kind"] for p in said["problems"]] == ["dead_letters", "caller_key"]
    assert_the_deployer_policy_allows_every_action(project)


def test_a_subaccount_whose_token_twilio_does_not_give_is_refused(project, aws, twilio):
    """Prism answers with the spec's example account, whose auth_token ("auth_token") is no token."""
    sub = "AC" + "b" * 32
    twilio.seen.clear()
    done = run(project, aws, twilio, *setup_args(), "--subaccount-sid", sub)
    # The subaccount is fetched with the parent's credentials (which proves it is theirs) ...
    assert twilio.seen == [("GET", f"/2010-04-01/Accounts/{sub}.json")]
    # ... and without a usable token of its own nothing is written
    assert done.returncode == 1 and "subaccount's auth token" in done.stderr, done.stderr
    nothing_in_aws(aws)


class _Subaccount(BaseHTTPRequestHandler):
    """Twilio's Account fetch for a subaccount, answered as Twilio does: with the subaccount's own token."""

    seen: list[tuple[str, str | None]] = []

    def do_GET(self) -> None:
        type(self).seen.append((self.path, self.headers.get("Authorization")))
        sid = self.path.rsplit("/", 1)[-1].removesuffix(".json")
        body = json.dumps(
            {
                "sid": sid,
                "owner_account_sid": ACCOUNT,
                "status": "active",
                "friendly_name": "Acme",
                "auth_token": SUB_TOKEN,
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


SUB = "AC" + "c" * 32
SUB_TOKEN = "fedcba9876543210fedcba9876543210"


def test_setup_of_a_client_on_a_subaccount_stores_the_subaccounts_sid_and_token(project, aws):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Subaccount)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    class Fake:
        base = f"http://127.0.0.1:{server.server_address[1]}"

    try:
        done = run(project, aws, Fake, *setup_args(), "--subaccount-sid", SUB)  # type: ignore[arg-type]
    finally:
        server.shutdown()
    assert done.returncode == 0, done.stdout + done.stderr
    path, auth = _Subaccount.seen[0]
    assert path == f"/2010-04-01/Accounts/{SUB}.json"
    assert auth == "Basic " + base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()  # the parent's credentials
    env = json.loads((project / ".chalice" / "config.json").read_text())["stages"][STAGE]["environment_variables"]
    assert env["TWILIO_ACCOUNT_SID"] == SUB  # the app buys and verifies as the subaccount
    ssm = boto3.client("ssm", endpoint_url=aws, region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t")
    token = ssm.get_parameter(Name=f"/calltracking/{STAGE}/twilio-auth-token", WithDecryption=True)["Parameter"]
    assert token["Value"] == SUB_TOKEN


def test_chalices_own_deployer_uploads_only_the_optimized_package(project, aws, twilio):
    """The default ``--chalice``: Chalice's real deployer, its packager swapped for the optimized zip.

    Against moto it makes the role and every function, then fails at API Gateway (moto cannot import
    Chalice's Swagger 2.0): a real failure after the functions' step, which deploy must report."""
    from calltracking_cli import package

    assert run(project, aws, twilio, *setup_args()).returncode == 0
    done = run(project, aws, twilio, "deploy", "--stage", STAGE, "--wait-delay", "1")
    said = done.stdout + done.stderr
    assert done.returncode != 0 and "What serves now:" in said, said
    zip_path = Path(package.cached_build(STAGE, project_dir=project, region=REGION).zip_path)
    sha = base64.b64encode(__import__("hashlib").sha256(zip_path.read_bytes()).digest()).decode()
    lam = boto3.client("lambda", endpoint_url=aws, region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t")
    functions = [f for f in lam.list_functions()["Functions"] if f["FunctionName"].startswith(f"calltracking-{STAGE}")]
    # every function Chalice made (the API handler, the schedules, the stream and queue consumers) was
    # created with the optimized package: CreateFunction never carried Chalice's own
    assert len(functions) >= 3, [f["FunctionName"] for f in functions]
    assert {f["CodeSha256"] for f in functions} == {sha}
    for f in functions:
        assert f"{f['FunctionName']}: this deploy's optimized package" in said
    assert "no API was deployed for this stage yet" in said
    assert_the_deployer_policy_allows_every_action(project)


@pytest.fixture
def aws_issuing(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto's server issuing a requested certificate 10 s after it is asked (AWS: once DNS validates)."""
    monkeypatch.setenv("MOTO_ACM_VALIDATION_WAIT", "10")
    proc, endpoint = servers.start_dynamodb()
    yield endpoint
    servers.stop(proc)


def test_a_custom_domain_moves_the_stage_without_refusing_a_call(project, aws_issuing, twilio):
    import time

    from tests.support.dns_stub import DnsStub

    aws, name = aws_issuing, "calls.acme.example.com"
    dns = DnsStub()
    extra = {"CALLTRACKING_DNS_SERVER": dns.address}
    deploy = ["deploy", "--stage", STAGE, "--chalice", FAKE_CHALICE, "--wait-delay", "1"]
    # Given: setup with a domain requests its certificate and prints the record that validates it
    done = run(project, aws, twilio, *setup_args(), "--domain", name, extra=extra)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"domain {name}: certificate pending validation" in done.stdout
    assert "add this DNS record at your DNS provider: " in done.stdout
    # and status says the certificate waits for it (a problem: exit 1)
    said = json.loads(run(project, aws, twilio, "status", "--stage", STAGE, "--json", extra=extra).stdout)
    assert said["facts"]["certificate"] == "PENDING_VALIDATION" and said["facts"]["validation_visible"] is False
    assert [p["kind"] for p in said["problems"] if p["kind"] == "domain"] == ["domain"]

    # When: the certificate is issued and deploy runs before the domain's own record exists
    acm = boto3.client("acm", endpoint_url=aws, region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t")
    arn = acm.list_certificates()["CertificateSummaryList"][0]["CertificateArn"]
    for _ in range(30):
        if acm.describe_certificate(CertificateArn=arn)["Certificate"]["Status"] == "ISSUED":
            break
        time.sleep(0.5)
    done = run(project, aws, twilio, *deploy, extra=extra)
    assert done.returncode == 0, done.stdout + done.stderr
    # Then: API Gateway's domain is made and mapped, and the stage keeps its URL until DNS points there
    apigw = boto3.client(
        "apigateway", endpoint_url=aws, region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t"
    )
    target = apigw.get_domain_name(domainName=name)["regionalDomainName"]
    deployed = json.loads((project / ".chalice" / "deployed" / f"{STAGE}.json").read_text())
    api_id = next(r for r in deployed["resources"] if r["resource_type"] == "rest_api")["rest_api_id"]
    assert [(m["restApiId"], m["stage"]) for m in apigw.get_base_path_mappings(domainName=name)["items"]] == [
        (api_id, "api")
    ]
    assert f"domain: add the DNS record {name} CNAME {target}, then deploy again" in done.stdout
    env = json.loads((project / ".chalice" / "config.json").read_text())["stages"][STAGE]["environment_variables"]
    assert env["PUBLIC_BASE_URL"] == OLD_URL

    # When: the record is there and deploy runs again
    dns.records[name] = target
    twilio.seen.clear()
    done = run(project, aws, twilio, *deploy, extra=extra)
    assert done.returncode == 0, done.stdout + done.stderr
    # Then: the stage's URL is the domain, the old one is still accepted, the app is deployed with both
    env = json.loads((project / ".chalice" / "config.json").read_text())["stages"][STAGE]["environment_variables"]
    assert env["PUBLIC_BASE_URL"] == f"https://{name}" and env["PREVIOUS_BASE_URLS"] == OLD_URL
    lam = boto3.client("lambda", endpoint_url=aws, region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t")
    live = lam.get_function_configuration(FunctionName=f"calltracking-{STAGE}")["Environment"]["Variables"]
    assert live["PUBLIC_BASE_URL"] == f"https://{name}" and live["PREVIOUS_BASE_URLS"] == OLD_URL
    assert (
        f"domain: {name} is ready" in done.stdout
        and f"next: open the dashboard, https://{name}/dashboard" in done.stdout
    )
    # (status has nothing to say about a domain that is the stage's URL: tests/unit/test_custom_domain.py)
    dns.close()

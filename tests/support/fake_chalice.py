"""A stand-in for ``chalice deploy`` against moto's server, for tests/e2e/test_cli_deploy.py.

Why not the real one: moto's API Gateway imports only OpenAPI 3 and Chalice emits Swagger 2.0,
so the real ``chalice deploy`` fails at its API Gateway step (/work/shared/NOTES-aws-local.md);
that part is checked on ``chalice package``'s template with cfn-lint instead
(tests/e2e/test_cli_package_template.py). This stand-in makes what ``chalice deploy`` makes that the
CLI's later steps use, in moto through the same AWS APIs: the role, the Lambda function, a REST
API with a deployed ``api`` stage; and it writes ``.chalice/deployed/<stage>.json`` in Chalice's
own format. Like Chalice, a second run updates what the first made, uploading its package again.
The package is what ``calltracking_cli.chalice_trimmed`` hands Chalice's deployer
(``CALLTRACKING_PACKAGE_ZIP``), else a stand-in for Chalice's own. ``FAKE_CHALICE_FAIL=after-lambda``
makes a run fail once the function's code is uploaded (as Chalice fails at a later API Gateway step).

    python tests/support/fake_chalice.py --project-dir DIR deploy --stage STAGE
"""

from __future__ import annotations

import argparse
import io
import json
import os
import zipfile
from pathlib import Path

import boto3


def _zip() -> bytes:
    given = os.environ.get("CALLTRACKING_PACKAGE_ZIP")
    if given:
        return Path(given).read_bytes()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("app.py", "def handler(event, context):\n    return {}\n")
    return out.getvalue()


def _maybe_fail() -> None:
    if os.environ.get("FAKE_CHALICE_FAIL") == "after-lambda":
        raise SystemExit("An error occurred (BadRequestException) when calling the PutRestApi operation (injected)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--project-dir", required=True)
    parser.add_argument("command", choices=["deploy"])
    parser.add_argument("--stage", required=True)
    args = parser.parse_args()
    root = Path(args.project_dir)
    region = os.environ["AWS_DEFAULT_REGION"]  # chalice's own requirement, which the CLI must meet
    config = json.loads((root / ".chalice" / "config.json").read_text())
    name = f"{config['app_name']}-{args.stage}"
    deployed_path = root / ".chalice" / "deployed" / f"{args.stage}.json"
    iam = boto3.client("iam", region_name=region)
    lam = boto3.client("lambda", region_name=region)
    apigw = boto3.client("apigateway", region_name=region)
    env = config["stages"][args.stage]["environment_variables"]
    if deployed_path.exists():
        deployed = json.loads(deployed_path.read_text())
        fn = next(r for r in deployed["resources"] if r["resource_type"] == "lambda_function")
        # As chalice deploy does on every run: its own package again, and the stage's environment.
        lam.update_function_code(FunctionName=fn["lambda_arn"], ZipFile=_zip())
        lam.get_waiter("function_updated_v2").wait(FunctionName=fn["lambda_arn"], WaiterConfig={"Delay": 1})
        lam.update_function_configuration(FunctionName=fn["lambda_arn"], Environment={"Variables": env})
        _maybe_fail()
        api = next(r for r in deployed["resources"] if r["resource_type"] == "rest_api")
        apigw.create_deployment(restApiId=api["rest_api_id"], stageName="api")
        return
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    policy = (root / ".chalice" / config["stages"][args.stage]["iam_policy_file"]).read_text()
    iam.put_role_policy(RoleName=name, PolicyName=name, PolicyDocument=policy)
    fn = lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role["Arn"],
        Handler="app.app",
        Code={"ZipFile": _zip()},
        Environment={"Variables": env},
    )
    _maybe_fail()
    api_id = apigw.create_rest_api(name=config["app_name"])["id"]
    root_id = apigw.get_resources(restApiId=api_id)["items"][0]["id"]
    apigw.put_method(restApiId=api_id, resourceId=root_id, httpMethod="GET", authorizationType="NONE")
    apigw.put_integration(restApiId=api_id, resourceId=root_id, httpMethod="GET", type="MOCK")
    apigw.create_deployment(restApiId=api_id, stageName="api")
    deployed = {
        "resources": [
            {"name": "default-role", "resource_type": "iam_role", "role_name": name, "role_arn": role["Arn"]},
            {"name": "api_handler", "resource_type": "lambda_function", "lambda_arn": fn["FunctionArn"]},
            {
                "name": "rest_api",
                "resource_type": "rest_api",
                "rest_api_id": api_id,
                "rest_api_url": f"https://{api_id}.execute-api.{region}.amazonaws.com/api/",
            },
        ],
        "schema_version": "2.0",
        "backend": "api",
    }
    deployed_path.parent.mkdir(parents=True, exist_ok=True)
    deployed_path.write_text(json.dumps(deployed, indent=2))


if __name__ == "__main__":
    main()

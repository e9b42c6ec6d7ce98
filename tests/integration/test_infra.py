"""infra/tables.yaml and the Lambda's IAM policies, held against the code.

* The template is deployed into moto's CloudFormation and every table compared with its
  PynamoDB model (names, keys, attribute types, GSIs); TTL, point-in-time recovery, SSE and
  the retain policies are read from the template (moto's CloudFormation ignores those).
* cfn-lint passes on the template and on the policies (wrapped in a template, so the action
  names and ARNs are checked too).
* The DynamoDB permissions in ``.chalice/policy-<stage>.json`` are exactly the (table,
  action) pairs that ``chalicelib`` calls, found by reading its source: a new model, index
  or operation without a policy change fails here, and so does a permission nothing uses.
* Every ARN in a policy names one region and one account (``calltracking_cli/policy.py`` sets them),
  never ``*``, and no statement grants ``*`` except where AWS has no resource-level permission:
  the stream event source's ``ListStreams`` and X-Ray's two write actions (Lambda's active
  tracing, ``"xray": true`` on every deployed stage; Chalice adds them only to policies it
  generates). Metrics go to the logs, not to ``PutMetricData``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from pynamodb.models import Model

from chalicelib.core import settings
from chalicelib.store.models import ALL_MODELS
from tests.unit.test_infra import (
    DEPLOYED_STAGES,
    REGION,
    ROOT,
    STACK_PREFIX,
    TEMPLATE,
    _no_bucket_policy_warning,
    _policy,
    _suffix,
)


def _pairs(items: Iterable[dict[str, str]], key: str, value: str) -> dict[str, str]:
    return {i[key]: i[value] for i in items}


# --- (a) the template against the models ------------------------------------------------------


@pytest.fixture(scope="module")
def deployed() -> dict[str, dict[str, Any]]:
    """Every table of the stack as moto's DynamoDB describes it, by model name (moto stops before tests run)."""
    with mock_aws():
        cfn = boto3.client("cloudformation", region_name=REGION)
        ddb = boto3.client("dynamodb", region_name=REGION)
        with _no_bucket_policy_warning():
            cfn.create_stack(
                StackName="calltracking-tables",
                TemplateBody=TEMPLATE.read_text(),
                Parameters=[{"ParameterKey": "TablePrefix", "ParameterValue": STACK_PREFIX}],
            )
        stack = cfn.describe_stacks(StackName="calltracking-tables")["Stacks"][0]
        assert stack["StackStatus"] == "CREATE_COMPLETE", stack
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        names = set(ddb.list_tables()["TableNames"])
        assert names == {STACK_PREFIX + t for t in settings.TABLES}
        out: dict[str, dict[str, Any]] = {}
        for model in ALL_MODELS:
            table = ddb.describe_table(TableName=STACK_PREFIX + _suffix(model))["Table"]
            out[model.__name__] = {"table": table, "outputs": outputs}
    return out


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.__name__)
def test_table_matches_model(model: type[Model], deployed: dict[str, dict[str, Any]]) -> None:
    table = deployed[model.__name__]["table"]
    schema = model._get_schema()
    assert table["TableName"] == STACK_PREFIX + _suffix(model)
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["DeletionProtectionEnabled"] is True
    assert _pairs(table["KeySchema"], "AttributeName", "KeyType") == _pairs(
        schema["key_schema"], "AttributeName", "KeyType"
    )
    assert _pairs(table["AttributeDefinitions"], "AttributeName", "AttributeType") == _pairs(
        schema["attribute_definitions"], "AttributeName", "AttributeType"
    )
    assert not schema["local_secondary_indexes"] and not table.get("LocalSecondaryIndexes")
    want = {
        i["index_name"]: (_pairs(i["key_schema"], "AttributeName", "KeyType"), i["projection"])
        for i in schema["global_secondary_indexes"]
    }
    got = {
        i["IndexName"]: (_pairs(i["KeySchema"], "AttributeName", "KeyType"), i["Projection"])
        for i in table.get("GlobalSecondaryIndexes", [])
    }
    assert got == want
    outputs = deployed[model.__name__]["outputs"]
    logical = _suffix(model).capitalize() + "Table"
    assert outputs[logical + "Name"] == table["TableName"]
    assert outputs[logical + "Arn"] == table["TableArn"]


# --- (b) cfn-lint -----------------------------------------------------------------------------


def _cfn_lint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "import sys; from cfnlint.runner import main; sys.exit(main())", "--", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def test_cfn_lint_template() -> None:
    done = _cfn_lint(TEMPLATE)
    assert done.returncode == 0, done.stdout + done.stderr


def test_cfn_lint_policies(tmp_path: Path) -> None:
    """The policy documents are valid IAM (known actions, well-formed ARNs and conditions)."""
    resources = {
        f"Policy{stage.capitalize()}": {
            "Type": "AWS::IAM::ManagedPolicy",
            "Properties": {"PolicyDocument": _policy(stage)},
        }
        for stage in DEPLOYED_STAGES
    }
    path = tmp_path / "policies.json"
    path.write_text(json.dumps({"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources}))
    done = _cfn_lint(path)
    assert done.returncode == 0, done.stdout + done.stderr

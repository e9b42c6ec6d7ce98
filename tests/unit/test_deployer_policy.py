"""infra/deployer-policy.json: what the person or CI running setup and deploy needs, and no more.

The deploy tests (tests/e2e/test_cli_deploy.py) check that every AWS action the CLI and Chalice's
deployer make is allowed; these check the policy's shape: scoped to the stage's names, no service
wildcards, and the actions CloudFormation needs for each resource the stack makes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from calltracking_cli import policy

ROOT = Path(__file__).resolve().parents[2]
DOC = json.loads((ROOT / "infra" / "deployer-policy.json").read_text())
# Actions that support no resource-level permission (AWS's service authorization reference).
UNSCOPED = {
    "lambda:ListFunctions",
    "lambda:ListEventSourceMappings",
    "lambda:GetAccountSettings",
    "sts:GetCallerIdentity",
    "acm:RequestCertificate",
    "acm:ListCertificates",
}
# What CloudFormation does with the deployer's credentials for each resource type of the stack.
MADE_BY_THE_STACK = {
    "AWS::DynamoDB::Table": [
        "dynamodb:CreateTable",
        "dynamodb:DescribeTable",
        "dynamodb:UpdateTimeToLive",
        "dynamodb:UpdateContinuousBackups",
        "dynamodb:TagResource",
    ],
    "AWS::SQS::Queue": ["sqs:CreateQueue", "sqs:GetQueueAttributes", "sqs:SetQueueAttributes"],
    "AWS::S3::Bucket": [
        "s3:CreateBucket",
        "s3:PutEncryptionConfiguration",
        "s3:PutBucketPublicAccessBlock",
        "s3:PutLifecycleConfiguration",
        "s3:PutBucketOwnershipControls",
    ],
    "AWS::S3::BucketPolicy": ["s3:PutBucketPolicy", "s3:GetBucketPolicy"],
    "AWS::SNS::Topic": ["sns:CreateTopic", "sns:GetTopicAttributes"],
    "AWS::SNS::Subscription": ["sns:Subscribe"],
    "AWS::CloudWatch::Alarm": ["cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms"],
}


def test_every_statement_is_named_and_scoped_to_the_stages_names():
    for st in DOC["Statement"]:
        assert st.get("Sid") and st["Effect"] == "Allow"
        for action in st["Action"]:
            assert "*" not in action, f"{st['Sid']}: a wildcard action {action}"
        for resource in st["Resource"]:
            if resource == "*":
                unscoped = set(st["Action"]) - UNSCOPED
                # the event sources are scoped by a condition on the function instead
                assert not unscoped or st.get("Condition", {}).get("StringLike", {}).get("lambda:FunctionArn"), st
                continue
            assert (
                "calltracking" in resource
                or resource.startswith("arn:aws:acm:")
                or "/restapis" in resource
                or "/domainnames" in resource
                or "/tags/" in resource
            ), resource


def test_the_role_can_be_handed_to_lambda_only():
    passing = [st for st in DOC["Statement"] if "iam:PassRole" in st["Action"]]
    assert len(passing) == 1 and passing[0]["Action"] == ["iam:PassRole"]
    assert passing[0]["Condition"] == {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}


def test_the_stack_can_make_every_resource_its_template_declares():
    template = yaml.safe_load((ROOT / "infra" / "tables.yaml").read_text())
    types = {r["Type"] for r in template["Resources"].values()}
    assert types <= set(MADE_BY_THE_STACK), types - set(MADE_BY_THE_STACK)
    for kind in types:
        for action in MADE_BY_THE_STACK[kind]:
            assert policy.allows(DOC, action), f"{kind}: {action}"


def test_filled_for_an_account_and_region_it_names_only_them():
    filled = json.dumps(policy.deployer(account="123456789012", region="eu-west-1"))
    assert "REGION" not in filled and "ACCOUNT" not in filled
    assert "us-east-1" not in filled and ":123456789012:" in filled
    with pytest.raises(ValueError):
        policy.deployer(account="12", region="eu-west-1")
    with pytest.raises(ValueError):
        policy.deployer(account="123456789012", region="*")


def test_allows_matches_actions_exactly_not_by_prefix():
    assert policy.allows(DOC, "dynamodb:GetItem")
    assert not policy.allows(DOC, "dynamodb:DeleteTable")
    assert not policy.allows(DOC, "iam:CreateUser")
    assert not policy.allows(DOC, "dynamodb:GetItemX")

"""infra/tables.yaml with its alarms deployed into moto's CloudFormation (in process); the alarms
themselves are read on the template by tests/unit/test_alarms.py, since moto skips them."""

from __future__ import annotations

import warnings

import boto3
from moto import mock_aws

from tests.unit.test_alarms import TEMPLATE


def test_the_stack_with_alarms_creates_and_outputs_the_topic() -> None:
    """What moto can show: the template with every alarm parameter set still creates, and the topic is real."""
    with mock_aws(), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # moto's "no CloudFormation support" for alarms
        cfn = boto3.client("cloudformation", region_name="us-east-1")
        parameters = {
            "TablePrefix": "calltracking-ci-",
            "AlarmEmail": "owner@example.com",
            "FunctionName": "calltracking-ci",
            "NoCallsAlarmHours": "12",
        }
        cfn.create_stack(
            StackName="alarms",
            TemplateBody=TEMPLATE.read_text(),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        )
        stack = cfn.describe_stacks(StackName="alarms")["Stacks"][0]
        assert stack["StackStatus"] == "CREATE_COMPLETE"
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
        topics = [t["TopicArn"] for t in boto3.client("sns", region_name="us-east-1").list_topics()["Topics"]]
        assert outputs["AlarmTopicArn"] in topics and outputs["AlarmTopicArn"].endswith(":calltracking-ci-alarms")

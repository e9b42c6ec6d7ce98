"""infra/tables.yaml's alarms, read on the template itself: moto's CloudFormation skips alarms and
email subscriptions while reporting success, so a stack created there proves nothing about them.

The metrics they watch are the ones the app emits (tests/integration/test_metrics.py shows each is emitted,
under the same namespace and dimension these alarms name).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chalicelib.core import observability

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "tables.yaml"
CONFIG = json.loads((ROOT / ".chalice" / "config.json").read_text())
DEPLOYED_STAGES = sorted(name for name, stage in CONFIG["stages"].items() if "iam_policy_file" in stage)


def _alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"}


def _by_metric(template: dict[str, Any], namespace: str, metric: str) -> dict[str, Any]:
    [alarm] = [
        a["Properties"]
        for a in _alarms(template).values()
        if a["Properties"]["Namespace"] == namespace and a["Properties"]["MetricName"] == metric
    ]
    return alarm


def test_every_voice_metric_the_app_emits_has_an_alarm_on_its_namespace_and_dimension(
    template: dict[str, Any],
) -> None:
    for metric in observability.ALARMED_METRICS:
        alarm = _by_metric(template, observability.NAMESPACE, metric)
        # Powertools writes every metric with the service dimension: an alarm without it sees nothing.
        assert alarm["Dimensions"] == [{"Name": "service", "Value": observability.SERVICE}], metric
    assert observability.NAMESPACE == "CallTracking" and observability.SERVICE == "calltracking"


def test_failures_alarm_at_the_first_one_and_silence_is_not_a_failure(template: dict[str, Any]) -> None:
    for metric in (observability.FALLBACK_HITS, observability.ROUTING_FAILURES):
        alarm = _by_metric(template, observability.NAMESPACE, metric)
        assert (alarm["Statistic"], alarm["Threshold"], alarm["ComparisonOperator"]) == (
            "Sum",
            1,
            "GreaterThanOrEqualToThreshold",
        )
        assert alarm["TreatMissingData"] == "notBreaching"  # no calls, no failures: nothing to say


def test_slow_voice_answers_alarm_well_inside_twilios_15_seconds(template: dict[str, Any]) -> None:
    alarm = _by_metric(template, observability.NAMESPACE, observability.VOICE_DURATION)
    assert alarm["ExtendedStatistic"] == "p99" and alarm["Unit"] == "Milliseconds"
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold" and alarm["Threshold"] <= 5000


def test_silence_alarm_is_optional_and_counts_missing_data_as_silence(template: dict[str, Any]) -> None:
    alarm = _by_metric(template, observability.NAMESPACE, observability.VOICE_ANSWERED)
    resource = next(r for r in _alarms(template).values() if r["Properties"] is alarm)
    assert resource["Condition"] == "HasNoCallsAlarm"
    assert template["Parameters"]["NoCallsAlarmHours"]["Default"] == 0
    assert alarm["EvaluationPeriods"] == {"Ref": "NoCallsAlarmHours"} and alarm["Period"] == 3600
    assert (alarm["ComparisonOperator"], alarm["Threshold"], alarm["TreatMissingData"]) == (
        "LessThanThreshold",
        1,
        "breaching",
    )


def test_the_dead_letter_queue_alarms_on_its_first_message(template: dict[str, Any]) -> None:
    alarm = _by_metric(template, "AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["EventsDeadLetterQueue", "QueueName"]}}
    ]
    assert (alarm["Statistic"], alarm["Threshold"]) == ("Maximum", 1)


def _split_default(prefix: str) -> str:
    """What the template's Fn::Select/Fn::Split computes from TablePrefix when FunctionName is empty."""
    return f"{prefix}|".split("-|")[0]


def test_throttles_alarm_names_the_stages_function_by_default(template: dict[str, Any]) -> None:
    alarm = _by_metric(template, "AWS/Lambda", "Throttles")
    [dimension] = alarm["Dimensions"]
    assert dimension["Name"] == "FunctionName"
    condition, given, default = dimension["Value"]["Fn::If"]
    assert condition == "HasFunctionName" and given == {"Ref": "FunctionName"}
    assert default == {"Fn::Select": [0, {"Fn::Split": ["-|", {"Fn::Sub": "${TablePrefix}|"}]}]}
    for stage in DEPLOYED_STAGES:  # Chalice names the API handler <app_name>-<stage>
        prefix = CONFIG["stages"][stage]["environment_variables"]["TABLE_PREFIX"]
        assert _split_default(prefix) == f"{CONFIG['app_name']}-{stage}"


def test_every_alarm_tells_the_topic_when_it_fires_and_when_it_clears(template: dict[str, Any]) -> None:
    alarms = _alarms(template)
    assert len(alarms) == 6
    for name, alarm in alarms.items():
        props = alarm["Properties"]
        assert props["AlarmActions"] == [{"Ref": "AlarmTopic"}] == props["OKActions"], name
        assert props["AlarmName"]["Fn::Sub"].startswith("${TablePrefix}"), name  # one set per stage
        assert props.get("AlarmDescription"), name
    assert template["Resources"]["AlarmTopic"]["Type"] == "AWS::SNS::Topic"
    assert template["Outputs"]["AlarmTopicArn"]["Value"] == {"Ref": "AlarmTopic"}


def test_the_owner_is_subscribed_by_email_only_when_an_address_is_given(template: dict[str, Any]) -> None:
    subscription = template["Resources"]["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert template["Conditions"]["HasAlarmEmail"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}
    props = subscription["Properties"]
    assert props == {"TopicArn": {"Ref": "AlarmTopic"}, "Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}}
    assert template["Parameters"]["AlarmEmail"]["Default"] == ""

"""The throttling step against moto's API Gateway (create_rest_api, create_deployment, update_stage
are what moto serves): the patch operations are applied and read back from ``methodSettings``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from calltracking_cli import throttle


@pytest.fixture
def rest_api() -> Iterator[tuple[Any, str]]:
    with mock_aws():
        client = boto3.client("apigateway", region_name="us-east-1")
        api_id = client.create_rest_api(name="calltracking")["id"]
        root = client.get_resources(restApiId=api_id)["items"][0]["id"]
        client.put_method(restApiId=api_id, resourceId=root, httpMethod="GET", authorizationType="NONE")
        client.put_integration(restApiId=api_id, resourceId=root, httpMethod="GET", type="MOCK")
        client.create_deployment(restApiId=api_id, stageName="api")
        yield client, api_id


def test_the_lease_endpoint_gets_its_own_limits_and_twilio_routes_none(rest_api):
    client, api_id = rest_api
    changed = throttle.apply(client, api_id, "api", throttle.limits(20, 40))
    assert changed == 2
    settings = client.get_stage(restApiId=api_id, stageName="api")["methodSettings"]
    assert settings["~1v1~1leases/POST"]["throttlingRateLimit"] == 20.0
    assert settings["~1v1~1leases/POST"]["throttlingBurstLimit"] == 40
    assert not any(key.startswith("~1twilio") or key.startswith("*") for key in settings)


def test_a_second_run_changes_nothing_and_a_new_limit_changes_only_itself(rest_api):
    client, api_id = rest_api
    throttle.apply(client, api_id, "api", throttle.limits())
    assert throttle.apply(client, api_id, "api", throttle.limits()) == 0
    assert throttle.apply(client, api_id, "api", throttle.limits(rate=75)) == 1  # the rate only
    settings = client.get_stage(restApiId=api_id, stageName="api")["methodSettings"]
    assert settings["~1v1~1leases/POST"]["throttlingRateLimit"] == 75.0
    assert settings["~1v1~1leases/POST"]["throttlingBurstLimit"] == throttle.DEFAULT_BURST

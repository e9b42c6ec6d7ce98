"""The one AWS client factory: a client per (service, region, endpoint, limits), each caller's
limits kept as they were. Builds clients only: no request leaves the process."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.core import aws, secrets
from chalicelib.events import bus
from chalicelib.integrations.alerts import transports
from chalicelib.recordings import storage


def limits(client: Any) -> tuple[Any, Any, Any]:
    config = client.meta.config
    return config.connect_timeout, config.read_timeout, config.retries


@pytest.fixture
def fresh(settings_env):
    aws.forget()
    yield settings_env
    aws.forget()


def test_a_client_is_built_once_per_service_region_endpoint_and_limits(fresh):
    # Given the factory with nothing cached
    # When the same client is asked for twice, and then with other limits or another endpoint
    first = aws.client("sqs", aws.STREAM_BATCH, endpoint="http://127.0.0.1:1")
    # Then the first is kept, and each difference gets a client of its own
    assert aws.client("sqs", aws.STREAM_BATCH, endpoint="http://127.0.0.1:1") is first
    assert aws.client("sqs", aws.EMAIL, endpoint="http://127.0.0.1:1") is not first
    assert aws.client("sqs", aws.STREAM_BATCH, endpoint="http://127.0.0.1:2") is not first
    fresh(AWS_REGION="eu-west-1")
    moved = aws.client("sqs", aws.STREAM_BATCH, endpoint="http://127.0.0.1:1")
    assert moved is not first and moved.meta.region_name == "eu-west-1"


def test_forgetting_a_service_keeps_the_others(fresh):
    # Given an SQS and an S3 client
    sqs = aws.client("sqs", aws.STREAM_BATCH)
    s3 = aws.client("s3", aws.MEDIA, path_style=True)
    # When SQS's are forgotten
    aws.forget("sqs")
    # Then SQS gets a new client and S3 keeps its own
    assert aws.client("sqs", aws.STREAM_BATCH) is not sqs
    assert aws.client("s3", aws.MEDIA, path_style=True) is s3


def test_each_caller_keeps_the_limits_it_had(fresh):
    # Given each caller of AWS
    fresh(
        SSM_CONNECT_TIMEOUT="0.3",
        SSM_READ_TIMEOUT="0.4",
        STORE_CONNECT_TIMEOUT="1.5",
        STORE_READ_TIMEOUT="7",
    )
    standard3 = {"mode": "standard", "total_max_attempts": 4}  # botocore's words for max_attempts=3
    # When its client is built
    # Then its timeouts and retries are the ones it always had
    assert limits(bus.sqs()) == (2, 5, standard3)
    assert limits(transports.ses()) == (3, 10, standard3)
    assert limits(storage.s3()) == (2, 20, standard3)
    assert storage.s3().meta.config.signature_version == "s3v4"
    assert storage.s3().meta.config.s3 == {"addressing_style": "path"}
    # SSM retries in secrets._fetch, never in botocore (which waits up to 1 s after throttling)
    assert limits(secrets._client()) == (0.3, 0.4, {"total_max_attempts": 1, "mode": "standard"})
    assert limits(secrets._client(patient=True)) == (1.5, 7.0, {"total_max_attempts": 1, "mode": "standard"})

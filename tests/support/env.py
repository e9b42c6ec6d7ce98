"""What every kind of test shares: the test stage's settings (no endpoints) and its constants.

The environment is set by ``tests/conftest.py`` before anything imports ``chalicelib`` (settings
are read once, at first use; table names at import). It names no DynamoDB, SQS or S3 endpoint:
only the integration and end-to-end tests start one (``tests/support/database.py``), so a unit
test that reaches for AWS meets the unit tests' socket guard instead of a server.
"""

from __future__ import annotations

import json
from typing import Any

BASE_URL = "https://calls.example.test/api"
AUTH_TOKEN = "test-auth-token-0123456789abcdef"
API_KEY = "test-api-key"
CALLER_PEPPER = "1:test-caller-pepper-0123456789"
DEFAULT_PHONE = "+12025550199"
T0 = 1_790_000_000.0  # 2026-09-21T13:33:20Z, the fake clock's start

BASE_ENV = {
    "STAGE": "test",
    "CALLTRACKING_LOCAL": "true",  # loopback receivers, the demo page: the local stack's (never in Lambda)
    "TELEPHONY": "local",
    "TABLE_PREFIX": "test-",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "PUBLIC_BASE_URL": BASE_URL,
    "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
    "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
    "API_KEY": API_KEY,
    "CALLER_PEPPER": CALLER_PEPPER,
    "DEFAULT_FORWARD_TO": DEFAULT_PHONE,
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "WEBHOOK_READ_TIMEOUT": "5",
    "EVENT_RETRY_SECONDS": "0,0,0",  # a failing subscriber is tried again at once, three times
    "OUTBOUND_WEBHOOK_RETRY_SECONDS": "0,0,0,0,0,0,0",  # Svix's eight attempts, without the waits
}


def body(response: Any) -> Any:
    """The JSON of a Chalice test client's answer."""
    return json.loads(response.body)

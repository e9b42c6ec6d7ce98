"""Integration tests: the app's code against moto's server (DynamoDB, SQS, S3, SSM, SES), Prism, and
the app through Chalice's test client. The server starts here, at import, so its endpoints are in
the environment before any test module of this folder imports ``app``."""

from __future__ import annotations

from tests.support import database

database.start(by=__name__)

from tests.support.alerts import alerting, stub  # noqa: E402, F401  (fixtures: receivers, SES and SSM)
from tests.support.database import api, fake_clock, tables  # noqa: E402, F401  (fixtures)

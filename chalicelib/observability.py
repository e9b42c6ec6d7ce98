"""Logger and metrics, created once for the whole app (Powertools)."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics

logger = Logger(service="calltracking")
metrics = Metrics(namespace="CallTracking", service="calltracking")

"""API Gateway per-method throttling, so a flood on ``/v1/leases`` cannot starve ``/twilio/*``.

Every route shares one Lambda function and so one pool of concurrency. The lease endpoint is
public (any web page can call it); without a limit of its own a flood there takes the
concurrency the voice webhook needs to answer calls. Chalice has no setting for method
throttling, so ``deploy`` patches the stage's ``methodSettings`` after ``chalice deploy``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

LEASES = "/v1/leases"
# A page view asks for one lease and renews it every few minutes: 50 a second is a very busy site.
DEFAULT_RATE = 50.0
DEFAULT_BURST = 100


@dataclass(frozen=True)
class Limit:
    resource: str
    method: str
    rate: float
    burst: int

    @property
    def key(self) -> str:
        """The methodSettings key: the resource path with "/" written "~1" (JSON Pointer), then the method."""
        return self.resource.replace("~", "~0").replace("/", "~1") + "/" + self.method


def limits(rate: float = DEFAULT_RATE, burst: int = DEFAULT_BURST) -> list[Limit]:
    """The lease endpoint's POST (its only method in the API: tests/e2e/test_cli_package_template.py);
    /twilio/* keep the account's limits."""
    return [Limit(LEASES, "POST", rate, burst)]


def patch_operations(wanted: list[Limit], current: dict[str, Any]) -> list[dict[str, str]]:
    """What to change in the stage's ``methodSettings`` (``current``); nothing when it is already so."""
    ops: list[dict[str, str]] = []
    for limit in wanted:
        have = current.get(limit.key, {})
        if have.get("throttlingRateLimit") != limit.rate:
            ops.append({"op": "replace", "path": f"/{limit.key}/throttling/rateLimit", "value": str(limit.rate)})
        if have.get("throttlingBurstLimit") != limit.burst:
            ops.append({"op": "replace", "path": f"/{limit.key}/throttling/burstLimit", "value": str(limit.burst)})
    return ops


def apply(apigateway: Any, rest_api_id: str, stage: str, wanted: list[Limit]) -> int:
    """Patch the stage's method throttling; returns how many settings changed (0 on a second run)."""
    current = apigateway.get_stage(restApiId=rest_api_id, stageName=stage).get("methodSettings", {})
    ops = patch_operations(wanted, current)
    if ops:
        apigateway.update_stage(restApiId=rest_api_id, stageName=stage, patchOperations=ops)
    return len(ops)

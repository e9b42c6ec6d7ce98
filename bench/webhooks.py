"""Webhooks benchmark: the voice webhook's DynamoDB requests and time with 0 and 10 endpoints.

Budget (the webhooks issue): unchanged. Endpoints are read by the ``webhooks`` event
subscriber after the call's change reaches the stream, never by the voice webhook, so ten
endpoints must add no request and no time to answering a call. Both halves run in one
process against the same embedded DynamoDB, alternating in blocks, so the time ratio compares like
with like.
"""

from __future__ import annotations

import ipaddress
import statistics
from typing import Any
from unittest import mock

from bench import common
from bench.voice import with_and_without

N = 200  # voice webhooks per side
ENDPOINTS = 10
BLOCK = 20  # the sides alternate in blocks this long, so a noisy moment falls on both


def run() -> dict[str, Any]:
    with common.embedded_dynamodb("bench-webhooks-"):
        return _measure()


def _measure() -> dict[str, Any]:
    from chalicelib.integrations import outbound
    from chalicelib.integrations.webhooks import endpoints

    public = ipaddress.ip_address("93.184.216.34")  # no network: the endpoints' host is taken as public

    def add() -> None:
        with mock.patch.object(outbound, "resolve", lambda *a, **k: public):
            for e in range(ENDPOINTS):
                endpoints.create({"url": f"https://crm{e}.example.com/hooks"})

    def remove() -> None:
        for item in endpoints.list_all():
            endpoints.delete(item["id"])

    by_side = with_and_without(add, remove, n=N, block=BLOCK)
    counts = {ENDPOINTS if k else 0: v for k, v in by_side[0].items()}
    times = {ENDPOINTS if k else 0: v for k, v in by_side[1].items()}

    med = {k: statistics.median(v) for k, v in times.items()}
    return {
        "n_per_side": N,
        "endpoints": ENDPOINTS,
        "requests_per_voice_webhook": {
            str(k): {"median": statistics.median(c), "max": max(c), "min": min(c)} for k, c in counts.items()
        },
        "median_seconds": {str(k): round(v, 6) for k, v in med.items()},
        "time_ratio_10_to_0_endpoints": round(med[ENDPOINTS] / med[0], 2),
        "requests_equal": counts[0] == counts[ENDPOINTS],
        "budget": "requests equal; time ratio about 1",
    }


def table(r: dict[str, Any]) -> list[tuple[str, str, str]]:
    req = r["requests_per_voice_webhook"]
    zero, ten = req["0"], req[str(r["endpoints"])]
    return [
        (
            "DynamoDB requests per voice webhook, 0 / 10 webhook endpoints (max)",
            f"{zero['max']} / {ten['max']}",
            "equal",
        ),
        ("Voice webhook time, 10 endpoints ÷ 0 endpoints (medians)", f"{r['time_ratio_10_to_0_endpoints']:g}x", "≈ 1"),
    ]

"""Conversions benchmark: the voice webhook's DynamoDB requests and time with 0 and 6 destinations.

Budget (issue 29): unchanged. Destinations are read by the ``conversions`` subscriber's gate and
handler after the call's change reaches the stream, never by the voice webhook, so six
destinations (two Google Ads, two GA4, each with a rule, and both CRMs of issue 30, Bitrix24 and
HubSpot, with a rule taking every call) must add no request and no time to answering a call.
Both sides run in one process against the same embedded DynamoDB, alternating
in blocks, as ``bench/webhooks.py`` does.
"""

from __future__ import annotations

import statistics
from typing import Any

from bench import common
from bench.voice import with_and_without

N = 200  # voice webhooks per side
DESTINATIONS = 6
BLOCK = 20


def run() -> dict[str, Any]:
    with common.embedded_dynamodb("bench-conversions-"):
        return _measure()


def _measure() -> dict[str, Any]:
    from chalicelib.integrations.conversions import destinations

    def add() -> None:
        every_call = {"action": "call", "answered": False, "static_calls": True}
        destinations.create(
            {"platform": "bitrix24", "settings": {"user_id": "1"}, "rules": [every_call], "backfill_days": 0}
        )
        destinations.create({"platform": "hubspot", "settings": {}, "rules": [every_call], "backfill_days": 0})
        for i in range(2):
            destinations.create(
                {
                    "platform": "google_ads",
                    "settings": {"customer_id": f"123456789{i}"},
                    "rules": [{"action": f"customers/123456789{i}/conversionActions/1", "value": 10}],
                    "backfill_days": 0,
                }
            )
            destinations.create(
                {
                    "platform": "ga4",
                    "settings": {"measurement_id": f"G-BENCH{i}000"},
                    "rules": [{"action": "phone_call"}],
                    "backfill_days": 0,
                }
            )

    def remove() -> None:
        for item in destinations.list_all():
            destinations.delete(item["id"])

    by_side = with_and_without(add, remove, n=N, block=BLOCK)
    counts = {DESTINATIONS if k else 0: v for k, v in by_side[0].items()}
    times = {DESTINATIONS if k else 0: v for k, v in by_side[1].items()}
    med = {k: statistics.median(v) for k, v in times.items()}
    return {
        "n_per_side": N,
        "destinations": DESTINATIONS,
        "requests_per_voice_webhook": {
            str(k): {"median": statistics.median(c), "max": max(c), "min": min(c)} for k, c in counts.items()
        },
        "median_seconds": {str(k): round(v, 6) for k, v in med.items()},
        "time_ratio_with_to_without_destinations": round(med[DESTINATIONS] / med[0], 2),
        # The voice path re-reads its blocklist once a minute (one more request on whichever call
        # comes then, on either side): equal means the same median and as many such calls give or take one.
        "calls_above_median": {str(k): sum(1 for x in c if x > statistics.median(c)) for k, c in counts.items()},
        "requests_equal": statistics.median(counts[0]) == statistics.median(counts[DESTINATIONS])
        and abs(
            sum(1 for x in counts[0] if x > statistics.median(counts[0]))
            - sum(1 for x in counts[DESTINATIONS] if x > statistics.median(counts[DESTINATIONS]))
        )
        <= 1,
        "budget": "requests equal; time ratio about 1",
    }


def table(r: dict[str, Any]) -> list[tuple[str, str, str]]:
    req = r["requests_per_voice_webhook"]
    zero, four = req["0"], req[str(r["destinations"])]
    n = r["destinations"]
    return [
        (
            f"DynamoDB requests per voice webhook, 0 / {n} conversion destinations, CRMs included (max)",
            f"{zero['max']} / {four['max']}",
            "equal",
        ),
        (
            f"Voice webhook time, {n} destinations ÷ 0 destinations (medians)",
            f"{r['time_ratio_with_to_without_destinations']:g}x",
            "≈ 1",
        ),
    ]

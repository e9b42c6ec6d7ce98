"""Alerts benchmark: the voice webhook's DynamoDB requests and time with 0 and 10 alert recipients.

Budget (the alerts issue): unchanged. Recipients are read by the ``alerts`` event subscriber
(and its gate) after the call's change reaches the stream, never by the voice webhook, so ten
recipients must add no request and no time to answering a call. Both halves run in one
process against the same embedded DynamoDB, alternating in blocks, so the time ratio compares
like with like.
"""

from __future__ import annotations

import statistics
from typing import Any

from bench import common
from bench.voice import with_and_without

N = 200  # voice webhooks per side
RECIPIENTS = 10
BLOCK = 20  # the sides alternate in blocks this long, so a noisy moment falls on both


def run() -> dict[str, Any]:
    with common.embedded_dynamodb("bench-alerts-"):
        return _measure()


def _measure() -> dict[str, Any]:
    from chalicelib.integrations.alerts import recipients

    everything = [*recipients.CALL_ALERTS, *recipients.SCHEDULED_ALERTS]

    def add() -> None:
        for r in range(RECIPIENTS):
            recipients.create(
                {"name": f"Owner {r}", "channel": "email", "email": f"owner{r}@example.com", "events": everything}
            )

    def remove() -> None:
        for item in recipients.list_all():
            recipients.delete(item["id"])

    by_side = with_and_without(add, remove, n=N, block=BLOCK)
    counts = {RECIPIENTS if k else 0: v for k, v in by_side[0].items()}
    times = {RECIPIENTS if k else 0: v for k, v in by_side[1].items()}

    med = {k: statistics.median(v) for k, v in times.items()}
    return {
        "n_per_side": N,
        "recipients": RECIPIENTS,
        "requests_per_voice_webhook": {
            str(k): {"median": statistics.median(c), "max": max(c), "min": min(c)} for k, c in counts.items()
        },
        "median_seconds": {str(k): round(v, 6) for k, v in med.items()},
        "time_ratio_10_to_0_recipients": round(med[RECIPIENTS] / med[0], 2),
        # The blocklist's TTL cache is read again once every CACHE_SECONDS, on whichever side's call
        # comes then: a fifth request on one call in a few hundred, not a cost of the recipients.
        "calls_above_the_median": {str(k): sum(1 for n in c if n > statistics.median(c)) for k, c in counts.items()},
        "requests_equal": statistics.median(counts[0]) == statistics.median(counts[RECIPIENTS]),
        "budget": "requests equal; time ratio about 1",
    }


def table(r: dict[str, Any]) -> list[tuple[str, str, str]]:
    req = r["requests_per_voice_webhook"]
    zero, ten = req["0"], req[str(r["recipients"])]
    return [
        (
            "DynamoDB requests per voice webhook, 0 / 10 alert recipients (median; max)",
            f"{zero['median']:g} / {ten['median']:g}; {zero['max']} / {ten['max']}",
            "equal (a max of 5: the blocklist cache's refresh)",
        ),
        (
            "Voice webhook time, 10 alert recipients ÷ 0 (medians)",
            f"{r['time_ratio_10_to_0_recipients']:g}x",
            "≈ 1",
        ),
    ]

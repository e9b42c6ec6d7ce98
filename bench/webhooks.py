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
from bench.voice import _client

N = 200  # voice webhooks per side
ENDPOINTS = 10
BLOCK = 20  # the sides alternate in blocks this long, so a noisy moment falls on both


def run() -> dict[str, Any]:
    with common.embedded_dynamodb("bench-webhooks-"):
        return _measure()


def _measure() -> dict[str, Any]:
    import time
    from urllib.parse import urlencode

    from twilio.request_validator import RequestValidator

    from chalicelib import channels, numbers
    from chalicelib.integrations import outbound, webhooks
    from chalicelib.settings import get_settings
    from chalicelib.store import models

    models.create_tables()
    ch = channels.create({"name": "Radio", "forward_to": "+12025550144"})
    number = numbers.provision({"channel_id": ch["id"]})["number"]
    s = get_settings()
    validator = RequestValidator(s.twilio_auth_token)
    url = s.public_base_url + "/twilio/voice"

    def post(client: Any, i: int) -> float:
        params = {"CallSid": f"CA{i:032d}", "From": "+14155550111", "To": number, "CallStatus": "ringing"}
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": validator.compute_signature(url, params),
        }
        t0 = time.perf_counter()
        r = client.http.post("/twilio/voice", headers=headers, body=urlencode(params))
        elapsed = time.perf_counter() - t0
        assert r.status_code == 200 and b"<Dial" in r.body, r.body
        return elapsed

    counts: dict[int, list[int]] = {0: [], ENDPOINTS: []}
    times: dict[int, list[float]] = {0: [], ENDPOINTS: []}
    public = ipaddress.ip_address("93.184.216.34")  # no network: the endpoints' host is taken as public
    with _client() as client, common.counting() as counter:
        post(client, 10**6)  # warm: imports, connections, caches
        for half in [0, ENDPOINTS] * (N // BLOCK):
            if half == ENDPOINTS:
                with mock.patch.object(outbound, "resolve", lambda *a, **k: public):
                    for e in range(ENDPOINTS):
                        webhooks.create({"url": f"https://crm{e}.example.com/hooks"})
            else:
                for item in webhooks.list_all():
                    webhooks.delete(item["id"])
            for _ in range(BLOCK):
                counter.reset()
                times[half].append(post(client, len(times[0]) + len(times[ENDPOINTS]) + 1))
                counts[half].append(counter.total)

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

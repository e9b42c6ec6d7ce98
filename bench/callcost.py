"""What one call costs in AWS requests: the counts ``calltracking cost`` multiplies by unit prices.

A recorded, answered call to a channel's number, as Twilio plays it (the voice webhook, the
dial's status, the recording's callback, the final status), then everything that follows it
through the calls table's stream and the events queue (reports, the call-back list, the
recording's archive) — in one process against the embedded DynamoDB, SQS and S3 (moto's server),
through the same local event pump ``make run`` runs. Per call, the medians over ``N`` calls of:

* Lambda invocations: one per Twilio request (and one API Gateway request each), at most one per
  stream record (the stream's event source batches records that arrive together, so fewer when
  they do: this is the ceiling), one per SQS message (the events consumer takes one at a time,
  so a failing subscriber retries alone);
* DynamoDB requests by kind (reads, writes, transactions with their item counts: a transaction
  costs two units per item);
* SQS requests (each message is sent, received and deleted: three requests);
* S3 bytes and PUTs (the archived recording: the local provider's WAV, 8 kHz mono);
* the handlers' own time per Lambda invocation, in-process (a lower bound of billed duration,
  which Lambda rounds up to the millisecond; stated, not assumed, in the cost's formula).

The figures depend on what the owner configured (webhook endpoints, alerts, CRMs each add
their own messages); this is a call with the default integrations only.
"""

from __future__ import annotations

import hashlib
import json
import statistics
import time
from collections import Counter
from typing import Any
from urllib.parse import urlencode

from bench import common

N = 20
READS = {"GetItem", "Query", "Scan", "BatchGetItem"}
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"}
TRANSACTIONS = {"TransactWriteItems", "TransactGetItems"}


class Units:
    """DynamoDB requests by kind, with the items a transaction or a batch carries."""

    def __init__(self) -> None:
        self.ops: Counter[str] = Counter()
        self.transaction_items = 0
        self.batch_items = 0

    def __call__(self, model: Any, params: dict[str, Any] | None = None, **_: Any) -> None:
        name = model.name
        self.ops[name] += 1
        raw = (params or {}).get("body") or b"{}"
        params = json.loads(raw) if isinstance(raw, (bytes, str)) else {}
        if name in TRANSACTIONS:
            self.transaction_items += len(params.get("TransactItems", []))
        elif name == "BatchGetItem":
            self.batch_items += sum(len(v.get("Keys", [])) for v in params.get("RequestItems", {}).values())
        elif name == "BatchWriteItem":
            self.batch_items += sum(len(v) for v in params.get("RequestItems", {}).values())

    def snapshot(self) -> dict[str, int]:
        reads = sum(n for op, n in self.ops.items() if op in READS)
        writes = sum(n for op, n in self.ops.items() if op in WRITES)
        transactions = sum(n for op, n in self.ops.items() if op in TRANSACTIONS)
        return {
            "requests": sum(self.ops.values()),
            "reads": reads,
            "writes": writes,
            "transactions": transactions,
            "transaction_items": self.transaction_items,
            "batch_items": self.batch_items,
        }

    def reset(self) -> None:
        self.ops.clear()
        self.transaction_items = self.batch_items = 0


def run() -> dict[str, Any]:
    with common.embedded_dynamodb("bench-cost-") as endpoint:
        import os

        os.environ.update(
            {
                "SQS_ENDPOINT": endpoint,
                "S3_ENDPOINT": endpoint,
                "SES_ENDPOINT": endpoint,
                "SSM_ENDPOINT": endpoint,
                "CALLTRACKING_LOCAL": "true",
            }
        )
        from chalicelib.core.settings import get_settings

        get_settings.cache_clear()
        return _measure()


def _measure() -> dict[str, Any]:
    from twilio.request_validator import RequestValidator

    from bench.voice import _client
    from calltracking_local import pump as local_pump
    from chalicelib import channels, numbers
    from chalicelib.core.settings import get_settings
    from chalicelib.core.telephony import set_provider
    from chalicelib.events import bus, delivery, stream
    from chalicelib.recordings import storage
    from chalicelib.store import models

    models.create_tables()
    bus.reset()
    local_pump.create_queues()
    storage.reset()
    storage.create_bucket()
    set_provider(None)
    ch = channels.create({"name": "Radio", "forward_to": "+12025550144", "record": True})
    number = numbers.provision({"channel_id": ch["id"]})["number"]
    s = get_settings()
    validator = RequestValidator(s.twilio_auth_token)
    pump = local_pump.Pump()
    pump.drain()

    invocations: Counter[str] = Counter()
    handler_seconds: list[float] = []
    real_stream, real_delivery = stream.handle, delivery.handle

    def counted_stream(raw: dict[str, Any]) -> Any:
        invocations["stream_records"] += len(raw.get("Records", []))
        invocations["stream_batches"] += 1
        t0 = time.perf_counter()
        try:
            return real_stream(raw)
        finally:
            handler_seconds.append(time.perf_counter() - t0)

    def counted_delivery(raw: dict[str, Any]) -> Any:
        invocations["queue_messages"] += len(raw.get("Records", []))
        t0 = time.perf_counter()
        try:
            return real_delivery(raw)
        finally:
            handler_seconds.append(time.perf_counter() - t0)

    per_call: dict[str, list[float]] = {}

    def add(name: str, value: float) -> None:
        per_call.setdefault(name, []).append(value)

    stream.handle = counted_stream  # type: ignore[assignment]
    delivery.handle = counted_delivery  # type: ignore[assignment]
    try:
        with _client() as client, common.counting(Units()) as units:

            def twilio(path: str, params: dict[str, str]) -> None:
                headers = {
                    "Content-Type": "application/x-www-form-urlencoded",
                    "X-Twilio-Signature": validator.compute_signature(s.public_base_url + path, params),
                }
                t0 = time.perf_counter()
                answer = client.http.post(path, headers=headers, body=urlencode(params))
                handler_seconds.append(time.perf_counter() - t0)
                assert answer.status_code == 200, (path, answer.body)

            for i in range(N + 1):  # the first call warms imports and connections: not counted
                sid = "CA" + hashlib.sha256(f"cost{i}".encode()).hexdigest()[:32]
                rec_sid = "RE" + hashlib.sha256(sid.encode()).hexdigest()[:32]
                base = {"CallSid": sid, "From": f"+1415555{i:04d}", "To": number, "AccountSid": s.twilio_account_sid}
                steps = [
                    ("/twilio/voice", {**base, "CallStatus": "ringing"}),
                    ("/twilio/dial-status?step=0", {**base, "DialCallStatus": "completed", "DialCallDuration": "95"}),
                    (
                        "/twilio/recording-status",
                        {
                            **base,
                            "RecordingSid": rec_sid,
                            "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/{rec_sid}",
                            "RecordingStatus": "completed",
                            "RecordingDuration": "95",
                        },
                    ),
                    ("/twilio/call-status", {**base, "CallStatus": "completed", "CallDuration": "100"}),
                ]
                units.reset()
                invocations.clear()
                handler_seconds.clear()
                bytes_before = _bucket_bytes(storage)
                for path, params in steps:
                    twilio(path, params)
                twilio_units = units.snapshot()
                units.reset()
                pump.drain()
                after = units.snapshot()
                if i == 0:
                    continue
                add("twilio_requests", len(steps))
                for key, value in twilio_units.items():
                    add(f"webhooks_dynamodb_{key}", value)
                for key, value in after.items():
                    add(f"events_dynamodb_{key}", value)
                add("stream_records", invocations["stream_records"])
                add("queue_messages", invocations["queue_messages"])
                add("s3_bytes", _bucket_bytes(storage) - bytes_before)
                add("handler_ms_median", 1000 * statistics.median(handler_seconds))
                add("handler_ms_total", 1000 * sum(handler_seconds))
    finally:
        stream.handle = real_stream  # type: ignore[assignment]
        delivery.handle = real_delivery  # type: ignore[assignment]

    med = {k: round(statistics.median(v), 3) for k, v in per_call.items()}
    invocations_per_call = med["twilio_requests"] + med["stream_records"] + med["queue_messages"]
    return {
        "n": N,
        "call": "a recorded, answered channel call: voice webhook, dial status, recording, final status",
        "per_call": med,
        "lambda_invocations_per_call": invocations_per_call,
        "lambda_invocations_formula": "Twilio requests + stream records (a ceiling) + queue messages",
        "sqs_requests_per_call": 3 * med["queue_messages"],
        "s3_puts_per_call": 1 if med["s3_bytes"] else 0,
    }


def _bucket_bytes(storage: Any) -> int:
    client = storage.s3()
    total = 0
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=storage.bucket()):
        total += sum(o["Size"] for o in page.get("Contents", []))
    return total


def table(r: dict[str, Any]) -> list[tuple[str, str, str]]:
    p = r["per_call"]
    return [
        (
            "Lambda invocations per recorded call, at most (Twilio requests + stream records + queue messages)",
            f"{r['lambda_invocations_per_call']:g} ({p['twilio_requests']:g} + {p['stream_records']:g} + "
            f"{p['queue_messages']:g})",
            "—",
        ),
        (
            "DynamoDB requests per call, Twilio's webhooks (reads / writes / transactions)",
            f"{p['webhooks_dynamodb_requests']:g} ({p['webhooks_dynamodb_reads']:g} / "
            f"{p['webhooks_dynamodb_writes']:g} / "
            f"{p['webhooks_dynamodb_transactions']:g})",
            "—",
        ),
        (
            "DynamoDB requests per call, the events that follow (reads / writes / transactions)",
            f"{p['events_dynamodb_requests']:g} ({p['events_dynamodb_reads']:g} / {p['events_dynamodb_writes']:g} / "
            f"{p['events_dynamodb_transactions']:g})",
            "—",
        ),
        ("SQS messages per call (each: send, receive, delete)", f"{p['queue_messages']:g}", "—"),
        ("S3 bytes per recorded call (local 8 kHz WAV)", f"{p['s3_bytes']:g}", "—"),
    ]

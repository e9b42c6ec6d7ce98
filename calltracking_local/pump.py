"""The local event pump: what AWS does for the deployed app, done for ``make run`` and the tests.

``chalice local`` runs no stream, queue or schedule handlers. The pump reads the embedded
DynamoDB's stream of the calls table and the embedded SQS queue (moto's server serves
both) and calls the same handler functions with Lambda-shaped events; it runs every declared
schedule too, at its local cadence (``run_due``). Short polls only: moto's server answers one
request at a time, and a long poll would hold the voice webhook's DynamoDB requests behind it.

    python -m calltracking_local.pump      (make run starts it)
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

from chalicelib.core import aws
from chalicelib.core.observability import logger
from chalicelib.core.settings import get_settings
from chalicelib.events import bus, delivery, stream
from chalicelib.integrations import wiring
from chalicelib.integrations.registry import load


def _client(service: str) -> Any:
    """The embedded DynamoDB's (or its stream's) client, with botocore's own limits: local only."""
    return aws.client(service, None, endpoint=get_settings().dynamodb_endpoint)


def create_queues() -> None:
    """The events queue and its dead-letter queue (deployed stages get them from infra/)."""
    s = get_settings()
    sqs = bus.sqs()
    dlq = sqs.create_queue(QueueName=s.events_dlq)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    max_attempts = bus.most_attempts()
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_attempts + 3)}
    sqs.create_queue(
        QueueName=s.events_queue,
        Attributes={"VisibilityTimeout": "60", "RedrivePolicy": json.dumps(redrive)},
    )


class Pump:
    def __init__(self) -> None:
        self._arn: str | None = None
        self._iterators: dict[str, str] = {}
        self._last_run: dict[str, float] = {}  # a schedule's name: when the pump last ran it

    def _stream_arn(self) -> str | None:
        table = _client("dynamodb").describe_table(TableName=get_settings().table_name("calls"))["Table"]
        arn: str | None = table.get("LatestStreamArn")
        # A new table (tests reset the database) has a new stream, read from its start. Its ARN
        # may equal the old one's (moto names streams by the second), so the creation time counts too.
        key = f"{arn}@{table.get('CreationDateTime')}"
        if key != self._arn:
            self._arn, self._iterators = key, {}
        return arn

    def stream_once(self) -> int:
        arn = self._stream_arn()
        if not arn:
            return 0
        streams = _client("dynamodbstreams")
        count = 0
        for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"].get("Shards", []):
            sid = shard["ShardId"]
            # Resume after the last record handled (a fresh iterator each round: an iterator kept
            # at the end of moto's shard can miss records written after it).
            last = self._iterators.get(sid)
            where: dict[str, str] = (
                {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": last}
                if last
                else {"ShardIteratorType": "TRIM_HORIZON"}
            )
            it = streams.get_shard_iterator(StreamArn=arn, ShardId=sid, **where)["ShardIterator"]
            answer = streams.get_records(ShardIterator=it, Limit=100)
            raw = answer.get("Records", [])
            records = [_lambda_record(r, arn) for r in raw]
            if records:
                stream.handle({"Records": records})  # raises like the Lambda would: retried next round
                count += len(records)
                self._iterators[sid] = raw[-1]["dynamodb"]["SequenceNumber"]
        return count

    def queue_once(self) -> int:
        sqs = bus.sqs()
        url = bus.queue_url()
        answer = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, AttributeNames=["ApproximateReceiveCount"]
        )
        messages = answer.get("Messages", [])
        for m in messages:
            record = {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "eventSource": "aws:sqs",
            }
            try:
                delivery.handle({"Records": [record]})
            except delivery.RetryLater:
                continue  # stays in the queue; back after its delay
            except Exception:
                logger.exception("event delivery raised; the message comes back after its visibility timeout")
                continue
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return len(messages)

    def drain(self, rounds: int = 200) -> int:
        """Run until the stream and the queue are empty (tests); how much was handled."""
        total = 0
        for _ in range(rounds):
            n = self.stream_once() + self.queue_once()
            total += n
            if n == 0:
                return total
        raise RuntimeError("the event pump did not drain: something keeps failing")

    def run_due(self, now: float | None = None) -> list[str]:
        """Run every declared schedule whose local cadence has passed (each on the first round); their names.

        The same declarations ``routes/events.py`` registers with Chalice (``chalicelib/integrations/
        wiring.py``), read at each round so nothing here lists a schedule. A test's ``drain()`` never
        runs them.
        """
        now = time.monotonic() if now is None else now
        ran = []
        for integration in wiring.INTEGRATIONS:
            for schedule in integration.schedules:
                last = self._last_run.get(schedule.name)
                if last is not None and now - last < schedule.local_every:
                    continue
                self._last_run[schedule.name] = now
                try:
                    load(schedule.handler)()
                except Exception:
                    logger.exception("scheduled run failed; it runs again at its next turn", schedule=schedule.name)
                ran.append(schedule.name)
        return ran

    def run_forever(self, interval: float = 0.5) -> None:
        while True:
            try:
                busy = self.stream_once() + self.queue_once()
                self.run_due()
            except Exception:
                logger.exception("event pump round failed; trying again")
                busy = 0
            if not busy:
                time.sleep(interval)


def _lambda_record(r: dict[str, Any], arn: str) -> dict[str, Any]:
    ddb = dict(r["dynamodb"])
    created = ddb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        ddb["ApproximateCreationDateTime"] = created.timestamp()
    out = {k: v for k, v in r.items() if k != "dynamodb"}
    return {**out, "dynamodb": ddb, "eventSourceARN": arn}


def main() -> None:
    pump = Pump()
    for _ in range(100):  # the tables may still be being created
        try:
            pump.stream_once()
            break
        except Exception:
            time.sleep(0.2)
    logger.info("event pump running")
    pump.run_forever()


if __name__ == "__main__":
    main()

"""``calltracking cost``: what a call, a lease and a month cost, from the counts ``make bench`` measured.

The request counts are never typed here: they are read from ``bench/results/`` (``callcost`` for a
whole recorded call and what follows it through the stream and the queue, ``leases`` for a new
lease and a renewal, ``reports`` for the overview's report). Each count is multiplied by a unit
price the owner can override (``--price name=value``); the defaults are AWS's and Twilio's list
prices in ``us-east-1`` and the US as of ``PRICES_AS_OF`` (AWS: on-demand DynamoDB after the
November 2024 cut; Twilio: its support article "How Volume Pricing works at Twilio", first tier).

Assumptions, stated so they can be checked:

* a DynamoDB read request costs 1 read unit and a write 1 write unit (items under 4 KB / 1 KB,
  which the call items are); a transaction costs 2 units per item it carries; a batch read 1 unit
  per key;
* Lambda bills each invocation its memory (``lambda_memory_size`` of ``.chalice/config.json``) for
  its duration; the duration is the handlers' median measured in-process (``callcost``'s
  ``handler_ms_median``), rounded up to the millisecond as Lambda does, plus ``--overhead-ms``;
* stream invocations are counted at their ceiling (one per record); batching makes them fewer;
* the scheduled functions run whatever the call volume (their rates from the wiring's schedules):
  the fixed part of the month;
* storage (DynamoDB items, S3 recordings) is charged per GB-month for as long as it is kept
  (``CALL_RETENTION_DAYS`` / ``RECORDING_RETENTION_DAYS``); the month shown is a steady state.

A hosted vendor's prices are inputs too (``vendor_*``): their defaults are a typical entry plan's
published shape (a monthly fee with numbers and minutes included, then per number and per
minute); they could not be checked from this build's offline machine, so the README says where to
look and the command prints them as assumptions.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

PRICES_AS_OF = "2024-11"  # the list prices below; not re-checked from this offline build
DEFAULT_PRICES: dict[str, float] = {
    # AWS, us-east-1
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_second": 0.0000166667,
    "apigateway_request": 3.50 / 1e6,
    "dynamodb_read_unit": 0.125 / 1e6,
    "dynamodb_write_unit": 0.625 / 1e6,
    "dynamodb_gb_month": 0.25,
    "sqs_request": 0.40 / 1e6,
    "s3_put": 0.005 / 1000,
    "s3_gb_month": 0.023,
    # Twilio, US
    "twilio_number_month": 1.15,
    "twilio_inbound_minute": 0.0085,
    "twilio_outbound_minute": 0.013,  # the forwarded leg to the business's phone
    "twilio_recording_minute": 0.0025,
    # A hosted vendor's entry plan (inputs: check the vendor's pricing page)
    "vendor_month": 45.0,
    "vendor_numbers_included": 5,
    "vendor_minutes_included": 250,
    "vendor_number_month": 3.0,
    "vendor_minute": 0.05,
}
RESULTS = Path(__file__).resolve().parents[1] / "bench" / "results"
CALL_ITEM_KB = 4.0  # a call item with its session and touches, rounded up (the report buckets are shared)


@dataclass(frozen=True)
class Volume:
    calls: int
    minutes_per_call: float
    recorded_share: float
    numbers: int
    leases: int
    report_views: int


def load_results(results: Path = RESULTS) -> dict[str, Any]:
    found = {}
    for name in ("callcost", "leases", "reports"):
        path = results / f"{name}.json"
        if not path.exists():
            raise click.ClickException(f"{path} is missing: run `make bench` (or `python -m bench {name}`) first")
        found[name] = json.loads(path.read_text())
    return found


def schedules_per_month() -> list[tuple[str, float]]:
    """(name, invocations a month) of every scheduled function the wiring declares."""
    from chalicelib.integrations import wiring

    month_minutes = 30 * 24 * 60
    out = []
    for integration in wiring.INTEGRATIONS:
        for schedule in integration.schedules:
            out.append((schedule.name, month_minutes / schedule.minutes))
    return out


def memory_gb(project_root: Path) -> float:
    config = json.loads((project_root / ".chalice" / "config.json").read_text())
    return float(config.get("lambda_memory_size", 128)) / 1024


def estimate(
    results: dict[str, Any],
    volume: Volume,
    prices: dict[str, float],
    *,
    memory: float,
    overhead_ms: float,
    schedules: list[tuple[str, float]],
    retention_days: int = 730,
) -> dict[str, Any]:
    """Cost per call, per lease, per report view and per month (USD), with the counts used."""
    p = prices
    c = results["callcost"]["per_call"]
    invocations = c["twilio_requests"] + c["stream_records"] + c["queue_messages"]
    billed_ms = math.ceil(c["handler_ms_median"]) + overhead_ms

    def dynamo(prefix: str) -> float:
        plain_reads = c[f"{prefix}_reads"] - (1 if c[f"{prefix}_batch_items"] else 0)
        reads = plain_reads + c[f"{prefix}_batch_items"]
        tx_units = 2 * c[f"{prefix}_transaction_items"]
        writes = float(c[f"{prefix}_writes"] + tx_units)
        return float(reads) * p["dynamodb_read_unit"] + writes * p["dynamodb_write_unit"]

    aws_call = {
        "lambda": invocations * (p["lambda_request"] + memory * billed_ms / 1000 * p["lambda_gb_second"]),
        "api_gateway": c["twilio_requests"] * p["apigateway_request"],
        "dynamodb": dynamo("webhooks_dynamodb") + dynamo("events_dynamodb"),
        "sqs": 3 * c["queue_messages"] * p["sqs_request"],
        "s3": volume.recorded_share * p["s3_put"],
    }
    twilio_call = {
        "inbound": volume.minutes_per_call * p["twilio_inbound_minute"],
        "forwarded": volume.minutes_per_call * p["twilio_outbound_minute"],
        "recording": volume.recorded_share * volume.minutes_per_call * p["twilio_recording_minute"],
    }
    lease = results["leases"]
    new_lease_requests = float(lease["requests_per_new_lease"]["median"])
    # a new lease: one API request; its candidates query is a read, the rest writes (conditional)
    lease_cost = (
        p["lambda_request"]
        + p["apigateway_request"]
        + memory * (math.ceil(c["handler_ms_median"]) + overhead_ms) / 1000 * p["lambda_gb_second"]
        + p["dynamodb_read_unit"]
        + max(0.0, new_lease_requests - 1) * 2 * p["dynamodb_write_unit"]
    )
    report = results["reports"]["sizes"]
    report_requests = float(next(iter(report.values()))["requests"])
    report_cost = p["lambda_request"] + p["apigateway_request"] + report_requests * p["dynamodb_read_unit"]
    schedule_invocations = sum(n for _, n in schedules)
    fixed_aws = schedule_invocations * (p["lambda_request"] + memory * 0.05 * p["lambda_gb_second"])
    kept_months = retention_days / 30
    recording_mb = c["s3_bytes"] / 1e6 * volume.minutes_per_call / max(1e-9, _local_recording_minutes(c))
    storage = (
        volume.calls * kept_months * CALL_ITEM_KB / 1e6 * p["dynamodb_gb_month"]
        + volume.calls * volume.recorded_share * kept_months * recording_mb / 1e3 * p["s3_gb_month"]
    )
    per_call_aws = sum(aws_call.values())
    per_call_twilio = sum(twilio_call.values())
    month_aws = (
        volume.calls * per_call_aws
        + volume.leases * lease_cost
        + volume.report_views * report_cost
        + fixed_aws
        + storage
    )
    month_twilio = volume.calls * per_call_twilio + volume.numbers * p["twilio_number_month"]
    minutes = volume.calls * volume.minutes_per_call
    vendor = (
        p["vendor_month"]
        + max(0, volume.numbers - p["vendor_numbers_included"]) * p["vendor_number_month"]
        + max(0.0, minutes - p["vendor_minutes_included"]) * p["vendor_minute"]
    )
    return {
        "counts": {
            "lambda_invocations_per_call": invocations,
            "billed_ms_per_invocation": billed_ms,
            "dynamodb_requests_per_call": c["webhooks_dynamodb_requests"] + c["events_dynamodb_requests"],
            "sqs_messages_per_call": c["queue_messages"],
            "new_lease_requests": new_lease_requests,
            "report_requests": report_requests,
            "scheduled_invocations_per_month": round(schedule_invocations),
        },
        "per_call": {"aws": aws_call, "twilio": twilio_call},
        "per_lease_aws": lease_cost,
        "per_report_view_aws": report_cost,
        "month": {
            "aws": month_aws,
            "aws_fixed_schedules": fixed_aws,
            "aws_storage": storage,
            "twilio": month_twilio,
            "total": month_aws + month_twilio,
            "vendor": vendor,
        },
    }


def _local_recording_minutes(c: dict[str, Any]) -> float:
    """Minutes of audio in callcost's recording: the local WAV is 8 kHz, 16-bit mono (16 KB a second);
    Twilio's recordings are MP3/WAV at about the same rate for WAV, so bytes scale with minutes."""
    return float(c["s3_bytes"]) / (16_000 * 60)


def parse_prices(pairs: tuple[str, ...]) -> dict[str, float]:
    prices = dict(DEFAULT_PRICES)
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or name not in prices:
            raise click.BadParameter(f"{pair!r}: use name=value with one of {', '.join(sorted(prices))}")
        try:
            prices[name] = float(value)
        except ValueError:
            raise click.BadParameter(f"{pair!r}: {value!r} is not a number") from None
        if not prices[name] >= 0 or prices[name] == float("inf"):
            raise click.BadParameter(f"{pair!r}: a price is a finite number, not negative")
    return prices


def render(r: dict[str, Any], volume: Volume) -> list[str]:
    def usd(x: float) -> str:
        return f"${x:,.2f}" if x >= 0.01 else f"${x:.6f}"

    k = r["counts"]
    call = r["per_call"]
    lines = [
        f"Counts (from make bench's results): {k['lambda_invocations_per_call']:g} Lambda invocations per call "
        f"(at most), {k['dynamodb_requests_per_call']:g} DynamoDB requests, {k['sqs_messages_per_call']:g} SQS "
        f"messages; a new lease {k['new_lease_requests']:g} requests; a report {k['report_requests']:g}; "
        f"{k['scheduled_invocations_per_month']:,} scheduled invocations a month",
        "",
        "per call       AWS "
        + usd(sum(call["aws"].values()))
        + "   ("
        + ", ".join(f"{name} {usd(v)}" for name, v in call["aws"].items())
        + ")",
        "               Twilio "
        + usd(sum(call["twilio"].values()))
        + "   ("
        + ", ".join(f"{name} {usd(v)}" for name, v in call["twilio"].items())
        + f"; {volume.minutes_per_call:g} min)",
        f"per lease      AWS {usd(r['per_lease_aws'])}",
        f"per report     AWS {usd(r['per_report_view_aws'])}",
        "",
        f"a month: {volume.calls:,} calls, {volume.leases:,} leases, {volume.numbers} numbers, "
        f"{volume.report_views:,} report views",
        f"  AWS    {usd(r['month']['aws'])} (schedules {usd(r['month']['aws_fixed_schedules'])}, "
        f"storage {usd(r['month']['aws_storage'])})",
        f"  Twilio {usd(r['month']['twilio'])}",
        f"  total  {usd(r['month']['total'])}",
        f"  a hosted vendor's entry plan at the same volume: {usd(r['month']['vendor'])} "
        "(inputs vendor_*: check the vendor's pricing page)",
    ]
    return lines


def readme_table(results: Path = RESULTS, root: Path = RESULTS.parents[1]) -> list[str]:
    """The README's table: the default volume's figures, from ``results`` (refreshed by ``make bench``)."""
    volume = Volume(500, 3.0, 1.0, 10, 5000, 300)
    r = estimate(
        load_results(results),
        volume,
        dict(DEFAULT_PRICES),
        memory=memory_gb(root),
        overhead_ms=20.0,
        schedules=schedules_per_month(),
    )
    k, m = r["counts"], r["month"]
    aws_call = sum(r["per_call"]["aws"].values())
    twilio_call = sum(r["per_call"]["twilio"].values())
    return [
        "| what | measured count (make bench) | cost (USD, list prices of " + PRICES_AS_OF + ") |",
        "|---|---|---|",
        f"| a recorded 3-minute call, AWS | {k['lambda_invocations_per_call']:g} Lambda invocations at most, "
        f"{k['dynamodb_requests_per_call']:g} DynamoDB requests, {k['sqs_messages_per_call']:g} SQS messages "
        f"| {aws_call:.6f} |",
        f"| the same call, Twilio (inbound, forwarded leg, recording) | — | {twilio_call:.4f} |",
        f"| a new lease, AWS | {k['new_lease_requests']:g} DynamoDB requests, 1 invocation | "
        f"{r['per_lease_aws']:.6f} |",
        f"| a report view, AWS | {k['report_requests']:g} DynamoDB requests | {r['per_report_view_aws']:.6f} |",
        f"| the schedules, a month | {k['scheduled_invocations_per_month']:,} invocations | "
        f"{m['aws_fixed_schedules']:.2f} |",
        f"| a month: 500 calls, 5,000 leases, 10 numbers, 300 report views | AWS {m['aws']:.2f} "
        f"(storage {m['aws_storage']:.2f}) + Twilio {m['twilio']:.2f} | **{m['total']:.2f}** |",
        f"| a hosted vendor's entry plan at that volume (inputs, see below) | — | {m['vendor']:.2f} |",
    ]


@click.command()
@click.option("--calls", type=click.IntRange(min=0), default=500, show_default=True, help="calls a month")
@click.option("--minutes-per-call", type=click.FloatRange(min=0), default=3.0, show_default=True)
@click.option("--recorded", type=click.FloatRange(0, 1), default=1.0, show_default=True, help="share recorded")
@click.option("--numbers", type=click.IntRange(min=0), default=10, show_default=True, help="tracking numbers")
@click.option("--leases", type=click.IntRange(min=0), default=5000, show_default=True, help="new leases a month")
@click.option("--report-views", type=click.IntRange(min=0), default=300, show_default=True)
@click.option(
    "--overhead-ms",
    type=click.FloatRange(min=0),
    default=20.0,
    show_default=True,
    help="Lambda's own time per invocation on top of the handler's",
)
@click.option("--price", "prices", multiple=True, help="name=value, e.g. twilio_inbound_minute=0.0085")
@click.option("--json", "as_json", is_flag=True, help="the figures as one JSON object")
@click.pass_obj
def cost(
    project: Any,
    calls: int,
    minutes_per_call: float,
    recorded: float,
    numbers: int,
    leases: int,
    report_views: int,
    overhead_ms: float,
    prices: tuple[str, ...],
    as_json: bool,
) -> None:
    """What a call, a lease and a month cost in AWS and Twilio, from make bench's measured counts."""
    volume = Volume(calls, minutes_per_call, recorded, numbers, leases, report_views)
    figures = estimate(
        load_results(),
        volume,
        parse_prices(prices),
        memory=memory_gb(project.root),
        overhead_ms=overhead_ms,
        schedules=schedules_per_month(),
    )
    if as_json:
        click.echo(json.dumps({"prices_as_of": PRICES_AS_OF, **figures}, indent=2))
        return
    for line in render(figures, volume):
        click.echo(line)
    click.echo(f"\nprices: list prices as of {PRICES_AS_OF} (override with --price name=value)")

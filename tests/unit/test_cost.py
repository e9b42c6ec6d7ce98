"""``calltracking cost``: the figures come from make bench's results, the arithmetic is the stated one."""

from __future__ import annotations

import json
import re
from pathlib import Path

import click
import pytest

from calltracking_cli import cost

ROOT = Path(__file__).resolve().parents[2]

CALL = {
    "twilio_requests": 4,
    "stream_records": 8,
    "queue_messages": 6,
    "handler_ms_median": 29.2,
    "s3_bytes": 960_000,  # one minute of the local 8 kHz WAV
    **{
        f"{side}_dynamodb_{k}": 0
        for side in ("webhooks", "events")
        for k in ("requests", "reads", "writes", "transactions", "transaction_items", "batch_items")
    },
}


def results(**call: float) -> dict:
    return {
        "callcost": {"per_call": {**CALL, **call}},
        "leases": {"requests_per_new_lease": {"median": 2}},
        "reports": {"sizes": {"1000": {"requests": 14}}},
    }


def figures(r: dict, volume: cost.Volume, **prices: float) -> dict:
    return cost.estimate(
        r, volume, {**cost.DEFAULT_PRICES, **prices}, memory=0.5, overhead_ms=20, schedules=[("every-minute", 43200)]
    )


VOLUME = cost.Volume(calls=1000, minutes_per_call=2, recorded_share=1, numbers=10, leases=0, report_views=0)


def test_the_readme_table_is_the_one_the_committed_bench_results_give():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- cost:start -->\n(.*?)\n<!-- cost:end -->", readme, re.S)
    assert block is not None
    assert block.group(1) == "\n".join(cost.readme_table())


def test_lambda_is_invocations_times_request_price_plus_memory_times_billed_time():
    zero = {k: 0.0 for k in cost.DEFAULT_PRICES}
    f = figures(results(), VOLUME, **{**zero, "lambda_request": 1.0, "lambda_gb_second": 1.0})
    # 18 invocations, each 1 request + 0.5 GB x (30 ms, rounded up, + 20 ms) = 0.025 GB-s
    assert f["per_call"]["aws"]["lambda"] == pytest.approx(18 * (1 + 0.025))
    assert f["counts"]["lambda_invocations_per_call"] == 18


def test_dynamodb_units_count_two_per_transaction_item_and_one_per_batch_key():
    zero = {k: 0.0 for k in cost.DEFAULT_PRICES}
    r = results(
        webhooks_dynamodb_reads=3,
        webhooks_dynamodb_writes=2,
        webhooks_dynamodb_transaction_items=2,
        webhooks_dynamodb_batch_items=3,
        events_dynamodb_writes=10,
    )
    f = figures(r, VOLUME, **{**zero, "dynamodb_read_unit": 1.0, "dynamodb_write_unit": 100.0})
    # reads: 2 plain + 3 keys of one batch; writes 2 + 10, transaction 2 items x 2 units
    assert f["per_call"]["aws"]["dynamodb"] == pytest.approx(5 + 100 * (12 + 4))


def test_twilio_and_the_month_scale_with_the_volume():
    one = figures(results(), VOLUME)
    two = figures(results(), cost.Volume(**{**VOLUME.__dict__, "calls": 2000}))
    per_call_twilio = 2 * (0.0085 + 0.013 + 0.0025)
    assert sum(one["per_call"]["twilio"].values()) == pytest.approx(per_call_twilio)
    assert one["month"]["twilio"] == pytest.approx(1000 * per_call_twilio + 10 * 1.15)
    assert two["month"]["twilio"] - one["month"]["twilio"] == pytest.approx(1000 * per_call_twilio)
    # the schedules are the fixed part: the same at both volumes
    assert one["month"]["aws_fixed_schedules"] == two["month"]["aws_fixed_schedules"] > 0


def test_a_price_that_is_not_a_number_or_not_known_is_refused():
    assert cost.parse_prices(("s3_put=0.01",))["s3_put"] == 0.01
    for bad in ("s3_put", "nope=1", "s3_put=x", "s3_put=-1", "s3_put=nan", "s3_put=inf"):
        with pytest.raises(click.BadParameter):
            cost.parse_prices((bad,))


def test_missing_bench_results_say_how_to_make_them(tmp_path: Path):
    with pytest.raises(click.ClickException, match="run `make bench`"):
        cost.load_results(tmp_path)
    for name, data in results().items():
        (tmp_path / f"{name}.json").write_text(json.dumps(data))
    assert cost.load_results(tmp_path)["leases"]["requests_per_new_lease"]["median"] == 2

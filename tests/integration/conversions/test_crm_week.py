"""A simulated week with both CRMs connected: every call once in each CRM, won deals back as revenue, and
the overview's revenue and ROI equal to what the CRMs won.

A week of calls (web calls from Google and calls to a static channel number, repeat callers among
them, one recorded) is fed to the subscribers as Lambda-shaped SQS records, three times each and
shuffled, with each CRM's receiver failing its first two requests (the bulk tests' way: no
transaction per call through the stack; the reports subscriber is fed each call once after the
results, as the stream would). Deals are then won and lost in both CRMs and the
``crm_results`` schedule (``results.run``) reads them back; the overview (``dashboard/overview.py``,
what the page renders) is read for the week with spend set for both sources.
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from chalicelib.core import clock
from chalicelib.dashboard import overview
from chalicelib.integrations.crm import results
from chalicelib.reports import aggregates
from tests.integration.conversions.test_crm import UTM, bitrix, crm, destinations, hubspot  # noqa: F401
from tests.integration.test_conversions import HOUR, NOW, event, put_call, record, run_queue
from tests.support import crm_receivers

DAY = 24 * HOUR


def test_a_week_with_both_crms_gives_one_call_each_and_the_overview_the_won_revenue_and_roi(
    api: Any,
    crm: Any,  # noqa: F811 (the CRM tests' fixtures, imported above)
    bitrix: crm_receivers.BitrixReceiver,  # noqa: F811
    hubspot: crm_receivers.HubSpotReceiver,  # noqa: F811
) -> None:
    b, h = destinations(api, bitrix, hubspot)
    bitrix.fail_next = [500, 500]
    hubspot.fail_next = [(503, None), (503, None)]
    # Given a week: two calls a day from six callers, web (Google) and a static channel's number
    week: list[dict[str, Any]] = []
    starts: dict[str, int] = {}
    for day in range(7):
        for k in range(2):
            n = day * 2 + k
            started = NOW - day * DAY - (k + 1) * HOUR
            starts[f"CA{n:032d}"] = started
            recorded = {"recording_sid": "RE" + "7" * 32} if n == 3 else {}
            static = k == 1
            week.append(
                put_call(
                    f"CA{n:032d}",
                    started,
                    source=UTM,
                    static=static,
                    caller=f"+120255508{n % 6:02d}",
                    answered=n % 5 != 2,
                    **({} if static else {"pool_id": "pl_1"}),
                    **recorded,
                )
            )
    records = [
        record(event(c, "completed", starts[c["sid"]] + 90_000), f"conversion:{d}") for c in week for d in (b, h)
    ]
    # When every record comes three times, shuffled, and each CRM fails twice
    tripled = records * 3
    random.Random(7).shuffle(tripled)
    run_queue(tripled)
    # Then each CRM has exactly one call per call (14), Bitrix24 a lead per caller (6)
    assert bitrix.refused == [] and hubspot.refused == []
    finished = [c for c in bitrix.calls.values() if c.get("finished")]
    assert len(finished) == len(week) == 14 and len(bitrix.leads) == 6
    assert len(hubspot.calls) == 14 and len(hubspot.contacts) == 6
    # and the recorded call carries a signed player link in both, never Twilio's media URL
    links = [
        c["properties"]["hs_call_body"]
        for c in hubspot.calls
        if "/dashboard/listen/" in c["properties"]["hs_call_body"]
    ]
    assert len(links) == 1 and "twilio" not in str(hubspot.calls).lower()
    assert sum("/dashboard/listen/" in lead.get("SOURCE_DESCRIPTION", "") for lead in bitrix.leads.values()) == 1
    # When Bitrix24 wins deals for callers 0 and 1 and loses one for 2; HubSpot wins for 3 and 4
    phone = {n: f"+120255508{n:02d}" for n in range(6)}
    bitrix.contacts = {900 + n: [phone[n]] for n in range(3)}
    bitrix.deals = [
        {"ID": "71", "STAGE_ID": "WON", "OPPORTUNITY": "1200.00", "CURRENCY_ID": "USD", "CONTACT_ID": "900",
         "DATE_MODIFY": clock.iso(NOW - 3000)},
        {"ID": "72", "STAGE_ID": "WON", "OPPORTUNITY": "450.50", "CURRENCY_ID": "USD", "CONTACT_ID": "901",
         "DATE_MODIFY": clock.iso(NOW - 2000)},
        {"ID": "73", "STAGE_ID": "LOSE", "OPPORTUNITY": "999.00", "CURRENCY_ID": "USD", "CONTACT_ID": "902",
         "DATE_MODIFY": clock.iso(NOW - 1000)},
    ]  # fmt: skip
    contact_of = {props["phone"]: cid for cid, props in hubspot.contacts.items()}
    hubspot.add_deal("closedwon", "800", contact_of[phone[3]], NOW - 2500)
    hubspot.add_deal("closedwon", "49.50", contact_of[phone[4]], NOW - 1500)
    hubspot.add_deal("closedlost", "5000", contact_of[phone[5]], NOW - 500)
    won = Decimal("1200.00") + Decimal("450.50") + Decimal("800") + Decimal("49.50")
    # And the results-back schedule runs (twice: the second finds nothing new)
    results.run()
    results.run()
    # And spend is set for both sources over the week
    for source, amount in (("web:google", "100"), ("ch_1", "50")):
        for day in range(7):
            put = api.call(
                "PUT", "/v1/spend", {"source": source, "date": aggregates.day(NOW - day * DAY), "amount": amount}
            )
            assert put.status_code == 200, put.body
    spend = Decimal(7 * 150)
    # Then the overview's revenue is the sum of the won amounts and its ROI is (revenue - spend) / spend.
    # (The reports subscriber counts each call as it is now, outcome and revenue included: fed once per
    # call here, as the stream's records would, without the pump's fan-out to every other subscriber.)
    run_queue([record(event(c, "updated", NOW), "reports") for c in week])
    seen = overview.overview({"range": "7d"})
    total = seen["total"]
    assert Decimal(str(total["revenue"])) == won, total
    assert round(float(total["roi"]), 4) == round(float((won - spend) / spend), 4), total
    assert total["calls"] == 14 and total["spend"] == float(spend)
    # And one call per won deal became a sale: the caller's first call of the week, not a later one
    sales = [c for c in week if _outcome(c["sid"]) == "sale"]
    assert len(sales) == 4
    for c in sales:
        assert starts[c["sid"]] == min(starts[x["sid"]] for x in week if x["caller"] == c["caller"])


def _outcome(sid: str) -> str | None:
    from chalicelib import calls

    return calls.to_dict(calls.load(sid)).get("outcome")

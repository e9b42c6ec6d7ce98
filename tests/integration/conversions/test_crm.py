"""Bitrix24 and HubSpot, both ways, against local receivers that check requests the way each CRM does
(``tests/support/crm_receivers.py``: HubSpot's bodies parsed strictly by HubSpot's generated client
models; Bitrix24's documented parameters and types).

Calls go out as conversion destinations (one call or lead per call, exactly once under tripled,
shuffled records and a receiver failing twice); deals come back by the ``crm_results`` schedule
(Bitrix24, HubSpot) and HubSpot's signed webhooks, as the calls' outcome and revenue.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib import calls
from chalicelib.core import clock
from chalicelib.integrations.conversions.bitrix24 import client as bitrix_client
from chalicelib.integrations.conversions.platform import Conversion, CrmCall, Destination, DisableDestination
from chalicelib.integrations.crm import results, webhook
from chalicelib.store import conversions as conv_store
from tests.integration.test_conversions import HOUR, NOW, create, event, put_call, record, run_queue
from tests.support import crm_receivers
from tests.support.env import BASE_URL, body

UTM = {"utm_source": "google", "utm_medium": "cpc", "utm_campaign": "spring"}


@pytest.fixture
def bitrix(monkeypatch: pytest.MonkeyPatch) -> Iterator[crm_receivers.BitrixReceiver]:
    monkeypatch.setattr(bitrix_client, "PACE_SECONDS", 0.0)
    monkeypatch.setattr(bitrix_client, "BACKOFF_SECONDS", (0.0, 0.0))
    with crm_receivers.running_bitrix() as receiver:
        yield receiver


@pytest.fixture
def hubspot(settings_env: Any) -> Iterator[crm_receivers.HubSpotReceiver]:
    with crm_receivers.running_hubspot() as receiver:
        settings_env(HUBSPOT_API_BASE_URL=receiver.url, CONVERSIONS_BACKFILL_DAYS="0")
        yield receiver


@pytest.fixture
def crm(alerting: Any, bitrix: Any, hubspot: Any, fake_clock: Any) -> Any:
    return alerting


RULE = {"action": "call", "answered": False, "static_calls": True}


def destinations(
    api: Any, bitrix: crm_receivers.BitrixReceiver, hubspot: crm_receivers.HubSpotReceiver
) -> tuple[str, str]:
    b = create(api, {
        "platform": "bitrix24", "name": "Portal",
        "settings": {"user_id": "1", "users": "pl_1=5", "crm_source": "CALL", "won_stages": "WON",
                     "lost_stages": "LOSE"},
        "credentials": {"webhook_url": bitrix.webhook}, "rules": [RULE],
    })  # fmt: skip
    h = create(api, {
        "platform": "hubspot", "name": "HubSpot",
        "settings": {"users": "pl_1=77"},
        "credentials": {"access_token": hubspot.token, "client_secret": "hs-app-secret"}, "rules": [RULE],
    })  # fmt: skip
    return b["id"], h["id"]


def test_each_call_is_one_call_in_each_crm_under_tripled_records_and_a_receiver_failing_twice(
    api: Any, crm: Any, bitrix: crm_receivers.BitrixReceiver, hubspot: crm_receivers.HubSpotReceiver
) -> None:
    # Given both CRMs, and receivers that fail their first two requests
    b, h = destinations(api, bitrix, hubspot)
    bitrix.fail_next = [500, 500]
    hubspot.fail_next = [(502, None), (502, None)]
    # And 8 calls from 4 callers, some missed, one a static channel call
    records, sids = [], []
    for i in range(8):
        sid = f"CA{i:032d}"
        started = NOW - (i + 1) * HOUR
        call = put_call(
            sid,
            started,
            source=UTM,
            answered=i % 3 != 1,
            caller=f"+1202555{i % 4:04d}",
            static=i == 5,
            **({} if i == 5 else {"pool_id": "pl_1"}),
        )
        sids.append(sid)
        for dest in (b, h):
            records.append(record(event(call, "completed", started + 80_000), f"conversion:{dest}"))
    # When every record arrives three times, shuffled
    tripled = records * 3
    random.Random(30).shuffle(tripled)
    run_queue(tripled)
    # Then Bitrix24 has exactly one finished call per call, each request as documented
    assert bitrix.refused == [] and hubspot.refused == []
    finished = [c for c in bitrix.calls.values() if c.get("finished")]
    assert len(finished) == 8
    assert sorted(c["params"]["PHONE_NUMBER"] for c in finished) == sorted(f"+1202555{i % 4:04d}" for i in range(8))
    # with the pool's responsible user, a missed call as 304, and the lead's utm fields and source
    assert {c["params"]["USER_ID"] for c in finished} == {5, 1}
    assert {c["finished"]["STATUS_CODE"] for c in finished} == {"200", "304"}
    assert len(bitrix.leads) == 4
    lead = next(iter(bitrix.leads.values()))
    assert lead["UTM_SOURCE"] == "google" and lead["UTM_CAMPAIGN"] == "spring"
    assert "/dashboard/calls/CA" in lead["SOURCE_DESCRIPTION"]
    # And HubSpot has one call per call, on one contact per caller, with our link, never Twilio's
    assert len(hubspot.calls) == 8 and len(hubspot.contacts) == 4
    props = hubspot.calls[0]["properties"]
    assert props["hs_call_direction"] == "INBOUND" and "/dashboard/calls/CA" in props["hs_call_body"]
    assert "twilio" not in str(hubspot.calls).lower()
    assert {c["properties"].get("hubspot_owner_id") for c in hubspot.calls} == {"77", None}
    # And each delivery log shows the failures in words and masks the numbers
    lines = body(api.call("GET", f"/v1/conversions/destinations/{h}/deliveries"))["deliveries"]
    assert sum(1 for x in lines if x["result"] == "transient" and x["status"] == 502) == 2
    assert all("+12025550001" not in x["sent"] for x in lines)


def test_deals_come_back_as_outcome_and_revenue_once_and_reports_roi_uses_them(
    api: Any, crm: Any, bitrix: crm_receivers.BitrixReceiver, hubspot: crm_receivers.HubSpotReceiver, fake_clock: Any
) -> None:
    b, h = destinations(api, bitrix, hubspot)
    # Given two calls from one caller and one from another, sent to both CRMs
    first = put_call("CA" + "1" * 32, NOW - 5 * HOUR, source=UTM, caller="+12025550001")
    later = put_call("CA" + "2" * 32, NOW - 2 * HOUR, source=UTM, caller="+12025550001")
    other = put_call("CA" + "3" * 32, NOW - 3 * HOUR, source=UTM, caller="+12025550002")
    run_queue(
        [record(event(c, "completed", NOW - HOUR), f"conversion:{d}") for c in (first, later, other) for d in (b, h)]
    )
    # When Bitrix24 wins a deal for the first caller's contact (1500) and loses one for the other
    bitrix.contacts = {901: ["+1 (202) 555-0001"], 902: ["+12025550002"]}
    won = {"ID": "41", "STAGE_ID": "WON", "OPPORTUNITY": "1500.00", "CURRENCY_ID": "USD", "CONTACT_ID": "901"}
    lost = {"ID": "42", "STAGE_ID": "LOSE", "OPPORTUNITY": "0", "CURRENCY_ID": "USD", "CONTACT_ID": "902"}
    bitrix.deals = [{**won, "DATE_MODIFY": clock.iso(NOW - 1000)}, {**lost, "DATE_MODIFY": clock.iso(NOW - 900)}]
    item = conv_store.get_destination(b)
    assert item is not None
    said = results.sync(item, NOW)
    # Then the first call (not the later one) is the sale with its revenue; the other a lead
    assert calls.to_dict(calls.load(first["sid"]))["outcome"] == "sale", said
    assert calls.to_dict(calls.load(first["sid"]))["revenue"] == 1500.0
    assert calls.to_dict(calls.load(later["sid"]))["outcome"] is None
    assert calls.to_dict(calls.load(other["sid"]))["outcome"] == "lead"
    # And the reports' revenue (so ROI) is the sum of the won amounts
    rows = body(api.call("GET", "/v1/reports/channels?from=2026-01-01&to=2026-12-31"))["rows"]
    assert sum(float(r["revenue"]) for r in rows) == 1500.0
    # And reading the same deals again (the cursor reset: a duplicate) writes nothing new
    conv_store.put_state(results.CURSOR_CALL, b, "cursor", {}, now_ms=NOW, keep_days=1)
    again = results.sync(item, NOW)
    assert all("already given" in s for s in again), again
    # And a call changed by hand since is not overwritten by the deal's next change
    api.call("PATCH", f"/v1/calls/{first['sid']}", {"revenue": 1200})
    bitrix.deals[0].update(OPPORTUNITY="1800.00", DATE_MODIFY=clock.iso(NOW - 500))
    said = results.sync(item, NOW)
    assert any("changed by hand" in s for s in said), said
    assert calls.to_dict(calls.load(first["sid"]))["revenue"] == 1200.0
    # And the reports follow the hand-set revenue
    rows = body(api.call("GET", "/v1/reports/channels?from=2026-01-01&to=2026-12-31"))["rows"]
    assert sum(float(r["revenue"]) for r in rows) == 1200.0  # the 1500 won, then 1200 set by hand
    # And the erasure export lists what each CRM now holds about the caller (nothing of ours to erase)
    from chalicelib.core.context import SYSTEM
    from chalicelib.integrations.crm import caller_data

    held = caller_data.export("+12025550001", SYSTEM)["sent_to_crms"]
    assert sorted((x["call_sid"], x["crm"]) for x in held) == sorted(
        (c["sid"], crm) for c in (first, later) for crm in ("bitrix24", "hubspot")
    )
    assert caller_data.erase("+12025550001", SYSTEM) == 0
    # And the destination's log shows the results in words
    lines = body(api.call("GET", f"/v1/conversions/destinations/{b}/deliveries"))["deliveries"]
    assert any(x["action"] == "result back" and "revenue 1500" in x["reason"] for x in lines), [
        x["reason"] for x in lines
    ]


def _signed(path: str, raw: bytes, secret: str, stamp_ms: int) -> dict[str, str]:
    stamp = str(stamp_ms)
    return {
        "X-HubSpot-Signature-v3": webhook.signature_v3(secret, "POST", BASE_URL + path, raw, stamp),
        "X-HubSpot-Request-Timestamp": stamp,
    }


def test_hubspot_webhooks_are_checked_by_signature_v3_and_a_won_deal_credits_one_call_once(
    api: Any, crm: Any, bitrix: crm_receivers.BitrixReceiver, hubspot: crm_receivers.HubSpotReceiver
) -> None:
    _, h = destinations(api, bitrix, hubspot)
    call = put_call("CA" + "4" * 32, NOW - 3 * HOUR, source=UTM, caller="+12025550004")
    run_queue([record(event(call, "completed", NOW - HOUR), f"conversion:{h}")])
    [contact] = hubspot.contacts
    deal = hubspot.add_deal("closedwon", "2500", contact, NOW - 1000)
    path = f"/crm/hubspot/{h}"
    raw = f'[{{"objectId": {deal}, "subscriptionType": "deal.propertyChange", "propertyName": "dealstage"}}]'.encode()
    now = clock.now_ms()
    # A request without a signature, with a forged one, or replayed from ten minutes ago: 401
    assert api.call("POST", path, raw, key=None).status_code == 401
    forged = _signed(path, raw, "not-the-secret", now)
    assert api.call("POST", path, raw, key=None, headers=forged).status_code == 401
    old = _signed(path, raw, "hs-app-secret", now - 10 * 60_000)
    assert api.call("POST", path, raw, key=None, headers=old).status_code == 401
    assert calls.to_dict(calls.load(call["sid"]))["outcome"] is None
    # A signed one gives the call the sale and revenue; the same webhook again (HubSpot retries) writes once
    for _ in range(2):
        got = api.call("POST", path, raw, key=None, headers=_signed(path, raw, "hs-app-secret", now))
        assert got.status_code == 200, got.body
    assert "already given" in body(got)["applied"][0]
    c = calls.to_dict(calls.load(call["sid"]))
    assert (c["outcome"], c["revenue"]) == ("sale", 2500.0)
    # An unknown destination is a 404; a body that is not HubSpot's list, a 400
    assert (
        api.call(
            "POST", "/crm/hubspot/cd_nope", raw, key=None, headers=_signed("/crm/hubspot/cd_nope", raw, "x", now)
        ).status_code
        == 404
    )
    bad = b'{"objectId": 1}'
    assert api.call("POST", path, bad, key=None, headers=_signed(path, bad, "hs-app-secret", now)).status_code == 400


# --- the clients on their own --------------------------------------------------------------------------


def conv(caller: str = "+12025550009", **crm: Any) -> Conversion:
    now = int(time.time() * 1000)
    return Conversion(
        call_sid="CA" + "9" * 32, destination_id="d", rule_id="r", action="call", occurred_at_ms=now - HOUR,
        value=None, currency="USD", answered=True, talk_seconds=30,
        crm=CrmCall(caller=caller, called="+12025550111", duration_seconds=40, status="completed", **crm),
    )  # fmt: skip


def test_hubspot_429_waits_for_retry_after_and_a_revoked_token_disables(
    hubspot: crm_receivers.HubSpotReceiver,
) -> None:
    from chalicelib.integrations.conversions import platforms

    platform = platforms.get("hubspot")
    dest = Destination("d", "hubspot", {}, {"access_token": hubspot.token}, local=True)
    now = int(time.time() * 1000)
    hubspot.fail_next = [(429, "7")]
    [outcome] = platform.send(dest, [conv()], now)
    assert outcome.kind == "later" and outcome.retry_at_ms == now + 7000, outcome
    with pytest.raises(DisableDestination):
        platform.send(Destination("d", "hubspot", {}, {"access_token": "pat-revoked"}, local=True), [conv()], now)
    # The receiver refuses what HubSpot's own models refuse: an unknown field, a missing required one
    with pytest.raises(crm_receivers.Invalid):
        crm_receivers.strict(
            crm_receivers.call_models,
            "SimplePublicObjectInputForCreate",
            {"properties": {}, "associations": [], "x": 1},
            "$",
        )
    with pytest.raises(crm_receivers.Invalid):
        crm_receivers.strict(crm_receivers.call_models, "SimplePublicObjectInputForCreate", {"associations": []}, "$")
    assert platform.send_test(dest, now).ok


def test_bitrix24_backs_off_its_rate_limit_and_a_dead_webhook_disables(bitrix: crm_receivers.BitrixReceiver) -> None:
    from chalicelib.integrations.conversions import platforms

    platform = platforms.get("bitrix24")
    dest = Destination("d", "bitrix24", {"user_id": "1"}, {"webhook_url": bitrix.webhook}, local=True)
    now = int(time.time() * 1000)
    bitrix.limit_next = 2  # QUERY_LIMIT_EXCEEDED twice: the backoff gets through
    [ok] = platform.send(dest, [conv(recorded=True, recording_url=bitrix.url + "/recordings/CA9.wav")], now)
    assert ok.kind == "sent" and "recording attached" in ok.reason, ok
    # the file itself went with attachRecord (FILE_CONTENT), never as a RECORD_URL
    [(call_id, data)] = bitrix.records.items()
    assert data.startswith(b"RIFF") and "RECORD_URL" not in str(bitrix.calls[call_id])
    assert "base64 characters" in ok.sent
    bitrix.limit_next = 9  # past the backoff: left to the SQS retries
    [later] = platform.send(dest, [conv("+12025550010")], now)
    assert later.kind == "transient" and later.code == "QUERY_LIMIT_EXCEEDED"
    bitrix.limit_next = 0
    dead = Destination(
        "d", "bitrix24", {"user_id": "1"}, {"webhook_url": bitrix.url + "/rest/1/wrongcode99/"}, local=True
    )
    with pytest.raises(DisableDestination):
        platform.send(dead, [conv()], now)
    assert platform.send_test(dest, now).ok
    assert bitrix.refused == []


def test_bitrix24_leads_come_back_by_the_statuses_the_owner_chose(
    api: Any, crm: Any, bitrix: crm_receivers.BitrixReceiver, hubspot: crm_receivers.HubSpotReceiver
) -> None:
    # Given a Bitrix24 destination where a converted lead means won and junk means lost
    b, _ = destinations(api, bitrix, hubspot)
    got = api.call(
        "PATCH",
        f"/v1/conversions/destinations/{b}",
        {"settings": {"user_id": "1", "won_stages": "WON", "lost_stages": "LOSE",
                      "won_lead_statuses": "CONVERTED", "lost_lead_statuses": "JUNK"}},
    )  # fmt: skip
    assert got.status_code == 200, got.body
    # And three callers whose calls made three leads
    made = [put_call(f"CA{i:032d}", NOW - (4 - i) * HOUR, source=UTM, caller=f"+1202555070{i}") for i in range(3)]
    run_queue([record(event(c, "completed", NOW - HOUR), f"conversion:{b}") for c in made])
    assert len(bitrix.leads) == 3
    by_phone = {lead["PHONE"]: lead for lead in bitrix.leads.values()}
    # When one lead is converted with 900, one is junk and one is still in progress
    for i, (status, amount) in enumerate((("CONVERTED", "900.00"), ("JUNK", "0.00"), ("IN_PROCESS", "50.00"))):
        by_phone[f"+1202555070{i}"].update(STATUS_ID=status, OPPORTUNITY=amount, DATE_MODIFY=clock.iso(NOW - 900 + i))
    item = conv_store.get_destination(b)
    assert item is not None
    said = results.sync(item, NOW)
    # Then crm.lead.list was asked by change time and the chosen statuses, with the phones selected
    assert "crm.lead.list" in bitrix.requests and bitrix.refused == []
    # And the converted lead's call is a sale of 900, the junk one a lead, the other untouched
    outcomes = [calls.to_dict(calls.load(c["sid"])) for c in made]
    assert [(c["outcome"], c["revenue"]) for c in outcomes] == [("sale", 900.0), ("lead", None), (None, None)], said
    assert any(s.startswith("lead ") and "revenue 900" in s for s in said), said
    # And the next run starts after them (the cursor holds the deals' and the leads' places): nothing again
    assert results.sync(item, NOW) == []
    # And a status named both won and lost is refused in words
    bad = api.call(
        "PATCH", f"/v1/conversions/destinations/{b}",
        {"settings": {"user_id": "1", "won_lead_statuses": "CONVERTED", "lost_lead_statuses": "CONVERTED"}},
    )  # fmt: skip
    assert bad.status_code == 400 and "also a won lead status" in bad.body.decode()


def test_a_recorded_call_reaches_both_crms_with_a_signed_player_link(
    bitrix: crm_receivers.BitrixReceiver, hubspot: crm_receivers.HubSpotReceiver
) -> None:
    from chalicelib.integrations.conversions import platforms

    now = int(time.time() * 1000)
    player = f"{BASE_URL}/dashboard/listen/CA{'9' * 32}?e=1&k=1&s=sig"
    call = conv(recorded=True, link=f"{BASE_URL}/dashboard/calls/CA{'9' * 32}", player_link=player)
    b = Destination("d", "bitrix24", {"user_id": "1"}, {"webhook_url": bitrix.webhook}, local=True)
    h = Destination("d", "hubspot", {}, {"access_token": hubspot.token}, local=True)
    assert platforms.get("bitrix24").send(b, [call], now)[0].kind == "sent"
    assert platforms.get("hubspot").send(h, [call], now)[0].kind == "sent"
    [lead] = bitrix.leads.values()
    assert f"recording: {player}" in lead["SOURCE_DESCRIPTION"]
    assert player in hubspot.calls[0]["properties"]["hs_call_body"]
    assert bitrix.refused == [] and hubspot.refused == []


def test_a_bitrix24_retry_after_a_lost_answer_finds_its_own_call_instead_of_logging_it_twice(
    bitrix: crm_receivers.BitrixReceiver,
) -> None:
    from dataclasses import replace

    from chalicelib.integrations.conversions import platforms

    platform = platforms.get("bitrix24")
    dest = Destination("d", "bitrix24", {"user_id": "1"}, {"webhook_url": bitrix.webhook}, local=True)
    now = int(time.time() * 1000)
    # Given a call Bitrix24 registered and finished, whose answer we never heard (a timeout)
    first = conv("+12025550031")
    [sent] = platform.send(dest, [first], now)
    assert sent.kind == "sent" and "voximplant" not in sent.sent  # a first try does not look (one request less)
    assert len(bitrix.calls) == 1
    # When the SQS retry sends it again (attempt 2)
    [again] = platform.send(dest, [replace(first, attempt=2)], now)
    # Then it finds our marker (the number at our start time) in the call statistics: no second call
    assert again.kind == "sent" and "already has this call" in again.reason, again
    assert len(bitrix.calls) == 1 and "voximplant.statistic.get" in again.sent
    # And a retry of a call Bitrix24 never got registers it: another caller's call is not taken for it
    other = conv("+12025550032")
    assert platform.send(dest, [replace(other, attempt=2)], now)[0].kind == "sent"
    assert len(bitrix.calls) == 2 and bitrix.refused == []

"""Yandex Metrica offline calls against a local receiver that parses the multipart body with Python's
email parser and the CSV with the csv module, as Metrica documents them
(``tests/support/metrica_receiver.py``): the columns and formats, the 21-day join window, the
upload's processing status read back, formula-safe text cells, Metrica's error shape."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.integrations.conversions.platform import ClickIds, Conversion, Destination, DisableDestination
from tests.support import metrica_receiver

DAY_MS = 86_400_000


@pytest.fixture
def metrica(settings_env: Any) -> Iterator[metrica_receiver.MetricaReceiver]:
    with metrica_receiver.running() as receiver:
        settings_env(METRICA_API_BASE_URL=receiver.url)
        yield receiver


def destination(receiver: metrica_receiver.MetricaReceiver, token: str | None = None) -> Destination:
    return Destination(
        "dst_ym",
        "metrica",
        {"counter_id": receiver.counter, "goal_name": "Phone call"},
        {"oauth_token": token or receiver.token},
        local=True,
    )


def conversion(now_ms: int, sid: str, **fields: Any) -> Conversion:
    base: dict[str, Any] = {
        "call_sid": sid,
        "destination_id": "dst_ym",
        "rule_id": "rl_1",
        "action": "lead",
        "occurred_at_ms": now_ms - 3_600_000,
        "value": 1500.0,
        "currency": "rub",
        "ym_client_id": "1700000000123456789",
        "click_at_ms": now_ms - 4_000_000,
        "caller_e164": "+74951234567",
        "answered": True,
        "talk_seconds": 95,
        "hold_seconds": 12,
        "first_time_caller": True,
        "landing_url": "https://shop.example.ru/sofas",
    }
    return Conversion(**{**base, **fields})


def metrica_platform() -> Any:
    from chalicelib.integrations.conversions import platforms

    return platforms.get("metrica")


def test_a_batch_is_uploaded_as_the_documented_calls_csv(metrica: metrica_receiver.MetricaReceiver) -> None:
    now = int(time.time() * 1000)
    # Given a web call with Metrica's ClientID, one with only a Direct yclid, and a channel (static) call
    web = conversion(now, "CA" + "1" * 32)
    direct = conversion(now, "CA" + "2" * 32, ym_client_id=None, click_ids=ClickIds(yclid="5849302948393"),
                        answered=False, talk_seconds=0, first_time_caller=False, value=None)  # fmt: skip
    static = conversion(now, "CA" + "3" * 32, ym_client_id=None, static_call=True, landing_url=None, caller_e164=None)
    # When they are sent as one batch
    outcomes = metrica_platform().send(destination(metrica), [web, direct, static], now)
    # Then Metrica got two files (one identifier column each), every row as documented
    assert [o.kind for o in outcomes] == ["sent", "sent", "sent"], outcomes
    by_column = {u.id_column: u for u in metrica.uploads}
    assert set(by_column) == {"ClientId", "Yclid"}
    web_row, static_row = by_column["ClientId"].rows
    assert web_row == {
        "ClientId": "1700000000123456789",
        "DateTime": str(web.occurred_at_ms // 1000),
        "PhoneNumber": "+74951234567",
        "TalkDuration": "95",
        "HoldDuration": "12",
        "CallMissed": "0",
        "FirstTimeCaller": "1",
        "Price": "1500.00",
        "Currency": "RUB",
        "Tag": "lead",
        "URL": "https://shop.example.ru/sofas",
        "StaticCall": "0",
    }
    assert static_row["StaticCall"] == "1" and static_row["ClientId"] == "" and static_row["PhoneNumber"] == ""
    [direct_row] = by_column["Yclid"].rows
    assert direct_row["Yclid"] == "5849302948393" and direct_row["CallMissed"] == "1"
    assert direct_row["Price"] == "" and direct_row["Currency"] == ""
    assert by_column["ClientId"].query["new_goal_name"] == ["Phone call"]
    # and the outcome names the upload, its status read back, the log's copy without the whole phone
    assert outcomes[0].ref == str(by_column["ClientId"].id) and "processing" in outcomes[0].reason
    assert ("GET", f"/management/v1/counter/{metrica.counter}/offline_conversions/calls_uploading/"
            f"{by_column['ClientId'].id}") in metrica.requests  # fmt: skip
    assert "+74951234567" not in outcomes[0].sent and "…4567" in outcomes[0].sent


def test_calls_outside_the_21_day_join_window_are_skipped_with_that_reason(
    metrica: metrica_receiver.MetricaReceiver,
) -> None:
    now = int(time.time() * 1000)
    old = conversion(now, "CA" + "4" * 32, occurred_at_ms=now - 22 * DAY_MS, click_at_ms=now - 22 * DAY_MS)
    old_visit = conversion(now, "CA" + "5" * 32, click_at_ms=now - 21 * DAY_MS - 60_000)
    fresh = conversion(now, "CA" + "6" * 32)
    outcomes = metrica_platform().send(destination(metrica), [old, old_visit, fresh], now)
    assert [o.kind for o in outcomes] == ["final", "final", "sent"]
    assert "21 days" in outcomes[0].reason and "visit" in outcomes[1].reason
    assert len(metrica.rows()) == 1


def test_text_cells_cannot_become_spreadsheet_formulas(metrica: metrica_receiver.MetricaReceiver) -> None:
    now = int(time.time() * 1000)
    hostile = conversion(now, "CA" + "7" * 32, action='=HYPERLINK("http://evil.example","x")',
                         landing_url="@SUM(1+1)")  # fmt: skip
    assert metrica_platform().send(destination(metrica), [hostile], now)[0].kind == "sent"
    [row] = metrica.rows()
    assert row["Tag"] == "'" + hostile.action and row["URL"] == "'@SUM(1+1)"
    assert row["PhoneNumber"] == "+74951234567"  # the carrier's E.164 is data, not visitor text: kept as is


def test_the_upload_s_processing_status_is_read_until_final(metrica: metrica_receiver.MetricaReceiver) -> None:
    now = int(time.time() * 1000)
    platform, dest = metrica_platform(), destination(metrica)
    [sent] = platform.send(dest, [conversion(now, "CA" + "8" * 32)], now)
    assert sent.ref is not None
    still = platform.check(dest, sent.ref, now)
    assert still.kind == "later" and still.retry_at_ms == now + 30 * 60_000 and still.code == "UPLOADED"
    metrica.uploads[0].status = "PROCESSED"
    assert platform.check(dest, sent.ref, now).kind == "sent"
    metrica.uploads[0].status = "LINKAGE_FAILURE"
    refused = platform.check(dest, sent.ref, now)
    assert refused.kind == "final" and "could not join" in refused.reason


def test_metrica_s_refusals_in_its_words_and_a_bad_token_disables(metrica: metrica_receiver.MetricaReceiver) -> None:
    now = int(time.time() * 1000)
    platform = metrica_platform()
    # Metrica's clock behind ours: it sees the call in the future and refuses the file (400, final)
    metrica.now = (now - 2 * 3_600_000) / 1000
    [refused] = platform.send(destination(metrica), [conversion(now, "CA" + "9" * 32)], now)
    assert refused.kind == "final" and refused.status == 400
    assert refused.reason == "Metrica: line 2: DateTime is in the future" and refused.code == "invalid_parameter"
    metrica.now = None
    # a 5xx is tried again by the delivery
    metrica.fail_next = [503]
    assert platform.send(destination(metrica), [conversion(now, "CA" + "9" * 32)], now)[0].kind == "transient"
    # a token Metrica refuses disables the destination
    with pytest.raises(DisableDestination, match="OAuth token"):
        platform.send(destination(metrica, token="y0_revoked"), [conversion(now, "CA" + "9" * 32)], now)
    assert metrica.uploads == []


def test_send_test_proves_token_and_counter_without_uploading(metrica: metrica_receiver.MetricaReceiver) -> None:
    now = int(time.time() * 1000)
    platform = metrica_platform()
    assert platform.send_test(destination(metrica), now).ok
    bad = platform.send_test(destination(metrica, token="y0_wrong"), now)
    assert not bad.ok and "OAuth token" in bad.messages[0]
    assert metrica.uploads == []


def test_an_upload_without_an_answer_is_not_sent_again(
    metrica: metrica_receiver.MetricaReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.integrations.conversions.metrica import client

    # Given Metrica taking the file but answering after our deadline (it keeps every row it is given)
    monkeypatch.setattr(client, "TIMEOUT_SECONDS", 0.3)
    metrica.hang_seconds = 1.0
    now = int(time.time() * 1000)
    [outcome] = metrica_platform().send(destination(metrica), [conversion(now, "CA" + "a" * 32)], now)
    # Then the call is final, not transient: a retry would count it twice in Metrica
    assert outcome.kind == "final" and outcome.code == "NO_ANSWER" and "not sent again" in outcome.reason
    assert len(metrica.uploads) == 1

"""The calls CSV cannot run formulas: every cell a spreadsheet would read as one is escaped,
whoever wrote it (a website visitor through the lease endpoint, a caller's carrier, a user of
the API), while plain numbers and E.164 phone numbers stay as they are for CRM imports."""

from __future__ import annotations

import csv
import io

from chalicelib.reports.calllog import CSV_COLUMNS, FORMULA_STARTS
from tests.integration.test_leases import SITE, leased, make_pool
from tests.support.env import body
from tests.unit.test_csv_export import CALLER, PLAIN_NUMBER, assert_no_field_starts_a_formula


def test_every_cell_that_starts_a_formula_comes_out_escaped(api, fake_clock):
    # Given a visitor who planted formulas in everything the site script sends...
    pool = make_pool(api, size=1, name="=Shop")
    lease = leased(
        api,
        pool,
        "visitor-evil",
        page_url=f"{SITE}/?utm_source=x",
        referrer="https://www.example.org/",
        utm={"source": "=1+1", "medium": "+cmd", "campaign": "-2+3", "term": "@SUM(A1)", "content": "\tTAB"},
        click_ids={"gclid": "=HYPERLINK(1)", "fbclid": "+fb", "msclkid": "-ms", "yclid": "@y"},
        client_ids={"ga": "\rGA1.1", "ym": "=ym"},
    )
    # ... who then called, with their carrier's city fields odd too, and a channel named like a formula
    sid = "CA" + "e" * 32
    fields = {"From": CALLER, "To": lease["number"], "FromCity": "=CITY", "FromState": "+ST", "FromCountry": "@US"}
    api.twilio("/twilio/voice", {"CallSid": sid, **fields, "CallStatus": "ringing"})
    api.twilio("/twilio/call-status", {"CallSid": sid, **fields, "CallStatus": "completed", "CallDuration": "30"})
    ch = body(api.call("POST", "/v1/channels", {"name": "@Radio", "forward_to": "+12025550144"}))
    number = body(api.call("POST", "/v1/numbers", {"channel_id": ch["id"]}))["number"]
    static_sid = "CA" + "f" * 32
    api.twilio("/twilio/voice", {"CallSid": static_sid, "From": "+14155550112", "To": number})
    # ... and a user of the API who wrote formulas into a note and tags
    patch = {"note": '=HYPERLINK("http://evil.example","x")', "tags": ["-tag", "@x", "ok"], "revenue": 12.5}
    assert api.call("PATCH", f"/v1/calls/{sid}", patch).status_code == 200
    # When the calls are exported
    r = api.call("GET", "/v1/calls?format=csv&from=2026-09-01&to=2026-10-01")
    assert r.status_code == 200, r.body
    rows = list(csv.DictReader(io.StringIO(r.body.decode("utf-8"), newline="")))
    assert {row["sid"] for row in rows} == {sid, static_sid}
    # Then no cell of any column starts a formula, unless it is a plain number or an E.164 phone
    for row in rows:
        assert list(row) == list(CSV_COLUMNS)
        for column, cell in row.items():
            assert not (cell.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(cell)), (column, cell)
    # ... every planted value is there, escaped
    row = next(row for row in rows if row["sid"] == sid)
    planted = {
        "utm_source": "=1+1",
        "utm_medium": "+cmd",
        "utm_campaign": "-2+3",
        "utm_term": "@SUM(A1)",
        "utm_content": "\tTAB",
        "gclid": "=HYPERLINK(1)",
        "fbclid": "+fb",
        "msclkid": "-ms",
        "yclid": "@y",
        "ga_client_id": "\rGA1.1",
        "ym_client_id": "=ym",
        "caller_city": "=CITY",
        "caller_state": "+ST",
        "caller_country": "@US",
        "note": patch["note"],
        "tags": "-tag;'@x;ok",  # a spreadsheet splitting on ';' reads '@x' as a cell of its own
    }
    assert {k: row[k] for k in planted} == {k: "'" + v for k, v in planted.items()}
    assert_no_field_starts_a_formula(r.body.decode("utf-8"))
    assert next(r for r in rows if r["sid"] == static_sid)["channel_name"] == "'@Radio"
    # ... and phone numbers and numbers are left alone for CRM imports
    assert (row["caller"], row["called"], row["forwarded_to"]) == (CALLER, lease["number"], "+12025550144")
    assert (row["duration"], row["revenue"], row["confidence"]) == ("30", "12.5", "active")

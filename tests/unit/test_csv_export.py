"""The calls CSV cannot run formulas: every cell a spreadsheet would read as one is escaped,
whoever wrote it (a website visitor through the lease endpoint, a caller's carrier, a user of
the API), while plain numbers and E.164 phone numbers stay as they are for CRM imports.

The tests of this area that need no database, network or server; the ones that need
the database are in ``tests/integration/test_csv_export.py``.
"""

from __future__ import annotations

import csv
import io
import re

import pytest

from chalicelib.reports.calllog import FORMULA_STARTS, csv_cell, write_csv

PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


CALLER = "+14155550111"


SEPARATORS = (",", ";", "\t")


def spreadsheet_fields(text: str, separators: str) -> list[str]:
    """The fields a spreadsheet makes of CSV ``text`` split on any of ``separators``, read as
    LibreOffice and Excel read quotes: a field that starts with ``"`` is quoted up to a lone
    ``"`` (``""`` is one quote; separators and line breaks inside are text), and whatever
    follows the closing quote up to the next separator is appended as it is."""
    fields: list[str] = []
    i, n = 0, len(text)
    while i < n:
        field = []
        if text[i] == '"':
            i += 1
            while i < n:
                if text[i] == '"' and text[i + 1 : i + 2] == '"':
                    field.append('"')
                    i += 2
                elif text[i] == '"':
                    i += 1
                    break
                else:
                    field.append(text[i])
                    i += 1
        while i < n and text[i] not in separators and text[i] not in "\r\n":
            field.append(text[i])
            i += 1
        fields.append("".join(field))
        i += 1  # the separator or line break (CR LF makes an empty field: harmless)
    return fields


def starts_a_formula(field: str) -> bool:
    """Whether a spreadsheet could run ``field``: it starts with a formula character, also after
    spaces or quotes some spreadsheets drop, and it is not a plain number or an E.164 phone."""
    return field.lstrip(' "').startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(field.strip('"'))


def assert_no_field_starts_a_formula(text: str) -> None:
    for separators in (*SEPARATORS, "".join(SEPARATORS)):
        # read with quotes as a spreadsheet does...
        for field in spreadsheet_fields(text, separators):
            assert not starts_a_formula(field), (repr(separators), field)
        # ... by Python's csv module, one separator at a time...
        if len(separators) == 1:
            for line in csv.reader(io.StringIO(text, newline=""), delimiter=separators):
                for field in line:
                    assert not starts_a_formula(field), (repr(separators), field)
        # ... and naively, quotes as text, each physical line on its own
        for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
            for field in re.split(f"[{re.escape(separators)}]", line):
                assert not starts_a_formula(field), (repr(separators), "naive", field)


HOSTILE_SOURCE = {
    "utm_source": "spring;=1+1;",
    "utm_medium": "cpc,+cmd|' /C calc'!A0",
    "utm_campaign": "x\t@SUM(A1:A9)",
    "utm_term": 'x;"=1+1"',
    "utm_content": "x; =1+1",
    "referrer": "https://www.example.org/a;=cmd|' /C calc'!A0",
    "landing_page": "https://shop.example.com/p;-2+3?utm_source=spring",
}


def _hostile_call() -> dict:
    return {
        "sid": "CA" + "a" * 32,
        "caller": CALLER,
        "caller_city": ' "=1+1"',
        "channel_name": "Radio\n=1+1",
        "note": "called back;\r\n@SUM(1);\t-2",
        "tags": ["ok;=1", "-tag", "spring, @x"],
        "revenue": -12.5,
        "attribution": {"confidence": "active", "source": HOSTILE_SOURCE},
    }


def test_no_cell_after_any_separator_starts_a_formula():
    # Given a call whose visitor, carrier and API user wrote formulas after ',' ';' tab and line breaks
    call = _hostile_call()
    # When it is exported
    text = write_csv([call])
    # Then a spreadsheet splitting on ',' or ';' or tab (or all three), with or without quotes, runs nothing
    assert_no_field_starts_a_formula(text)


def test_escaped_cells_stay_readable():
    # Given a call with formulas after separators, and with harmless separators, numbers and phones
    call = _hostile_call()
    call["attribution"]["source"] = {**HOSTILE_SOURCE, "utm_campaign": "boiler;new customer, Smith"}
    # When it is exported and read back as CSV
    [row] = list(csv.DictReader(io.StringIO(write_csv([call]), newline="")))
    # Then each formula start got one "'" in front and nothing else changed
    assert row["utm_source"] == "spring;'=1+1;"
    assert row["utm_medium"] == "cpc,'+cmd|' /C calc'!A0"
    assert row["utm_term"] == 'x;\'"=1+1"'
    assert row["utm_content"] == "x;' =1+1"
    assert row["referrer"] == "https://www.example.org/a;'=cmd|' /C calc'!A0"
    assert row["caller_city"] == '\' "=1+1"'
    assert row["channel_name"] == "Radio\n'=1+1"
    assert row["note"] == "called back;'\r\n'@SUM(1);'\t'-2"  # tab and CR start formulas too (OWASP)
    assert row["tags"] == "ok;'=1;'-tag;spring,' @x"
    # ... text with separators but no formula, numbers and phones are left as they were
    assert row["utm_campaign"] == "boiler;new customer, Smith"
    assert (row["caller"], row["revenue"], row["sid"]) == (CALLER, "-12.5", "CA" + "a" * 32)


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\tTAB", "'\tTAB"),
        ("\rCR", "'\rCR"),
        ("-", "'-"),
        ("+1 415 555 0111", "'+1 415 555 0111"),  # not E.164: a formula to a spreadsheet
        ("+14155550111", "+14155550111"),  # E.164 stays a phone number
        ("-12.50", "-12.50"),
        ("+3", "+3"),
        ("12", "12"),
        (-5, "-5"),
        (True, "True"),
        (None, ""),
        ("plain = text", "plain = text"),
        ("bad \ud800 text", "bad \ufffd text"),  # a lone surrogate cannot break the export
        ("=\udfff", "'=\ufffd"),
    ],
)
def test_the_cell_rule(value, cell):
    assert csv_cell(value) == cell


def test_the_dashboards_export_reads_as_words_first_and_is_cut_by_bytes():
    from chalicelib.reports.calllog import CSV_COLUMNS, PEOPLE_COLUMNS, write_people_csv

    call = {
        "sid": "CA1",
        "started_at": "2026-12-06T22:23:54.130Z",
        "caller": "+14155550177",
        "caller_city": "SAN FRANCISCO",
        "result": "answered",
        "answered": True,
        "talk_time": 61,
        "first_time": True,
        "revenue": 1250.0,
        "source_name": "Google",
        "note": "two\nlines",
        "recording": {"sid": "RE1"},
        "attribution": {"confidence": "active", "source": {"utm_source": "google", "utm_campaign": "=spring"}},
    }
    text, written = write_people_csv(
        [call, call], zone="America/Los_Angeles", country="US", currency="EUR", base_url="https://x.test"
    )
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert written == 2 and len(rows) == 3
    assert rows[0][: len(PEOPLE_COLUMNS)][0] == "Time (America/Los_Angeles)" and rows[0][len(PEOPLE_COLUMNS) :] == list(
        CSV_COLUMNS
    )
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["Time (America/Los_Angeles)"] == "2026-12-06 14:23" and first["Caller"] == "(415) 555-0177"
    assert first["First-time caller"] == "yes" and first["Revenue (EUR)"] == "€1,250.00" and first["Source"] == "Google"
    assert first["Campaign"] == "'=spring" and first["Call page"] == "https://x.test/dashboard/calls/CA1#recording"
    assert first["Caller's place"] == "San Francisco" and first["note"] == "two\nlines"
    cut_text, cut = write_people_csv(
        [call] * 10,
        zone="America/Los_Angeles",
        country="US",
        currency="EUR",
        base_url="https://x.test",
        max_bytes=len(text.encode()) - 1,
    )
    assert cut == 1 and len(cut_text.encode()) < len(text.encode())

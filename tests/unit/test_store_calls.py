"""The calls repository (``chalicelib/store/calls.py``) and the one cursor codec
(``chalicelib/store/cursor.py``), without a database: the call record mirrors the model, no
module outside ``store/`` touches the calls table's model, and cursors keep their wire format
and refuse anything they did not give out with a 400.
"""

from __future__ import annotations

import ast
import base64
import json
from dataclasses import FrozenInstanceError, fields
from pathlib import Path

import pytest

from chalicelib.core.errors import BadRequest
from chalicelib.dashboard import logpage
from chalicelib.reports import calllog
from chalicelib.store import calls as store
from chalicelib.store.calls import CallChange, CallRecord
from chalicelib.store.cursor import CursorCodec
from chalicelib.store.models import CallModel

PKG = Path(__file__).resolve().parents[2] / "chalicelib"
KEY = {"call_sid": {"S": "CA1"}, "month": {"S": "2026-10"}, "started_at": {"N": "1760000000000"}}


def _old_token(part_field: str, part: str, key: dict[str, object]) -> str:
    """A cursor exactly as the two copies of the codec wrote it before there was one codec."""
    return base64.urlsafe_b64encode(json.dumps({part_field: part, "k": key}).encode()).decode().rstrip("=")


# --- the record -------------------------------------------------------------------------------


def test_a_call_record_carries_every_attribute_of_the_stored_call():
    # Given the calls table's model
    stored = set(CallModel.get_attributes())
    # When the record's fields are listed
    carried = {f.name for f in fields(CallRecord)}
    # Then they are the same names: a new attribute cannot be stored and silently never read
    assert carried == stored


def test_a_call_record_is_a_frozen_copy_that_cannot_be_written_back():
    # Given a call read from an item in DynamoDB's wire form
    c = store.from_image({"call_sid": {"S": "CA1"}, "tags": {"SS": ["b", "a"]}, "started_at": {"N": "5"}})
    # Then it reads like the item did, and changing it is refused
    assert (c.call_sid, c.tags, c.started_at, c.caller) == ("CA1", frozenset({"a", "b"}), 5, None)
    with pytest.raises(FrozenInstanceError):
        c.caller = "+15550100"  # type: ignore[misc]
    assert not hasattr(c, "save") and not hasattr(c, "update")


def test_a_change_naming_an_attribute_calls_do_not_have_is_refused_before_any_request():
    # Given a change to an attribute the call does not have (or its key)
    for bad in (CallChange(set={"no_such": 1}), CallChange(remove=("call_sid",))):
        # Then the store refuses to build the write at all
        with pytest.raises(ValueError, match="no writable attribute"):
            store._actions(bad)


def test_only_the_store_imports_the_calls_model():
    # Given every module of chalicelib outside store/
    offenders = []
    for path in PKG.rglob("*.py"):
        if path.relative_to(PKG).parts[0] == "store":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.ImportFrom) else []
            if isinstance(node, ast.ImportFrom) and node.module == "chalicelib.store.models" and "CallModel" in names:
                offenders.append(str(path.relative_to(PKG)))
    # Then none reads or writes calls except through chalicelib/store/calls.py (the aggregates'
    # transaction of a call's version with its buckets is store/aggregates.py's; no model at all
    # outside store/ is tests/test_layout.py's test_only_the_store_imports_pynamodb)
    assert offenders == []


def test_month_partitions_run_newest_first_across_a_year_end():
    # Given a range from mid-November to early February (UTC)
    start = 1762992000000  # 2025-11-13
    end = 1770336000000  # 2026-02-06
    # Then the month index is read newest month first, each month once
    assert store.months_desc(start, end) == ["2026-02", "2026-01", "2025-12", "2025-11"]
    assert store.month_of(start) == "2025-11"


# --- the cursor codec -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("codec", "field"),
    [(calllog.CURSOR, "m"), (logpage.CURSOR, "p")],
)
def test_a_cursor_given_out_before_the_one_codec_still_reads(codec: CursorCodec, field: str):
    # Given a cursor written by the API's or the dashboard's own codec before there was one
    old = _old_token(field, "2026-10", KEY)
    # When the codec reads it, and writes the same position again
    part, key = codec.decode(old)
    # Then it is the same position and the same token
    assert (part, key) == ("2026-10", KEY)
    assert codec.encode(part, key) == old


def test_a_cursor_of_the_other_log_is_refused_with_the_logs_own_message():
    # Given a cursor the dashboard's log gave out
    dashboard = logpage.CURSOR.encode("2026-10", KEY)
    # When the API's calls log is given it (and the other way round)
    with pytest.raises(BadRequest, match="not one this API gave out"):
        calllog.CURSOR.decode(dashboard)
    with pytest.raises(BadRequest, match="not one this page gave out for these filters"):
        logpage.CURSOR.decode(calllog.CURSOR.encode("2026-10", KEY))


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not base64 at all!",
        "€€€",
        "\ud800",  # a lone surrogate (a query string can carry one)
        base64.urlsafe_b64encode(b"\xff\xfe\x00garbage").decode(),  # not UTF-8
        base64.urlsafe_b64encode(b"[1, 2]").decode(),  # JSON, not an object
        _old_token("m", "2026-10", {"call_sid": "CA1"}),  # a key DynamoDB would choke on
        _old_token("m", "2026-10", {**KEY, "month": {"S": "2026-09"}}),  # a key of another month
        _old_token("m", "2026-10", {**KEY, "started_at": {"N": "1e9"}}),
        _old_token("m", "2026-10", {**KEY, "extra": {"S": "x"}}),
        _old_token("m", 7, KEY),  # type: ignore[arg-type]
        _old_token("m", "2026-10", ["not", "a", "key"]),  # type: ignore[arg-type]
    ],
)
def test_a_malformed_or_forged_cursor_is_a_400_never_a_500(token: str):
    # Given a token the API never gave out
    # When the calls log's codec reads it
    # Then it is refused with the API's 400, before anything reaches DynamoDB
    with pytest.raises(BadRequest, match="'cursor' is not one this API gave out"):
        calllog.CURSOR.decode(token)


def test_a_cursor_naming_a_part_the_query_does_not_cover_is_refused():
    # Given a well-formed cursor of October
    token = logpage.CURSOR.encode("2026-10", KEY)
    # When a query over other months reads it
    # Then it is refused
    with pytest.raises(BadRequest):
        logpage.CURSOR.decode(token, ["2026-12", "2026-11"])
    assert logpage.CURSOR.decode(token, ["2026-11", "2026-10"]) == ("2026-10", KEY)


def test_a_caller_cursor_carries_the_caller_index_key():
    # Given the dashboard's log of one caller, resumed after a call
    c = CallRecord("CA9", caller="+15550100", started_at=1760000000000)
    key = store.start_key_of(c, "+15550100")
    # Then the key is the caller index's, and reads back through the codec
    assert key == {"call_sid": {"S": "CA9"}, "caller": {"S": "+15550100"}, "started_at": {"N": "1760000000000"}}
    assert logpage.CURSOR.decode(logpage.CURSOR.encode("+15550100", key), ["+15550100"]) == ("+15550100", key)

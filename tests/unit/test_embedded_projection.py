"""The embedded DynamoDB's patches of moto (scripts/dynamodb_server.py): an item read with a projection
of top-level attributes converts those attributes once (moto converted the whole item once per
attribute named, binary values decoded each time), and answers as moto's own; an answer's request id
is searched for in XML bodies only (moto ran its regular expression over every JSON answer)."""

from __future__ import annotations

import base64
import importlib.util
from pathlib import Path
from typing import Any

import pytest
from moto.dynamodb.models.dynamo_type import DynamoType, Item

SERVER = Path(__file__).resolve().parents[2] / "scripts" / "dynamodb_server.py"


def item() -> Any:
    attrs = {
        "pk": {"S": "AGGW#last#google"},
        "sk": {"S": "2026-09-28"},
        "calls": {"N": "4"},
        "packed": {"B": base64.b64encode(b"r" * 1200).decode()},
        "packed_keys": {"B": base64.b64encode(b"k" * 800).decode()},
        "callers": {"SS": ["k1.a:1", "k1.b:2"]},
        "m": {"M": {"x": {"N": "1"}, "y": {"S": "z"}}},
        "l": {"L": [{"S": "a"}, {"S": "b"}]},
    }
    return Item(hash_key=DynamoType(attrs["pk"]), range_key=DynamoType(attrs["sk"]), attrs=attrs)


def server_module() -> Any:
    spec = importlib.util.spec_from_file_location("dynamodb_server_under_test", SERVER)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def patched(monkeypatch: pytest.MonkeyPatch) -> Any:
    original = Item.project
    spec = importlib.util.spec_from_file_location("dynamodb_server_under_test", SERVER)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(Item, "project", original)  # restored after the test, whatever the patch set
    module._projection_converted_once()
    return original


def test_a_projection_converts_the_attributes_named_once_and_answers_as_moto(
    patched: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = [["pk"], ["sk"], ["calls"], ["packed_keys"], ["callers"], ["missing"], ["m"], ["l"], ["calls"]]
    want = patched(item(), names).to_json()
    whole, decoded = [], []
    convert, convert_one = Item.to_regular_json, DynamoType.to_regular_json
    monkeypatch.setattr(Item, "to_regular_json", lambda self: whole.append(1) or convert(self))
    monkeypatch.setattr(DynamoType, "to_regular_json", lambda self: decoded.append(self) or convert_one(self))
    source = item()
    got = source.project(names)
    assert got.to_json() == want and "packed" not in got.attrs
    # Never the whole item (moto's own: once per name), each attribute named once, ``packed`` never
    assert not whole and not any(d is source.attrs["packed"] for d in decoded)
    top = [id(d) for d in decoded if any(d is a for a in source.attrs.values())]
    assert top == [id(source.attrs[n]) for n in dict.fromkeys(e[0] for e in names) if n in source.attrs]
    # A copy: changing the answer leaves the stored item as it was
    got.attrs["callers"].value.append("k1.c:3")
    got.attrs["m"].value["x"].value = "2"
    assert source.to_json() == item().to_json()


def test_nested_paths_and_list_items_go_to_motos_own_projection(patched: Any) -> None:
    for names in ([["m", "x"], ["calls"]], [["l[1]"]], [["m", "y"], ["m", "x"]]):
        assert item().project(names).to_json() == patched(item(), names).to_json()


def test_a_json_answer_goes_back_as_it_is_with_motos_headers_and_xml_gets_its_request_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from moto.core.responses import BaseResponse

    original = BaseResponse._enrich_response
    monkeypatch.setattr(BaseResponse, "_enrich_response", staticmethod(original))  # restored after the test
    server_module()._request_ids_in_xml_only()
    mine = BaseResponse._enrich_response
    assert mine is not original
    # A stored string that holds the element: moto's own rewrote it inside the item
    body = '{"Item": {"note": {"S": "<RequestId>mine</RequestId>"}, "calls": {"N": "4"}}}'
    assert original({}, body)[1] != body
    headers, got = mine({"status": 200}, body)
    assert got is body  # not searched, not copied
    want_headers, _ = original({"status": 200}, "")
    assert set(headers) == set(want_headers) and headers["status"] == "200"
    assert headers["x-amzn-requestid"] and headers["x-amzn-requestid"] != want_headers["x-amzn-requestid"]
    assert mine({}, b'{"Count": 0}')[1] == b'{"Count": 0}'
    # An XML answer (another service's) still carries the request id its headers name
    xml = "<R><RequestId>x</RequestId></R>"
    headers, got = mine({}, xml)
    assert got == f"<R><RequestId>{headers['x-amzn-requestid']}</RequestId></R>"

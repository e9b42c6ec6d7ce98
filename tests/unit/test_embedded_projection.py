"""The embedded DynamoDB's projection (scripts/dynamodb_server.py): an item read with a projection of
top-level attributes is converted once, not once per attribute named, and answers as moto's own."""

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


def test_a_projection_converts_the_item_once_and_answers_as_moto(patched: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    names = [["pk"], ["sk"], ["calls"], ["packed_keys"], ["callers"], ["missing"], ["m"]]
    want = patched(item(), names).to_json()
    calls = []
    convert = Item.to_regular_json
    monkeypatch.setattr(Item, "to_regular_json", lambda self: calls.append(1) or convert(self))
    got = item().project(names)
    assert got.to_json() == want
    assert "packed" not in got.attrs and got.attrs["packed_keys"].value == want["Attributes"]["packed_keys"]["B"]
    assert len(calls) == 1  # moto's own: once per name (7)


def test_nested_paths_and_list_items_go_to_motos_own_projection(patched: Any) -> None:
    for names in ([["m", "x"], ["calls"]], [["l[1]"]], [["m", "y"], ["m", "x"]]):
        assert item().project(names).to_json() == patched(item(), names).to_json()

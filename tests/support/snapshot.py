"""Every item of every table, as DynamoDB holds it: to show that a request changed nothing stored."""

from __future__ import annotations

from typing import Any

import boto3


def _client() -> Any:
    from chalicelib.core.settings import get_settings

    s = get_settings()
    return boto3.client("dynamodb", endpoint_url=s.dynamodb_endpoint, region_name=s.region)


def tables() -> dict[str, list[dict[str, Any]]]:
    """Each table's items (raw attribute values, so a changed byte shows), in a stable order."""
    from chalicelib.store.models import ALL_MODELS

    client = _client()
    out: dict[str, list[dict[str, Any]]] = {}
    for model in ALL_MODELS:
        name = model.Meta.table_name
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"TableName": name, "ConsistentRead": True}
        while True:
            page = client.scan(**kwargs)
            items += page["Items"]
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        out[name] = sorted(items, key=repr)
    return out


def item(table: str, key: dict[str, str]) -> dict[str, Any]:
    """One item by its string key attributes (``{"call_sid": "CA..."}``), raw; ``{}`` if absent."""
    from chalicelib.core.settings import get_settings

    name = get_settings().table_name(table)
    got = _client().get_item(TableName=name, Key={k: {"S": v} for k, v in key.items()}, ConsistentRead=True)
    return dict(got.get("Item", {}))

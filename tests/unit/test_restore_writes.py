"""``restore --switch --overwrite`` writes 25 items a BatchWriteItem and sends again what DynamoDB leaves."""

from __future__ import annotations

from typing import Any

import click
import pytest

from calltracking_cli import restore


class Client:
    """A DynamoDB client that leaves the last item of each of its first ``unprocessed`` requests unprocessed."""

    def __init__(self, unprocessed: int = 0) -> None:
        self.requests: list[int] = []
        self.written: list[Any] = []
        self.unprocessed = unprocessed

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        [(table, requests)] = RequestItems.items()
        assert len(requests) <= 25
        self.requests.append(len(requests))
        if self.unprocessed:
            self.unprocessed -= 1
            self.written += requests[:-1]
            return {"UnprocessedItems": {table: requests[-1:]}}
        self.written += requests
        return {"UnprocessedItems": {}}


def _items(n: int) -> list[dict[str, Any]]:
    return [{"pk": {"S": f"item-{i}"}} for i in range(n)]


def test_sixty_items_are_three_requests() -> None:
    client = Client()
    assert restore.write_all(client, "live", iter(_items(60)), pause=0) == 60
    assert client.requests == [25, 25, 10]
    assert [r["PutRequest"]["Item"] for r in client.written] == _items(60)


def test_items_left_unprocessed_are_sent_again_until_written() -> None:
    client = Client(unprocessed=2)
    assert restore.write_all(client, "live", iter(_items(30)), pause=0) == 30
    assert client.requests == [25, 1, 1, 5]  # the first batch's last item twice more, then the rest
    assert sorted(r["PutRequest"]["Item"]["pk"]["S"] for r in client.written) == sorted(
        i["pk"]["S"] for i in _items(30)
    )


def test_items_still_unprocessed_after_every_try_stop_the_switch_with_a_message() -> None:
    client = Client(unprocessed=restore.BATCH_TRIES)
    with pytest.raises(click.ClickException, match="left 1 item"):
        restore.write_all(client, "live", iter(_items(3)), pause=0)

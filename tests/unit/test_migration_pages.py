"""``migrations.each_page``: one page of one walk per step, its cursor resuming where it stopped."""

from __future__ import annotations

from typing import Any

from chalicelib.store.migrations import each_page


class Page(list[Any]):
    def __init__(self, items: list[Any], last: dict[str, Any] | None) -> None:
        super().__init__(items)
        self.last_evaluated_key = last


def _walks(seen: list[tuple[str, int, Any]]) -> Any:
    tables = {"a": [1, 2, 3], "b": [4]}

    def scan(name: str) -> Any:
        def page(limit: int, start: dict[str, Any] | None) -> Page:
            seen.append((name, limit, start))
            at = int(start["n"]) if start else 0
            items = tables[name][at : at + limit]
            more = at + limit < len(tables[name])
            return Page(items, {"n": at + limit} if more else None)

        return page

    return (("a", scan("a"), lambda item: item % 2 == 1), ("b", scan("b"), lambda item: True))


def test_each_page_walks_every_walk_a_page_a_step_and_resumes_from_its_cursor() -> None:
    seen: list[tuple[str, int, Any]] = []
    walks = _walks(seen)
    # Given walk "a" of three items and "b" of one, pages of two
    cursor, done = each_page(None, 2, walks)
    assert (cursor, done) == ('a|{"n": 2}', 1)  # 1 of [1, 2] rewritten; "a" goes on from its key
    cursor, done = each_page(cursor, 2, walks)
    assert (cursor, done) == ("b|", 1)  # [3]: "a" is done, "b" begins at the next step
    cursor, done = each_page(cursor, 2, walks)
    assert (cursor, done) == (None, 1)  # [4]: every walk done
    assert seen == [("a", 2, None), ("a", 2, {"n": 2}), ("b", 2, None)]

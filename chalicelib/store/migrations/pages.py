"""The page-and-cursor step every scanning migration shares: one page of one walk per step.

A migration that walks whole tables (``m002``, ``m003``) is a list of walks, each a scan and
what to do with each item it finds; its cursor is ``<walk>|<last evaluated key as JSON>``
(``<walk>|``: that walk from its start), so the runner can stop after any step and resume.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

# (the walk's name, (page size, start key or None) -> a PynamoDB scan, what one item needs: True if rewritten)
Walk = tuple[str, Callable[[int, dict[str, Any] | None], Any], Callable[[Any], bool]]


def each_page(cursor: str | None, limit: int, walks: Sequence[Walk]) -> tuple[str | None, int]:
    """One page (at most ``limit`` items) of the walk ``cursor`` is at; the next cursor (``None``:
    every walk done) and how many items were rewritten."""
    names = [name for name, _, _ in walks]
    walk, _, last = (cursor or f"{names[0]}|").partition("|")
    index = names.index(walk)
    _, scan, rewrite = walks[index]
    items = scan(limit, json.loads(last) if last else None)
    done = sum(rewrite(item) for item in items)
    following = items.last_evaluated_key
    if following:
        return f"{walk}|{json.dumps(following, sort_keys=True)}", done
    return (f"{names[index + 1]}|" if index + 1 < len(names) else None), done

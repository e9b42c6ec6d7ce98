"""One small per-process cache with a time limit, for settings that change rarely.

A warm Lambda serves many requests; reading a pool's settings, the blocklist or an API key
on every one of them would cost a DynamoDB request each. Entries live ``seconds``; the
clock is injectable so tests can move time, and a clock that went backwards expires the
entry rather than keeping it forever.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class TTLCache(Generic[V]):
    def __init__(self, seconds: float, *, max_entries: int = 1000, now: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.max_entries = max_entries
        self._now = now
        self._items: dict[Hashable, tuple[float, V]] = {}

    def get(self, key: Hashable) -> tuple[bool, V | None]:
        """``(True, value)`` for a fresh entry, ``(False, None)`` otherwise."""
        hit = self._items.get(key)
        if hit is None:
            return False, None
        age = self._now() - hit[0]
        if not 0 <= age <= self.seconds:
            self._items.pop(key, None)
            return False, None
        return True, hit[1]

    def put(self, key: Hashable, value: V) -> None:
        if key not in self._items and len(self._items) >= self.max_entries:
            self._items.pop(next(iter(self._items)))  # the oldest entry
        self._items[key] = (self._now(), value)

    def get_or_load(self, key: Hashable, load: Callable[[], V]) -> V:
        fresh, value = self.get(key)
        if fresh:
            return value  # type: ignore[return-value]
        value = load()
        self.put(key, value)
        return value

    def pop(self, key: Hashable) -> None:
        self._items.pop(key, None)

    def clear(self) -> None:
        self._items.clear()

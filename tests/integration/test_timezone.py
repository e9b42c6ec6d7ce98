"""Changing the business's time zone: the API's 202 and its progress, and the report days' rebuild
as a resumable job (chalicelib/reports/rebuild.py) that resumes from its cursor across chunks and
converges while calls arrive, even one counted by a process that still read the old zone."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib import business
from chalicelib.core import clock
from chalicelib.reports import rebuild
from tests.integration.test_events import LA_2330, line, one_call
from tests.support.database import pump
from tests.support.env import body

ZONE = "America/Los_Angeles"


def days(api: Any) -> list[int]:
    got = body(api.call("GET", "/v1/reports/daily?from=2026-09-21&to=2026-09-22"))["days"]
    return [d["calls"] for d in got]


def test_an_unknown_zone_is_refused_with_what_to_write(api: Any) -> None:
    for bad in ("Mars/Olympus", "America", "", "../etc/passwd", 5):
        r = api.call("PUT", "/v1/settings/timezone", {"timezone": bad})
        assert r.status_code == 400, bad
        assert "America/Los_Angeles" in body(r)["error"]["message"]
    assert body(api.call("GET", "/v1/settings/rebuild"))["state"] == "idle"


def test_the_rebuild_resumes_from_its_cursor_and_converges_while_calls_arrive(
    api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given three calls at 23:30 in Los Angeles, counted on the 22nd while the business is in UTC
    fake = clock.FakeClock(LA_2330)
    clock.set_source(fake)
    number = line(api)
    for i in range(3):
        one_call(api, number, "CA" + str(i) * 32)
    assert days(api) == [0, 3]
    monkeypatch.setattr(rebuild, "PAGE", 1)  # one call per page: the cursor matters

    # When the owner changes the zone through the API
    r = api.call("PUT", "/v1/settings/timezone", {"timezone": ZONE})
    assert r.status_code == 202 and r.headers["Location"] == "/v1/settings/rebuild"
    assert body(r)["state"] == "running" and body(r)["timezone"] == ZONE

    # Then each chunk (no time budget left after its first page) moves one call and saves the cursor
    state = rebuild.run(budget=0)
    assert state is not None and state["done"] == 1 and state["cursor"] is not None
    assert sum(days(api)) == 3  # every call is counted once at every moment

    # A call arrives mid-rebuild, counted in the new zone
    one_call(api, number, "CA" + "5" * 32)
    assert sum(days(api)) == 4

    for _ in range(10):  # the following chunks resume where the last one stopped
        state = rebuild.run(budget=0)
        assert state is not None
        if state["phase"] == "check":
            break
    assert state["phase"] == "check" and state["state"] == "running" and state["done"] >= 3
    assert days(api) == [4, 0]
    progress = body(api.call("GET", "/v1/settings/rebuild"))
    assert progress["state"] == "running" and progress["phase"] == "check"

    # Another call is handled by a process that still read the old zone (its profile cache): it
    # and the earlier call it updates (the caller called again) are counted on UTC days
    monkeypatch.setattr(business, "timezone", lambda: "UTC")
    one_call(api, number, "CA" + "7" * 32)
    pump().drain()
    monkeypatch.undo()
    assert sum(days(api)) == 5 and days(api) != [5, 0]

    # The check pass waits out the other processes' profile cache, then scans again
    assert rebuild.run()["checked"] == 0
    fake.advance(business.CACHE_SECONDS + 1)
    assert rebuild.run()["state"] == "done"
    assert days(api) == [5, 0]
    done = body(api.call("GET", "/v1/settings/rebuild"))
    assert done["state"] == "done" and done["finished_at"] and done["timezone"] == ZONE
    assert done["calls_checked"] == 5
    assert rebuild.run() is None  # nothing left to do: the schedule's run is one read


def test_a_second_change_mid_rebuild_starts_over_and_the_old_chunk_gives_way(api: Any) -> None:
    r = api.call("PUT", "/v1/settings/timezone", {"timezone": ZONE})
    first = business.rebuild_status()
    assert r.status_code == 202 and first["state"] == "running"
    assert api.call("PUT", "/v1/settings/timezone", {"timezone": "Europe/London"}).status_code == 202
    from chalicelib.store import business as stored

    assert not stored.save_rebuild(ZONE + "@0", {"id": "stale"})  # an old chunk's write is refused
    assert stored.get().rebuild["zone"] == "Europe/London"
    assert business.profile().timezone == "Europe/London"


def test_a_small_table_is_moved_in_one_chunk(api: Any) -> None:
    clock.set_source(clock.FakeClock(LA_2330))
    one_call(api, line(api))
    assert api.call("PUT", "/v1/settings/timezone", {"timezone": ZONE}).status_code == 202
    state = rebuild.run()
    assert state is not None and state["phase"] == "check" and state["done"] == 1
    assert days(api) == [1, 0]

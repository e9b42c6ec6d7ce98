"""Retention by kind: caller numbers masked after CALLER_MASK_DAYS and recordings deleted after
RECORDING_RETENTION_DAYS, sooner than the call; reports keep their counts; no event carries the
number that went. An idle pool number's copy of its last visit's source goes after LEASE_HISTORY_DAYS."""

from __future__ import annotations

import json

from chalicelib.core import clock
from chalicelib.privacy import retention
from tests.integration.test_erasure import SENT, watcher  # noqa: F401 - the fixture
from tests.integration.test_recordings import CALLER as ANN
from tests.integration.test_recordings import recorded_call, stored
from tests.support import snapshot
from tests.support.database import pump
from tests.support.env import body

DAY = 86_400


def _report(api, day: str) -> dict:
    rows = body(api.call("GET", f"/v1/reports/channels?from={day}&to={day}"))["rows"]
    return {"calls": sum(r["calls"] for r in rows), "unique": sum(r["unique_callers"] for r in rows)}


def test_recordings_go_first_then_numbers_and_reports_keep_their_counts(api, watcher, settings_env):  # noqa: F811
    # Given recordings kept 7 days and numbers 30, and Ann's recorded call today
    fake = clock.FakeClock(1_790_000_000.0)
    clock.set_source(fake)
    settings_env(RECORDING_RETENTION_DAYS="7", CALLER_MASK_DAYS="30")
    sid, rec_sid = recorded_call(api)
    day = clock.day_key(clock.now_ms())
    before = _report(api, day)
    assert before == {"calls": 1, "unique": 1} and stored(sid, rec_sid) is not None
    # When the sweep runs 3 days later, nothing is due
    fake.advance(3 * DAY)
    assert retention.sweep() == {"masked": 0, "recordings_deleted": 0, "lease_sources_dropped": 0}
    # When it runs 8 days after the call: the recording goes (S3 and the call's link), the number stays
    fake.advance(5 * DAY)
    assert retention.sweep() == {"masked": 0, "recordings_deleted": 1, "lease_sources_dropped": 0}
    pump().drain()
    call = body(api.call("GET", f"/v1/calls/{sid}"))
    assert stored(sid, rec_sid) is None and not call.get("recording") and call["caller"] == ANN
    # When it runs 31 days after the call: the number, city and state go; the call and its counts stay
    fake.advance(23 * DAY)
    SENT.clear()
    assert retention.sweep() == {"masked": 1, "recordings_deleted": 0, "lease_sources_dropped": 0}
    pump().drain()
    call = body(api.call("GET", f"/v1/calls/{sid}"))
    assert call["caller"] is None
    assert _report(api, day) == before
    held = json.dumps(snapshot.tables()) + json.dumps(SENT)
    where = [(t, i) for t, items in snapshot.tables().items() for i in items if ANN in json.dumps(i)]
    assert not where, where
    assert ANN not in held and ANN.lstrip("+") not in held
    # And a second run the same day looks at nothing again
    assert retention.sweep() == {"masked": 0, "recordings_deleted": 0, "lease_sources_dropped": 0}


def test_nothing_is_masked_or_deleted_when_the_settings_are_off(api):
    fake = clock.FakeClock(1_790_000_000.0)
    clock.set_source(fake)
    sid, rec_sid = recorded_call(api)
    fake.advance(400 * DAY)
    assert retention.sweep() == {"masked": 0, "recordings_deleted": 0, "lease_sources_dropped": 0}
    assert stored(sid, rec_sid) is not None


def test_an_idle_numbers_copy_of_its_last_visits_source_goes_with_the_lease_history(api, fake_clock):
    from chalicelib.store.models import NumberModel
    from tests.integration.test_leases import leased, make_pool

    # Given two pool numbers leased to visitors, one of them leased again 60 days later
    pool = make_pool(api, size=2, hold_seconds=60)
    first = {leased(api, pool, f"visitor-000{i}", utm={"source": "bing"})["number"] for i in (1, 2)}
    fake_clock.advance(60 * DAY)
    busy = leased(api, pool, "visitor-0003", utm={"source": "google"})["number"]
    (idle,) = first - {busy}
    # When the sweep runs 91 days after the first leases (LEASE_HISTORY_DAYS is 90)
    fake_clock.advance(31 * DAY)
    got = retention.sweep()
    # Then the idle number's copy of its last visit's source is gone; the number leased since keeps its own
    assert got["lease_sources_dropped"] == 1
    assert NumberModel.get(idle).lease_source is None
    assert NumberModel.get(busy).lease_source["utm_source"] == "google"
    # And the next run finds nothing more to remove
    assert retention.sweep()["lease_sources_dropped"] == 0

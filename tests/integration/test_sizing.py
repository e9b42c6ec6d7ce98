"""Pool sizing: Erlang B, the recommendation, the sizing endpoint, and a short run of the simulator."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from chalicelib.reports import sizing
from chalicelib.store.models import CounterModel
from tests.integration.test_leases import leased, make_pool
from tests.support.env import body
from tests.unit.test_sizing import QUICK

# --- the endpoint ----------------------------------------------------------------------------


def test_sizing_from_lease_history_and_refusals(api, fake_clock):
    # Given a pool of 3 numbers with a 10-minute hold, 5 leases and 1 refusal in one clock hour
    pool = make_pool(api, size=3, hold_seconds=600)
    first = leased(api, pool, "visitor-0001")  # t=0, renewed at t=120: held until t=720
    fake_clock.advance(60)
    leased(api, pool, "visitor-0002")  # t=60 until t=660
    fake_clock.advance(60)
    leased(api, pool, "visitor-0001", session_id=first["session_id"], renew=True, number=first["number"])
    fake_clock.advance(780)
    for visitor, gap in (("visitor-0003", 0), ("visitor-0004", 60), ("visitor-0005", 40)):
        fake_clock.advance(gap)  # t=900, 960, 1000: each held for 600 s
        assert leased(api, pool, visitor)["tracked"]
    fake_clock.advance(10)
    assert leased(api, pool, "visitor-0006")["reason"] == "pool_exhausted"  # t=1010: all three held
    fake_clock.advance(1990)  # t=3000, 15:03:20Z (t=0 is T0, 14:13:20Z): every lease has ended

    # When the owner asks for the pool's sizing
    r = api.call("GET", f"/v1/pools/{pool['id']}/sizing")

    # Then it shows the hour's 6 arrivals, the 624 s mean hold, and Erlang B's answer
    assert r.status_code == 200, r.body
    out = body(r)
    observed = out["observed"]
    assert observed["peak_hour_utc"] == "14:00" and observed["arrivals_per_hour"] == 6
    assert observed["mean_hold_seconds"] == (720 + 4 * 600) / 5 and observed["leases_ended"] == 5
    assert observed["exhausted_last_7d"] == 1 and observed["mean_hold_from"] == "lease history"
    load = 6 * 624 / 3600
    assert observed["offered_load_erlangs"] == pytest.approx(load, abs=1e-3)
    assert out["current"]["size"] == 3
    assert out["current"]["overflow_probability"] == pytest.approx(sizing.erlang_b(load, 3), abs=1e-5)
    assert out["current"]["observed_overflow_at_peak_hour"] == pytest.approx(1 / 6, abs=1e-4)
    # 14:00-15:00 is t=-800..2800; the leases were busy 720 + 4 x 600 s of 3 x 3600 number-seconds
    assert out["current"]["utilization_at_peak_hour"] == pytest.approx(3120 / 10800, abs=1e-4)
    assert out["recommended"] == {
        "target_overflow": 0.01,
        "size": 5,
        "overflow_probability": pytest.approx(sizing.erlang_b(load, 5), abs=1e-5),
        "rest_before_reuse_minutes": pytest.approx(sizing.rest_before_reuse_minutes(5, load, 6), abs=0.1),
    }
    looser = body(api.call("GET", f"/v1/pools/{pool['id']}/sizing?target=0.1"))["recommended"]
    assert looser["target_overflow"] == 0.1 and looser["size"] == sizing.recommend(load, 0.1) == 3


def test_a_held_lease_counts_as_an_arrival_but_not_in_the_mean_hold(api, fake_clock):
    pool = make_pool(api, size=2, hold_seconds=600)
    leased(api, pool, "visitor-0001")
    fake_clock.advance(30)
    out = body(api.call("GET", f"/v1/pools/{pool['id']}/sizing"))
    assert out["observed"]["arrivals_per_hour"] == 1 and out["observed"]["leases_ended"] == 0
    assert out["observed"]["mean_hold_seconds"] == 600 and "hold_seconds" in out["observed"]["mean_hold_from"]


def test_a_pool_without_traffic_needs_one_number(api, fake_clock):
    pool = make_pool(api, size=2)
    out = body(api.call("GET", f"/v1/pools/{pool['id']}/sizing"))
    assert out["observed"]["peak_hour_utc"] is None and out["observed"]["arrivals_per_hour"] == 0
    assert out["current"] == {
        "size": 2,
        "overflow_probability": 0.0,
        "observed_overflow_at_peak_hour": 0.0,
        "utilization_at_peak_hour": 0.0,
        "rest_before_reuse_minutes": None,
    }
    assert out["recommended"]["size"] == 1


def test_distinct_refused_visitors_count_once_when_the_counter_keeps_them(api, fake_clock):
    pool = make_pool(api, size=1)
    hour = "2026-09-21T14"  # the fake clock's hour
    CounterModel(f"POOL#{pool['id']}#EXHAUSTED", hour, total=9, keys={"v1", "v2", "v3"}).save()
    assert body(api.call("GET", f"/v1/pools/{pool['id']}/sizing"))["observed"]["arrivals_per_hour"] == 3


@pytest.mark.parametrize("target", ["abc", "0", "0.5", "-0.01", "1", "nan", "inf"])
def test_bad_target_is_400(api, fake_clock, target):
    pool = make_pool(api, size=1)
    r = api.call("GET", f"/v1/pools/{pool['id']}/sizing?target={target}")
    assert r.status_code == 400 and "'target'" in body(r)["error"]["message"], r.body


def test_unknown_pool_is_404_and_a_key_is_required(api, fake_clock):
    r = api.call("GET", "/v1/pools/pl_doesnotexist0000/sizing")
    assert r.status_code == 404 and body(r)["error"]["code"] == "not_found"
    pool = make_pool(api, size=1)
    assert api.call("GET", f"/v1/pools/{pool['id']}/sizing", key=None).status_code == 401


# --- the simulator ---------------------------------------------------------------------------


def test_simulator_classifies_every_call_and_agrees_with_erlang_b(tables):
    from bench import sizing as sim

    # Given steady traffic (10.5 erlangs) on 11 numbers, about 18% refused, refused visitors leaving
    s = replace(sim.SCENARIOS["steady"], name="quick", **QUICK)
    _, load = sim.offered_load(s)
    size = 11

    # When the simulator drives the real lease endpoint and voice webhook
    out = sim.simulate(s, size=size)

    # Then every call is classified once, with no failure on the way
    calls = out["calls"]
    placed = sum(1 for v in sim.traffic(s, 0) if v.call_at is not None)
    assert sum(calls.values()) == placed > 20
    assert set(calls) <= {"correct", "late", "wrong", "unattributed", "untracked"}
    assert calls.get("error", 0) == 0
    assert calls.get("correct", 0) > 0 and calls.get("untracked", 0) > 0
    # and the allocator refused exactly the visitors an ideal pool refuses on the same traffic,
    # and every call was attributed as the rules say given who held which number when
    assert out["refused_as_ideal_pool"] and out["refused_all"] == out["ideal_pool_refused"] > 0
    assert out["calls_as_ideal_pool"] is True
    # and the share refused agrees with Erlang B (retries off: its assumption), within the
    # noise of a couple of hundred arrivals (3 binomial standard errors, widened for the
    # correlation of refusals within a busy spell)
    measured = out["refused_first"] / out["visitors"]
    expected = sizing.erlang_b(load, size)
    noise = math.sqrt(expected * (1 - expected) / out["visitors"])
    assert 0.05 < expected < 0.3 and out["visitors"] > 150
    assert abs(measured - expected) <= 4 * noise, (measured, expected, noise)
    # and the endpoint's view of the run equals the simulator's truth
    assert out["endpoint"]["observed"]["exhausted_last_7d"] == out["refused_all"]
    assert out["endpoint"]["current"]["size"] == size
    assert out["endpoint"]["recommended"]["size"] == out["run"]["recommended_size"]
    # and the summary and tables make_sizing prints are built from it
    summary = sim.summarize(s, size, [{**out, "replication": 0}])
    assert summary["figures"]["pool_size"] == size and summary["figures"]["overflow_pct"] == pytest.approx(
        100 * measured, abs=0.01
    )
    result = {"scenarios": {"quick": summary}}
    assert all(len(row) == 3 for row in sim.table(result))
    assert "| quick | 11 |" in sim.scenario_table(result)


def test_random_reuse_is_patched_in_and_out(tables):
    from bench import sizing as sim
    from chalicelib.leasing import allocator

    original = allocator.candidates
    s = replace(sim.SCENARIOS["steady"], name="quick", **{**QUICK, "hours": 0.1, "warmup_hours": 0.0})
    out = sim.simulate(s, size=6, policy="random")
    assert allocator.candidates is original
    assert out["policy"] == "random" and out["refused_as_ideal_pool"]

"""Pool sizing: Erlang B, the recommendation, the sizing endpoint, and a short run of the simulator.

The tests of this area that need no database, network or server; the ones that need
the database are in ``tests/integration/test_sizing.py``.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from chalicelib.reports import sizing


@pytest.mark.parametrize(
    ("load", "servers", "expected"),
    [
        (1.0, 1, 0.5),
        (2.0, 2, 0.4),
        (10.0, 15, 0.0365),  # textbook tables
        (5.0, 10, 0.0184),
        (100.0, 117, 0.0098),
    ],
)
def test_erlang_b_known_values(load, servers, expected):
    assert sizing.erlang_b(load, servers) == pytest.approx(expected, abs=5e-5)


def test_erlang_b_edges_and_stability():
    assert sizing.erlang_b(3.0, 0) == 1.0  # no numbers: everybody is refused
    assert sizing.erlang_b(0.0, 1) == 0.0  # no traffic: nobody is
    huge = sizing.erlang_b(10_000.0, 10_000)  # the factorial formula overflows long before this
    assert 0 < huge < 0.01 and math.isfinite(huge)
    loads = [sizing.erlang_b(20.0, n) for n in range(40)]
    assert loads == sorted(loads, reverse=True)  # more numbers, fewer refused
    with pytest.raises(ValueError):
        sizing.erlang_b(-1.0, 3)
    with pytest.raises(ValueError):
        sizing.erlang_b(float("nan"), 3)


def test_recommend_is_the_smallest_size_that_meets_the_target():
    for load in (0.3, 2.0, 14.7, 78.5):
        n = sizing.recommend(load, 0.01)
        assert sizing.erlang_b(load, n) <= 0.01 < sizing.erlang_b(load, n - 1)
    assert sizing.recommend(14.7, 0.01) == 24  # the README's worked example
    assert sizing.recommend(100.0, 0.01) == 117


def test_recommend_edges_and_monotonicity():
    # No traffic still needs one number, to track the first visitor (B(1) = 0 at A = 0).
    assert sizing.recommend(0.0, 0.01) == 1
    assert sizing.recommend(1.0, 0.5) == 1  # B(1, 1) = 0.5 meets 0.5 exactly
    sizes = [sizing.recommend(a / 4, 0.01) for a in range(200)]
    assert sizes == sorted(sizes)  # more load never needs fewer numbers
    by_target = [sizing.recommend(20.0, t) for t in (0.001, 0.01, 0.05, 0.2)]
    assert by_target == sorted(by_target, reverse=True)  # a looser target never needs more
    for bad in (0.0, 1.0, -0.1, float("nan")):
        with pytest.raises(ValueError):
            sizing.recommend(10.0, bad)


def test_busy_hour_is_time_consistent():
    # Hour 12 busiest on average over two days, though hour 13 has the single busiest count.
    day = 24 * 10
    counts = {day + 12: 40, day + 13: 50, day + 24 + 12: 40, day + 24 + 13: 10}
    hour, mean, seen = sizing.busy_hour(counts, day + 24 + 23)
    assert (hour, mean, seen) == (12, 40.0, [day + 12, day + 36])
    assert sizing.busy_hour({}, day) == (None, 0.0, [])


# Short visits and the shortest hold (60 s), so that half an hour holds a few hundred leases.
QUICK = dict(
    peak_per_hour=420,
    hours=0.5,
    warmup_hours=5 / 60,
    hold_seconds=60,
    grace_seconds=600,
    mean_pages=2.0,
    dwell=(10.0, 30.0),
    long_read=0.0,
    call_share=0.3,
    after_mean=60.0,
    after_max=180.0,
    policies=("lrr",),
)


def test_the_ideal_pool_matches_erlang_b_over_many_days():
    from bench import sizing as sim

    s = replace(sim.SCENARIOS["steady"], name="quick", **QUICK)
    _, load = sim.offered_load(s)
    ref = sim.reference(s, 11, days=100)
    assert ref["overflow_pct"] == pytest.approx(100 * sizing.erlang_b(load, 11), abs=3 * ref["overflow_se_points"])

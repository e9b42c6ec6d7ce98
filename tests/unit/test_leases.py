"""Pools, the public lease endpoint, sessions and the lease history.

The tests of this area that need no database, network or server; the ones that need
the database are in ``tests/integration/test_leases.py``.
"""

from __future__ import annotations


def test_refused_visitors_mark_a_bounded_number_of_buckets():
    from chalicelib import sites

    # However many visitors are refused, they mark at most REFUSED_BUCKETS small strings...
    marks = [sites.refused_bucket(f"visitor-{i:06d}") for i in range(100_000)]
    assert len(set(marks)) <= sites.REFUSED_BUCKETS and {len(m) for m in marks} == {4}
    # ... from which the number of distinct visitors is still told within a few percent
    for n in (10, 300, 1500):
        marked = len(set(marks[:n]))
        assert abs(sites.distinct_refused(marked, refused=3 * n) - n) <= max(1, 0.08 * n), n
    assert sites.distinct_refused(sites.REFUSED_BUCKETS, refused=70_000) == 70_000  # all marked: requests
    assert sites.distinct_refused(5, refused=3) == 3  # never more visitors than refusals

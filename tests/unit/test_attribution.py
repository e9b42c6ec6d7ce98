"""Attribution of pool calls to sessions (active, late, unattributed) and channel-group rules.

The tests of this area that need no database, network or server; the ones that need
the database are in ``tests/integration/test_attribution.py``.
"""

from __future__ import annotations

import pytest

from chalicelib.attribution import channel_group


@pytest.mark.parametrize(
    ("source", "group"),
    [
        ({"utm_medium": "email", "utm_source": "google"}, "email"),
        ({"utm_medium": "Newsletter"}, "email"),
        ({"utm_medium": "cpc", "utm_source": "google"}, "paid search"),
        ({"gclid": "x", "referrer": "https://www.google.com/"}, "paid search"),
        ({"gbraid": "x"}, "paid search"),  # Google's iOS click ids are paid markers too
        ({"wbraid": "x", "utm_source": "instagram"}, "paid social"),
        ({"yclid": "1", "referrer": "https://yandex.ru/"}, "paid search"),
        ({"utm_medium": "cpc", "utm_source": "facebook"}, "paid social"),
        ({"utm_medium": "paid", "referrer": "https://l.instagram.com/"}, "paid social"),
        ({"utm_medium": "display"}, "other"),
        ({"utm_medium": "affiliate", "referrer": "https://www.google.com/"}, "other"),
        ({"utm_medium": "social"}, "social"),
        ({"fbclid": "x"}, "social"),
        ({"referrer": "https://t.co/abc"}, "social"),
        ({"referrer": "https://www.google.co.uk/", "landing_page": "https://shop.example.com/"}, "organic search"),
        ({"referrer": "https://duckduckgo.com/"}, "organic search"),
        ({"utm_medium": "organic", "utm_source": "bing"}, "organic search"),
        ({"referrer": "https://blog.example.org/post"}, "referral"),
        ({"utm_medium": "referral"}, "referral"),
        ({"referrer": "https://shop.example.com/a", "landing_page": "https://shop.example.com/b"}, "direct"),
        ({}, "direct"),
        ({"referrer": "https://notgoogle.example/"}, "referral"),
    ],
)
def test_channel_groups(source, group):
    assert channel_group(source) == group


def test_a_call_during_the_numbers_lease_reads_no_history_and_an_older_one_does() -> None:
    """A pool number's item carries its current lease and that lease's source: a call during the
    lease (or in its grace window) is attributed from it alone; a call that began before it (a
    record resolved late) or a number leased before the item carried the source queries the history."""
    from chalicelib import attribution
    from chalicelib.store.leases import LeaseStart
    from chalicelib.store.lines import Number, Pool

    pool = Pool(
        "pl_1", "sk_1", "Shop", [], "+12025550123", 900, 1800, "original", None, "+12025550144", False, None, None, 0, 0
    )
    old = LeaseStart("+12015550100", 1_000, "s_old", "pl_1", source={"utm_source": "bing"})
    new = LeaseStart("+12015550100", 5_000, "s_new", "pl_1", "s_old", 4_000, {"utm_source": "google"})
    asked: list[str] = []

    def latest_starts(n: str, *, limit: int = 2) -> list[LeaseStart]:
        asked.append(n)
        return [new, old]

    number = Number(
        "+12015550100",
        "local",
        "PN1",
        "active",
        "pool",
        pool_id="pl_1",
        lease_session_id="s_new",
        lease_started_at=5_000,
        lease_expires_at=9_000,
        lease_source={"utm_source": "google"},
    )
    mp = pytest.MonkeyPatch()
    mp.setattr(attribution.leases, "latest_starts", latest_starts)
    try:
        # Given a call during the number's lease, and one in its grace window: no query
        during = attribution.attribute_pool_call(number, pool, 6_000)
        late = attribution.attribute_pool_call(number, pool, 9_500)
        assert asked == []
        assert (during["session_id"], during["lease_ended_at"], during["confidence"]) == ("s_new", 9_000, "active")
        assert during["source"] == {"utm_source": "google"} and during["channel_group"] == channel_group(
            during["source"]
        )
        assert (late["session_id"], late["confidence"]) == ("s_new", "late")
        # Given a call at 3,000, before the number's lease began: the history says whose lease it was
        before = attribution.attribute_pool_call(number, pool, 3_000)
        assert asked == ["+12015550100"]
        assert (before["session_id"], before["lease_ended_at"], before["source"]) == (
            "s_old",
            4_000,
            {"utm_source": "bing"},
        )
        # Given a number leased before its item carried the source (or the source erased): the history
        asked.clear()
        unkept = Number(**{**number.__dict__, "lease_source": None})
        got = attribution.attribute_pool_call(unkept, pool, 6_000)
        assert asked == ["+12015550100"] and (got["session_id"], got["lease_ended_at"]) == ("s_new", 9_000)
        assert got["source"] == {"utm_source": "google"}
    finally:
        mp.undo()

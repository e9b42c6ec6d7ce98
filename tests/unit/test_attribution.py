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


def test_a_lease_query_run_beside_the_number_read_is_asked_again_when_a_lease_started_between() -> None:
    """The voice webhook queries a pool number's lease history beside its read of the number: when
    the number shows a lease newer than the query found, the query is run again (one request more)."""
    from chalicelib import attribution
    from chalicelib.store.leases import LeaseStart
    from chalicelib.store.lines import Number, Pool

    pool = Pool(
        "pl_1", "sk_1", "Shop", [], "+12025550123", 900, 1800, "original", None, "+12025550144", False, None, None, 0, 0
    )
    old = LeaseStart("+12015550100", 1_000, "s_old", "pl_1", source={"utm_source": "bing"})
    new = LeaseStart("+12015550100", 5_000, "s_new", "pl_1", "s_old", 4_000, {"utm_source": "google"})
    number = Number("+12015550100", "local", "PN1", "active", "pool", pool_id="pl_1")
    asked: list[str] = []

    def latest_starts(n: str, *, limit: int = 2) -> list[LeaseStart]:
        asked.append(n)
        return [new, old]

    mp = pytest.MonkeyPatch()
    mp.setattr(attribution.leases, "latest_starts", latest_starts)
    try:
        # Given a call at 3,000 (during the old lease), the number read after a new lease started at 5,000
        moved = Number(
            **{**number.__dict__, "lease_session_id": "s_new", "lease_started_at": 5_000, "lease_expires_at": 9_000}
        )
        # When the query beside it had found only the old lease
        got = attribution.attribute_pool_call(moved, pool, 3_000, recent=[old])
        # Then it was asked again, and the call goes to the old lease, which ended when the new one began
        assert asked == ["+12015550100"]
        assert (got["session_id"], got["lease_ended_at"], got["confidence"]) == ("s_old", 4_000, "active")
        # ... while a query that saw the number's current lease is used as it is
        asked.clear()
        same = attribution.attribute_pool_call(moved, pool, 6_000, recent=[new, old])
        assert asked == [] and same["session_id"] == "s_new"
    finally:
        mp.undo()

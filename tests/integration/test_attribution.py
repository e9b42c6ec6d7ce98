"""Attribution of pool calls to sessions (active, late, unattributed) and channel-group rules."""

from __future__ import annotations

from tests.integration.test_leases import SITE, leased, make_pool
from tests.support.env import body

CALLER = "+14155550111"


def call(api, number, sid):
    r = api.twilio("/twilio/voice", {"CallSid": sid, "From": CALLER, "To": number})
    assert r.status_code == 200 and "<Dial" in r.body.decode()
    return body(api.call("GET", f"/v1/calls/{sid}"))


def test_call_during_the_lease_is_active_with_the_sessions_source(api, fake_clock):
    pool = make_pool(api, size=1, grace_seconds=600)
    got = leased(
        api,
        pool,
        page_url=f"{SITE}/?utm_source=newsletter&utm_medium=email",
        utm={"source": "newsletter", "medium": "email"},
    )
    fake_clock.advance(300)
    c = call(api, got["number"], "CA1")
    a = c["attribution"]
    assert a["confidence"] == "active" and a["session_id"] == got["session_id"]
    assert a["source"]["utm_source"] == "newsletter" and a["channel_group"] == "email"
    assert c["kind"] == "pool" and c["pool_id"] == pool["id"] and c["forwarded_to"] == "+12025550144"


def test_late_call_within_grace_and_not_after(api, fake_clock):
    pool = make_pool(api, size=1, hold_seconds=600, grace_seconds=900)
    got = leased(api, pool, utm={"source": "google", "medium": "cpc"})
    fake_clock.advance(600 + 800)  # hold over, 800 s into the grace window
    a = call(api, got["number"], "CA2")["attribution"]
    assert a["confidence"] == "late" and a["session_id"] == got["session_id"] and a["channel_group"] == "paid search"
    fake_clock.advance(200)  # 1000 s after the hold: past grace
    a = call(api, got["number"], "CA3")["attribution"]
    assert a["confidence"] == "unattributed" and a["session_id"] is None


def test_a_reused_number_goes_to_the_new_session_and_old_calls_keep_theirs(api, fake_clock):
    pool = make_pool(api, size=1, hold_seconds=60, grace_seconds=0)
    first = leased(api, pool, "visitor-aaaa", utm={"source": "facebook", "medium": "paid-social"})
    fake_clock.advance(30)
    assert call(api, first["number"], "CA4")["attribution"]["session_id"] == first["session_id"]
    fake_clock.advance(31)
    second = leased(api, pool, "visitor-bbbb", referrer="https://www.bing.com/search?q=plumber")
    assert second["number"] == first["number"]
    a = call(api, second["number"], "CA5")["attribution"]
    assert a["session_id"] == second["session_id"] and a["channel_group"] == "organic search"
    assert body(api.call("GET", "/v1/calls/CA4"))["attribution"]["channel_group"] == "paid social"


def test_a_pool_number_never_leased_is_unattributed_but_forwarded(api, fake_clock):
    pool = make_pool(api, size=1)
    c = call(api, pool["numbers"][0], "CA6")
    assert c["attribution"]["confidence"] == "unattributed" and c["forwarded_to"] == "+12025550144"


def test_overflow_number_is_tracked_as_pool_overflow(api, fake_clock):
    pool = make_pool(api, size=1)
    overflow = body(api.call("POST", "/v1/numbers", {"pool_id": pool["id"], "overflow": True}))["number"]
    c = call(api, overflow, "CA7")
    assert c["kind"] == "overflow" and c["attribution"]["channel_group"] == "pool overflow"


def test_the_call_resolved_later_finds_the_lease_it_came_in(api, fake_clock):
    """A record completed by a late callback is attributed at the call's time, not the callback's."""
    from chalicelib import attribution
    from chalicelib.store.models import NumberModel, PoolModel

    pool = make_pool(api, size=1, hold_seconds=60, grace_seconds=0)
    first = leased(api, pool, "visitor-aaaa")
    t_call = int((fake_clock() + 10) * 1000)
    for v in ("visitor-bbbb", "visitor-cccc"):
        fake_clock.advance(61)
        leased(api, pool, v)
    got = attribution.resolve(NumberModel.get(first["number"]), t_call, pool=PoolModel.get(pool["id"]))
    assert got["confidence"] == "active" and got["session_id"] == first["session_id"]

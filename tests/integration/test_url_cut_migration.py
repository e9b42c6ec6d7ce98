"""Migration 3: sessions and calls stored before the URL cut hold whole page URLs and referrers;
after it they hold what the lease endpoint keeps today (origin + path + tracking parameters;
referrers origin + path), and what was already cut is left alone."""

from __future__ import annotations

import json

from chalicelib.store.leases import _page
from chalicelib.store.models import CallModel, SessionModel

FOREVER = lambda: 10**9  # noqa: E731 - a deadline that never comes
LANDING = "https://shop.example.com/reset?token=s3cret&utm_source=google&gclid=abc#email=ann@example.com"
REFERRER = "https://www.google.com/search?q=ann+smith+address"


def test_migration_3_cuts_what_was_stored_before_the_cut(tables):
    from chalicelib.store import migrations

    # Given a session and a call as stored before the cut, and a session stored since
    SessionModel(
        "s_old",
        pool_id="pl_1",
        visitor_id="v1",
        source={"landing_page": LANDING, "referrer": REFERRER, "utm_source": "google"},
        pages=[{"url": LANDING, "at": 1}, {"url": "javascript:alert(1)", "at": 2}],
        created_at=1,
        last_seen_at=2,
    ).save()
    SessionModel(
        "s_new",
        pool_id="pl_1",
        visitor_id="v2",
        source={"landing_page": "https://shop.example.com/"},
        pages=[{"url": "https://shop.example.com/", "at": 1}],
        created_at=1,
        last_seen_at=1,
    ).save()
    CallModel(
        "CA" + "1" * 32,
        attribution={
            "confidence": "active",
            "source": {"landing_page": LANDING, "referrer": REFERRER, "utm_source": "google"},
        },
        updated_at=5,
    ).save()
    # When the migrations run
    while migrations.state().version < migrations.LATEST:
        migrations.run(remaining_ms=FOREVER, max_items=5, chunk=1)
    # Then no secret, e-mail or search is left; tracking parameters and sources stay
    old = SessionModel.get("s_old")
    call = CallModel.get("CA" + "1" * 32)
    held = json.dumps([old.source, [_page(p) for p in old.pages], call.attribution])
    for gone in ("s3cret", "ann@example.com", "ann+smith", "javascript"):
        assert gone not in held, gone
    assert old.source["landing_page"] == "https://shop.example.com/reset?utm_source=google&gclid=abc"
    assert old.source["referrer"] == "https://www.google.com/search"
    assert call.attribution["source"]["utm_source"] == "google" and call.attribution["confidence"] == "active"
    assert [_page(p).get("url") for p in old.pages] == [
        "https://shop.example.com/reset?utm_source=google&gclid=abc",
        None,
    ]
    assert SessionModel.get("s_new").source == {"landing_page": "https://shop.example.com/"}

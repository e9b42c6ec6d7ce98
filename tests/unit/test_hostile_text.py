"""Arbitrary text, lone surrogates included, at every route that takes JSON: never a 5xx, a
refusal stores nothing, and text that cannot be UTF-8 is a 400 wherever it comes in.

A lone surrogate (``"\ud800"``) is valid JSON text once escaped, which is how a client's
``json.dumps`` sends it; DynamoDB, the CSV export and the reports cannot hold it. The bodies
are sent as raw bytes, as a client could: ASCII with escapes, and UTF-8 with the surrogate
written out (which is not UTF-8 at all).

The tests of this area that need no database, network or server; the ones that need
the database are in ``tests/integration/test_hostile_text.py``.
"""

from __future__ import annotations

from typing import Any

from tests.integration.test_leases import SITE

# Every route that takes a JSON body, with a valid body to start from (so that mutations reach
# past the first check). A new JSON route fails test_every_json_route_is_fuzzed until it is here.
TEMPLATES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/v1/channels"): {"name": "Radio FM 101", "forward_to": "+12025550144", "record": True},
    ("PATCH", "/v1/channels/{channel_id}"): {"name": "Radio FM 102", "disclosure": "This call is recorded."},
    ("PUT", "/v1/channels/{channel_id}/greeting"): {"audio": "UklGRiQAAABXQVZF"},
    ("POST", "/v1/pools"): {
        "name": "Shop",
        "allowed_origins": [SITE],
        "original_number": "+12025550123",
        "forward_to": "+12025550144",
    },
    ("PATCH", "/v1/pools/{pool_id}"): {"name": "Shop 2", "hold_seconds": 600},
    ("PUT", "/v1/pools/{pool_id}/greeting"): {"audio": "UklGRiQAAABXQVZF"},
    ("POST", "/v1/numbers"): {"channel_id": "{channel_id}", "area_code": "201"},
    ("PATCH", "/v1/calls/{sid}"): {"outcome": "lead", "note": "called back", "tags": ["vip"], "revenue": 10},
    ("POST", "/v1/calls/{sid}/call-back"): {"phone": "+12025550144"},
    ("PUT", "/v1/spend"): {"source": "web:google", "date": "2026-09-21", "amount": "12.50"},
    ("PUT", "/v1/settings/timezone"): {"timezone": "America/Los_Angeles"},
    ("PUT", "/v1/blocked-callers"): {"callers": ["+19005550100", "+1900*"]},
    ("PUT", "/v1/transcripts/rules"): {
        "rules": [{"id": "appt", "phrases": ["appointment"], "side": "caller", "outcome": "lead", "tags": ["booking"]}]
    },
    # Loopback receivers are allowed on the test stage (refused on deployed ones).
    ("POST", "/v1/webhooks"): {"url": "http://127.0.0.1:9/hook", "events": ["call.completed"], "enabled": False},
    ("PATCH", "/v1/webhooks/{endpoint_id}"): {"enabled": False, "events": ["call.updated"]},
    ("POST", "/v1/webhooks/{endpoint_id}/rotate-secret"): {"overlap_hours": 24},
    # These two take no body: whatever is sent must still never make a 5xx.
    ("POST", "/v1/webhooks/{endpoint_id}/test"): {"note": "ignored"},
    ("POST", "/v1/webhooks/{endpoint_id}/deliveries/{delivery_id}/resend"): {"note": "ignored"},
    ("POST", "/v1/conversions/destinations"): {
        "platform": "ga4",
        "name": "GA4",
        "settings": {"measurement_id": "G-TEST1234"},
        "rules": [{"action": "phone_call", "min_talk_seconds": 10, "value": 5, "tags": ["vip"]}],
        "backfill_days": 0,
        "paused": True,
    },
    ("PATCH", "/v1/conversions/destinations/{destination_id}"): {"name": "GA4 2", "paused": True},
    ("PUT", "/v1/conversions/destinations/{destination_id}/credentials"): {"api_secret": "s3cret"},
    ("POST", "/v1/conversions/destinations/{destination_id}/test"): {"note": "ignored"},
    ("POST", "/v1/conversions/destinations/{destination_id}/backfill"): {"days": 3},
    # HubSpot's webhook (a JSON list in truth; an object here is refused all the same): signature first
    ("POST", "/crm/hubspot/{destination_id}"): {"objectId": 1, "subscriptionType": "deal.propertyChange"},
    ("POST", "/v1/alerts/recipients"): {
        "name": "Owner",
        "channel": "email",
        "email": "owner@example.com",
        "events": ["missed_call", "voicemail"],
        "summaries": ["daily"],
        "timezone": "America/New_York",
        "quiet_hours": {"start": "22:00", "end": "07:00"},
        "limit": {"count": 5, "minutes": 10},
    },
    ("PATCH", "/v1/alerts/recipients/{recipient_id}"): {"name": "Owner 2", "summary_hour": 9, "enabled": True},
    ("POST", "/v1/alerts/recipients/{recipient_id}/test"): {"note": "ignored"},
    ("POST", "/v1/leases"): {
        "site_key": "{site_key}",
        "visitor_id": "visitor-0001",
        "page_url": f"{SITE}/?utm_source=google",
        "referrer": "https://www.google.com/",
        "utm": {"source": "google", "campaign": "spring"},
        "click_ids": {"gclid": "abc"},
        "client_ids": {"ga": "GA1.1.1.1"},
    },
}


def json_routes() -> set[tuple[str, str]]:
    from app import app

    found = set()
    for path, entries in app.routes.items():
        for method, entry in entries.items():
            takes_json = any("json" in t or t == "text/plain" for t in entry.content_types)
            if method in ("POST", "PUT", "PATCH") and takes_json:
                found.add((method, path))
    return found


def test_every_json_route_is_fuzzed():
    assert set(TEMPLATES) == json_routes()

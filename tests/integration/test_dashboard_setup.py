"""The setup pages and the management API share their rules: the same bad input, sent to both, is
refused with the same message, and the page shows it beside the field it names, with what was typed."""

from __future__ import annotations

import html as html_lib
import json
from typing import Any

import pytest

from tests.integration.test_dashboard_pages import Browser, html


@pytest.fixture
def admin(api: Any) -> Browser:
    return Browser(api, "admin")


def _api_message(api: Any, method: str, path: str, body: dict[str, Any]) -> str:
    r = api.call(method, path, body)
    assert r.status_code == 400, r.body
    return str(json.loads(r.body)["error"]["message"])


def _field_message(page: str, field_id: str) -> str:
    start = page.index(f'id="{field_id}-error">') + len(f'id="{field_id}-error">')
    return html_lib.unescape(page[start : page.index("</p>", start)])


def _channel(api: Any) -> str:
    r = api.call("POST", "/v1/channels", {"name": "Radio", "forward_to": "+12025550144"})
    return str(json.loads(r.body)["id"])


def test_a_backup_phone_that_is_not_one_gets_the_apis_message_beside_its_field(api, admin):
    channel_id = _channel(api)
    # Given the same backup phone sent to the API and typed into the call-handling form
    expected = _api_message(api, "PATCH", f"/v1/channels/{channel_id}", {"flow": {"failover": ["555"]}})
    r = admin.post(
        f"/dashboard/channels/{channel_id}/handling",
        {"csrf": admin.csrf, "failover": "555", "voicemail_prompt": "Typed and kept"},
    )
    # Then the page refuses it with the API's words beside the field, and keeps what was typed
    assert r.status_code == 400
    page = html(r)
    assert _field_message(page, "h-failover") == expected
    assert "Typed and kept" in page


def test_a_pool_with_a_site_that_is_not_an_origin_gets_the_apis_message(api, admin):
    body = {"name": "Site", "allowed_origins": ["example.com"], "original_number": "+12025550199"}
    expected = _api_message(api, "POST", "/v1/pools", {**body, "forward_to": "+12025550144"})
    form = {"csrf": admin.csrf, "name": "Site", "allowed_origins": "example.com", "forward_to": "(202) 555-0144"}
    r = admin.post("/dashboard/pools", {**form, "original_number": "(202) 555-0199"})
    assert r.status_code == 400
    page = html(r)
    assert _field_message(page, "new-allowed_origins") == expected
    assert 'value="(202) 555-0144"' in page  # typed as typed, not as stored


def test_a_forward_to_that_is_a_tracking_number_is_refused_alike(api, admin):
    channel_id = _channel(api)
    bought = json.loads(api.call("POST", "/v1/numbers", {"channel_id": channel_id}).body)["number"]
    expected = _api_message(api, "PATCH", f"/v1/channels/{channel_id}", {"forward_to": bought})
    r = admin.post(f"/dashboard/channels/{channel_id}", {"csrf": admin.csrf, "name": "Radio", "forward_to": bought})
    assert r.status_code == 400
    assert _field_message(html(r), "main-forward_to") == expected


def test_the_pool_page_gives_the_tag_and_points_wordpress_owners_to_the_plugin(api, admin):
    body = {"name": "Site", "allowed_origins": ["https://www.example.com"], "original_number": "+12025550199"}
    pool = json.loads(api.call("POST", "/v1/pools", {**body, "forward_to": "+12025550144"}).body)
    page = html(admin.get(f"/dashboard/pools/{pool['id']}"))
    assert f'data-site="{pool["site_key"]}"' in html_lib.unescape(page)
    assert "Settings → Call tracking" in page and 'id="wordpress-hint"' in page


def test_a_cold_process_reads_the_session_and_the_business_profile_in_one_request(api, admin):
    # Given a pool with a number, and a process that holds neither the profile nor the lines
    from bench.common import counting
    from chalicelib import business
    from chalicelib.dashboard import setup

    body = {"name": "Site", "allowed_origins": ["https://www.example.com"], "original_number": "+12025550199"}
    pool = json.loads(api.call("POST", "/v1/pools", {**body, "forward_to": "+12025550144"}).body)
    from chalicelib.store import business as stored

    stored.save(stored.StoredProfile(name="Shop", timezone="Europe/London"))
    assert admin.get(f"/dashboard/pools/{pool['id']}").status_code == 200  # warm: imports, clients
    business.clear_cache()
    setup.forget_lines()
    # When the pool's page is asked
    with counting() as counter:
        page = admin.get(f"/dashboard/pools/{pool['id']}")
    # Then it makes at most 4 DynamoDB requests (the session and the profile are one BatchGetItem),
    # and the profile it read is the one kept (the business's time zone, not the default)
    assert page.status_code == 200 and counter.total <= 4, dict(counter.ops)
    assert counter.ops.get("BatchGetItem") == 1 and "GetItem" in counter.ops
    assert business.cached() and business.timezone() == "Europe/London"

"""The request context built at each edge: API keys, dashboard sign-in, Twilio signatures, the lease endpoint."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.core import context
from chalicelib.core.context import SYSTEM, TWILIO, RequestContext
from chalicelib.leasing import endpoint
from tests.e2e.test_dashboard_auth import admin, users_mod, viewer  # noqa: F401  (fixtures)
from tests.integration.test_dashboard_pages import Browser as PagesBrowser
from tests.integration.test_dashboard_pages import biz  # noqa: F401  (a fixture)
from tests.integration.test_leases import SITE, UA, lease, make_pool

CALLER = "+14155550111"


@pytest.fixture
def attached(monkeypatch: pytest.MonkeyPatch) -> list[RequestContext]:
    """Every context an edge attaches to a request during the test, in order."""
    seen: list[RequestContext] = []
    real = context.attach

    def spy(request_context: Any, ctx: RequestContext) -> RequestContext:
        seen.append(ctx)
        return real(request_context, ctx)

    # Each edge imported ``attach`` by name (or calls it through the module): patch every one.
    from chalicelib.dashboard import web
    from chalicelib.routes import http, public
    from chalicelib.voice import webhook_auth

    monkeypatch.setattr(context, "attach", spy)
    for module in (web, public, webhook_auth):
        monkeypatch.setattr(module, "attach", spy)
    assert http.context.attach is spy
    return seen


def test_an_api_key_request_carries_its_key_as_the_context(api, attached):
    # When the bootstrap key lists channels
    assert api.call("GET", "/v1/channels").status_code == 200
    # Then the request ran as that key, with every scope, in the one account
    [ctx] = attached
    assert ctx.kind == "api_key" and ctx.actor.startswith("key:") and ctx.allows("admin")
    assert ctx.account_id == context.DEFAULT_ACCOUNT


def test_a_request_without_a_key_gets_no_context(api, attached):
    assert api.call("GET", "/v1/channels", key=None).status_code == 401
    assert attached == []


def test_the_dashboard_admin_is_the_context_of_their_requests(admin, attached):  # noqa: F811
    # Given a signed-in admin, when they open the user admin
    assert admin.get("/dashboard/users").status_code == 200
    # Then the request ran as them, with their role and every scope
    ctx = attached[-1]
    assert (ctx.kind, ctx.actor, ctx.role) == ("user", "admin@example.com", "admin")
    assert ctx.allows("admin")


def test_a_dashboard_viewer_is_a_read_context(viewer, attached):  # noqa: F811
    # Given a signed-in viewer, when they open the calls page
    assert viewer.get("/dashboard/calls").status_code == 200
    # Then the request ran as them, a viewer who reads
    ctx = attached[-1]
    assert (ctx.kind, ctx.actor, ctx.role) == ("user", "viewer@example.com", "viewer")
    assert ctx.scopes == {"read"}


def test_a_signed_twilio_callback_runs_as_twilio(api, attached):
    # When Twilio reports a call's end, signed
    r = api.twilio(
        "/twilio/call-status", {"CallSid": "CA01", "From": CALLER, "To": "+12025550100", "CallStatus": "busy"}
    )
    # Then the request ran as Twilio
    assert r.status_code == 200
    assert attached == [TWILIO]


def test_a_forged_twilio_callback_gets_no_context(api, attached):
    params = {"CallSid": "CA02", "From": CALLER, "To": "+12025550100", "CallStatus": "busy"}
    assert api.twilio("/twilio/call-status", params, signature="forged").status_code == 403
    assert attached == []


def test_a_lease_runs_as_the_pools_site(api, attached):
    # Given a pool on a website
    pool = make_pool(api, size=1)
    attached.clear()
    # When the site script asks for a number
    assert lease(api, pool).status_code == 200
    # Then the request ran as that site, which holds no API scope
    [ctx] = attached
    assert (ctx.kind, ctx.actor) == ("site", f"site:{pool['site_key']}")
    assert ctx.scopes == frozenset()


def test_the_lease_endpoint_hands_its_context_to_a_caller_in_process(api):
    # Given a pool, when the endpoint is called in-process with a callback
    pool = make_pool(api, size=1)
    got: list[RequestContext] = []
    raw = f'{{"site_key": "{pool["site_key"]}", "visitor_id": "visitor-0009", "page_url": "{SITE}/"}}'
    answer, _ = endpoint.lease(raw, SITE, UA, on_context=got.append)
    # Then the site's context is handed over, and the answer is the usual two values
    assert answer["tracked"] and got == [context.for_site(pool["site_key"])]


def test_contexts_live_on_their_request_only():
    # Given two requests' context dicts, when one gets a caller
    first: dict[str, Any] = {}
    second: dict[str, Any] = {}
    context.attach(first, SYSTEM)
    # Then the other has none (nothing global carries it over)
    assert context.of(first) is SYSTEM and context.of(second) is None and context.of(None) is None


def test_the_log_fields_name_the_caller_never_a_secret():
    ctx = context.for_api_key("key:abc", "CI deploys", "write")
    assert ctx.log_fields() == {
        "actor": "key:abc",
        "actor_kind": "api_key",
        "account_id": "default",
        "api_key_name": "CI deploys",
    }
    assert context.for_user("a@example.com", "viewer").log_fields()["actor_kind"] == "user"


def test_a_viewers_outcome_tag_is_logged_as_theirs(api, biz, log_lines):  # noqa: F811
    # Given a call and a signed-in viewer
    sid = biz.call("Google Ads", "+14155550009", talk=75)
    b = PagesBrowser(api)
    # When they tag it a sale on the call page
    form = {"csrf": b.csrf, "outcome": "sale"}
    assert b.post(f"/dashboard/calls/{sid}/outcome", form).status_code == 303
    # Then the change is logged as theirs
    [line] = [line for line in log_lines() if line.get("action") == "calls.set_outcome"]
    assert (line["actor"], line["actor_kind"], line["call_sid"]) == ("viewer@example.com", "user", sid)

"""The setup pages for alerts, webhooks, spend, blocked callers and users, through Chalice's test
client with signed-in sessions (tests/e2e/test_dashboard_outlets.py drives them in Chromium).

Each page's action goes through the API's own domain function, so the same bad input gets the
same words from the page (beside its field, what was typed kept) and from ``/v1/...``.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from tests.integration.test_dashboard_pages import Browser, html
from tests.support.env import body


@pytest.fixture
def admin(api):
    return Browser(api, "admin")


@pytest.fixture
def viewer(api):
    return Browser(api, "viewer")


def field_error(page: str, field: str) -> str:
    m = re.search(rf'<p class="field-error" id="[^"]*{re.escape(field)}-error">([^<]*)</p>', page)
    assert m, f"no error beside {field}"
    import html as h

    return h.unescape(m.group(1))


def api_error(r: Any) -> str:
    assert 400 <= r.status_code < 500, r.body
    return str(body(r)["error"]["message"])


# --- the same rules on both sides -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("page_path", "form", "field", "api_method", "api_path", "api_body"),
    [
        (
            "/dashboard/alerts",
            {"name": "Desk", "channel": "email", "email": "not-an-address"},
            "email",
            "POST",
            "/v1/alerts/recipients",
            {"name": "Desk", "channel": "email", "email": "not-an-address"},
        ),
        (
            "/dashboard/alerts",
            {
                "name": "Desk",
                "channel": "email",
                "email": "a@example.com",
                "quiet_start": "25:00",
                "quiet_end": "07:00",
            },
            "quiet_start",
            "POST",
            "/v1/alerts/recipients",
            {
                "name": "Desk",
                "channel": "email",
                "email": "a@example.com",
                "quiet_hours": {"start": "25:00", "end": "07:00"},
            },
        ),
        (
            "/dashboard/webhooks",
            {"url": "http://example.com/hook", "events": "call.completed"},
            "url",
            "POST",
            "/v1/webhooks",
            {"url": "http://example.com/hook", "events": ["call.completed"]},
        ),
        (
            "/dashboard/blocked",
            {"caller": "not a phone"},
            "caller",
            "PUT",
            "/v1/blocked-callers",
            {"callers": ["not a phone"]},
        ),
    ],
)
def test_a_page_and_the_api_refuse_the_same_input_with_the_same_words(
    api, admin, page_path, form, field, api_method, api_path, api_body
):
    r = admin.post(page_path, {**form, "csrf": admin.csrf})
    assert r.status_code == 400
    page = html(r)
    words = field_error(page, field)
    assert words == api_error(api.call(api_method, api_path, api_body))
    for name, value in form.items():  # what was typed is kept
        if name not in ("events", "channel"):
            assert f'value="{value}"' in page, name


def test_spend_amounts_are_refused_alike_by_the_grid_and_the_api(api, admin):
    ch = body(api.call("POST", "/v1/channels", {"name": "Radio", "forward_to": "+12025550144"}))
    r = admin.post(
        "/dashboard/spend", {"csrf": admin.csrf, f"m|{ch['id']}|2026-10": "1,250", f"w|{ch['id']}|2026-10": ""}
    )
    assert r.status_code == 400
    page = html(r)
    assert 'value="1,250"' in page
    import html as h

    words = h.unescape(re.search(r'<p class="field-error" id="err-[^"]*">([^<]*)</p>', page).group(1))
    assert "ambiguous" in words
    assert words == api_error(
        api.call("PUT", "/v1/spend", {"source": ch["id"], "date": "2026-10-01", "amount": "1,250"})
    )
    csv_text = f'date,source,amount\n2026-10-01,{ch["id"]},"1,250"\n'
    r = api.call("POST", "/v1/spend/import", csv_text, headers={"Content-Type": "text/csv"})
    assert body(r)["error"]["details"]["errors"] == [f"line 2: {words}"]


# --- spend: the grid and the CSV ------------------------------------------------------------------


def test_a_month_typed_into_the_grid_is_spread_over_its_days_and_read_back(api, admin):
    ch = body(api.call("POST", "/v1/channels", {"name": "Radio", "forward_to": "+12025550144"}))
    r = admin.post(
        "/dashboard/spend", {"csrf": admin.csrf, f"m|{ch['id']}|2026-10": "$3,100.00", f"w|{ch['id']}|2026-10": ""}
    )
    assert r.status_code == 200, html(r)
    from chalicelib.store import aggregates

    days = aggregates.spend(ch["id"], "2026-10-01", "2026-10-31")
    assert len(days) == 31 and sum(days.values()) == 3100 and days["2026-10-01"] == 100
    grid = html(admin.get("/dashboard/spend?until=2026-10"))
    assert f'name="m|{ch["id"]}|2026-10"' in grid and 'value="3100.00"' in grid
    odd = admin.post(
        "/dashboard/spend", {"csrf": admin.csrf, f"m|{ch['id']}|2026-02": "100", f"w|{ch['id']}|2026-02": ""}
    )
    assert odd.status_code == 200
    feb = aggregates.spend(ch["id"], "2026-02-01", "2026-02-28")
    assert sum(feb.values()) == 100 and feb["2026-02-01"] == Decimal("3.58") and feb["2026-02-28"] == Decimal("3.57")


def test_the_csv_takes_names_date_forms_and_amounts_as_typed_with_a_preview_first(api, admin):
    ch = body(api.call("POST", "/v1/channels", {"name": "Radio FM", "forward_to": "+12025550144"}))
    text = (
        "date,source,amount\n"
        '11/30/2026,Radio FM,"$1,250.00"\n'
        '01.11.2026,radio fm,"1 250,00"\n'
        "Nov 2 2026,Radio FM,1250\n"
        "2026-11-03,web:google,€80\n"
    )
    preview = admin.post("/dashboard/spend/import", {"csrf": admin.csrf, "csv": text, "action": "preview"})
    assert preview.status_code == 200 and "4 rows ready to save" in html(preview)
    from chalicelib.store import aggregates

    assert aggregates.spend(ch["id"], "2026-11-01", "2026-11-30") == {}  # a preview saves nothing
    saved = admin.post("/dashboard/spend/import", {"csrf": admin.csrf, "csv": text, "action": "save"})
    assert saved.status_code == 201, html(saved)
    days = aggregates.spend(ch["id"], "2026-11-01", "2026-11-30")
    assert days == {"2026-11-30": 1250, "2026-11-01": 1250, "2026-11-02": 1250}
    # The API's import reads the same forms
    r = api.call("POST", "/v1/spend/import", text.replace("$1,250.00", "$10"), headers={"Content-Type": "text/csv"})
    assert r.status_code == 201 and body(r) == {"imported": 4}
    bad = "date,source,amount\n03/04/2026,Radio FM,5\n2026-11-01,Nobody,5\n2026-11-01,Radio FM,1.250\n"
    page = html(admin.post("/dashboard/spend/import", {"csrf": admin.csrf, "csv": bad, "action": "save"}))
    assert "3 rows to fix: nothing was saved" in page and "could be 3/4 or 4/3" in page
    assert "is not a channel" in page and "ambiguous" in page and "03/04/2026" in page
    errors = body(api.call("POST", "/v1/spend/import", bad, headers={"Content-Type": "text/csv"}))["error"]["details"]
    assert [e.split(":")[0] for e in errors["errors"]] == ["line 2", "line 3", "line 4"]


# --- roles and CSRF -------------------------------------------------------------------------------

ADMIN_POSTS = (
    "/dashboard/alerts",
    "/dashboard/alerts/rcp_x/delete",
    "/dashboard/alerts/rcp_x/test",
    "/dashboard/webhooks",
    "/dashboard/webhooks/ep_x/rotate",
    "/dashboard/webhooks/ep_x/test",
    "/dashboard/webhooks/ep_x/delete",
    "/dashboard/webhooks/ep_x/deliveries/msg_x/resend",
    "/dashboard/spend",
    "/dashboard/spend/import",
    "/dashboard/blocked",
    "/dashboard/blocked/remove",
    "/dashboard/users/someone@example.com/role",
    "/dashboard/users/someone@example.com/reset-password",
    "/dashboard/users/someone@example.com/delete",
    "/dashboard/users/someone@example.com/unlock",
)


def test_a_viewers_post_by_hand_is_forbidden_and_so_is_one_without_the_csrf_token(api, admin, viewer):
    # One test over every action (each case costs a request, not a fixture's Argon2 sign-in)
    api.call("PUT", "/v1/blocked-callers", {"callers": ["+12025550100"]})
    for path in ADMIN_POSTS:
        assert viewer.post(path, {"csrf": viewer.csrf, "caller": "+12025550100"}).status_code == 403, path
    for path in [*ADMIN_POSTS, "/dashboard/account/password", "/dashboard/account/phone"]:
        assert admin.post(path, {"caller": "+12025550100"}).status_code == 403, path
        assert admin.post(path, {"caller": "+12025550100", "csrf": "wrong"}).status_code == 403, path
    assert body(api.call("GET", "/v1/blocked-callers"))["callers"] == ["+12025550100"]  # nothing changed


def test_viewers_see_spend_and_blocked_callers_read_only_and_not_alerts_or_webhooks(api, viewer):
    api.call("POST", "/v1/channels", {"name": "Radio", "forward_to": "+12025550144"})
    api.call("PUT", "/v1/blocked-callers", {"callers": ["+12025550100"]})
    spend_page = html(viewer.get("/dashboard/spend"))
    assert "Radio" in spend_page and '<input class="grid-input"' not in spend_page and "Upload a CSV" not in spend_page
    blocked = html(viewer.get("/dashboard/blocked"))
    assert "+12025550100" in blocked and "Unblock" not in blocked and "Block a number" not in blocked
    assert viewer.get("/dashboard/alerts").status_code == 403
    assert viewer.get("/dashboard/webhooks").status_code == 403
    nav = html(viewer.get("/dashboard/spend"))
    assert "/dashboard/alerts" not in nav and "/dashboard/webhooks" not in nav


# --- alerts, webhooks, blocked, users -------------------------------------------------------------


def test_alert_recipients_are_added_edited_tested_and_removed(api, admin, alerting):
    form = {
        "csrf": admin.csrf,
        "name": "Front desk",
        "channel": "email",
        "email": "desk@example.com",
        "events": "missed_call",
        "summary_hour": "8",
        "quiet_start": "22:00",
        "quiet_end": "07:00",
        "limit_count": "5",
        "limit_minutes": "10",
    }
    from urllib.parse import urlencode

    h = {"Cookie": f"ct_session={admin.token}", "Content-Type": "application/x-www-form-urlencoded"}
    raw = urlencode(form) + "&events=voicemail&summaries=daily"
    r = api.client.http.post("/dashboard/alerts", headers=h, body=raw)
    assert r.status_code == 201, html(r)
    (made,) = body(api.call("GET", "/v1/alerts/recipients"))["recipients"]
    assert made["events"] == ["missed_call", "voicemail"] and made["summaries"] == ["daily"]
    assert made["quiet_hours"] == {"start": "22:00", "end": "07:00"} and made["summary_hour"] == 8
    page = html(admin.get(f"/dashboard/alerts?edit={made['id']}"))
    assert 'value="desk@example.com"' in page and "Edit Front desk" in page
    r = admin.post(f"/dashboard/alerts/{made['id']}", {**form, "quiet_start": "", "quiet_end": "", "enabled": "on"})
    assert r.status_code == 200
    assert body(api.call("GET", f"/v1/alerts/recipients/{made['id']}"))["quiet_hours"] is None
    tested = html(admin.post(f"/dashboard/alerts/{made['id']}/test", {"csrf": admin.csrf}))
    assert 'id="test-result"' in tested
    assert "Can alerts be emailed?" in tested
    r = admin.post(f"/dashboard/alerts/{made['id']}/delete", {"csrf": admin.csrf})
    assert r.status_code == 200 and body(api.call("GET", "/v1/alerts/recipients"))["recipients"] == []


def test_a_webhook_secret_is_shown_once_rotated_and_tested_with_its_log(api, admin, stub):
    hook = stub.url + "/hook"
    r = admin.post("/dashboard/webhooks", {"csrf": admin.csrf, "url": hook, "events": "call.completed"})
    assert r.status_code == 201, html(r)
    first = html(r)
    secret = re.search(r'id="secret-value">(whsec_[^<]+)<', first).group(1)
    (ep,) = body(api.call("GET", "/v1/webhooks"))["webhooks"]
    assert ep["events"] == ["call.completed"]
    assert secret not in html(admin.get(f"/dashboard/webhooks/{ep['id']}"))
    assert secret not in html(admin.get("/dashboard/webhooks"))
    rotated = html(admin.post(f"/dashboard/webhooks/{ep['id']}/rotate", {"csrf": admin.csrf, "overlap_hours": "2"}))
    assert "whsec_" in rotated and secret not in rotated
    bad = admin.post(f"/dashboard/webhooks/{ep['id']}/rotate", {"csrf": admin.csrf, "overlap_hours": "999"})
    assert bad.status_code == 400 and 'value="999"' in html(bad)
    assert field_error(html(bad), "overlap_hours") == api_error(
        api.call("POST", f"/v1/webhooks/{ep['id']}/rotate-secret", {"overlap_hours": 999})
    )
    tested = html(admin.post(f"/dashboard/webhooks/{ep['id']}/test", {"csrf": admin.csrf}))
    assert "your endpoint answered <strong>200</strong>" in tested and "webhook.test" in tested
    assert stub.paths("/hook")[0]["type"] == "webhook.test"
    # an edit refused keeps what was typed in that endpoint's form, with the words beside the field
    r = admin.post(f"/dashboard/webhooks/{ep['id']}", {"csrf": admin.csrf, "url": hook, "events": "call.nothing"})
    assert r.status_code == 400 and "must be a non-empty list" in field_error(html(r), f"{ep['id']}-events")
    r = admin.post(f"/dashboard/webhooks/{ep['id']}/delete", {"csrf": admin.csrf})
    assert r.status_code == 200 and body(api.call("GET", "/v1/webhooks"))["webhooks"] == []


def test_blocking_a_caller_from_a_calls_page_and_unblocking(api, admin):
    r = admin.post("/dashboard/blocked", {"csrf": admin.csrf, "caller": "(202) 555-0144", "call": "CA" + "1" * 32})
    assert r.status_code == 303 and r.headers["Location"].endswith("?blocked=1")
    assert body(api.call("GET", "/v1/blocked-callers"))["callers"] == ["+12025550144"]
    r = admin.post("/dashboard/blocked", {"csrf": admin.csrf, "caller": "+1900*"})
    assert r.status_code == 200 and body(api.call("GET", "/v1/blocked-callers"))["callers"] == [
        "+12025550144",
        "+1900*",
    ]
    r = admin.post("/dashboard/blocked/remove", {"csrf": admin.csrf, "caller": "+12025550144"})
    assert r.status_code == 200 and body(api.call("GET", "/v1/blocked-callers"))["callers"] == ["+1900*"]


def test_users_roles_passwords_and_the_last_admin(api, admin):
    from chalicelib.dashboard import users, websessions

    users.create_user("sam@example.com", "viewer", "sams first password")
    token = websessions.start("sam@example.com", "viewer")
    r = admin.post("/dashboard/users/sam@example.com/role", {"csrf": admin.csrf, "role": "admin"})
    assert r.status_code == 200 and users.get_user("sam@example.com")["role"] == "admin"
    assert websessions.current(token) is None  # the new role holds from the next sign-in
    page = html(admin.post("/dashboard/users/sam@example.com/reset-password", {"csrf": admin.csrf}))
    new = re.search(r'<code class="secret">([^<]+)</code>', page).group(1)
    assert users.authenticate("sam@example.com", new, "203.0.113.9")["email"] == "sam@example.com"
    r = admin.post("/dashboard/users/sam@example.com/delete", {"csrf": admin.csrf})
    assert r.status_code == 200 and users.get_user("sam@example.com") is None
    # the last admin can be neither demoted nor deleted, and nobody deletes themselves
    with pytest.raises(Exception, match="last admin"):
        users.delete_user("admin@example.com")
    assert admin.post("/dashboard/users/admin@example.com/delete", {"csrf": admin.csrf}).status_code == 400
    r = admin.post("/dashboard/users/nobody@example.com/unlock", {"csrf": admin.csrf})
    assert r.status_code == 404


def test_your_own_password_needs_the_current_one(api, admin):
    from chalicelib.dashboard import users

    r = admin.post(
        "/dashboard/account/password",
        {"csrf": admin.csrf, "current_password": "wrong", "new_password": "x" * 12, "new_password_again": "x" * 12},
    )
    assert r.status_code == 400 and "is not your current password" in field_error(html(r), "current_password")
    r = admin.post(
        "/dashboard/account/password",
        {
            "csrf": admin.csrf,
            "current_password": "a long enough password 123",
            "new_password": "a new long password",
            "new_password_again": "a new long password",
        },
    )
    assert r.status_code == 200 and "Your password is changed" in html(r)
    assert admin.get("/dashboard/account").status_code == 200  # this session goes on
    assert users.authenticate("admin@example.com", "a new long password", "203.0.113.9")


def test_a_calls_delivery_shows_in_the_log_and_is_resent_from_it(api, admin, stub):
    from tests.integration.test_events import callbacks, line
    from tests.support.database import pump

    r = admin.post("/dashboard/webhooks", {"csrf": admin.csrf, "url": stub.url + "/hook", "events": "call.completed"})
    assert r.status_code == 201
    (ep,) = body(api.call("GET", "/v1/webhooks"))["webhooks"]
    for path, params in callbacks("CA" + "7" * 32, line(api), "+14155550123", answered=True):
        assert api.twilio(path, params).status_code == 200
    pump().drain()
    page = html(admin.get(f"/dashboard/webhooks/{ep['id']}"))
    (delivery,) = re.findall(r"/deliveries/(msg_[0-9a-f]+)/resend", page)
    assert "call.completed" in page and ">200<" in page.replace(" ", "")
    resent = admin.post(f"/dashboard/webhooks/{ep['id']}/deliveries/{delivery}/resend", {"csrf": admin.csrf})
    assert resent.status_code == 200 and f"Delivery {delivery} is queued again" in html(resent)
    pump().drain()
    assert [b["type"] for b in stub.paths("/hook")] == ["call.completed", "call.completed"]
    assert (
        admin.post(f"/dashboard/webhooks/{ep['id']}/deliveries/msg_nope/resend", {"csrf": admin.csrf}).status_code
        == 404
    )


def test_the_sender_check_says_what_to_do_next(api, admin, alerting, settings_env):
    page = html(admin.get("/dashboard/alerts"))
    assert 'id="sender-state">Ready<' in page and "SUCCESS" in page
    settings_env(ALERTS_FROM_EMAIL="alerts@unverified.example")
    page = html(admin.get("/dashboard/alerts"))
    assert 'id="sender-state">Not ready<' in page
    steps = re.search(r'<ol class="next-steps">(.*?)</ol>', page, re.S).group(1)
    import html as h

    assert h.unescape(steps).count("<li>") == 1 and "SES has no identity for alerts@unverified.example" in h.unescape(
        steps
    )
    assert body(api.call("GET", "/v1/alerts/sender"))["problems"][0] in h.unescape(steps)


def test_a_slack_test_shows_what_slack_answered_and_the_secret_never(api, admin, alerting, stub):
    from tests.support.alerts import SLACK_PATH

    hook = stub.url + SLACK_PATH
    r = admin.post(
        "/dashboard/alerts",
        {"csrf": admin.csrf, "name": "#sales", "channel": "slack", "slack_webhook_url": hook, "events": "missed_call"},
    )
    assert r.status_code == 201, html(r)
    assert hook not in html(r) and SLACK_PATH not in html(r)
    (made,) = body(api.call("GET", "/v1/alerts/recipients"))["recipients"]
    edit = html(admin.get(f"/dashboard/alerts?edit={made['id']}"))
    assert SLACK_PATH not in edit and made["secret_hint"] in edit  # only its last four characters
    stub.answers.append(500)
    tested = html(admin.post(f"/dashboard/alerts/{made['id']}/test", {"csrf": admin.csrf}))
    assert "The test to #sales failed. The channel answered:" in tested and "500" in tested
    tested = html(admin.post(f"/dashboard/alerts/{made['id']}/test", {"csrf": admin.csrf}))
    assert "Test sent to #sales: the channel accepted it" in tested
    assert [b["text"] for b in stub.paths(SLACK_PATH)][-1]  # the message reached the stub

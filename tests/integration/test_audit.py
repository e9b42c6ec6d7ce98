"""The audit log: who changed what, when and from where; kept for AUDIT_RETENTION_DAYS; read by
admins (GET /v1/audit, admin scope), written by no route."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlencode

import pytest

from chalicelib.access import apikeys
from chalicelib.core import clock
from tests.integration.test_dashboard_pages import Browser
from tests.support.env import body

T = 1_790_000_000.0


@pytest.fixture
def fixed(api):
    fake = clock.FakeClock(T)
    clock.set_source(fake)
    return fake


def audit(api: Any, key: str | None = None, **q: str) -> Any:
    path = "/v1/audit" + ("?" + urlencode(q) if q else "")
    return api.call("GET", path, **({"key": key} if key else {}))


def test_a_keys_changes_are_entries_with_who_when_what_and_where(api, fixed):
    # Given an admin key and a write key
    admin = apikeys.create("owner's script", "admin")
    writer = apikeys.create("CRM sync", "write")
    # When the write key adds and renames a channel
    ch = body(api.call("POST", "/v1/channels", {"name": "Radio", "forward_to": "+12025550144"}, key=writer["key"]))
    fixed.advance(1)
    api.call("PATCH", f"/v1/channels/{ch['id']}", {"name": "Radio FM"}, key=writer["key"])
    # Then the admin reads both, newest first, with the key's id and name, the time and the address
    page = body(audit(api, admin["key"]))
    mine = [e for e in page["entries"] if e["actor"] == f"key:{writer['id']}"]
    assert [e["action"] for e in mine] == ["channels.update", "channels.create"]
    assert mine[0]["details"] == {"channel_id": ch["id"]}
    assert mine[0]["api_key_name"] == "CRM sync" and mine[0]["actor_kind"] == "api_key"
    assert mine[0]["at"] == "2026-09-21T14:13:21Z" and mine[0]["source"]  # T + 1 s
    # And the keys' own creation is there too (made outside a request: by the system, not logged)
    assert all(e["action"] != "api_keys.create" for e in page["entries"])


def test_only_admins_read_it_and_no_route_writes_it(api, fixed):
    reader = apikeys.create("dashboard TV", "read")["key"]
    writer = apikeys.create("CRM", "write")["key"]
    for key in (reader, writer):
        r = audit(api, key)
        assert r.status_code == 403 and "admin" in json.loads(r.body)["error"]["message"]
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        r = api.call(method, "/v1/audit", {"action": "forged"})
        assert r.status_code in (403, 404, 405), (method, r.status_code)
    assert body(audit(api))["entries"] == []  # the bootstrap key changed nothing: nothing was forged


def test_entries_expire_after_the_retention_and_page_with_a_cursor(api, fixed, settings_env):
    from chalicelib.core.settings import get_settings
    from tests.support import snapshot

    # Given retention of 90 days and three changes by a key
    settings_env(AUDIT_RETENTION_DAYS="90")
    key = apikeys.create("ops", "admin")["key"]
    for name in ("A", "B", "C"):
        api.call("POST", "/v1/channels", {"name": name, "forward_to": "+12025550144"}, key=key)
        fixed.advance(1)
    # Then each entry expires 90 days after it was made (DynamoDB TTL)
    items = [i for i in snapshot.tables()[get_settings().table_name("counters")] if i["pk"]["S"].startswith("AUDIT#")]
    assert len(items) == 3
    assert all(int(i["expires_at"]["N"]) - int(i["sk"]["S"][:13]) // 1000 == 90 * 86_400 for i in items)
    # And two pages of two and one give the three, newest first
    first = body(audit(api, key, limit="2"))
    second = body(audit(api, key, limit="2", cursor=first["next"]))
    assert second["next"] is None
    ats = [e["at"] for e in first["entries"] + second["entries"]]
    assert len(ats) == 3 and ats == sorted(ats, reverse=True)


@pytest.mark.parametrize(
    ("q", "words"),
    [
        ({"from": "yesterday"}, "'from' must be a date"),
        ({"to": "2026-02-30"}, "real date"),
        ({"from": "2026-10-02", "to": "2026-10-01"}, "after"),
        ({"limit": "0"}, "'limit'"),
        ({"limit": "abc"}, "'limit'"),
        ({"cursor": "x"}, "'cursor'"),
        ({"actor": "me"}, "unknown parameter"),
    ],
)
def test_bad_queries_are_400s_that_say_why(api, q, words):
    r = audit(api, **q)
    assert r.status_code == 400 and words in json.loads(r.body)["error"]["message"]


def _signin(api: Any, email: str, password: str) -> Any:
    page = api.client.http.get("/dashboard/signin")
    text = page.body.decode() if isinstance(page.body, bytes) else page.body
    csrf = re.search(r'name="csrf" value="([^"]+)"', text).group(1)  # type: ignore[union-attr]
    headers = {"Cookie": f"ct_signin={csrf}", "Content-Type": "application/x-www-form-urlencoded"}
    form = urlencode({"csrf": csrf, "email": email, "password": password})
    return api.client.http.post("/dashboard/signin", headers=headers, body=form)


def test_sign_ins_failed_ones_and_a_users_changes_are_entries(api, fixed):
    from chalicelib.dashboard import users

    # Given a user
    users.create_user("owner@example.com", "admin", "a long enough password 123")
    # When someone fails to sign in as them, then they sign in
    assert _signin(api, "owner@example.com", "wrong password 1234567").status_code == 401
    assert _signin(api, "owner@example.com", "a long enough password 123").status_code == 303
    # And an admin adds a user and disables them in the dashboard
    admin = Browser(api, "admin")
    admin.post("/dashboard/users", {"csrf": admin.csrf, "email": "temp@example.com", "role": "viewer"})
    admin.post("/dashboard/users/temp%40example.com/disable", {"csrf": admin.csrf})
    # Then each is in the log with who and from where, and no password is
    entries = body(audit(api))["entries"]
    seen = [(e["action"], e["actor"]) for e in entries][::-1]
    assert ("users.signin_failed", "owner@example.com") in seen
    assert ("users.signin", "owner@example.com") in seen
    assert ("users.create", "admin@example.com") in seen and ("users.disable", "admin@example.com") in seen
    failed = next(e for e in entries if e["action"] == "users.signin_failed")
    assert failed["details"] == {"reason": "wrong_credentials"} and failed["source"]
    assert "password" not in json.dumps(entries)


def test_the_audit_page_is_for_admins_and_says_a_bad_date_next_to_it(api, fixed):
    from tests.integration.test_dashboard_pages import html

    # Given an admin who added a user, and a viewer
    admin = Browser(api, "admin")
    admin.post("/dashboard/users", {"csrf": admin.csrf, "email": "temp@example.com", "role": "viewer"})
    viewer = Browser(api, "viewer")
    # When the admin opens the audit page
    page = admin.get("/dashboard/audit")
    # Then the change is there, who made it and what
    text = html(page)
    assert page.status_code == 200 and "users.create" in text and "email: temp@example.com" in text
    assert 'aria-current="page">Audit' in text
    # And a viewer is refused
    assert viewer.get("/dashboard/audit").status_code == 403
    # And a hand-made bad date is a 400 whose message is next to its field, the typed value kept
    bad = admin.get("/dashboard/audit?from=2026-13-01")
    text = html(bad)
    assert bad.status_code == 400 and 'id="audit-error"' in text and 'value="2026-13-01"' in text

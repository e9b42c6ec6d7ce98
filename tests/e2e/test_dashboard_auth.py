"""Who may use the dashboard: sign-in and sign-out, sessions and their limits, CSRF, attempt limits,
roles, the user admin, headers; then the same pages in Debian's Chromium (axe-core, screenshots).

The first part drives the app through Chalice's test client with a small cookie jar (a
``Browser``), against the embedded DynamoDB; the last part uses the shared browser helpers of
``tests/support/dashboard.py`` on the app served like ``chalice local``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.support import dashboard as dash
from tests.unit.test_dashboard_auth import ROOT

FORM = "application/x-www-form-urlencoded"
PASSWORD = "correct horse battery staple"
STAGE_PATH = "/api"  # the path of the tests' PUBLIC_BASE_URL


# ---------------------------------------------------------------------------------------------- helpers


class Browser:
    """A browser over Chalice's test client: keeps cookies, reads the CSRF token off pages."""

    def __init__(self, client: Any, source_ip: str = "127.0.0.1") -> None:
        self.client = client
        self.cookies: dict[str, str] = {}
        self.last: Any = None
        self.source_ip = source_ip  # the address API Gateway sees this browser at (chalice local's own)

    def _from_here(self) -> None:
        # Chalice's test client writes one fixed sourceIp into every event; this browser has its own.
        self.client.http._local_gateway.event_converter.LOCAL_SOURCE_IP = self.source_ip

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        h = dict(extra or {})
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return h

    def _keep(self, response: Any) -> Any:
        raw = response.headers.get("Set-Cookie") or []
        for line in [raw] if isinstance(raw, str) else raw:
            name, _, rest = line.partition("=")
            value = rest.split(";", 1)[0]
            if "Max-Age=0" in line or not value:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        self.last = response
        return response

    def get(self, path: str, headers: dict[str, str] | None = None) -> Any:
        self._from_here()
        return self._keep(self.client.http.get(path, headers=self._headers(headers)))

    def post(self, path: str, fields: dict[str, str] | None = None, headers: dict[str, str] | None = None) -> Any:
        h = self._headers({"Content-Type": FORM, **(headers or {})})
        self._from_here()
        return self._keep(self.client.http.post(path, headers=h, body=urlencode(fields or {})))

    def csrf(self) -> str:
        m = re.search(r'name="csrf" value="([^"]*)"', self.last.body.decode())
        assert m, "no CSRF field on the page"
        return m.group(1)

    def sign_in(self, email: str, password: str = PASSWORD, *, next_path: str = "/dashboard/users") -> Any:
        self.get("/dashboard/signin?" + urlencode({"next": next_path}))
        fields = {"csrf": self.csrf(), "email": email, "password": password, "next": next_path}
        return self.post("/dashboard/signin", fields)


def text(response: Any) -> str:
    return str(response.body.decode() if isinstance(response.body, bytes) else response.body)


def header(response: Any, name: str) -> Any:
    for key, value in response.headers.items():
        if key.lower() == name.lower():
            return value
    return None


def set_cookies(response: Any) -> list[str]:
    raw = header(response, "Set-Cookie") or []
    return [raw] if isinstance(raw, str) else list(raw)


def session_item(token: str) -> Any:
    from chalicelib.dashboard import websessions
    from chalicelib.store import keys
    from chalicelib.store.models import CounterModel

    try:
        return CounterModel.get(*keys.web_session(websessions.session_id(token)))
    except CounterModel.DoesNotExist:
        return None


def routed(api: Any, path: str, method: str = "GET") -> bool:
    """Whether the app routes ``path`` (the local gateway answers 403 ``Missing Authentication Token`` otherwise)."""
    response = getattr(api.client.http, method.lower())(path)
    return not (response.status_code == 403 and b"Missing Authentication Token" in response.body)


@pytest.fixture
def users_mod(tables: None) -> Any:
    from chalicelib.dashboard import users

    return users


@pytest.fixture
def admin(api: Any, users_mod: Any) -> Browser:
    users_mod.create_user("admin@example.com", "admin", PASSWORD)
    b = Browser(api.client)
    assert b.sign_in("admin@example.com").status_code == 303
    return b


@pytest.fixture
def viewer(api: Any, users_mod: Any) -> Browser:
    users_mod.create_user("viewer@example.com", "viewer", PASSWORD)
    b = Browser(api.client)
    assert b.sign_in("viewer@example.com", next_path="/dashboard/signin").status_code == 303
    return b


# ---------------------------------------------------------------------------------------------- sign-in and out


def test_sign_in_sets_a_scoped_httponly_lax_secure_cookie_and_lands_on_next(api: Any, users_mod: Any) -> None:
    # Given a user
    users_mod.create_user("Owner@Example.com", "admin", PASSWORD)
    b = Browser(api.client)
    # When they sign in with the email typed differently
    r = b.sign_in("  OWNER@example.COM ", next_path="/dashboard/users?x=1")
    # Then they are sent where they were going, under the stage path
    assert r.status_code == 303
    assert header(r, "Location") == f"{STAGE_PATH}/dashboard/users?x=1"
    session = next(c for c in set_cookies(r) if c.startswith("ct_session="))
    attrs = {a.strip().split("=")[0]: a.strip() for a in session.split(";")[1:]}
    assert attrs["Path"] == f"Path={STAGE_PATH}/dashboard"
    assert {"HttpOnly", "SameSite", "Secure"} <= set(attrs) and attrs["SameSite"] == "SameSite=Lax"
    assert "Max-Age" not in attrs  # a browser session cookie; the server decides when it ends
    # and the sign-in form's own token cookie is cleared
    assert any(c.startswith("ct_signin=;") and "Max-Age=0" in c for c in set_cookies(r))
    # and the page works with the cookie
    page = b.get("/dashboard/users")
    assert page.status_code == 200 and "owner@example.com" in text(page)


def test_sign_out_deletes_the_session_and_the_old_cookie_no_longer_works(admin: Browser) -> None:
    token = admin.cookies["ct_session"]
    assert session_item(token) is not None
    admin.get("/dashboard/users")
    # When they sign out with the page's token
    r = admin.post("/dashboard/signout", {"csrf": admin.csrf()})
    # Then the session item is gone, the cookie cleared, and they are at sign-in
    assert r.status_code == 303 and header(r, "Location") == f"{STAGE_PATH}/dashboard/signin"
    assert session_item(token) is None
    assert "ct_session" not in admin.cookies
    # and the old cookie, replayed, is sent to sign-in
    admin.cookies["ct_session"] = token
    again = admin.get("/dashboard/users")
    assert again.status_code == 303 and "/dashboard/signin" in header(again, "Location")


def test_the_session_cookie_holds_a_token_the_table_never_stores(admin: Browser) -> None:
    token = admin.cookies["ct_session"]
    item = session_item(token)
    stored = repr(item.attribute_values)
    assert token not in stored and len(token) >= 43


def test_sign_in_makes_a_new_session_id_and_ends_the_one_the_browser_had(api: Any, users_mod: Any) -> None:
    # Given an attacker's planted cookie and a session the browser already had
    users_mod.create_user("a@example.com", "admin", PASSWORD)
    b = Browser(api.client)
    b.sign_in("a@example.com")
    old = b.cookies["ct_session"]
    # When the browser, still holding it, signs in again
    b.get("/dashboard/signin?next=/dashboard/users")
    assert b.last.status_code == 303  # already signed in: straight on
    fields = {"csrf": "x", "email": "a@example.com", "password": PASSWORD}
    b.cookies["ct_signin"] = "x"
    r = b.post("/dashboard/signin", fields)
    # Then a new id is issued and the old session is over
    assert r.status_code == 303
    assert b.cookies["ct_session"] != old
    assert session_item(old) is None
    planted = Browser(api.client)
    planted.cookies = {"ct_session": "A" * 43, "ct_signin": "y"}
    r = planted.post("/dashboard/signin", {"csrf": "y", "email": "a@example.com", "password": PASSWORD})
    assert planted.cookies["ct_session"] != "A" * 43


def test_wrong_password_and_unknown_email_get_the_same_answer(api: Any, users_mod: Any) -> None:
    users_mod.create_user("known@example.com", "viewer", PASSWORD)
    answers = []
    for email in ("known@example.com", "nobody@example.com"):
        b = Browser(api.client)
        r = b.sign_in(email, "wrong password here")
        body = re.sub(r'value="[^"]*"', "", text(r))  # tokens and the typed email differ
        answers.append((r.status_code, body))
    assert answers[0][0] == answers[1][0] == 401
    assert answers[0][1] == answers[1][1]
    assert "do not match" in answers[0][1]


def test_a_disabled_user_is_refused_with_the_same_words(api: Any, users_mod: Any) -> None:
    users_mod.create_user("gone@example.com", "viewer", PASSWORD)
    users_mod.set_disabled("gone@example.com", True)
    r = Browser(api.client).sign_in("gone@example.com")
    assert r.status_code == 401 and "do not match" in text(r)


def test_an_open_redirect_through_sign_in_lands_on_the_overview(api: Any, users_mod: Any) -> None:
    users_mod.create_user("a@example.com", "admin", PASSWORD)
    r = Browser(api.client).sign_in("a@example.com", next_path="//evil.example/")
    assert header(r, "Location") == f"{STAGE_PATH}/dashboard"


# ---------------------------------------------------------------------------------------------- signed out


@pytest.mark.parametrize("path", dash.PAGES)
def test_a_signed_out_browser_is_sent_to_sign_in_from_every_page(api: Any, path: str) -> None:
    if not routed(api, path):
        pytest.skip(f"{path} is not routed in this branch yet")
    r = Browser(api.client).get(path)
    assert r.status_code == 303
    assert header(r, "Location") == f"{STAGE_PATH}/dashboard/signin?" + urlencode({"next": path})


@pytest.mark.parametrize("path", dash.ACTIONS)
def test_a_state_change_without_a_session_is_401(api: Any, path: str) -> None:
    if not routed(api, path, "POST"):
        pytest.skip(f"{path} is not routed in this branch yet")
    r = Browser(api.client).post(path, {"csrf": "anything"})
    assert r.status_code == 401
    assert header(r, "Content-Type").startswith("text/html")


# ---------------------------------------------------------------------------------------------- CSRF


@pytest.mark.parametrize("path", dash.ACTIONS)
@pytest.mark.parametrize("token", [None, "", "wrong-token"])
def test_a_state_change_without_the_right_csrf_token_is_refused(
    admin: Browser, users_mod: Any, api: Any, path: str, token: str | None
) -> None:
    if not routed(api, path, "POST"):
        pytest.skip(f"{path} is not routed in this branch yet")
    users_mod.create_user("someone@example.com", "viewer", PASSWORD)
    before = users_mod.list_users()
    fields = {"email": "new@example.com", "role": "admin"} | ({} if token is None else {"csrf": token})
    r = admin.post(path, fields)
    assert r.status_code == 403
    assert "did not come from this dashboard" in text(r)
    assert users_mod.list_users() == before  # nothing changed
    assert session_item(admin.cookies["ct_session"]) is not None  # not even sign-out


def test_the_csrf_token_may_come_in_a_header(admin: Browser, users_mod: Any) -> None:
    """For a page script's fetch(): the token in ``X-CSRF-Token`` instead of a form field."""
    admin.get("/dashboard/users")
    token = admin.csrf()
    r = admin.post("/dashboard/users", {"email": "hdr@example.com", "role": "viewer"}, headers={"X-CSRF-Token": token})
    assert r.status_code == 201
    assert users_mod.get_user("hdr@example.com")["role"] == "viewer"
    r = admin.post("/dashboard/users", {"email": "h2@example.com", "role": "viewer"}, headers={"X-CSRF-Token": "no"})
    assert r.status_code == 403


def test_json_bodies_are_read_by_check_csrf(admin: Browser) -> None:
    """``check_csrf`` also reads a JSON object (for a page route that takes one)."""
    from chalicelib.dashboard import web

    admin.get("/dashboard/users")
    viewer = web.Viewer("admin@example.com", "admin", admin.csrf(), "x")
    body = json.dumps({"csrf": admin.csrf(), "n": 3, "s": "x"})
    request = type("R", (), {"headers": {"content-type": "application/json"}, "raw_body": body.encode()})()
    assert web.check_csrf(request, viewer) == {"csrf": admin.csrf(), "n": "3", "s": "x"}  # type: ignore[arg-type]
    bad = type("R", (), {"headers": {"content-type": "application/json"}, "raw_body": b'{"csrf": "no"}'})()
    with pytest.raises(Exception, match="did not come from"):
        web.check_csrf(bad, viewer)  # type: ignore[arg-type]


def test_another_sessions_token_is_refused(api: Any, admin: Browser, users_mod: Any) -> None:
    users_mod.create_user("second@example.com", "admin", PASSWORD)
    other = Browser(api.client)
    other.sign_in("second@example.com")
    other.get("/dashboard/users")
    admin.get("/dashboard/users")
    assert other.csrf() != admin.csrf()
    r = admin.post("/dashboard/users", {"csrf": other.csrf(), "email": "x@example.com", "role": "admin"})
    assert r.status_code == 403


@pytest.mark.parametrize("cookie, field", [(None, "t"), ("t", None), ("t", "u"), ("", "")])
def test_the_sign_in_form_needs_its_own_token(api: Any, users_mod: Any, cookie: str | None, field: str | None) -> None:
    users_mod.create_user("a@example.com", "admin", PASSWORD)
    b = Browser(api.client)
    if cookie is not None:
        b.cookies["ct_signin"] = cookie
    fields = {"email": "a@example.com", "password": PASSWORD} | ({"csrf": field} if field is not None else {})
    r = b.post("/dashboard/signin", fields)
    assert r.status_code == 403
    assert "ct_session" not in b.cookies


# ---------------------------------------------------------------------------------------------- attempt limits
# Attempts count per fixed 15-minute window: a test that counts them stands the clock still
# (``fake_clock``), or a run that crosses a window's edge (at :00, :15, :30, :45) starts counting again.


def test_five_wrong_passwords_make_the_next_try_429_even_with_the_right_one(
    api: Any, users_mod: Any, fake_clock: Any
) -> None:
    users_mod.create_user("a@example.com", "admin", PASSWORD)
    b = Browser(api.client)
    for _ in range(5):
        assert b.sign_in("a@example.com", "not the password").status_code == 401
    # When the right password comes sixth
    r = b.sign_in("a@example.com")
    # Then it is refused with Retry-After (the rest of the 15-minute window), no session
    assert r.status_code == 429
    retry = int(header(r, "Retry-After"))
    assert 0 < retry <= 15 * 60
    assert "Too many sign-in attempts" in text(r)
    assert "ct_session" not in b.cookies
    # and after that many seconds the right password works again
    fake_clock.advance(retry)
    assert b.sign_in("a@example.com").status_code == 303


def test_past_the_limit_the_password_is_not_even_checked(
    api: Any, users_mod: Any, monkeypatch: pytest.MonkeyPatch, fake_clock: Any
) -> None:
    users_mod.create_user("a@example.com", "admin", PASSWORD)
    b = Browser(api.client)
    for _ in range(5):
        b.sign_in("a@example.com", "wrong wrong wrong")
    checked: list[str] = []
    real = users_mod.hasher()

    class Spy:
        def verify(self, stored: str, password: str) -> bool:
            checked.append(password)
            return bool(real.verify(stored, password))

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

    monkeypatch.setattr(users_mod, "hasher", Spy)
    assert b.sign_in("a@example.com").status_code == 429
    assert checked == []
    # (and the spy does see a check when one happens)
    Browser(b.client).sign_in("other@example.com", "anything at all")
    assert checked == ["anything at all"]


def test_unknown_emails_count_too_and_other_emails_are_not_locked(api: Any, users_mod: Any, fake_clock: Any) -> None:
    users_mod.create_user("a@example.com", "admin", PASSWORD)
    b = Browser(api.client)
    for _ in range(5):
        b.sign_in("ghost@example.com", "whatever at all")
    assert b.sign_in("ghost@example.com", "whatever at all").status_code == 429
    assert b.sign_in("a@example.com").status_code == 303


def test_a_right_password_does_not_count_as_a_failure(api: Any, users_mod: Any) -> None:
    users_mod.create_user("a@example.com", "admin", PASSWORD)
    for _ in range(8):
        assert Browser(api.client).sign_in("a@example.com").status_code == 303


def test_one_address_is_limited_across_emails_whatever_x_forwarded_for_says(
    api: Any, users_mod: Any, settings_env: Any, fake_clock: Any
) -> None:
    settings_env(DASHBOARD_SIGNIN_IP_LIMIT="7")
    users_mod.create_user("a@example.com", "admin", PASSWORD)
    b = Browser(api.client)
    for i in range(7):
        r = b.sign_in(f"user{i}@example.com", "wrong", next_path="/dashboard")
        assert r.status_code == 401
    # A rotating X-Forwarded-For changes nothing: the address is API Gateway's sourceIp
    b.get("/dashboard/signin")
    fields = {"csrf": b.csrf(), "email": "a@example.com", "password": PASSWORD}
    r = b.post("/dashboard/signin", fields, headers={"X-Forwarded-For": "203.0.113.9"})
    assert r.status_code == 429 and int(header(r, "Retry-After")) > 0
    # while another address (the function, as a Lambda event from elsewhere would reach it) still gets in
    assert users_mod.authenticate("a@example.com", PASSWORD, "198.51.100.7")["email"] == "a@example.com"


def test_attempts_arriving_at_once_check_no_more_than_five_passwords(users_mod: Any, fake_clock: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from chalicelib.dashboard.signin_limits import SignInLimited

    users_mod.create_user("a@example.com", "admin", PASSWORD)

    def attempt(_: int) -> str:
        try:
            users_mod.authenticate("a@example.com", "wrong password", "192.0.2.1")
        except SignInLimited:
            return "limited"
        except users_mod.WrongCredentials:
            return "checked"
        return "in"

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(attempt, range(16)))
    assert outcomes.count("checked") == 5 and outcomes.count("limited") == 11


HOME = "198.51.100.7"  # the owner's usual address
ELSEWHERE = "203.0.113.66"  # somebody else's


def test_wrong_passwords_from_elsewhere_do_not_lock_the_owner_out_of_their_usual_address(
    api: Any, users_mod: Any, fake_clock: Any
) -> None:
    # Given the only admin, who signs in from their usual address
    users_mod.create_user("a@example.com", "admin", PASSWORD)
    assert Browser(api.client, source_ip=HOME).sign_in("a@example.com").status_code == 303
    # When someone at another address tries five wrong passwords
    attacker = Browser(api.client, source_ip=ELSEWHERE)
    for _ in range(5):
        assert attacker.sign_in("a@example.com", "not the password").status_code == 401
    # Then the owner still signs in from their usual address
    assert Browser(api.client, source_ip=HOME).sign_in("a@example.com").status_code == 303
    # while the other address is refused with Retry-After, even with the right password
    r = attacker.sign_in("a@example.com")
    assert r.status_code == 429 and 0 < int(header(r, "Retry-After")) <= 15 * 60
    assert "ct_session" not in attacker.cookies


def test_an_email_tried_from_many_new_addresses_is_held_to_its_ceiling(users_mod: Any, settings_env: Any) -> None:
    from chalicelib.dashboard.signin_limits import SignInLimited

    settings_env(DASHBOARD_SIGNIN_EMAIL_CEILING="6")
    users_mod.create_user("a@example.com", "admin", PASSWORD)
    # Given six wrong passwords from three addresses the user never signed in from, two each
    for n in range(6):
        with pytest.raises(users_mod.WrongCredentials):
            users_mod.authenticate("a@example.com", "wrong password", f"203.0.113.{n // 2}")
    # When a fourth new address tries, with the right password
    with pytest.raises(SignInLimited) as refused:
        users_mod.authenticate("a@example.com", PASSWORD, "203.0.113.50")
    # Then it is refused for the rest of the window, said in Retry-After
    assert 0 < refused.value.retry_after <= 15 * 60
    assert refused.value.headers == {"Retry-After": str(refused.value.retry_after)}


def test_addresses_the_user_signed_in_from_are_not_held_to_the_ceiling_for_30_days(
    users_mod: Any, settings_env: Any, fake_clock: Any
) -> None:
    from chalicelib.dashboard.signin_limits import SignInLimited
    from chalicelib.store import keys
    from chalicelib.store.models import CounterModel

    settings_env(DASHBOARD_SIGNIN_EMAIL_CEILING="2")
    users_mod.create_user("a@example.com", "admin", PASSWORD)

    def reach_the_ceiling() -> None:
        for ip in ("203.0.113.1", "203.0.113.2"):
            with pytest.raises(users_mod.WrongCredentials):
                users_mod.authenticate("a@example.com", "wrong password", ip)
        with pytest.raises(SignInLimited):
            users_mod.authenticate("a@example.com", PASSWORD, "203.0.113.3")

    # Given the owner signed in from their usual address a week ago (kept hashed, never as typed)
    users_mod.authenticate("a@example.com", PASSWORD, HOME)
    assert HOME not in repr(CounterModel.get(*keys.dashboard_user("a@example.com")).attribute_values)
    fake_clock.advance(7 * 86_400)
    # When the ceiling is reached from addresses they never used
    reach_the_ceiling()
    # Then the usual address still gets in, a typo first included
    with pytest.raises(users_mod.WrongCredentials):
        users_mod.authenticate("a@example.com", "a typo typo", HOME)
    assert users_mod.authenticate("a@example.com", PASSWORD, HOME)["email"] == "a@example.com"
    # but an address last used more than 30 days ago is a new one again
    fake_clock.advance(31 * 86_400)
    reach_the_ceiling()
    with pytest.raises(SignInLimited):
        users_mod.authenticate("a@example.com", PASSWORD, HOME)


# ---------------------------------------------------------------------------------------------- session limits


def test_a_session_idle_past_its_limit_is_refused_although_its_item_exists(
    api: Any, users_mod: Any, fake_clock: Any
) -> None:
    users_mod.create_user("a@example.com", "admin", PASSWORD)
    b = Browser(api.client)
    b.sign_in("a@example.com")
    token = b.cookies["ct_session"]
    fake_clock.advance(29 * 60)  # a request inside the idle limit keeps it alive
    assert b.get("/dashboard/users").status_code == 200
    fake_clock.advance(29 * 60)
    assert b.get("/dashboard/users").status_code == 200
    # When it is left alone for 30 minutes
    fake_clock.advance(30 * 60)
    r = b.get("/dashboard/users")
    # Then it is refused, although DynamoDB still holds the item (TTL only tidies up)
    assert r.status_code == 303 and "/dashboard/signin" in header(r, "Location")
    assert session_item(token) is not None
    r = b.post("/dashboard/signout", {"csrf": "x"})
    assert r.status_code == 401


def test_a_session_past_its_absolute_limit_is_refused_although_in_use(
    api: Any, users_mod: Any, fake_clock: Any
) -> None:
    users_mod.create_user("a@example.com", "admin", PASSWORD)
    b = Browser(api.client)
    b.sign_in("a@example.com")
    token = b.cookies["ct_session"]
    for _ in range(12 * 3 - 1):  # every 20 minutes for 11 h 40 min
        fake_clock.advance(20 * 60)
        assert b.get("/dashboard/users").status_code == 200
    fake_clock.advance(20 * 60)  # 12 hours since sign-in
    r = b.get("/dashboard/users")
    assert r.status_code == 303
    assert session_item(token) is not None


def test_session_limits_follow_the_settings(api: Any, users_mod: Any, fake_clock: Any, settings_env: Any) -> None:
    settings_env(DASHBOARD_IDLE_MINUTES="5", DASHBOARD_SESSION_HOURS="1")
    users_mod.create_user("a@example.com", "admin", PASSWORD)
    b = Browser(api.client)
    b.sign_in("a@example.com")
    fake_clock.advance(4 * 60)
    assert b.get("/dashboard/users").status_code == 200
    fake_clock.advance(5 * 60)
    assert b.get("/dashboard/users").status_code == 303


def test_a_signed_in_request_costs_one_dynamodb_read_and_a_write_at_most_once_a_minute(
    api: Any, users_mod: Any, fake_clock: Any
) -> None:
    """The dashboard's pages have request budgets (the call log's first page: 3 in all), so the
    shell's own share is counted: one read of the session (a BatchGetItem with the business profile
    when the process does not hold that); the idle timer's write once a minute."""
    from bench.common import counting
    from chalicelib import business
    from chalicelib.dashboard import web

    users_mod.create_user("a@example.com", "viewer", PASSWORD)
    b = Browser(api.client)
    b.sign_in("a@example.com", next_path="/dashboard/signin")
    request = type("R", (), {"headers": {"cookie": f"ct_session={b.cookies['ct_session']}"}, "method": "GET"})()
    business.clear_cache()
    with counting() as counter:
        web.require(request)  # type: ignore[arg-type]
    assert dict(counter.ops) == {"BatchGetItem": 1} and business.cached()  # the session and the profile
    with counting() as counter:
        web.require(request)  # type: ignore[arg-type]
    assert dict(counter.ops) == {"GetItem": 1}
    fake_clock.advance(61)
    with counting() as counter:
        web.require(request)  # type: ignore[arg-type]
    assert dict(counter.ops) == {"GetItem": 2, "UpdateItem": 1}  # the session, the user; the last use


def test_a_session_left_behind_by_a_failed_disable_ends_within_a_minute(
    api: Any, users_mod: Any, fake_clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    users_mod.create_user("a@example.com", "viewer", PASSWORD)
    b = Browser(api.client)
    b.sign_in("a@example.com", next_path="/dashboard/signin")
    # Given a disable whose deletion of sessions was lost
    monkeypatch.setattr(users_mod, "_end_sessions", lambda refs: None)
    users_mod.set_disabled("a@example.com", True)
    assert session_item(b.cookies["ct_session"]) is not None
    # Then within a minute the session is refused and removed
    fake_clock.advance(61)
    r = b.get("/dashboard/users")
    assert r.status_code == 303 and "/dashboard/signin" in header(r, "Location")
    assert session_item(b.cookies["ct_session"]) is None


# ---------------------------------------------------------------------------------------------- roles and users


def test_a_viewer_gets_403_on_the_user_admin_page_and_its_actions_sent_by_hand(viewer: Browser, users_mod: Any) -> None:
    users_mod.create_user("admin@example.com", "admin", PASSWORD)
    page = viewer.get("/dashboard/users")
    assert page.status_code == 403 and header(page, "Content-Type").startswith("text/html")
    assert "admins only" in text(page)
    # the error page carries the viewer's own token (sign-out works there): use it by hand
    token = viewer.csrf()
    assert (
        viewer.post("/dashboard/users", {"csrf": token, "email": "x@example.com", "role": "admin"}).status_code == 403
    )
    assert viewer.post("/dashboard/users/admin@example.com/disable", {"csrf": token}).status_code == 403
    users_mod.set_disabled("admin@example.com", True)
    assert viewer.post("/dashboard/users/admin@example.com/enable", {"csrf": token}).status_code == 403
    # and nothing changed
    assert users_mod.get_user("x@example.com") is None
    assert users_mod.get_user("admin@example.com")["disabled"] is True
    # and the viewer's nav has no Users link
    assert f'href="{STAGE_PATH}/dashboard/users"' not in text(page)


SETUP_ACTIONS = [
    a for a in dash.ACTIONS if a.startswith(("/dashboard/numbers", "/dashboard/channels", "/dashboard/pools"))
]


@pytest.mark.parametrize("path", SETUP_ACTIONS)
def test_a_viewer_sees_the_setup_pages_but_every_change_sent_by_hand_is_403(
    viewer: Browser, api: Any, path: str
) -> None:
    # Given a viewer with a real session and its own CSRF token (the numbers page is theirs to read)
    page = viewer.get("/dashboard/numbers")
    assert page.status_code == 200 and "Buy a number" not in text(page)
    token = viewer.csrf()
    # When they POST a setup change by hand, with fields that would be valid for an admin
    fields = {"csrf": token, "name": "Radio", "forward_to": "+12025550144", "line": "ch_0000000000000000"}
    r = viewer.post(path, fields)
    # Then it is refused as not theirs to do, and nothing was made
    assert r.status_code == 403, path
    assert "admins only" in text(r)
    assert json.loads(api.call("GET", "/v1/channels").body)["channels"] == []


def test_disabling_a_user_ends_their_sessions_at_once_and_enabling_lets_them_back(
    api: Any, admin: Browser, users_mod: Any
) -> None:
    users_mod.create_user("v@example.com", "viewer", PASSWORD)
    phone, laptop = Browser(api.client), Browser(api.client)
    for b in (phone, laptop):
        b.sign_in("v@example.com", next_path="/dashboard/signin")
        assert b.get("/dashboard/signin").status_code == 303  # signed in
    tokens = [phone.cookies["ct_session"], laptop.cookies["ct_session"]]
    # When an admin disables them
    admin.get("/dashboard/users")
    r = admin.post("/dashboard/users/v@example.com/disable", {"csrf": admin.csrf()})
    assert r.status_code == 200 and "their sessions have ended" in text(r)
    # Then both sessions are over (their items gone) and they cannot sign in
    assert all(session_item(t) is None for t in tokens)
    assert phone.get("/dashboard/signin").status_code == 200  # the form again: not signed in
    assert Browser(api.client).sign_in("v@example.com").status_code == 401
    # When enabled again they can
    admin.post("/dashboard/users/v@example.com/enable", {"csrf": admin.csrf()})
    assert Browser(api.client).sign_in("v@example.com").status_code == 303


def test_an_admin_adds_a_user_with_a_made_up_password_shown_once(api: Any, admin: Browser, users_mod: Any) -> None:
    admin.get("/dashboard/users")
    r = admin.post("/dashboard/users", {"csrf": admin.csrf(), "email": "New@Example.com", "role": "viewer"})
    assert r.status_code == 201
    shown = re.search(r'<code class="secret">([^<]+)</code>', text(r))
    assert shown
    assert Browser(api.client).sign_in("new@example.com", shown.group(1), next_path="/dashboard").status_code == 303
    listing = text(admin.get("/dashboard/users"))
    assert "new@example.com" in listing and shown.group(1) not in listing


@pytest.mark.parametrize(
    "fields, status, words",
    [
        ({"email": "admin@example.com", "role": "viewer"}, 409, "already a user"),
        ({"email": "not-an-email", "role": "viewer"}, 400, "email address"),
        ({"email": "x@example.com", "role": "owner"}, 400, "admin or viewer"),
        ({"email": "x@example.com", "role": "viewer", "password": "short"}, 400, "10 to 256"),
    ],
)
def test_adding_a_bad_user_says_why_on_the_page(
    admin: Browser, fields: dict[str, str], status: int, words: str
) -> None:
    admin.get("/dashboard/users")
    r = admin.post("/dashboard/users", {"csrf": admin.csrf(), **fields})
    assert r.status_code == status
    assert words in text(r) and header(r, "Content-Type").startswith("text/html")


def test_an_admin_cannot_disable_themselves(admin: Browser, users_mod: Any) -> None:
    admin.get("/dashboard/users")
    r = admin.post("/dashboard/users/admin@example.com/disable", {"csrf": admin.csrf()})
    assert r.status_code == 400
    assert users_mod.get_user("admin@example.com")["disabled"] is False


def test_disabling_someone_unknown_is_a_404_page(admin: Browser) -> None:
    admin.get("/dashboard/users")
    r = admin.post("/dashboard/users/nobody@example.com/disable", {"csrf": admin.csrf()})
    assert r.status_code == 404 and "no user nobody@example.com" in text(r)


def test_passwords_are_stored_as_argon2id_hashes_only(users_mod: Any) -> None:
    from chalicelib.store import keys
    from chalicelib.store.models import CounterModel

    users_mod.create_user("a@example.com", "admin", PASSWORD)
    item = CounterModel.get(*keys.dashboard_user("a@example.com"))
    assert item.data["password_hash"].startswith("$argon2id$")
    assert PASSWORD not in repr(item.attribute_values)
    assert all("password" not in k for u in users_mod.list_users() for k in u)


def test_make_user_creates_a_user_the_dashboard_accepts(api: Any, users_mod: Any) -> None:
    import os

    script = [sys.executable, "-m", "calltracking_cli", "users"]  # what `make user` runs
    env = {**os.environ}
    made = subprocess.run(
        [*script, "create", "--email", "Cli@Example.com", "--role", "admin"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=True,
    )
    password = made.stdout.strip()  # no terminal: made up and printed once
    assert len(password) >= 20
    assert Browser(api.client).sign_in("cli@example.com", password).status_code == 303
    listing = subprocess.run([*script, "list"], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    assert "cli@example.com" in listing.stdout and "admin" in listing.stdout
    subprocess.run([*script, "disable", "cli@example.com"], env=env, cwd=ROOT, check=True, capture_output=True)
    assert users_mod.get_user("cli@example.com")["disabled"] is True


# ---------------------------------------------------------------------------------------------- headers, assets


def _csp(response: Any) -> dict[str, str]:
    policy = header(response, "Content-Security-Policy")
    return {d.strip().split(" ", 1)[0]: d.strip() for d in policy.split(";")}


@pytest.mark.parametrize("path", ["/dashboard/signin", "/dashboard/users", "/dashboard/assets/nope.00000000.css"])
def test_pages_redirects_and_errors_carry_the_security_headers(api: Any, path: str) -> None:
    r = Browser(api.client).get(path)
    csp = _csp(r)
    assert "unsafe-inline" not in header(r, "Content-Security-Policy")
    assert "unsafe-eval" not in header(r, "Content-Security-Policy")
    assert csp["script-src"] == "script-src 'self'" and csp["style-src"] == "style-src 'self'"
    assert csp["frame-ancestors"] == "frame-ancestors 'none'"
    assert csp["base-uri"] == "base-uri 'none'" and csp["object-src"] == "object-src 'none'"
    assert csp["form-action"] == "form-action 'self'"
    assert header(r, "Referrer-Policy") == "same-origin"
    assert header(r, "X-Content-Type-Options") == "nosniff"
    assert header(r, "Cache-Control") == "no-store"


def test_media_src_allows_the_recordings_bucket_where_urls_are_presigned(api: Any) -> None:
    from chalicelib.core.settings import get_settings
    from chalicelib.recordings import storage

    r = Browser(api.client).get("/dashboard/signin")
    media = _csp(r)["media-src"].split()
    # a presigned URL as the player gets it falls under one of the sources (path prefix match)
    s = get_settings()
    url = storage.s3().generate_presigned_url("get_object", Params={"Bucket": s.recordings_bucket, "Key": "k"})
    assert media[:2] == ["media-src", "'self'"]
    assert any(url.startswith(source) and source.endswith("/") for source in media[2:]), (url, media)


def test_assets_are_served_by_hashed_name_with_a_long_cache(api: Any) -> None:
    from chalicelib.dashboard import web

    link = web.asset("dashboard.css")
    assert re.fullmatch(rf"{STAGE_PATH}/dashboard/assets/dashboard\.[0-9a-f]{{8}}\.css", link)
    r = api.client.http.get(link.removeprefix(STAGE_PATH))
    assert r.status_code == 200
    assert header(r, "Content-Type") == "text/css; charset=utf-8"
    assert "immutable" in header(r, "Cache-Control") and "max-age=31536000" in header(r, "Cache-Control")
    assert text(r) == (ROOT / "chalicelib" / "dashboard" / "static" / "dashboard.css").read_text()


@pytest.mark.parametrize(
    "name", ["dashboard.00000000.css", "dashboard.css", "..%2f..%2fapp.py", "%2e%2e", "web.py", "x.12345678.py"]
)
def test_unknown_or_stale_asset_names_are_404_pages(api: Any, name: str) -> None:
    r = api.client.http.get(f"/dashboard/assets/{name}")
    assert r.status_code == 404
    assert header(r, "Content-Type").startswith("text/html")


def test_a_refused_dashboard_request_is_a_page_not_json(viewer: Browser) -> None:
    r = viewer.get("/dashboard/users")
    assert text(r).lstrip().startswith("<!doctype html>")
    assert '<main id="main"' in text(r) and 'lang="en"' in text(r)


# ---------------------------------------------------------------------------------------------- in Chromium


def _get_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as err:
        return int(err.code)


def test_browser_sign_in_page_is_accessible_and_captured(dashboard: dash.Dashboard) -> None:
    from tests.support import browser as br

    context = br.new_context(dashboard.browser)
    page = context.new_page()
    log = br.watch(page)
    page.goto(dashboard.url("/dashboard/signin"))
    assert page.title() == "Sign in · Call tracking"
    dash.axe_check(page, name="sign-in")
    dash.capture(page, "dashboard-signin")
    # a wrong password shows the message, announced, and the page stays accessible
    email, _ = dashboard.add_user("viewer")
    page.fill("#email", email)
    page.fill("#password", "not the right one")
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert "do not match" in page.inner_text("[role=alert]")
    dash.axe_check(page, name="sign-in with an error")
    dash.capture(page, "dashboard-signin-error")
    assert log.problems == []  # no CSP violation or script error
    context.close()


def test_browser_admin_uses_the_users_page_and_signs_out(dashboard: dash.Dashboard) -> None:
    from tests.support import browser as br

    context = dashboard.signed_in("admin")
    page = context.new_page()
    log = br.watch(page)
    page.goto(dashboard.url("/dashboard/users"))
    assert page.locator("nav a[aria-current=page]").text_content() == "Users"
    # add a viewer without a password: one is made up and shown once
    page.fill("#new-email", "new.viewer@example.com")
    page.select_option("#new-role", "viewer")
    with page.expect_navigation():
        page.click("text=Add user")
    password = page.inner_text("code.secret")
    assert len(password) >= 20
    dash.axe_check(page, name="users")
    dash.capture(page, "dashboard-users")
    # the new viewer signs in with it in another browser
    other = br.new_context(dashboard.browser)
    dash.sign_in(
        other.new_page(), dashboard.stack.base_url, "new.viewer@example.com", password, next_path="/dashboard/signin"
    )
    # disable them: their session ends
    row = page.locator("tr", has_text="new.viewer@example.com")
    with page.expect_navigation():
        row.locator("button", has_text="Disable").click()
    assert "their sessions have ended" in page.inner_text("[role=status]")
    check = other.new_page()
    check.goto(dashboard.url("/dashboard/users"))
    assert "/dashboard/signin" in check.url
    # sign out through the bar's button
    with page.expect_navigation():
        page.click("text=Sign out")
    assert page.url.startswith(dashboard.url("/dashboard/signin"))
    page.goto(dashboard.url("/dashboard/users"))
    assert page.url.startswith(dashboard.url("/dashboard/signin?next="))
    assert log.problems == []
    other.close()
    context.close()


def test_browser_the_setup_pages_are_one_menu_that_opens_by_keyboard(dashboard: dash.Dashboard) -> None:
    from tests.support import browser as br

    context = dashboard.signed_in("admin", email="nav.admin@example.com")
    page = context.new_page()
    log = br.watch(page)
    page.goto(dashboard.url("/dashboard"))
    # Then the bar shows four pages and the Setup menu, closed: its ten links hidden
    nav = page.locator("nav[aria-label=Dashboard]")
    assert [a.inner_text() for a in nav.locator(":scope > a").all()] == ["Overview", "Calls", "Transcripts", "Spend"]
    assert nav.locator("details a").count() == 10 and not nav.locator("details a").first.is_visible()
    # When the menu is opened from the keyboard (tab to its summary, Enter)
    page.focus("nav summary")
    page.keyboard.press("Enter")
    # Then its links show, and Tab goes on into them
    assert nav.locator("details[open]").count() == 1 and nav.locator("text=Numbers").is_visible()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Numbers"
    dash.check_page(page, "dashboard-nav-open")
    # And on a setup page the menu's summary says the page is in it, and the page is marked within
    with page.expect_navigation():
        page.click("nav >> text=Webhooks")
    assert "nav-menu-current" in (nav.locator("details").get_attribute("class") or "")
    assert "(this page is in it)" in nav.locator("summary").inner_text()
    assert nav.locator("a[aria-current=page]").text_content() == "Webhooks"
    dash.check_page(page, "dashboard-nav-setup-page")
    assert log.problems == []  # no CSP violation: no script opens it
    context.close()


def test_browser_admin_reads_the_audit_log(dashboard: dash.Dashboard) -> None:
    from tests.support import browser as br

    # Given an admin who has just added a user (an entry with them as who, from this browser)
    context = dashboard.signed_in("admin", email="audit.admin@example.com")
    page = context.new_page()
    log = br.watch(page)
    page.goto(dashboard.url("/dashboard/users"))
    page.fill("#new-email", "audited.viewer@example.com")
    with page.expect_navigation():
        page.click("text=Add user")
    # When they open the audit page from the bar (under its Setup menu)
    page.click("nav summary")
    with page.expect_navigation():
        page.click("nav >> text=Audit")
    # Then the entry is there: who, what, the details and where from
    assert page.locator("nav a[aria-current=page]").text_content() == "Audit"
    row = page.locator("tr", has_text="email: audited.viewer@example.com")
    assert row.count() == 1
    assert "audit.admin@example.com" in row.inner_text() and "users.create" in row.inner_text()
    assert "127.0.0.1" in row.inner_text()
    dash.axe_check(page, name="audit log")
    dash.capture(page, "dashboard-audit")
    assert log.problems == []
    context.close()


def test_browser_admin_looks_up_and_erases_a_caller(dashboard: dash.Dashboard) -> None:
    from tests.support import browser as br

    # Given an admin on the caller page
    context = dashboard.signed_in("admin", email="privacy.admin@example.com")
    page = context.new_page()
    log = br.watch(page)
    page.goto(dashboard.url("/dashboard/callers"))
    # When they look a number up: what is held (here nothing but the number) and the erase form
    page.fill("#caller-number", "(415) 555-0199")
    with page.expect_navigation():
        page.click("text=Look up")
    assert "What we hold about +14155550199" in page.inner_text("main")
    dash.axe_check(page, name="caller data")
    dash.capture(page, "dashboard-caller")
    # When they erase without ticking the box, it is said next to it; ticked, it is done
    with page.expect_navigation():
        page.click("button.button-danger")
    assert "Tick the box" in page.inner_text("#confirm-error")
    dash.axe_check(page, name="caller erase unconfirmed")
    page.check("input[name=confirm]")
    with page.expect_navigation():
        page.click("button.button-danger")
    assert "Erased: 0 call(s)" in page.inner_text("[role=status]")
    dash.capture(page, "dashboard-caller-erased")
    assert log.problems == []
    context.close()


def _caller_jobs_in(stack: Any) -> dict[str, str]:
    """Three jobs of callers with many calls, in the stack's tables as the schedule leaves them:
    an erasure under way, an erasure done and an export done; their ids by state. (No event pump
    runs beside this module's stack, so no schedule moves the running one on.)"""
    import os
    from dataclasses import replace

    from chalicelib.core import aws
    from chalicelib.core.settings import get_settings
    from chalicelib.store import callerjobs, connections

    before = dict(os.environ)
    os.environ.update(stack.env)
    get_settings.cache_clear()
    connections.reset()
    aws.forget("s3")
    try:
        running, _ = callerjobs.start("erase", "k1.e2e-running", "+14155550177", "privacy.admin@example.com")
        callerjobs.save(replace(running, done=200, chunks=2))
        erased, _ = callerjobs.start("erase", "k1.e2e-erased", "+14155550178", "privacy.admin@example.com")
        result = {"erased_calls": 1250, "erased_at": "2026-12-07T05:00:00Z", "recordings_left_at_twilio": 3}
        callerjobs.finish(replace(erased, state="done", done=1250, chunks=13, result=result))
        export, _ = callerjobs.start("access", "k1.e2e-export", "+14155550179", "privacy.admin@example.com")
        key = f"callers/k1.e2e-export/{export.id}.json"
        callerjobs.finish(replace(export, state="done", done=340, chunks=4, result={"key": key, "calls": 340}))
        return {"running": running.id, "erased": erased.id, "export": export.id}
    finally:
        os.environ.clear()
        os.environ.update(before)
        get_settings.cache_clear()
        connections.reset()
        aws.forget("s3")


def test_browser_admin_follows_a_heavy_callers_job_on_the_caller_page(dashboard: dash.Dashboard) -> None:
    from tests.support import browser as br

    # Given jobs for callers with many calls: an erasure under way, one done, an export done
    ids = _caller_jobs_in(dashboard.stack)
    context = dashboard.signed_in("admin", email="privacy.jobs@example.com")
    page = context.new_page()
    log = br.watch(page)
    # When the admin opens the running erasure's page: its progress and a way to check again
    page.goto(dashboard.url(f"/dashboard/callers?job={ids['running']}"))
    assert "200 call(s) done in 2 step(s)" in page.inner_text("[role=status]")
    assert page.locator("a", has_text="Check again").count() == 1
    dash.check_page(page, "dashboard-caller-job-running")
    # And the finished erasure: what was done, and what is left at Twilio
    page.goto(dashboard.url(f"/dashboard/callers?job={ids['erased']}"))
    assert "Erased: 1250 call(s) anonymised in 13 step(s)" in page.inner_text("[role=status]")
    assert "3 recording(s) could not be deleted at Twilio" in page.inner_text("[role=status]")
    # And the finished export: a short-lived link to its JSON document
    page.goto(dashboard.url(f"/dashboard/callers?job={ids['export']}"))
    assert "Ready: 340 call(s)" in page.inner_text("[role=status]")
    link = page.locator("a", has_text="Download all of it (JSON)").get_attribute("href") or ""
    assert "callers/k1.e2e-export/" in link and "X-Amz-Expires=300" in link
    dash.check_page(page, "dashboard-caller-job-export")
    assert log.problems == []
    context.close()


def test_browser_a_viewer_sees_the_403_page_without_a_users_link(dashboard: dash.Dashboard) -> None:
    context = dashboard.signed_in("viewer")
    page = context.new_page()
    response = page.goto(dashboard.url("/dashboard/users"))
    assert response is not None and response.status == 403
    assert page.locator("h1").inner_text() == "Not allowed"
    assert page.locator("nav a", has_text="Users").count() == 0
    assert page.locator("nav a", has_text="Audit").count() == 0
    dash.axe_check(page, name="403 error page")
    dash.capture(page, "dashboard-error-403")
    context.close()


def test_browser_signed_out_is_sent_to_sign_in_from_every_page(dashboard: dash.Dashboard) -> None:
    from tests.support import browser as br

    context = br.new_context(dashboard.browser)
    page = context.new_page()
    seen = 0
    for path in dash.PAGES:
        if not dash.routed(dashboard, path):
            continue
        page.goto(dashboard.url(path))
        assert page.url == dashboard.url("/dashboard/signin?" + urlencode({"next": path})), path
        assert page.locator("h1").inner_text() == "Sign in"
        seen += 1
    assert seen >= 1
    context.close()


def test_browser_cookies_are_httponly_lax_and_not_secure_on_local_http(dashboard: dash.Dashboard) -> None:
    context = dashboard.signed_in("viewer")
    cookie = next(c for c in context.cookies() if c["name"] == "ct_session")
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Lax" and cookie["secure"] is False
    assert cookie["path"] == "/dashboard"
    page = context.new_page()
    page.goto(dashboard.url("/dashboard/signin"))
    assert page.evaluate("() => document.cookie") == ""  # scripts cannot read it
    context.close()


def test_make_run_prints_the_dashboard_and_a_demo_admin_who_can_sign_in(chromium: Any) -> None:
    import os
    import signal
    import time

    from tests.support import browser as br
    from tests.support import servers

    # Given `make run`'s own script on free ports, as a developer starts it
    ddb_port, api_port = servers.free_port(), servers.free_port()
    drop = ("DYNAMODB_ENDPOINT", "PUBLIC_BASE_URL", "TABLE_PREFIX", "SQS_ENDPOINT", "S3_ENDPOINT", "STAGE", "API_KEY")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    for key in ("TWILIO_AUTH_TOKEN", "DEFAULT_FORWARD_TO", "TELEPHONY"):
        env.pop(key, None)
    env |= {"DDB_PORT": str(ddb_port), "API_PORT": str(api_port)}
    proc = subprocess.Popen(
        [str(ROOT / "scripts" / "run-local.sh")],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        # When it has started, it has printed the dashboard's address and the demo sign-in
        lines: list[str] = []
        deadline = time.monotonic() + 120
        assert proc.stdout is not None
        while time.monotonic() < deadline and not any("sign in as" in line for line in lines):
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
        printed = "".join(lines)
        base = f"http://127.0.0.1:{api_port}"
        assert f"dashboard    {base}/dashboard" in printed, printed
        m = re.search(r"sign in as (\S+@\S+)\s+password (\S+)", printed)
        assert m, printed
        servers.wait_for_port(api_port, None, timeout=60)
        # Then that email and password open the dashboard in a browser
        context = br.new_context(chromium)
        dash.sign_in(context.new_page(), base, m.group(1), m.group(2))
        page = context.new_page()
        page.goto(f"{base}/dashboard/users")
        assert m.group(1) in page.inner_text("table")
        context.close()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)

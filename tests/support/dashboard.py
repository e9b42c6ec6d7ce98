"""Shared helpers for the dashboard's browser tests: a running app, signed-in contexts, axe, screenshots.

    def test_something(dashboard):
        page = dashboard.signed_in("viewer").new_page()
        page.goto(dashboard.url("/dashboard/calls"))
        dashboard_mod.axe_check(page)
        dashboard_mod.capture(page, "calls")

``dashboard`` (one per test module) is the local stack (``tests/support/stack.py``: moto's
DynamoDB and the app served like ``chalice local`` on free ports, over plain http, so the
cookies are not ``Secure``) plus Debian's Chromium. Users are made with ``calltracking users create``
(``chalicelib.dashboard.users`` against the stack's tables), and a signed-in context is one
that went through the real sign-in form. ``axe_check`` runs npm's axe-core (evaluated through
the DevTools protocol, which the page's CSP does not govern: the page itself stays under its
real CSP) and fails on serious or critical violations. ``capture`` saves a full-page PNG at
1280 and at 390 CSS pixels into ``tests/artifacts/``.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from tests.support import browser as br
from tests.support import servers
from tests.support import stack as stack_mod

ARTIFACTS = servers.ROOT / "tests" / "artifacts"
AXE = servers.ROOT / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = (1280, 390)
BLOCKING = ("serious", "critical")

# Every dashboard page a signed-out browser must be sent to sign-in from (GET). PAGES' pages
# join this list when they exist in the branch (tests skip the ones the app does not route yet).
PAGES: tuple[str, ...] = (
    "/dashboard",
    "/dashboard/calls",
    "/dashboard/breakdown",
    "/dashboard/calls.csv",
    "/dashboard/calls/CA00000000000000000000000000000000",
    "/dashboard/calls/CA00000000000000000000000000000000/recording",
    "/dashboard/users",
    # setup-outlets: begin
    "/dashboard/alerts",
    "/dashboard/webhooks",
    "/dashboard/webhooks/ep_0000000000000000",
    "/dashboard/spend",
    "/dashboard/blocked",
    "/dashboard/account",
    # setup-outlets: end
    # the setup pages
    "/dashboard/start",
    "/dashboard/numbers",
    "/dashboard/channels",
    "/dashboard/channels/ch_0000000000000000",
    "/dashboard/channels/ch_0000000000000000/delete",
    "/dashboard/pools",
    "/dashboard/pools/pl_0000000000000000",
    "/dashboard/pools/pl_0000000000000000/delete",
    "/dashboard/conversions",
    "/dashboard/conversions/cd_0000000000000000",
    "/dashboard/audit",
    "/dashboard/callers",
    "/dashboard/settings",
    "/dashboard/transcripts",
)
# Every state-changing route (POST): without a valid session 401, without the CSRF token 403.
ACTIONS: tuple[str, ...] = (
    "/dashboard/signout",
    "/dashboard/users",
    "/dashboard/users/someone@example.com/disable",
    "/dashboard/users/someone@example.com/enable",
    "/dashboard/calls/CA00000000000000000000000000000000/outcome",
    "/dashboard/calls/CA00000000000000000000000000000000/call-back",  # no-caller-lost
    # setup-outlets: begin (three of their actions here, each parametrized four times; every one of
    # their actions is held to CSRF and role in tests/integration/test_dashboard_outlets.py)
    "/dashboard/alerts",
    "/dashboard/spend",
    "/dashboard/account/password",
    # setup-outlets: end
    # the setup pages
    "/dashboard/numbers",
    "/dashboard/numbers/%2B12015550100/release",
    "/dashboard/channels",
    "/dashboard/channels/ch_0000000000000000",
    "/dashboard/channels/ch_0000000000000000/handling",
    "/dashboard/channels/ch_0000000000000000/delete",
    "/dashboard/pools",
    "/dashboard/pools/pl_0000000000000000",
    "/dashboard/pools/pl_0000000000000000/handling",
    "/dashboard/pools/pl_0000000000000000/numbers",
    "/dashboard/pools/pl_0000000000000000/check",
    "/dashboard/pools/pl_0000000000000000/delete",
    "/dashboard/conversions",
    "/dashboard/conversions/cd_0000000000000000/credentials",
    "/dashboard/conversions/cd_0000000000000000/rules",
    "/dashboard/conversions/cd_0000000000000000/rules/ru_0/delete",
    "/dashboard/conversions/cd_0000000000000000/pause",
    "/dashboard/conversions/cd_0000000000000000/resume",
    "/dashboard/conversions/cd_0000000000000000/test",
    "/dashboard/calls/CA00000000000000000000000000000000/called-back",
    "/dashboard/callers/erase",
    "/dashboard/settings",
    "/dashboard/transcripts/rules",
    "/dashboard/transcripts/rules/r1/delete",
    "/dashboard/transcripts/mode",
)


@dataclass
class Dashboard:
    """The stack, the browser, and the users made so far (email -> password)."""

    stack: stack_mod.Stack
    browser: Browser
    passwords: dict[str, str] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.stack.base_url + path

    def add_user(self, role: str, email: str | None = None, password: str | None = None) -> tuple[str, str]:
        """A new user of ``role`` (an email made up unless given); returns (email, password)."""
        email = email or f"{role}-{secrets.token_hex(4)}@example.com"
        password = password or secrets.token_urlsafe(15)
        add_user(self.stack, email, role, password)
        self.passwords[email] = password
        return email, password

    def signed_in(self, role: str = "admin", *, email: str | None = None, **context_args: Any) -> BrowserContext:
        """A fresh browser context signed in through the form as a new user of ``role`` (or ``email``)."""
        if email is None or email not in self.passwords:
            email, _ = self.add_user(role, email)
        context = br.new_context(self.browser, **context_args)
        page = context.new_page()
        sign_in(page, self.stack.base_url, email, self.passwords[email])
        page.close()
        return context


def add_user(stack: stack_mod.Stack, email: str, role: str, password: str) -> None:
    """Create a user in the stack's tables as an owner does: ``calltracking users create`` (the CLI)."""
    env = {**os.environ, **stack.env}
    cmd = [sys.executable, "-m", "calltracking_cli", "users", "create", "--email", email, "--role", role]
    subprocess.run(
        [*cmd, "--password-stdin"],
        input=password + "\n",
        text=True,
        check=True,
        env=env,
        cwd=servers.ROOT,
        capture_output=True,
    )


def sign_in(page: Page, base_url: str, email: str, password: str, *, next_path: str = "/dashboard/users") -> None:
    """Sign in through the real form and wait until the browser has left it."""
    page.goto(f"{base_url}/dashboard/signin?next={next_path}")
    page.fill("#email", email)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("button[type=submit]")
    cookies = {c["name"] for c in page.context.cookies()}
    if "ct_session" not in cookies:
        raise AssertionError(f"sign-in as {email} failed: {page.url}\n{page.inner_text('main')}")


@lru_cache(maxsize=1)
def _axe_source() -> str:
    if not AXE.exists():
        pytest.fail("node_modules/axe-core is missing: `make test` runs npm ci", pytrace=False)
    return AXE.read_text(encoding="utf-8")


def axe_check(page: Page, *, name: str = "") -> list[dict[str, Any]]:
    """Run axe-core on the page as it is now; fail on serious or critical violations.

    Returns every violation (minor and moderate ones included) for a test that wants more.
    """
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
    result = page.evaluate(
        "() => axe.run(document, {resultTypes: ['violations'], runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}})"
    )
    violations: list[dict[str, Any]] = result["violations"]
    bad = [v for v in violations if v.get("impact") in BLOCKING]
    if bad:
        lines = [
            f"{v['impact']}: {v['id']}: {v['help']} -> "
            + "; ".join(n["target"][0] if n.get("target") else "?" for n in v["nodes"][:5])
            for v in bad
        ]
        raise AssertionError(f"axe-core on {name or page.url}:\n" + "\n".join(lines))
    return violations


def capture(page: Page, name: str, *, height: int = 900) -> list[Path]:
    """Full-page screenshots at 1280 and 390 px wide: ``tests/artifacts/<name>-<width>.png``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    before = page.viewport_size
    saved = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": height if width > 600 else 844})
        path = ARTIFACTS / f"{name}-{width}.png"
        page.screenshot(path=str(path), full_page=True)
        saved.append(path)
    if before:
        page.set_viewport_size(before)
    return saved


def check_page(page: Page, name: str) -> None:
    """axe-core at both widths (the phone layout is another page to a screen reader), no sideways
    scrolling, then the screenshots at 1280 and 390 px (``capture``)."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900 if width > 600 else 844})
        axe_check(page, name=f"{name} at {width} px")
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= width, f"{name} scrolls sideways at {width} px ({wide} px wide)"
    page.set_viewport_size({"width": 1280, "height": 900})
    capture(page, name)


def wait_for(what: str, check: Any, seconds: float = 60) -> Any:
    """``check()``'s first truthy answer, asked every 0.3 s; fails after ``seconds`` naming ``what``."""
    deadline = time.monotonic() + seconds
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, f"waited {seconds} s for {what}"
        time.sleep(0.3)


def stack_env(stack: stack_mod.Stack) -> dict[str, str]:
    """The local stage's settings pointed at this stack, for the pump and the seeding scripts."""
    from scripts import _localenv

    return {**os.environ, **_localenv.stage_env("local"), **stack.env, "POWERTOOLS_LOG_LEVEL": "WARNING"}


@pytest.fixture(scope="module")
def pump(dashboard: Dashboard) -> Iterator[subprocess.Popen[bytes]]:
    """The event pump beside the module's stack, as ``make run`` starts it."""
    proc = subprocess.Popen(
        [sys.executable, str(servers.ROOT / "scripts" / "local.py"), "pump"],
        env=stack_env(dashboard.stack),
        cwd=servers.ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    yield proc
    servers.stop(proc)


def start(**kwargs: Any) -> stack_mod.Stack:
    """The local stack for dashboard tests, with its own tables."""
    kwargs.setdefault("table_prefix", f"dash{secrets.token_hex(3)}-")
    return stack_mod.start(**kwargs)


@pytest.fixture(scope="module")
def dashboard(chromium: Browser) -> Iterator[Dashboard]:
    running = start()
    try:
        yield Dashboard(stack=running, browser=chromium)
    finally:
        running.stop()


def routed(dashboard: Dashboard, path: str, method: str = "GET") -> bool:
    """Whether the app has a route for ``path`` (the local server answers 403 with ``Missing
    Authentication Token`` for one it does not know, as API Gateway does)."""
    req = urllib.request.Request(dashboard.url(path), method=method, data=b"" if method != "GET" else None)
    try:
        with urllib.request.urlopen(req, timeout=10):
            return True
    except urllib.error.HTTPError as err:
        return not (err.code == 403 and b"Missing Authentication Token" in err.read())


# --- the Ad platforms pages (chalicelib/integrations/conversions/pages.py) -----------------------------


def add_destination(
    page: Page,
    dashboard: Dashboard,
    platform: str,
    name: str,
    *,
    settings: dict[str, str] | None = None,
    credentials: dict[str, str] | None = None,
    action: str = "call",
    value: str | None = None,
) -> None:
    """A destination made through the Ad platforms form as an owner makes one: the platform, its name, its
    settings (``#s-<platform>-<field>``) and credentials (``#c-<platform>-<field>``), the first rule's
    action (and value); "Add destination" submitted. The caller reads what the page answered."""
    page.goto(dashboard.url("/dashboard/conversions"))
    page.select_option("#platform", platform)
    page.fill("#name", name)
    for key, text in (settings or {}).items():
        page.fill(f"#s-{platform}-{key}", text)
    for key, text in (credentials or {}).items():
        page.fill(f"#c-{platform}-{key}", text)
    page.fill("#r-action", action)
    if value is not None:
        page.fill("#r-value", value)
    with page.expect_navigation():
        page.click("text=Add destination")


def send_test(page: Page) -> None:
    """The destination page's "Send test", waited for."""
    with page.expect_navigation():
        page.click("button:has-text('Send test')")


def block_caller(page: Page, stack: stack_mod.Stack, caller: str) -> list[str]:
    """The call page's "Block <caller>" (its confirmation accepted), waited for: the notice says
    so and the API lists the caller. The blocked callers the API lists after it."""
    from playwright.sync_api import expect

    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name=f"Block {caller}").click()
    expect(page.locator("#block-caller .notice-ok")).to_contain_text(f"Blocked {caller}")
    status, found = stack.request("GET", "/v1/blocked-callers")
    assert status == 200 and caller in found["callers"], found
    return list(found["callers"])

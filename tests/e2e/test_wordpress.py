"""The WordPress plugin (``integrations/wordpress``) on a real WordPress: Debian's 6.1 with PHP and
MariaDB (``tests/support/wordpress``), the local stack, and the shared Chromium.

Static checks first (``php -l``, Debian's ``phpcs`` with PSR-12, our own ``token_get_all`` checker
over the plugin and over a fixture full of mistakes, the 6.3+ loader branch against stubbed
WordPress functions); then a site: the owner configures the plugin on its settings page (axe-core,
screenshots; a bad paste refused beside its field; no nonce or a subscriber refused), a visitor
sees the pool's number in both formats, and a signed call to it is attributed to the visit; with
the WP Consent API (a stub) denying ``marketing`` nothing is leased until it is granted in the page.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from scripts.local import simulate_call
from tests.support import browser as br
from tests.support import dashboard as dash
from tests.support import stack as stack_mod
from tests.support import wordpress as wp

pytestmark = pytest.mark.browser

HERE = Path(__file__).resolve().parent
CHECKER = wp.HERE / "check.php"
STUB = wp.HERE / "stub_enqueue.php"
BAD_FIXTURE = HERE.parent / "fixtures" / "wordpress" / "bad-plugin.php"
ORIGINAL = "+16175550123"  # (617) 555-0123: the local provider mints no 617 numbers
PAGE = (
    '<p id="national">Call us: (617) 555-0123</p>'
    '<p id="international">From abroad: +1 617-555-0123</p>'
    '<p><a id="call" href="tel:+16175550123">Call now</a></p>'
)
CALLER = "+14155550142"


def _php_files() -> list[str]:
    return sorted(str(p) for p in wp.PLUGIN.rglob("*.php"))


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


# ---------------------------------------------------------------------------------------------- static checks


def test_plugin_passes_php_lint_psr12_and_our_checker() -> None:
    for path in _php_files():
        done = _run("php", "-l", path)
        assert done.returncode == 0, done.stdout + done.stderr
    done = _run("phpcs", "--standard=PSR12", "--extensions=php", "--report=emacs", str(wp.PLUGIN))
    assert done.returncode == 0, done.stdout
    done = _run("php", str(CHECKER), "--domain=calltracking", *_php_files())
    assert done.returncode == 0, done.stdout


def test_checker_reports_every_unescaped_echo_unsanitized_read_unguarded_handler_and_foreign_domain() -> None:
    # Given a fixture with a marker on each line that must be reported
    text = BAD_FIXTURE.read_text().splitlines()
    expected = sorted(
        (n, m.group(1)) for n, line in enumerate(text, 1) if (m := re.search(r"BAD:(\w+)", line)) is not None
    )
    rules = {"output not wrapped": "output", "prints without": "printer", "read without": "input"}
    rules |= {"needs check_admin_referer": "handler", "without the text domain": "domain"}
    # When the checker reads it
    done = _run("php", str(CHECKER), "--domain=calltracking", str(BAD_FIXTURE))
    # Then it fails, reporting exactly those lines, each for its rule
    assert done.returncode == 1
    found = []
    for line in done.stdout.splitlines():
        number, message = line.split(":", 2)[1:]
        found.append((int(number), next(rule for key, rule in rules.items() if key in message)))
    assert sorted(found) == expected, done.stdout
    assert len(expected) == 14


@pytest.mark.parametrize(
    ("version", "strategy"),
    [("6.4.2", True), ("6.3", True), ("6.1.9", False)],
)
def test_script_is_async_through_the_loader_on_63_and_by_the_tag_before(version: str, strategy: bool) -> None:
    done = _run("php", str(STUB), version)
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    [script] = got["enqueued"]
    assert script["src"] == "https://calls.example.com/ct.js"
    if strategy:
        assert script["args"] == {"strategy": "async", "in_footer": False}
    else:
        assert script["args"] is False  # 6.1's fifth argument is $in_footer only
    tag = got["tags"]["calltracking"]
    assert tag.count(" async") == 1 and 'data-site="sk_stubstubstub"' in tag and "data-consent" not in tag


def test_consent_api_adds_the_glue_and_editors_are_not_tracked() -> None:
    got = json.loads(_run("php", str(STUB), "6.1.9", "consent").stdout)
    assert [s["handle"] for s in got["enqueued"]] == ["calltracking-consent", "calltracking"]
    assert 'data-consent="required"' in got["tags"]["calltracking"]
    assert 'data-category="marketing"' in got["tags"]["calltracking-consent"]
    assert json.loads(_run("php", str(STUB), "6.4", "", "editor").stdout)["enqueued"] == []
    editors = json.dumps({"track_editors": True})
    assert len(json.loads(_run("php", str(STUB), "6.4", "", "editor", editors).stdout)["enqueued"]) == 1


def test_the_test_link_skips_consent_for_the_owner_only() -> None:
    query = "utm_source=calltracking-test&utm_medium=test"
    visitor = json.loads(_run("php", str(STUB), "6.4", "consent", "", "{}", query).stdout)
    assert 'data-consent="required"' in visitor["tags"]["calltracking"]  # a visitor typing the link
    owner = json.loads(_run("php", str(STUB), "6.4", "consent", "editor", "{}", query).stdout)
    assert [s["handle"] for s in owner["enqueued"]] == ["calltracking"]
    assert "data-consent" not in owner["tags"]["calltracking"]


def test_without_the_consent_api_the_fallback_applies_and_off_is_off() -> None:
    event = json.loads(_run("php", str(STUB), "6.4", "", "", json.dumps({"consent_mode": "event"})).stdout)
    assert [s["handle"] for s in event["enqueued"]] == ["calltracking"]  # ct.js waits for ct:consent itself
    assert 'data-consent="required"' in event["tags"]["calltracking"]
    off = json.loads(_run("php", str(STUB), "6.4", "", "", json.dumps({"enabled": False})).stdout)
    assert off["enqueued"] == []


# ---------------------------------------------------------------------------------------------- a real WordPress


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[wp.Site]:
    running = wp.start(tmp_path_factory.mktemp("wordpress"), PAGE)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def pool(dashboard: dash.Dashboard, site: wp.Site) -> dict[str, Any]:
    stack = dashboard.stack
    body = {"name": "WordPress", "allowed_origins": [site.url], "original_number": ORIGINAL}
    body["forward_to"] = "+12025550100"
    code, made = stack.request("POST", "/v1/pools", body)
    assert code == 201, made
    for _ in range(4):  # one for each visit of the module: the test link's, a visitor's, the consenting one's, GTM's
        code, number = stack.request("POST", "/v1/numbers", {"pool_id": made["id"]})
        assert code == 201, number
    return made


@pytest.fixture
def configured(dashboard: dash.Dashboard, site: wp.Site, pool: dict[str, Any]) -> dict[str, Any]:
    """The plugin set up as the settings page saves it (that page's own test does it through the page): the
    tests that visit the site need it whichever worker ran the settings test (each has its own site)."""
    saved = site.option("calltracking_settings")
    if not saved:
        saved = {
            "enabled": True,
            "site_key": pool["site_key"],
            "api_url": dashboard.stack.base_url,
            "track_editors": False,
            "consent_mode": "always",
            "consent_category": "marketing",
        }
        site.set_option("calltracking_settings", saved)
    return dict(saved)  # type: ignore[arg-type]


def _signed_in(dashboard: dash.Dashboard, site: wp.Site, user: str, password: str) -> BrowserContext:
    """A browser context signed in through wp-login.php."""
    context = br.new_context(dashboard.browser)
    page = context.new_page()
    page.goto(site.url + "/wp-login.php")
    # The login page's own script focuses and selects the name field 200 ms after it runs, which
    # can be after "load": filling before it fires can type the password into the name field
    # (focus moved, the name selected, then the password's text inserted there).
    page.wait_for_function("document.activeElement && document.activeElement.id === 'user_login'")
    page.fill("#user_login", user)
    page.fill("#user_pass", password)
    with page.expect_navigation(url=re.compile(r"/wp-admin/")):
        page.click("#wp-submit")
    logged_in = any(c["name"].startswith("wordpress_logged_in") for c in context.cookies())
    assert logged_in, page.inner_text("body")[:800]
    page.close()
    return context


def _axe_ours(page: Page) -> None:
    """axe-core over the plugin's part of the page (WordPress's own menus and bar are not ours)."""
    for width in dash.WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        if not page.evaluate("() => typeof window.axe === 'object'"):
            page.evaluate(dash._axe_source())
        result = page.evaluate(
            "() => axe.run('#wpbody-content .wrap', {resultTypes: ['violations'], runOnly: {type: 'tag', values: "
            "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}})"
        )
        bad = [f"{v['impact']}: {v['id']}: {v['help']}" for v in result["violations"] if v["impact"] in dash.BLOCKING]
        assert bad == [], f"axe-core at {width} px: {bad}"
    page.set_viewport_size({"width": 1280, "height": 900})


def _settings(site: wp.Site) -> str:
    return site.url + "/wp-admin/options-general.php?page=calltracking"


def test_owner_configures_the_plugin_on_its_settings_page(
    dashboard: dash.Dashboard, site: wp.Site, pool: dict[str, Any]
) -> None:
    admin = _signed_in(dashboard, site, "admin", site.admin_password)
    page = admin.new_page()
    try:
        # Given the settings page, not set up yet
        page.goto(_settings(site))
        expect(page.locator("#calltracking-status")).to_have_text("Not set up yet.")
        # When the owner pastes something that is no tag, the message is beside the field and the text kept
        page.fill("#calltracking-tag", "sk_short")
        page.click("#submit")
        expect(page.locator("#calltracking-tag-error")).to_contain_text("Paste the script tag")
        expect(page.locator("#calltracking-tag")).to_have_value("sk_short")
        expect(page.locator("#calltracking-tag")).to_have_attribute("aria-invalid", "true")
        _axe_ours(page)
        dash.capture(page, "wordpress-settings-refused")
        assert not site.option("calltracking_settings")  # nothing stored yet
        # When the dashboard's tag is pasted, the product URL is read from it and the product answers
        tag = f'<script async src="{dashboard.stack.base_url}/ct.js" data-site="{pool["site_key"]}"></script>'
        page.fill("#calltracking-tag", tag)
        page.click("#submit")
        expect(page.locator(".notice-success")).to_contain_text("Settings saved.")
        expect(page.locator("#calltracking-status")).to_contain_text("The product answers and knows this site key")
        expect(page.locator("#calltracking-number")).to_contain_text(ORIGINAL)
        assert page.locator("#calltracking-origin").count() == 0  # the pool allows this site
        expect(page.locator("#calltracking-api-url")).to_have_value(dashboard.stack.base_url)
        saved = site.option("calltracking_settings")
        assert saved["site_key"] == pool["site_key"] and saved["api_url"] == dashboard.stack.base_url
        _axe_ours(page)
        dash.capture(page, "wordpress-settings")
        # No admin page carries the site script, and the owner browsing the site is no visitor
        assert "/ct.js" not in page.content()
        page.goto(site.url + "/")
        assert page.locator("script[data-site]").count() == 0
        # But the page's "test this page" link opens the site with the test source, swapped
        page.goto(_settings(site))
        link = page.get_attribute("#calltracking-test-link", "href")
        assert link and "utm_source=calltracking-test" in link
        page.goto(link)
        page.wait_for_function("window.CallTracking && CallTracking.state.status === 'tracked'", timeout=15_000)
        assert page.text_content("#national") != "Call us: (617) 555-0123"
    finally:
        admin.close()


def _post_settings(context: BrowserContext, site: wp.Site, **extra: str) -> tuple[int, str]:
    form = {"action": "calltracking_save", "tag": "sk_attackerattacker", "api_url": "https://evil.example", **extra}
    answer = context.request.post(site.url + "/wp-admin/admin-post.php", form=form, max_redirects=0)
    return answer.status, answer.text()


def test_a_post_without_nonce_or_by_a_subscriber_is_refused(
    dashboard: dash.Dashboard, site: wp.Site, pool: dict[str, Any]
) -> None:
    before = site.option("calltracking_settings")
    admin = _signed_in(dashboard, site, "admin", site.admin_password)
    subscriber = _signed_in(dashboard, site, "subscriber", site.subscriber_password)
    try:
        # An administrator's post without the nonce: WordPress's "link expired" page
        status, _ = _post_settings(admin, site)
        assert status == 403
        status, _ = _post_settings(admin, site, _wpnonce="0123456789")
        assert status == 403
        # A subscriber's post is refused for the capability, before the nonce is even looked at
        status, body = _post_settings(subscriber, site)
        assert status == 403 and "not allowed" in body
        assert site.option("calltracking_settings") == before
        # and the page itself is not theirs
        page = subscriber.new_page()
        page.goto(_settings(site))
        assert "calltracking-tag" not in page.content()
    finally:
        admin.close()
        subscriber.close()


def _visit(dashboard: dash.Dashboard, site: wp.Site, query: str, init: str = "") -> tuple[BrowserContext, Page, list]:
    context = br.new_context(dashboard.browser)
    if init:
        context.add_init_script(init)
    leases: list[str] = []
    context.on("request", lambda r: r.url.endswith("/v1/leases") and leases.append(r.post_data or ""))
    page = context.new_page()
    page.goto(site.url + "/" + query)
    return context, page, leases


def _swapped(page: Page, number: str) -> None:
    nsn = number[2:]
    assert page.text_content("#national") == f"Call us: ({nsn[:3]}) {nsn[3:6]}-{nsn[6:]}"
    assert page.text_content("#international") == f"From abroad: +1 {nsn[:3]}-{nsn[3:6]}-{nsn[6:]}"
    assert page.get_attribute("#call", "href") == f"tel:{number}"


def test_a_visitor_sees_the_pool_number_and_a_call_is_attributed(
    dashboard: dash.Dashboard, site: wp.Site, pool: dict, monkeypatch: pytest.MonkeyPatch, configured: dict
) -> None:
    assert configured["site_key"] == pool["site_key"]
    context, page, leases = _visit(dashboard, site, "?utm_source=wordpress&utm_medium=plugin")
    try:
        tag = page.locator("script[data-site]")
        assert tag.get_attribute("src") == dashboard.stack.base_url + "/ct.js"
        assert tag.get_attribute("async") is not None and tag.get_attribute("data-consent") is None
        page.wait_for_function("window.CallTracking && CallTracking.state.status === 'tracked'", timeout=15_000)
        state = page.evaluate("JSON.parse(JSON.stringify(CallTracking.state))")
        assert state["original"] == ORIGINAL and state["number"] != ORIGINAL
        _swapped(page, state["number"])
        assert len(leases) == 1
        dash.capture(page, "wordpress-site-swapped")
    finally:
        context.close()
    monkeypatch.setenv("API_KEY", stack_mod.API_KEY)
    result = simulate_call(dashboard.stack.base_url, state["number"], CALLER, token=stack_mod.AUTH_TOKEN)
    attribution = result["call"]["attribution"]
    assert attribution["session_id"] == state["session_id"]
    assert attribution["source"]["utm_source"] == "wordpress"


CONSENT_STUB = """
window.__granted = false;
window.wp_has_consent = (category) => window.__granted && category === 'marketing';
"""
GRANT = """() => {
  window.__granted = true;
  window.__sameDocument = 'yes';
  document.dispatchEvent(new CustomEvent('wp_listen_for_consent_change', {detail: {marketing: 'allow'}}));
}"""


def test_with_the_consent_api_nothing_is_leased_until_marketing_is_allowed(
    dashboard: dash.Dashboard, site: wp.Site, pool: dict[str, Any], configured: dict
) -> None:
    site.set_option("ct_test_consent_stub", 1)
    context = None
    try:
        context, page, leases = _visit(dashboard, site, "?utm_source=consent", CONSENT_STUB)
        # Given the Consent API denying marketing: ct.js waits, nothing is asked or stored
        assert page.locator("script[data-category='marketing']").count() == 1
        assert page.get_attribute("script[data-site]", "data-consent") == "required"
        page.wait_for_function("window.CallTracking && CallTracking.state.status === 'waiting-consent'")
        page.wait_for_timeout(500)
        assert leases == [] and page.text_content("#national") == "Call us: (617) 555-0123"
        assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('ct_'))") == []
        # When the visitor allows marketing in the page, the number is swapped without a reload
        page.evaluate(GRANT)
        page.wait_for_function("['tracked', 'failed'].includes(CallTracking.state.status)")
        assert page.evaluate("CallTracking.state.status") == "tracked", page.evaluate("CallTracking.state")
        assert page.evaluate("window.__sameDocument") == "yes" and len(leases) == 1
        _swapped(page, page.evaluate("CallTracking.state.number"))
        # And the settings page offers the category instead of the fallback
        admin = _signed_in(dashboard, site, "admin", site.admin_password)
        settings = admin.new_page()
        settings.goto(_settings(site))
        expect(settings.locator("#calltracking-category")).to_have_value("marketing")
        assert settings.locator("input[name=consent_mode][type=radio]").count() == 0
        _axe_ours(settings)
        dash.capture(settings, "wordpress-settings-consent-api")
        admin.close()
    finally:
        site.set_option("ct_test_consent_stub", 0)
        if context:
            context.close()


def test_the_readmes_google_tag_manager_snippet_swaps_the_number(
    dashboard: dash.Dashboard, site: wp.Site, pool: dict[str, Any]
) -> None:
    # Given the README's Custom HTML tag, as GTM inserts it: after the page has loaded
    readme = (wp.servers.ROOT / "README.md").read_text()
    guide = readme.split("### Installing with Google Tag Manager", 1)[1]
    snippet = guide.split("```html\n", 1)[1].split("```", 1)[0]
    snippet = snippet.replace("https://<your API>", dashboard.stack.base_url).replace(
        "<the pool\\'s site_key>", pool["site_key"]
    )
    assert pool["site_key"] in snippet
    inner = snippet.split("<script>", 1)[1].rsplit("</script>", 1)[0]
    html = f"<!doctype html><html><head><title>GTM</title></head><body>{PAGE}</body></html>"
    context = br.new_context(dashboard.browser)
    try:
        context.route(
            site.url + "/gtm-page", lambda route: route.fulfill(status=200, content_type="text/html", body=html)
        )
        page = context.new_page()
        page.goto(site.url + "/gtm-page?utm_source=gtm")
        page.evaluate(inner)  # what GTM's container does with a Custom HTML tag
        page.wait_for_function("window.CallTracking && CallTracking.state.status === 'tracked'", timeout=15_000)
        _swapped(page, page.evaluate("CallTracking.state.number"))
    finally:
        context.close()


def test_deleting_the_plugin_removes_what_it_stored(site: wp.Site, configured: dict) -> None:
    # Last in the module: the plugin is gone afterwards
    assert site.option("calltracking_settings")
    assert json.loads(site.php("uninstall"))["active"] == []
    assert site.option("calltracking_settings") is None

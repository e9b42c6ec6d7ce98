"""Playwright helpers for the browser tests: Debian's Chromium, realistic contexts, error collection.

The browser is Debian's ``chromium`` (``make chromium``), driven through ``executable_path``;
a Playwright-downloaded browser is never used. Normal contexts look like a person's desktop
Chrome (a plain user agent, ``navigator.webdriver`` false); ``automated=True`` keeps what
Playwright really is, for the bot-exclusion tests.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, sync_playwright

DESKTOP_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"
HEADLESS_UA = DESKTOP_UA.replace("Chrome/", "HeadlessChrome/")
# What a person's browser reports; Playwright's Chromium reports true.
HIDE_WEBDRIVER = "Object.defineProperty(Navigator.prototype, 'webdriver', {get: () => false, configurable: true});"
# Root in a container needs --no-sandbox. The fixture sites are public-looking origins served by
# routes while the API is on 127.0.0.1: Chromium's Local Network Access checks would block those
# requests (a real site and a real API are both public), so they are off.
ARGS = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--disable-features=LocalNetworkAccessChecks"]


def chromium_path() -> str:
    path = shutil.which("chromium")
    if not path:
        pytest.fail(
            "Debian's chromium is not installed: `make test` installs it (or `make chromium`, "
            "i.e. apt-get install chromium); the browser tests never use a downloaded browser",
            pytrace=False,
        )
    return path


_shared: dict[str, Any] = {}


@contextmanager
def launched() -> Iterator[Browser]:
    """The test process's one headless Debian Chromium, shared by every browser test in it.

    Playwright's sync API runs one event loop per thread: a second ``sync_playwright()`` started
    while another module's is still open fails ("Sync API inside the asyncio loop"), which is what
    happens when xdist puts two browser-test modules on one worker. So the browser is started once,
    kept, and closed at the end of the session (``close_shared``, from conftest). Audio may play
    without a click (the recording player's tests; a person's click does it on the dashboard).
    """
    browser = _shared.get("browser")
    if browser is None or not browser.is_connected():
        if "pw" not in _shared:
            _shared["pw"] = sync_playwright().start()
        _shared["browser"] = _shared["pw"].chromium.launch(
            executable_path=chromium_path(),
            headless=True,
            args=[*ARGS, "--autoplay-policy=no-user-gesture-required"],
        )
    yield _shared["browser"]


def close_shared() -> None:
    """Close the shared browser and Playwright (end of the test session)."""
    browser, pw = _shared.pop("browser", None), _shared.pop("pw", None)
    if browser is not None:
        browser.close()
    if pw is not None:
        pw.stop()


def new_context(
    browser: Browser, *, automated: bool = False, user_agent: str = DESKTOP_UA, **kwargs: Any
) -> BrowserContext:
    """A fresh profile (own storage); looks like a person's Chrome unless ``automated``."""
    context = browser.new_context(user_agent=user_agent, viewport={"width": 1280, "height": 900}, **kwargs)
    if not automated:
        context.add_init_script(HIDE_WEBDRIVER)
    return context


# The browser's own network log lines (Chromium writes one for every failed request, a page's
# script cannot prevent them): "Failed to load resource: ..." and CORS refusals.
_NETWORK_LOG = re.compile(r"^(Failed to load resource: |Access to fetch at .* has been blocked by CORS policy)")


@dataclass
class PageLog:
    """Everything one page wrote to its console, and its uncaught errors."""

    console: list[str] = field(default_factory=list)
    network: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        """Console output and uncaught errors, without the browser's network log of failed requests."""
        return self.console + self.page_errors


def watch(page: Page) -> PageLog:
    log = PageLog()

    def on_console(msg: ConsoleMessage) -> None:
        line = f"{msg.type}: {msg.text} @ {msg.location.get('url', '')}"
        if msg.type == "error" and not msg.args and _NETWORK_LOG.search(msg.text):
            log.network.append(line)
        else:
            log.console.append(line)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: log.page_errors.append(str(exc)))
    return log

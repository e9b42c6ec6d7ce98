"""Meta, Metrica, Bitrix24 and HubSpot destinations on the ad platforms' pages,
in Chromium against the local stack: made
through the form (the token never shown again), "send test" against the platforms' local receivers
(Meta's test event code; Metrica's uploads list), the answer read on the page. axe-core at both
widths; screenshots under ``tests/artifacts/conversions-meta-*``, ``conversions-metrica-*`` and ``conversions-crm-*``.
(The CRMs share this module's stack: one stack start for four platforms.)"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support import crm_receivers, meta_receiver, metrica_receiver
from tests.support import dashboard as dash

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def receivers() -> Iterator[tuple[meta_receiver.MetaReceiver, metrica_receiver.MetricaReceiver]]:
    with meta_receiver.running() as meta, metrica_receiver.running() as metrica:
        yield meta, metrica


@pytest.fixture(scope="module")
def crms() -> Iterator[tuple[crm_receivers.BitrixReceiver, crm_receivers.HubSpotReceiver]]:
    with crm_receivers.running_bitrix() as bitrix, crm_receivers.running_hubspot() as hubspot:
        yield bitrix, hubspot


@pytest.fixture(scope="module")
def stack(chromium: Any, receivers: Any, crms: Any) -> Iterator[dash.Dashboard]:
    meta, metrica = receivers
    env = {"META_GRAPH_BASE_URL": meta.url, "META_GRAPH_API_VERSION": meta.version, "METRICA_API_BASE_URL": metrica.url}
    env["HUBSPOT_API_BASE_URL"] = crms[1].url
    running = dash.start(extra_env=env)
    try:
        yield dash.Dashboard(stack=running, browser=chromium)
    finally:
        running.stop()


_check = dash.check_page


def test_an_admin_makes_and_tests_a_meta_and_a_metrica_destination(stack: dash.Dashboard, receivers: Any) -> None:
    meta, metrica = receivers
    page = stack.signed_in("admin").new_page()
    # Meta: the dataset id, a test event code and the access token; a rule sending Lead
    settings = {"pixel_id": meta.pixel_id, "test_event_code": "TEST12345"}
    dash.add_destination(
        page,
        stack,
        "meta",
        "Meta ads",
        settings=settings,
        credentials={"access_token": meta.token},
        action="Lead",
        value="40",
    )
    expect(page.locator(".notice-ok")).to_contain_text("will not be shown again")
    assert meta.token not in page.content()
    dash.send_test(page)
    expect(page.locator("#test-heading")).to_contain_text("accepted")
    expect(page.locator("main")).to_contain_text("Meta received the event")
    assert len(meta.test_events) == 1 and meta.events == []
    _check(page, "conversions-meta-destination")
    # Metrica: the counter and the OAuth token; send test reads the uploads list, uploads nothing
    dash.add_destination(
        page, stack, "metrica", "Metrica calls", settings={"counter_id": metrica.counter},
        credentials={"oauth_token": metrica.token},
    )  # fmt: skip
    expect(page.locator(".notice-ok")).to_contain_text("will not be shown again")
    assert metrica.token not in page.content()
    dash.send_test(page)
    expect(page.locator("#test-heading")).to_contain_text("accepted")
    expect(page.locator("main")).to_contain_text("Metrica accepted the token and the counter")
    assert metrica.uploads == []
    _check(page, "conversions-metrica-destination")
    page.goto(stack.url("/dashboard/conversions"))
    expect(page.locator("tbody")).to_contain_text("Meta ads")
    expect(page.locator("tbody")).to_contain_text("Metrica calls")
    _check(page, "conversions-meta-metrica-list")


def test_an_admin_connects_bitrix24_and_hubspot_by_pasting_one_credential_tests_them_and_reads_the_log(
    stack: dash.Dashboard, crms: Any
) -> None:
    bitrix, _ = crms
    page = stack.signed_in("admin").new_page()
    # Bitrix24: the incoming webhook URL and the default responsible user
    dash.add_destination(
        page, stack, "bitrix24", "Bitrix24 portal", settings={"user_id": "1", "users": "po_sales=5"},
        credentials={"webhook_url": bitrix.webhook},
    )  # fmt: skip
    expect(page.locator(".notice-ok")).to_contain_text("will not be shown again")
    assert bitrix.code not in page.content()
    dash.send_test(page)
    expect(page.locator("#test-heading")).to_contain_text("accepted")
    expect(page.locator("main")).to_contain_text("the webhook works")
    assert bitrix.requests == ["telephony.externalLine.get"] and bitrix.refused == []
    expect(page.locator("#log-heading")).to_have_text("Delivery log")
    _check(page, "conversions-crm-bitrix24")
    # HubSpot: the private app's token; a revoked one's test says so in HubSpot's words
    dash.add_destination(page, stack, "hubspot", "HubSpot", credentials={"access_token": "pat-revoked"})
    dash.send_test(page)
    expect(page.locator("main")).to_contain_text("Authentication credentials not found")
    _check(page, "conversions-crm-hubspot")

"""Tracking numbers: search and buy for a channel, list, release; provider errors become clear 4xx/502."""

from __future__ import annotations

from urllib.parse import quote, unquote

import pytest

from calltracking_local.telephony import LocalTelephony
from chalicelib.core.telephony import TelephonyError, get_provider, set_provider
from tests.support.env import BASE_URL, body


@pytest.fixture
def channel(api):
    r = api.call("POST", "/v1/channels", {"name": "Radio FM 101", "forward_to": "+12025550144"})
    return body(r)


def test_buy_for_a_channel_points_the_number_at_this_deployment(api, channel):
    r = api.call("POST", "/v1/numbers", {"channel_id": channel["id"], "area_code": "415"})
    assert r.status_code == 201, r.body
    num = body(r)
    assert num["number"].startswith("+1415") and num["status"] == "active" and num["kind"] == "channel"
    assert num["channel_id"] == channel["id"] and num["provider"] == "local"
    hooks = get_provider().hooks[num["provider_sid"]]  # type: ignore[attr-defined]
    # The voice and fallback URLs carry the channel's phone: the fallback needs no database.
    assert hooks.voice_url == f"{BASE_URL}/twilio/voice?to=%2B12025550144"
    assert hooks.voice_fallback_url == f"{BASE_URL}/twilio/fallback?to=%2B12025550144"
    assert hooks.status_callback == f"{BASE_URL}/twilio/call-status"
    assert body(api.call("GET", f"/v1/numbers/{quote(num['number'])}")) == num


def test_contains_and_a_specific_number(api, channel):
    num = body(api.call("POST", "/v1/numbers", {"channel_id": channel["id"], "contains": "0142"}))
    assert num["number"].endswith("0142")
    r = api.call("POST", "/v1/numbers", {"channel_id": channel["id"], "number": num["number"]})
    assert r.status_code == 409 and "already" in body(r)["error"]["message"]


def test_list_filters_and_release_keeps_history(api, channel):
    a = body(api.call("POST", "/v1/numbers", {"channel_id": channel["id"]}))
    b = body(api.call("POST", "/v1/numbers", {"channel_id": channel["id"]}))
    api.twilio("/twilio/voice", {"CallSid": "CA1", "From": "+14155550111", "To": a["number"]})
    r = api.call("DELETE", f"/v1/numbers/{quote(a['number'])}")
    assert r.status_code == 200 and body(r)["status"] == "released" and body(r)["released_at"]
    assert a["provider_sid"] not in get_provider().hooks  # type: ignore[attr-defined]
    active = body(api.call("GET", "/v1/numbers?status=active"))["numbers"]
    assert [n["number"] for n in active] == [b["number"]]
    released = body(api.call("GET", "/v1/numbers?status=released"))["numbers"]
    assert [n["number"] for n in released] == [a["number"]]
    assert body(api.call("GET", "/v1/calls/CA1"))["channel_name"] == "Radio FM 101"
    # Releasing twice is harmless.
    assert api.call("DELETE", f"/v1/numbers/{quote(a['number'])}").status_code == 200


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        ({}, "channel_id"),
        ({"channel_id": "x", "pool_id": "y"}, "exactly one"),
        ({"channel_id": "CH", "country": "USA"}, "country"),
        ({"channel_id": "CH", "area_code": "4a5"}, "area_code"),
        ({"channel_id": "CH", "contains": "abc"}, "contains"),
        ({"channel_id": "CH", "number": "12"}, "number"),
        ({"channel_id": "CH", "overflow": True}, "overflow"),
        ({"channel_id": "CH", "colour": "red"}, "colour"),
    ],
)
def test_bad_requests(api, channel, payload, words):
    payload = {k: (channel["id"] if v == "CH" else v) for k, v in payload.items()}
    r = api.call("POST", "/v1/numbers", payload)
    assert r.status_code == 400, r.body
    assert words in body(r)["error"]["message"]
    assert body(api.call("GET", "/v1/numbers"))["numbers"] == []


def test_unknown_channel_and_number(api):
    r = api.call("POST", "/v1/numbers", {"channel_id": "ch_missing"})
    assert r.status_code == 404
    assert api.call("GET", "/v1/numbers/%2B12025550000").status_code == 404
    r = api.call("DELETE", "/v1/numbers/not-a-number")
    assert r.status_code == 400 and "number" in body(r)["error"]["message"]


def test_nothing_available_is_409(api, channel):
    r = api.call("POST", "/v1/numbers", {"channel_id": channel["id"], "country": "GB"})
    assert r.status_code == 409 and "available" in body(r)["error"]["message"]


class Failing(LocalTelephony):
    def __init__(self, client_error: bool) -> None:
        super().__init__(area_codes=("201",))
        self.client_error = client_error

    def buy(self, number, hooks):
        raise TelephonyError("carrier said no", client_error=self.client_error)

    def release(self, sid):
        raise TelephonyError("carrier down", client_error=self.client_error)


@pytest.mark.parametrize(("client_error", "status"), [(True, 409), (False, 502)])
def test_provider_errors(api, channel, client_error, status):
    set_provider(Failing(client_error))
    r = api.call("POST", "/v1/numbers", {"channel_id": channel["id"]})
    assert r.status_code == status and "carrier said no" in body(r)["error"]["message"]
    assert body(api.call("GET", "/v1/numbers"))["numbers"] == []


def test_release_when_the_provider_is_down_keeps_the_number_active(api, channel):
    num = body(api.call("POST", "/v1/numbers", {"channel_id": channel["id"]}))
    set_provider(Failing(False))
    r = api.call("DELETE", f"/v1/numbers/{quote(num['number'])}")
    assert r.status_code == 502
    assert body(api.call("GET", f"/v1/numbers/{quote(num['number'])}"))["status"] == "active"


# --- the line's phone in the number's URLs, kept in step ---------------------------------------


def hooks_of(number: dict) -> object:
    return get_provider().hooks[number["provider_sid"]]  # type: ignore[attr-defined]


def fallback_phone(number: dict) -> str:
    url = hooks_of(number).voice_fallback_url  # type: ignore[attr-defined]
    assert url.startswith(f"{BASE_URL}/twilio/fallback?to=")
    return unquote(url.rsplit("=", 1)[1])


def test_changing_a_channels_phone_repoints_its_numbers(api, channel):
    # Given a channel with two numbers pointing at its phone, and one released
    a, b, gone = (body(api.call("POST", "/v1/numbers", {"channel_id": channel["id"]})) for _ in range(3))
    api.call("DELETE", f"/v1/numbers/{quote(gone['number'])}")
    # When the channel's phone changes
    r = api.call("PATCH", f"/v1/channels/{channel['id']}", {"forward_to": "+1 202 555 0177"})
    # Then both active numbers' voice and fallback URLs name the new phone
    assert r.status_code == 200, r.body
    assert fallback_phone(a) == fallback_phone(b) == "+12025550177"
    assert hooks_of(a).voice_url == f"{BASE_URL}/twilio/voice?to=%2B12025550177"  # type: ignore[attr-defined]
    # ... and a change that leaves the phone alone sends nothing to the provider
    provider = get_provider()
    calls = []
    provider.update = lambda sid, hooks: calls.append(sid)  # type: ignore[method-assign]
    assert api.call("PATCH", f"/v1/channels/{channel['id']}", {"forward_to": "+12025550177"}).status_code == 200
    assert api.call("PATCH", f"/v1/channels/{channel['id']}", {"record": True}).status_code == 200
    assert calls == []


def test_changing_a_pools_phone_repoints_its_numbers_and_its_overflow_number(api):
    spec = {"name": "Shop", "allowed_origins": ["https://shop.example.com"], "original_number": "+12025550123"}
    pool = body(api.call("POST", "/v1/pools", {**spec, "forward_to": "+12025550144"}))
    numbers = [body(api.call("POST", "/v1/numbers", {"pool_id": pool["id"]})) for _ in range(2)]
    numbers.append(body(api.call("POST", "/v1/numbers", {"pool_id": pool["id"], "overflow": True})))
    assert {fallback_phone(n) for n in numbers} == {"+12025550144"}
    assert api.call("PATCH", f"/v1/pools/{pool['id']}", {"forward_to": "+12025550188"}).status_code == 200
    assert {fallback_phone(n) for n in numbers} == {"+12025550188"}


class FailingUpdates(LocalTelephony):
    """Re-pointing fails for the first ``failures`` numbers, then works."""

    def __init__(self, failures: int) -> None:
        super().__init__(area_codes=("201",))
        self.failures = failures

    def update(self, sid, hooks):
        if self.failures:
            self.failures -= 1
            raise TelephonyError("Twilio answered HTTP 503")
        super().update(sid, hooks)


def test_a_repoint_the_provider_fails_is_502_and_saving_again_finishes_it(api, channel):
    # Given a channel with two numbers, and a provider that fails once
    provider = FailingUpdates(failures=0)
    set_provider(provider)
    numbers = [body(api.call("POST", "/v1/numbers", {"channel_id": channel["id"]})) for _ in range(2)]
    provider.failures = 1
    # When the phone changes, the change is saved but the answer says what is left
    r = api.call("PATCH", f"/v1/channels/{channel['id']}", {"forward_to": "+12025550177"})
    assert r.status_code == 502 and "save it again" in body(r)["error"]["message"], r.body
    assert body(api.call("GET", f"/v1/channels/{channel['id']}"))["forward_to"] == "+12025550177"
    # When it is saved again, every number points at the new phone
    assert api.call("PATCH", f"/v1/channels/{channel['id']}", {"forward_to": "+12025550177"}).status_code == 200
    assert [fallback_phone(n) for n in numbers] == ["+12025550177"] * 2


def test_forwarding_a_pool_to_one_of_our_tracking_numbers_is_refused(api, channel):
    # Given a tracking number of this deployment
    tracking = body(api.call("POST", "/v1/numbers", {"channel_id": channel["id"]}))["number"]
    spec = {"name": "Shop", "allowed_origins": ["https://shop.example.com"], "original_number": "+12025550100"}
    # When a pool is created to forward to it, or a pool is changed to
    created = api.call("POST", "/v1/pools", {**spec, "forward_to": tracking})
    pool = body(api.call("POST", "/v1/pools", {**spec, "forward_to": "+12025550144"}))
    changed = api.call("PATCH", f"/v1/pools/{pool['id']}", {"flow": {"failover": [tracking]}})
    # Then both are refused, naming the loop, and the pool is as it was
    for r in (created, changed):
        assert r.status_code == 400 and tracking in body(r)["error"]["message"], r.body
    assert [p["id"] for p in body(api.call("GET", "/v1/pools"))["pools"]] == [pool["id"]]
    assert body(api.call("GET", f"/v1/pools/{pool['id']}"))["flow"] == {"when_unanswered": "voicemail"}


def test_buying_a_number_a_line_forwards_to_is_refused(api):
    # Given a channel whose calls go to a phone in the local provider's range
    phone = "+12015550150"
    ch = body(api.call("POST", "/v1/channels", {"name": "Loop", "forward_to": "+12025550144"}))
    assert api.call("PATCH", f"/v1/channels/{ch['id']}", {"flow": {"failover": [phone]}}).status_code == 200
    # When that phone is bought as a tracking number
    r = api.call("POST", "/v1/numbers", {"channel_id": ch["id"], "number": phone})
    # Then it is refused, naming the loop, and nothing is bought
    assert r.status_code == 400 and phone in body(r)["error"]["message"], r.body
    assert body(api.call("GET", "/v1/numbers"))["numbers"] == []


def test_the_local_provider_never_offers_a_phone_a_line_forwards_to(api):
    # Given a channel that forwards to the first number of the local provider's fictional range
    first = "+12015550100"
    ch = body(api.call("POST", "/v1/channels", {"name": "Shop", "forward_to": first}))
    # When a number is bought for it without naming one (the provider picks)
    r = api.call("POST", "/v1/numbers", {"channel_id": ch["id"]})
    # Then another number is bought: a carrier cannot sell the business its own phone
    assert r.status_code == 201, r.body
    assert body(r)["number"] != first

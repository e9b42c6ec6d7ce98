"""Channels: the management API's CRUD, phone validation, API keys, malformed bodies."""

from __future__ import annotations

import pytest

from tests.support.env import body


def new_channel(api, **over):
    r = api.call("POST", "/v1/channels", {"name": "Radio FM 101", "forward_to": "+1 202 555 0144", **over})
    assert r.status_code == 201, r.body
    return body(r)


def test_create_normalizes_phone_and_defaults_disclosure(api):
    ch = new_channel(api, record=True)
    assert ch["forward_to"] == "+12025550144"
    assert ch["record"] is True
    assert "recorded" in ch["disclosure"]
    assert body(api.call("GET", f"/v1/channels/{ch['id']}")) == ch


def test_list_update_delete(api):
    a = new_channel(api, name="Google Ads")
    b = new_channel(api, name="Billboard A4")
    names = sorted(c["name"] for c in body(api.call("GET", "/v1/channels"))["channels"])
    assert names == ["Billboard A4", "Google Ads"]
    r = api.call("PATCH", f"/v1/channels/{a['id']}", {"record": True, "disclosure": "We record calls."})
    assert r.status_code == 200, r.body
    assert body(r)["disclosure"] == "We record calls." and body(r)["name"] == "Google Ads"
    assert api.call("DELETE", f"/v1/channels/{b['id']}").status_code == 204
    assert api.call("GET", f"/v1/channels/{b['id']}").status_code == 404


@pytest.mark.parametrize(
    ("payload", "status", "words"),
    [
        ({"name": "X", "forward_to": "not a phone"}, 400, "forward_to"),
        ({"name": "X", "forward_to": "+1 202 555"}, 400, "forward_to"),
        ({"name": "X"}, 400, "forward_to"),
        ({"forward_to": "+12025550144"}, 400, "name"),
        ({"name": "", "forward_to": "+12025550144"}, 400, "name"),
        ({"name": "X", "forward_to": "+12025550144", "record": "yes"}, 400, "record"),
        ({"name": "X", "forward_to": "+12025550144", "colour": "red"}, 400, "colour"),
        ({"name": "X", "forward_to": "+12025550144", "disclosure": "x" * 501}, 400, "disclosure"),
        ({"name": 5, "forward_to": "+12025550144"}, 400, "name"),
    ],
)
def test_bad_fields_are_400_with_a_message(api, payload, status, words):
    r = api.call("POST", "/v1/channels", payload)
    assert r.status_code == status, r.body
    err = body(r)["error"]
    assert words in err["message"] and err["code"]
    assert body(api.call("GET", "/v1/channels"))["channels"] == []  # nothing saved


@pytest.mark.parametrize(
    ("raw", "ctype", "status"),
    [
        ("{not json", "application/json", 400),
        ("[1, 2]", "application/json", 400),
        ("", "application/json", 400),
        ('{"name": "x"}', "text/plain", 415),
        ("x" * 70_000, "application/json", 413),
    ],
)
def test_malformed_bodies(api, raw, ctype, status):
    r = api.call("POST", "/v1/channels", raw, headers={"Content-Type": ctype})
    assert r.status_code == status, r.body
    assert body(r)["error"]["message"]


@pytest.mark.parametrize("key", [None, "wrong-key", ""])
def test_management_needs_the_api_key(api, key):
    r = api.call("GET", "/v1/channels", key=key)
    assert r.status_code == 401
    assert "API key" in body(r)["error"]["message"]
    assert r.headers["WWW-Authenticate"].startswith("Bearer")


def test_scheme_must_be_bearer(api):
    r = api.call("GET", "/v1/channels", key=None, headers={"Authorization": "Basic dGVzdC1hcGkta2V5"})
    assert r.status_code == 401


def test_unknown_channel_is_404(api):
    r = api.call("PATCH", "/v1/channels/ch_nope", {"name": "Y"})
    assert r.status_code == 404 and "ch_nope" in body(r)["error"]["message"]


def test_channel_with_an_active_number_cannot_be_deleted(api):
    ch = new_channel(api)
    num = body(api.call("POST", "/v1/numbers", {"channel_id": ch["id"]}))
    r = api.call("DELETE", f"/v1/channels/{ch['id']}")
    assert r.status_code == 409 and "release" in body(r)["error"]["message"]
    assert api.call("DELETE", f"/v1/numbers/{num['number']}").status_code == 200
    assert api.call("DELETE", f"/v1/channels/{ch['id']}").status_code == 204


def test_forwarding_a_channel_to_one_of_our_tracking_numbers_is_refused(api):
    # Given a channel with a tracking number of this deployment
    radio = new_channel(api)
    tracking = body(api.call("POST", "/v1/numbers", {"channel_id": radio["id"]}))["number"]
    looping = [
        {"forward_to": tracking},
        {"flow": {"failover": ["+12025550111", tracking]}},
        {"flow": {"after_hours": {"action": "forward", "forward_to": tracking}}},
    ]
    for change in looping:
        # When a channel is created, or changed, to send its calls to that number
        created = api.call("POST", "/v1/channels", {"name": "Loop", "forward_to": "+12025550155", **change})
        changed = api.call("PATCH", f"/v1/channels/{radio['id']}", change)
        # Then both are refused with a message that names the loop, and nothing is saved
        for r in (created, changed):
            assert r.status_code == 400, (change, r.body)
            assert tracking in body(r)["error"]["message"] and "tracking number" in body(r)["error"]["message"]
    assert [c["id"] for c in body(api.call("GET", "/v1/channels"))["channels"]] == [radio["id"]]
    assert body(api.call("GET", f"/v1/channels/{radio['id']}")) == radio
    # ... while a number given back to the carrier is any phone again
    assert api.call("DELETE", f"/v1/numbers/{tracking}").status_code == 200
    assert api.call("PATCH", f"/v1/channels/{radio['id']}", {"forward_to": tracking}).status_code == 200

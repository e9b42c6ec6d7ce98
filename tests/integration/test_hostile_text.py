"""Arbitrary text, lone surrogates included, at every route that takes JSON: never a 5xx, a
refusal stores nothing, and text that cannot be UTF-8 is a 400 wherever it comes in.

A lone surrogate (``"\\ud800"``) is valid JSON text once escaped, which is how a client's
``json.dumps`` sends it; DynamoDB, the CSV export and the reports cannot hold it. The bodies
are sent as raw bytes, as a client could: ASCII with escapes, and UTF-8 with the surrogate
written out (which is not UTF-8 at all).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.test_leases import SITE, UA, make_pool
from tests.support import snapshot
from tests.support.env import API_KEY, body
from tests.unit.test_hostile_text import TEMPLATES

EXAMPLES_PER_ROUTE = 40
# Routes that read no body: hostile text in one must not make a 5xx, but it is not theirs to refuse.
BODYLESS = {
    ("POST", "/v1/alerts/recipients/{recipient_id}/test"),
    ("POST", "/v1/webhooks/{endpoint_id}/test"),
    ("POST", "/v1/conversions/destinations/{destination_id}/test"),
    ("POST", "/v1/webhooks/{endpoint_id}/deliveries/{delivery_id}/resend"),
    # checked by its signature (and its destination) before its body is read: never a 5xx, nothing stored
    ("POST", "/crm/hubspot/{destination_id}"),
}

SURROGATES = st.characters(categories=["Cs"])
# Any character at all, controls included, with lone surrogates common. (A list joined, not
# st.text: text() leaves surrogates out whatever alphabet it is given.)
ANY_CHAR = st.one_of(st.characters(), SURROGATES, st.sampled_from(["\ud800", "\udfff", "\ud83d", "\x00", "="]))
TEXT = st.lists(ANY_CHAR, max_size=30).map("".join)
JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6,
)


@st.composite
def hostile_bodies(draw: Any, template: dict[str, Any]) -> dict[str, Any]:
    """The template with one field (or a key inside one) replaced or added, or any JSON object."""
    how = draw(st.sampled_from(["replace", "add", "nested", "anything"]))
    out = dict(template)
    if how == "anything":
        return draw(st.dictionaries(TEXT, JSON_VALUE, max_size=4))
    if how == "add":
        out[draw(TEXT)] = draw(JSON_VALUE)
        return out
    key = draw(st.sampled_from(sorted(template)))
    if how == "nested" and isinstance(template[key], (dict, list)):
        out[key] = {draw(TEXT): draw(TEXT)} if isinstance(template[key], dict) else [draw(TEXT)]
    else:
        out[key] = draw(st.one_of(TEXT, JSON_VALUE))
    return out


def has_surrogate(value: Any, *, ascii_escapes: bool = False) -> bool:
    """Whether the server receives a surrogate it must refuse. Sent as ASCII escapes, a high
    surrogate followed by a low one (``"\\ud800\\udc00"``) is one valid character once parsed
    (U+10000), so only what stays lone counts; written out raw, any surrogate is bytes that are not UTF-8."""
    if ascii_escapes:
        value = json.loads(json.dumps(value, ensure_ascii=True))
    text = json.dumps(value, ensure_ascii=False)
    return any(0xD800 <= ord(c) <= 0xDFFF for c in text)


@pytest.fixture
def stage(api, alerting, settings_env):
    """A channel, a pool with a free number, and a stored call: what the routes' paths and bodies name
    (SSM on moto's server for the credentials; GA4 at a closed local port for "send test")."""
    settings_env(GA4_BASE_URL="http://127.0.0.1:9")
    ch = body(api.call("POST", "/v1/channels", {"name": "Google Ads", "forward_to": "+12025550144"}))
    number = body(api.call("POST", "/v1/numbers", {"channel_id": ch["id"]}))["number"]
    pool = make_pool(api, size=2)
    sid = "CA" + "c" * 32
    api.twilio("/twilio/voice", {"CallSid": sid, "From": "+14155550111", "To": number})
    hook = body(api.call("POST", "/v1/webhooks", {"url": "http://127.0.0.1:9/hook", "enabled": False}))
    owner = body(
        api.call("POST", "/v1/alerts/recipients", {"name": "Owner", "channel": "email", "email": "o@example.com"})
    )
    dest = body(
        api.call(
            "POST",
            "/v1/conversions/destinations",
            {"platform": "ga4", "settings": {"measurement_id": "G-TEST1234"}, "backfill_days": 0},
        )
    )
    return {
        "destination_id": dest["id"],
        "recipient_id": owner["id"],
        "channel_id": ch["id"],
        "pool_id": pool["id"],
        "site_key": pool["site_key"],
        "sid": sid,
        "endpoint_id": hook["id"],
        "delivery_id": "no-such-delivery",
    }


def fill(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str) and value.startswith("{") and value.endswith("}") and value[1:-1] in names:
        return names[value[1:-1]]
    if isinstance(value, dict):
        return {k: fill(v, names) for k, v in value.items()}
    return value


def send(api: Any, method: str, path: str, raw: bytes) -> Any:
    if path == "/v1/leases":
        headers = {"Content-Type": "text/plain", "Origin": SITE, "User-Agent": UA}
    else:
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {API_KEY}"}
    return getattr(api.client.http, method.lower())(path, headers=headers, body=raw)


@pytest.mark.parametrize("route", sorted(TEMPLATES), ids=lambda r: f"{r[0]} {r[1]}")
def test_hostile_text_never_makes_a_5xx_and_a_refusal_stores_nothing(api, stage, route):
    method, template_path = route
    path = template_path.format(**stage)
    template = fill(TEMPLATES[route], stage)

    @settings(
        max_examples=EXAMPLES_PER_ROUTE,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(payload=hostile_bodies(template), ascii_escapes=st.booleans())
    def check(payload: dict[str, Any], ascii_escapes: bool) -> None:
        # What a client's json.dumps sends: "\ud800" escapes, or the surrogate written out raw
        # (bytes that are not UTF-8).
        if ascii_escapes:
            raw = json.dumps(payload, ensure_ascii=True).encode("ascii")
        else:
            raw = json.dumps(payload, ensure_ascii=False).encode("utf-8", "surrogatepass")
        before = snapshot.tables()
        r = send(api, method, path, raw)
        assert r.status_code < 500, (r.status_code, r.body, raw)
        if has_surrogate(payload, ascii_escapes=ascii_escapes) and route not in BODYLESS:
            assert r.status_code == 400 and body(r)["error"]["code"] == "bad_request", (r.status_code, r.body)
        if r.status_code >= 400:
            assert snapshot.tables() == before, (r.status_code, r.body, raw)

    check()


def test_a_lone_surrogate_is_refused_where_it_would_have_been_stored(api, stage):
    # The lease endpoint kept utm values as data: one lone surrogate made DynamoDB refuse the
    # lease (a 500) and, where a copy reached a JSON attribute, broke the CSV export and reports.
    raw = json.dumps({**fill(TEMPLATES[("POST", "/v1/leases")], stage), "utm": {"source": "\ud800"}}).encode()
    before = snapshot.tables()
    r = send(api, "POST", "/v1/leases", raw)
    assert r.status_code == 400 and "Unicode" in body(r)["error"]["message"]
    assert snapshot.tables() == before
    # A well-formed pair (an emoji escaped as two halves) is text like any other.
    raw = json.dumps({**fill(TEMPLATES[("POST", "/v1/leases")], stage), "utm": {"source": "\U0001f600"}}).encode()
    assert json.loads(send(api, "POST", "/v1/leases", raw).body)["tracked"] is True


# --- path ids: an empty or blank id names nothing ---------------------------------------------


def id_routes() -> list[tuple[str, str]]:
    """Every (method, path) of the management API with an id in its path."""
    from app import app

    return sorted(
        (method, path)
        for path, entries in app.routes.items()
        if path.startswith("/v1/") and "{" in path
        for method in entries
    )


@pytest.mark.parametrize("blank", ["", "%20", "%09"], ids=["empty", "space", "tab"])
def test_an_empty_path_id_is_a_404_never_a_500(api, blank):
    # Given every management route that takes an id (POST /v1/webhooks//test answered 500)
    assert ("POST", "/v1/webhooks/{endpoint_id}/test") in id_routes()
    for method, template in id_routes():
        for name in re.findall(r"\{([^}]+)\}", template):
            # When that id (one at a time) is empty or blank, the others well-formed but unknown
            path = re.sub(r"\{([^}]+)\}", lambda m, name=name: blank if m[1] == name else "unknown", template)
            r = send(api, method, path, b"{}" if method in ("POST", "PUT", "PATCH") else b"")
            # Then the answer is a 4xx in the API's error shape (a trailing empty id may instead
            # name the list route above it, which answers as that route does, or 405), never a 5xx
            assert r.status_code < 500, (method, path, r.status_code, r.body)
            if not blank and path.endswith("/") and (r.headers or {}).get("x-amzn-ErrorType"):
                # A trailing empty id with no list route above it (/v1/callers/) names no route at
                # all: API Gateway answers that itself (403 in its own shape), the app never sees it.
                assert r.status_code == 403, (method, path, r.body)
                continue
            if r.status_code >= 400:
                assert set(body(r)["error"]) >= {"code", "message"}, (method, path, r.body)
            if not path.endswith("/" + blank) or blank:
                assert r.status_code == 404 and body(r)["error"]["code"] == "not_found", (method, path, r.body)

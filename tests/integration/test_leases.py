"""Pools, the public lease endpoint, sessions and the lease history."""

from __future__ import annotations

import json

import pytest

from chalicelib.core import clock
from chalicelib.store.models import LeaseModel, NumberModel, SessionModel
from tests.support.env import T0, body

SITE = "https://shop.example.com"
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"


def make_pool(api, size=2, **over):
    spec = {"name": "Shop", "allowed_origins": [SITE], "original_number": "+12025550123", "forward_to": "+12025550144"}
    r = api.call("POST", "/v1/pools", {**spec, **over})
    assert r.status_code == 201, r.body
    pool = body(r)
    pool["numbers"] = [body(api.call("POST", "/v1/numbers", {"pool_id": pool["id"]}))["number"] for _ in range(size)]
    return pool


def lease(api, pool, visitor="visitor-0001", *, origin=SITE, ua=UA, raw=None, **fields):
    payload = {"site_key": pool["site_key"], "visitor_id": visitor, "page_url": f"{SITE}/", **fields}
    headers = {"Content-Type": "text/plain", "User-Agent": ua}
    if origin is not None:
        headers["Origin"] = origin
    return api.client.http.post("/v1/leases", headers=headers, body=raw if raw is not None else json.dumps(payload))


def leased(api, pool, visitor="visitor-0001", **fields):
    r = lease(api, pool, visitor, **fields)
    assert r.status_code == 200, r.body
    assert r.headers["Access-Control-Allow-Origin"] == SITE
    return body(r)


# --- pools ----------------------------------------------------------------------------------


def test_pool_crud_and_status(api, fake_clock):
    pool = make_pool(api, size=3, hold_seconds=600, allowed_origins=["HTTPS://Shop.Example.com/"])
    assert pool["allowed_origins"] == [SITE] and pool["hold_seconds"] == 600 and pool["grace_seconds"] == 1800
    assert pool["site_key"].startswith("sk_") and pool["exhaustion_policy"] == "original"
    leased(api, pool)
    st = body(api.call("GET", f"/v1/pools/{pool['id']}"))
    assert (st["size"], st["leased_now"], st["utilization"]) == (3, 1, 0.3333)
    assert st["exhausted"] == {"last_24h": 0, "last_7d": 0}
    r = api.call("PATCH", f"/v1/pools/{pool['id']}", {"hold_seconds": 1200})
    assert body(r)["hold_seconds"] == 1200
    assert [p["id"] for p in body(api.call("GET", "/v1/pools"))["pools"]] == [pool["id"]]


@pytest.mark.parametrize(
    ("over", "words"),
    [
        ({"allowed_origins": []}, "allowed_origins"),
        ({"allowed_origins": ["shop.example.com"]}, "origin"),
        ({"allowed_origins": ["https://shop.example.com/page"]}, "origin"),
        ({"original_number": "12"}, "original_number"),
        ({"hold_seconds": 5}, "hold_seconds"),
        ({"grace_seconds": -1}, "grace_seconds"),
        ({"exhaustion_policy": "panic"}, "exhaustion_policy"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_pools_are_400(api, over, words):
    spec = {"name": "Shop", "allowed_origins": [SITE], "original_number": "+12025550123", "forward_to": "+12025550144"}
    r = api.call("POST", "/v1/pools", {**spec, **over})
    assert r.status_code == 400 and words in body(r)["error"]["message"], r.body
    assert body(api.call("GET", "/v1/pools"))["pools"] == []


# --- leases ---------------------------------------------------------------------------------


def test_a_visitor_is_tracked_and_keeps_the_number(api, fake_clock):
    pool = make_pool(api)
    got = leased(
        api,
        pool,
        page_url=f"{SITE}/?utm_source=google&utm_medium=cpc&gclid=abc",
        referrer="https://www.google.com/",
        utm={"source": "google", "medium": "cpc", "campaign": "spring", "term": "plumber"},
        click_ids={"gclid": "abc"},
        client_ids={"ga": "GA1.1.123.456"},
    )
    assert got["tracked"] is True and got["number"] in pool["numbers"]
    assert got["display"].startswith("(201) 555-") and got["original"] == "+12025550123"
    assert got["hold_seconds"] == 900 and 15 <= got["renew_after_seconds"] <= 300
    assert got["expires_at"] == clock.iso(int((T0 + 900) * 1000))
    session = SessionModel.get(got["session_id"])
    assert session.source["utm_source"] == "google" and session.source["gclid"] == "abc"
    assert session.source["ga_client_id"] == "GA1.1.123.456" and session.source["device"] == "desktop"
    fake_clock.advance(120)
    again = leased(api, pool, session_id=got["session_id"], page_url=f"{SITE}/services")
    assert again["number"] == got["number"] and again["session_id"] == got["session_id"]
    assert [p["url"] for p in SessionModel.get(got["session_id"]).pages] == [
        f"{SITE}/?utm_source=google&utm_medium=cpc&gclid=abc",
        f"{SITE}/services",
    ]
    fake_clock.advance(60)
    renewed = leased(api, pool, session_id=got["session_id"], renew=True)
    assert renewed["expires_at"] == clock.iso(int((T0 + 180 + 900) * 1000))
    assert len(list(LeaseModel.query(got["number"]))) == 1  # renewals are not new leases


def test_least_recently_released_number_goes_first(api, fake_clock):
    pool = make_pool(api, size=3, hold_seconds=60)
    first = [leased(api, pool, f"visitor-{i:04d}")["number"] for i in range(3)]
    assert sorted(first) == sorted(pool["numbers"])
    fake_clock.advance(61)  # every lease ended, in the order they started
    leased(api, pool, "visitor-0003")
    n = NumberModel.get(first[0])
    assert n.lease_session_id is not None and int(n.lease_started_at) == int((T0 + 61) * 1000)
    nxt = leased(api, pool, "visitor-0004")["number"]
    assert nxt == first[1]


def test_the_number_carries_its_current_leases_source_until_the_visit_is_erased(api, fake_clock):
    from chalicelib.store import leases

    # Given a number leased to one visitor, then, after that lease ended, to another
    pool = make_pool(api, size=1, hold_seconds=60, grace_seconds=0)
    first = leased(api, pool, "visitor-0001", utm={"source": "bing"})
    (earlier,) = leases.latest_starts(first["number"], limit=1)
    fake_clock.advance(61)
    second = leased(api, pool, "visitor-0002", utm={"source": "google", "campaign": "spring"})
    assert second["number"] == first["number"]
    # Then the number item carries the current lease's source, as its lease history item does
    item = NumberModel.get(second["number"])
    (latest,) = leases.latest_starts(second["number"], limit=1)
    assert item.lease_source == latest.source and item.lease_source["utm_campaign"] == "spring"
    # When the first visit is erased, the number's copy of the current lease's source stays
    assert leases.forget_lease(first["number"], earlier.started_at, first["session_id"])
    assert NumberModel.get(second["number"]).lease_source == latest.source
    # When the current lease's visit is erased, its copy on the number goes with its history item
    assert leases.forget_lease(second["number"], latest.started_at, second["session_id"])
    assert NumberModel.get(second["number"]).lease_source is None


def test_an_expired_session_gets_a_number_again(api, fake_clock):
    pool = make_pool(api, size=1, hold_seconds=60)
    got = leased(api, pool)
    fake_clock.advance(3600)
    again = leased(api, pool, session_id=got["session_id"], renew=True)
    assert again["tracked"] and again["session_id"] == got["session_id"]
    history = list(LeaseModel.query(got["number"]))
    assert len(history) == 2 and history[1].prev_session_id == got["session_id"]


def test_renewal_by_someone_else_does_not_steal_the_number(api, fake_clock):
    pool = make_pool(api, size=1)
    got = leased(api, pool, "visitor-aaaa")
    other = leased(api, pool, "visitor-bbbb", session_id=got["session_id"], renew=True)
    assert other["tracked"] is False and other["reason"] == "pool_exhausted"


@pytest.mark.parametrize("policy", ["original", "overflow"])
def test_exhaustion_policy_and_count(api, fake_clock, policy):
    pool = make_pool(api, size=1, exhaustion_policy="original")
    overflow = None
    if policy == "overflow":
        overflow = body(api.call("POST", "/v1/numbers", {"pool_id": pool["id"], "overflow": True}))["number"]
        assert (
            body(api.call("PATCH", f"/v1/pools/{pool['id']}", {"exhaustion_policy": "overflow"}))["overflow_number"]
            == overflow
        )
    leased(api, pool, "visitor-aaaa")
    for i in range(3):
        got = leased(api, pool, f"visitor-b{i:03d}")
        assert got["tracked"] is False and got["reason"] == "pool_exhausted"
        assert got["number"] == (overflow or "+12025550123")
    assert body(api.call("GET", f"/v1/pools/{pool['id']}"))["exhausted"] == {"last_24h": 3, "last_7d": 3}
    fake_clock.advance(2 * 86_400)
    assert body(api.call("GET", f"/v1/pools/{pool['id']}"))["exhausted"] == {"last_24h": 0, "last_7d": 3}


@pytest.mark.parametrize(
    "ua",
    [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0 Safari/537.36",
        "python-requests/2.32",
        "",
    ],
)
def test_bots_get_the_original_number_and_no_lease(api, fake_clock, ua):
    pool = make_pool(api, size=1)
    got = leased(api, pool, ua=ua)
    assert got == {**got, "tracked": False, "reason": "bot", "number": "+12025550123", "session_id": None}
    assert body(api.call("GET", f"/v1/pools/{pool['id']}"))["leased_now"] == 0


def test_other_origins_are_refused_without_cors(api, fake_clock):
    pool = make_pool(api, size=1)
    for origin in ("https://evil.example", "http://shop.example.com", None, "null"):
        r = lease(api, pool, origin=origin)
        assert r.status_code == 403, (origin, r.body)
        assert "Access-Control-Allow-Origin" not in r.headers
    r = lease(api, {"site_key": "sk_doesnotexist000"})
    assert r.status_code == 404 and "Access-Control-Allow-Origin" not in r.headers
    assert body(api.call("GET", f"/v1/pools/{pool['id']}"))["leased_now"] == 0


@pytest.mark.parametrize(
    ("fields", "raw", "status", "words"),
    [
        ({"visitor_id": "short"}, None, 400, "visitor_id"),
        ({"page_url": "javascript:alert(1)"}, None, 400, "page_url"),
        ({"page_url": "https://shop.example.com:99999/"}, None, 400, "page_url"),
        ({"referrer": "javascript:alert(document.cookie)"}, None, 400, "referrer"),
        ({"referrer": "http://[v1.evil]/"}, None, 400, "referrer"),
        ({"referrer": 5}, None, 400, "referrer"),
        ({"utm": "google"}, None, 400, "utm"),
        ({"session_id": "s_forged'; DROP"}, None, 400, "session_id"),
        ({"renew": True}, None, 400, "session_id"),
        ({"extra": 1}, None, 400, "extra"),
        ({}, "{broken", 400, "JSON"),
        ({}, "x" * 9000, 413, "larger"),
    ],
)
def test_bad_lease_requests_are_4xx_with_cors(api, fake_clock, fields, raw, status, words):
    pool = make_pool(api, size=1)
    r = lease(api, pool, raw=raw, **fields)
    assert r.status_code == status, r.body
    assert words in body(r)["error"]["message"]
    if raw is None:  # the pool is known: the script can read the error
        assert r.headers["Access-Control-Allow-Origin"] == SITE


def test_long_values_are_cut_not_refused(api, fake_clock):
    pool = make_pool(api, size=1)
    # URLs are cut to length after the parameters attribution does not need are dropped.
    page_url = f"{SITE}/?token=" + "t" * 3000 + "&utm_campaign=" + "q" * 2000
    got = leased(api, pool, utm={"source": "g" * 1000}, page_url=page_url)
    source = SessionModel.get(got["session_id"]).source
    assert len(source["utm_source"]) == 200 and len(source["landing_page"]) == 1000
    assert source["landing_page"].startswith(f"{SITE}/?utm_campaign=qqq")


def test_page_views_are_bounded(api, fake_clock):
    pool = make_pool(api, size=1)
    got = leased(api, pool)
    for i in range(60):
        leased(api, pool, session_id=got["session_id"], page_url=f"{SITE}/p{i}")
    assert len(SessionModel.get(got["session_id"]).pages) == 50


def test_a_renewal_is_one_write_and_cannot_take_anothers_number(api, fake_clock):
    from bench.common import counting
    from chalicelib import sites
    from chalicelib.leasing import endpoint

    pool = make_pool(api, size=3)
    mine = leased(api, pool, "visitor-aaaa")
    theirs = leased(api, pool, "visitor-bbbb")
    sites.by_site_key(pool["site_key"])
    renewal = json.dumps(
        {"site_key": pool["site_key"], "visitor_id": "visitor-aaaa", "session_id": mine["session_id"], "renew": True}
    )
    with counting() as counter:
        answer, _ = endpoint.lease(renewal[:-1] + f', "number": "{mine["number"]}"}}', SITE, UA)
        assert answer["number"] == mine["number"] and dict(counter.ops) == {"UpdateItem": 1}
        counter.reset()
        new = json.dumps({"site_key": pool["site_key"], "visitor_id": "visitor-cccc", "page_url": f"{SITE}/"})
        assert endpoint.lease(new, SITE, UA, "198.51.100.7")[0]["tracked"]
        # A new lease: candidates and the transaction, which writes the visitor's holder item and
        # the address's item with their limits as conditions and reads neither first (issue 25;
        # it was three with their read, four before that).
        assert dict(counter.ops) == {"Query": 1, "TransactWriteItems": 1}
    stolen = leased(api, pool, "visitor-aaaa", session_id=mine["session_id"], renew=True, number=theirs["number"])
    assert stolen["number"] == mine["number"]
    assert NumberModel.get(theirs["number"]).lease_session_id == theirs["session_id"]


# --- data minimisation, enforced by the server -----------------------------------------------

SECRETS = ("token=", "tok-123", "email=", "ann%40example", "access_token", "secret-456", "user:pw", "ann+smith", "oq=")


def test_the_server_keeps_only_what_attribution_needs_whatever_it_is_sent(api, fake_clock):
    """A hand-made request (or an old cached script) sends whole URLs: the stored call still has none."""
    import csv
    import io

    pool = make_pool(api, size=1)
    leaky = (
        "https://user:pw@shop.example.com/?token=tok-123&email=ann%40example.com&utm_source=x#access_token=secret-456"
    )
    got = leased(
        api,
        pool,
        page_url=leaky,
        referrer="https://www.google.com/search?q=ann+smith&oq=ann#frag",
        utm={"source": "x"},
        click_ids={"gclid": "gc1", "gbraid": "gb1", "wbraid": "wb1"},
        client_ids={"ga": "123.456", "ga_session": "1790000000", "ym": "789"},
    )
    leased(api, pool, session_id=got["session_id"], page_url=f"{SITE}/reset?token=tok-123#secret-456")
    session = SessionModel.get(got["session_id"])
    assert session.source["landing_page"] == f"{SITE}/?utm_source=x"
    assert session.source["referrer"] == "https://www.google.com/search"
    assert [p["url"] for p in session.pages] == [f"{SITE}/?utm_source=x", f"{SITE}/reset"]

    fake_clock.advance(60)
    sid = "CA" + "7" * 32
    r = api.twilio("/twilio/voice", {"CallSid": sid, "From": "+14155550111", "To": got["number"]})
    assert r.status_code == 200 and "<Dial" in r.body.decode()
    calls = body(api.call("GET", f"/v1/calls?pool_id={pool['id']}"))["calls"]
    assert [c["sid"] for c in calls] == [sid]
    source = calls[0]["attribution"]["source"]
    assert source["landing_page"] == f"{SITE}/?utm_source=x"
    assert source["referrer"] == "https://www.google.com/search"
    assert (source["gclid"], source["gbraid"], source["wbraid"]) == ("gc1", "gb1", "wb1")
    assert (source["ga_client_id"], source["ga_session_id"], source["ym_client_id"]) == ("123.456", "1790000000", "789")
    assert "ga_session_client_id" not in source

    r = api.call("GET", f"/v1/calls?pool_id={pool['id']}&format=csv")
    assert r.status_code == 200
    text = r.body.decode()
    [row] = list(csv.DictReader(io.StringIO(text)))
    assert row["landing_page"] == f"{SITE}/?utm_source=x" and row["referrer"] == "https://www.google.com/search"
    assert (row["gbraid"], row["wbraid"], row["ga_session_id"]) == ("gb1", "wb1", "1790000000")
    one_call = json.dumps(body(api.call("GET", f"/v1/calls/{sid}")))
    stored = text + one_call + json.dumps(session.attribute_values, default=str)
    for secret in SECRETS:
        assert secret not in stored, secret


# --- what one client may take: one lease per visitor, hourly budgets, a longest lease ---------


def lambda_lease(pool, visitor, source_ip, *, headers=None, **fields):
    """The request as API Gateway hands it to Lambda: ``requestContext.identity.sourceIp`` is the
    address it saw; headers are whatever the client wrote (``chalice local`` would say 127.0.0.1)."""
    from chalice.local import LambdaContext

    from app import app

    payload = {"site_key": pool["site_key"], "visitor_id": visitor, "page_url": f"{SITE}/", **fields}
    event = {
        "resource": "/v1/leases",
        "path": "/v1/leases",
        "httpMethod": "POST",
        "headers": {"content-type": "text/plain", "origin": SITE, "user-agent": UA, **(headers or {})},
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/v1/leases",
            "httpMethod": "POST",
            "path": "/api/v1/leases",
            "stage": "api",
            "identity": {"sourceIp": source_ip},
        },
        "body": json.dumps(payload),
        "isBase64Encoded": False,
    }
    response = app(event, LambdaContext("api_handler", 512))
    assert response["statusCode"] == 200, response
    return json.loads(response["body"])


def test_the_same_visitor_asking_twice_holds_one_number(api, fake_clock):
    # Given a visitor who got a number
    pool = make_pool(api, size=3)
    first = leased(api, pool, "visitor-aaaa", page_url=f"{SITE}/a", utm={"source": "google"})
    # When they ask again without their session (the site script starts a new session for a new
    # campaign; a careless client simply drops it)
    fake_clock.advance(30)
    again = leased(api, pool, "visitor-aaaa", page_url=f"{SITE}/b", utm={"source": "newsletter"})
    # Then they still hold one number: the same, taken over by the new session with its source
    assert again["number"] == first["number"] and again["session_id"] != first["session_id"]
    assert again["expires_at"] == clock.iso(int((T0 + 30 + 900) * 1000))
    assert SessionModel.get(again["session_id"]).source["utm_source"] == "newsletter"
    assert body(api.call("GET", f"/v1/pools/{pool['id']}"))["leased_now"] == 1
    # ... and the lease history says the first visit held it until now, so calls are credited right
    old, new = LeaseModel.query(first["number"])
    assert (old.session_id, new.session_id) == (first["session_id"], again["session_id"])
    assert new.prev_session_id == first["session_id"] and int(new.prev_ended_at) == int((T0 + 30) * 1000)
    # ... the same campaign again joins the visit that holds the number
    fake_clock.advance(30)
    same = leased(api, pool, "visitor-aaaa", page_url=f"{SITE}/c", utm={"source": "newsletter"})
    assert (same["number"], same["session_id"]) == (again["number"], again["session_id"])
    # ... the first session cannot take a second number back
    stale = leased(api, pool, "visitor-aaaa", session_id=first["session_id"], page_url=f"{SITE}/d")
    assert (stale["number"], stale["session_id"]) == (first["number"], again["session_id"]), stale
    assert body(api.call("GET", f"/v1/pools/{pool['id']}"))["leased_now"] == 1
    # ... while another visitor still gets a number of their own
    assert leased(api, pool, "visitor-bbbb")["number"] != first["number"]


def test_over_its_budget_a_visitor_asking_again_keeps_the_lease_it_holds(api, fake_clock, settings_env):
    settings_env(LEASES_PER_VISITOR_HOUR="1")
    pool = make_pool(api, size=3)
    first = leased(api, pool, "visitor-aaaa", page_url=f"{SITE}/a")
    again = leased(api, pool, "visitor-aaaa", page_url=f"{SITE}/b")
    assert (again["tracked"], again["number"], again["session_id"]) == (True, first["number"], first["session_id"])
    assert [p["url"] for p in SessionModel.get(first["session_id"]).pages] == [f"{SITE}/a", f"{SITE}/b"]


def test_the_same_visitor_asking_from_many_tabs_at_once_holds_one_number(api):
    from concurrent.futures import ThreadPoolExecutor

    from chalicelib import sites
    from chalicelib.leasing import endpoint

    pool = make_pool(api, size=10)
    sites.clear_cache()
    raw = json.dumps({"site_key": pool["site_key"], "visitor_id": "visitor-tabs", "page_url": f"{SITE}/"})
    with ThreadPoolExecutor(8) as ex:
        answers = list(ex.map(lambda _: endpoint.lease(raw, SITE, UA, "198.51.100.9")[0], range(16)))
    # Requests that come together (tabs opened at once) all join the one lease
    reasons = [a.get("reason") for a in answers]
    assert {(a["tracked"], a["number"]) for a in answers} == {(True, answers[0]["number"])}, reasons
    assert body(api.call("GET", f"/v1/pools/{pool['id']}"))["leased_now"] == 1
    # ... and so do later ones, a new campaign's taking the number over
    clock.set_source(clock.FakeClock(clock.now_ms() / 1000 + 60))
    other = json.loads(raw) | {"utm": {"source": "newsletter"}}
    with ThreadPoolExecutor(8) as ex:
        later = list(
            ex.map(lambda i: endpoint.lease(json.dumps(other if i % 2 else json.loads(raw)), SITE, UA)[0], range(16))
        )
    assert {a["number"] for a in later if a["tracked"]} == {answers[0]["number"]}
    assert {a["reason"] for a in later if not a["tracked"]} <= {"rate_limited"}  # racing itself
    assert body(api.call("GET", f"/v1/pools/{pool['id']}"))["leased_now"] == 1


def test_one_address_takes_no_more_than_its_hourly_budget(api, fake_clock, settings_env):
    # Given a pool of 25 numbers and a budget of 20 new leases per address and hour
    settings_env(LEASES_PER_IP_HOUR="20")
    pool = make_pool(api, size=25)
    # When one address sends 1,000 lease requests for new visitors, with the allowed Origin
    # (anything outside a browser can send it) and a different X-Forwarded-For on each
    answers = [
        lambda_lease(
            pool,
            f"drain-{i:05d}",
            "203.0.113.7",
            headers={"x-forwarded-for": f"10.{i // 250}.{i % 250}.1, 198.51.100.{i % 200}"},
        )
        for i in range(1000)
    ]
    # Then it holds at most 20 numbers; the rest are told to keep the page's own number
    tracked = [a for a in answers if a["tracked"]]
    assert len(tracked) == 20
    refused = [a for a in answers if not a["tracked"]]
    assert {(a["reason"], a["number"]) for a in refused} == {("rate_limited", "+12025550123")}
    # ... and visitors from other addresses still get numbers
    for k in range(5):
        got = lambda_lease(pool, f"visitor-{k:04d}", f"198.51.100.{k + 1}")
        assert got["tracked"], got
    # ... and the next hour the address has a budget again
    fake_clock.advance(3600)
    assert body(api.call("GET", f"/v1/pools/{pool['id']}"))["leased_now"] == 0
    assert lambda_lease(pool, "drain-next-hour", "203.0.113.7")["tracked"]


ADDRESS, OTHER_ADDRESS = "203.0.113.7", "198.51.100.20"


def from_address(pool, visitor, source_ip, **fields):
    """One lease request as the endpoint gets it from API Gateway, in-process (faster than a
    Lambda event; ``lambda_lease`` shows the address comes from ``requestContext``)."""
    from chalicelib.leasing import endpoint

    payload = {"site_key": pool["site_key"], "visitor_id": visitor, "page_url": f"{SITE}/", **fields}
    if fields.get("renew"):
        del payload["page_url"]
    return endpoint.lease(json.dumps(payload), SITE, UA, source_ip)[0]


def leased_now(api, pool):
    return body(api.call("GET", f"/v1/pools/{pool['id']}"))["leased_now"]


def test_one_address_renewing_every_five_minutes_holds_no_more_numbers_than_its_cap(api, fake_clock, settings_env):
    # Given a budget of 2 new leases per address and hour, a cap of 3 numbers held at once per
    # address, and a pool of 12 numbers
    settings_env(LEASES_PER_IP_HOUR="2", LEASES_HELD_PER_IP="3")
    pool = make_pool(api, size=12)
    held: dict[str, tuple[str, str]] = {}  # session -> (visitor, number)
    most = 0
    # When one address, every five minutes for four hours, renews every number it got and asks
    # for one more for a new visitor
    for step in range(48):
        for session, (visitor, number) in list(held.items()):
            again = from_address(pool, visitor, ADDRESS, session_id=session, renew=True, number=number)
            if not again["tracked"]:
                del held[session]
        got = from_address(pool, f"drain-{step:04d}", ADDRESS)
        if got["tracked"]:
            held[got["session_id"]] = (f"drain-{step:04d}", got["number"])
        else:
            assert (got["reason"], got["number"]) == ("rate_limited", pool["original_number"])
        most = max(most, leased_now(api, pool))
        fake_clock.advance(300)
    # Then it never holds more than 3 numbers at once (the hourly budget alone let it hold 2 per
    # hour of LEASE_MAX_SECONDS: 8 here), and it did hold 3
    assert most == 3
    # ... while another address still gets a number
    assert from_address(pool, "visitor-else", OTHER_ADDRESS)["tracked"]


def test_an_address_at_its_cap_gets_numbers_again_as_its_leases_end(api, fake_clock, settings_env):
    from bench.common import counting

    # Given a cap of 2 numbers per address, leases held 15 minutes and renewed for 20 at most
    settings_env(LEASES_HELD_PER_IP="2", LEASE_MAX_SECONDS="1200")
    pool = make_pool(api, size=5)
    a = from_address(pool, "visitor-aaaa", ADDRESS)
    b = from_address(pool, "visitor-bbbb", ADDRESS)
    # When a third visitor from the same address asks
    refused = from_address(pool, "visitor-cccc", ADDRESS)
    # Then they get the page's own number, as for any budget, never an error
    assert (refused["tracked"], refused["reason"], refused["number"]) == (False, "rate_limited", "+12025550123")
    # ... and another address is not affected
    assert from_address(pool, "visitor-else", OTHER_ADDRESS)["tracked"]
    # When the first lease runs out (by the clock: TTL has not deleted anything) while the second is renewed
    fake_clock.advance(600)
    assert from_address(pool, "visitor-bbbb", ADDRESS, session_id=b["session_id"], renew=True, number=b["number"])[
        "tracked"
    ]
    fake_clock.advance(301)
    # Then the address may take a number again, one: it is at its cap once more
    with counting() as counter:
        assert from_address(pool, "visitor-cccc", ADDRESS)["tracked"]
    # (at its cap, the refused transaction returns the address's item and its numbers are looked
    # up: two requests more than a new lease's usual two, and no query again)
    assert dict(counter.ops) == {"BatchGetItem": 1, "Query": 1, "TransactWriteItems": 2}
    assert from_address(pool, "visitor-dddd", ADDRESS)["reason"] == "rate_limited"
    # When the second lease is released for having been renewed for the longest allowed
    fake_clock.advance(300)
    ended = from_address(pool, "visitor-bbbb", ADDRESS, session_id=b["session_id"], renew=True, number=b["number"])
    assert ended["reason"] == "session_limit"
    # Then its place is free at once, not when its last renewal would have run out
    assert from_address(pool, "visitor-dddd", ADDRESS)["tracked"]
    assert from_address(pool, "visitor-eeee", ADDRESS)["reason"] == "rate_limited"
    assert a["number"] != b["number"]


def test_one_visitor_takes_no_more_new_leases_than_their_hourly_budget(api, fake_clock, settings_env):
    # Given a budget of 3 new leases per visitor and hour, and leases that end after a minute
    settings_env(LEASES_PER_VISITOR_HOUR="3")
    pool = make_pool(api, size=2, hold_seconds=60)
    # When the visitor's lease ends and they ask for a new one, again and again
    answers = []
    for _ in range(5):
        answers.append(leased(api, pool, "visitor-aaaa"))
        fake_clock.advance(61)
    # Then the first three are tracked and the rest keep the page's own number
    assert [a["tracked"] for a in answers] == [True, True, True, False, False]
    assert answers[-1]["reason"] == "rate_limited"
    # ... other visitors are not affected, and the next hour they are tracked again
    assert leased(api, pool, "visitor-bbbb")["tracked"]
    fake_clock.advance(3600)
    assert leased(api, pool, "visitor-aaaa")["tracked"]


def test_a_session_renewing_past_the_longest_lease_is_released(api, fake_clock):
    # Given a visitor who keeps renewing, every five minutes
    pool = make_pool(api, size=1)
    got = leased(api, pool, "visitor-aaaa")
    renewal = {"session_id": got["session_id"], "renew": True, "number": got["number"]}
    answers = []
    for _ in range(4 * 12 + 1):
        fake_clock.advance(300)
        answers.append(leased(api, pool, "visitor-aaaa", **renewal))
    # Then renewals are honoured for four hours, and the one after ends the lease
    assert all(a["tracked"] for a in answers[:-2])
    assert answers[-1]["tracked"] is False and answers[-1]["reason"] == "session_limit"
    # ... the number is back in the pool at once, for someone else
    now = int(fake_clock() * 1000)
    assert int(NumberModel.get(got["number"]).lease_expires_at) <= now
    assert leased(api, pool, "visitor-bbbb")["number"] == got["number"]
    # ... and the old session gets no new lease, with or without its number
    assert leased(api, pool, "visitor-aaaa", session_id=got["session_id"])["reason"] == "session_limit"
    assert leased(api, pool, "visitor-aaaa", session_id=got["session_id"], renew=True)["tracked"] is False


def test_refused_visitors_are_counted_once_each_in_the_hours_item(api, fake_clock):
    from chalicelib import sites
    from chalicelib.store import keys
    from chalicelib.store.models import CounterModel

    # Given a pool refusing 300 visitors in one hour, 100 of them on a second page too
    pool = make_pool(api, size=1)
    now = int(fake_clock() * 1000)
    visitors = [f"visitor-{i:05d}" for i in range(300)]
    for visitor in [*visitors, *visitors[:100]]:
        sites.count_exhaustion(pool["id"], now, visitor)
    # Then the hour's item holds one mark per bucket, the refusals, and the sizing sees ~300 visitors
    item = CounterModel.get(keys.pool_exhausted(pool["id"]), clock.hour_key(now))
    assert item.keys == {sites.refused_bucket(v) for v in visitors} and int(item.total) == 400
    sizing = body(api.call("GET", f"/v1/pools/{pool['id']}/sizing"))
    assert abs(sizing["observed"]["exhausted_last_7d"] - 300) <= 10


# --- the public site view (CMS plugins' status) -------------------------------------------------


def test_site_view_needs_no_key_and_shows_only_the_public_face(api, fake_clock):
    pool = make_pool(api, size=1)
    r = api.client.http.get(f"/v1/sites/{pool['site_key']}")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    assert body(r) == {"site_key": pool["site_key"], "original_number": "+12025550123", "allowed_origins": [SITE]}
    for unknown in ("sk_unknownunknown1", "nope"):
        r = api.client.http.get(f"/v1/sites/{unknown}")
        assert r.status_code == 404 and body(r)["error"]["code"]


# --- issue 25: the site script's hint, refusals that say why, the per-container memo ----------


def hint(answer, use):
    return {"prev_session_id": answer["session_id"], "prev_number": answer["number"], "prev_use": use}


def test_a_returning_visitor_and_a_hand_over_with_the_hint_cost_two_requests_and_one(api, fake_clock):
    from bench.common import counting

    # Given a visitor holding a number
    pool = make_pool(api, size=3)
    first = from_address(pool, "visitor-aaaa", ADDRESS, utm={"source": "google"})
    # When the site script comes back to the same campaign with the session and number it kept
    fake_clock.advance(60)
    with counting() as counter:
        again = from_address(pool, "visitor-aaaa", ADDRESS, utm={"source": "google"}, **hint(first, "keep"))
    # Then the lease is renewed and the page view recorded: two writes, nothing read
    assert (again["number"], again["session_id"]) == (first["number"], first["session_id"])
    assert dict(counter.ops) == {"UpdateItem": 2}
    # When it comes with a new campaign, asking for the number to be moved to a new visit
    fake_clock.advance(60)
    with counting() as counter:
        moved = from_address(pool, "visitor-aaaa", ADDRESS, utm={"source": "news"}, **hint(first, "move"))
    # Then one transaction hands it over (checked against the holder item inside it)
    assert moved["number"] == first["number"] and moved["session_id"] != first["session_id"]
    assert dict(counter.ops) == {"TransactWriteItems": 1}
    assert leased_now(api, pool) == 1
    # ... and a hint naming a lease that ended is replaced by a new lease in two requests
    fake_clock.advance(1000)
    with counting() as counter:
        later = from_address(pool, "visitor-aaaa", ADDRESS, utm={"source": "news"}, **hint(moved, "ended"))
    assert later["tracked"] and dict(counter.ops) == {"Query": 1, "TransactWriteItems": 1}
    assert leased_now(api, pool) == 1
    # ... and so is one the script still thought it could move: the refused hand-over, then two
    fake_clock.advance(1000)
    with counting() as counter:
        last = from_address(pool, "visitor-aaaa", ADDRESS, utm={"source": "ads"}, **hint(later, "move"))
    assert last["tracked"] and dict(counter.ops) == {"Query": 1, "TransactWriteItems": 2}
    assert leased_now(api, pool) == 1


def test_a_forged_hint_is_refused_by_the_transaction(api, fake_clock):
    # Given two visitors each holding a number, and a third number free
    pool = make_pool(api, size=3)
    a = from_address(pool, "visitor-aaaa", ADDRESS)
    b = from_address(pool, "visitor-bbbb", OTHER_ADDRESS)
    fake_clock.advance(30)
    # When visitor A sends B's session and number as its own, asking to move it to a new visit
    stolen = from_address(pool, "visitor-aaaa", ADDRESS, utm={"source": "x"}, **hint(b, "move"))
    # Then the hand-over is refused (A's holder item does not name that lease): B keeps its
    # number and A ends up with its own (the refusal returned A's holder item: handed over)
    assert NumberModel.get(b["number"]).lease_session_id == b["session_id"]
    assert stolen["number"] == a["number"] and stolen["number"] != b["number"]
    # When A names its own session with a number it does not hold, as ended, to get a second number
    free = next(n for n in pool["numbers"] if n not in (a["number"], b["number"]))
    forged = {"prev_session_id": stolen["session_id"], "prev_number": free, "prev_use": "ended"}
    again = from_address(pool, "visitor-aaaa", ADDRESS, utm={"source": "x"}, **forged)
    # Then the holder item refuses it too, and A joins the lease it holds: still one number each
    assert (again["number"], again["session_id"]) == (stolen["number"], stolen["session_id"])
    assert leased_now(api, pool) == 2
    # ... and a hint with another visitor's session and number, "ended", gives A no second number either
    third = from_address(pool, "visitor-aaaa", ADDRESS, utm={"source": "y"}, **hint(b, "ended"))
    assert third["number"] == a["number"] and leased_now(api, pool) == 2


def test_the_address_cap_is_exact_without_a_read_and_the_refusal_says_why(api, fake_clock, settings_env):
    from chalicelib.leasing import limits
    from chalicelib.store import leases

    # Given a cap of 3 numbers held per address and a pool of 6
    settings_env(LEASES_HELD_PER_IP="3")
    pool = make_pool(api, size=6)
    got = [from_address(pool, f"visitor-{i:04d}", ADDRESS) for i in range(5)]
    # Then the first 3 are tracked and the 4th and 5th refused: the transaction's condition on
    # the address's set (its size below the cap), which nobody read
    assert [g["tracked"] for g in got] == [True, True, True, False, False]
    assert {g["reason"] for g in got[3:]} == {"rate_limited"}
    item = leases.read_address(pool["id"], limits.address_key(ADDRESS, pool["id"]))
    assert len(item.held or ()) == 3 and item.leases_in(clock.hour_key(clock.now_ms())) == 3
    assert leased_now(api, pool) == 3


def test_an_address_over_its_hourly_budget_costs_no_request_for_the_rest_of_the_hour(api, fake_clock, settings_env):
    from bench.common import counting
    from chalicelib.leasing import limits

    # Given a budget of 2 new leases per address and hour
    settings_env(LEASES_PER_IP_HOUR="2")
    pool = make_pool(api, size=6)
    assert all(from_address(pool, f"visitor-{i:04d}", ADDRESS)["tracked"] for i in range(2))
    # When the address asks a third time, the refused transaction says it is over the budget
    with counting() as counter:
        assert from_address(pool, "visitor-0002", ADDRESS)["reason"] == "rate_limited"
    assert dict(counter.ops) == {"Query": 1, "TransactWriteItems": 1}
    # Then the container remembers it for the hour: a flood from it costs nothing
    with counting() as counter:
        for i in range(3, 50):
            assert from_address(pool, f"visitor-{i:04d}", ADDRESS)["reason"] == "rate_limited"
    assert counter.total == 0
    # ... a new container (no memo) still refuses it, by the transaction's condition
    limits.forget_capped()
    assert from_address(pool, "visitor-0100", ADDRESS)["reason"] == "rate_limited"
    # ... other addresses are not affected, and the next hour the address has a budget again
    assert from_address(pool, "visitor-else", OTHER_ADDRESS)["tracked"]
    fake_clock.advance(3600)
    assert from_address(pool, "visitor-0101", ADDRESS)["tracked"]


def test_a_refusal_without_the_item_reads_it_instead(api, fake_clock, settings_env, monkeypatch):
    from bench.common import counting
    from chalicelib.store import leases

    # Given a store whose refusals do not carry the item (an emulator without ALL_OLD in transactions)
    monkeypatch.setattr(leases, "_old", lambda reason: None)
    settings_env(LEASES_HELD_PER_IP="1")
    pool = make_pool(api, size=4)
    a = from_address(pool, "visitor-aaaa", ADDRESS)
    # When the same visitor asks again without session or hint, and another visitor from the address asks
    fake_clock.advance(30)
    with counting() as counter:
        again = from_address(pool, "visitor-aaaa", ADDRESS, page_url=f"{SITE}/b")
    refused = from_address(pool, "visitor-bbbb", ADDRESS)
    # Then the refusals are told apart by one read each: the visitor joins their lease, the address is at its cap
    assert (again["number"], again["session_id"]) == (a["number"], a["session_id"])
    assert counter.ops["GetItem"] == 1
    assert refused["reason"] == "rate_limited" and leased_now(api, pool) == 1


def test_a_holder_item_written_before_issue_25_still_holds_its_visitor_to_one_number(api, fake_clock):
    """At the deploy of issue 25's lease, a visitor's holder item still has the shape the code before
    wrote (its lease in ``data``, JSON, and a version in ``total``); it must keep them to one number."""
    from chalicelib.store import keys
    from chalicelib.store.models import CounterModel

    # Given a visitor holding a number, whose holder item is as the code before issue 25 wrote it
    pool = make_pool(api, size=3)
    first = from_address(pool, "visitor-aaaa", ADDRESS, utm={"source": "google"})
    key = keys.lease_holder(pool["id"], "visitor-aaaa")
    held = CounterModel.get(key.pk, key.sk)
    CounterModel(key.pk, key.sk, total=1, expires_at=held.expires_at).save()
    CounterModel._get_connection().update_item(
        key.pk,
        key.sk,
        actions=[
            CounterModel.data.set(
                {
                    "session_id": first["session_id"],
                    "number": first["number"],
                    "campaign": "google",
                    "started_at": int(T0 * 1000),
                    "hour": clock.hour_key(int(T0 * 1000)),
                    "count": 1,
                }
            )
        ],
    )
    # When they come back without their session or a hint (a new visit, the script before the hint)
    fake_clock.advance(60)
    again = from_address(pool, "visitor-aaaa", ADDRESS, utm={"source": "google"})
    # Then they get the number they hold, not a second one
    assert again["number"] == first["number"]
    assert leased_now(api, pool) == 1
    # When that lease has long ended, they get a number again (the old item is replaced, not stuck)
    fake_clock.advance(48 * 3600)
    later = from_address(pool, "visitor-aaaa", ADDRESS, utm={"source": "google"})
    assert later["tracked"] and leased_now(api, pool) == 1
    assert CounterModel.get(key.pk, key.sk).data is None  # now in the new shape

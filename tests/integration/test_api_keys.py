"""Stored API keys: create, list, revoke; hashed at rest; checked in constant time; only ids in logs."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from pynamodb.exceptions import GetError

from chalicelib.access import apikeys, auth
from chalicelib.core.errors import BadRequest, NotFound, Unauthorized
from chalicelib.core.observability import logger
from chalicelib.store.models import CounterModel
from tests.integration.test_leases import lease, make_pool
from tests.support.database import DDB_ENDPOINT
from tests.support.env import API_KEY, body

ROOT = Path(__file__).resolve().parents[2]
ROUTE = "/v1/channels"  # any management route


@pytest.fixture(autouse=True)
def _fresh_cache():
    apikeys.clear_cache()
    yield
    apikeys.clear_cache()


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """`calltracking keys` against this test process's DynamoDB (conftest put it in os.environ)."""
    done = subprocess.run(
        [sys.executable, "-m", "calltracking_cli", "keys", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=dict(os.environ),
    )
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def split(key: str) -> tuple[str, str]:
    parsed = apikeys.parse(key)
    assert parsed is not None, "a created key parses"
    return parsed


def raw_item(key_id: str) -> dict:
    """The item exactly as DynamoDB holds it (no PynamoDB in between)."""
    client = boto3.client("dynamodb", endpoint_url=DDB_ENDPOINT, region_name="us-east-1")
    return client.get_item(TableName="test-counters", Key={"pk": {"S": "APIKEY"}, "sk": {"S": key_id}})["Item"]


def refusal(r) -> tuple[int, dict, str]:
    return r.status_code, body(r), r.headers.get("WWW-Authenticate", "")


# --- create, use, list, revoke ---------------------------------------------------------------


def test_created_key_works_on_a_management_route(api):
    made = apikeys.create("CI deploys")
    key_id, secret = split(made["key"])
    assert made["id"] == key_id and made["name"] == "CI deploys" and made["created_at"].endswith("Z")
    assert len(key_id) == 10 and len(secret) >= 43  # token_urlsafe(32): 256 random bits
    r = api.call("GET", ROUTE, key=made["key"])
    assert r.status_code == 200, r.body
    assert auth.identify(f"Bearer {made['key']}").actor == f"key:{key_id}"


def test_each_key_is_new(tables):
    a, b = apikeys.create("a"), apikeys.create("b")
    assert a["id"] != b["id"] and split(a["key"])[1] != split(b["key"])[1]


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_a_key_needs_a_sensible_name(tables, name):
    with pytest.raises(BadRequest):
        apikeys.create(name)
    assert apikeys.list_keys() == []


def test_list_shows_keys_without_secret_or_hash(tables):
    made = apikeys.create("Reporting dashboard")
    _, secret = split(made["key"])
    [listed] = apikeys.list_keys()
    assert set(listed) == {"id", "name", "scope", "created_at", "revoked_at", "status", "hint"}
    assert listed["id"] == made["id"] and listed["name"] == "Reporting dashboard"
    assert listed["status"] == "active" and listed["revoked_at"] is None
    assert listed["hint"] == secret[-4:]
    text = json.dumps(listed)
    assert secret not in text and made["key"] not in text
    assert hashlib.sha256(secret.encode()).hexdigest() not in text


def test_revoked_key_is_401(api):
    made = apikeys.create("old laptop")
    assert api.call("GET", ROUTE, key=made["key"]).status_code == 200  # now cached in this process
    gone = apikeys.revoke(made["id"])
    assert gone["status"] == "revoked" and gone["revoked_at"]
    r = api.call("GET", ROUTE, key=made["key"])
    assert r.status_code == 401
    assert refusal(r) == refusal(api.call("GET", ROUTE, key="wrong-key"))
    assert apikeys.list_keys()[0]["status"] == "revoked"


def test_revoking_again_is_harmless_and_an_unknown_id_is_404(tables):
    made = apikeys.create("twice")
    first = apikeys.revoke(made["id"])
    assert apikeys.revoke(made["id"])["revoked_at"] == first["revoked_at"]
    with pytest.raises(NotFound):
        apikeys.revoke("nosuchkey0")


def test_other_keys_survive_a_revocation(api):
    keep, drop = apikeys.create("keep"), apikeys.create("drop")
    apikeys.revoke(drop["id"])
    assert api.call("GET", ROUTE, key=keep["key"]).status_code == 200
    assert api.call("GET", ROUTE, key=drop["key"]).status_code == 401


# --- the per-process cache -------------------------------------------------------------------


def test_a_warm_process_reads_a_key_once_per_window(api, fake_clock, monkeypatch):
    made = apikeys.create("busy client")
    reads = []
    real_get = CounterModel.get

    def counting_get(*args, **kwargs):
        reads.append(args)
        return real_get(*args, **kwargs)

    monkeypatch.setattr(CounterModel, "get", counting_get)
    for _ in range(5):
        assert api.call("GET", ROUTE, key=made["key"]).status_code == 200
    assert len(reads) == 1
    fake_clock.advance(apikeys.CACHE_SECONDS + 1)
    assert api.call("GET", ROUTE, key=made["key"]).status_code == 200
    assert len(reads) == 2


def test_revocation_by_another_process_takes_effect_within_the_window(api, fake_clock):
    # Given a key this process has accepted (and cached)
    made = apikeys.create("shared")
    assert api.call("GET", ROUTE, key=made["key"]).status_code == 200
    # When the command revokes it from another process
    cli("revoke", made["id"])
    # Then this process keeps accepting it only until its cache entry expires
    fake_clock.advance(apikeys.CACHE_SECONDS - 5)
    assert api.call("GET", ROUTE, key=made["key"]).status_code == 200
    fake_clock.advance(10)
    assert api.call("GET", ROUTE, key=made["key"]).status_code == 401


def test_a_new_key_works_at_once_even_after_misses(api):
    # Misses are never cached, so a key made after a refusal is not refused for a minute.
    made = apikeys.create("fresh")
    key_id, secret = split(made["key"])
    wrong = f"ct_{key_id}_{'A' * len(secret)}"
    assert api.call("GET", ROUTE, key=wrong).status_code == 401
    assert api.call("GET", ROUTE, key=made["key"]).status_code == 200
    assert api.call("GET", ROUTE, key=wrong).status_code == 401  # a cached id still checks the secret


# --- refusals --------------------------------------------------------------------------------


def test_wrong_secret_with_the_right_id_is_401(api):
    made = apikeys.create("victim")
    key_id, secret = split(made["key"])
    other = split(apikeys.create("attacker")["key"])[1]
    flipped = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    for key in (f"ct_{key_id}_{other}", f"ct_{key_id}_{flipped}"):
        r = api.call("GET", ROUTE, key=key)
        assert refusal(r) == refusal(api.call("GET", ROUTE, key="wrong-key"))
        assert r.status_code == 401


MALFORMED = {
    "prefix only": lambda i, s: "ct_",
    "no secret": lambda i, s: f"ct_{i}",
    "empty secret": lambda i, s: f"ct_{i}_",
    "secret too short": lambda i, s: f"ct_{i}_{s[:-1]}",
    "secret too long": lambda i, s: f"ct_{i}_{s}A",
    "bad character": lambda i, s: f"ct_{i}_{s[:-1]}=",
    "id upper-cased": lambda i, s: f"ct_{i.upper()}_{s}",
    "prefix upper-cased": lambda i, s: f"CT_{i}_{s}",
    "id too short": lambda i, s: f"ct_{i[:-1]}_{s}",
    "id too long": lambda i, s: f"ct_{i}x_{s}",
    "other prefix": lambda i, s: f"sk_{i}_{s}",
    "trailing words": lambda i, s: f"ct_{i}_{s} extra",
    "no separators": lambda i, s: f"ct{i}{s}",
    "huge": lambda i, s: f"ct_{i}_" + "A" * 20_000,
}


@pytest.mark.parametrize("make", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_keys_are_the_same_401_as_a_wrong_key(api, make):
    key_id, secret = split(apikeys.create("real")["key"])
    r = api.call("GET", ROUTE, key=make(key_id, secret))
    assert r.status_code == 401
    assert refusal(r) == refusal(api.call("GET", ROUTE, key="wrong-key"))


@pytest.mark.parametrize("token", ["ct_aaaaaaaaaa_" + "é" * 43, "ct_aaaaaaaaaa_\x00" + "A" * 42, "ct_\u0430" * 5])
def test_odd_characters_fail_closed(tables, token):
    with pytest.raises(Unauthorized) as err:
        auth.identify(f"Bearer {token}")
    assert err.value.message == "the API key is not valid"


def test_storage_failure_is_503_not_a_refusal(api, monkeypatch):
    made = apikeys.create("during an outage")

    def down(*args, **kwargs):
        raise GetError("DynamoDB is down")

    monkeypatch.setattr(CounterModel, "get", down)
    r = api.call("GET", ROUTE, key=made["key"])
    assert r.status_code == 503 and body(r)["error"]["code"] == "storage_unavailable"
    assert api.call("GET", ROUTE).status_code == 200  # the bootstrap key needs no DynamoDB


# --- storage and logs ------------------------------------------------------------------------


def test_the_stored_item_has_no_plaintext_key(tables):
    made = apikeys.create("at rest")
    key_id, secret = split(made["key"])
    item = raw_item(key_id)
    text = json.dumps(item)
    assert made["key"] not in text and secret not in text
    data = json.loads(item["data"]["S"])
    assert data["secret_sha256"] == hashlib.sha256(secret.encode()).hexdigest()
    assert data["name"] == "at rest" and data["hint"] == secret[-4:] and data["revoked_at"] is None


def test_logs_carry_the_key_id_never_the_key(api, log_lines, monkeypatch):
    made = apikeys.create("logged")
    key_id, secret = split(made["key"])
    appended = []
    real_append = logger.append_keys

    def spy(**keys):
        appended.append(keys)
        real_append(**keys)

    monkeypatch.setattr(logger, "append_keys", spy)
    assert api.call("GET", ROUTE, key=made["key"]).status_code == 200
    assert api.call("GET", f"{ROUTE}/ch_nope", key=made["key"]).status_code == 404  # logged as refused
    api.call("GET", ROUTE, key=f"ct_{key_id}_{'B' * len(secret)}")  # a wrong secret
    assert appended[:2] == [{"api_key_id": f"key:{key_id}", "api_key_name": "logged"}] * 2
    refused = [line for line in log_lines() if line["message"] == "request refused"]
    assert refused[0]["api_key_id"] == f"key:{key_id}" and refused[0]["status"] == 404
    assert refused[-1]["status"] == 401
    text = json.dumps(log_lines())
    assert secret not in text and made["key"] not in text and "B" * len(secret) not in text


# --- the bootstrap key -----------------------------------------------------------------------


def test_the_bootstrap_key_still_works_with_its_hash_identity(api):
    assert api.call("GET", ROUTE).status_code == 200  # conftest's API_KEY
    want = "key:" + hashlib.sha256(API_KEY.encode()).hexdigest()[:8]
    assert auth.identify(f"Bearer {API_KEY}").actor == want


def test_stored_keys_work_without_a_bootstrap_key(api, settings_env):
    made = apikeys.create("only stored keys")
    settings_env(API_KEY="", API_KEY_PARAM="")
    assert api.call("GET", ROUTE, key=made["key"]).status_code == 200
    assert api.call("GET", ROUTE).status_code == 401  # the old key is not configured: refused, not a 500


# --- the command -----------------------------------------------------------------------------


def test_the_command_creates_lists_and_revokes(api):
    # create: the key alone on stdout, so `KEY=$(... create --name x)` works
    done = cli("create", "--name", "From the CLI")
    key = done.stdout.strip()
    key_id, secret = split(key)
    assert key_id in done.stderr and secret not in done.stderr
    assert api.call("GET", ROUTE, key=key).status_code == 200

    # list: text and JSON, neither with a secret or hash
    text = cli("list").stdout
    assert key_id in text and "From the CLI" in text and "active" in text
    listed = json.loads(cli("list", "--json").stdout)
    assert [k["id"] for k in listed] == [key_id]
    assert secret not in text + json.dumps(listed)
    assert hashlib.sha256(secret.encode()).hexdigest() not in text + json.dumps(listed)

    # revoke: from another process, so this one sees it once its cache is gone
    done = cli("revoke", key_id)
    assert key_id in done.stdout and "60 s" in done.stderr
    apikeys.clear_cache()
    assert api.call("GET", ROUTE, key=key).status_code == 401
    assert json.loads(cli("list", "--json").stdout)[0]["status"] == "revoked"


def test_the_command_create_json_and_revoke_by_pasted_key(api):
    made = json.loads(cli("create", "--name", "json", "--json").stdout)
    assert set(made) == {"id", "key", "name", "scope", "created_at"}
    done = cli("revoke", made["key"])  # a whole key pasted by mistake: its id is used
    assert made["id"] in done.stdout and split(made["key"])[1] not in done.stdout + done.stderr
    assert apikeys.list_keys()[0]["status"] == "revoked"


def test_the_command_reports_errors(tables):
    done = cli("revoke", "nosuchkey0", check=False)
    assert done.returncode == 1 and "nosuchkey0" in done.stderr
    done = cli("create", "--name", "  ", check=False)
    assert done.returncode == 1 and "name" in done.stderr
    done = cli("frobnicate", check=False)
    assert done.returncode == 2  # argparse: unknown subcommand


# --- no management answer is kept by a cache -------------------------------------------------


def management_routes() -> list[tuple[str, str]]:
    """Every (method, path) of the API under /v1/, the public lease endpoint included."""
    from app import app

    return sorted((m, path) for path, entries in app.routes.items() if path.startswith("/v1/") for m in entries)


def test_every_management_answer_says_no_store(api):
    # Given every /v1/ route, with ids that name nothing and bodies that are no good...
    answers = []
    for method, template in management_routes():
        path = re.sub(r"\{[^}]+\}", "nothing-here", template)
        send = None if method in ("GET", "DELETE") else {}
        # When it is called with the key, and without one
        answers.append((method, path, api.call(method, path, send)))
        answers.append((method, path, api.call(method, path, send, key=None)))
    # ... and the lists, the calls CSV and a lease are asked for as they should be
    for path in ("/v1/channels", "/v1/calls", "/v1/calls?format=csv"):
        answers.append(("GET", path, api.call("GET", path)))
    pool = make_pool(api, size=1)
    answers.append(("POST", "/v1/leases", lease(api, pool)))
    assert {r.status_code for *_, r in answers} >= {200, 400, 401, 404}
    # Then every answer, success or error, JSON or CSV, tells caches not to keep it
    for method, path, r in answers:
        assert r.headers.get("Cache-Control") == "no-store", (method, path, r.status_code, r.headers)

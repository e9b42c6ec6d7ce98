"""API key scopes (read, write, admin): one route table, enforced from the request context; old keys are admin."""

from __future__ import annotations

import json
import re

import pytest

from chalicelib.access import apikeys, auth
from chalicelib.core import context
from chalicelib.core.context import RequestContext
from chalicelib.core.errors import BadRequest, Forbidden
from chalicelib.routes import scopes
from chalicelib.store import keys
from chalicelib.store.models import CounterModel
from tests.integration.test_api_keys import cli, raw_item, split
from tests.support.env import API_KEY, body

CHANNEL = {"name": "Radio FM 101", "forward_to": "+1 202 555 0144"}
WEBHOOK = {"url": "https://crm.example.com/hook"}


@pytest.fixture(autouse=True)
def _fresh_cache():
    apikeys.clear_cache()
    yield
    apikeys.clear_cache()


def key(scope: str | None) -> str:
    return str(apikeys.create(f"a {scope} key", scope)["key"])


def forbidden(scope: str, route: str, needs: str) -> dict:
    message = f"this API key has the '{scope}' scope; {route} needs '{needs}'"
    return {"error": {"code": "forbidden", "message": message}}


# --- each scope against a route of each class --------------------------------------------------


def test_a_read_key_reads_but_changes_nothing(api):
    # Given a key with the read scope
    read = key("read")
    # When it reads, then changes a channel, then opens the webhooks
    listed = api.call("GET", "/v1/channels", key=read)
    created = api.call("POST", "/v1/channels", CHANNEL, key=read)
    blocked = api.call("PUT", "/v1/blocked-callers", {"callers": ["+1900*"]}, key=read)
    hooks = api.call("GET", "/v1/webhooks", key=read)
    # Then it reads; every change and every webhook route is a 403 that says what it needs
    assert listed.status_code == 200
    assert (created.status_code, body(created)) == (403, forbidden("read", "POST /v1/channels", "write"))
    assert (blocked.status_code, body(blocked)) == (403, forbidden("read", "PUT /v1/blocked-callers", "write"))
    assert (hooks.status_code, body(hooks)) == (403, forbidden("read", "GET /v1/webhooks", "admin"))
    assert created.headers["Cache-Control"] == "no-store"
    assert body(api.call("GET", "/v1/channels"))["channels"] == []  # nothing was made


def test_a_write_key_changes_channels_and_outcomes_but_not_webhooks_or_alerts(api):
    # Given a key with the write scope
    write = key("write")
    # When it makes and changes a channel, then tries the admin routes
    created = api.call("POST", "/v1/channels", CHANNEL, key=write)
    channel_id = body(created)["id"]
    patched = api.call("PATCH", f"/v1/channels/{channel_id}", {"name": "Radio FM 102"}, key=write)
    hook = api.call("POST", "/v1/webhooks", WEBHOOK, key=write)
    recipients = api.call("GET", "/v1/alerts/recipients", key=write)
    # Then the channel changes; webhooks and alert recipients are admin's
    assert (created.status_code, patched.status_code) == (201, 200)
    assert (hook.status_code, body(hook)) == (403, forbidden("write", "POST /v1/webhooks", "admin"))
    assert (recipients.status_code, body(recipients)) == (
        403,
        forbidden("write", "GET /v1/alerts/recipients", "admin"),
    )
    assert body(api.call("GET", "/v1/webhooks"))["webhooks"] == []


def test_an_admin_key_opens_webhooks_and_alerts(api):
    # Given a key with the admin scope
    admin = key("admin")
    # When it lists the webhooks and alert recipients, and adds a webhook (to a host with no address)
    hooks = api.call("GET", "/v1/webhooks", key=admin)
    recipients = api.call("GET", "/v1/alerts/recipients", key=admin)
    hook = api.call("POST", "/v1/webhooks", {"url": "https://unresolvable.invalid/hook"}, key=admin)
    # Then all reach their routes: the webhook is refused for its URL, not for the key
    assert (hooks.status_code, recipients.status_code) == (200, 200)
    assert (hook.status_code, body(hook)["error"]["code"]) == (400, "bad_request")


def test_a_refused_scope_is_checked_before_the_path_ids(api):
    # Given a read key, when it deletes a channel whose id is blank
    r = api.call("DELETE", "/v1/channels/%20", key=key("read"))
    # Then it learns only that it may not (403), not whether the id names anything (404)
    assert (r.status_code, body(r)) == (403, forbidden("read", "DELETE /v1/channels/{channel_id}", "write"))


def test_new_keys_are_write_unless_asked(tables):
    # Given a key made without a scope, when it is identified
    made = apikeys.create("no scope asked")
    ctx = auth.identify(f"Bearer {made['key']}")
    # Then it is a write key, in the answer, the listing and its context
    assert made["scope"] == "write" and apikeys.list_keys()[0]["scope"] == "write"
    assert ctx.scopes == {"read", "write"} and ctx.key_name == "no scope asked"


def test_an_unknown_scope_is_refused(tables):
    with pytest.raises(BadRequest, match="'scope' must be one of read, write, admin"):
        apikeys.create("odd", "owner")


def test_the_bootstrap_key_is_admin(api):
    # Given the deployment's own key, when it is identified and opens a webhook route
    ctx = auth.identify(f"Bearer {API_KEY}")
    # Then it holds every scope
    assert ctx.allows("admin") and ctx.kind == "api_key" and ctx.key_name == auth.BOOTSTRAP_NAME
    assert api.call("GET", "/v1/webhooks").status_code == 200


# --- keys written by the code before scopes --------------------------------------------------------


def old_shape_key(name: str) -> str:
    """A key stored exactly as the code before issue 23 stored it: everything in ``data``, no scope."""
    key_id, secret = "oldkey0001", "S" * 43
    data = {
        "name": name,
        "secret_sha256": apikeys._hash(secret).hex(),
        "hint": secret[-4:],
        "created_at": 1_700_000_000_000,
        "revoked_at": None,
    }
    CounterModel(*keys.api_key(key_id), data=data).save(condition=CounterModel.sk.does_not_exist())
    return f"ct_{key_id}_{secret}"


def test_keys_stored_before_scopes_are_admin(api):
    # Given a key written the old way (no typed attributes, no scope)
    old = old_shape_key("made last year")
    assert "key_scope" not in raw_item("oldkey0001")
    # When it is used on an admin route and listed
    r = api.call("GET", "/v1/webhooks", key=old)
    [listed] = apikeys.list_keys()
    # Then it works as it always did, as an admin key with its old name and dates
    assert r.status_code == 200
    assert listed["scope"] == "admin" and listed["name"] == "made last year" and listed["status"] == "active"
    assert listed["created_at"] == "2023-11-14T22:13:20.000Z" and listed["hint"] == "SSSS"
    assert auth.identify(f"Bearer {old}").key_name == "made last year"


def test_an_old_shape_key_is_revoked_in_both_shapes(api):
    # Given a key written the old way, when it is revoked
    old = old_shape_key("leaked")
    gone = apikeys.revoke("oldkey0001")
    apikeys.clear_cache()
    # Then it is refused, and the release before (which reads only ``data``) would refuse it too
    assert gone["status"] == "revoked"
    assert api.call("GET", "/v1/channels", key=old).status_code == 401
    item = raw_item("oldkey0001")
    assert json.loads(item["data"]["S"])["revoked_at"] == int(item["key_revoked_at"]["N"])


def test_a_new_key_is_written_in_both_shapes(tables):
    # Given a new key, when its item is read as DynamoDB holds it
    made = apikeys.create("both shapes", "read")
    key_id, secret = split(made["key"])
    item = raw_item(key_id)
    data = json.loads(item["data"]["S"])
    # Then the typed attributes and the old JSON agree (so a rollback still reads it)
    assert item["key_scope"]["S"] == "read" and item["key_name"]["S"] == data["name"] == "both shapes"
    assert item["key_secret_sha256"]["S"] == data["secret_sha256"] and item["key_hint"]["S"] == secret[-4:]
    assert int(item["key_created_at"]["N"]) == data["created_at"] and "key_revoked_at" not in item


def test_a_key_revoked_in_either_shape_is_refused(api):
    # Given a key whose typed attributes say it is revoked, though its data JSON does not
    made = apikeys.create("half revoked")
    key_id, _ = split(made["key"])
    CounterModel(*keys.api_key(key_id)).update(actions=[CounterModel.key_revoked_at.set(1)])
    # Then it is refused
    assert api.call("GET", "/v1/channels", key=made["key"]).status_code == 401


# --- the context in the logs ---------------------------------------------------------------------


def test_a_change_is_logged_with_the_key_id_and_name(api, log_lines):
    # Given a write key
    made = apikeys.create("CRM sync", "write")
    key_id, _ = split(made["key"])
    # When it makes a channel
    assert api.call("POST", "/v1/channels", CHANNEL, key=made["key"]).status_code == 201
    # Then the change is logged with who asked: the key's id and name, its account
    [line] = [line for line in log_lines() if line.get("action") == "channels.create"]
    assert line["actor"] == f"key:{key_id}" and line["api_key_name"] == "CRM sync"
    assert line["actor_kind"] == "api_key" and line["account_id"] == context.DEFAULT_ACCOUNT
    assert line["api_key_id"] == f"key:{key_id}"  # the middleware's key, on every line of the request


# --- the table -----------------------------------------------------------------------------------


def test_every_management_route_has_a_scope_rule(api):
    # Given every /v1/ route but the public lease endpoint
    from app import app

    routes = [(m, p) for p, entries in app.routes.items() if p.startswith("/v1/") for m in entries]
    public = ("/v1/leases", "/v1/sites/{site_key}")
    unlisted = [(m, p) for m, p in routes if p not in public and scopes.rule_for(p) is None]
    # Then each is named by a rule (a new route's scope is a choice, not the fail-closed default)
    assert unlisted == []


@pytest.mark.parametrize(
    ("method", "resource", "needed"),
    [
        ("GET", "/v1/calls/{sid}/recording", "read"),
        ("PATCH", "/v1/calls/{sid}", "write"),
        ("POST", "/v1/spend/import", "write"),
        ("DELETE", "/v1/numbers/{number}", "write"),
        ("GET", "/v1/webhooks/{endpoint_id}/deliveries", "admin"),
        ("POST", "/v1/webhooks/{endpoint_id}/rotate-secret", "admin"),
        ("GET", "/v1/alerts/summary", "admin"),
        ("GET", "/v1/keys", "admin"),  # unlisted: fail closed
        ("GET", "/v1/callsx", "admin"),  # a prefix is a whole path segment
    ],
)
def test_the_route_table(method, resource, needed):
    assert scopes.required(method, resource) == needed


def test_a_context_without_a_scope_is_refused_by_name():
    site = context.for_site("sk_abc")
    with pytest.raises(Forbidden, match=re.escape("this API key has no scope; GET /v1/calls needs 'read'")):
        scopes.enforce(site, "GET", "/v1/calls")
    scopes.enforce(
        RequestContext(kind="api_key", actor="key:x", scopes=context.scopes_up_to("read")), "GET", "/v1/calls"
    )


# --- the command -----------------------------------------------------------------------------------


def test_the_command_creates_a_key_with_a_scope_and_lists_it(api):
    # Given a read key made by the command
    done = cli("create", "--name", "reporting", "--scope", "read")
    key_id, _ = split(done.stdout.strip())
    # Then it says so, lists it, and the key is refused a change
    assert "scope read" in done.stderr
    text = cli("list").stdout
    assert "SCOPE" in text and re.search(rf"{key_id}\s+reporting\s+read\s", text)
    assert api.call("POST", "/v1/channels", CHANNEL, key=done.stdout.strip()).status_code == 403
    assert cli("create", "--name", "x", "--scope", "owner", check=False).returncode == 2

"""Keyed caller hashes: report sets and first-touch items hold HMAC-SHA256 hashes with their key
version, never a number or a plain SHA-256 of it; reads accept every key in the ring after a
rotation; migration 2 keys what today's code wrote before; on deployed stages the key comes from
SSM in the same request as the Twilio auth token."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import boto3
import pytest

from chalicelib.core import clock, secrets
from tests.integration.test_reports import Business, at, by_label, report
from tests.support import snapshot
from tests.support.database import DDB_ENDPOINT, pump
from tests.support.env import AUTH_TOKEN, CALLER_PEPPER

ANN, BOB = "+14155550001", "+14155550002"
FOREVER = lambda: 10**9  # noqa: E731 - a deadline that never comes


@pytest.fixture
def biz(api):
    clock.set_source(clock.FakeClock(at("2026-10-01T12:00:00")))
    return Business(api, None)


def _plain(number: str) -> str:
    """What the code before keyed hashes stored for a caller in the report sets."""
    return hashlib.sha256(number.encode()).hexdigest()[:12]


def _forms(number: str) -> list[str]:
    digits = number.lstrip("+")
    return [number, digits, digits[1:], _plain(number), hashlib.sha256(number.encode()).hexdigest()]


def _everything() -> str:
    return json.dumps(snapshot.tables(), sort_keys=True)


def _table(name: str) -> list[dict[str, Any]]:
    from chalicelib.core.settings import get_settings

    pump().drain()  # the subscribers (reports) have done their part
    return snapshot.tables()[get_settings().table_name(name)]


def _aggregate_callers() -> set[str]:
    found: set[str] = set()
    for item in _table("counters"):
        if item["pk"]["S"].startswith("AGG#") and "callers" in item:
            found |= set(item["callers"]["SS"])
    return found


def _first_touch_keys() -> set[str]:
    return {i["pk"]["S"] for i in _table("counters") if i["pk"]["S"].startswith("CALLER#")}


def test_report_sets_and_first_touch_hold_keyed_hashes_only(api, biz):
    # Given Ann calling twice and Bob once
    biz.call("Radio FM 101", ANN)
    second = biz.call("Google Ads", ANN)
    biz.call("Google Ads", BOB, result="missed")
    # Then the report sets hold keyed hashes with their key version, and the first-touch items too
    members = _aggregate_callers()
    assert members and all(m.split(":")[0].startswith("k1.") for m in members), members
    assert {k.split(".")[0] for k in _first_touch_keys()} == {"CALLER#k1"}
    # And neither the report sets nor the first-touch items hold a number or its plain hash
    held = json.dumps([i for i in _table("counters") if i["pk"]["S"].startswith(("AGG#", "CALLER#"))])
    for number in (ANN, BOB):
        for form in _forms(number):
            assert form not in held, form
    # And Ann's second call is a repeat whose first touch is her first call's source
    call = api.call("GET", f"/v1/calls/{second}")
    data = json.loads(call.body)
    assert data["first_time"] is False
    g = by_label(report(api, **{"from": "2026-10-01", "to": "2026-10-02"}))["Google Ads"]
    assert (g["unique_callers"], g["first_time_callers"]) == (2, 1)


def test_after_a_rotation_new_data_uses_the_new_key_and_reads_accept_both(api, biz, settings_env):
    # Given Ann's first call under key 1
    biz.call("Radio FM 101", ANN)
    assert {m.split(".")[0] for m in _aggregate_callers()} == {"k1"}
    # When the key is rotated (the ring: a new key 2, key 1 kept)
    settings_env(CALLER_PEPPER="2:rotated-caller-pepper-0123456789 " + CALLER_PEPPER)
    secrets.clear_cache()
    again = biz.call("Google Ads", ANN)
    # Then her call under key 2 is still a repeat (key 1's first touch was read), and new hashes are k2
    assert json.loads(api.call("GET", f"/v1/calls/{again}").body)["first_time"] is False
    versions = {m.split(".")[0] for m in _aggregate_callers()}
    assert versions == {"k1", "k2"}
    assert any(k.startswith("CALLER#k2.") for k in _first_touch_keys())


def _as_written_before(number: str) -> None:
    """Put back the shapes the code before keyed hashes wrote: plain entries in the report sets and
    on each call, the first-touch item keyed by the number."""
    from chalicelib.core.settings import get_settings

    s = get_settings()
    ddb = boto3.client("dynamodb", endpoint_url=s.dynamodb_endpoint, region_name=s.region)
    for call in _table("calls"):
        if call.get("caller", {}).get("S") != number:
            continue
        sid = call["call_sid"]["S"]
        plain = f"{_plain(number)}:{sid[-10:]}"
        agg = json.loads(call["agg"]["S"])  # a JSON attribute
        for bucket, vec in agg.items():
            if "caller" not in vec:  # a number's calls per day count calls, not callers
                continue
            keyed = vec["caller"]
            vec["caller"] = plain
            pk, _, sk = bucket.partition("|")
            ddb.update_item(
                TableName=s.table_name("counters"),
                Key={"pk": {"S": pk}, "sk": {"S": sk}},
                UpdateExpression="ADD callers :p",
                ExpressionAttributeValues={":p": {"SS": [plain]}},
            )
            ddb.update_item(
                TableName=s.table_name("counters"),
                Key={"pk": {"S": pk}, "sk": {"S": sk}},
                UpdateExpression="DELETE callers :k",
                ExpressionAttributeValues={":k": {"SS": [keyed]}},
            )
        ddb.update_item(
            TableName=s.table_name("calls"),
            Key={"call_sid": {"S": sid}},
            UpdateExpression="SET agg = :a",
            ExpressionAttributeValues={":a": {"S": json.dumps(agg)}},
        )
    for item in _table("counters"):
        if item["pk"]["S"].startswith("CALLER#k"):
            ddb.delete_item(TableName=s.table_name("counters"), Key={"pk": item["pk"], "sk": item["sk"]})
            item["pk"] = {"S": f"CALLER#{number}"}
            ddb.put_item(TableName=s.table_name("counters"), Item=item)


def test_migration_2_keys_what_todays_code_wrote(api, biz):
    from chalicelib.store import migrations
    from chalicelib.store.models import CallModel

    # Given Ann's two calls and Bob's, stored as the code before keyed hashes stored them
    biz.call("Radio FM 101", ANN)
    biz.call("Google Ads", ANN)
    bob = biz.call("Google Ads", BOB)
    _as_written_before(ANN)
    _as_written_before(BOB)
    CallModel(bob).delete()  # Bob's call is gone (retention): his plain hash has no number left
    assert _plain(ANN) in _everything() and f"CALLER#{ANN}" in _first_touch_keys()
    span = {"from": "2026-10-01", "to": "2026-10-02"}
    before = report(api, **span)
    # And the old shapes are read before the migration runs: Ann's next call is a repeat
    third = biz.call("Google Ads", ANN)
    assert json.loads(api.call("GET", f"/v1/calls/{third}").body)["first_time"] is False
    # When migration 2 runs (in small chunks, as deploy would)
    while migrations.state().version < migrations.LATEST:
        migrations.run(remaining_ms=FOREVER, max_items=3, chunk=2)
    # Then no plain hash is left in any report set: Ann's keyed from her calls, Bob's from his plain hash
    members = _aggregate_callers()
    assert all(m.split(":")[0].startswith(("k1.", "k1p.")) for m in members), members
    assert any(m.startswith("k1p.") for m in members)
    assert _plain(ANN) not in _everything() and _plain(BOB) not in _everything()
    # And the reports count the same callers as before (Ann's third call added once)
    after = by_label(report(api, **span))
    assert after["Google Ads"]["unique_callers"] == by_label(before)["Google Ads"]["unique_callers"]
    assert after["Google Ads"]["calls"] == by_label(before)["Google Ads"]["calls"] + 1
    # And Ann's first touch is kept under her keyed hash; the number-keyed item is left to its TTL
    assert any(k.startswith("CALLER#k1.") for k in _first_touch_keys()) and f"CALLER#{ANN}" in _first_touch_keys()


def _ssm() -> Any:
    return boto3.client(
        "ssm", endpoint_url=DDB_ENDPOINT, region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t"
    )


def test_the_key_comes_with_the_twilio_token_in_one_ssm_request(api, biz, settings_env, monkeypatch):
    # Given a deployed stage's secrets: the Twilio auth token and the caller-hash key in SSM
    _ssm().put_parameter(Name="/calltracking/test/twilio-auth-token", Value=AUTH_TOKEN, Type="SecureString")
    _ssm().put_parameter(Name="/calltracking/test/caller-pepper", Value=CALLER_PEPPER, Type="SecureString")
    settings_env(
        TWILIO_AUTH_TOKEN="",
        CALLER_PEPPER="",
        TWILIO_AUTH_TOKEN_PARAM="/calltracking/test/twilio-auth-token",
        CALLER_PEPPER_PARAM="/calltracking/test/caller-pepper",
        SSM_ENDPOINT=DDB_ENDPOINT,
    )
    secrets.clear_cache()
    sent: list[str] = []
    real = secrets._client

    def counted(patient: bool = False) -> Any:
        client = real(patient)
        client.meta.events.register(
            "before-call.ssm", lambda model, **_: sent.append(model.name), unique_id="test-count-ssm"
        )
        return client

    monkeypatch.setattr(secrets, "_client", counted)
    # When a new container takes its first calls (voice, dial-status, call-status; reports follow)
    biz.call("Radio FM 101", ANN)
    biz.call("Google Ads", ANN)
    # Then SSM was asked once, for both values together, and the calls were stored with keyed hashes
    assert sent == ["GetParameters"]
    assert {m.split(".")[0] for m in _aggregate_callers()} == {"k1"}


def test_the_rotate_command_puts_a_new_key_first_and_keeps_the_old_one(api, biz, settings_env):
    from click.testing import CliRunner

    from calltracking_cli.main import cli

    # Given the caller-hash key in SSM, and Ann's first call hashed with it
    name = "/calltracking/test/caller-pepper-rotated"
    _ssm().put_parameter(Name=name, Value=CALLER_PEPPER, Type="SecureString")
    settings_env(CALLER_PEPPER="", CALLER_PEPPER_PARAM=name, SSM_ENDPOINT=DDB_ENDPOINT)
    secrets.clear_cache()
    biz.call("Radio FM 101", ANN)
    assert {m.split(".")[0] for m in _aggregate_callers()} == {"k1"}
    # When the owner rotates it
    done = CliRunner().invoke(cli, ["callers", "rotate-key"])
    # Then the ring has a new key 2 first and key 1 as it was, and the command says so
    assert done.exit_code == 0, done.output
    assert "caller-hash key 2 made; key 1 kept" in done.output
    ring = _ssm().get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"].split()
    assert ring[0].startswith("2:") and ring[1:] == [CALLER_PEPPER]
    # And Ann's next call is hashed with key 2 and still a repeat
    secrets.clear_cache()  # a Lambda takes it within SECRETS_REFRESH_SECONDS
    again = biz.call("Google Ads", ANN)
    assert json.loads(api.call("GET", f"/v1/calls/{again}").body)["first_time"] is False
    assert {m.split(".")[0] for m in _aggregate_callers()} == {"k1", "k2"}
    # And the key command names the versions, never a secret
    shown = CliRunner().invoke(cli, ["callers", "key"])
    assert shown.exit_code == 0 and "versions: 2, 1" in shown.output and ring[0][2:] not in shown.output


def test_the_local_stage_keeps_its_key_in_its_config(settings_env):
    from click.testing import CliRunner

    from calltracking_cli.main import cli

    # Given the local stage's plain key (no SSM parameter)
    # When the owner asks to rotate it
    done = CliRunner().invoke(cli, ["callers", "rotate-key"])
    # Then the command says where it is kept, and nothing changes
    assert done.exit_code == 1 and "CALLER_PEPPER in .chalice/config.json" in done.output

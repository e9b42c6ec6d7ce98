"""The counters table's migrations: items written by the code before schema 1 (a committed
snapshot, ``tests/snapshots/counters_schema0.json``) are read in both shapes, rewritten in
resumable chunks, and every user, session, endpoint and recipient still works afterwards."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

SNAPSHOT = Path(__file__).resolve().parents[1] / "snapshots" / "counters_schema0.json"
FOREVER = lambda: 10**9  # noqa: E731 - a deadline that never comes


def _snapshot() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SNAPSHOT.read_text())
    return loaded


def _load_snapshot() -> dict[str, Any]:
    """Put the snapshot's items into the (empty) counters table exactly as they were written."""
    import boto3

    from chalicelib.core.settings import get_settings

    s = get_settings()
    client = boto3.client("dynamodb", endpoint_url=s.dynamodb_endpoint, region_name=s.region)
    snap = _snapshot()
    for item in snap["items"]:
        client.put_item(TableName=s.table_name("counters"), Item=item)
    return snap


def _raw(pk: str, sk: str) -> dict[str, Any]:
    import boto3

    from chalicelib.core.settings import get_settings

    s = get_settings()
    client = boto3.client("dynamodb", endpoint_url=s.dynamodb_endpoint, region_name=s.region)
    item: dict[str, Any] = client.get_item(TableName=s.table_name("counters"), Key={"pk": {"S": pk}, "sk": {"S": sk}})[
        "Item"
    ]
    return item


def _everything() -> dict[str, Any]:
    """Every user, session, endpoint and recipient of the snapshot, read through the repositories."""
    from chalicelib.store import accounts, alerts, webhooks

    sessions = [i["pk"]["S"].partition("#")[2] for i in _snapshot()["items"] if i["pk"]["S"].startswith("WEBSESSION#")]
    return {
        "users": accounts.list_users(),
        "sessions": [accounts.get_web_session(sid) for sid in sessions],
        "endpoints": sorted(webhooks.list_endpoints(), key=lambda e: e.id),
        "recipients": sorted(alerts.list_recipients(), key=lambda r: r.id),
    }


def test_snapshot_items_upgrade_to_schema_1_and_read_the_same(tables: None) -> None:
    from chalicelib.dashboard import users
    from chalicelib.store import migrations

    # Given the counters items the code before schema 1 wrote (users, a session, an endpoint, recipients)
    snap = _load_snapshot()
    before = _everything()
    assert migrations.state().version == 0
    # When the migrations run to the end
    after_run = migrations.run(remaining_ms=FOREVER)
    # Then the table is at the latest schema, and every item reads as it did before
    assert after_run.version == migrations.LATEST == 3 and after_run.running is None
    after = _everything()
    assert after == before
    assert [u.email for u in after["users"]] == ["gone@example.com", "owner@example.com", "viewer@example.com"]
    owner = next(u for u in after["users"] if u.email == "owner@example.com")
    assert owner.role == "admin" and owner.active and owner.sessions and owner.signed_in_from
    assert (owner.password_hash or "").startswith("$argon2id$")
    assert all(s is not None and s.email == "owner@example.com" and s.role == "admin" for s in after["sessions"])
    assert [e.settings["events"] for e in after["endpoints"]] == [["call.completed"]]
    assert len(after["endpoints"][0].settings["secrets"]) == 1
    assert sorted(r.settings["channel"] for r in after["recipients"]) == ["email", "telegram"]
    # And the items carry typed attributes, their old ``data`` kept for a rollback
    for item in snap["items"]:
        if item["pk"]["S"].startswith("WEBSESSION#"):
            continue  # sessions are read in both shapes until they end, never rewritten
        raw = _raw(item["pk"]["S"], item["sk"]["S"])
        assert raw["shape"] == {"N": "1"} and raw["data"] == item["data"]
    assert _raw("DASHUSER", "owner@example.com")["password_hash"]["S"].startswith("$argon2id$")
    # And a snapshot user signs in with their password, a disabled one still cannot
    assert users.authenticate("owner@example.com", snap["password"], "203.0.113.7")["role"] == "admin"
    assert users.authenticate("viewer@example.com", snap["password"], "198.51.100.1")["role"] == "viewer"
    with pytest.raises(users.WrongCredentials):
        users.authenticate("gone@example.com", snap["password"], "198.51.100.1")


def test_snapshot_users_sign_in_before_the_migration_runs(tables: None) -> None:
    from chalicelib.dashboard import users, websessions

    # Given the old-shape items and no migration run yet (a deploy before ``calltracking migrate``)
    snap = _load_snapshot()
    # When a snapshot user signs in and opens a session
    user = users.authenticate("owner@example.com", snap["password"], "203.0.113.7")
    token = websessions.start(user["email"], user["role"])
    # Then both work, read from the old shape
    found = websessions.current(token)
    assert found is not None and found.email == "owner@example.com" and found.role == "admin"


def test_the_runner_resumes_from_its_stored_cursor_in_bounded_chunks(tables: None) -> None:
    from chalicelib.store import migrations

    # Given the snapshot (six items to rewrite in three partitions)
    _load_snapshot()
    # When one run may rewrite only two items
    first = migrations.run(remaining_ms=FOREVER, max_items=2, chunk=1)
    # Then it stops part-way, with its progress stored where the next run (and status) read it
    assert first.version == 0 and first.running == 1 and first.cursor and first.rewritten == 2
    assert migrations.state() == first
    assert "under way, 2 item(s)" in first.describe()
    # When runs are repeated
    runs = 1
    while migrations.state().version < migrations.LATEST:
        migrations.run(remaining_ms=FOREVER, max_items=2, chunk=1)
        runs += 1
        assert runs < 20
    # Then it finishes, each run having gone on from where the last stopped
    assert runs >= 3
    assert migrations.state().describe() == "3 (up to date)"


def test_the_runner_does_nothing_past_its_deadline(tables: None) -> None:
    from chalicelib.store import migrations

    # Given the snapshot, and a Lambda with less time left than the margin
    _load_snapshot()
    # When the runner is called
    left = migrations.run(remaining_ms=lambda: migrations.MARGIN_MS - 1)
    # Then it rewrote nothing and left no progress behind
    assert left.version == 0 and left.running is None
    assert "shape" not in _raw("DASHUSER", "owner@example.com")


def test_a_user_changed_during_the_migration_keeps_the_change(tables: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.dashboard import users
    from chalicelib.store import accounts, migrations
    from chalicelib.store.migrations import m001_typed_items

    # Given the snapshot, and the owner disabled by this release's code just after the migration
    # read the owner's old item and before it rewrites it
    _load_snapshot()
    rewrite = m001_typed_items._rewrite

    def racing(item: Any, model: Any, fields: tuple[str, ...]) -> bool:
        if item.sk == "owner@example.com":
            users.set_disabled("owner@example.com", True)
        return rewrite(item, model, fields)

    monkeypatch.setattr(m001_typed_items, "_rewrite", racing)
    # When the migration runs to the end
    migrations.run(remaining_ms=FOREVER)
    # Then the owner stays disabled since then (the rewrite was conditional on the old shape)
    owner = accounts.get_user("owner@example.com")
    assert owner is not None and not owner.active and owner.disabled_at is not None


def test_two_runners_never_both_advance(tables: None) -> None:
    from chalicelib.store import migrations

    # Given two runners that read the same state
    _load_snapshot()
    seen = migrations.state()
    moved = migrations.SchemaState(0, 1, 1, "0|x", 1, seen.revision + 1, None)
    # When both try to save progress from it
    assert migrations._save(seen, moved)
    # Then the second is refused and stops
    assert not migrations._save(seen, moved)


def test_the_migrate_command_upgrades_a_stage_and_status_shows_the_version(tables: None) -> None:
    import os
    import subprocess
    import sys

    from calltracking_cli.status import schema_line
    from chalicelib.store import accounts
    from tests.support import servers

    # Given the snapshot's items on the local stage's tables
    _load_snapshot()
    assert schema_line() == ("0 of 3: 3 migration(s) to run (calltracking migrate)", True)
    # When the owner runs ``calltracking migrate``
    done = subprocess.run(
        [sys.executable, "-m", "calltracking_cli", "migrate"],
        capture_output=True,
        text=True,
        cwd=servers.ROOT,
        env=dict(os.environ),
        timeout=120,
    )
    # Then it says what ran, and status shows the latest version with nothing pending
    assert done.returncode == 0, done.stderr
    assert "1: typed users" in done.stdout and "2: keyed caller" in done.stdout and "3 (up to date)" in done.stdout
    assert schema_line() == ("3 (up to date)", False)
    owner = accounts.get_user("owner@example.com")
    assert owner is not None and owner.role == "admin"


def test_items_written_by_this_release_keep_the_old_shape_for_a_rollback(tables: None) -> None:
    from chalicelib.dashboard import users, websessions
    from chalicelib.store.models import CounterModel

    # Given a user, a session, a password rehash and a disable, all written by this release
    users.create_user("new@example.com", "admin", "a long enough password")
    user = users.authenticate("new@example.com", "a long enough password", "203.0.113.9")
    token = websessions.start(user["email"], user["role"])
    # When the code before schema 1 reads them (only ``data``, ``state`` and ``total``)
    old_user = CounterModel.get("DASHUSER", "new@example.com")
    old_session = CounterModel.get(f"WEBSESSION#{websessions.session_id(token)}", "session")
    # Then it finds everything it needs: the hash, the role, the session's email, role and token
    assert old_user.data["password_hash"].startswith("$argon2id$") and old_user.data["role"] == "admin"
    assert old_user.state == "active" and old_user.keys
    assert old_session.data["email"] == "new@example.com" and old_session.data["role"] == "admin"
    assert old_session.data["csrf"] and old_session.total

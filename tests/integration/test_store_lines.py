"""The data access of numbers, channels, pools, sessions and leases: only ``chalicelib/store/``
touches their items, and its repositories hand back typed records, not PynamoDB objects."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path
from typing import Any

import pytest

from tests.support.env import body

ROOT = Path(__file__).resolve().parents[2]
# The models the lines and leases repositories own (store/lines.py, store/leases.py).
LINE_MODELS = {"ChannelModel", "PoolModel", "NumberModel", "SessionModel", "LeaseModel"}
# Where the owner's tools and the local stack run product code: they go through the store too.
# (calltracking_local/telephony.py is the local provider's own fake carrier, and the benchmarks
# seed their tables directly, as the tests do: neither is the product's data access.)
SCANNED = ("chalicelib", "calltracking_cli", "scripts")


def _imports_of_line_models(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module == "chalicelib.store.models":
            found |= {a.name for a in node.names} & LINE_MODELS
    return found


def test_only_the_store_imports_the_models_of_numbers_lines_sessions_and_leases() -> None:
    # Given every module of the app, the owner's tools and the scripts
    offenders = {}
    for folder in SCANNED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel.startswith("chalicelib/store/"):
                continue
            # When we look for imports of the models those repositories own
            names = _imports_of_line_models(path)
            if names:
                offenders[rel] = sorted(names)
    # Then none is imported outside chalicelib/store/
    assert offenders == {}


def test_the_converted_modules_import_no_pynamodb() -> None:
    # Given the modules that read numbers, lines, sessions and leases
    converted = [
        "chalicelib/numbers.py",
        "chalicelib/channels.py",
        "chalicelib/pools.py",
        "chalicelib/sites.py",
        "chalicelib/routing.py",
        "chalicelib/leasing/allocator.py",
        "chalicelib/leasing/limits.py",
        "chalicelib/leasing/sessions.py",
        "chalicelib/leasing/endpoint.py",
        "chalicelib/reports/sizing.py",
        "chalicelib/site/__init__.py",
    ]
    for rel in converted:
        tree = ast.parse((ROOT / rel).read_text())
        # When their imports are read
        modules = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        modules |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        # Then none is PynamoDB or the models module
        assert not {m for m in modules if m.startswith("pynamodb") or m == "chalicelib.store.models"}, rel


def test_lines_come_back_as_frozen_records(api: Any) -> None:
    from chalicelib.store import lines

    # Given a channel with a number and a pool with a number, made through the API
    ch = body(api.call("POST", "/v1/channels", {"name": "Radio", "forward_to": "+12025550144"}))
    number = body(api.call("POST", "/v1/numbers", {"channel_id": ch["id"]}))["number"]
    pool = body(
        api.call(
            "POST",
            "/v1/pools",
            {
                "name": "Site",
                "allowed_origins": ["https://shop.example"],
                "original_number": "+12025550123",
                "forward_to": "+12025550144",
            },
        )
    )
    pool_number = body(api.call("POST", "/v1/numbers", {"pool_id": pool["id"]}))["number"]
    # When the repositories read them
    channel = lines.get_channel(ch["id"])
    found = lines.find_number(number)
    in_pool = lines.pool_numbers(pool["id"])
    by_key = lines.pool_by_site_key(pool["site_key"])
    # Then each is a frozen dataclass of the stored attributes, with times as whole milliseconds
    assert isinstance(channel, lines.Channel) and channel.name == "Radio" and channel.record is False
    assert isinstance(found, lines.Number) and found.kind == "channel" and found.channel_id == ch["id"]
    assert isinstance(found.created_at, int)
    assert [n.number for n in in_pool] == [pool_number] and in_pool[0].lease_ended_at == 0
    assert isinstance(by_key, lines.Pool) and by_key.pool_id == pool["id"] and by_key.hold_seconds == 900
    with pytest.raises(dataclasses.FrozenInstanceError):
        channel.name = "changed"  # type: ignore[misc]
    # ... and what is not there is None, not an exception
    assert lines.find_number("+12025550999") is None and lines.find_pool("pl_none") is None
    assert lines.pool_by_site_key("sk_" + "x" * 24) is None

    # A deleted line's own counters (round-robin turn, screening streak) go with it: a channel's, and a
    # pool's under both of its kinds (its overflow number's calls count as "overflow")
    from chalicelib.store import keys
    from chalicelib.store.models import CounterModel

    def held(kind: str, target: str) -> list[str]:
        return sorted(i.sk for i in CounterModel.query(keys.line_counter(kind, target)))

    api.call("DELETE", f"/v1/numbers/{number}")
    api.call("DELETE", f"/v1/numbers/{pool_number}")
    for kind, target in (("channel", ch["id"]), ("pool", pool["id"]), ("overflow", pool["id"])):
        lines.next_turn(kind, target)
        lines.screen_streak(kind, target, refused=True, entry="CA1:0")
        assert held(kind, target) == ["screen_streak", "turn"]
    assert api.call("DELETE", f"/v1/channels/{ch['id']}").status_code == 204
    assert api.call("DELETE", f"/v1/pools/{pool['id']}").status_code == 204
    assert held("channel", ch["id"]) == held("pool", pool["id"]) == held("overflow", pool["id"]) == []


def test_a_lease_reads_back_as_a_session_and_a_lease_start(api: Any, fake_clock: Any) -> None:
    from chalicelib.store import leases
    from tests.integration.test_leases import leased, make_pool

    # Given a visitor holding a pool number
    pool = make_pool(api, size=1)
    got = leased(api, pool, "visitor-aaaa", utm={"source": "google"})
    # When the session and the number's lease history are read through the store
    session = leases.get_session(got["session_id"])
    starts = leases.latest_starts(got["number"])
    # Then the session is a record with its number, source and pages as plain values
    assert isinstance(session, leases.Session) and session.number == got["number"]
    assert session.source["utm_source"] == "google" and all(isinstance(p, dict) for p in session.pages)
    # ... and the lease start names the session, with the source copied onto it
    assert [(s.session_id, s.source and s.source["utm_source"]) for s in starts] == [(got["session_id"], "google")]
    assert leases.get_session("s_" + "n" * 20) is None

"""Integrations of one shape: the declarations (``chalicelib/integrations/wiring.py``) hold the
configuration to them, and a new integration is picked up from one folder and one line.

Every declared handler imports; every declared IAM statement is in the stage policies; every
declared keep survives the package's trim; every OpenAPI fragment's paths are in
``docs/openapi.yaml``; every schedule is registered with Chalice and run by the local pump.
"""

from __future__ import annotations

import importlib
import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from chalice import Blueprint, Chalice

from calltracking_cli import package
from calltracking_cli import policy as policy_tool
from calltracking_local.pump import Pump
from chalicelib.core.context import SYSTEM
from chalicelib.events import bus, model
from chalicelib.integrations import wiring
from chalicelib.integrations.registry import Integration, load
from chalicelib.routes import events as event_routes

ROOT = Path(__file__).resolve().parents[2]
DEPLOYED_STAGES = ("dev", "prod")
ALL = wiring.INTEGRATIONS
METHODS = ("get", "put", "post", "delete", "patch")


def test_the_list_names_each_integration_once_with_unique_subscribers_and_schedules() -> None:
    names = [i.name for i in ALL]
    assert names == sorted(set(names), key=names.index)  # no name twice
    assert {"events", "reports", "recordings", "webhooks", "alerts"} <= set(names)
    subscribers = [s.name for i in ALL for s in i.subscribers]
    schedules = [s.name for i in ALL for s in i.schedules]
    assert len(subscribers) == len(set(subscribers)) and len(schedules) == len(set(schedules))
    # The types a subscriber wants are event types the stream makes
    assert all(set(s.types) <= set(model.TYPES) for i in ALL for s in i.subscribers)


@pytest.mark.parametrize("integration", ALL, ids=lambda i: i.name)
def test_every_declared_handler_imports_and_is_callable(integration: Integration) -> None:
    for path in integration.handler_paths():
        assert callable(load(path)), path


def test_the_bus_takes_its_subscribers_and_families_from_the_declarations() -> None:
    for integration in ALL:
        for sub in integration.subscribers:
            got = bus.SUBSCRIBERS[sub.name]
            assert (got.types, got.handler, got.gate, got.retry_setting) == (
                frozenset(sub.types),
                sub.handler,
                sub.gate,
                sub.retry_setting,
            )
        for fam in integration.families:
            assert bus.FAMILIES[fam.prefix].handler == fam.handler
    # The webhooks and alerts keep their gates, declared in one place
    assert bus.SUBSCRIBERS["webhooks"].gate and bus.SUBSCRIBERS["alerts"].gate


@pytest.mark.parametrize("stage", DEPLOYED_STAGES)
def test_every_declared_iam_statement_is_in_the_stage_policy(stage: str) -> None:
    # Given the stage's policy and every integration's declared statements
    declared = [st for i in ALL for st in i.iam]
    assert len(declared) >= 6  # the check is not vacuous
    # Then each, filled for the stage, is in the policy as declared
    assert policy_tool.declared_missing(stage) == []
    # And a statement the policy lacks would be reported (the check can fail)
    filled = policy_tool.fill(
        {"Sid": "Recordings", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::{prefix}other/*"]},
        region="us-east-1",
        account="111122223333",
        prefix=f"calltracking-{stage}-",
        stage=stage,
    )
    assert filled["Resource"] == [f"arn:aws:s3:::calltracking-{stage}-other/*"]


def test_a_policy_without_a_declared_statement_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a made-up integration declaring a statement no stage policy has
    extra = Integration(
        name="madeup",
        summary="",
        iam=({"Sid": "MadeUp", "Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": ["arn:aws:sqs:x"]},),
    )
    monkeypatch.setattr(wiring, "INTEGRATIONS", (*ALL, extra))
    # When the policy tool checks a stage
    missing = policy_tool.declared_missing("dev")
    # Then it says what is missing, and a deploy's check fails on it
    assert len(missing) == 1 and missing[0].startswith("madeup: ")
    assert any("MadeUp" in p for p in policy_tool.problems("dev"))


def test_sync_writes_the_declared_statements_into_the_policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a copy of the dev policy and a made-up integration declaring one more statement
    copy = tmp_path / "policy-dev.json"
    copy.write_text(policy_tool.path_of("dev").read_text())
    monkeypatch.setattr(policy_tool, "path_of", lambda stage: copy)
    before = json.loads(copy.read_text())["Statement"]
    extra = Integration(
        name="madeup",
        summary="",
        iam=(
            {
                "Sid": "MadeUp",
                "Effect": "Allow",
                "Action": ["sqs:SendMessage"],
                "Resource": ["arn:aws:sqs:{region}:{account}:{prefix}madeup"],
            },
        ),
    )
    monkeypatch.setattr(wiring, "INTEGRATIONS", (*ALL, extra))
    # When the policy tool syncs the stage
    written = policy_tool.sync("dev")
    # Then the statement is written, nothing else changed, nothing is missing, and a second sync writes nothing
    after = json.loads(copy.read_text())["Statement"]
    assert written == ["MadeUp"] and after[:-1] == before and after[-1]["Sid"] == "MadeUp"
    assert policy_tool.declared_missing("dev") == []
    assert policy_tool.sync("dev") == []


def test_every_declared_keep_is_kept_by_the_package_trim() -> None:
    services = {s for i in ALL for s in i.keep.botocore_services}
    assert {"sqs", "s3", "sesv2", "ssm"} <= services  # the check sees the known ones
    assert services <= set(package.botocore_services())
    dropped = {*package.UNUSED_PACKAGES, *(p.split("/")[0] for p in package.UNUSED_PATHS)}
    kept_packages = {p for i in ALL for p in i.keep.packages}
    assert kept_packages and not kept_packages & dropped


def test_every_openapi_fragment_path_is_in_docs_openapi() -> None:
    # Given the whole API's description
    doc = yaml.safe_load((ROOT / "docs" / "openapi.yaml").read_text())
    fragments = [i.openapi for i in ALL if i.openapi]
    assert len(fragments) >= 2
    for fragment in fragments:
        part = yaml.safe_load((ROOT / fragment).read_text())
        # Then every operation of the fragment is described there, and its webhook payloads too
        for path, ops in part["paths"].items():
            assert path in doc["paths"], f"{fragment}: {path} is not in docs/openapi.yaml"
            missing = [m for m in ops if m in METHODS and m not in doc["paths"][path]]
            assert missing == [], f"{fragment}: {path} {missing} not in docs/openapi.yaml"
        assert set(part.get("webhooks", {})) <= set(doc.get("webhooks", {})), fragment


def test_every_fragment_path_is_served_by_the_declared_routes_module() -> None:
    import app

    for integration in [i for i in ALL if i.openapi]:
        # Given the integration's routes module, registered with the app
        assert integration.routes, integration.name
        module = importlib.import_module(integration.routes)
        assert isinstance(module.bp, Blueprint)
        served = {
            (path, method.lower())
            for path, entries in app.app.routes.items()
            for method, entry in entries.items()
            if entry.view_function.__module__ == integration.routes
        }
        # Then every operation its fragment names is one of that module's routes
        part = yaml.safe_load((ROOT / integration.openapi).read_text())
        wanted = {(path, m) for path, ops in part["paths"].items() for m in ops if m in METHODS}
        assert wanted and wanted <= served, (integration.name, sorted(wanted - served))


def test_every_declared_schedule_is_registered_with_chalice_under_its_name() -> None:
    import app

    # Given the declared schedules
    declared = {s.name: s for i in ALL for s in i.schedules}
    assert {"sweep_call_events", "alerts_and_summaries"} <= set(declared)
    # Then the app deploys each at its rate, with the handler Lambda will look up
    registered = {e.name: e for e in app.app.event_sources if hasattr(e, "schedule_expression") and e.name in declared}
    assert set(registered) == set(declared)
    for name, schedule in declared.items():
        unit = "minute" if schedule.minutes == 1 else "minutes"  # AWS wants "rate(1 minute)"
        assert registered[name].schedule_expression.to_string() == f"rate({schedule.minutes} {unit})"
        assert registered[name].handler_string == f"chalicelib.routes.events.{name}"
        assert getattr(event_routes, name) is not None


def test_every_declared_schedule_runs_in_the_pump_at_its_local_cadence(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the pump, with each schedule's handler recorded instead of run
    ran: list[str] = []
    monkeypatch.setattr("calltracking_local.pump.load", lambda path: lambda: ran.append(path))
    pump = Pump()
    declared = [s for i in ALL for s in i.schedules]
    # When it runs its first round, Then every schedule runs once
    assert sorted(pump.run_due(now=1000.0)) == sorted(s.name for s in declared)
    assert sorted(ran) == sorted(s.handler for s in declared)
    # and none again before its local cadence, each when it has passed
    assert pump.run_due(now=1001.0) == []
    alerts = next(s for s in declared if s.name == "alerts_and_summaries")
    due = pump.run_due(now=1000.0 + alerts.local_every)  # every schedule of a cadence <= a minute
    assert "alerts_and_summaries" in due and set(due) == {s.name for s in declared if s.local_every <= 60}
    assert alerts.local_every == 60.0 and next(s for s in declared if s.name == "sweep_call_events").local_every == 900


# --- one folder and one line ------------------------------------------------------------------

CALLED: list[Any] = []


@pytest.fixture
def madeup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Integration]:
    """A made-up integration: its own folder (a declaration and a handler module) and one more line in the list."""
    folder = tmp_path / "madeup_crm"
    folder.mkdir()
    (folder / "__init__.py").write_text('"""A made-up CRM connector."""\n')
    (folder / "integration.py").write_text(
        textwrap.dedent(
            """
            from chalicelib.integrations.registry import Integration, ScheduleDecl, SubscriberDecl

            INTEGRATION = Integration(
                name="madeup_crm",
                summary="a made-up CRM",
                subscribers=(
                    SubscriberDecl("madeup_crm", ("call.completed",), "madeup_crm.client:on_event"),
                    SubscriberDecl(
                        "madeup_crm_gated",
                        ("call.completed",),
                        "madeup_crm.client:on_event",
                        gate="madeup_crm.client:nothing_configured",
                    ),
                ),
                schedules=(ScheduleDecl("madeup_crm_sync", 30, "madeup_crm.client:sync", local_seconds=5),),
                routes="madeup_crm.routes",
                scopes=(("/v1/madeup-crm", "read", "admin"),),
                settings="madeup_crm.settings",
            )
            """
        )
    )
    (folder / "client.py").write_text(
        textwrap.dedent(
            """
            from tests.integration.test_integrations import CALLED

            def on_event(event):
                CALLED.append(("event", event.id))

            def nothing_configured():
                return set()

            def sync():
                CALLED.append(("sync", None))
            """
        )
    )
    (folder / "routes.py").write_text(
        textwrap.dedent(
            """
            from chalice import Blueprint

            from chalicelib.core.responses import json_response

            bp = Blueprint(__name__)

            @bp.route("/v1/madeup-crm/status", methods=["GET", "POST"])
            def status():
                return json_response({"connected": True})
            """
        )
    )
    (folder / "settings.py").write_text(
        textwrap.dedent(
            """
            from typing import NamedTuple

            from chalicelib.core import settings as core
            from chalicelib.core.settings import Section, parse_text

            SECTION = Section("madeup_crm", "a made-up CRM")

            class MadeUpSettings(NamedTuple):
                madeup_crm_portal: str = SECTION("MADEUP_CRM_PORTAL", "", parse_text, "the portal's address")

            SETTINGS = MadeUpSettings

            def get():
                return core.section(MadeUpSettings)

            def load(env):
                return core.load_section(MadeUpSettings, env, core.load(env)._asdict())

            def problems(s, own):
                return [] if own.madeup_crm_portal else ["MADEUP_CRM_PORTAL is not set"]
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    from madeup_crm.integration import INTEGRATION  # type: ignore[import-not-found]

    monkeypatch.setattr(wiring, "INTEGRATIONS", (*ALL, INTEGRATION))  # the one line
    CALLED.clear()
    yield INTEGRATION
    bus.forget(INTEGRATION)
    for name in [m for m in sys.modules if m.startswith("madeup_crm")]:
        del sys.modules[name]


def test_a_made_up_integration_is_picked_up_by_the_bus_the_schedules_and_the_pump(
    madeup: Integration, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a made-up integration in its own folder and one line in the list
    # When the bus reads the list
    bus.declare(wiring.INTEGRATIONS)
    event = model.Event(id="ev-1", type="call.completed", call_sid="CA1", occurred_at=1, call={})
    # Then a completed call reaches its subscriber: one message, handled by its declared handler
    sent: list[str] = []
    monkeypatch.setattr(bus, "_send", lambda entries: sent.extend(entries))
    monkeypatch.setattr(bus, "_gates", _gates_only_for_madeup(bus._gates))
    bus.publish([event], only="madeup_crm")
    assert [json.loads(e)["subscriber"] for e in sent] == ["madeup_crm"]
    bus.handler_of("madeup_crm")(event)
    assert CALLED == [("event", "ev-1")]
    # and its gated subscriber, with nothing configured, costs no SQS message
    sent.clear()
    bus.publish([event], only="madeup_crm_gated")
    assert sent == []
    # When the schedules are registered (as routes/events.py does), Then Chalice deploys its schedule
    app, blueprint, namespace = Chalice(app_name="madeup"), Blueprint("madeup_routes"), {}
    names = event_routes.register_schedules(blueprint, wiring.INTEGRATIONS, namespace)
    app.register_blueprint(blueprint)
    assert "madeup_crm_sync" in names and "madeup_crm_sync" in namespace
    [source] = [e for e in app.event_sources if e.name == "madeup_crm_sync"]
    assert source.schedule_expression.to_string() == "rate(30 minutes)"
    # When the local pump runs its round (the product's own schedules stubbed), Then it runs it too
    CALLED.clear()
    real_load = load
    monkeypatch.setattr(
        "calltracking_local.pump.load", lambda path: real_load(path) if path.startswith("madeup") else lambda: None
    )
    assert "madeup_crm_sync" in Pump().run_due(now=10.0)
    assert CALLED == [("sync", None)]


def test_a_made_up_integrations_routes_scopes_and_settings_are_picked_up(madeup: Integration) -> None:
    from chalicelib.routes import register_integration_routes, scopes

    # When an app registers the listed integrations' routes (as app.py does; a blueprint serves one app,
    # and the real ones are already the real app's), Then its blueprint is served
    app = Chalice(app_name="madeup")
    new = [i for i in wiring.INTEGRATIONS if i not in ALL]
    assert register_integration_routes(app, new) == ["madeup_crm.routes"]
    assert set(app.routes["/v1/madeup-crm/status"]) == {"GET", "POST"}
    # and the API key scopes take its rule: a read key may read, only an admin key may change
    assert scopes.required("GET", "/v1/madeup-crm/status") == "read"
    assert scopes.required("POST", "/v1/madeup-crm/status") == "admin"
    # and its settings are read, tabled for the README under their own section, and checked
    assert "| `MADEUP_CRM_PORTAL` | the portal's address | — |" in wiring.readme_table()
    assert "**madeup_crm**: a made-up CRM" in wiring.readme_table()
    assert "MADEUP_CRM_PORTAL is not set" in wiring.settings_problems({"STAGE": "dev"})
    assert "MADEUP_CRM_PORTAL is not set" not in wiring.settings_problems({"MADEUP_CRM_PORTAL": "https://x.example"})


def _gates_only_for_madeup(real: Any) -> Any:
    """The gates of the made-up subscribers only: the product's own read the tables, not wanted here."""

    def gates(names: set[str], events: list[Any]) -> dict[str, frozenset[str]]:
        return real({n for n in names if n.startswith("madeup")}, events)

    return gates


# --- a caller's data --------------------------------------------------------------------------


def test_every_integration_that_sends_out_says_what_it_keeps_about_a_caller() -> None:
    for name in ("webhooks", "alerts"):
        integration = next(i for i in ALL if i.name == name)
        assert integration.export and integration.erase, name


def test_webhooks_with_no_delivery_for_a_caller_hold_nothing_of_theirs(tables: None) -> None:
    # (a caller whose calls were delivered: tests/integration/test_erasure.py, through a receiver)
    webhooks = next(i for i in ALL if i.name == "webhooks")
    assert webhooks.export and webhooks.erase
    assert load(webhooks.export)("+12025550123", SYSTEM) == {}
    assert load(webhooks.erase)("+12025550123", SYSTEM) == 0


def test_a_callers_alerts_held_for_a_digest_are_exported_and_erased(tables: None) -> None:
    from chalicelib.integrations.alerts import dispatch
    from chalicelib.store import keys
    from chalicelib.store.models import CounterModel

    alerts = next(i for i in ALL if i.name == "alerts")
    assert alerts.export and alerts.erase
    # Given a recipient with two alerts held for its digest, one about the caller
    CounterModel(*keys.alert_recipient("r1"), data={"channel": "email", "email": "o@example.com"}).save()
    dispatch.hold("r1", {"title": "Missed call", "caller": "+12025550123", "at": 1000}, "CA1", "quiet hours")
    dispatch.hold("r1", {"title": "Missed call", "caller": "+12025550999", "at": 2000}, "CA2", "quiet hours")
    # When the caller's data is exported, Then it is that one alert
    exported = load(alerts.export)("+12025550123", SYSTEM)
    assert [a["title"] for a in exported["held_alerts"]["r1"]] == ["Missed call"]
    assert exported["held_alerts"]["r1"][0]["caller"] == "+12025550123"
    # When it is erased, Then that alert is gone and the other caller's stays
    assert load(alerts.erase)("+12025550123", SYSTEM) == 1
    assert load(alerts.export)("+12025550123", SYSTEM) == {}
    assert load(alerts.export)("+12025550999", SYSTEM) != {}

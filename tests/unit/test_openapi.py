"""docs/openapi.yaml: a valid OpenAPI 3 description of exactly the app's routes, and true of the app.

The last test starts the local stack, makes a little real traffic (a lease, a recorded call
attributed to it, a missed call) and runs Schemathesis against the stack from the description:
no 5xx, and every response's status, content type and body as documented.

The tests of this area that need no database, network or server; the ones that need
processes, builds or Chromium are in ``tests/e2e/test_openapi.py``.
"""

from __future__ import annotations

from typing import Any

import yaml

from tests.support import servers

SPEC_PATH = servers.ROOT / "docs" / "openapi.yaml"


METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def load_spec() -> dict[str, Any]:
    return yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))


def spec_routes(spec: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in spec["paths"].items() for method in item if method in METHODS}


def app_routes() -> set[tuple[str, str]]:
    from app import app

    # The dashboard's pages (/dashboard...) are HTML for people behind a session cookie, not the
    # API: they are tested in tests/*/test_dashboard_*.py, and described in the README.
    return {
        (method, path)
        for path, entries in app.routes.items()
        for method in entries
        if path != "/dashboard" and not path.startswith("/dashboard/")
    }


def test_the_description_is_valid_openapi_3_1():
    spec = load_spec()
    assert spec["openapi"] == "3.1.0"
    try:
        from openapi_spec_validator import validate
    except ImportError:  # pragma: no cover - it comes with moto[server]; a structural check otherwise
        assert {"info", "paths", "components"} <= set(spec)
        for path, item in spec["paths"].items():
            for method, op in item.items():
                if method in METHODS:
                    assert op.get("responses"), f"{method.upper()} {path} documents no responses"
    else:
        validate(spec)  # raises with the first problem it finds
    assert [s["url"] for s in spec["servers"]] == ["http://127.0.0.1:8000"]


def test_the_description_has_exactly_the_apps_routes():
    documented, served = spec_routes(load_spec()), app_routes()
    undocumented = sorted(served - documented)
    stale = sorted(documented - served)
    assert not undocumented, f"routes missing from {SPEC_PATH.name}: {undocumented}"
    assert not stale, f"{SPEC_PATH.name} documents routes the app does not have: {stale}"


def test_each_operation_says_how_it_is_authorised_and_how_it_refuses():
    """Management routes take the bearer key (401), webhooks Twilio's signature (403) or HubSpot's (401),
    public ones nothing."""
    from chalicelib.routes.http import _needs_key

    spec = load_spec()
    assert spec["security"] == [{"bearerAuth": []}]
    ids = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method not in METHODS:
                continue
            label = f"{method.upper()} {path}"
            ids.append(op["operationId"])
            security = op.get("security", spec["security"])
            responses = op["responses"]
            if path.startswith("/twilio/"):
                assert security == [{"twilioSignature": []}], label
                assert "403" in responses, label
            elif path.startswith("/crm/hubspot/"):  # HubSpot's webhooks: its signature v3 (401)
                assert security == [{"hubspotSignature": []}], label
                assert "401" in responses, label
            elif _needs_key(path):
                assert security == [{"bearerAuth": []}], label
                assert "401" in responses, label
            else:
                assert security == [], label
            assert "415" in responses, f"{label}: every route answers 415 to a Content-Type it does not take"
            for status, response in responses.items():
                if status.startswith("4"):
                    ref = response.get("$ref", "")
                    body = spec["components"]["responses"][ref.rsplit("/", 1)[-1]] if ref else response
                    schema = body["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, f"{label} {status}"
    assert len(ids) == len(set(ids)), "operationIds must be unique"

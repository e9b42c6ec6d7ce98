"""docs/openapi.yaml: a valid OpenAPI 3 description of exactly the app's routes, and true of the app.

The last test starts the local stack, makes a little real traffic (a lease, a recorded call
attributed to it, a missed call) and runs Schemathesis against the stack from the description:
no 5xx, and every response's status, content type and body as documented.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import stack as stack_mod
from tests.unit.test_openapi import load_spec

# Schemathesis: every check that judges a response against the description (status, content type,
# body, documented headers) and one that the bearer key is really required. A fixed seed and bounded
# examples keep the run reproducible and within about a minute (the local server answers in ~45 ms,
# so requests, not generation, are the cost).
CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
        "ignored_auth",
    )
)
SEED = "20261101"
MAX_EXAMPLES = "15"
# Twilio's webhooks need a signature per request; the demo page and test website are browser pages.
EXCLUDED_PATHS = r"^/(twilio/|demo$|demo/site$)"
# The coverage phase tries every boundary of every schema; its positive half fits the budget (the
# fuzzing phase sends invalid data too). TRACE is left out of the methods it probes: `chalice local`'s
# http.server answers it with its own 501 before the app sees it (API Gateway does not).
SCHEMATHESIS_TOML = """
[phases.coverage]
unexpected-methods = ["get", "put", "post", "delete", "options", "patch"]

[phases.coverage.generation]
mode = "positive"
"""
RUN_TIMEOUT = 600


# --- Schemathesis against the local stack ----------------------------------------------------


def _post_json(url: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers=headers)
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def _traffic(stack: stack_mod.Stack) -> dict[str, str]:
    """A lease and three calls, so that calls, recordings, attribution and reports have data."""
    from scripts.local import simulate_call

    pool = next(p for p in stack.request("GET", "/v1/pools")[1]["pools"] if p["name"] == "Demo website")
    origin = stack.base_url
    assert origin in pool["allowed_origins"]
    leased = _post_json(
        stack.base_url + "/v1/leases",
        {
            "site_key": pool["site_key"],
            "visitor_id": "v_openapi_test",
            "page_url": origin + "/demo?utm_source=newsletter&utm_medium=email",
            "referrer": "https://www.google.com/",
        },
        {"Content-Type": "text/plain", "Origin": origin, "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"},
    )
    assert leased["tracked"], leased
    numbers = stack.request("GET", "/v1/numbers?status=active")[1]["numbers"]
    channels = {c["id"]: c for c in stack.request("GET", "/v1/channels")[1]["channels"]}
    recorded = next(n["number"] for n in numbers if n["kind"] == "channel" and channels[n["channel_id"]]["record"])
    plain = next(n["number"] for n in numbers if n["kind"] == "channel" and not channels[n["channel_id"]]["record"])
    keys = {"token": stack_mod.AUTH_TOKEN, "api_key": stack_mod.API_KEY}
    simulate_call(stack.base_url, leased["number"], "+14155550121", answer="yes", **keys)
    simulate_call(stack.base_url, recorded, "+14155550122", answer="yes", talk_seconds=30, **keys)
    simulate_call(stack.base_url, plain, "+14155550122", answer="no", **keys)
    return {"site_key": pool["site_key"], "origin": origin}


def _spec_for_the_stack(target: Path, site_key: str, origin: str) -> None:
    """The description, with the lease endpoint's key and origin narrowed to the stack's demo pool.

    Otherwise every generated lease request would stop at "unknown site key"; narrowed, the
    positive cases lease, renew and run the pool dry, and the negative ones still try others.
    """
    spec = load_spec()
    spec["components"]["schemas"]["LeaseRequest"]["properties"]["site_key"] = {"type": "string", "enum": [site_key]}
    for param in spec["paths"]["/v1/leases"]["post"]["parameters"]:
        if param["name"] == "Origin":
            param["required"] = True
            param["schema"] = {"type": "string", "enum": [origin]}
    for param in spec["paths"]["/v1/sites/{site_key}"]["get"]["parameters"]:
        param["schema"] = {"type": "string", "enum": [site_key]}  # negative cases still try others
    target.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")


@pytest.fixture(scope="module")
def running_stack() -> Iterator[stack_mod.Stack]:
    stack = stack_mod.start(seed=True, table_prefix="openapi-")
    try:
        yield stack
    finally:
        stack.stop()


@pytest.mark.contract
def test_schemathesis_finds_nothing(running_stack: stack_mod.Stack, tmp_path: Path):
    lease = _traffic(running_stack)
    spec_file = tmp_path / "openapi.yaml"
    _spec_for_the_stack(spec_file, lease["site_key"], lease["origin"])
    config = tmp_path / "schemathesis.toml"
    config.write_text(SCHEMATHESIS_TOML, encoding="utf-8")
    cmd = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "--no-color",
        "run",
        str(spec_file),
        "--url",
        running_stack.base_url,
        "--header",
        f"Authorization: Bearer {stack_mod.API_KEY}",
        "--checks",
        CHECKS,
        "--exclude-path-regex",
        EXCLUDED_PATHS,
        "--max-examples",
        MAX_EXAMPLES,
        "--seed",
        SEED,
        "--workers",
        "1",  # one request at a time: the app object (current_request) is shared by the server's threads
        "--generation-database",
        "none",
        "--request-timeout",
        "30",
    ]
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120"}
    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    report = done.stdout + done.stderr
    assert done.returncode == 0, "Schemathesis found problems:\n" + report
    assert "Tested: " in report and "passed" in report, report

"""Stoplight Prism serving Twilio's published OpenAPI spec (npm packages that `make test` installs).

Prism runs with ``--errors``: a request that breaks the spec is answered 422 with the
violations in a problem+json body, and a response that breaks it 500. Twilio's own
response examples break their schemas in three ways (coordinates as strings, ``""`` for
empty SIDs and URLs, relative paths where the schema says ``format: uri``), which would
turn every search and update into a 500. Prism therefore serves a copy of the spec whose
examples (never its schemas: they are what our requests are checked against) are repaired.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from tests.support import servers

SPEC = servers.ROOT / "node_modules/@twilio-alpha/mcp/twilio-oai/spec/json/twilio_api_v2010.json"
PRISM = servers.ROOT / "node_modules/.bin/prism"
TWILIO_API = "https://api.twilio.com"
START_TIMEOUT = 90.0  # loading the 2 MB spec takes a few seconds; slow CI machines take longer

_SAME = object()


def start(workdir: Path, *, spec: Path = SPEC) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``prism mock --errors`` on a free loopback port; returns the process and base URL.

    Its log is ``workdir / "prism.log"``. Raises (never skips) when Prism cannot run.
    """
    if not PRISM.exists() or not spec.exists():
        raise RuntimeError(
            f"Prism or Twilio's OpenAPI spec is missing ({PRISM.relative_to(servers.ROOT)}, "
            f"{spec.relative_to(servers.ROOT)}): run `make test`, which runs `npm ci`"
        )
    if shutil.which("node") is None:
        raise RuntimeError("Prism needs Node.js on PATH: install it and run `make test`")
    served = workdir / spec.name
    served.write_text(json.dumps(repaired(json.loads(spec.read_text()))))
    port = servers.free_port()
    log = workdir / "prism.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(PRISM), "mock", "-h", "127.0.0.1", "-p", str(port), "--errors", str(served)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        servers.wait_for_port(port, proc, timeout=START_TIMEOUT)
    except (RuntimeError, TimeoutError) as exc:
        servers.stop(proc)
        tail = log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"Prism did not start ({exc}); its log ends:\n{tail}") from None
    return proc, f"http://127.0.0.1:{port}"


def repaired(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` with its response examples made valid against their own schemas (in place)."""
    for path_item in spec["paths"].values():
        for operation in path_item.values():
            if not isinstance(operation, dict):
                continue
            for response in operation.get("responses", {}).values():
                for media in response.get("content", {}).values():
                    schema = media.get("schema", {})
                    for example in media.get("examples", {}).values():
                        if "value" in example:
                            example["value"] = _repair(example["value"], schema, spec)
    return spec


def _resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = spec
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def _repair(value: Any, schema: dict[str, Any], spec: dict[str, Any]) -> Any:
    schema = _resolve(schema, spec)
    fixed = _repaired_leaf(value, schema)
    if fixed is not _SAME:
        return fixed
    if isinstance(value, dict):
        for key, prop in schema.get("properties", {}).items():
            if key in value:
                value[key] = _repair(value[key], prop, spec)
    elif isinstance(value, list) and "items" in schema:
        return [_repair(item, schema["items"], spec) for item in value]
    return value


def _repaired_leaf(value: Any, schema: dict[str, Any]) -> Any:
    if not isinstance(value, str):
        return _SAME
    if schema.get("type") == "number":
        try:
            return float(value)  # "latitude": "19.720000"
        except ValueError:
            return _SAME
    if value == "" and schema.get("nullable") and {"format", "pattern", "minLength"} & schema.keys():
        return None  # "sms_url": "" where the real API means "not set"
    if schema.get("format") == "uri" and value.startswith("/"):
        return TWILIO_API + value  # "uri": "/2010-04-01/Accounts/..."
    return _SAME

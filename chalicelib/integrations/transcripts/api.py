"""The transcripts' API logic: the rules and per-line modes, and one call's conversation."""

from __future__ import annotations

from typing import Any

from chalicelib import calls
from chalicelib.core import clock
from chalicelib.core import validation as v
from chalicelib.core.context import SYSTEM, RequestContext, log_change
from chalicelib.core.errors import BadRequest, NotFound
from chalicelib.integrations.transcripts import jobs, rules
from chalicelib.store import transcripts as jobs_store


def get_config() -> dict[str, Any]:
    data = jobs_store.config()
    return {
        "rules": [r.to_json() for r in jobs.load_rules()],
        "default": data.get("default", "on"),
        "lines": dict(data.get("lines") or {}),
    }


def save_config(body: dict[str, Any], *, ctx: RequestContext = SYSTEM) -> dict[str, Any]:
    """``PUT /v1/transcripts/rules``: the whole set of rules and modes, checked before it is kept."""
    log_change(ctx, "transcripts.save_rules")
    v.reject_unknown(body, {"rules", "default", "lines"})
    current = jobs_store.config()
    found = rules.parse_rules(body.get("rules", current.get("rules", [])))
    default = rules.parse_mode(body.get("default", current.get("default", "on")))
    lines = body.get("lines", current.get("lines") or {})
    if not isinstance(lines, dict) or len(lines) > 500:
        raise BadRequest("'lines' must map channel or pool ids to 'on', 'off' or a number of seconds")
    modes = {str(k)[:64]: rules.parse_mode(m) for k, m in lines.items()}
    jobs_store.save_config(
        {"rules": [r.to_json() for r in found], "default": default, "lines": modes, "updated_at": clock.now_ms()}
    )
    return get_config()


def transcript(call_sid: str, *, ctx: RequestContext = SYSTEM) -> dict[str, Any]:
    """``GET /v1/calls/{sid}/transcript``: the summary and the turns (404 when there is none yet)."""
    c = calls.load(call_sid, ctx=ctx)
    summary = c.transcript or {}
    stored = jobs.read_turns(c) if summary.get("status") == "completed" else None
    if stored is None:
        raise NotFound(f"call {call_sid!r} has no transcript" + (f" ({summary['status']})" if summary else ""))
    return {"call_sid": c.call_sid, **calls.transcript_summary(summary), **stored}

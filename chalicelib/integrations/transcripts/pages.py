"""The dashboard's transcript parts: a call's conversation on its page, and the rules page.

Every change goes through ``api.save_config``, the same code as ``PUT /v1/transcripts/rules``.
Viewers see the page; only admins change it (a viewer's post is a 403, as everywhere). A refused
form comes back with the message next to the field and what was typed.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from chalice import Response
from chalice.app import Request

from chalicelib import channels, pools
from chalicelib.core.errors import ApiError
from chalicelib.dashboard import web
from chalicelib.integrations.transcripts import api, jobs
from chalicelib.store.calls import CallRecord

SIDES = {"caller": "the caller", "business": "the business", "both": "either side"}
STATUS_WORDS = {
    "running": "Being transcribed; it shows here when it is done.",
    "failed": "The transcript could not be made",
    "capped": "Not transcribed: the day's transcription minutes were used up.",
}


def clock_of(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 60}:{s % 60:02d}"


def highlighted(text: str, phrases: list[str]) -> list[tuple[str, bool]]:
    """``text`` cut into (part, is a matched phrase) pieces, case and punctuation kept. Pure."""
    if not phrases:
        return [(text, False)]
    pattern = "|".join(r"\b" + r"\W+".join(map(re.escape, p.split())) + r"\b" for p in sorted(phrases, key=len)[::-1])
    parts: list[tuple[str, bool]] = []
    at = 0
    for m in re.finditer(pattern, text, flags=re.IGNORECASE):
        if m.start() > at:
            parts.append((text[at : m.start()], False))
        parts.append((m.group(0), True))
        at = m.end()
    if at < len(text):
        parts.append((text[at:], False))
    return parts


def conversation(stored: dict[str, Any]) -> list[dict[str, Any]]:
    """The turns as the call page shows them. Pure."""
    matches = stored.get("matches") or {}
    out = []
    for n, t in enumerate(stored.get("turns") or []):
        out.append(
            {
                "who": t["who"],
                "start": t["start"],
                "at": clock_of(float(t["start"])),
                "parts": highlighted(str(t["text"]), list(matches.get(str(n), []))),
            }
        )
    return out


def for_call(c: CallRecord) -> dict[str, Any] | None:
    """What the call page shows of the transcript (None: the call has none)."""
    summary = c.transcript
    if not summary:
        return None
    stored = jobs.read_turns(c) if summary.get("status") == "completed" else None
    return {
        "status": summary.get("status"),
        "words": STATUS_WORDS.get(str(summary.get("status")), ""),
        "error": summary.get("error"),
        "keywords": list(summary.get("keywords") or []),
        "rule_tags": list(summary.get("rule_tags") or []),
        "score": summary.get("score"),
        "turns": conversation(stored) if stored else [],
    }


def _lines() -> list[tuple[str, str]]:
    found = [(ch["id"], ch["name"]) for ch in channels.list_all()]
    return found + [(p["id"], f"{p['name']} (website)") for p in pools.list_all()]


def rules_page(request: Request, *, status: int = 200, **context: Any) -> Response:
    viewer = web.require(request)
    context.setdefault("typed", {})
    notice = {"added": "Rule added.", "removed": "Rule removed.", "mode": "Saved."}.get(
        web.query_params(request).get("notice", "")
    )
    config = api.get_config()
    lines = _lines()
    return web.render(
        request,
        "transcripts.html",
        viewer=viewer,
        status=status,
        config=config,
        lines=lines,
        line_names=dict(lines),
        sides=SIDES,
        notice=context.pop("notice", None) or notice,
        **context,
    )


def _save(request: Request, change: Any, notice: str, field: str) -> Response:
    viewer = web.require(request, role="admin")
    fields = web.check_csrf(request, viewer)
    config = api.get_config()
    try:
        api.save_config(change(config, fields), ctx=viewer.context)
    except ApiError as exc:
        if exc.status >= 500:
            raise
        typed = {k: v[:300] for k, v in fields.items() if k != "csrf"}
        return rules_page(request, status=exc.status, error=exc.message, error_field=field, typed=typed)
    return web.redirect("/dashboard/transcripts?" + urlencode({"notice": notice}))


def add_rule(request: Request) -> Response:
    def change(config: dict[str, Any], f: dict[str, str]) -> dict[str, Any]:
        taken = {r["id"] for r in config["rules"]}
        rid = next(f"r{n}" for n in range(1, 1000) if f"r{n}" not in taken)
        rule: dict[str, Any] = {
            "id": rid,
            "phrases": [p for p in (f.get("phrases") or "").split(",") if p.strip()],
            "side": f.get("side") or "caller",
            "line": f.get("line") or None,
            "tags": f.get("tags") or "",
            "outcome": f.get("outcome") or None,
            "score": (f.get("score") or "0").strip() or "0",
        }
        return {"rules": [*config["rules"], rule]}

    return _save(request, change, "added", "rule")


def remove_rule(request: Request, rule_id: str) -> Response:
    def change(config: dict[str, Any], f: dict[str, str]) -> dict[str, Any]:
        return {"rules": [r for r in config["rules"] if r["id"] != rule_id]}

    return _save(request, change, "removed", "rule")


def set_mode(request: Request) -> Response:
    def change(config: dict[str, Any], f: dict[str, str]) -> dict[str, Any]:
        mode = f.get("mode") or "on"
        value: Any = (f.get("seconds") or "").strip() if mode == "longer" else mode
        line = f.get("line") or ""
        if not line:
            return {"default": value}
        lines = dict(config["lines"])
        lines[line] = value
        return {"lines": lines}

    return _save(request, change, "mode", "mode")

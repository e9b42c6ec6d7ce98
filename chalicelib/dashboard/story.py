"""A call's story for the dashboard: who called, when, what happened, why they came, what came of it.

Three DynamoDB requests: the call, the caller's earlier calls' keys from the calls table's
caller index (newest first, at most ``EARLIER``), and those calls by key. The recording is
played from a presigned URL the page asks for (``GET /dashboard/calls/{sid}/recording``,
``recordings/playback.py``), so the page itself never holds a media URL. The outcome editor
saves through ``reports/outcomes.py``, as ``PATCH /v1/calls/{sid}`` does.
"""

from __future__ import annotations

from typing import Any

from chalicelib import attribution, business, callback_dial, calls, spam
from chalicelib.core.errors import BadRequest
from chalicelib.dashboard import users
from chalicelib.dashboard.logpage import local_time, source_detail, source_label
from chalicelib.reports.outcomes import MAX_TAGS, OUTCOMES
from chalicelib.store import calls as store
from chalicelib.store.calls import CallRecord

EARLIER = 10
CLICK_IDS = ("gclid", "gbraid", "wbraid", "fbclid", "msclkid", "yclid", "dclid")
CONFIDENCE_WORDS = {
    "static": "certain: the channel's own number",
    "active": "high: a website visit held the number when the call came",
    "late": "medium: the call came after the visit's hold, within the pool's grace window",
    "overflow": "low: the pool had no free number (overflow number)",
    "unattributed": "none: no visit held the number",
}


def story(call_sid: str, email: str | None = None) -> dict[str, Any]:
    """The page's data; with the signed-in user's ``email``, their own phone (which a call back
    rings first) as ``own_phone`` (one read more), and the call's call-back (one read, if any)."""
    c = calls.load(call_sid)
    biz = business.profile()
    out = {"call": details(c, biz), "earlier": earlier_calls(c), "currency": biz.currency, "record": c}
    out["callbacks"] = [details(x, biz) for x in callback_dial.callbacks_of(c)]
    if email is not None:
        own = users.phone_of(email)
        out["own_phone"] = business.phone(own, biz.country) if own else ""
    return out


def details(c: CallRecord, biz: business.Business | None = None) -> dict[str, Any]:
    """The call as the story page shows it. Pure."""
    biz = biz or business.defaults()
    attr = c.attribution or {}
    src = attr.get("source") or {}
    confidence = attr.get("confidence")
    return {
        "sid": c.call_sid,
        # A text to a tracking number (chalicelib/texts.py): its words (None for a call).
        "text": (c.body or "") if c.medium == "text" else None,
        "media_count": int(c.media_count or 0),
        "caller": c.caller,
        "caller_display": business.phone(c.caller, biz.country),
        "tel": business.tel(c.caller),
        "caller_place": business.place(c.caller_city, c.caller_state, c.caller_country),
        "called": business.phone(c.called, biz.country),
        "forwarded_to": business.phone(c.forwarded_to, biz.country),
        "when": local_time(int(c.started_at)) if c.started_at is not None else "",
        "result": calls.result_of(c) or "ringing",
        "status": c.status,
        "duration": int(c.duration) if c.duration is not None else None,
        "talk_time": int(c.talk_time) if c.talk_time is not None and c.answered else None,
        "first_time": c.first_time,
        "source": source_label(c),
        "source_detail": source_detail(c),
        "source_key": attribution.source_key(attr, c.kind),
        "channel_group": attr.get("channel_group"),
        "confidence": confidence,
        "confidence_words": CONFIDENCE_WORDS.get(confidence or "", confidence or "unknown"),
        "campaign": src.get("utm_campaign"),
        "medium": src.get("utm_medium"),
        "utm_source": src.get("utm_source"),
        "keyword": src.get("utm_term"),
        "content": src.get("utm_content"),
        "landing_page": src.get("landing_page"),
        "referrer": src.get("referrer"),
        "click_ids": {k: src[k] for k in CLICK_IDS if src.get(k)},
        "device": src.get("device"),
        "first_touch": (c.first_touch or {}) if not c.first_time else {},
        "first_touch_name": first_touch_name(c.first_touch) if not c.first_time else "",
        "recording": bool(c.recording_sid),
        "recording_duration": int(c.recording_duration) if c.recording_duration is not None else None,
        "voicemail": bool(c.voicemail),
        "called_back": {"at": local_time(int(c.called_back_at))} if c.called_back_at else None,
        "callback_of": c.callback_of,  # on a call-back (``medium`` "outbound"): the call it called back
        "menu_option": c.menu_option,
        "answered_by": business.phone(c.answered_phone, biz.country) if c.answered_phone and c.answered else "",
        "screen_words": screen_words(c),
        "outcome": c.outcome or "none",
        "revenue": f"{c.revenue:.2f}" if c.revenue is not None else "",
        "note": c.note or "",
        "tags": sorted(c.tags or []),
        "spam_reasons": spam.likely_reasons(c.spam),
        "lookup_caller_name": str((c.spam or {}).get("caller_name") or ""),
    }


def screen_words(c: CallRecord) -> str:
    """Call screening's outcome in words (empty for a call that was not screened). Pure."""
    if c.screen_key:
        return f"phone {int(c.screen_step or 0) + 1} pressed a key and took the call"
    if c.screen_refused:
        words = f"phone {int(c.screen_refused)} answered without pressing a key (a voicemail?): not taken"
        if c.screen_alert:
            words += f"; {int(c.screen_streak or 0)} such answers in a row on this line, alert sent"
        return words
    return ""


def first_touch_name(touch: dict[str, Any] | None) -> str:
    """The first call's source by its one name. Pure."""
    touch = touch or {}
    key = str(touch.get("source_key") or "")
    return attribution.source_name(key, touch.get("channel_name")) if key else ""


def earlier_calls(c: CallRecord) -> list[dict[str, Any]]:
    """The same caller's calls before this one, newest first (the caller index, then by key)."""
    if not c.caller or not c.caller.startswith("+") or c.started_at is None:
        return []
    keys_only = store.earlier_of_caller(c.caller, int(c.started_at), limit=EARLIER)
    if not keys_only:
        return []
    found = store.batch_get([k.call_sid for k in keys_only])
    out = []
    for k in keys_only:
        x = found.get(k.call_sid)
        if x is None:
            continue
        out.append(
            {
                "sid": x.call_sid,
                "when": local_time(int(x.started_at)) if x.started_at is not None else "",
                "result": calls.result_of(x) or "ringing",
                "source": source_label(x),
                "outcome": x.outcome,
            }
        )
    return out


def outcome_body(form: dict[str, str]) -> dict[str, Any]:
    """The outcome editor's form as the body ``outcomes.set_outcome`` takes. Pure.

    Tags are typed comma-separated; an empty revenue leaves it out (a call's revenue is
    cleared by setting it to 0, as in the API).
    """
    allowed = {"outcome", "revenue", "note", "tags", "csrf"}
    unknown = sorted(set(form) - allowed)
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(unknown)}")
    body: dict[str, Any] = {}
    outcome = (form.get("outcome") or "").strip()
    if outcome not in OUTCOMES:
        raise BadRequest(f"'outcome' must be one of: {', '.join(OUTCOMES)}")
    body["outcome"] = outcome
    revenue = (form.get("revenue") or "").strip()  # as typed: money() reads "$1,250.00" and "1 250,00"
    if revenue:
        body["revenue"] = revenue
    body["note"] = form.get("note") or ""
    tags = [t.strip() for t in (form.get("tags") or "").split(",") if t.strip()]
    if len(tags) > MAX_TAGS:
        raise BadRequest(f"at most {MAX_TAGS} tags")
    body["tags"] = tags
    return body


def keep_typed(call: dict[str, Any], form: dict[str, str]) -> dict[str, Any]:
    """The call's page data with what was typed into the outcome form, so a refused form comes
    back with everything in it. Pure."""
    outcome = form.get("outcome") if form.get("outcome") in OUTCOMES else call["outcome"]
    tags = [t.strip() for t in (form.get("tags") or "").split(",") if t.strip()]
    return {**call, "outcome": outcome, "revenue": form.get("revenue", ""), "note": form.get("note", ""), "tags": tags}

"""Spam: whether a call is likely spam, and why, before it reaches alerts, text-back, conversions and reports.

Two halves:

* ``instant_reasons`` (pure), from what the voice request itself brought: a failed STIR/SHAKEN
  attestation (``StirVerstat``) and the block list (a blocked number or prefix). ``kept_out`` uses
  them, so the subscribers that must not act on spam (missed-call alerts, text-back, conversions
  and the CRMs behind them) decide at once, without waiting for anything.
* ``score`` (pure) adds the rules that need the caller's history: repeat short calls (``short_calls``
  calls under ``short_seconds`` seconds from the same caller within a day). The ``spam`` subscriber
  of ``call.completed`` (``chalicelib/integrations/spam/``) computes it and stores
  ``spam: {likely, reasons}`` on the call, never on the voice webhook's path (its DynamoDB requests
  are unchanged).

``kept_out`` is the one check every subscriber calls: a blocked call, a call a person marked spam,
a call scored likely spam, or one whose instant reasons say so.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chalicelib.calls import attestation_failed, is_call
from chalicelib.core import callerkeys, clock
from chalicelib.core.context import SYSTEM, RequestContext
from chalicelib.core.telephony import TelephonyError, get_provider
from chalicelib.core.validation import country_of
from chalicelib.store import calls as store
from chalicelib.store import spam as spam_store
from chalicelib.store.ops import expires_after

ATTESTATION = "the caller id failed its STIR/SHAKEN check"
BLOCKED = "a blocked number or prefix"
REPEAT_SHORT = "repeat short calls"
LINE_TYPE = "line type"
CALLER_NAME = "a caller name with"
DAY_MS = 86_400_000


def instant_reasons(call: dict[str, Any], *, blocked: bool = False) -> list[str]:
    """The reasons known from the voice request alone (``blocked``: the caller is on the block list now). Pure."""
    reasons: list[str] = []
    if attestation_failed(call.get("stir_verstat")):
        reasons.append(ATTESTATION)
    if blocked or call.get("blocked"):
        reasons.append(BLOCKED)
    return reasons


def repeat_short(durations: Iterable[float | int | None], *, short_calls: int, short_seconds: int) -> bool:
    """Whether the caller's calls of the last day (this one included) hold ``short_calls`` under
    ``short_seconds`` seconds each (``short_calls`` 0: the rule is off). Pure."""
    if short_calls <= 0:
        return False
    short = sum(1 for d in durations if d is not None and int(d) < short_seconds)
    return short >= short_calls


def score(
    call: dict[str, Any],
    *,
    blocked: bool = False,
    day_durations: Iterable[float | int | None] = (),
    short_calls: int = 3,
    short_seconds: int = 10,
    line_type: str | None = None,
    line_types: Iterable[str] = (),
    caller_name: str | None = None,
    caller_names: Iterable[str] = (),
) -> dict[str, Any]:
    """The call's spam score as stored: ``{"likely": bool, "reasons": [...]}`` (``line_type``: the
    caller's Lookup, when there was one; ``line_types``: those the owner counts as spam; ``caller_name``:
    Lookup's caller name, a reason when it holds one of the owner's ``caller_names``, case aside; the
    reason names the owner's word, never the caller's name). Pure."""
    reasons = instant_reasons(call, blocked=blocked)
    if line_type and line_type in set(line_types):
        reasons.append(f"{LINE_TYPE} {line_type}")
    named = (caller_name or "").casefold()
    listed = next((n for n in caller_names if n.strip() and n.strip().casefold() in named), None) if named else None
    if listed:
        reasons.append(f"{CALLER_NAME} “{listed.strip()}”")
    if repeat_short(day_durations, short_calls=short_calls, short_seconds=short_seconds):
        reasons.append(f"{REPEAT_SHORT} ({short_calls} or more under {short_seconds} s in a day)")
    return {"likely": bool(reasons), "reasons": reasons}


def kept_out(call: dict[str, Any]) -> str | None:
    """Why alerts, text-back and conversions leave this call out (``None``: they need not). Pure."""
    if call.get("blocked") or call.get("outcome") == "spam":
        return "a blocked or spam caller"
    stored = call.get("spam") or {}
    if stored.get("likely"):
        return "likely spam: " + "; ".join(stored.get("reasons") or [])
    reasons = instant_reasons(call)
    if reasons:
        return "likely spam: " + "; ".join(reasons)
    return None


def asks_caller_name(caller: str) -> bool:
    """Whether a Lookup of ``caller`` may ask for its name: Twilio's caller name (CNAM) is for US numbers only."""
    return country_of(caller) == "US"


def looked_up(
    caller: str, *, daily_cap: int, cache_days: int, caller_name: bool = False, ctx: RequestContext = SYSTEM
) -> dict[str, Any] | None:
    """The caller's Lookup (``{"line_type": ..., "caller_name": ...}``): from the cache item while its period
    lasts, else one Twilio Lookup v2 request (line type intelligence, and caller name too when ``caller_name``
    and the number is a US one) if the day's cap allows, kept ``cache_days``. ``None``: none today (the cap
    reached, or Lookup failed: the call is scored without it)."""
    now = clock.now_ms()
    hashed = callerkeys.caller_hash(caller)
    cached = spam_store.cached_lookup(hashed, expires_after(now, 0), ctx=ctx)
    if cached is not None:
        return cached
    if not spam_store.claim_lookup(str(clock.iso(now))[:10], daily_cap, expires_after(now, 2), ctx=ctx):
        return None
    try:
        answer = get_provider().caller_lookup(caller, caller_name=caller_name and asks_caller_name(caller))
    except TelephonyError:
        return None
    found = {k: v for k, v in answer.items() if k in ("line_type", "caller_name") and (k == "line_type" or v)}
    spam_store.save_lookup(hashed, found, expires_after(now, cache_days), ctx=ctx)
    return found


def score_call(
    call: dict[str, Any],
    *,
    blocked: bool,
    short_calls: int,
    short_seconds: int,
    lookup: dict[str, Any] | None = None,
    line_types: Iterable[str] = (),
    caller_names: Iterable[str] = (),
    keep_unlikely: bool = False,
    ctx: RequestContext = SYSTEM,
) -> dict[str, Any] | None:
    """Score a completed call and store the score on it when it says likely spam, or always with
    ``keep_unlikely`` (Lookup on: text-back waits for a stored score) (``None``: the call is gone). The caller's
    calls of the day before it: one Query and one BatchGetItem (none with the rule off or no caller)."""
    sid = str(call.get("sid") or "")
    if not sid:
        return None
    durations: list[float | int | None] = [call.get("duration")]
    caller, started = call.get("caller"), call.get("started_at")
    if short_calls > 0 and caller and started:
        at = clock.parse_iso(str(started))
        keys = [k for k in store.earlier_of_caller(str(caller), at, limit=short_calls * 4, ctx=ctx)]
        recent = [k.call_sid for k in keys if k.started_at is not None and at - int(k.started_at) <= DAY_MS]
        if recent:
            durations += [c.duration for c in store.batch_get(recent, ctx=ctx).values() if is_call(c)]
    result = score(
        call,
        blocked=blocked,
        day_durations=durations,
        short_calls=short_calls,
        short_seconds=short_seconds,
        line_type=(lookup or {}).get("line_type"),
        line_types=line_types,
        caller_name=(lookup or {}).get("caller_name"),
        caller_names=caller_names,
    )
    named = (lookup or {}).get("caller_name")
    if named:
        result["caller_name"] = str(named)  # for the call page: "Caller name (Lookup)"
    if not result["likely"] and not keep_unlikely:
        return result  # nothing stored: no call.updated for every call's webhooks and subscribers
    if store.update(sid, store.CallChange(set={"spam": result}), guard=store.EXISTS, ctx=ctx) is None:
        return None
    return result


def likely_reasons(stored: dict[str, Any] | None) -> list[str]:
    """The reasons of a stored score that says likely spam (none otherwise), for the call page and the log. Pure."""
    return [str(r) for r in (stored or {}).get("reasons") or []] if (stored or {}).get("likely") else []

"""Meta server events from conversions: pure functions (no HTTP), tested without a receiver.

What Meta documents and this module follows (Conversions API, "server event" and "customer
information parameters"):

* ``action_source`` ``phone_call``: the conversion happened over the phone; non-web events need no
  ``event_source_url`` nor ``client_user_agent``.
* ``event_time``: Unix seconds (UTC) of the call; Meta refuses the *whole request* when any event is
  more than 7 days old, so an older one is never put in a request (``too_old``).
* ``event_id``: the call's sid. Meta drops a second event with the same ``event_name`` and
  ``event_id`` (within 48 hours), so a retried request counts once.
* ``user_data.fbc``: ``fb.1.<creation time in ms>.<fbclid>``: subdomain index 1, the time the click
  id was first seen (the visit's start), the fbclid exactly as the URL carried it (case matters).
* ``user_data.ph``: the phone as digits only, country code first, no ``+``, no leading zeros, then
  SHA-256 as lower-case hex; sent only when the visit's consent allows user data (the shared layer
  leaves ``caller_e164`` None otherwise).
* ``custom_data``: ``value`` and ``currency`` (ISO 4217) when the rule gives a value.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from chalicelib.core.validation import is_e164
from chalicelib.integrations.conversions.platform import Conversion

ACTION_SOURCE = "phone_call"
WINDOW_DAYS = 7
_FBCLID = re.compile(r"[A-Za-z0-9_-]{1,500}")


def normalised_phone(e164: str) -> str | None:
    """Meta's form of a phone: digits only, country code first, no leading zeros (``+44 20…`` -> ``4420…``)."""
    if not is_e164(e164):
        return None
    return e164[1:].lstrip("0")  # E.164 never starts with 0 after "+"; the strip is Meta's rule, kept literal


def hashed(value: str) -> str:
    """SHA-256 of the normalised value, lower-case hex, as Meta matches it."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def fbc(fbclid: str | None, click_at_ms: int | None, occurred_at_ms: int) -> str | None:
    """``fb.1.<ms>.<fbclid>``, or None without a usable fbclid. The creation time is the visit's
    start (when the click id was first seen); never after the call itself."""
    if not fbclid or not _FBCLID.fullmatch(fbclid):
        return None
    created = min(click_at_ms, occurred_at_ms) if click_at_ms else occurred_at_ms
    return f"fb.1.{int(created)}.{fbclid}"


def why_not(conversion: Conversion, now_ms: int, window_ms: int) -> str | None:
    """Why Meta cannot take this conversion now (in words), or None."""
    if now_ms - conversion.occurred_at_ms > window_ms:
        days = (now_ms - conversion.occurred_at_ms) / 86_400_000
        return (
            f"Meta takes events at most {window_ms // 86_400_000} days old; this call is {days:.1f} days old "
            "(Meta would refuse the whole request)"
        )
    if conversion.occurred_at_ms > now_ms + 60_000:
        return "the call's time is in the future: Meta refuses events from the future"
    if conversion.adjustment != "none":
        return "Meta's Conversions API has no adjustments: a changed or withdrawn conversion cannot be sent again"
    if fbc(conversion.click_ids.fbclid, conversion.click_at_ms, conversion.occurred_at_ms) is None and not (
        conversion.caller_e164 and normalised_phone(conversion.caller_e164)
    ):
        return (
            "nothing Meta can match the call with: the visit had no fbclid (no click on a Meta ad) and the "
            "caller's number may not be sent (no consent for ad user data)"
        )
    return None


def event(conversion: Conversion) -> dict[str, Any]:
    """The server event for one conversion (``why_not`` said None)."""
    user: dict[str, Any] = {}
    click = fbc(conversion.click_ids.fbclid, conversion.click_at_ms, conversion.occurred_at_ms)
    if click:
        user["fbc"] = click
    phone = normalised_phone(conversion.caller_e164) if conversion.caller_e164 else None
    if phone:
        user["ph"] = [hashed(phone)]
    out: dict[str, Any] = {
        "event_name": conversion.action,
        "event_time": conversion.occurred_at_ms // 1000,
        "event_id": conversion.call_sid,
        "action_source": ACTION_SOURCE,
        "user_data": user,
    }
    if conversion.value is not None:
        out["custom_data"] = {"value": round(float(conversion.value), 2), "currency": conversion.currency.upper()}
    return out


def redacted(events: list[dict[str, Any]], test_event_code: str | None = None) -> dict[str, Any]:
    """What the delivery log shows of a request: the events with each phone hash cut to its first
    8 characters (a full hash of a phone number can be reversed by trying every number), no token."""
    shown = []
    for e in events:
        user = dict(e.get("user_data", {}))
        if "ph" in user:
            user["ph"] = [f"{h[:8]}…" for h in user["ph"]]
        shown.append({**e, "user_data": user})
    out: dict[str, Any] = {"data": shown}
    if test_event_code:
        out["test_event_code"] = test_event_code
    return out

"""What the CRMs hold about a caller: listed for export, to be erased in the CRM by the owner.

We keep nothing by the caller's number for the CRMs (a call's state and delivery log name the call
by its SID; the log masks numbers to their last four digits). But each CRM destination a caller's
call was sent to now holds, in the owner's portal: the caller's number (a contact or lead made or
found by it), the call's time, duration and status, its source and utm fields and the link to the
call's page; a Bitrix24 call with a recording attached keeps a copy of it in the portal. ``export``
lists those per call so an erasure request can be carried out there; ``erase`` has nothing of ours
to remove (0) and never deletes in the CRM (a contact there may be the owner's customer for other
reasons: the owner decides).
"""

from __future__ import annotations

from typing import Any

from chalicelib.core import clock
from chalicelib.core import validation as v
from chalicelib.core.context import RequestContext
from chalicelib.integrations.conversions import platforms
from chalicelib.store import calls as calls_store
from chalicelib.store import conversions as store

SENT = "the caller's number (a contact or lead), the call's time, duration, status, source, utm fields and page link"


def export(phone: str, ctx: RequestContext) -> dict[str, Any]:
    if not v.is_e164(phone):
        return {}
    names = {d.id: d.data for d in store.list_destinations()}
    sent: list[dict[str, Any]] = []
    for c in calls_store.earlier_of_caller(phone, clock.now_ms() + 1, limit=500, ctx=ctx):
        for dest, rule, state in store.call_states(c.call_sid):
            data = names.get(dest) or {}
            platform = data.get("platform")
            if state.get("status") != "sent" or platform not in platforms.PLATFORMS or rule.startswith("deal:"):
                continue
            if not getattr(platforms.get(platform), "crm", False):
                continue
            sent.append(
                {
                    "call_sid": c.call_sid,
                    "crm": platform,
                    "destination_id": dest,
                    "destination": data.get("name"),
                    "sent_at": clock.iso(state.get("at")),
                    "what": SENT,
                    "erase_there": "the contact or lead and its call activity in the CRM (the owner erases them there)",
                }
            )
    return {"sent_to_crms": sent} if sent else {}


def erase(phone: str, ctx: RequestContext) -> int:
    """Nothing of ours to erase (see the module's docstring): 0."""
    return 0

"""Results back from the CRMs: a won deal's amount as its call's revenue, a deal's outcome as the call's.

The CRM platforms (Bitrix24, HubSpot) are conversion destinations (``integrations/conversions``:
credentials in SSM, rules, exactly-once claims, the delivery log, pages and routes). This folder
adds the other direction: the ``crm_results`` schedule reads each CRM destination's deals changed
since its stored cursor (``platform.read_deals``), and HubSpot's signed webhooks name deals to read
at once (``webhook.py``). Each deal goes through ``apply``:

* **Stage**: a stage among the destination's ``won_stages`` makes the call a ``sale`` with the
  deal's amount as revenue; one among ``lost_stages`` makes it a ``lead`` (a real enquiry that did
  not buy; revenue left as it is); any other stage is not a result yet. A Bitrix24 *lead* (read
  only when the owner chose ``won_lead_statuses`` / ``lost_lead_statuses``) is a ``Deal`` of kind
  ``lead`` whose status is matched the same way against those.
* **Which call**: the deal's contacts' numbers, and of their calls we sent to this CRM the
  *first* in the 90 days before the deal's change: the first touch opened the conversation, so
  its source gets the credit (the same first-touch rule as the ad platforms' click windows); one
  deal credits exactly one call.
* **Once**: the write is claimed through the events' claims under (call, destination, deal,
  outcome, amount), so a deal read twice (poll and webhook, a webhook retried, two schedules)
  writes once; a new amount or stage is a new write.
* **By hand wins**: what we wrote is kept per (call, deal); if the call's outcome or revenue was
  changed since (in the dashboard or the API), a later deal change does not overwrite it, and the
  log says so. (In the CRM, we never write deals: a later call adds a call to the timeline and
  never touches a deal the owner edited.)
* **Same domain code**: ``reports.outcomes.set_outcome``, as ``PATCH /v1/calls/{sid}`` and the
  dashboard's outcome editor, so reports, webhooks, alerts and the ad platforms' value uploads follow.
"""

from __future__ import annotations

import secrets
import time
from decimal import Decimal
from typing import Any

from chalicelib import calls
from chalicelib.core import clock
from chalicelib.core import validation as v
from chalicelib.core.context import SYSTEM
from chalicelib.core.errors import ApiError
from chalicelib.core.observability import logger
from chalicelib.events.model import event_id
from chalicelib.integrations.conversions import destinations, platforms
from chalicelib.integrations.conversions.crm_common import Deal, stage_list
from chalicelib.integrations.conversions.platform import DAY_MS, DisableDestination
from chalicelib.reports import outcomes
from chalicelib.store import calls as calls_store
from chalicelib.store import conversions as store
from chalicelib.store import events as events_store
from chalicelib.store.conversions import Destination

CLAIMER = "crm-results"
WINDOW_MS = 90 * DAY_MS
CURSOR_CALL = "crm-cursor"  # the state item holding a destination's cursor (no call has this sid)
RUN_SECONDS = 12.0  # the schedule's budget per run (the Lambda's timeout is 20 s); the rest waits for the next
KEEP_DAYS = 400.0


def crm_destinations() -> list[Destination]:
    found = []
    for d in store.list_destinations():
        platform = str(d.data.get("platform") or "")
        wanted = platform in platforms.PLATFORMS and d.data.get("enabled") and not d.data.get("paused")
        if wanted and getattr(platforms.get(platform), "crm", False):
            found.append(d)
    return found


def run() -> None:
    """The ``crm_results`` schedule: every CRM destination's changed deals, from its cursor."""
    started = time.monotonic()
    for item in crm_destinations():
        if time.monotonic() - started > RUN_SECONDS:
            break
        try:
            sync(item, clock.now_ms())
        except Exception as exc:  # one CRM down never stops the others; the next run tries again
            logger.warning("crm results failed", destination_id=item.id, error=repr(exc)[:300])


def sync(item: Destination, now: int) -> list[str]:
    """Read ``item``'s deals changed since its cursor and apply each; the words of each result."""
    platform = platforms.get(item.data["platform"])
    state = store.get_state(CURSOR_CALL, item.id, "cursor") or {}
    try:
        deals, cursor = platform.read_deals(destinations.for_platform(item), state.get("cursor"), now)  # type: ignore[attr-defined]
    except DisableDestination as exc:
        destinations.disable(item.id, str(exc))
        destinations.note_stuck(item.id, f"disabled: {exc}", now)
        return [str(exc)]
    said = [apply(item, deal, now) for deal in deals]
    if cursor != state.get("cursor"):
        store.put_state(CURSOR_CALL, item.id, "cursor", {"cursor": cursor, "at": now}, now_ms=now, keep_days=KEEP_DAYS)
    return said


def result_of(item: Destination, deal: Deal) -> tuple[str, Decimal | None] | None:
    """(outcome, revenue) the deal's stage means for its call, or None (not a result yet)."""
    settings = item.data.get("settings") or {}
    won, lost = ("won_lead_statuses", "lost_lead_statuses") if deal.kind == "lead" else ("won_stages", "lost_stages")
    if deal.stage in stage_list(settings.get(won)):
        amount = None
        if deal.amount not in (None, ""):
            try:
                amount = v.money(str(deal.amount), "amount")
            except ApiError:
                amount = None
        return "sale", amount
    if deal.stage in stage_list(settings.get(lost)):
        return "lead", None
    return None


def _numbers(deal: Deal) -> list[str]:
    out = []
    for raw in deal.phones:
        text = "".join(ch for ch in str(raw) if ch.isdigit() or ch == "+")
        if v.is_e164(text) and text not in out:
            out.append(text)
    return out


def credited_call(item: Destination, deal: Deal) -> str | None:
    """The first call we sent to this CRM from the deal's numbers in the window before its change."""
    until = deal.changed_at_ms + 1
    best: tuple[int, str] | None = None
    for number in _numbers(deal):
        for c in calls_store.earlier_of_caller(number, until, limit=50):
            started = int(c.started_at or 0)
            if started < until - WINDOW_MS:
                continue
            sent = any(d == item.id and s.get("status") == "sent" for d, _, s in store.call_states(c.call_sid))
            if sent and (best is None or started < best[0]):
                best = (started, c.call_sid)
    return best[1] if best else None


def apply(item: Destination, deal: Deal, now: int) -> str:
    """Give the deal's result to its credited call, once; the words for the log."""
    result = result_of(item, deal)
    if result is None:
        return f"{_name(deal)}: stage {deal.stage} is not a result yet"
    outcome, revenue = result
    sid = credited_call(item, deal)
    if sid is None:
        return f"{_name(deal)}: none of its contacts' calls were sent to this CRM in the 90 days before it"
    rule = f"deal:{deal.id}"
    cid = event_id(sid, "crm-result", f"{item.id}|{deal.id}|{outcome}|{revenue}")
    got = events_store.claim_delivery(cid, CLAIMER, now, claim_ms=60_000, keep_days=KEEP_DAYS)
    if got != "claimed":
        return f"{_name(deal)}: already given to call {sid}"
    try:
        words = _write(item, deal, sid, outcome, revenue, rule, now)
    except Exception as exc:
        events_store.release_delivery(cid, CLAIMER, now, repr(exc)[:300])
        raise
    events_store.finish_delivery(cid, CLAIMER)
    return words


def _write(item: Destination, deal: Deal, sid: str, outcome: str, revenue: Decimal | None, rule: str, now: int) -> str:
    current = calls.to_dict(calls.load(sid))
    before = store.get_state(sid, item.id, rule)
    if before is not None and (current.get("outcome"), _text(current.get("revenue"))) != (
        before.get("outcome"),
        before.get("revenue"),
    ):
        words = f"{_name(deal)} ({deal.stage}): call {sid} was changed by hand since our last write; left as it is"
        _log(item, sid, rule, now, "final", words, outcome, revenue)
        return words
    body: dict[str, Any] = {"outcome": outcome}
    if revenue is not None:
        body["revenue"] = str(revenue)
    outcomes.set_outcome(sid, body, ctx=SYSTEM)
    after = calls.to_dict(calls.load(sid))
    store.put_state(
        sid,
        item.id,
        rule,
        {"status": "result", "outcome": after.get("outcome"), "revenue": _text(after.get("revenue")), "at": now},
        now_ms=now,
        keep_days=KEEP_DAYS,
    )
    words = f"{_name(deal)} ({deal.stage}) gave call {sid} the outcome {outcome}" + (
        f" and revenue {revenue}" if revenue is not None else ""
    )
    _log(item, sid, rule, now, "sent", words, outcome, revenue)
    return words


def _name(deal: Deal) -> str:
    return f"lead {deal.id.removeprefix('lead-')}" if deal.kind == "lead" else f"deal {deal.id}"


def _text(value: Any) -> str | None:
    return None if value is None else str(Decimal(str(value)).quantize(Decimal("0.01")))


def _log(
    item: Destination, sid: str, rule: str, now: int, result: str, words: str, outcome: str, revenue: Decimal | None
) -> None:
    store.log(
        item.id,
        sid,
        rule,
        now,
        secrets.token_hex(3),
        {
            "at": now,
            "call_sid": sid,
            "rule_id": rule,
            "action": "result back",
            "kind": outcome,
            "attempt": 1,
            "result": result,
            "reason": words,
            "value": float(revenue) if revenue is not None else None,
            "currency": None,
            "sent": "",
            "answer": "",
            "status": None,
        },
        keep_days=destinations.LOG_DAYS,
    )

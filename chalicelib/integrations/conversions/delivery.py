"""Sending calls as conversions: exactly once per (call, destination, rule), later, adjusted, backfilled.

* The ``conversions`` subscriber (call.completed, call.updated; gated: no active destination, no
  message) queues one message per active destination, ``conversion:<destination id>``.
* ``deliver`` applies the destination's rules to the call. Each (call, destination, rule) is
  claimed through the events' claims (``store.events.claim_delivery``) under an id made from
  that triple, so duplicated and reordered stream records, a call.completed and the call.updated
  that set its outcome, and a backfill all send it once. An adjustment (a new value, a
  retraction) is claimed under the triple plus what it says, so each is sent once too.
* A platform's ``later`` (too early) goes to the later queue, run by the ``conversions_later``
  schedule at the time named; ``final`` is logged and never retried; ``transient`` releases the
  claim and the SQS delivery tries again, counting tries in the call's state: past
  ``CONVERSIONS_RETRY_SECONDS`` it is logged as given up and the destination is marked stuck
  (the alerts' ``events_stuck``). Dead credentials disable the destination.
* The backfill (``conversions_backfill``) walks a new destination's past calls a page at a time
  from a stored cursor.
"""

from __future__ import annotations

import secrets as token
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from chalicelib import calls
from chalicelib.core import clock
from chalicelib.core.observability import logger
from chalicelib.events import bus
from chalicelib.events import delivery as event_delivery
from chalicelib.events.model import Event, event_id
from chalicelib.integrations.conversions import destinations, platforms, rules
from chalicelib.integrations.conversions import settings as conv_settings
from chalicelib.integrations.conversions.platform import (
    DAY_MS,
    AdjustmentKind,
    Conversion,
    DisableDestination,
    Outcome,
    window_ms,
)
from chalicelib.store import calls as calls_store
from chalicelib.store import conversions as store
from chalicelib.store import events as events_store
from chalicelib.store.conversions import Destination

SUBSCRIBER_PREFIX = "conversion:"
CLAIMER = "conversions"
CLAIM_MS = 15 * 60 * 1000
TYPES = ("call.completed", "call.updated")
BACKFILL_PAGE = 50
BACKFILL_PAGES_PER_RUN = 20


class Transient(Exception):
    """Some conversions failed for a passing reason: the SQS delivery tries again."""


# --- the subscriber --------------------------------------------------------------------------------


def active(items: list[Destination] | None = None) -> list[Destination]:
    found = store.list_destinations() if items is None else items
    return [
        d
        for d in found
        if d.data.get("enabled")
        and not d.data.get("paused")
        and any(r.get("enabled", True) for r in d.data.get("rules", []))
    ]


def wanted_types() -> set[str]:
    """The gate: no active destination, no message."""
    return set(TYPES) if active() else set()


def on_event(event: Event) -> None:
    if event.type not in TYPES:
        return
    # A completed call goes only where some rule takes it; an update anywhere active (it may set
    # an outcome a rule waits for, or change what was sent).
    wanted = [
        d.id
        for d in active()
        if event.type == "call.updated" or any(rules.why_not(r, event.call) is None for r in d.data.get("rules", []))
    ]
    if wanted:
        bus.publish_to(event, [SUBSCRIBER_PREFIX + d for d in wanted])


def deliver(event: Event, member: str) -> None:
    """The ``conversion:<destination id>`` subscriber."""
    item = store.get_destination(member)
    if item is None or not item.data.get("enabled") or item.data.get("paused"):
        return
    failed = process_call(item, event.call, clock.now_ms(), event=event)
    if failed:
        raise Transient(f"{len(failed)} conversion(s) for {member} failed for now: {failed[0]}")


# --- one call for one destination ---------------------------------------------------------------------


def claim_id(call_sid: str, destination_id: str, rule_id: str, kind: str = "none", what: str = "") -> str:
    return event_id(call_sid, "conversion", f"{destination_id}|{rule_id}|{kind}|{what}")


def _keep_days(item: Destination) -> float:
    return window_ms(platforms.get(item.data["platform"]), item.data.get("settings")) / DAY_MS + 14


def _plan(
    item: Destination, call: dict[str, Any], now: int, event: Event | None
) -> list[tuple[Conversion, str, dict[str, Any] | None]]:
    """What to send now for ``call``: (conversion, claim id, its state before), each claimed.

    A first send may come from any event (the call as it was then must match the rule). An
    adjustment only from a ``call.updated`` at least as new as what was sent (or from the call
    as stored now, for the background jobs): a late, reordered ``call.completed`` never
    restates or retracts what a newer update sent.
    """
    out = []
    for rule in item.data.get("rules", []):
        if not rule.get("enabled", True):
            continue
        state = store.get_state(call["sid"], item.id, rule["id"])
        reason = rules.why_not(rule, call)
        status = (state or {}).get("status")
        kind: AdjustmentKind = "none"
        what = ""
        previous = None
        if status in (None, "skipped", "retrying"):
            if reason:
                continue
        elif status == "sent" and state is not None:
            if event is not None and (
                event.type != "call.updated" or event.occurred_at < int(state.get("basis_at") or 0)
            ):
                continue
            previous = state.get("value") if state else None
            if reason:
                kind, what = "retraction", "retract"
            else:
                value = rules.value_of(rule, call)
                if value == previous:
                    continue
                kind, what = "restatement", repr(value)
        elif status == "retracted" and not reason:
            continue  # a withdrawn conversion is not sent again (the platform would call it a duplicate)
        else:
            continue  # later (the schedule has it), final, failed, retracted: nothing now
        attempt = int((state or {}).get("attempts", 0)) + 1 if status in (None, "skipped", "retrying") else 1
        cid = claim_id(call["sid"], item.id, rule["id"], kind, what)
        got = events_store.claim_delivery(cid, CLAIMER, now, claim_ms=CLAIM_MS, keep_days=_keep_days(item))
        if got == "done":
            continue
        if got == "busy":
            raise event_delivery.RetryIn(f"another copy is sending {call['sid']} to {item.id}", 60)
        conv = rules.conversion(call, item.id, rule, adjustment=kind, previous_value=previous, attempt=attempt)
        out.append((conv, cid, state))
    return out


def process_call(
    item: Destination, call: dict[str, Any], now: int, *, event: Event | None = None, in_background: bool = False
) -> list[str]:
    """Send what ``call`` owes ``item``; the reasons of those that failed for now (to be tried again).
    ``event``: the call event it comes from (None: the call as stored now)."""
    if not call.get("sid"):
        return []
    planned = _plan(item, call, now, event)
    basis = event.occurred_at if event is not None else now
    planned = [(c, cid, {**(st or {}), "basis_at": basis}) for c, cid, st in planned]
    return send_planned(item, planned, now, in_background=in_background)


def send_planned(
    item: Destination, planned: list[tuple[Conversion, str, dict[str, Any] | None]], now: int, *, in_background: bool
) -> list[str]:
    if not planned:
        return []
    platform = platforms.get(item.data["platform"])
    settings = item.data.get("settings", {})
    to_send: list[tuple[Conversion, str]] = []
    basis = {cid: (before or {}).get("basis_at") for _, cid, before in planned}
    for conv, cid, _ in planned:
        why = platform.why_not(conv, now, settings)
        if why is None and conv.adjustment != "none" and not platform.takes_adjustments:
            why = f"{platform.title} takes no adjustments: the {conv.adjustment} was not sent"
        if why:
            _record(
                item, conv, cid, Outcome("final", why), now, status="not_sent" if conv.adjustment == "none" else None
            )
        else:
            to_send.append((conv, cid))
    every = int(getattr(platform, "send_every_minutes", 0) or 0)
    if every and not in_background:  # a platform that takes files (Metrica): the later queue sends them in batches
        slot = (now // (every * 60_000) + 1) * every * 60_000
        why = f"waiting for the next file to {platform.title} (one every {every} minutes)"
        for conv, cid in to_send:
            _record(item, conv, cid, Outcome.later(slot, why), now, basis=basis.get(cid))
        return []
    if getattr(platform, "crm", False):
        files = bool(getattr(platform, "takes_recordings", False))
        to_send = [(_with_recording(conv, files=files), cid) for conv, cid in to_send]
    failed: list[str] = []
    for start in range(0, len(to_send), max(1, platform.batch_size)):
        batch = to_send[start : start + platform.batch_size]
        outcomes = _send(item, [c for c, _ in batch], now)
        for (conv, cid), outcome in zip(batch, outcomes, strict=True):
            if outcome.kind == "transient":
                failed += _transient(item, conv, cid, outcome, now, in_background=in_background)
            else:
                _record(item, conv, cid, outcome, now, basis=basis.get(cid))
    return failed


def _with_recording(conv: Conversion, *, files: bool) -> Conversion:
    """The conversion with a signed player link to its call's recording (what a CRM's users click) and,
    for a CRM that keeps a copy (``files``), a presigned URL of the archived file."""
    if not conv.crm.recorded:
        return conv
    # Loaded here, for the CRM platforms only: the ad platforms' sends never load them.
    from chalicelib.recordings import playback, shared

    try:
        player = shared.link(conv.call_sid)
    except Exception as exc:  # the key ring unreadable now: the call goes with its dashboard link only
        logger.warning("no player link for a CRM", call_sid=conv.call_sid, error=repr(exc)[:200])
        player = None
    url = None
    if files:
        try:
            url = str(playback.link(conv.call_sid)["url"])
        except Exception as exc:  # not archived and not copyable now: the call goes without its file
            logger.warning("no recording link for a CRM", call_sid=conv.call_sid, error=repr(exc)[:200])
    return replace(conv, crm=replace(conv.crm, recording_url=url, player_link=player))


def _send(item: Destination, batch: Sequence[Conversion], now: int) -> list[Outcome]:
    platform = platforms.get(item.data["platform"])
    try:
        outcomes = platform.send(destinations.for_platform(item), batch, now)
    except DisableDestination as exc:
        destinations.disable(item.id, str(exc))
        destinations.note_stuck(item.id, f"disabled: {exc}", now)
        return [Outcome.transient(f"the destination was disabled: {exc}") for _ in batch]
    except Exception as exc:
        logger.warning("conversion send failed", destination_id=item.id, error=repr(exc)[:300])
        return [Outcome.transient(f"{type(exc).__name__}: {exc}"[:300]) for _ in batch]
    if len(outcomes) != len(batch):
        return [
            Outcome.transient(f"{platform.title} client answered {len(outcomes)} outcomes for {len(batch)}")
            for _ in batch
        ]
    return outcomes


def _state(conv: Conversion, outcome: Outcome, now: int, status: str, **extra: Any) -> dict[str, Any]:
    return {
        "status": status,
        "reason": outcome.reason,
        "code": outcome.code,
        "value": conv.value,
        "currency": conv.currency,
        "action": conv.action,
        "at": now,
        **extra,
    }


def _record(
    item: Destination,
    conv: Conversion,
    cid: str,
    outcome: Outcome,
    now: int,
    *,
    status: str | None = None,
    basis: int | None = None,
) -> None:
    """Keep what became of a conversion, log it, free its claim for good."""
    keep = _keep_days(item)
    if outcome.kind == "sent":
        state = _state(
            conv,
            outcome,
            now,
            "retracted" if conv.adjustment == "retraction" else "sent",
            basis_at=basis if basis is not None else now,
        )
        store.put_state(conv.call_sid, item.id, conv.rule_id, state, now_ms=now, keep_days=keep)
        if outcome.ref and hasattr(platforms.get(item.data["platform"]), "check"):
            # An upload the platform processes later (Metrica): the later queue reads its result back.
            due = outcome.retry_at_ms or now + later_delay_ms(1)
            store.add_later(
                due, item.id, conv.call_sid, conv.rule_id, {"check": outcome.ref, "tries": 1}, keep_days=keep
            )
    elif outcome.kind == "later":
        due = outcome.retry_at_ms or now + conv_settings.get().conversions_later_seconds[0] * 1000
        store.put_state(
            conv.call_sid,
            item.id,
            conv.rule_id,
            _state(conv, outcome, now, "later", due=due, kind=conv.adjustment, tries=conv.attempt),
            now_ms=now,
            keep_days=keep,
        )
        store.add_later(
            due,
            item.id,
            conv.call_sid,
            conv.rule_id,
            {"kind": conv.adjustment, "tries": conv.attempt, "value": conv.previous_value},
            keep_days=keep,
        )
    elif conv.adjustment == "none":  # final: never sent, never tried again
        store.put_state(
            conv.call_sid,
            item.id,
            conv.rule_id,
            _state(conv, outcome, now, status or "final"),
            now_ms=now,
            keep_days=keep,
        )
    # a refused adjustment leaves the conversion as it was sent; the log says why
    _log(item, conv, outcome, now)
    events_store.finish_delivery(cid, CLAIMER)


def _transient(
    item: Destination, conv: Conversion, cid: str, outcome: Outcome, now: int, *, in_background: bool
) -> list[str]:
    delays = conv_settings.get().conversions_retry_seconds
    tries = conv.attempt
    keep = _keep_days(item)
    if tries > len(delays):
        given_up = Outcome(
            "final",
            f"given up after {tries} tries: {outcome.reason}",
            code=outcome.code,
            sent=outcome.sent,
            answer=outcome.answer,
            status=outcome.status,
        )
        if conv.adjustment == "none":
            store.put_state(
                conv.call_sid, item.id, conv.rule_id, _state(conv, given_up, now, "failed"), now_ms=now, keep_days=keep
            )
        _log(item, conv, given_up, now)
        events_store.finish_delivery(cid, CLAIMER)
        destinations.note_stuck(item.id, given_up.reason, now)
        return []
    if conv.adjustment == "none":
        store.put_state(
            conv.call_sid,
            item.id,
            conv.rule_id,
            _state(conv, outcome, now, "retrying", attempts=tries),
            now_ms=now,
            keep_days=keep,
        )
    _log(item, conv, outcome, now)
    if in_background:  # no SQS message to retry: the later queue tries again
        events_store.finish_delivery(cid, CLAIMER)
        due = now + delays[min(tries, len(delays)) - 1] * 1000
        store.add_later(
            due,
            item.id,
            conv.call_sid,
            conv.rule_id,
            {"kind": conv.adjustment, "tries": tries, "value": conv.previous_value, "transient": True},
            keep_days=keep,
        )
        return []
    events_store.release_delivery(cid, CLAIMER, now, outcome.reason[:300])
    return [outcome.reason]


def _log(item: Destination, conv: Conversion, outcome: Outcome, now: int) -> None:
    store.log(
        item.id,
        conv.call_sid,
        conv.rule_id,
        now,
        token.token_hex(3),
        {
            "at": now,
            "call_sid": conv.call_sid,
            "rule_id": conv.rule_id,
            "action": conv.action,
            "kind": conv.adjustment,
            "attempt": conv.attempt,
            "result": outcome.kind,
            "reason": outcome.reason,
            "code": outcome.code,
            "retry_at": clock.iso(outcome.retry_at_ms),
            "value": conv.value,
            "currency": conv.currency,
            "sent": outcome.sent[:4000],
            "answer": outcome.answer[:4000],
            "status": outcome.status,
        },
        keep_days=destinations.LOG_DAYS,
    )


# --- the later queue (schedule) -------------------------------------------------------------------


def run_later(now_ms: int | None = None, limit: int = 100) -> dict[str, int]:
    """Send what is due from the later queue (each taken once), by destination."""
    now = clock.now_ms() if now_ms is None else now_ms
    counts = {"due": 0, "sent": 0, "pushed": 0}
    planned: dict[str, tuple[Destination, list[tuple[Conversion, str, dict[str, Any] | None]]]] = {}
    checked: dict[tuple[str, str], Outcome] = {}  # one read per upload and run, however many calls it holds
    for due in store.due_later(now, limit):
        counts["due"] += 1
        item = store.get_destination(due.destination_id)
        if item is not None and (not item.data.get("enabled") or item.data.get("paused")):
            continue  # paused: kept in the queue until switched on again
        if not store.take_later(due.sk):
            continue
        if item is None:
            continue
        if due.data.get("check"):
            _check(item, due.call_sid, due.rule_id, due.data, now, checked)
            continue
        record = calls_store.get(due.call_sid)
        rule = next((r for r in item.data.get("rules", []) if r["id"] == due.rule_id), None)
        if record is None or rule is None:
            continue
        call = calls.to_dict(record)
        kind = due.data.get("kind", "none")
        tries = int(due.data.get("tries", 1)) + 1
        later_delays = conv_settings.get().conversions_later_seconds
        if not due.data.get("transient") and tries > len(later_delays) + 1:
            conv = rules.conversion(call, item.id, rule, adjustment=kind, attempt=tries)
            _record_final(item, conv, f"still too early after {tries - 1} tries", now)
            continue
        conv = rules.conversion(
            call, item.id, rule, adjustment=kind, previous_value=due.data.get("value"), attempt=tries
        )
        cid = claim_id(call["sid"], item.id, rule["id"], f"later-{kind}", str(tries))
        if events_store.claim_delivery(cid, CLAIMER, now, claim_ms=CLAIM_MS, keep_days=_keep_days(item)) != "claimed":
            continue
        # Sent together per destination, so a platform that takes files gets one per run, not one per call.
        planned.setdefault(item.id, (item, []))[1].append((conv, cid, None))
        counts["sent"] += 1
    for item, batch in planned.values():
        send_planned(item, batch, now, in_background=True)
    return counts


CHECK_TRIES = 12


def _check(
    item: Destination,
    call_sid: str,
    rule_id: str,
    data: dict[str, Any],
    now: int,
    checked: dict[tuple[str, str], Outcome],
) -> None:
    """Read back what the platform made of an upload (``Outcome.ref``): log it once it is processed or
    refused; ask again when it is still processing (at most ``CHECK_TRIES`` times)."""
    ref, tries = str(data["check"]), int(data.get("tries", 1))
    if (item.id, ref) not in checked:
        platform = platforms.get(item.data["platform"])
        try:
            checked[(item.id, ref)] = platform.check(destinations.for_platform(item), ref, now)  # type: ignore[attr-defined]
        except Exception as exc:  # whatever it was, the upload is still there: ask again later
            checked[(item.id, ref)] = Outcome.transient(f"{type(exc).__name__}: {exc}"[:300])
    outcome = checked[(item.id, ref)]
    if outcome.kind in ("later", "transient") and tries < CHECK_TRIES:
        due = outcome.retry_at_ms or now + later_delay_ms(tries)
        store.add_later(due, item.id, call_sid, rule_id, {"check": ref, "tries": tries + 1}, keep_days=_keep_days(item))
        return
    record = {"at": now, "call_sid": call_sid, "rule_id": rule_id, "kind": "check", "attempt": tries,
              "result": outcome.kind, "reason": outcome.reason, "code": outcome.code, "answer": outcome.answer[:4000],
              "status": outcome.status}  # fmt: skip
    store.log(item.id, call_sid, rule_id, now, token.token_hex(3), record, keep_days=destinations.LOG_DAYS)


def _record_final(item: Destination, conv: Conversion, reason: str, now: int) -> None:
    store.put_state(
        conv.call_sid,
        item.id,
        conv.rule_id,
        _state(conv, Outcome.final(reason), now, "final"),
        now_ms=now,
        keep_days=_keep_days(item),
    )
    _log(item, conv, Outcome.final(reason), now)


def later_delay_ms(tries: int) -> int:
    """The declared schedule's delay before try ``tries + 1`` (platforms that name no time use it)."""
    delays = conv_settings.get().conversions_later_seconds
    return delays[min(max(tries, 1), len(delays)) - 1] * 1000


# --- the backfill (schedule) ----------------------------------------------------------------------


def run_backfill(now_ms: int | None = None, pages: int = BACKFILL_PAGES_PER_RUN) -> dict[str, int]:
    """Walk each running backfill on from its cursor, ``pages`` pages at most this run."""
    now = clock.now_ms() if now_ms is None else now_ms
    done = {"calls": 0, "destinations": 0}
    for item in store.list_destinations():
        job = item.data.get("backfill") or {}
        if job.get("state") != "running" or not item.data.get("enabled") or item.data.get("paused"):
            continue
        done["destinations"] += 1
        done["calls"] += _backfill_one(item, job, now, pages)
    return done


def _backfill_one(item: Destination, job: dict[str, Any], now: int, pages: int) -> int:
    since, until = int(job["since_ms"]), int(job["until_ms"])
    months = job.get("months") or clock.months_desc(since, until)
    start_key = job.get("start_key")
    considered = int(job.get("considered", 0))
    seen = 0
    while months and pages > 0:
        found, start_key = calls_store.in_month(months[0], since, until, limit=BACKFILL_PAGE, start_key=start_key)
        for record in found:
            call = calls.to_dict(record)
            if calls.is_call(record) and record.status is not None and calls.is_final(record):
                process_call(item, call, now, in_background=True)
            seen += 1
        if start_key is None:
            months = months[1:]
        pages -= 1
        considered += len(found)
        job = {**job, "months": months, "start_key": start_key, "considered": considered}
        _save_job(item.id, job)
    if not months:
        _save_job(item.id, {**job, "state": "done", "start_key": None, "finished_at": now})
    return seen


def _save_job(destination_id: str, job: dict[str, Any]) -> None:
    current = store.get_destination(destination_id)
    if current is not None:
        store.save_destination(Destination(current.id, {**current.data, "backfill": job}))


def start_backfill(destination_id: str, days: int, *, now_ms: int | None = None) -> dict[str, Any]:
    """Send the last ``days`` days' eligible calls (within the window): a job; GET the destination follows it."""
    item = destinations.load(destination_id)
    now = clock.now_ms() if now_ms is None else now_ms
    window = window_ms(platforms.get(item.data["platform"]), item.data.get("settings"))
    since = max(now - days * DAY_MS, now - window)
    job = {"state": "running", "since_ms": since, "until_ms": now, "considered": 0}
    _save_job(item.id, job)
    return {"id": item.id, "backfill": {"state": "running", "since": clock.iso(since)}}

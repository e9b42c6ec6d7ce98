"""Bitrix24: each call registered through the telephony REST methods made for external call tracking.

The owner pastes an incoming webhook URL of its portal (``https://<portal>/rest/<user>/<code>/``,
scopes ``telephony`` and ``crm``), kept as an SSM SecureString. A method is ``POST <webhook
url><method>.json`` with a JSON body; Bitrix24 answers ``{"result": ..., "time": {...}}`` or
``{"error": "CODE", "error_description": "..."}``.

Per call, in order (names and parameters as Bitrix24's REST reference gives them):

1. ``telephony.externalcall.register``: ``USER_ID`` (the responsible user: the call's channel's
   or pool's, else the destination's default), ``PHONE_NUMBER`` (the caller), ``CALL_START_DATE``
   (ISO 8601 with offset), ``TYPE`` 2 (inbound), ``LINE_NUMBER`` (the tracking number),
   ``CRM_CREATE`` 1 (Bitrix24 finds the contact or lead by the number or makes a lead),
   ``CRM_SOURCE`` (the destination's source id, if set), ``SHOW`` 0 (no call card pops up: the call
   is over). Answers ``CALL_ID``, ``CRM_CREATED_LEAD``, ``CRM_ENTITY_TYPE``, ``CRM_ENTITY_ID``.
2. ``telephony.externalcall.finish``: ``CALL_ID``, ``USER_ID``, ``DURATION`` (seconds),
   ``STATUS_CODE`` (200 answered, 304 missed, 486 busy), ``ADD_TO_CHAT`` 0: the call goes to the
   entity's timeline as a "call" activity.
3. A lead Bitrix24 made for this call (``CRM_CREATED_LEAD``) gets the visit's utm fields and our
   source and link through ``crm.lead.update`` (``id``, ``fields``: ``UTM_SOURCE``,
   ``UTM_MEDIUM``, ``UTM_CAMPAIGN``, ``UTM_CONTENT``, ``UTM_TERM``, ``SOURCE_DESCRIPTION``).

Exactly once: the shared layer claims (call, destination, rule) once. ``register`` has no
idempotency key, but Bitrix24 documents that registering again with the same parameters before
``finish`` answers the same ``CALL_ID`` for 30 minutes: a send cut by a timeout between register
and finish, tried again by the SQS schedule (first retry after 60 s), finds its own call. A retry
(``conv.attempt`` > 1) first looks for our own marker, the caller's number at our start time to
the second, among the portal's finished calls (``voximplant.statistic.get``, ``logged_before``):
a call whose ``finish`` was done but whose answer was lost is found and not logged again. Only a
webhook whose user may not read the call statistics (the lookup refused) registers again:
at-least-once there, said in the README.

Rate: Bitrix24 allows about 2 requests a second per portal and answers ``QUERY_LIMIT_EXCEEDED``
(HTTP 503, no ``Retry-After``): requests are paced ``PACE_SECONDS`` apart and a refused one is
tried again after ``BACKOFF_SECONDS`` (twice), then left to the SQS retries. A dead webhook
(``INVALID_CREDENTIALS``, ``NO_AUTH_FOUND``, HTTP 401) disables the destination with an alert.

4. A recorded call's file: ``telephony.externalCall.attachRecord`` (``CALL_ID``, ``FILENAME``
   ``<call sid>.wav``, ``FILE_CONTENT`` base64), read from our archive through a presigned URL the
   shared layer gives (``takes_recordings``; never Twilio's media URL). ``RECORD_URL`` is deprecated
   and fails silently, so it is never used. The copy then lives in the portal (the erasure export
   says so). A file over ``MAX_RECORDING_BYTES`` or one that cannot be read now is left out, said
   in the outcome's words: the call is logged all the same, and the lead's ``SOURCE_DESCRIPTION``
   carries the signed player link (``recordings/shared.py``: no sign-in, expires after
   ``RECORDING_LINK_DAYS``), where it plays.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from chalicelib.core import clock
from chalicelib.integrations import outbound
from chalicelib.integrations.conversions import crm_common as common
from chalicelib.integrations.conversions import sending
from chalicelib.integrations.conversions.platform import (
    Conversion,
    CrmCall,
    Destination,
    DisableDestination,
    Outcome,
    TestResult,
)

TIMEOUT_SECONDS = 8.0
MAX_RECORDING_BYTES = 4_000_000  # base64 grows it by a third; a long WAV stays on our page
PACE_SECONDS = 0.5  # about 2 requests a second per portal
BACKOFF_SECONDS = (1.0, 2.0)  # after QUERY_LIMIT_EXCEEDED
_WEBHOOK = re.compile(r"/rest/\d{1,10}/[A-Za-z0-9]{6,64}/?")
_DEAD = {
    "INVALID_CREDENTIALS",
    "NO_AUTH_FOUND",
    "expired_token",
    "invalid_token",
    "WRONG_AUTH_TYPE",
    "insufficient_scope",
}
_LIMIT = {"QUERY_LIMIT_EXCEEDED", "OPERATION_TIME_LIMIT"}
_UTM = {
    "utm_source": "UTM_SOURCE",
    "utm_medium": "UTM_MEDIUM",
    "utm_campaign": "UTM_CAMPAIGN",
    "utm_content": "UTM_CONTENT",
    "utm_term": "UTM_TERM",
}
_SOURCE_ID = re.compile(r"[A-Za-z0-9_|.-]{1,50}")
_STAGE = re.compile(r"[A-Za-z0-9_:.-]{1,50}")


def _sleep(seconds: float) -> None:  # tests set PACE_SECONDS / BACKOFF_SECONDS to 0
    if seconds > 0:
        time.sleep(seconds)


def webhook_url(raw: str, *, local: bool) -> str:
    """The pasted incoming webhook, normalised to end in ``/``; ``DisableDestination`` if it is not one."""
    url = (raw or "").strip()
    parts = urlsplit(url)
    ok_scheme = parts.scheme == "https" or (local and parts.scheme == "http")
    if not ok_scheme or not parts.hostname or not _WEBHOOK.fullmatch(parts.path) or parts.query:
        raise DisableDestination(
            "the Bitrix24 webhook is not an incoming webhook URL like https://<portal>.bitrix24.com/rest/1/abc123def/"
        )
    return url if url.endswith("/") else url + "/"


def stages(raw: object, name: str) -> list[str]:
    return common.stage_ids(raw, name, _STAGE, "a Bitrix24 stage id like WON or C1:WON")


class Bitrix24Platform:
    name = "bitrix24"
    title = "Bitrix24"
    window_days = 90  # a CRM takes calls of any age; the backfill never reaches further
    batch_size = 1  # three requests per call
    credential_fields: tuple[str, ...] = ("webhook_url",)
    setting_fields: tuple[str, ...] = (
        "user_id",
        "users",
        "crm_source",
        "won_stages",
        "lost_stages",
        "won_lead_statuses",
        "lost_lead_statuses",
    )
    takes_static_calls = True
    takes_adjustments = False
    takes_recordings = True  # the shared layer fills ``conv.crm.recording_url``
    crm = True  # first-party: every call (a rule with answered off), results read back by chalicelib.integrations.crm

    def check_settings(self, settings: Mapping[str, object]) -> dict[str, object]:
        user = str(settings.get("user_id") or "").strip()
        if not user.isdigit() or len(user) > 10:
            raise ValueError(
                "'user_id' must be the number of the Bitrix24 user who gets calls by default (Employees → profile URL)"
            )
        out: dict[str, object] = {
            "user_id": user,
            "users": common.users_text(common.parse_users(settings.get("users"), numeric=True)),
        }
        source = str(settings.get("crm_source") or "").strip()
        if source:
            if not _SOURCE_ID.fullmatch(source):
                raise ValueError("'crm_source' must be a Bitrix24 source id like CALL or WEB")
            out["crm_source"] = source
        out["won_stages"] = ", ".join(stages(settings.get("won_stages") or "WON", "won_stages"))
        out["lost_stages"] = ", ".join(stages(settings.get("lost_stages") or "LOSE", "lost_stages"))
        # Leads by status: off unless the owner names statuses (a lead converted into a deal would
        # otherwise count twice: its deal's result comes back by stage).
        for name in ("won_lead_statuses", "lost_lead_statuses"):
            chosen = stages(settings.get(name) or "", name)
            if chosen:
                out[name] = ", ".join(chosen)
        both = set(stages(out.get("won_lead_statuses") or "", "x")) & set(
            stages(out.get("lost_lead_statuses") or "", "x")
        )
        if both:
            raise ValueError(f"'lost_lead_statuses': {sorted(both)[0]} is also a won lead status")
        return out

    def check_action(self, action: str, settings: Mapping[str, object]) -> str | None:
        return None if action in ("call", "lead") else "a Bitrix24 rule's action is 'call' (registered in the timeline)"

    def why_not(self, conversion: Conversion, now_ms: int, settings: Mapping[str, object]) -> str | None:
        if not conversion.crm.caller:
            return "the caller's number is hidden: Bitrix24 finds and makes contacts by number"
        return None

    # --- sending ----------------------------------------------------------------------------------

    def send(self, destination: Destination, batch: Sequence[Conversion], now_ms: int) -> list[Outcome]:
        return [self._one(destination, c) for c in batch]

    def _one(self, destination: Destination, conv: Conversion) -> Outcome:
        call = conv.crm
        user = common.responsible(destination.settings, call.channel_id, call.pool_id) or "1"
        log: list[str] = []
        try:
            earlier = self.logged_before(destination, conv, log) if conv.attempt > 1 else None
            if earlier:
                words = (
                    f"Bitrix24 already has this call ({earlier}): an earlier try's answer was lost; not logged twice"
                )
                return Outcome.ok(words, sent="\n".join(log), status=200, ref=f"call:{earlier}")
            reg = self.call(
                destination, "telephony.externalcall.register", register_params(conv, destination.settings, user), log
            )
            if not isinstance(reg, dict) or not reg.get("CALL_ID"):
                return Outcome.transient("Bitrix24 registered no call id", sent="\n".join(log))
            finish = {
                "CALL_ID": str(reg["CALL_ID"]),
                "USER_ID": int(user),
                "DURATION": call.duration_seconds,
                "STATUS_CODE": status_code(conv),
                "ADD_TO_CHAT": 0,
            }
            self.call(destination, "telephony.externalcall.finish", finish, log)
            lead = reg.get("CRM_CREATED_LEAD")
            if lead:
                self.call(destination, "crm.lead.update", {"id": int(lead), "fields": lead_fields(call)}, log)
            record_words = self._attach(destination, conv, str(reg["CALL_ID"]), log)
        except sending.Failed as exc:  # the rate limit, 429 and 5xx transient; other refusals final (sending.py)
            return replace(exc.outcome, sent="\n".join(log))
        where = f"{reg.get('CRM_ENTITY_TYPE') or 'entity'} {reg.get('CRM_ENTITY_ID') or ''}".strip()
        words = f"Bitrix24 logged the call on {where}" + (" (a new lead)" if lead else "") + record_words
        return Outcome.ok(
            words,
            sent="\n".join(log),
            answer=common.dumps(reg)[: common.ANSWER_CHARS],
            status=200,
            ref=f"{reg.get('CRM_ENTITY_TYPE')}:{reg.get('CRM_ENTITY_ID')}",
        )

    def logged_before(self, destination: Destination, conv: Conversion, log: list[str]) -> str | None:
        """On a retry, our own call in the portal's call statistics, if an earlier try logged it and its answer
        was lost: ``voximplant.statistic.get`` (externally registered calls are listed there once finished)
        filtered by the caller's number and our start time to the second, which together are our marker.
        The ``CALL_ID`` found, or None (none, or the webhook's user may not read the statistics: then the
        call is registered again, at-least-once)."""
        start = conv.occurred_at_ms
        params = {
            "FILTER": {
                "PHONE_NUMBER": conv.crm.caller,
                ">=CALL_START_DATE": clock.iso(start - 1000),
                "<=CALL_START_DATE": clock.iso(start + 1000),
            },
            "SORT": "CALL_START_DATE",
            "ORDER": "ASC",
        }
        try:
            found = self.call(destination, "voximplant.statistic.get", params, log)
        except sending.Failed:
            return None
        for row in found if isinstance(found, list) else []:
            if isinstance(row, dict) and row.get("CALL_ID") and row.get("CALL_FAILED_CODE"):
                return str(row["CALL_ID"])
        return None

    def _attach(self, destination: Destination, conv: Conversion, call_id: str, log: list[str]) -> str:
        """Attach the recording's file; words for the outcome ("" when there is none)."""
        url = conv.crm.recording_url
        if not url:
            return ""
        try:
            got = outbound.request(
                "GET", url, timeout=TIMEOUT_SECONDS, allow_loopback=destination.local, max_bytes=MAX_RECORDING_BYTES + 1
            )
        except OSError as exc:
            return f"; the recording could not be read now ({type(exc).__name__}): not attached"
        if got.status != 200:
            return f"; the recording could not be read now (HTTP {got.status}): not attached"
        if len(got.body) > MAX_RECORDING_BYTES:
            return "; the recording is too long to attach: it plays through the signed link in the lead"
        params = {
            "CALL_ID": call_id,
            "FILENAME": f"{conv.call_sid}.wav",
            "FILE_CONTENT": base64.b64encode(got.body).decode(),
        }
        self.call(destination, "telephony.externalCall.attachRecord", params, log)
        return "; recording attached"

    def call(self, destination: Destination, method: str, params: dict[str, Any], log: list[str]) -> Any:
        """One REST method; its ``result``, or ``sending.Failed`` (``sending.Dead``) in words. Paced, and retried
        on the rate limit."""
        base = webhook_url(destination.credentials.get("webhook_url") or "", local=destination.local)
        body = json.dumps(params, separators=(",", ":")).encode()
        shown = {k: (f"<{len(v)} base64 characters>" if k == "FILE_CONTENT" else v) for k, v in params.items()}
        log.append(f"{method} {common.dumps(shown)}")
        request = sending.JsonRequest(
            "Bitrix24",
            "POST",
            f"{base}{method}.json",
            {"Content-Type": "application/json", "Accept": "application/json"},
            body=body,
            timeout=TIMEOUT_SECONDS,
            words=lambda data, status: (
                f"Bitrix24 {method}: {data.get('error_description') or data.get('error') or f'HTTP {status}'}"
            ),
            code=lambda data: str(data.get("error") or "") or None,
            dead=lambda data, status: status == 401 or str(data.get("error") or "") in _DEAD,
            dead_words="refused the webhook",
            passing=lambda data, status: str(data.get("error") or "") in _LIMIT,
            ok=lambda data, status: "error" not in data,
        )
        for attempt, pause in enumerate((0.0, *BACKOFF_SECONDS)):
            _sleep(pause or (PACE_SECONDS if log[:-1] else 0.0))
            reply = sending.send_json(destination, request)
            if reply.outcome.code in _LIMIT and attempt < len(BACKOFF_SECONDS):
                continue
            return sending.expect(reply).get("result")
        raise AssertionError("unreachable")

    # --- results back: deals --------------------------------------------------------------------

    def read_deals(
        self, destination: Destination, cursor: str | None, now_ms: int
    ) -> tuple[list[common.Deal], str | None]:
        """Deals modified since the cursor and, when the owner chose lead statuses, leads too; the new
        cursor (``<deals' last DATE_MODIFY>|<leads' last DATE_MODIFY>``; a cursor without ``|`` is
        the deals' alone, as stored before leads were read)."""
        deals_from, _, leads_from = (cursor or "").partition("|")
        # (a dead webhook raises sending.Dead: the results side disables the destination)
        deals, deal_cursor = self._deals(destination, deals_from or None, now_ms)
        settings = destination.settings
        statuses = common.stage_list(settings.get("won_lead_statuses")) + common.stage_list(
            settings.get("lost_lead_statuses")
        )
        leads: list[common.Deal] = []
        lead_cursor = leads_from or None
        if statuses:
            leads, lead_cursor = self._leads(destination, lead_cursor, statuses, now_ms)
        if not lead_cursor:
            return deals, deal_cursor
        return deals + leads, f"{deal_cursor or ''}|{lead_cursor}"

    def _deals(self, destination: Destination, since: str | None, now_ms: int) -> tuple[list[common.Deal], str | None]:
        """``crm.deal.list`` with ``filter`` ``>DATE_MODIFY``, ``order`` by it, ``select`` the stage, amount
        and contact (50 a page), each with its contact's phones (``crm.contact.get``)."""
        params = {
            "filter": {">DATE_MODIFY": since or clock.iso(now_ms - 86_400_000)},
            "order": {"DATE_MODIFY": "ASC"},
            "select": ["ID", "STAGE_ID", "OPPORTUNITY", "CURRENCY_ID", "CONTACT_ID", "DATE_MODIFY"],
            "start": 0,
        }
        log: list[str] = []
        found = self.call(destination, "crm.deal.list", params, log)
        deals: list[common.Deal] = []
        last = since
        for raw in found if isinstance(found, list) else []:
            phones: list[str] = []
            contact = raw.get("CONTACT_ID")
            if contact:
                got = self.call(destination, "crm.contact.get", {"id": int(contact)}, log)
                phones = _phones((got or {}).get("PHONE"))
            modified = str(raw.get("DATE_MODIFY") or "")
            deals.append(
                common.Deal(
                    str(raw.get("ID")),
                    str(raw.get("STAGE_ID") or ""),
                    raw.get("OPPORTUNITY"),
                    _changed(modified, now_ms),
                    tuple(phones),
                )
            )
            last = modified or last
        return deals, last

    def _leads(
        self, destination: Destination, since: str | None, statuses: list[str], now_ms: int
    ) -> tuple[list[common.Deal], str | None]:
        """``crm.lead.list`` filtered by ``>DATE_MODIFY`` and ``@STATUS_ID`` (the chosen won and lost
        statuses), ``order`` by ``DATE_MODIFY``, ``select`` the status, amount and ``PHONE`` (a multiple
        field: named, or it is not returned); the lead's own phones credit the call."""
        params = {
            "filter": {">DATE_MODIFY": since or clock.iso(now_ms - 86_400_000), "@STATUS_ID": statuses},
            "order": {"DATE_MODIFY": "ASC"},
            "select": ["ID", "STATUS_ID", "OPPORTUNITY", "CURRENCY_ID", "DATE_MODIFY", "PHONE"],
            "start": 0,
        }
        found = self.call(destination, "crm.lead.list", params, [])
        leads: list[common.Deal] = []
        last = since
        for raw in found if isinstance(found, list) else []:
            modified = str(raw.get("DATE_MODIFY") or "")
            leads.append(
                common.Deal(
                    f"lead-{raw.get('ID')}",
                    str(raw.get("STATUS_ID") or ""),
                    raw.get("OPPORTUNITY"),
                    _changed(modified, now_ms),
                    tuple(_phones(raw.get("PHONE"))),
                    kind="lead",
                )
            )
            last = modified or last
        return leads, last

    def send_test(self, destination: Destination, now_ms: int) -> TestResult:
        """A harmless read: ``telephony.externalLine.get`` (the portal's lines; needs the telephony scope)."""
        log: list[str] = []
        try:
            got = self.call(destination, "telephony.externalLine.get", {}, log)
        except (sending.Failed, sending.Dead) as exc:
            o = exc.outcome
            return TestResult(False, (o.reason,), sent="\n".join(log), answer=o.answer, status=o.status)
        except DisableDestination as exc:
            return TestResult(False, (str(exc),))
        lines = len(got) if isinstance(got, list) else 0
        return TestResult(
            True,
            (f"the webhook works: the portal answered with {lines} external line(s)",),
            sent="\n".join(log),
            answer=common.dumps(got)[: common.ANSWER_CHARS],
            status=200,
        )


def _phones(multi: object) -> list[str]:
    """A Bitrix24 multiple field's values (``[{"VALUE": "+1...", "VALUE_TYPE": "WORK"}]``)."""
    return [str(p["VALUE"]) for p in multi if isinstance(p, dict) and p.get("VALUE")] if isinstance(multi, list) else []


def _changed(modified: str, now_ms: int) -> int:
    try:
        return clock.parse_iso(modified)
    except ValueError:
        return now_ms


def status_code(conv: Conversion) -> str:
    if conv.answered:
        return "200"
    return "486" if conv.crm.status == "busy" else "304"


def register_params(conv: Conversion, settings: Mapping[str, object], user: str) -> dict[str, Any]:
    call: CrmCall = conv.crm
    params: dict[str, Any] = {
        "USER_ID": int(user),
        "PHONE_NUMBER": call.caller,
        "CALL_START_DATE": clock.iso(conv.occurred_at_ms),
        "TYPE": 2,
        "CRM_CREATE": 1,
        "SHOW": 0,
    }
    if call.called:
        params["LINE_NUMBER"] = call.called
    if settings.get("crm_source"):
        params["CRM_SOURCE"] = str(settings["crm_source"])
    return params


def lead_fields(call: CrmCall) -> dict[str, str]:
    fields = {_UTM[k]: v for k, v in call.utm if k in _UTM}
    words = f"call tracking: {call.source or 'unknown source'}"
    if call.link:
        words += f" · {call.link}"
    if call.player_link:  # a signed, expiring link: the portal's users listen without a sign-in
        words += f" · recording: {call.player_link}"
    fields["SOURCE_DESCRIPTION"] = words[:1000]
    return fields


PLATFORM = Bitrix24Platform()

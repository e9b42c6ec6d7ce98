"""HubSpot: the caller's contact found by phone (or made), and a call engagement associated with it.

The owner pastes a private app's access token (scopes ``crm.objects.contacts.read/write``,
``crm.objects.deals.read``; calls are written under the contacts scopes), kept as an SSM
SecureString and sent as ``Authorization: Bearer``. Per call, the CRM API's v3 objects:

1. ``POST /crm/v3/objects/contacts/search``: ``filterGroups[0].filters[0]`` = ``phone EQ <caller>``,
   ``properties`` [phone], ``limit`` 1.
2. None found: ``POST /crm/v3/objects/contacts`` with ``properties`` ``phone``,
   ``lifecyclestage`` lead, and the first touch's source in ``hs_lead_status``-free words
   (``message``: "call tracking: <source> utm_…").
3. ``POST /crm/v3/objects/calls``: ``properties`` ``hs_timestamp`` (ISO 8601), ``hs_call_title``,
   ``hs_call_body`` (source, utm, our link to the call's page: its player), ``hs_call_direction``
   INBOUND, ``hs_call_from_number``, ``hs_call_to_number``, ``hs_call_duration`` (ms),
   ``hs_call_status`` (COMPLETED, NO_ANSWER, BUSY), ``hubspot_owner_id`` (the channel's or pool's
   owner, else the destination's), and ``associations`` to the contact (HUBSPOT_DEFINED type 194,
   call to contact).

Answers: 2xx JSON objects; errors ``{"status": "error", "message", "correlationId", "category"}``.
429 (with ``Retry-After``) and 5xx are tried again later (the shared later queue at the time
HubSpot names); 401 (revoked token) disables the destination with an alert; other 4xx are final.
A recorded call's body carries a signed, expiring link to our player page (``recordings/shared.py``:
HubSpot's users listen without a sign-in; the page plays from presigned URLs that last minutes),
never Twilio's media URL and never a link that works forever; the dashboard's call page is there too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from chalicelib.core import clock
from chalicelib.integrations.conversions import crm_common as common
from chalicelib.integrations.conversions import sending
from chalicelib.integrations.conversions import settings as own
from chalicelib.integrations.conversions.platform import (
    Conversion,
    CrmCall,
    Destination,
    DisableDestination,
    Outcome,
    TestResult,
)

TIMEOUT_SECONDS = 8.0
CALL_TO_CONTACT = 194  # HUBSPOT_DEFINED association type: call -> contact
_STAGE = re.compile(r"[A-Za-z0-9_:.-]{1,60}")


def stages(raw: object, name: str) -> list[str]:
    return common.stage_ids(raw, name, _STAGE, "a HubSpot deal stage id like closedwon")


class HubSpotPlatform:
    name = "hubspot"
    title = "HubSpot"
    window_days = 90
    batch_size = 1
    # client_secret: the app's secret HubSpot signs its webhooks with (optional: without it, polling only)
    credential_fields: tuple[str, ...] = ("access_token", "client_secret")
    setting_fields: tuple[str, ...] = ("user_id", "users", "won_stages", "lost_stages")
    takes_static_calls = True
    takes_adjustments = False
    crm = True

    def check_settings(self, settings: Mapping[str, object]) -> dict[str, object]:
        out: dict[str, object] = {"users": common.users_text(common.parse_users(settings.get("users"), numeric=True))}
        owner = str(settings.get("user_id") or "").strip()
        if owner:
            if not owner.isdigit() or len(owner) > 12:
                raise ValueError("'user_id' must be a HubSpot owner id (a number; Settings → Users → the user's id)")
            out["user_id"] = owner
        out["won_stages"] = ", ".join(stages(settings.get("won_stages") or "closedwon", "won_stages"))
        out["lost_stages"] = ", ".join(stages(settings.get("lost_stages") or "closedlost", "lost_stages"))
        return out

    def check_action(self, action: str, settings: Mapping[str, object]) -> str | None:
        return None if action in ("call", "lead") else "a HubSpot rule's action is 'call' (a call engagement)"

    def why_not(self, conversion: Conversion, now_ms: int, settings: Mapping[str, object]) -> str | None:
        if not conversion.crm.caller:
            return "the caller's number is hidden: HubSpot finds contacts by number"
        return None

    def send(self, destination: Destination, batch: Sequence[Conversion], now_ms: int) -> list[Outcome]:
        return [self._one(destination, c, now_ms) for c in batch]

    def _one(self, destination: Destination, conv: Conversion, now_ms: int) -> Outcome:
        log: list[str] = []
        try:
            contact, made = self.contact(destination, conv.crm, log, now_ms)
            got = self.request(
                destination,
                "POST",
                "/crm/v3/objects/calls",
                call_body(conv, destination.settings, contact),
                log,
                now_ms,
            )
        except sending.Failed as exc:  # 429 later at Retry-After, 5xx transient, other 4xx final (sending.py)
            return replace(exc.outcome, sent="\n".join(log))
        words = f"HubSpot logged call {got.get('id')} on contact {contact}" + (" (a new contact)" if made else "")
        return Outcome.ok(
            words,
            sent="\n".join(log),
            answer=common.dumps(got)[: common.ANSWER_CHARS],
            status=201,
            ref=f"contact:{contact}",
        )

    def contact(self, destination: Destination, call: CrmCall, log: list[str], now_ms: int) -> tuple[str, bool]:
        found = self.request(
            destination, "POST", "/crm/v3/objects/contacts/search", search_body(call.caller or ""), log, now_ms
        )
        results = found.get("results") if isinstance(found, dict) else None
        if results:
            return str(results[0]["id"]), False
        made = self.request(destination, "POST", "/crm/v3/objects/contacts", contact_body(call), log, now_ms)
        return str(made["id"]), True

    def request(
        self,
        destination: Destination,
        method: str,
        path: str,
        payload: dict[str, Any] | None,
        log: list[str],
        now_ms: int,
    ) -> dict[str, Any]:
        token = destination.credentials.get("access_token") or ""
        if not token:
            raise DisableDestination("no HubSpot access token is stored for this destination")
        log.append(f"{method} {path} {common.dumps(payload) if payload is not None else ''}".strip())
        request = sending.JsonRequest(
            "HubSpot",
            method,
            own.get().hubspot_api_base_url + path,
            {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Accept": "application/json"},
            body=json.dumps(payload, separators=(",", ":")).encode() if payload is not None else b"",
            timeout=TIMEOUT_SECONDS,
            words=lambda data, status: f"HubSpot {path}: {data.get('message') or f'HTTP {status}'}",
            code=lambda data: str(data.get("category") or "") or None,
            dead_words="refused the access token (revoked or expired)",
            retry_after_default=10,
        )
        return sending.expect(sending.send_json(destination, request, now_ms))

    # --- results back: deals --------------------------------------------------------------------

    def read_deals(
        self, destination: Destination, cursor: str | None, now_ms: int
    ) -> tuple[list[common.Deal], str | None]:
        """Deals changed since ``cursor`` (ms, text), oldest first, through the CRM search API
        (``POST /crm/v3/objects/deals/search`` on ``hs_lastmodifieddate`` GTE, sorted by it, 100 a
        page); the new cursor (the last deal's change time), or the same when none changed."""
        since = cursor or str(now_ms - 86_400_000)
        body = {
            "filterGroups": [{"filters": [{"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": since}]}],
            "sorts": ["hs_lastmodifieddate"],
            "properties": ["dealstage", "amount", "hs_lastmodifieddate"],
            "limit": 100,
        }
        found = self.request(destination, "POST", "/crm/v3/objects/deals/search", body, [], now_ms)
        deals = [self._deal(destination, d, now_ms) for d in found.get("results") or [] if isinstance(d, dict)]
        last = max((d.changed_at_ms for d in deals), default=None)
        return deals, (str(last + 1) if last is not None else cursor)

    def deal(self, destination: Destination, deal_id: str, now_ms: int) -> common.Deal:
        """One deal (``GET /crm/v3/objects/deals/{id}``), for a webhook's deal event."""
        path = f"/crm/v3/objects/deals/{deal_id}?properties=dealstage,amount,hs_lastmodifieddate"
        return self._deal(destination, self.request(destination, "GET", path, None, [], now_ms), now_ms)

    def _deal(self, destination: Destination, raw: dict[str, Any], now_ms: int) -> common.Deal:
        props = raw.get("properties") or {}
        deal_id = str(raw.get("id"))
        linked = self.request(
            destination, "GET", f"/crm/v4/objects/deals/{deal_id}/associations/contacts", None, [], now_ms
        )
        ids = [str(r.get("toObjectId")) for r in linked.get("results") or [] if isinstance(r, dict)][:10]
        phones: list[str] = []
        if ids:
            read = {
                "inputs": [{"id": i} for i in ids],
                "properties": ["phone", "mobilephone"],
                "propertiesWithHistory": [],
            }
            got = self.request(destination, "POST", "/crm/v3/objects/contacts/batch/read", read, [], now_ms)
            for c in got.get("results") or []:
                for key in ("phone", "mobilephone"):
                    value = ((c or {}).get("properties") or {}).get(key)
                    if value:
                        phones.append(str(value))
        changed = props.get("hs_lastmodifieddate")
        try:
            changed_ms = clock.parse_iso(changed) if changed and not str(changed).isdigit() else int(changed or now_ms)
        except ValueError:
            changed_ms = now_ms
        return common.Deal(
            deal_id, str(props.get("dealstage") or ""), props.get("amount") or None, changed_ms, tuple(phones)
        )

    def send_test(self, destination: Destination, now_ms: int) -> TestResult:
        """A harmless read: ``GET /crm/v3/objects/contacts?limit=1`` (proves the token and its scope)."""
        log: list[str] = []
        try:
            self.request(destination, "GET", "/crm/v3/objects/contacts?limit=1", None, log, now_ms)
        except (sending.Failed, sending.Dead) as exc:
            o = exc.outcome
            return TestResult(False, (o.reason,), sent="\n".join(log), answer=o.answer, status=o.status)
        except DisableDestination as exc:
            return TestResult(False, (str(exc),))
        return TestResult(
            True, ("the token works: HubSpot answered the contacts read",), sent="\n".join(log), status=200
        )


def search_body(phone: str) -> dict[str, Any]:
    return {
        "filterGroups": [{"filters": [{"propertyName": "phone", "operator": "EQ", "value": phone}]}],
        "properties": ["phone"],
        "limit": 1,
    }


def _source_words(call: CrmCall) -> str:
    utm = " ".join(f"{k}={v}" for k, v in call.utm)
    return f"call tracking: {call.source or 'unknown source'}" + (f" ({utm})" if utm else "")


def contact_body(call: CrmCall) -> dict[str, Any]:
    return {
        "properties": {"phone": call.caller or "", "lifecyclestage": "lead", "message": _source_words(call)[:500]},
        "associations": [],
    }


def call_status(conv: Conversion) -> str:
    if conv.answered:
        return "COMPLETED"
    return "BUSY" if conv.crm.status == "busy" else "NO_ANSWER"


def call_body(conv: Conversion, settings: Mapping[str, object], contact_id: str) -> dict[str, Any]:
    call = conv.crm
    body = _source_words(call) + (f"\nCall story (dashboard sign-in): {call.link}" if call.link else "")
    if call.player_link:  # signed and expiring: HubSpot's users listen without a sign-in
        body += f"\nRecording (no sign-in needed, the link expires): {call.player_link}"
    props = {
        "hs_timestamp": clock.iso(conv.occurred_at_ms) or "",
        "hs_call_title": f"Tracked call from {call.channel_name or call.source or 'a tracking number'}"[:200],
        "hs_call_body": body[:2000],
        "hs_call_direction": "INBOUND",
        "hs_call_from_number": call.caller or "",
        "hs_call_to_number": call.called or "",
        "hs_call_duration": str(call.duration_seconds * 1000),
        "hs_call_status": call_status(conv),
    }
    owner = common.responsible(settings, call.channel_id, call.pool_id)
    if owner:
        props["hubspot_owner_id"] = owner
    return {
        "properties": props,
        "associations": [
            {
                "to": {"id": contact_id},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": CALL_TO_CONTACT}],
            }
        ],
    }


PLATFORM = HubSpotPlatform()

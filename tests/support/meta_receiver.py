"""A local Meta Conversions API that checks requests the way Meta documents them, not the way our code
writes them: ``POST /{version}/{pixel id}/events``, form-encoded ``data`` (a JSON list of server
events), ``access_token`` and optional ``test_event_code``; every event's documented fields and types,
``action_source`` from Meta's list, ``event_time`` within the last 7 days and not in the future,
``fbc`` as ``fb.1.<13-digit ms>.<fbclid>`` created no later than the event, ``ph`` as lower-case hex
SHA-256 strings, ``custom_data.currency`` with a value. Bad input is answered as Meta answers it (HTTP
400, ``{"error": {"message", "type": "OAuthException", "code": 100, "error_subcode", "is_transient",
"error_user_title", "error_user_msg", "fbtrace_id"}}``) and the whole request is refused, as Meta does.
Like Meta, it counts an (event_name, event_id) pair once.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from tests.support import receivers

ACTION_SOURCES = {
    "email",
    "website",
    "app",
    "phone_call",
    "chat",
    "physical_store",
    "system_generated",
    "business_messaging",
    "other",
}
EVENT_FIELDS = {
    "event_name",
    "event_time",
    "user_data",
    "custom_data",
    "event_source_url",
    "opt_out",
    "event_id",
    "action_source",
    "data_processing_options",
    "data_processing_options_country",
    "data_processing_options_state",
    "referrer_url",
    "customer_segmentation",
    "app_data",
    "original_event_data",
    "attribution_data",
    "messaging_channel",
}
USER_FIELDS = {
    "em", "ph", "fn", "ln", "db", "ge", "ct", "st", "zp", "country", "external_id", "client_ip_address",
    "client_user_agent", "fbc", "fbp", "subscription_id", "fb_login_id", "lead_id", "anon_id", "madid",
    "page_id", "page_scoped_user_id", "ctwa_clid", "ig_account_id", "ig_sid",
}  # fmt: skip
HASHED_FIELDS = {"em", "ph", "fn", "ln", "db", "ge", "ct", "st", "zp", "country"}
_HEX64 = re.compile(r"[0-9a-f]{64}")
_FBC = re.compile(r"fb\.1\.(\d{13})\.([A-Za-z0-9_-]+)")
_CURRENCY = re.compile(r"[A-Z]{3}")
SEVEN_DAYS = 7 * 86_400


class Invalid(Exception):
    def __init__(self, subcode: int, title: str, message: str) -> None:
        super().__init__(message)
        self.subcode, self.title, self.message = subcode, title, message


@dataclass
class MetaReceiver:
    url: str = ""
    version: str = "v25.0"
    pixel_id: str = "123456789012345"
    token: str = "EAAGtestTOKEN"
    events: list[dict[str, Any]] = field(default_factory=list)  # accepted, each once
    test_events: list[dict[str, Any]] = field(default_factory=list)  # accepted with a test_event_code
    requests: int = 0
    refused: list[dict[str, Any]] = field(default_factory=list)  # Meta's error bodies we answered
    fail_next: list[int] = field(default_factory=list)  # statuses to answer first (500, 429)
    seen: set[tuple[str, str]] = field(default_factory=set)
    now: float | None = None  # the receiver's clock (seconds); None: real time

    def check(self, form: dict[str, list[str]]) -> list[dict[str, Any]]:
        unknown = set(form) - {"data", "access_token", "test_event_code", "partner_agent", "namespace_id"}
        if unknown:
            raise Invalid(2804001, "Unknown parameter", f"unknown parameter(s) {sorted(unknown)}")
        if form.get("access_token") != [self.token]:
            raise PermissionError("Invalid OAuth access token - Cannot parse access token")
        try:
            data = json.loads(form.get("data", [""])[0])
        except ValueError:
            raise Invalid(2804002, "Invalid JSON", "The parameter data must be a JSON array") from None
        if not isinstance(data, list) or not 1 <= len(data) <= 1000:
            raise Invalid(2804003, "Invalid data", "data must be an array of 1 to 1000 events")
        now = self.now if self.now is not None else time.time()
        for i, e in enumerate(data):
            where = f"$['data'][{i}]"
            if not isinstance(e, dict):
                raise Invalid(2804004, "Invalid event", f"{where} must be an object")
            extra = set(e) - EVENT_FIELDS
            if extra:
                raise Invalid(2804005, "Unknown field", f"{where} has unknown field(s) {sorted(extra)}")
            for key in ("event_name", "event_time", "user_data", "action_source"):
                if key not in e:
                    raise Invalid(
                        2804019, "Server-side API parameter error", f"The parameter {where}['{key}'] is required."
                    )
            if not isinstance(e["event_name"], str) or not e["event_name"]:
                raise Invalid(2804006, "Invalid event name", f"{where}['event_name'] must be a non-empty string")
            t = e["event_time"]
            if isinstance(t, bool) or not isinstance(t, int):
                raise Invalid(2804007, "Invalid event time", f"{where}['event_time'] must be Unix seconds (integer)")
            if t < now - SEVEN_DAYS:
                raise Invalid(
                    2804003, "Event Timestamp Too Old", f"{where}['event_time'] is more than 7 days before the request"
                )
            if t > now + 60:
                raise Invalid(2804004, "Event Timestamp In Future", f"{where}['event_time'] is in the future")
            if "event_id" in e and not isinstance(e["event_id"], str):
                raise Invalid(2804008, "Invalid event id", f"{where}['event_id'] must be a string")
            if e["action_source"] not in ACTION_SOURCES:
                raise Invalid(2804009, "Invalid action source", f"{where}['action_source'] is not one of Meta's")
            if e["action_source"] == "website" and not e.get("event_source_url"):
                raise Invalid(2804010, "Missing URL", f"{where} a website event needs event_source_url")
            self._user(e["user_data"], where, t)
            if "custom_data" in e:
                self._custom(e["custom_data"], where)
        return data

    def _user(self, user: Any, where: str, event_time: int) -> None:
        if not isinstance(user, dict) or not user:
            raise Invalid(2804050, "Missing customer information", f"{where}['user_data'] needs a customer parameter")
        extra = set(user) - USER_FIELDS
        if extra:
            raise Invalid(2804011, "Unknown field", f"{where}['user_data'] has unknown field(s) {sorted(extra)}")
        for key in HASHED_FIELDS & set(user):
            values = user[key] if isinstance(user[key], list) else [user[key]]
            for v in values:
                if not isinstance(v, str) or not _HEX64.fullmatch(v):
                    raise Invalid(
                        2804012, "Unhashed data", f"{where}['user_data']['{key}'] must be SHA-256, lower-case hex"
                    )
        if "fbc" in user:
            m = _FBC.fullmatch(str(user["fbc"]))
            if not m:
                raise Invalid(2804013, "Invalid fbc", f"{where}['user_data']['fbc'] is not fb.1.<ms>.<fbclid>")
            if int(m.group(1)) > event_time * 1000 + 999:
                raise Invalid(2804014, "Invalid fbc", f"{where}['user_data']['fbc'] was created after the event")

    def _custom(self, custom: Any, where: str) -> None:
        if not isinstance(custom, dict):
            raise Invalid(2804015, "Invalid custom data", f"{where}['custom_data'] must be an object")
        if "value" in custom:
            if isinstance(custom["value"], bool) or not isinstance(custom["value"], (int, float)):
                raise Invalid(2804016, "Invalid value", f"{where}['custom_data']['value'] must be a number")
            if not isinstance(custom.get("currency"), str) or not _CURRENCY.fullmatch(custom["currency"]):
                raise Invalid(2804017, "Invalid currency", f"{where}['custom_data'] needs an ISO 4217 currency")


@contextmanager
def running() -> Iterator[MetaReceiver]:
    state = MetaReceiver()
    lock = threading.Lock()

    class Handler(receivers.JsonHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length") or 0))
            with lock:
                state.requests += 1
                if state.fail_next:
                    busy = {"message": "An unknown error occurred", "type": "OAuthException", "code": 1}
                    self.answer_json(state.fail_next.pop(0), {"error": {**busy, "is_transient": True}})
                    return
                if self.path != f"/{state.version}/{state.pixel_id}/events":
                    # Graph's answer for an object that does not exist or this token cannot see
                    object_id = self.path.split("/")[2]
                    message = (
                        f"Unsupported post request. Object with ID '{object_id}' does not exist, cannot be loaded "
                        "due to missing permissions, or does not support this operation"
                    )
                    self._error(400, 100, 33, "", message)
                    return
                if not (self.headers.get("content-type") or "").startswith("application/x-www-form-urlencoded"):
                    self._error(400, 100, 2804002, "Invalid body", "send the parameters form-encoded")
                    return
                form = parse_qs(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
                try:
                    data = state.check(form)
                except PermissionError as exc:
                    self._error(400, 190, 463, "", str(exc))
                    return
                except Invalid as exc:
                    self._error(400, 100, exc.subcode, exc.title, exc.message)
                    return
                test = "test_event_code" in form
                for e in data:
                    key = (e["event_name"], str(e.get("event_id", "")))
                    if e.get("event_id") and key in state.seen:
                        continue  # Meta's deduplication: the second is dropped, the request still succeeds
                    state.seen.add(key)
                    (state.test_events if test else state.events).append(e)
                self.answer_json(200, {"events_received": len(data), "messages": [], "fbtrace_id": "AtraceOK"})

        def _error(self, status: int, code: int, subcode: int | None, title: str, message: str) -> None:
            error: dict[str, Any] = {"message": "Invalid parameter" if code == 100 and title else message}
            error.update({"type": "OAuthException", "code": code, "is_transient": False, "fbtrace_id": "AtraceErr"})
            if subcode is not None:
                error["error_subcode"] = subcode
            if title:
                error["error_user_title"], error["error_user_msg"] = title, message
            state.refused.append(error)
            self.answer_json(status, {"error": error})

    with receivers.serving(Handler) as url:
        state.url = url
        yield state

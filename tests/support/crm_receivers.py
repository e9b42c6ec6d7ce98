"""Local Bitrix24 and HubSpot receivers that check requests the way each CRM does.

* **HubSpot**: every JSON body is parsed strictly into the models of HubSpot's own generated Python
  client (``hubspot-api-client``, a test-only dependency, generated from HubSpot's published
  OpenAPI): an unknown field, a wrong type, a missing required field or a value outside an enum
  (a filter's ``operator``, an association's ``associationCategory``) is refused with HubSpot's
  error shape (400 ``{"status": "error", "message", "correlationId", "category": "VALIDATION_ERROR"}``).
  A wrong token is 401 (``category: INVALID_AUTHENTICATION``); ``fail_next`` answers 429 with
  ``Retry-After`` or a 5xx first. Contacts, calls and deals are kept as HubSpot would.
* **Bitrix24**: the incoming webhook path ``/rest/<user>/<code>/<method>.json``, each method's
  documented parameters and types (``telephony.externalcall.register``, ``.finish``,
  ``crm.lead.update``, ``crm.deal.list``, ``crm.contact.get``, ``telephony.externalLine.get``),
  answered as Bitrix24 answers (``{"result": ..., "time": {...}}`` or ``{"error", "error_description"}``,
  ``QUERY_LIMIT_EXCEEDED`` as HTTP 503 with no ``Retry-After``, ``INVALID_CREDENTIALS`` 401). Like
  Bitrix24, registering again with the same parameters before ``finish`` answers the same
  ``CALL_ID``; ``CRM_CREATE`` makes a lead for an unknown number.
"""

from __future__ import annotations

import importlib
import itertools
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import hubspot.crm.contacts.models as contact_models
import hubspot.crm.deals.models as deal_models
import hubspot.crm.objects.calls.models as call_models

from tests.support import receivers

# --- HubSpot ----------------------------------------------------------------------------------------

HUBSPOT_BODIES: dict[str, tuple[Any, str]] = {
    "/crm/v3/objects/contacts/search": (contact_models, "PublicObjectSearchRequest"),
    "/crm/v3/objects/contacts": (contact_models, "SimplePublicObjectInputForCreate"),
    "/crm/v3/objects/contacts/batch/read": (contact_models, "BatchReadInputSimplePublicObjectId"),
    "/crm/v3/objects/calls": (call_models, "SimplePublicObjectInputForCreate"),
    "/crm/v3/objects/deals/search": (deal_models, "PublicObjectSearchRequest"),
}
CALL_PROPERTIES = {  # HubSpot's documented call properties (the calls guide)
    "hs_timestamp", "hs_call_body", "hs_call_callee_object_id", "hs_call_callee_object_type",
    "hs_call_direction", "hs_call_disposition", "hs_call_duration", "hs_call_from_number",
    "hs_call_recording_url", "hs_call_status", "hs_call_title", "hs_call_source", "hs_call_to_number",
    "hubspot_owner_id", "hs_activity_type", "hs_attachment_ids",
}  # fmt: skip
CALL_STATUSES = {
    "BUSY",
    "CALLING_CRM_USER",
    "CANCELED",
    "COMPLETED",
    "CONNECTING",
    "FAILED",
    "IN_PROGRESS",
    "NO_ANSWER",
    "QUEUED",
    "RINGING",
}
_LIST = re.compile(r"list\[(.+)\]")
_DICT = re.compile(r"dict\[str, (.+)\]")


class Invalid(Exception):
    pass


def strict(models: Any, type_name: str, value: Any, where: str) -> Any:
    """``value`` parsed into HubSpot's generated model (or primitive) ``type_name``, refusing anything else."""
    if type_name == "str":
        if not isinstance(value, str):
            raise Invalid(f"{where}: expected a string")
        return value
    if type_name in ("int", "float"):
        if isinstance(value, bool) or not isinstance(value, (int, float) if type_name == "float" else int):
            raise Invalid(f"{where}: expected {type_name}")
        return value
    if type_name == "bool":
        if not isinstance(value, bool):
            raise Invalid(f"{where}: expected a boolean")
        return value
    if m := _LIST.fullmatch(type_name):
        if not isinstance(value, list):
            raise Invalid(f"{where}: expected an array")
        return [strict(models, m.group(1), v, f"{where}[{i}]") for i, v in enumerate(value)]
    if m := _DICT.fullmatch(type_name):
        if not isinstance(value, dict):
            raise Invalid(f"{where}: expected an object")
        return {k: strict(models, m.group(1), v, f"{where}.{k}") for k, v in value.items()}
    cls = getattr(models, type_name)
    if not isinstance(value, dict):
        raise Invalid(f"{where}: expected an object ({type_name})")
    by_json = {j: p for p, j in cls.attribute_map.items()}
    unknown = set(value) - set(by_json)
    if unknown:
        raise Invalid(f"{where}: unknown field(s) {sorted(unknown)} in {type_name}")
    kwargs = {by_json[k]: strict(models, cls.openapi_types[by_json[k]], v, f"{where}.{k}") for k, v in value.items()}
    config = importlib.import_module(models.__name__.rsplit(".models", 1)[0]).Configuration()
    config.client_side_validation = (
        True  # off by default in the generated client: on, it checks required fields and enums
    )
    try:
        return cls(
            **kwargs, local_vars_configuration=config
        )  # the generated setters refuse a missing required field and a value outside an enum
    except (ValueError, TypeError) as exc:
        raise Invalid(f"{where}: {exc}") from None


@dataclass
class HubSpotReceiver:
    url: str = ""
    token: str = "pat-na1-11111111-2222-3333-4444-555555555555"
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> properties
    calls: list[dict[str, Any]] = field(default_factory=list)
    deals: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> {"properties", "contacts"}
    requests: list[tuple[str, str]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    fail_next: list[tuple[int, str | None]] = field(default_factory=list)  # (status, Retry-After)
    ids: Any = field(default_factory=lambda: itertools.count(501))

    def add_deal(self, stage: str, amount: str | None, contact_id: str, modified_ms: int) -> str:
        deal_id = str(next(self.ids))
        props = {"dealstage": stage, "amount": amount, "hs_lastmodifieddate": str(modified_ms), "hs_object_id": deal_id}
        self.deals[deal_id] = {"properties": props, "contacts": [contact_id]}
        return deal_id

    def _object(self, object_id: str, props: dict[str, Any]) -> dict[str, Any]:
        at = "2026-01-01T00:00:00.000Z"
        return {"id": object_id, "properties": props, "createdAt": at, "updatedAt": at, "archived": False}

    def handle(
        self, method: str, target: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        path = urlsplit(target).path
        self.requests.append((method, path))
        if self.fail_next:
            status, retry = self.fail_next.pop(0)
            extra = {"Retry-After": retry} if retry else {}
            return status, self._error("RATE_LIMITS" if status == 429 else "INTERNAL_ERROR", "try later"), extra
        if headers.get("authorization") != f"Bearer {self.token}":
            return 401, self._error("INVALID_AUTHENTICATION", "Authentication credentials not found."), {}
        body = None
        if method == "POST":
            if not (headers.get("content-type") or "").startswith("application/json"):
                return 415, self._error("VALIDATION_ERROR", "Content type not supported"), {}
            if path not in HUBSPOT_BODIES:
                return 404, self._error("OBJECT_NOT_FOUND", f"no route {path}"), {}
            models, name = HUBSPOT_BODIES[path]
            try:
                body = json.loads(raw)
                strict(models, name, body, "$")
                self._semantics(path, body)
            except (Invalid, ValueError) as exc:
                self.refused.append(str(exc))
                return 400, self._error("VALIDATION_ERROR", f"Invalid input JSON: {exc}"), {}
        return self._answer(method, target, path, body)

    def _semantics(self, path: str, body: dict[str, Any]) -> None:
        if path == "/crm/v3/objects/calls":
            props = body["properties"]
            unknown = set(props) - CALL_PROPERTIES
            if unknown:
                raise Invalid(f"Property values were not valid: unknown call properties {sorted(unknown)}")
            if "hs_timestamp" not in props:
                raise Invalid("hs_timestamp is required")
            if props.get("hs_call_status") not in CALL_STATUSES | {None}:
                raise Invalid(f"{props.get('hs_call_status')!r} is not a valid hs_call_status")
            if props.get("hs_call_direction") not in ("INBOUND", "OUTBOUND", None):
                raise Invalid("hs_call_direction must be INBOUND or OUTBOUND")
            if not str(props.get("hs_call_duration", "0")).isdigit():
                raise Invalid("hs_call_duration must be milliseconds")
            for a in body["associations"]:
                if a["to"]["id"] not in self.contacts:
                    raise Invalid(f"no contact {a['to']['id']}")

    def _answer(self, method: str, target: str, path: str, body: Any) -> tuple[int, dict[str, Any], dict[str, str]]:
        if path == "/crm/v3/objects/contacts/search":
            value = body["filterGroups"][0]["filters"][0]["value"]
            hits = [self._object(i, p) for i, p in self.contacts.items() if p.get("phone") == value]
            return 200, {"total": len(hits), "results": hits[: body.get("limit", 10)]}, {}
        if path == "/crm/v3/objects/contacts" and method == "POST":
            cid = str(next(self.ids))
            self.contacts[cid] = dict(body["properties"])
            return 201, self._object(cid, self.contacts[cid]), {}
        if path == "/crm/v3/objects/contacts" and method == "GET":
            return 200, {"results": [self._object(i, p) for i, p in list(self.contacts.items())[:1]]}, {}
        if path == "/crm/v3/objects/calls":
            call_id = str(next(self.ids))
            self.calls.append({"id": call_id, **body})
            return 201, self._object(call_id, body["properties"]), {}
        if path == "/crm/v3/objects/deals/search":
            since = int(body["filterGroups"][0]["filters"][0]["value"])
            found = [(i, d) for i, d in self.deals.items() if int(d["properties"]["hs_lastmodifieddate"]) >= since]
            found.sort(key=lambda x: int(x[1]["properties"]["hs_lastmodifieddate"]))
            return 200, {"total": len(found), "results": [self._object(i, d["properties"]) for i, d in found]}, {}
        if m := re.fullmatch(r"/crm/v3/objects/deals/(\d+)", path):
            d = self.deals.get(m.group(1))
            return (
                (200, self._object(m.group(1), d["properties"]), {})
                if d
                else (404, self._error("OBJECT_NOT_FOUND", "no deal"), {})
            )
        if m := re.fullmatch(r"/crm/v4/objects/deals/(\d+)/associations/contacts", path):
            d = self.deals.get(m.group(1)) or {"contacts": []}
            results = [
                {
                    "toObjectId": int(c),
                    "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": 3, "label": None}],
                }
                for c in d["contacts"]
            ]
            return 200, {"results": results}, {}
        if path == "/crm/v3/objects/contacts/batch/read":
            got = [self._object(i["id"], self.contacts[i["id"]]) for i in body["inputs"] if i["id"] in self.contacts]
            return (
                200,
                {
                    "status": "COMPLETE",
                    "results": got,
                    "startedAt": "2026-01-01T00:00:00Z",
                    "completedAt": "2026-01-01T00:00:00Z",
                },
                {},
            )
        return 404, self._error("OBJECT_NOT_FOUND", f"no route {method} {path}"), {}

    def _error(self, category: str, message: str) -> dict[str, Any]:
        return {
            "status": "error",
            "message": message,
            "correlationId": "aaaaaaaa-0000-0000-0000-000000000000",
            "category": category,
        }


# --- Bitrix24 ---------------------------------------------------------------------------------------

# Each method's documented parameters: name -> (type, required).
BITRIX_METHODS: dict[str, dict[str, tuple[type | tuple[type, ...], bool]]] = {
    "telephony.externalcall.register": {
        "USER_ID": (int, False), "USER_PHONE_INNER": (str, False), "PHONE_NUMBER": (str, True),
        "CALL_START_DATE": (str, False), "CRM_CREATE": (int, False), "CRM_SOURCE": (str, False),
        "CRM_ENTITY_TYPE": (str, False), "CRM_ENTITY_ID": (int, False), "SHOW": (int, False),
        "CALL_LIST_ID": (int, False), "LINE_NUMBER": (str, False), "TYPE": (int, True),
    },
    "telephony.externalcall.finish": {
        "CALL_ID": (str, True), "USER_ID": (int, True), "DURATION": (int, True), "COST": ((int, float), False),
        "COST_CURRENCY": (str, False), "STATUS_CODE": (str, False), "FAILED_REASON": (str, False),
        "RECORD_URL": (str, False), "VOTE": (int, False), "ADD_TO_CHAT": (int, False),
    },
    "telephony.externalCall.attachRecord": {
        "CALL_ID": (str, True), "FILENAME": (str, True), "FILE_CONTENT": (str, False), "RECORD_URL": (str, False),
    },
    "crm.lead.update": {"id": (int, True), "fields": (dict, True), "params": (dict, False)},
    "crm.deal.list": {"order": (dict, False), "filter": (dict, False), "select": (list, False), "start": (int, False)},
    "crm.lead.list": {"order": (dict, False), "filter": (dict, False), "select": (list, False), "start": (int, False)},
    "crm.contact.get": {"id": (int, True)},
    "telephony.externalLine.get": {},
    "voximplant.statistic.get": {"FILTER": (dict, False), "SORT": (str, False), "ORDER": (str, False),
                                 "start": (int, False)},
}  # fmt: skip
LEAD_FIELDS = {
    "UTM_SOURCE",
    "UTM_MEDIUM",
    "UTM_CAMPAIGN",
    "UTM_CONTENT",
    "UTM_TERM",
    "SOURCE_DESCRIPTION",
    "ASSIGNED_BY_ID",
    "COMMENTS",
}
STATUS_CODES = {"200", "304", "603", "603-S", "403", "404", "486", "484", "503", "480", "402", "423", "OTHER"}


@dataclass
class BitrixReceiver:
    url: str = ""
    user: str = "1"
    code: str = "abc123def456"
    users: set[int] = field(default_factory=lambda: {1, 5, 7})
    leads: dict[int, dict[str, Any]] = field(default_factory=dict)  # id -> {"PHONE", fields...}
    calls: dict[str, dict[str, Any]] = field(default_factory=dict)  # CALL_ID -> register params (+ "finished")
    deals: list[dict[str, Any]] = field(default_factory=list)
    contacts: dict[int, list[str]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    records: dict[str, bytes] = field(default_factory=dict)  # CALL_ID -> the attached file
    limit_next: int = 0  # answer QUERY_LIMIT_EXCEEDED this many times
    fail_next: list[int] = field(default_factory=list)
    ids: Any = field(default_factory=lambda: itertools.count(11))

    @property
    def webhook(self) -> str:
        return f"{self.url}/rest/{self.user}/{self.code}/"

    def handle(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, Any]]:
        m = re.fullmatch(r"/rest/(\d+)/([A-Za-z0-9]+)/([A-Za-z.]+)\.json", path)
        if not m:
            return 404, {"error": "NOT_FOUND", "error_description": "Method not found"}
        if (m.group(1), m.group(2)) != (self.user, self.code):
            return 401, {"error": "INVALID_CREDENTIALS", "error_description": "Invalid request credentials"}
        method = m.group(3)
        self.requests.append(method)
        if self.fail_next:
            return self.fail_next.pop(0), {
                "error": "INTERNAL_SERVER_ERROR",
                "error_description": "Internal server error",
            }
        if self.limit_next:
            self.limit_next -= 1
            return 503, {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}
        spec = BITRIX_METHODS.get(method)
        if spec is None:
            return 404, {"error": "ERROR_METHOD_NOT_FOUND", "error_description": "Method not found!"}
        try:
            ctype = headers.get("content-type") or ""
            params = (
                json.loads(raw or b"{}")
                if ctype.startswith("application/json")
                else {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            )
            self._check(method, spec, params)
        except (ValueError, Invalid) as exc:
            self.refused.append(f"{method}: {exc}")
            return 400, {"error": "ERROR_ARGUMENT", "error_description": str(exc)}
        return 200, {"result": self._result(method, params), "time": {"start": 0, "finish": 0, "duration": 0.01}}

    def _check(self, method: str, spec: dict[str, Any], params: Any) -> None:
        if not isinstance(params, dict):
            raise Invalid("parameters must be an object")
        unknown = set(params) - set(spec)
        if unknown:
            raise Invalid(f"unknown parameter(s) {sorted(unknown)}")
        for name, (kind, required) in spec.items():
            if name not in params:
                if required:
                    raise Invalid(f"Argument '{name}' is null")
                continue
            if isinstance(params[name], bool) or not isinstance(params[name], kind):
                raise Invalid(f"Argument '{name}' has the wrong type")
        if method == "telephony.externalcall.register":
            if "USER_ID" not in params and "USER_PHONE_INNER" not in params:
                raise Invalid("USER_ID or USER_PHONE_INNER is required")
            if params.get("USER_ID") is not None and params["USER_ID"] not in self.users:
                raise Invalid("User not found")
            if params["TYPE"] not in (1, 2, 3, 4):
                raise Invalid("Wrong TYPE")
            if "CALL_START_DATE" in params:
                from datetime import datetime

                datetime.fromisoformat(params["CALL_START_DATE"].replace("Z", "+00:00"))
        if method == "telephony.externalcall.finish":
            if params["CALL_ID"] not in self.calls:
                raise Invalid("Call is not found, or finished")
            if params.get("STATUS_CODE") is not None and params["STATUS_CODE"] not in STATUS_CODES:
                raise Invalid("Wrong STATUS_CODE")
        if method == "telephony.externalCall.attachRecord":
            if params["CALL_ID"] not in self.calls or not self.calls[params["CALL_ID"]].get("finished"):
                raise Invalid("attachRecord is called after finish, for a registered call")
            if not params["FILENAME"].endswith((".mp3", ".wav")):
                raise Invalid("FILENAME must end in mp3 or wav")
            if "RECORD_URL" in params:  # deprecated: the portal tries once and fails silently
                raise Invalid("RECORD_URL is deprecated; send FILE_CONTENT")
            import base64

            base64.b64decode(params.get("FILE_CONTENT") or "", validate=True)
        if method == "crm.lead.update":
            if params["id"] not in self.leads:
                raise Invalid("Not found")
            bad = set(params["fields"]) - LEAD_FIELDS
            if bad:
                raise Invalid(f"unknown lead field(s) {sorted(bad)}")

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "telephony.externalcall.register":
            key = {k: v for k, v in params.items()}
            for call_id, c in self.calls.items():  # the same parameters before finish: the same CALL_ID
                if not c.get("finished") and c["params"] == key:
                    return c["answer"]
            call_id = f"externalCall.{next(self.ids):032x}.1700000000"
            lead = next((i for i, lead in self.leads.items() if lead["PHONE"] == params["PHONE_NUMBER"]), None)
            created = None
            if lead is None and params.get("CRM_CREATE") == 1:
                lead = created = next(self.ids)
                self.leads[lead] = {"PHONE": params["PHONE_NUMBER"], "ASSIGNED_BY_ID": params.get("USER_ID")}
            answer = {"CALL_ID": call_id, "CRM_CREATED_LEAD": created, "CRM_ENTITY_TYPE": "LEAD" if lead else None,
                      "CRM_ENTITY_ID": lead, "LEAD_CREATION_ERROR": None}  # fmt: skip
            self.calls[call_id] = {"params": key, "answer": answer}
            return answer
        if method == "telephony.externalcall.finish":
            self.calls[params["CALL_ID"]].update(finished=params)
            return {
                "CALL_ID": params["CALL_ID"],
                "CALL_DURATION": params["DURATION"],
                "CALL_FAILED_CODE": params.get("STATUS_CODE"),
            }
        if method == "crm.lead.update":
            self.leads[params["id"]].update(params["fields"])
            return True
        if method == "telephony.externalCall.attachRecord":
            import base64

            self.records[params["CALL_ID"]] = base64.b64decode(params["FILE_CONTENT"])
            return {"FILE_ID": next(self.ids)}
        if method == "crm.deal.list":
            since = params.get("filter", {}).get(">DATE_MODIFY")
            found = [d for d in self.deals if since is None or d["DATE_MODIFY"] > since]
            return sorted(found, key=lambda d: d["DATE_MODIFY"])[:50]
        if method == "crm.lead.list":  # leads are the ones registered calls made (``self.leads``)
            flt = params.get("filter", {})
            since, wanted = flt.get(">DATE_MODIFY"), flt.get("@STATUS_ID")
            rows = []
            for lead_id, lead in self.leads.items():
                modified, status = lead.get("DATE_MODIFY"), lead.get("STATUS_ID", "NEW")
                if modified is None or (since is not None and modified <= since):
                    continue
                if wanted is not None and status not in wanted:
                    continue
                row = {"ID": str(lead_id), "STATUS_ID": status, "OPPORTUNITY": lead.get("OPPORTUNITY", "0.00"),
                       "CURRENCY_ID": "USD", "DATE_MODIFY": modified}  # fmt: skip
                if "PHONE" in params.get("select", []):  # a multiple field comes only when selected by name
                    row["PHONE"] = [{"VALUE": lead["PHONE"], "VALUE_TYPE": "WORK"}]
                rows.append(row)
            return sorted(rows, key=lambda d: d["DATE_MODIFY"])[:50]
        if method == "crm.contact.get":
            return {
                "ID": str(params["id"]),
                "PHONE": [{"VALUE": p, "VALUE_TYPE": "WORK"} for p in self.contacts.get(params["id"], [])],
            }
        if method == "voximplant.statistic.get":  # the portal's call statistics: finished calls only
            flt = params.get("FILTER", {})
            rows = []
            for call_id, c in self.calls.items():
                reg, done = c["params"], c.get("finished")
                start = reg.get("CALL_START_DATE", "")
                if not done or ("PHONE_NUMBER" in flt and reg["PHONE_NUMBER"] != flt["PHONE_NUMBER"]):
                    continue
                if start < flt.get(">=CALL_START_DATE", "") or start > flt.get("<=CALL_START_DATE", "~"):
                    continue
                row = {"CALL_ID": call_id, "PHONE_NUMBER": reg["PHONE_NUMBER"], "CALL_START_DATE": start}
                rows.append({**row, "CALL_DURATION": done.get("DURATION"), "CALL_FAILED_CODE": done.get("STATUS_CODE")})
            return rows
        if method == "telephony.externalLine.get":
            return [{"NUMBER": "+14155550100", "NAME": "tracking"}]
        return None


@contextmanager
def running_hubspot() -> Iterator[HubSpotReceiver]:
    state = HubSpotReceiver()
    lock = threading.Lock()

    class Handler(receivers.JsonHandler):
        def _any(self, method: str) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length") or 0))
            with lock:
                status, body, extra = state.handle(
                    method, self.path, {k.lower(): v for k, v in self.headers.items()}, raw
                )
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            for k, v in extra.items():
                self.send_header(k, v)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            self._any("POST")

        def do_GET(self) -> None:
            self._any("GET")

    with receivers.serving(Handler) as url:
        state.url = url
        yield state


@contextmanager
def running_bitrix() -> Iterator[BitrixReceiver]:
    state = BitrixReceiver()
    lock = threading.Lock()

    class Handler(receivers.JsonHandler):
        def do_GET(self) -> None:  # a recording's presigned URL, as S3 answers it (tests point the link here)
            data = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 24
            self.send_response(200 if self.path.startswith("/recordings/") else 404)
            self.send_header("content-type", "audio/wav")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length") or 0))
            with lock:
                status, body = state.handle(self.path, {k.lower(): v for k, v in self.headers.items()}, raw)
            self.answer_json(status, body)

    with receivers.serving(Handler) as url:
        state.url = url
        yield state

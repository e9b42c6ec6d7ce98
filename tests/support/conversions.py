"""Local receivers for the ad platforms, checking requests the way the platforms do.

* ``GoogleAdsReceiver``: Google's OAuth token endpoint (``/token``: refresh-token grants, or
  ``invalid_grant``) and the Google Ads REST API (``/<version>/customers/<id>:uploadClickConversions``
  and ``:uploadConversionAdjustments``). Every body is parsed into Google's published protobuf
  request message (the ``google-ads`` package, a test-only dependency) with unknown fields
  refused; each row is checked as Google does and answered with a partial failure built from
  the ``GoogleAdsFailure`` message.
* ``GA4Receiver``: ``/mp/collect`` (2xx to anything; only valid events are kept, as GA4 drops the
  rest silently) and ``/debug/mp/collect`` (the validation messages), applying the Measurement
  Protocol's documented limits.

Both can fail the first N requests (``fail_first``) and both run on loopback only.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from chalicelib.integrations.conversions.google_ads.client import API_VERSION

DATE_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d")
SHA256 = re.compile(r"[0-9a-f]{64}")
ACCESS_TOKEN = "ya29.local-test-token"
DEVELOPER_TOKEN = "dev-token-123"


def _serve(handler: type[BaseHTTPRequestHandler]) -> tuple[ThreadingHTTPServer, str]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_address[1]}"


def _proto(name: str) -> Any:
    """A fresh protobuf message of the request type ``name`` (from Google's published protos)."""
    import importlib

    module = importlib.import_module(f"google.ads.googleads.{API_VERSION}.services.types.conversion_upload_service")
    if not hasattr(module, name):
        module = importlib.import_module(
            f"google.ads.googleads.{API_VERSION}.services.types.conversion_adjustment_upload_service"
        )
    return getattr(module, name).pb()()


def google_ads_failure(errors: list[tuple[int, str, str, str]], key: str) -> dict[str, Any]:
    """A ``GoogleAdsFailure`` as JSON: [(row index, error family, code, message)]."""
    from google.protobuf import json_format

    module = __import__(f"google.ads.googleads.{API_VERSION}.errors.types.errors", fromlist=["errors"])
    failure = module.GoogleAdsFailure.pb()()
    for index, family, code, message in errors:
        err = failure.errors.add()
        enum_field = err.error_code.DESCRIPTOR.fields_by_name[family]
        setattr(err.error_code, family, enum_field.enum_type.values_by_name[code].number)
        err.message = message
        path = err.location.field_path_elements.add()
        path.field_name = key
        path.index = index
    out = json_format.MessageToDict(failure)
    out["@type"] = f"type.googleapis.com/google.ads.googleads.{API_VERSION}.errors.GoogleAdsFailure"
    return out


@dataclass
class GoogleAdsReceiver:
    url: str = ""
    fail_first: int = 0  # answer 503 to this many upload requests first
    lose_answer_first: int = 0  # store the rows, then answer 500 (the client sees no success)
    invalid_grant: bool = False
    recent: set[str] = field(default_factory=set)  # click ids Google says are under 6 hours old
    expired: set[str] = field(default_factory=set)
    conversions: dict[str, dict[str, Any]] = field(default_factory=dict)  # by orderId
    adjustments: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, dict[str, str], Any]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # why whole requests were refused
    token_requests: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def rows_sent(self) -> list[str]:
        return [
            r["orderId"] for _, _, body in self.requests if isinstance(body, dict) for r in body.get("conversions", [])
        ]


@pytest.fixture
def google_ads() -> Iterator[GoogleAdsReceiver]:
    state = GoogleAdsReceiver()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, payload: Any) -> None:
            raw = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            path = urlsplit(self.path).path
            with state._lock:
                if path == "/token":
                    return self._token(raw)
                return self._upload(path, headers, raw)

        def _token(self, raw: bytes) -> None:
            state.token_requests += 1
            form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            if state.invalid_grant or form.get("grant_type") != "refresh_token" or not form.get("refresh_token"):
                return self._answer(
                    400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
                )
            if not form.get("client_id") or not form.get("client_secret"):
                return self._answer(401, {"error": "invalid_client"})
            return self._answer(
                200,
                {
                    "access_token": ACCESS_TOKEN,
                    "expires_in": 3599,
                    "token_type": "Bearer",
                    "scope": "https://www.googleapis.com/auth/adwords",
                },
            )

        def _refuse(self, status: int, code: str, message: str) -> None:
            state.refused.append(message)
            self._answer(status, {"error": {"code": status, "message": message, "status": code}})

        def _upload(self, path: str, headers: dict[str, str], raw: bytes) -> None:
            from google.protobuf import json_format

            m = re.fullmatch(
                rf"/{API_VERSION}/customers/(\d+):(uploadClickConversions|uploadConversionAdjustments)", path
            )
            if not m:
                return self._refuse(404, "NOT_FOUND", f"no such method {path}")
            if headers.get("authorization") != f"Bearer {ACCESS_TOKEN}":
                return self._refuse(401, "UNAUTHENTICATED", "Request is missing required authentication credential.")
            if headers.get("developer-token") != DEVELOPER_TOKEN:
                return self._refuse(401, "UNAUTHENTICATED", "The developer token is not valid.")
            login = headers.get("login-customer-id")
            if login is not None and not login.isdigit():
                return self._refuse(400, "INVALID_ARGUMENT", "login-customer-id must be digits only")
            method = m.group(2)
            message = _proto(
                "UploadClickConversionsRequest"
                if method == "uploadClickConversions"
                else "UploadConversionAdjustmentsRequest"
            )
            try:
                json_format.Parse(raw.decode(), message, ignore_unknown_fields=False)
            except json_format.ParseError as exc:
                return self._refuse(400, "INVALID_ARGUMENT", f"Invalid JSON payload received. {exc}")
            body = json.loads(raw)
            state.requests.append((method, headers, body))
            if not message.partial_failure:
                return self._refuse(400, "INVALID_ARGUMENT", "partial_failure must be true for conversion uploads")
            if state.fail_first > 0:
                state.fail_first -= 1
                return self._refuse(503, "UNAVAILABLE", "The service is currently unavailable.")
            if method == "uploadClickConversions":
                return self._clicks(message, body)
            return self._adjustments(message, body)

        def _clicks(self, message: Any, body: dict[str, Any]) -> None:
            errors: list[tuple[int, str, str, str]] = []
            results: list[dict[str, Any]] = []
            lose = state.lose_answer_first > 0 and not message.validate_only
            for i, row in enumerate(message.conversions):
                ids = [x for x in ("gclid", "gbraid", "wbraid") if getattr(row, x)]
                code = None
                if "gbraid" in ids and "wbraid" in ids:
                    code = "GBRAID_WBRAID_BOTH_SET"
                elif not ids:
                    code = "INVALID_CONVERSION_ACTION_TYPE"
                elif not DATE_TIME.fullmatch(row.conversion_date_time):
                    return self._refuse(400, "INVALID_ARGUMENT", f"conversion_date_time {row.conversion_date_time!r}")
                elif any(not SHA256.fullmatch(u.hashed_phone_number) for u in row.user_identifiers):
                    code = "INVALID_USER_IDENTIFIER"
                else:
                    click = getattr(row, ids[0])
                    if click.startswith("TEST-"):
                        code = "UNPARSEABLE_GCLID"
                    elif click in state.recent:
                        code = "TOO_RECENT_EVENT"
                    elif click in state.expired:
                        code = "EXPIRED_EVENT"
                    elif row.order_id in state.conversions:
                        code = "CLICK_CONVERSION_ALREADY_EXISTS"
                if code:
                    errors.append((i, "conversion_upload_error", code, f"The error is {code}."))
                    results.append({})
                    continue
                if not message.validate_only:
                    state.conversions[row.order_id] = body["conversions"][i]
                results.append(
                    {
                        "gclid": row.gclid,
                        "conversionAction": row.conversion_action,
                        "conversionDateTime": row.conversion_date_time,
                    }
                )
            if lose:
                state.lose_answer_first -= 1
                return self._refuse(500, "INTERNAL", "Internal error encountered.")
            self._partial(results, errors, "conversions", message.validate_only)

        def _adjustments(self, message: Any, body: dict[str, Any]) -> None:
            errors: list[tuple[int, str, str, str]] = []
            results: list[dict[str, Any]] = []
            for i, row in enumerate(message.conversion_adjustments):
                if row.order_id not in state.conversions:
                    errors.append((i, "conversion_adjustment_upload_error", "CONVERSION_NOT_FOUND", "No conversion."))
                    results.append({})
                    continue
                state.adjustments.append(body["conversionAdjustments"][i])
                results.append({"orderId": row.order_id})
            self._partial(results, errors, "conversion_adjustments", message.validate_only)

        def _partial(
            self, results: list[Any], errors: list[tuple[int, str, str, str]], key: str, validate: bool
        ) -> None:
            out: dict[str, Any] = {} if validate else {"results": results, "jobId": "4242"}
            if errors:
                out["partialFailureError"] = {
                    "code": 3,
                    "message": "; ".join(e[3] for e in errors),
                    "details": [google_ads_failure(errors, key)],
                }
            self._answer(200, out)

        def log_message(self, *args: Any) -> None:
            pass

    srv, state.url = _serve(Handler)
    yield state
    srv.shutdown()
    srv.server_close()


# --- GA4 ------------------------------------------------------------------------------------------

GA4_RESERVED = {
    "ad_click",
    "ad_exposure",
    "ad_impression",
    "ad_query",
    "app_remove",
    "error",
    "first_open",
    "first_visit",
    "session_start",
    "user_engagement",
    "screen_view",
    "in_app_purchase",
}
GA4_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,39}")
MAX_BODY = 130 * 1024


def ga4_messages(body: Any, now_ms: int) -> list[dict[str, str]]:
    """The Measurement Protocol's validation messages for ``body`` (its documented limits)."""
    out: list[dict[str, str]] = []

    def say(path: str, code: str, text: str) -> None:
        out.append({"fieldPath": path, "description": text, "validationCode": code})

    if not isinstance(body, dict):
        say("", "VALUE_INVALID", "The body must be a JSON object.")
        return out
    known = {
        "client_id",
        "user_id",
        "timestamp_micros",
        "user_properties",
        "consent",
        "non_personalized_ads",
        "events",
        "user_data",
        "user_location",
        "device",
        "ip_override",
        "validation_behavior",
    }
    for k in body:
        if k not in known:
            say(k, "NAME_INVALID", f"Unknown field {k}.")
    if not isinstance(body.get("client_id"), str) or not body["client_id"]:
        say("client_id", "VALUE_REQUIRED", "client_id is required.")
    ts = body.get("timestamp_micros")
    if ts is not None:
        if not isinstance(ts, int) or len(str(ts)) < 16:
            say("timestamp_micros", "VALUE_INVALID", "timestamp_micros must be microseconds since the epoch.")
        elif now_ms * 1000 - ts > 72 * 3600 * 1_000_000:
            say("timestamp_micros", "VALUE_INVALID", "Measurement timestamp is more than 72 hours in the past.")
    events = body.get("events")
    if not isinstance(events, list) or not events:
        say("events", "VALUE_REQUIRED", "At least one event is required.")
        return out
    if len(events) > 25:
        say("events", "EXCEEDED_MAX_ENTITIES", "A request can have at most 25 events.")
    for i, ev in enumerate(events):
        name = ev.get("name") if isinstance(ev, dict) else None
        if not isinstance(name, str) or not GA4_NAME.fullmatch(name):
            say(f"events[{i}].name", "NAME_INVALID", f"Event name {name!r} is invalid.")
        elif name in GA4_RESERVED or name.startswith(("_", "firebase_", "ga_", "google_", "gtag.")):
            say(f"events[{i}].name", "NAME_RESERVED", f"Event name {name} is reserved.")
        params = (ev or {}).get("params") or {}
        if len(params) > 25:
            say(f"events[{i}].params", "EXCEEDED_MAX_ENTITIES", "An event can have at most 25 parameters.")
        for p, value in params.items():
            if len(p) > 40:
                say(f"events[{i}].params.{p}", "NAME_INVALID", "Parameter names are at most 40 characters.")
            if isinstance(value, str) and len(value) > 100:
                say(f"events[{i}].params.{p}", "VALUE_INVALID", "Parameter values are at most 100 characters.")
        if "value" in params and not isinstance(params["value"], (int, float)):
            say(f"events[{i}].params.value", "VALUE_INVALID", "value must be a number.")
        if "value" in params and not params.get("currency"):
            say(f"events[{i}].params.currency", "VALUE_REQUIRED", "currency is required with value.")
    return out


@dataclass
class GA4Receiver:
    url: str = ""
    measurement_id: str = "G-TEST1234"
    api_secret: str = "ga4-secret"
    fail_first: int = 0
    now_ms: int = 0  # the receiver's idea of now (the tests' fake clock); 0: the real one
    got: list[dict[str, Any]] = field(default_factory=list)  # valid events kept
    dropped: list[list[dict[str, str]]] = field(default_factory=list)  # invalid ones' messages
    attempts: int = 0

    def transaction_ids(self) -> list[str]:
        return [ev["params"]["transaction_id"] for b in self.got for ev in b["events"]]


@pytest.fixture
def ga4() -> Iterator[GA4Receiver]:
    state = GA4Receiver()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length") or 0))
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            with lock:
                state.attempts += 1
                if parts.path == "/mp/collect" and state.fail_first > 0:
                    state.fail_first -= 1
                    self.send_response(500)
                    self.end_headers()
                    return
                now = state.now_ms or int(time.time() * 1000)
                try:
                    body = json.loads(raw) if len(raw) <= MAX_BODY else None
                except ValueError:
                    body = None
                messages = ga4_messages(body, now)
                if query.get("measurement_id") != state.measurement_id or query.get("api_secret") != state.api_secret:
                    if parts.path == "/debug/mp/collect":
                        messages.append(
                            {
                                "fieldPath": "api_secret",
                                "validationCode": "VALUE_INVALID",
                                "description": "Unable to verify the api_secret for this measurement_id.",
                            }
                        )
                    else:
                        messages = messages or [
                            {
                                "validationCode": "VALUE_INVALID",
                                "fieldPath": "api_secret",
                                "description": "wrong secret",
                            }
                        ]
                if parts.path == "/debug/mp/collect":
                    raw_out = json.dumps({"validationMessages": messages}).encode()
                    self.send_response(200)
                    self.send_header("content-type", "application/json")
                    self.end_headers()
                    self.wfile.write(raw_out)
                    return
                if messages:
                    state.dropped.append(messages)
                elif body is not None:
                    state.got.append(body)
                self.send_response(204)  # GA4 answers 2xx to anything
                self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    srv, state.url = _serve(Handler)
    yield state
    srv.shutdown()
    srv.server_close()

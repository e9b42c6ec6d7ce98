"""GA4 Measurement Protocol: one event per converting call, at most once.

``POST /mp/collect?measurement_id=…&api_secret=…`` with the visit's ``client_id``, the event
(named by the rule: ``phone_call``, ``generate_lead``) with ``session_id``, ``value``,
``currency``, ``engagement_time_msec`` and the call's ``transaction_id``, and
``timestamp_micros`` (GA4 takes events up to 72 hours old: older calls are skipped with that
reason). GA4 answers 2xx to anything and never deduplicates, so a request whose answer was lost
(a timeout) is not sent again: this destination is at most once per call. A connection that was
never made (refused, unresolved) and a 5xx are tried again. "Send test" posts to
``/debug/mp/collect``, which answers its validation messages.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from chalicelib.integrations import outbound
from chalicelib.integrations.conversions import settings as conv_settings
from chalicelib.integrations.conversions.platform import Conversion, Destination, Outcome, TestResult

WINDOW_MS = 72 * 3_600_000
TIMEOUT_SECONDS = 10.0
_MEASUREMENT_ID = re.compile(r"G-[A-Z0-9]{4,20}")
_EVENT = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,39}")
RESERVED = {
    "ad_activeview",
    "ad_click",
    "ad_exposure",
    "ad_impression",
    "ad_query",
    "ad_reward",
    "adunit_exposure",
    "app_clear_data",
    "app_exception",
    "app_install",
    "app_remove",
    "app_store_refund",
    "app_store_subscription_cancel",
    "app_store_subscription_convert",
    "app_store_subscription_renew",
    "app_update",
    "app_upgrade",
    "dynamic_link_app_open",
    "dynamic_link_app_update",
    "dynamic_link_first_open",
    "error",
    "first_open",
    "first_visit",
    "in_app_purchase",
    "notification_dismiss",
    "notification_foreground",
    "notification_open",
    "notification_receive",
    "notification_send",
    "os_update",
    "screen_view",
    "session_start",
    "user_engagement",
}
RESERVED_PREFIXES = ("_", "firebase_", "ga_", "google_", "gtag.")


def event_name_problem(name: str) -> str | None:
    if not _EVENT.fullmatch(name):
        return "a GA4 event name is 1 to 40 letters, digits and underscores, starting with a letter"
    if name in RESERVED or name.lower().startswith(RESERVED_PREFIXES):
        return f"{name!r} is a name GA4 reserves"
    return None


def payload(conv: Conversion) -> dict[str, Any]:
    params: dict[str, Any] = {
        "engagement_time_msec": max(1, conv.talk_seconds * 1000),
        "transaction_id": conv.call_sid,
    }
    if conv.ga_session_id:
        params["session_id"] = conv.ga_session_id
    if conv.value is not None:
        params["value"] = conv.value
        params["currency"] = conv.currency
    body: dict[str, Any] = {
        "client_id": conv.ga_client_id,
        "timestamp_micros": conv.occurred_at_ms * 1000,
        "non_personalized_ads": conv.consent.ad_personalization == "denied",
        "events": [{"name": conv.action, "params": params}],
    }
    consent = {
        k: getattr(conv.consent, k).upper()
        for k in ("ad_user_data", "ad_personalization")
        if getattr(conv.consent, k) != "unspecified"
    }
    if consent:
        body["consent"] = consent
    return body


class GA4:
    name: str = "ga4"
    title: str = "GA4"
    window_days: int = 3  # 72 hours: GA4 takes no older timestamp_micros
    batch_size: int = 1  # one client per request
    credential_fields: tuple[str, ...] = ("api_secret",)
    setting_fields: tuple[str, ...] = ("measurement_id",)
    takes_static_calls: bool = False  # a static number's call has no GA4 client id
    takes_adjustments: bool = False  # GA4 has no way to change an event once sent

    def check_settings(self, settings: Mapping[str, object]) -> dict[str, object]:
        unknown = set(settings) - set(self.setting_fields)
        if unknown:
            raise ValueError(f"unknown setting {sorted(unknown)[0]!r}; GA4 takes: measurement_id")
        mid = str(settings.get("measurement_id") or "").strip().upper()
        if not _MEASUREMENT_ID.fullmatch(mid):
            raise ValueError("'measurement_id' must be the web stream's measurement id, like G-ABC123DEF4")
        return {"measurement_id": mid}

    def check_action(self, action: str, settings: Mapping[str, object]) -> str | None:
        return event_name_problem(action)

    def why_not(self, conversion: Conversion, now_ms: int, settings: Mapping[str, object]) -> str | None:
        bad = event_name_problem(conversion.action)
        if bad:
            return bad
        if not conversion.ga_client_id:
            return "no GA4 client id on the visit (the site's GA4 tag did not run, or no consent): GA4 cannot join it"
        if now_ms - conversion.occurred_at_ms > WINDOW_MS:
            return "the call is older than the 72 hours GA4 accepts: skipped"
        return None

    def _url(self, dest: Destination, path: str) -> str:
        query = urlencode(
            {"measurement_id": dest.settings["measurement_id"], "api_secret": dest.credentials.get("api_secret", "")}
        )
        return f"{conv_settings.get().ga4_base_url.rstrip('/')}{path}?{query}"

    def _post(self, dest: Destination, path: str, body: dict[str, Any]) -> outbound.Answer:
        return outbound.request(
            "POST",
            self._url(dest, path),
            headers={"content-type": "application/json"},
            body=json.dumps(body).encode(),
            timeout=TIMEOUT_SECONDS,
            allow_loopback=dest.local,
        )

    def send(self, destination: Destination, batch: Sequence[Conversion], now_ms: int) -> list[Outcome]:
        out = []
        for conv in batch:
            if conv.adjustment != "none":
                out.append(Outcome.final("GA4 takes no adjustments: an event once sent stays"))
                continue
            body = payload(conv)
            sent = json.dumps(body, separators=(",", ":"))
            try:
                answer = self._post(destination, "/mp/collect", body)
            except outbound.Refused as exc:
                out.append(Outcome.final(f"the GA4 address is refused: {exc}", sent=sent))
                continue
            except (ConnectionRefusedError, outbound.Unresolved) as exc:
                out.append(
                    Outcome.transient(f"GA4 could not be reached ({type(exc).__name__}); nothing was sent", sent=sent)
                )
                continue
            except (OSError, ValueError) as exc:
                out.append(
                    Outcome.final(
                        f"GA4's answer was lost ({type(exc).__name__}); not sent again, since GA4 never deduplicates "
                        "(at most once)",
                        sent=sent,
                    )
                )
                continue
            text = answer.body[:2000].decode("utf-8", "replace")
            if 200 <= answer.status < 300:
                out.append(
                    Outcome.ok(
                        "GA4 took the event (it answers 2xx to anything: use send test to validate)",
                        sent=sent,
                        answer=text,
                        status=answer.status,
                    )
                )
            elif answer.status >= 500 or answer.status == 429:
                out.append(
                    Outcome.transient(f"GA4 answered {answer.status}", sent=sent, answer=text, status=answer.status)
                )
            else:
                out.append(
                    Outcome.final(
                        f"GA4 refused the request ({answer.status}): check the measurement id and API secret",
                        sent=sent,
                        answer=text,
                        status=answer.status,
                    )
                )
        return out

    def send_test(self, destination: Destination, now_ms: int) -> TestResult:
        conv = Conversion(
            "CA" + "0" * 32,
            destination.id,
            "test",
            "phone_call",
            now_ms,
            1.0,
            "USD",
            ga_client_id="1234567890.1700000000",
            ga_session_id="1700000000",
            talk_seconds=42,
        )
        body = payload(conv)
        sent = json.dumps(body, separators=(",", ":"))
        try:
            answer = self._post(destination, "/debug/mp/collect", body)
        except (OSError, ValueError) as exc:
            return TestResult(False, (f"GA4 did not answer: {type(exc).__name__}: {exc}",), sent)
        text = answer.body[:4000].decode("utf-8", "replace")
        try:
            found = json.loads(answer.body).get("validationMessages") or []
        except (ValueError, AttributeError):
            return TestResult(
                False, (f"GA4's validation server answered {answer.status} with no JSON",), sent, text, answer.status
            )
        messages = tuple(
            f"{m.get('validationCode', '')}: {m.get('description', '')} ({m.get('fieldPath', '')})" for m in found
        )
        ok = answer.status == 200 and not found
        return TestResult(
            ok, messages or ("GA4 validated the event: no validation messages",), sent, text, answer.status
        )


PLATFORM = GA4()

"""Google Ads over REST: ``customers/{id}:uploadClickConversions`` and ``:uploadConversionAdjustments``.

No gRPC ``google-ads`` library (19 MB) in the Lambda package: the JSON is written here, the OAuth2
refresh goes through ``google-auth`` (``google.oauth2.credentials``) with a transport of our own
that sends through ``integrations.outbound`` (one deadline, SSRF checks). The API version is
``API_VERSION``, here only.

* A click conversion carries ``gclid``, else ``gbraid`` or ``wbraid`` (never two: Google refuses
  GBRAID_WBRAID_BOTH_SET), ``conversionAction``, ``conversionDateTime`` as
  ``yyyy-mm-dd hh:mm:ss+00:00``, value and currency, ``orderId`` = the call SID (Google itself
  refuses a second conversion with the same order id), ``consent`` from the visit and, with
  ``enhanced_conversions`` set and the visit's consent, the caller's number normalised to E.164
  and SHA-256 hashed (``userIdentifiers[].hashedPhoneNumber``). ``partialFailure`` is true; each
  row's error is read back from ``partialFailureError`` by its ``conversions[i]`` location.
* TOO_RECENT_EVENT / TOO_RECENT_CONVERSION_ACTION: ``later`` (6 h, by the later schedule);
  EXPIRED_EVENT, CONVERSION_PRECEDES_EVENT and every other row error: ``final``, in words;
  CLICK_CONVERSION_ALREADY_EXISTS on a retry (after a timeout of ours) means it was delivered.
* ``invalid_grant`` on refresh (a revoked token, an OAuth client in "Testing" whose refresh
  tokens die after 7 days): ``DisableDestination``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from chalicelib.integrations import outbound
from chalicelib.integrations.conversions import settings as conv_settings
from chalicelib.integrations.conversions.platform import (
    DAY_MS,
    Conversion,
    Destination,
    DisableDestination,
    Outcome,
    TestResult,
    window_ms,
)

API_VERSION = "v26"  # the one place; Google sunsets a version about a year after release
SCOPE = "https://www.googleapis.com/auth/adwords"
TIMEOUT_SECONDS = 15.0
LATER_MS = 6 * 3_600_000  # Google: a click must be at least 6 hours old before its conversion is taken
_DIGITS = re.compile(r"\d{1,10}")
_ACTION = re.compile(r"customers/(\d{1,10})/conversionActions/(\d{1,20})")

# Row errors, in words for the owner.
MEANING = {
    "TOO_RECENT_EVENT": "the click is under 6 hours old; Google takes its conversion later (tried again in 6 h)",
    "TOO_RECENT_CONVERSION_ACTION": "the conversion action was created under 6 hours ago (tried again in 6 h)",
    "EXPIRED_EVENT": "the click is older than the conversion action's click-through window: Google will never take it",
    "CONVERSION_PRECEDES_EVENT": "the call's time is before the click's: Google will never take it",
    "CLICK_CONVERSION_ALREADY_EXISTS": "Google already has a conversion with this order id (the call)",
    "CLICK_NOT_FOUND": "Google does not know this click (a test click, or an account that does not own it)",
    "UNPARSEABLE_GCLID": "the visit's gclid is not one Google can read",
    "UNPARSEABLE_GBRAID": "the visit's gbraid is not one Google can read",
    "UNPARSEABLE_WBRAID": "the visit's wbraid is not one Google can read",
    "GBRAID_WBRAID_BOTH_SET": "a gbraid and a wbraid were both sent",
    "INVALID_CONVERSION_ACTION_TYPE": "the conversion action is not an 'Import from clicks' action",
    "NO_CONVERSION_ACTION_FOUND": "the conversion action does not exist in this account",
    "CUSTOMER_NOT_ACCEPTED_CUSTOMER_DATA_TERMS": (
        "the account has not accepted the customer data terms (needed for enhanced conversions)"
    ),
    "CONVERSION_NOT_FOUND": "Google has no conversion with this order id to adjust",
    "CONVERSION_ALREADY_RETRACTED": "the conversion was already retracted",
    "TOO_RECENT_CONVERSION": "the conversion is too recent to adjust (tried again later)",
}
LATER_CODES = {"TOO_RECENT_EVENT", "TOO_RECENT_CONVERSION_ACTION", "TOO_RECENT_CONVERSION"}


def api_base() -> str:
    return conv_settings.get().google_ads_api_base_url.rstrip("/")


def normalized_phone(e164: str) -> str:
    """Google's normalisation for a phone number: E.164 (a plus and digits only)."""
    return "+" + re.sub(r"\D", "", e164)


def hashed_phone(e164: str) -> str:
    """SHA-256 of the normalised number, lower-case hex (Google's ``hashedPhoneNumber``)."""
    return hashlib.sha256(normalized_phone(e164).encode()).hexdigest()


def date_time(ms: int) -> str:
    """``yyyy-mm-dd hh:mm:ss+00:00`` (UTC; Google takes any offset)."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S+00:00")


class _Transport:
    """A ``google.auth.transport.Request`` that sends through ``outbound`` (made on first use)."""

    def __init__(self, allow_loopback: bool) -> None:
        self.allow_loopback = allow_loopback

    def __call__(
        self, url: str, method: str = "GET", body: Any = None, headers: Any = None, timeout: Any = None, **kwargs: Any
    ) -> Any:
        from google.auth import exceptions

        data = body.encode() if isinstance(body, str) else (body or b"")
        try:
            answer = outbound.request(
                method,
                url,
                headers=dict(headers or {}),
                body=data,
                timeout=float(timeout or TIMEOUT_SECONDS),
                allow_loopback=self.allow_loopback,
            )
        except (OSError, ValueError) as exc:
            raise exceptions.TransportError(f"{type(exc).__name__}: {exc}") from exc  # type: ignore[no-untyped-call]
        return _Response(answer)


class _Response:
    def __init__(self, answer: outbound.Answer) -> None:
        self.status = answer.status
        self.headers = answer.headers
        self.data = answer.body


def access_token(dest: Destination) -> str:
    """A fresh access token from the refresh token (``DisableDestination`` for invalid_grant)."""
    from google.auth import exceptions
    from google.oauth2.credentials import Credentials

    c = dest.credentials
    missing = [f for f in ("refresh_token", "client_id", "client_secret", "developer_token") if not c.get(f)]
    if missing:
        raise DisableDestination(f"Google Ads credentials missing: {', '.join(missing)}")
    creds = Credentials(  # type: ignore[no-untyped-call]
        None,
        refresh_token=c["refresh_token"],
        client_id=c["client_id"],
        client_secret=c["client_secret"],
        token_uri=conv_settings.get().google_oauth_token_url,
        scopes=[SCOPE],
    )
    try:
        creds.refresh(_Transport(dest.local))  # type: ignore[arg-type,no-untyped-call]
    except exceptions.RefreshError as exc:
        if "invalid_grant" in str(exc):
            raise DisableDestination(
                "Google refused the refresh token (invalid_grant): it was revoked, or the OAuth client is in "
                "'Testing' status, whose refresh tokens expire after 7 days. Publish the OAuth consent screen, "
                "sign in again and set a new refresh token."
            ) from None
        raise
    return str(creds.token)


def _headers(dest: Destination, token: str) -> dict[str, str]:
    h = {
        "authorization": f"Bearer {token}",
        "developer-token": dest.credentials["developer_token"],
        "content-type": "application/json",
        "user-agent": "calltracking-conversions/1",
    }
    login = dest.settings.get("login_customer_id")
    if login:
        h["login-customer-id"] = str(login)
    return h


def _consent(conv: Conversion) -> dict[str, str]:
    out = {}
    for ours, theirs in (("ad_user_data", "adUserData"), ("ad_personalization", "adPersonalization")):
        state = getattr(conv.consent, ours)
        if state != "unspecified":
            out[theirs] = state.upper()
    return out


def click_conversion(conv: Conversion, settings: Mapping[str, object]) -> dict[str, Any]:
    ids = conv.click_ids
    row: dict[str, Any] = {}
    if ids.gclid:
        row["gclid"] = ids.gclid
    elif ids.gbraid:
        row["gbraid"] = ids.gbraid
    elif ids.wbraid:
        row["wbraid"] = ids.wbraid
    row["conversionAction"] = conv.action
    row["conversionDateTime"] = date_time(conv.occurred_at_ms)
    if conv.value is not None:
        row["conversionValue"] = conv.value
        row["currencyCode"] = conv.currency
    row["orderId"] = conv.call_sid
    consent = _consent(conv)
    if consent:
        row["consent"] = consent
    if settings.get("enhanced_conversions") and conv.caller_e164 and conv.consent.user_data:
        row["userIdentifiers"] = [{"hashedPhoneNumber": hashed_phone(conv.caller_e164)}]
    return row


def adjustment(conv: Conversion, now_ms: int) -> dict[str, Any]:
    row: dict[str, Any] = {
        "conversionAction": conv.action,
        "adjustmentType": "RETRACTION" if conv.adjustment == "retraction" else "RESTATEMENT",
        "orderId": conv.call_sid,
        "adjustmentDateTime": date_time(max(now_ms, conv.occurred_at_ms + 1000)),
    }
    if conv.adjustment == "restatement":
        row["restatementValue"] = {"adjustedValue": conv.value or 0.0, "currencyCode": conv.currency}
    return row


def redact(body: dict[str, Any]) -> str:
    """The request as the log shows it: hashed phones cut (still personal data)."""
    text = json.dumps(body, separators=(",", ":"))
    return re.sub(r'("hashedPhoneNumber":")[0-9a-f]{64}"', r'\1…redacted"', text)


def _row_errors(answer: dict[str, Any], key: str) -> dict[int, list[tuple[str, str]]]:
    """Row index -> [(code, message)] from ``partialFailureError``'s GoogleAdsFailure details."""
    out: dict[int, list[tuple[str, str]]] = {}
    failure = answer.get("partialFailureError") or {}
    for detail in failure.get("details") or []:
        for err in detail.get("errors") or []:
            code = next(iter((err.get("errorCode") or {}).values()), "UNKNOWN")
            index = None
            for el in (err.get("location") or {}).get("fieldPathElements") or []:
                if el.get("fieldName") == key and "index" in el:
                    index = int(el["index"])
                    break
            out.setdefault(-1 if index is None else index, []).append((str(code), str(err.get("message", ""))))
    return out


def _request_error(answer: outbound.Answer) -> tuple[str, str]:
    """(code, message) of a whole-request error (auth, quota, a malformed body)."""
    try:
        err = json.loads(answer.body)["error"]
    except (ValueError, KeyError, TypeError):
        return "HTTP_" + str(answer.status), answer.body[:300].decode("utf-8", "replace")
    codes = [
        str(next(iter((e.get("errorCode") or {}).values()), ""))
        for d in err.get("details") or []
        for e in d.get("errors") or []
    ]
    return (codes[0] if codes and codes[0] else str(err.get("status") or answer.status)), str(err.get("message", ""))


class GoogleAds:
    name: str = "google_ads"
    title: str = "Google Ads"
    window_days: int = 90  # the longest click-through window a conversion action can have
    batch_size: int = 200  # well under Google's 2,000 per request
    credential_fields: tuple[str, ...] = ("developer_token", "client_id", "client_secret", "refresh_token")
    setting_fields: tuple[str, ...] = ("customer_id", "login_customer_id", "window_days", "enhanced_conversions")
    takes_static_calls: bool = False  # only with a click id: a static number's call has none
    takes_adjustments: bool = True

    def check_settings(self, settings: Mapping[str, object]) -> dict[str, object]:
        unknown = set(settings) - set(self.setting_fields)
        if unknown:
            raise ValueError(
                f"unknown setting {sorted(unknown)[0]!r}; Google Ads takes: {', '.join(self.setting_fields)}"
            )
        out: dict[str, object] = {}
        for name in ("customer_id", "login_customer_id"):
            raw = settings.get(name)
            if raw is None or raw == "":
                if name == "customer_id":
                    raise ValueError("'customer_id' is required: the Google Ads account's id, like 123-456-7890")
                continue
            digits = str(raw).replace("-", "").strip()
            if not _DIGITS.fullmatch(digits):
                raise ValueError(f"'{name}' must be a Google Ads customer id like 123-456-7890")
            out[name] = digits
        days = settings.get("window_days", 90)
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 90:
            raise ValueError("'window_days' must be the conversion action's click-through window, 1 to 90 days")
        out["window_days"] = days
        enhanced = settings.get("enhanced_conversions", False)
        if not isinstance(enhanced, bool):
            raise ValueError("'enhanced_conversions' must be true or false")
        out["enhanced_conversions"] = enhanced
        return out

    def check_action(self, action: str, settings: Mapping[str, object]) -> str | None:
        m = _ACTION.fullmatch(action)
        if not m:
            return "the action must be a conversion action's resource name, customers/<id>/conversionActions/<id>"
        return None

    def why_not(self, conversion: Conversion, now_ms: int, settings: Mapping[str, object]) -> str | None:
        ids = conversion.click_ids
        if not (ids.gclid or ids.gbraid or ids.wbraid):
            return "no Google click id (gclid, gbraid or wbraid) on the visit: Google Ads cannot match the call"
        bad = self.check_action(conversion.action, settings)
        if bad:
            return bad
        clicked = conversion.click_at_ms or conversion.occurred_at_ms
        if now_ms - clicked > window_ms(self, settings):
            days = window_ms(self, settings) // DAY_MS
            return f"the click is older than the {days}-day window: Google Ads would refuse it (EXPIRED_EVENT)"
        return None

    def _post(self, dest: Destination, method: str, body: dict[str, Any]) -> outbound.Answer:
        token = access_token(dest)
        url = f"{api_base()}/{API_VERSION}/customers/{dest.settings['customer_id']}:{method}"
        return outbound.request(
            "POST",
            url,
            headers=_headers(dest, token),
            body=json.dumps(body).encode(),
            timeout=TIMEOUT_SECONDS,
            allow_loopback=dest.local,
        )

    def send(self, destination: Destination, batch: Sequence[Conversion], now_ms: int) -> list[Outcome]:
        clicks = [c for c in batch if c.adjustment == "none"]
        adjusts = [c for c in batch if c.adjustment != "none"]
        done: dict[int, Outcome] = {}
        if clicks:
            body = {"conversions": [click_conversion(c, destination.settings) for c in clicks], "partialFailure": True}
            for c, o in zip(
                clicks,
                self._upload(destination, "uploadClickConversions", "conversions", body, clicks, now_ms),
                strict=True,
            ):
                done[id(c)] = o
        if adjusts:
            body = {"conversionAdjustments": [adjustment(c, now_ms) for c in adjusts], "partialFailure": True}
            for c, o in zip(
                adjusts,
                self._upload(
                    destination, "uploadConversionAdjustments", "conversion_adjustments", body, adjusts, now_ms
                ),
                strict=True,
            ):
                done[id(c)] = o
        return [done[id(c)] for c in batch]

    def _upload(
        self, dest: Destination, method: str, key: str, body: dict[str, Any], rows: Sequence[Conversion], now_ms: int
    ) -> list[Outcome]:
        sent = redact(body)
        try:
            answer = self._post(dest, method, body)
        except outbound.Refused as exc:
            return [Outcome.final(f"the Google Ads address is refused: {exc}", sent=sent) for _ in rows]
        except (OSError, ValueError) as exc:
            return [Outcome.transient(f"Google Ads did not answer: {type(exc).__name__}", sent=sent) for _ in rows]
        text = answer.body[:4000].decode("utf-8", "replace")
        if answer.status in (401, 403):
            code, message = _request_error(answer)
            why = f"Google Ads refused the request ({code}): {message}"
            if code in (
                "DEVELOPER_TOKEN_NOT_APPROVED",
                "DEVELOPER_TOKEN_PROHIBITED",
                "CUSTOMER_NOT_ENABLED",
                "USER_PERMISSION_DENIED",
                "NOT_ADS_USER",
                "OAUTH_TOKEN_REVOKED",
            ):
                raise DisableDestination(why)
            return [Outcome.transient(why, code=code, sent=sent, answer=text, status=answer.status) for _ in rows]
        if answer.status == 429 or answer.status >= 500:
            code, message = _request_error(answer)
            return [
                Outcome.transient(
                    f"Google Ads answered {answer.status} ({code}): {message}",
                    code=code,
                    sent=sent,
                    answer=text,
                    status=answer.status,
                )
                for _ in rows
            ]
        if answer.status != 200:
            code, message = _request_error(answer)
            return [
                Outcome.final(
                    f"Google Ads refused the request ({code}): {message}",
                    code=code,
                    sent=sent,
                    answer=text,
                    status=answer.status,
                )
                for _ in rows
            ]
        try:
            parsed = json.loads(answer.body)
        except ValueError:
            return [
                Outcome.transient("Google Ads answered 200 with no JSON", sent=sent, answer=text, status=200)
                for _ in rows
            ]
        errors = _row_errors(parsed, key)
        out = []
        for i, conv in enumerate(rows):
            row_errors = errors.get(i) or []
            if not row_errors:
                out.append(
                    Outcome.ok(
                        f"Google Ads took the {'conversion' if conv.adjustment == 'none' else conv.adjustment}",
                        sent=sent,
                        answer=text,
                        status=200,
                    )
                )
                continue
            code, message = row_errors[0]
            meaning = MEANING.get(code, message or code)
            if code in LATER_CODES:
                out.append(
                    Outcome.later(
                        now_ms + LATER_MS, f"Google Ads: {meaning}", code=code, sent=sent, answer=text, status=200
                    )
                )
            elif code == "CLICK_CONVERSION_ALREADY_EXISTS" and conv.attempt > 1:
                out.append(
                    Outcome.ok(
                        "Google Ads already had it from an earlier try (our timeout): delivered",
                        code=code,
                        sent=sent,
                        answer=text,
                        status=200,
                    )
                )
            else:
                out.append(Outcome.final(f"Google Ads: {meaning}", code=code, sent=sent, answer=text, status=200))
        return out

    def send_test(self, destination: Destination, now_ms: int) -> TestResult:
        """A validate-only upload of a made-up conversion: Google checks access and the action, keeps nothing."""
        action = (
            destination.settings.get("test_action")
            or f"customers/{destination.settings['customer_id']}/conversionActions/0"
        )
        row = {
            "gclid": "TEST-GCLID",
            "conversionAction": action,
            "conversionDateTime": date_time(now_ms - 7 * 3_600_000),
            "orderId": "test",
            "conversionValue": 1.0,
            "currencyCode": "USD",
        }
        body = {"conversions": [row], "partialFailure": True, "validateOnly": True}
        try:
            answer = self._post(destination, "uploadClickConversions", body)
        except DisableDestination as exc:
            return TestResult(False, (str(exc),), sent=redact(body))
        except (OSError, ValueError) as exc:
            return TestResult(False, (f"Google Ads did not answer: {type(exc).__name__}: {exc}",), sent=redact(body))
        text = answer.body[:4000].decode("utf-8", "replace")
        if answer.status != 200:
            code, message = _request_error(answer)
            return TestResult(False, (f"{code}: {message}",), redact(body), text, answer.status)
        # The made-up click is not Google's: a row error about the click itself still proves access works.
        errors = [(c, m) for rows in _row_errors(json.loads(answer.body), "conversions").values() for c, m in rows]
        messages = tuple(f"{c}: {MEANING.get(c, m)}" for c, m in errors)
        ok = all(c in ("UNPARSEABLE_GCLID", "CLICK_NOT_FOUND") for c, _ in errors)
        if ok:
            messages = ("Google Ads accepted the credentials, the account and the request shape", *messages)
        return TestResult(ok, messages, redact(body), text, 200)


PLATFORM = GoogleAds()

"""The Meta Conversions API platform: server events to a pixel's ``/events`` edge, through ``outbound``.

A request is ``POST {graph}/{version}/{pixel id}/events``, form-encoded as Meta's own examples are:
``data`` (the events as JSON), ``access_token`` (in the body, never the URL, so no access log keeps
it) and, for "send test", ``test_event_code`` (the event shows in Events Manager's Test events and
is not used for ads). Meta answers ``{"events_received": n, "messages": [], "fbtrace_id": ...}`` or
``{"error": {"message", "type", "code", "error_subcode", "is_transient", "error_user_title",
"error_user_msg", "fbtrace_id"}}``; one bad event fails the whole request, so a refused batch is
sent again one event at a time and only the bad one is refused.

Meta has no validate-only mode: "send test" sends a made-up event with the destination's test
event code, which Meta keeps apart from real events.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from chalicelib.integrations.conversions import sending
from chalicelib.integrations.conversions import settings as own
from chalicelib.integrations.conversions.meta import events
from chalicelib.integrations.conversions.platform import (
    ClickIds,
    Consent,
    Conversion,
    Destination,
    DisableDestination,
    Outcome,
    TestResult,
    window_ms,
)

TIMEOUT_SECONDS = 10.0
ANSWER_CHARS = 1000
# Graph API error codes: the token is dead or may not send to this pixel (the owner must act) ...
_DEAD_TOKEN = {190, 102, 10}
# ... and "later": unknown / temporarily unavailable / rate limits.
_TRANSIENT = {1, 2, 4, 17, 32, 341, 613, 80004}
_PIXEL = re.compile(r"\d{5,20}")
_TEST_CODE = re.compile(r"[A-Za-z0-9]{1,64}")
_EVENT_NAME = re.compile(r"[A-Za-z0-9_ -]{1,50}")


class MetaPlatform:
    name = "meta"
    title = "Meta"
    window_days = events.WINDOW_DAYS
    batch_size = 50  # Meta takes up to 1,000; a refused batch is re-sent one by one, so keep it small
    credential_fields: tuple[str, ...] = ("access_token",)
    setting_fields: tuple[str, ...] = ("pixel_id", "test_event_code")
    takes_static_calls = True  # a channel call can match on the caller's hashed phone (with consent)
    takes_adjustments = False

    # --- settings and eligibility ----------------------------------------------------------------

    def check_settings(self, settings: Mapping[str, object]) -> dict[str, object]:
        pixel = str(settings.get("pixel_id") or "").strip()
        if not _PIXEL.fullmatch(pixel):
            raise ValueError("'pixel_id' must be the dataset (pixel) id from Events Manager: 5 to 20 digits")
        out: dict[str, object] = {"pixel_id": pixel}
        code = settings.get("test_event_code")
        if code not in (None, ""):
            if not isinstance(code, str) or not _TEST_CODE.fullmatch(code.strip()):
                raise ValueError(
                    "'test_event_code' must be the code Events Manager shows under Test events, like TEST12345"
                )
            out["test_event_code"] = code.strip()
        for key in ("window_days",):
            if key in settings:
                out[key] = settings[key]
        return out

    def check_action(self, action: str, settings: Mapping[str, object]) -> str | None:
        """A rule's event name: a standard event (``Lead``, ``Contact``, ``Purchase``) or a custom one."""
        if not _EVENT_NAME.fullmatch(action):
            return "a Meta event name is 1 to 50 letters, digits, spaces, '_' or '-' (a standard one: Lead, Contact)"
        return None

    def why_not(self, conversion: Conversion, now_ms: int, settings: Mapping[str, object]) -> str | None:
        return events.why_not(conversion, now_ms, window_ms(self, settings))

    # --- sending ----------------------------------------------------------------------------------

    def send(self, destination: Destination, batch: Sequence[Conversion], now_ms: int) -> list[Outcome]:
        # checked again now: one stale event would make Meta refuse every event with it
        outcomes, ready = sending.eligible(self, destination, batch, now_ms)
        if ready:
            for i, outcome in zip(ready, self._send([batch[i] for i in ready], destination, None), strict=True):
                outcomes[i] = outcome
        return [o for o in outcomes if o is not None]

    def _send(self, batch: list[Conversion], destination: Destination, test_code: str | None) -> list[Outcome]:
        payload = [events.event(c) for c in batch]
        reply = sending.send_json(destination, self._request(destination, payload, test_code))
        outcome, answer = reply.outcome, reply.answer
        if outcome.kind == "sent":
            received = reply.data.get("events_received")
            shown, sent = outcome.answer, outcome.sent
            if received == len(batch):
                return [Outcome.ok("Meta received the event", sent=sent, answer=shown, status=answer.status)] * len(
                    batch
                )
            why = f"Meta answered {answer.status} but counted {received!r} of {len(batch)} events"
            return [Outcome.transient(why, sent=sent, answer=shown, status=answer.status)] * len(batch)
        error = _error(reply.data)
        if error.get("code") == 803 or (error.get("code") == 100 and error.get("error_subcode") == 33):
            # The dataset does not exist or this token cannot see it: no event could ever go.
            raise DisableDestination(
                f"Meta does not know the dataset (pixel) id, or the token cannot reach it: {outcome.reason}"
            )
        if outcome.kind == "final" and len(batch) > 1:  # one bad event refuses them all: find it alone
            return [self._send([c], destination, test_code)[0] for c in batch]
        return [outcome] * len(batch)

    def _request(
        self, destination: Destination, payload: list[dict[str, Any]], test_code: str | None
    ) -> sending.JsonRequest:
        """The events' POST; Meta's errors read as ``{"error": {"code", "is_transient", ...}}``."""
        s = own.get()
        token = destination.credentials.get("access_token") or ""
        if not token:
            raise DisableDestination("no Meta access token is stored for this destination")
        pixel = str(destination.settings.get("pixel_id") or "")
        form = {"data": json.dumps(payload, separators=(",", ":")), "access_token": token}
        if test_code:
            form["test_event_code"] = test_code
        return sending.JsonRequest(
            "Meta",
            "POST",
            f"{s.meta_graph_base_url}/{s.meta_graph_api_version}/{pixel}/events",
            {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
            body=urlencode(form).encode(),
            timeout=TIMEOUT_SECONDS,
            sent=json.dumps(events.redacted(payload, test_code), separators=(",", ":")),
            words=lambda data, status: _words(_error(data), status),
            code=lambda data: _code(_error(data)),
            dead=lambda data, status: _error(data).get("code") in _DEAD_TOKEN or status == 401,
            dead_words="refused the access token",
            passing=lambda data, status: (
                _error(data).get("code") in _TRANSIENT or _error(data).get("is_transient") is True
            ),
        )

    def send_test(self, destination: Destination, now_ms: int) -> TestResult:
        code = str(destination.settings.get("test_event_code") or "")
        if not code:
            return TestResult(
                False,
                (
                    "set a test event code first: Events Manager → your dataset → Test events → "
                    "Confirm your server's events are set up correctly (a code like TEST12345)",
                ),
            )
        made_up = Conversion(
            call_sid=f"CAtest{now_ms}",
            destination_id=destination.id,
            rule_id="test",
            action="Contact",
            occurred_at_ms=now_ms - 60_000,
            value=1.0,
            currency="USD",
            click_ids=ClickIds(fbclid="CallTrackingTestEvent"),
            click_at_ms=now_ms - 600_000,
            consent=Consent(),
        )
        try:
            outcome = self._send([made_up], destination, code)[0]
        except DisableDestination as exc:
            return TestResult(False, (str(exc),))
        except OSError as exc:
            return TestResult(False, (f"Meta could not be reached: {exc}",))
        messages = [outcome.reason]
        if outcome.kind == "sent":
            messages.append(f"It shows in Events Manager → the dataset → Test events (code {code}), never in ads")
        messages += [str(m) for m in _json(outcome.answer.encode()).get("messages") or []]
        return TestResult(outcome.kind == "sent", tuple(messages), outcome.sent, outcome.answer, outcome.status)


def _json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body.decode("utf-8", "replace") or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _error(data: Mapping[str, Any]) -> dict[str, Any]:
    error = data.get("error")
    return error if isinstance(error, dict) else {}


def _code(error: Mapping[str, Any]) -> str | None:
    code, sub = error.get("code"), error.get("error_subcode")
    if code is None:
        return None
    return f"{code}/{sub}" if sub is not None else str(code)


def _words(error: Mapping[str, Any], status: int) -> str:
    """Meta's own words for the owner: its user-facing title and message when it gave them."""
    title, message = error.get("error_user_title"), error.get("error_user_msg")
    if title or message:
        return "Meta: " + ": ".join(str(p) for p in (title, message) if p)
    if error.get("message"):
        return f"Meta: {error['message']}"
    return f"Meta answered HTTP {status} without an error message"


PLATFORM = MetaPlatform()

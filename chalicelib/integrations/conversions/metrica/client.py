"""The Yandex Metrica offline calls platform: a CSV of calls uploaded to a counter, through ``outbound``.

``POST {api}/management/v1/counter/{counter}/offline_conversions/upload_calls`` with the file as
``multipart/form-data`` (part ``file``) and ``Authorization: OAuth <token>``; Metrica answers
``{"uploading": {"id", "status", "line_quantity", ...}}`` and processes the file within about two
hours. ``GET .../offline_conversions/calls_uploading/{id}`` reads the processing status back: right
after the upload (shown in the log), and again by the shared schedule through ``check`` until it is
processed or refused. Errors come as ``{"errors": [{"error_type", "message"}], "code", "message"}``.

Metrica takes files, not events, so the platform asks to be sent in batches on a schedule
(``send_every_minutes``) rather than once per call event.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode

from chalicelib.integrations import outbound
from chalicelib.integrations.conversions import sending
from chalicelib.integrations.conversions import settings as own
from chalicelib.integrations.conversions.metrica import calls
from chalicelib.integrations.conversions.platform import (
    Conversion,
    Destination,
    DisableDestination,
    Outcome,
    TestResult,
    window_ms,
)

TIMEOUT_SECONDS = 15.0
ANSWER_CHARS = 1000
RECHECK_MS = 30 * 60_000  # Metrica processes a file within about two hours: ask every half hour
_COUNTER = re.compile(r"\d{1,12}")
# The statuses Metrica gives an upload, in words; any other is shown as Metrica wrote it.
STATUSES = {
    "UPLOADED": "uploaded; Metrica is processing the file (up to two hours)",
    "PROCESSED": "processed: Metrica joined the calls to their visits",
    "LINKAGE_FAILURE": (
        "Metrica could not join the calls to visits (an unknown ClientID or yclid, or visits older than 21 days)"
    ),
}
DONE, REFUSED = {"PROCESSED"}, {"LINKAGE_FAILURE"}


class MetricaPlatform:
    name = "metrica"
    title = "Yandex Metrica"
    window_days = calls.WINDOW_DAYS
    batch_size = 500
    send_every_minutes = 30  # a file per half hour, not a request per call
    credential_fields: tuple[str, ...] = ("oauth_token",)
    setting_fields: tuple[str, ...] = ("counter_id", "goal_name")
    takes_static_calls = True  # StaticCall 1: a channel number's call, no visit
    takes_adjustments = False

    def check_settings(self, settings: Mapping[str, object]) -> dict[str, object]:
        counter = str(settings.get("counter_id") or "").strip()
        if not _COUNTER.fullmatch(counter):
            raise ValueError("'counter_id' must be the Metrica tag (counter) number, like 12345678")
        out: dict[str, object] = {"counter_id": counter}
        goal = settings.get("goal_name")
        if goal not in (None, ""):
            if not isinstance(goal, str) or len(goal.strip()) > 100:
                raise ValueError("'goal_name' must be text of at most 100 characters")
            out["goal_name"] = goal.strip()
        if "window_days" in settings:
            out["window_days"] = settings["window_days"]
        return out

    def why_not(self, conversion: Conversion, now_ms: int, settings: Mapping[str, object]) -> str | None:
        return calls.why_not(conversion, now_ms, window_ms(self, settings))

    def send(self, destination: Destination, batch: Sequence[Conversion], now_ms: int) -> list[Outcome]:
        # checked again at upload: a batch waits up to send_every_minutes
        outcomes, ready = sending.eligible(self, destination, batch, now_ms)
        chosen = [batch[i] for i in ready]
        for column, indexes in calls.files(chosen):
            for j, outcome in zip(indexes, self._upload(destination, chosen, indexes, column, now_ms), strict=True):
                outcomes[ready[j]] = outcome
        return [o for o in outcomes if o is not None]

    def _upload(
        self,
        destination: Destination,
        batch: Sequence[Conversion],
        indexes: list[int],
        column: str | None,
        now_ms: int,
    ) -> list[Outcome]:
        body, content_type = calls.multipart(calls.csv_text(batch, indexes, column))
        sent = calls.csv_text(batch, indexes, column, mask=True)
        query = {"comment": "call tracking"}
        goal = destination.settings.get("goal_name")
        if goal:
            query["new_goal_name"] = str(goal)
        try:
            reply = self._reply(destination, "POST", "upload_calls?" + urlencode(query), body, content_type, sent)
        except (ConnectionRefusedError, outbound.Unresolved) as exc:
            # Nothing reached Metrica: these rows are tried again. Not raised, which would make the
            # whole batch transient and send a file another part of it already uploaded once more.
            return [Outcome.transient(f"Metrica could not be reached: {exc}", sent=sent)] * len(indexes)
        except OSError as exc:
            # The file may have reached Metrica, which keeps every row it is given (calls carry no id
            # it deduplicates on): sending it again could count each call twice. At most once here.
            why = (
                f"Metrica did not answer the upload ({type(exc).__name__}: {exc}); it may have taken the file, "
                "so it is not sent again (a call is never counted twice): see the uploads list in Metrica"
            )
            return [Outcome.final(why, code="NO_ANSWER", sent=sent)] * len(indexes)
        answer = reply.answer
        shown = answer.body.decode("utf-8", "replace")[:ANSWER_CHARS]
        n = len(indexes)
        if reply.outcome.kind == "sent":
            uploading = reply.data.get("uploading")
            upload_id = str(uploading.get("id")) if isinstance(uploading, dict) and uploading.get("id") else None
            if upload_id is None:
                why = "Metrica accepted the file but named no upload, so its processing cannot be followed"
                return [Outcome.ok(why, sent=sent, answer=shown, status=answer.status)] * n
            assert isinstance(uploading, dict)  # an upload id was read from it
            status = self._status(destination, upload_id) or str(uploading.get("status") or "")
            words = f"Metrica upload {upload_id}: {STATUSES.get(status, status or 'no status yet')}"
            if status in REFUSED:
                return [Outcome.final(words, code=status, sent=sent, answer=shown, status=answer.status)] * n
            return [
                Outcome.ok(
                    words,
                    code=status or None,
                    sent=sent,
                    answer=shown,
                    status=answer.status,
                    ref=upload_id,
                    retry_at_ms=now_ms + RECHECK_MS,  # when the shared schedule first asks ``check``
                )
            ] * n
        return [reply.outcome] * n  # 429 and 5xx transient, other refusals final, in Metrica's words

    def _request(
        self, destination: Destination, method: str, path: str, body: bytes = b"", content_type: str | None = None
    ) -> outbound.Answer:
        return self._reply(destination, method, path, body, content_type).answer

    def _reply(
        self,
        destination: Destination,
        method: str,
        path: str,
        body: bytes = b"",
        content_type: str | None = None,
        sent: str = "",
    ) -> sending.Reply:
        """One request to the counter's offline conversions; a dead token (401, 403) disables the destination."""
        token = destination.credentials.get("oauth_token") or ""
        if not token:
            raise DisableDestination("no Yandex OAuth token is stored for this destination")
        counter = quote(str(destination.settings.get("counter_id") or ""), safe="")
        headers = {"Authorization": f"OAuth {token}", "Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        request = sending.JsonRequest(
            "Metrica",
            method,
            f"{own.get().metrica_api_base_url}/management/v1/counter/{counter}/offline_conversions/{path}",
            headers,
            body=body,
            timeout=TIMEOUT_SECONDS,
            sent=sent,
            words=_words,
            code=_code,
            dead=lambda data, status: status in (401, 403),
            dead_words="refused the OAuth token",
        )
        return sending.send_json(destination, request)

    def _status(self, destination: Destination, upload_id: str) -> str | None:
        """The upload's processing status as Metrica reports it now; None if it could not be read."""
        try:
            answer = self._request(destination, "GET", f"calls_uploading/{quote(upload_id, safe='')}")
        except OSError:
            return None
        uploading = _json(answer.body).get("uploading") if answer.status == 200 else None
        return str(uploading.get("status") or "") or None if isinstance(uploading, dict) else None

    def check(self, destination: Destination, ref: str, now_ms: int) -> Outcome:
        """The processing result of upload ``ref`` (the shared schedule asks until it is final)."""
        try:
            answer = self._request(destination, "GET", f"calls_uploading/{quote(ref, safe='')}")
        except OSError as exc:
            return Outcome.transient(f"Metrica could not be reached: {exc}")
        shown = answer.body.decode("utf-8", "replace")[:ANSWER_CHARS]
        uploading = _json(answer.body).get("uploading")
        if answer.status != 200 or not isinstance(uploading, dict):
            return Outcome.transient(_words(_json(answer.body), answer.status), answer=shown, status=answer.status)
        status = str(uploading.get("status") or "")
        words = f"Metrica upload {ref}: {STATUSES.get(status, status or 'no status yet')}"
        if status in DONE:
            return Outcome.ok(words, code=status, answer=shown, status=answer.status)
        if status in REFUSED:
            return Outcome.final(words, code=status, answer=shown, status=answer.status)
        return Outcome.later(
            now_ms + RECHECK_MS, words, code=status or None, answer=shown, status=answer.status, ref=ref
        )

    def send_test(self, destination: Destination, now_ms: int) -> TestResult:
        """Metrica has no validate-only upload: the test reads the counter's uploads list, which proves
        the token, the counter and the API's reach without putting a made-up call in the reports."""
        try:
            answer = self._request(destination, "GET", "calls_uploadings?limit=1")
        except DisableDestination as exc:
            return TestResult(False, (str(exc),))
        except OSError as exc:
            return TestResult(False, (f"Metrica could not be reached: {exc}",))
        shown = answer.body.decode("utf-8", "replace")[:ANSWER_CHARS]
        if answer.status == 200:
            return TestResult(
                True,
                ("Metrica accepted the token and the counter: call uploads can be made",),
                "GET calls_uploadings",
                shown,
                200,
            )
        return TestResult(
            False, (_words(_json(answer.body), answer.status),), "GET calls_uploadings", shown, answer.status
        )


def _json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body.decode("utf-8", "replace") or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _code(data: dict[str, Any]) -> str | None:
    errors = data.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return str(errors[0].get("error_type") or "") or None
    return None


def _words(data: dict[str, Any], status: int) -> str:
    errors = data.get("errors")
    if isinstance(errors, list) and errors:
        parts = [str(e.get("message")) for e in errors if isinstance(e, dict) and e.get("message")]
        if parts:
            return "Metrica: " + "; ".join(parts)
    if data.get("message"):
        return f"Metrica: {data['message']}"
    return f"Metrica answered HTTP {status} without an error message"


PLATFORM = MetricaPlatform()

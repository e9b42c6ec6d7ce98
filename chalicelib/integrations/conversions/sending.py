"""One request to a platform and its answer read as an ``Outcome``: what every sender shares.

Meta, Metrica, Bitrix24 and HubSpot each send through ``outbound.request`` and then read the
answer the same way: a 2xx is sent (unless the platform says a 2xx can still be an error:
Bitrix24's ``{"error": ...}``); dead credentials disable the destination (``Dead``, carrying the
answer for "send test" to show); a 429 waits for the platform's ``Retry-After`` where it gives one
(``retry_after_default`` set), else it, a 5xx or the platform's own passing error is
``transient`` (the SQS retries); anything else is ``final``, in the platform's words. The
platforms keep only what is theirs: the URL, headers and body, and how to read their errors.

A CRM client makes several requests per call; ``expect`` turns a reply that is not ``sent`` into
``Failed`` so its steps stop at the first refusal and the client returns that outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.integrations import outbound
from chalicelib.integrations.conversions import crm_common as common
from chalicelib.integrations.conversions.platform import Conversion, Destination, DisableDestination, Outcome, Platform

Reading = Callable[[dict[str, Any], int], bool]


@dataclass(frozen=True)
class JsonRequest:
    """A request, and how its platform's answers read (the answer's JSON object and HTTP status)."""

    title: str  # "HubSpot": the words' first word
    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes = b""
    timeout: float = 10.0
    sent: str = ""  # the request as the delivery log shows it (redacted by the platform)
    words: Callable[[dict[str, Any], int], str] | None = None  # an error in the platform's words
    code: Callable[[dict[str, Any]], str | None] | None = None  # its own error code
    dead: Reading | None = None  # dead credentials (default: HTTP 401)
    dead_words: str = "refused the credentials"
    passing: Reading | None = None  # its own "try again later" errors (besides 429 and 5xx)
    ok: Reading | None = None  # a 2xx that is still an error when this says False
    retry_after_default: int | None = None  # honour ``Retry-After`` on a 429 (seconds when none is given)


@dataclass(frozen=True)
class Reply:
    outcome: Outcome  # ``sent`` for a 2xx the platform calls good; else later / transient / final
    data: dict[str, Any]  # the answer's JSON object ({} when it was not one)
    answer: outbound.Answer


class Dead(DisableDestination):
    """The credentials are dead: the destination is disabled; ``outcome`` keeps what was sent and answered."""

    def __init__(self, words: str, outcome: Outcome) -> None:
        super().__init__(words)
        self.outcome = outcome


class Failed(Exception):
    """A step of a multi-request send refused (``expect``); ``outcome`` is what the send answers."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.reason)
        self.outcome = outcome


def send_json(destination: Destination, request: JsonRequest, now_ms: int = 0) -> Reply:
    """Send ``request`` through ``outbound`` and read the answer (see the module's docstring)."""
    try:
        answer = outbound.request(
            request.method,
            request.url,
            headers=dict(request.headers),
            body=request.body,
            timeout=request.timeout,
            allow_loopback=destination.local,
        )
    except outbound.Refused as exc:
        raise DisableDestination(f"{request.title}'s address was refused: {exc}") from None
    raw = common.loads(answer.body)
    data = raw if isinstance(raw, dict) else {}
    status = answer.status
    kw: dict[str, Any] = {"sent": request.sent, "answer": common.shown(answer.body), "status": status}
    if 200 <= status < 300 and (request.ok is None or request.ok(data, status)):
        return Reply(Outcome.ok(f"{request.title} answered {status}", **kw), data, answer)
    words = request.words(data, status) if request.words else f"{request.title} answered HTTP {status}"
    kw["code"] = request.code(data) if request.code else None
    if request.dead(data, status) if request.dead else status == 401:
        raise Dead(f"{request.title} {request.dead_words}: {words}", Outcome.final(words, **kw))
    if status == 429 and request.retry_after_default is not None:
        at = common.retry_after_ms(answer.headers, now_ms, request.retry_after_default)
        return Reply(Outcome.later(at, words, **kw), data, answer)
    if status >= 500 or status == 429 or (request.passing is not None and request.passing(data, status)):
        return Reply(Outcome.transient(words, **kw), data, answer)
    return Reply(Outcome.final(words, **kw), data, answer)


def expect(reply: Reply) -> dict[str, Any]:
    """The reply's JSON when it was sent; ``Failed`` with its outcome otherwise."""
    if reply.outcome.kind != "sent":
        raise Failed(reply.outcome)
    return reply.data


def eligible(
    platform: Platform, destination: Destination, batch: Sequence[Conversion], now_ms: int
) -> tuple[list[Outcome | None], list[int]]:
    """``why_not`` asked again just before sending (a batch may have waited): the outcomes so far (``final``
    for each conversion no longer eligible, None for the rest) and the indexes still to send."""
    outcomes: list[Outcome | None] = [None] * len(batch)
    ready: list[int] = []
    for i, conversion in enumerate(batch):
        why = platform.why_not(conversion, now_ms, destination.settings)
        if why:
            outcomes[i] = Outcome.final(why)
        else:
            ready.append(i)
    return outcomes, ready

"""What a platform client receives and returns: the conversion to send, the outcome, the ``Platform`` protocol.

The shared layer (``destinations``, ``rules``, ``delivery``) decides *which* calls count for a
destination's rule, claims each (call, destination, rule) once, builds one ``Conversion`` per
claim and hands a batch to the destination's platform. The platform only speaks its API: it
says, per conversion, whether it was ``sent``, must be tried ``later`` (at a time, by the
shared schedule: Google's TOO_RECENT_EVENT), is ``final`` (refused for good, the reason in
words: EXPIRED_EVENT, outside the window) or ``transient`` (a timeout, a 5xx: the SQS
delivery tries again on its schedule). It never touches the store, SSM, SQS or the clock
other than through what it is given (``now_ms``), and every request goes through
``chalicelib.integrations.outbound``.

Pure standard library: the registry (``platforms.py``) and the shared layer import this module
without loading any platform's HTTP code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

ConsentState = Literal["granted", "denied", "unspecified"]
# "none": a new conversion; "restatement": its value changed after upload; "retraction": withdrawn
# (a lost deal, a refund, a call no longer matching the rule). Platforms without adjustments answer
# ``Outcome.final`` with the reason for the last two.
AdjustmentKind = Literal["none", "restatement", "retraction"]
OutcomeKind = Literal["sent", "later", "final", "transient"]
DAY_MS = 86_400_000


@dataclass(frozen=True)
class ClickIds:
    """The visit's ad click ids, as the visit carried them (None when absent)."""

    gclid: str | None = None
    gbraid: str | None = None  # Google: iOS app-to-web, no gclid
    wbraid: str | None = None  # Google: iOS web-to-app
    fbclid: str | None = None
    yclid: str | None = None
    msclkid: str | None = None

    def any(self) -> bool:
        return any((self.gclid, self.gbraid, self.wbraid, self.fbclid, self.yclid, self.msclkid))


@dataclass(frozen=True)
class Consent:
    """The visit's consent for ads (Google's ``ad_user_data`` / ``ad_personalization`` vocabulary).

    ``user_data`` is what allows sending the caller's (hashed) phone number; the shared layer
    already leaves ``Conversion.caller_e164`` None unless it is "granted".
    """

    ad_user_data: ConsentState = "unspecified"
    ad_personalization: ConsentState = "unspecified"

    @property
    def user_data(self) -> bool:
        return self.ad_user_data == "granted"


@dataclass(frozen=True)
class CrmCall:
    """What a CRM (Bitrix24, HubSpot: the owner's own system, not an ad platform) receives about the call.

    First-party: the caller's number is here whatever the visit's consent says (the owner's CRM is
    where the owner keeps its callers). Ad platforms never read it.
    """

    caller: str | None = None  # E.164
    called: str | None = None  # the tracking number dialled (the CRM's line)
    forwarded_to: str | None = None
    channel_id: str | None = None
    pool_id: str | None = None
    channel_name: str | None = None
    source: str = ""  # the report row (``attribution.source_key``): a channel id or ``web:<source>``
    utm: tuple[tuple[str, str], ...] = ()  # (utm_source, ...), as the visit carried them
    duration_seconds: int = 0
    status: str = ""  # the call's status (completed, busy, no-answer, ...)
    link: str | None = None  # our dashboard page for the call (the owner's staff, signed in), never Twilio's media URL
    recorded: bool = False
    # A presigned URL of the archived recording (minutes long), filled by the shared layer just before
    # a send, only for a platform with ``takes_recordings`` (Bitrix24 attaches the file itself).
    recording_url: str | None = None
    # A signed, expiring link to our player page for the recording (``recordings/shared.py``): what the
    # CRM's users click (no sign-in); filled by the shared layer for every CRM platform of a recorded call.
    player_link: str | None = None


@dataclass(frozen=True)
class Conversion:
    """One (call, destination, rule) to send: everything any platform needs, nothing it must look up."""

    call_sid: str  # also the deduplication key the platform keeps (orderId, event_id)
    destination_id: str
    rule_id: str
    action: str  # the rule's conversion action (Google Ads resource name) or event name (GA4, Meta, Metrica tag)
    occurred_at_ms: int  # the call's start (epoch ms, UTC)
    value: float | None  # the rule's fixed value or the call's revenue; None: send none
    currency: str  # ISO 4217, upper case
    click_ids: ClickIds = field(default_factory=ClickIds)
    ga_client_id: str | None = None  # GA4 client id (the _ga cookie's "1234.5678")
    ga_session_id: str | None = None
    ym_client_id: str | None = None  # Yandex Metrica ClientID
    landing_url: str | None = None
    click_at_ms: int | None = None  # when the visit began (the click), epoch ms
    consent: Consent = field(default_factory=Consent)
    caller_e164: str | None = None  # only when ``consent.user_data``; never logged as is
    static_call: bool = False  # a channel (static number) call: no visit, no click id
    answered: bool = False
    talk_seconds: int = 0
    hold_seconds: int = 0  # ringing / waiting before the answer
    first_time_caller: bool = False
    tags: tuple[str, ...] = ()
    outcome: str | None = None  # the call's outcome ("lead", "sale", ...), for platforms that label it
    adjustment: AdjustmentKind = "none"
    previous_value: float | None = None  # a restatement's value as first sent
    attempt: int = 1  # 1 for the first try of this (call, destination, rule, adjustment)
    crm: CrmCall = field(default_factory=CrmCall)  # first-party call details, for CRM platforms only

    @property
    def key(self) -> str:
        """The exactly-once key: one delivery per (call, destination, rule)."""
        return f"{self.call_sid}|{self.destination_id}|{self.rule_id}"


@dataclass(frozen=True)
class Outcome:
    """What became of one conversion. ``sent`` and ``answer`` are what went out and what came back,
    already redacted by the platform (no token, no raw phone, no secret), shown in the delivery log."""

    kind: OutcomeKind
    reason: str = ""  # in words, for the owner: "Google Ads: the click is older than the action's window"
    retry_at_ms: int | None = None  # ``later``: when to try again (the shared schedule runs it then)
    code: str | None = None  # the platform's own error code, when it gave one ("EXPIRED_EVENT")
    sent: str = ""  # the request as sent (JSON or CSV text), redacted
    answer: str = ""  # the platform's answer, redacted
    status: int | None = None  # HTTP status, when a request was made
    # A platform that processes uploads later (Metrica: up to two hours) hands back its handle on
    # this one (the upload id); the shared schedule asks ``platform.check(destination, ref, now_ms)``
    # again until it answers ``sent`` or ``final``. None: nothing to read back.
    ref: str | None = None

    @classmethod
    def ok(cls, reason: str = "accepted", **kw: object) -> Outcome:
        return cls("sent", reason, **kw)  # type: ignore[arg-type]

    @classmethod
    def later(cls, retry_at_ms: int, reason: str, **kw: object) -> Outcome:
        return cls("later", reason, retry_at_ms=retry_at_ms, **kw)  # type: ignore[arg-type]

    @classmethod
    def final(cls, reason: str, **kw: object) -> Outcome:
        return cls("final", reason, **kw)  # type: ignore[arg-type]

    @classmethod
    def transient(cls, reason: str, **kw: object) -> Outcome:
        return cls("transient", reason, **kw)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Destination:
    """A destination as a platform sees it: its settings (validated by the platform) and its
    credentials, read from SSM SecureStrings for this send only (never stored elsewhere)."""

    id: str
    platform: str
    settings: Mapping[str, object]
    credentials: Mapping[str, str]
    local: bool = False  # the local stack / tests: loopback endpoints allowed (``Settings.local``)


@dataclass(frozen=True)
class TestResult:
    """``send test``: validate-only where the platform has it; ``messages`` are its validation words."""

    ok: bool
    messages: tuple[str, ...] = ()
    sent: str = ""
    answer: str = ""
    status: int | None = None


class DisableDestination(Exception):
    """Raised by ``send`` when the credentials are dead for good (Google's ``invalid_grant``): the
    shared layer disables the destination, raises an alert naming it, and keeps the claims for later."""


@runtime_checkable
class Platform(Protocol):
    """A platform client. One module-level instance per platform, registered in ``platforms.py``."""

    name: str  # "google_ads", "ga4", "meta", "metrica": the destination's ``platform``
    title: str  # "Google Ads", for pages and log lines
    window_days: int  # the longest a conversion may trail its call (GA4 3, Meta 7, Metrica 21, Google ≤ 90)
    batch_size: int  # most conversions per ``send``
    credential_fields: tuple[str, ...]  # secrets the owner sets once (kept in SSM, never shown again)
    setting_fields: tuple[str, ...]  # plain settings (customer id, measurement id, counter id, ...)
    takes_static_calls: bool  # may it take a call with no visit (Metrica StaticCall); Google: only with a click id
    takes_adjustments: bool

    def check_settings(self, settings: Mapping[str, object]) -> dict[str, object]:
        """The settings, normalised; ``ValueError`` with a message for the owner if not usable."""
        ...

    def why_not(self, conversion: Conversion, now_ms: int, settings: Mapping[str, object]) -> str | None:
        """None if this platform can take the conversion now, else the reason in words
        (no click id, older than the window, a static call it cannot take): logged, never sent."""
        ...

    def send(self, destination: Destination, batch: Sequence[Conversion], now_ms: int) -> list[Outcome]:
        """Send ``batch`` (at most ``batch_size``); one Outcome per conversion, in order.
        Raises ``DisableDestination`` for dead credentials; any other exception is ``transient`` for all."""
        ...

    def send_test(self, destination: Destination, now_ms: int) -> TestResult:
        """A made-up conversion, validate-only where the platform has it."""
        ...


# Optional parts of a platform (read with ``getattr``; the protocol above does not require them):
#
# * ``send_every_minutes: int`` (absent or 0: send as the call events come). A platform that takes
#   files rather than events (Metrica's ``upload_calls``) sets it: the shared layer keeps its claimed
#   conversions and its schedule sends them in batches of ``batch_size`` at this cadence.
# * ``check(destination, ref, now_ms) -> Outcome``: the processing result of an upload an Outcome
#   named in ``ref``: ``sent`` (processed), ``final`` (refused, in words), ``later(at_ms, why)``
#   (still processing: ask again then) or ``transient`` (could not ask just now).


def window_ms(platform: Platform, settings: Mapping[str, object] | None = None) -> int:
    """The platform's window in ms; a destination may narrow it (``window_days`` setting), never widen it."""
    days = platform.window_days
    own = (settings or {}).get("window_days")
    if isinstance(own, int) and 0 < own < days:
        days = own
    return days * DAY_MS

"""The one place that reads the environment: every setting the product has, each declared once.

A setting is one line in ``Settings`` below: its field and type, and a declaration made by its
feature section (``_core(...)``, ``_voice(...)``, ...) naming its environment variable, its default,
the parser that turns the variable's text into the field's type (mypy checks the two agree), and
the line that documents it. ``load()`` and the README's configuration table are both made from these
declarations (``python -m chalicelib.integrations.wiring`` prints the tables, this module's sections
and then each integration's own, declared the same way in its folder's ``settings.py``;
``tests/unit/test_settings.py`` holds the README to them), so a setting is never written twice.

Decisions the issue left open: ``Settings`` stays a NamedTuple (the cheapest class to define, on the
voice path's cold start; no pydantic), whose field defaults are the declarations themselves (read by
``load()`` from ``Settings._field_defaults``; ``Settings()`` alone is never built). A default is text,
parsed like the variable would be, so the README shows exactly what applies; a default that depends
on another setting (the queues' and bucket's names on ``TABLE_PREFIX``) is derived from the values
declared before it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any, Literal, NamedTuple, TypeVar, cast

T = TypeVar("T")

TABLES = ("channels", "pools", "numbers", "calls", "sessions", "leases", "counters")
# Chalice() writes AWS_EXECUTION_ENV into every process that imports the app, Lambda or not
# ("AWS_Lambda aws-chalice/<version>" when it was absent); Lambda's own value names the runtime.
_CHALICE_OUTSIDE_LAMBDA = re.compile(r"AWS_Lambda( aws-chalice/\S+)+")
PLACEHOLDER = "REPLACE-WITH"  # how .chalice/config.json marks what a deployment must fill in
_E164 = re.compile(r"\+[1-9]\d{6,14}")
# A failing subscriber is tried again after these delays (then its message goes to the
# dead-letter queue): close to Svix's schedule, shortened to what one Lambda retry loop needs.
DEFAULT_RETRY_SECONDS = "10,60,300,1800,7200,18000"
MAX_VISIBILITY_SECONDS = 43_200  # SQS's ChangeMessageVisibility limit (12 hours)

# When a declaration's default applies: the variable absent ("unset": an empty value is a value,
# such as an empty TABLE_PREFIX), absent or empty ("empty"), or absent, empty or only spaces ("blank").
When = Literal["unset", "empty", "blank"]


class Refused(ValueError):
    """A parser's refusal of a value; ``load()`` says which variable it was."""


class Declared(NamedTuple):
    """One setting: where it comes from, what applies without it, how it is read, what it means."""

    section: str
    env: str
    default: str  # text, parsed like the variable's own value
    parse: Callable[[str], Any]
    doc: str  # the README's line
    when: When = "unset"
    shown: str | None = None  # the README's default when the text alone would mislead ("AWS", "unset")
    derive: Callable[[Mapping[str, Any]], str] | None = None  # a default made from earlier settings' values
    read: Callable[[Mapping[str, str]], Any] | None = None  # the whole environment, for the odd one out
    also: tuple[str, ...] = ()  # further variables read in its place

    def value(self, env: Mapping[str, str], earlier: Mapping[str, Any]) -> Any:
        if self.read is not None:
            return self.read(env)
        raw = env.get(self.env)
        if raw is None or (self.when == "empty" and not raw) or (self.when == "blank" and not raw.strip()):
            raw = self.derive(earlier) if self.derive is not None else self.default
        try:
            return self.parse(raw)
        except Refused as exc:
            raise ValueError(f"{self.env} {exc}") from None

    def default_shown(self) -> str:
        if self.shown is not None:
            return self.shown
        return f"`{self.default}`" if self.default else "—"


class Section:
    """A feature section's declarations: ``_voice("RING_TIMEOUT_SECONDS", "20", int, "...")``.

    Typed as returning the parsed value so that mypy holds each parser to its field's type; what
    it really returns is the declaration, kept by the NamedTuple as the field's default.
    """

    def __init__(self, name: str, doc: str) -> None:
        self.name = name
        self.doc = doc

    def __call__(
        self,
        env: str,
        default: str,
        parse: Callable[[str], T],
        doc: str,
        *,
        when: When = "unset",
        shown: str | None = None,
        derive: Callable[[Mapping[str, Any]], str] | None = None,
    ) -> T:
        return cast(T, Declared(self.name, env, default, parse, doc, when, shown, derive))

    def computed(
        self, env: str, read: Callable[[Mapping[str, str]], T], doc: str, *, shown: str, also: tuple[str, ...] = ()
    ) -> T:
        """A setting read from the whole environment (local-or-deployed, the region)."""
        return cast(T, Declared(self.name, env, "", str, doc, shown=shown, read=read, also=also))


# --- parsers: a variable's text to a field's value ---------------------------------------------------


def parse_text(raw: str) -> str:
    return raw


def parse_stripped(raw: str) -> str:
    return raw.strip()


def parse_optional(raw: str) -> str | None:
    """An endpoint or value that may be absent: empty is ``None``."""
    return raw or None


def parse_url(raw: str) -> str:
    return raw.strip().rstrip("/")


def parse_url_list(raw: str) -> tuple[str, ...]:
    return tuple(u.strip().rstrip("/") for u in raw.split(",") if u.strip())


def parse_upper(raw: str) -> str:
    return raw.upper()


def parse_bool(raw: str) -> bool:
    word = raw.strip().lower()
    if word not in ("true", "false", "1", "0", "yes", "no"):
        raise Refused(f"must be true or false, not {word!r}")
    return word in ("true", "1", "yes")


def parse_delays(raw: str) -> tuple[int, ...]:
    delays = tuple(int(x) for x in raw.split(",") if x.strip())
    if not delays or any(not 0 <= r <= MAX_VISIBILITY_SECONDS for r in delays):
        raise Refused(f"must be delays of 0 to {MAX_VISIBILITY_SECONDS} seconds, comma-separated")
    return delays


def parse_concurrency(raw: str) -> int:
    value = int(raw)
    if not 2 <= value <= 1000:
        raise Refused(f"must be 2 to 1000 (SQS event sources' maximum concurrency), not {value}")
    return value


def parse_list(raw: str) -> tuple[str, ...]:
    return tuple(a.strip() for a in raw.split(",") if a.strip())


def parse_telephony(raw: str) -> str:
    telephony = raw.strip().lower()
    if telephony not in ("twilio", "local"):
        raise Refused(f"must be 'twilio' or 'local', not {telephony!r}")
    return telephony


def parse_currency(raw: str) -> str:
    code = raw.strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise Refused(f"{raw!r} is not a currency code like USD or EUR")
    return code


def parse_zone(raw: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # only when a zone is read, not at import

    name = raw.strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise Refused(f"{name!r} is not an IANA time zone like America/Los_Angeles") from None
    return name


def bucket_name(name: str) -> str:
    """``name`` made a valid S3 bucket name: lower case, letters, digits and hyphens, 3 to 63 long."""
    cleaned = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:63].strip("-")
    return cleaned if len(cleaned) >= 3 else f"{cleaned}-recordings"


def _local(env: Mapping[str, str]) -> bool:
    """Whether this process is the local stack or the tests: ``CALLTRACKING_LOCAL=true`` (or ``1``),
    and not in Lambda.

    Not the stage's name: a deployed stage may be named ``local`` or ``test`` (setup now refuses
    to make one, but older ones exist), and what local allows (sending to loopback, the demo page,
    cookies without ``Secure``) must never happen in a deployment. Lambda always sets
    ``AWS_LAMBDA_FUNCTION_NAME`` and ``AWS_EXECUTION_ENV`` (``AWS_Lambda_python3.12``), so even a
    deployed stage whose environment says ``CALLTRACKING_LOCAL=true`` is not local. The one
    ``AWS_EXECUTION_ENV`` that does not count is the placeholder Chalice itself writes when the
    variable is absent (``chalice local``, the test client), which never names a runtime. Any other
    ``CALLTRACKING_LOCAL`` value (``yes``, a typo) is not local either: this switch fails towards
    deployed, and never raises.
    """
    if env.get("CALLTRACKING_LOCAL", "").strip().lower() not in ("true", "1"):
        return False
    if "AWS_LAMBDA_FUNCTION_NAME" in env:
        return False
    execution = env.get("AWS_EXECUTION_ENV")
    return execution is None or bool(_CHALICE_OUTSIDE_LAMBDA.fullmatch(execution))


def _region(env: Mapping[str, str]) -> str:
    return env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"


# --- the feature sections, in the README's order -----------------------------------------------------

_core = Section("core", "the deployment, its tables and its DynamoDB client")
_telephony_section = Section("telephony", "the phone network: Twilio, or the local stack's fictional numbers")
_secrets = Section("secrets", "the Twilio auth token and the bootstrap API key, and how SSM is read")
_voice = Section("voice", "Twilio's webhooks: where calls go and how long they may wait")
_leasing = Section("leasing", "the site script's numbers (DNI): what one client may take from a pool")
_events = Section("events", "call events: the stream, the fan-out queue and its retries")
_reports = Section("reports", "reports")
_recordings = Section("recordings", "recordings, copied from Twilio into the stage's private bucket")
_dashboard = Section("dashboard", "the dashboard's sessions and sign-in limits")
SECTIONS = (
    _core,
    _telephony_section,
    _secrets,
    _voice,
    _leasing,
    _events,
    _reports,
    _recordings,
    _dashboard,
)

_AWS = "AWS"


class Settings(NamedTuple):
    """Immutable, like the environment it is read from; one field per setting, declared once."""

    stage: str = _core("STAGE", "dev", parse_text, "`local`, `dev`, `prod`")
    # The local stack (`make run`) or the tests, never a deployment (see ``_local``).
    local: bool = _core.computed(
        "CALLTRACKING_LOCAL",
        _local,
        "`true` (or `1`) in the local stack and the tests only (`make run` and the `local` stage set it): "
        "allows `http://127.0.0.1`/`localhost` webhook targets, serves `/demo`, leaves `Secure` off the "
        "dashboard cookie on plain http and skips the deployed-stage checks. Ignored in Lambda "
        "(`AWS_LAMBDA_FUNCTION_NAME` or Lambda's `AWS_EXECUTION_ENV` set), whatever the stage is named",
        shown="unset",
    )
    region: str = _core.computed(
        "AWS_REGION",
        _region,
        "the AWS region of the tables, queues, bucket and parameters (Lambda sets it)",
        shown="`us-east-1`",
        also=("AWS_DEFAULT_REGION",),
    )
    table_prefix: str = _core("TABLE_PREFIX", "calltracking-dev-", parse_text, "DynamoDB table name prefix")
    dynamodb_endpoint: str | None = _core(
        "DYNAMODB_ENDPOINT",
        "",
        parse_optional,
        "a DynamoDB endpoint other than AWS's (the local stage's embedded one)",
        shown=_AWS,
    )
    public_base_url: str = _core(
        "PUBLIC_BASE_URL",
        "",
        parse_url,
        "this deployment's public URL (API Gateway stage URL); Twilio signatures are checked against it + "
        "the route path, never the Host header",
        shown="— (required)",
    )
    previous_base_urls: tuple[str, ...] = _core(
        "PREVIOUS_BASE_URLS",
        "",
        parse_url_list,
        "public URLs this deployment had before (a custom domain's switch): Twilio signatures made for them "
        "are accepted too until every number is re-pointed (`deploy` sets and clears it)",
        shown="empty",
    )
    default_region: str = _core("DEFAULT_REGION", "US", parse_upper, "country for phone numbers typed without `+`")
    # Everything but Twilio's webhooks (management API, lease endpoint, background work) may wait and retry longer.
    store_connect_timeout: float = _core(
        "STORE_CONNECT_TIMEOUT",
        "2",
        float,
        "DynamoDB client connect timeout (seconds) for everything but Twilio's webhooks (management API, "
        "lease endpoint, reports, background work), which may wait and retry longer",
        when="blank",
    )
    store_read_timeout: float = _core(
        "STORE_READ_TIMEOUT", "10", float, "the same clients' read timeout (seconds)", when="blank"
    )
    store_max_attempts: int = _core(
        "STORE_MAX_ATTEMPTS", "4", int, "the same clients' attempts per request", when="blank"
    )
    call_retention_days: int = _core(
        "CALL_RETENTION_DAYS",
        "730",
        int,
        "calls (caller numbers, recordings) are deleted this long after the call: DynamoDB TTL, then the "
        "recording with its call; keep `infra/tables.yaml`'s recordings lifecycle rule equal",
        when="blank",
    )
    caller_mask_days: int = _core(
        "CALLER_MASK_DAYS",
        "0",
        int,
        "caller numbers (and their city, state, country) are taken off calls this long after the call; the call "
        "and the reports' counts stay until `CALL_RETENTION_DAYS` (0: kept as long as the call)",
        when="blank",
    )
    recording_retention_days: int = _core(
        "RECORDING_RETENTION_DAYS",
        "0",
        int,
        "recordings are deleted (S3 and Twilio) this long after the call, sooner than the call itself (0: kept "
        "as long as the call)",
        when="blank",
    )
    caller_job_threshold: int = _core(
        "CALLER_JOB_THRESHOLD",
        "200",
        int,
        "a caller with more calls than this is exported or erased by a background job (`GET`/`DELETE "
        "/v1/callers/{number}` answer 202 with the job to follow); fewer are done within the request",
        when="blank",
    )
    audit_retention_days: int = _core(
        "AUDIT_RETENTION_DAYS",
        "400",
        int,
        "entries of the audit log (who changed what, sign-ins) are deleted this long after the change (DynamoDB TTL)",
        when="blank",
    )

    telephony: str = _telephony_section(
        "TELEPHONY", "twilio", parse_telephony, "`twilio` (real REST API) or `local` (fictional numbers, no network)"
    )
    twilio_account_sid: str = _telephony_section("TWILIO_ACCOUNT_SID", "", parse_text, "your Twilio account")
    twilio_api_base_url: str | None = _telephony_section(
        "TWILIO_API_BASE_URL",
        "",
        parse_optional,
        "override Twilio's REST base URL (the contract tests point it at Prism)",
        shown="Twilio's",
    )
    twilio_lookups_base_url: str | None = _telephony_section(
        "TWILIO_LOOKUPS_BASE_URL",
        "",
        parse_optional,
        "override Twilio's Lookup base URL (asked once per new line: is its phone a mobile, so screened by default?)",
        shown="Twilio's",
    )
    local_number_area_codes: tuple[str, ...] = _telephony_section(
        "LOCAL_NUMBER_AREA_CODES",
        "201,202,212,312,415",
        parse_list,
        "the area codes the local provider's fictional numbers are made in (`TELEPHONY=local`)",
    )

    # Secrets: a plain value (local stage) or the name of an SSM SecureString parameter
    # (deployed stages), read by chalicelib/core/secrets.py within the limits below.
    twilio_auth_token: str = _secrets(
        "TWILIO_AUTH_TOKEN", "", parse_text, "the Twilio auth token itself (local stage only)"
    )
    twilio_auth_token_param: str = _secrets(
        "TWILIO_AUTH_TOKEN_PARAM", "", parse_text, "the SSM SecureString name holding the Twilio auth token (deployed)"
    )
    api_key: str = _secrets("API_KEY", "", parse_text, "the bootstrap management API key itself (local stage only)")
    api_key_param: str = _secrets(
        "API_KEY_PARAM", "", parse_text, "the SSM SecureString name holding the bootstrap management API key (deployed)"
    )
    caller_pepper: str = _secrets(
        "CALLER_PEPPER",
        "",
        parse_text,
        "the caller-hash key ring itself (local stage and tests only): `VERSION:SECRET` entries, newest first",
    )
    caller_pepper_param: str = _secrets(
        "CALLER_PEPPER_PARAM",
        "",
        parse_text,
        "the SSM SecureString name holding the caller-hash key ring (deployed; read with the Twilio auth token "
        "in one request; `calltracking setup` makes it, `calltracking caller-key rotate` rotates it)",
    )
    ssm_endpoint: str | None = _secrets(
        "SSM_ENDPOINT",
        "",
        parse_optional,
        "an SSM endpoint other than AWS's (tests and the local stack only)",
        shown=_AWS,
    )
    # SSM is read on the voice path, which must answer inside Twilio's 15 s: short and few.
    ssm_connect_timeout: float = _secrets(
        "SSM_CONNECT_TIMEOUT",
        "0.5",
        float,
        "connect timeout (seconds) for reading those parameters: the voice webhook may have to wait for one "
        '(see "A call is never dropped")',
        when="blank",
    )
    ssm_read_timeout: float = _secrets(
        "SSM_READ_TIMEOUT", "0.5", float, "read timeout (seconds) for them", when="blank"
    )
    ssm_max_attempts: int = _secrets(
        "SSM_MAX_ATTEMPTS",
        "2",
        int,
        "attempts for one read: a further attempt follows at once after throttling or a fast failure, never "
        "after a timeout",
        when="blank",
    )
    secrets_refresh_seconds: float = _secrets(
        "SECRETS_REFRESH_SECONDS",
        "300",
        float,
        "a secret read from SSM is read again after this long (rotation without a redeploy)",
        when="blank",
    )
    secrets_retry_seconds: float = _secrets(
        "SECRETS_RETRY_SECONDS",
        "60",
        float,
        "after a failed refresh the last good value is kept this long before SSM is asked again",
        when="blank",
    )

    default_forward_to: str | None = _voice(
        "DEFAULT_FORWARD_TO",
        "",
        parse_optional,
        "where a call goes when neither the database nor the number's own URL names its line's phone (an "
        "unknown number, or one bought before URLs carried the phone, while DynamoDB is down); without it such "
        "callers hear a neutral apology. Empty on a deployed stage is a warning in the logs at each container's "
        "first request and in `settings.problems()` (for a deploy or status command), never an error",
    )
    ring_timeout_seconds: int = _voice(
        "RING_TIMEOUT_SECONDS",
        "20",
        int,
        "how long the business phone rings before the call counts as missed (or goes on to the next phone or "
        "voicemail). Twilio rings about 5 s longer than a `<Dial>` timeout, so the `<Dial>` says this minus 5; "
        "20 s ends the ringing before a mobile's own voicemail (typically after 25 s) can pick up and count "
        "as answered. A line's `ring_seconds` overrides it",
        when="blank",
    )
    # The webhook path must answer well inside Twilio's 15 s limit.
    webhook_connect_timeout: float = _voice(
        "WEBHOOK_CONNECT_TIMEOUT",
        "0.5",
        float,
        "DynamoDB client connect timeout (seconds) for Twilio's webhooks only, so the voice webhook answers "
        "well inside Twilio's 15 s",
        when="blank",
    )
    webhook_read_timeout: float = _voice(
        "WEBHOOK_READ_TIMEOUT", "0.8", float, "the same clients' read timeout (seconds)", when="blank"
    )
    webhook_max_attempts: int = _voice(
        "WEBHOOK_MAX_ATTEMPTS", "2", int, "the same clients' attempts per request", when="blank"
    )

    lease_history_days: int = _leasing(
        "LEASE_HISTORY_DAYS", "90", int, "visitor sessions and the lease history are kept this long", when="blank"
    )
    leases_per_ip_hour: int = _leasing(
        "LEASES_PER_IP_HOUR",
        "600",
        int,
        "new leases one client address (API Gateway's `sourceIp`) may start in one pool per hour; more get the "
        "page's own number (`rate_limited`). It does not bound what the address holds (renewals keep leases): "
        "`LEASES_HELD_PER_IP` does",
        when="blank",
    )
    leases_held_per_ip: int = _leasing(
        "LEASES_HELD_PER_IP",
        "20",
        int,
        "numbers one client address may hold in one pool at once (leases it started that still run, renewed "
        "ones included); more get the page's own number (`rate_limited`). Lower it for pools of fewer than "
        "about twice this many numbers",
        when="blank",
    )
    leases_per_visitor_hour: int = _leasing(
        "LEASES_PER_VISITOR_HOUR", "30", int, "new leases one visitor id may start in one pool per hour", when="blank"
    )
    lease_max_seconds: int = _leasing(
        "LEASE_MAX_SECONDS",
        "14400",
        int,
        "the longest one lease is renewed; then its number goes back to the pool",
        when="blank",
        shown="`14400` (4 h)",
    )

    # Deployed: a literal ARN from the infra stack.
    calls_stream_arn: str = _events(
        "CALLS_STREAM_ARN",
        "",
        parse_stripped,
        "the calls table's stream (the infra stack's `CallsStreamArn` output); empty: no stream handler",
    )
    sqs_endpoint: str | None = _events(
        "SQS_ENDPOINT",
        "",
        parse_optional,
        "an SQS endpoint other than AWS's (the local stage's embedded one)",
        shown=_AWS,
    )
    events_queue: str = _events(
        "EVENTS_QUEUE",
        "",
        parse_text,
        "the call events' queue",
        when="empty",
        shown="`<TABLE_PREFIX>events`",
        derive=lambda v: f"{v['table_prefix']}events",
    )
    events_dlq: str = _events(
        "EVENTS_DLQ",
        "",
        parse_text,
        "the call events' dead-letter queue",
        when="empty",
        shown="`<TABLE_PREFIX>events-dlq`",
        derive=lambda v: f"{v['table_prefix']}events-dlq",
    )
    events_max_concurrency: int = _events(
        "EVENTS_MAX_CONCURRENCY",
        "5",
        parse_concurrency,
        "the most copies of the events queue's handler Lambda runs at once (2 to 1000, SQS's range): a burst "
        "of events waits in the queue instead of taking the account's concurrency from the voice webhook",
        when="blank",
    )
    event_retry_seconds: tuple[int, ...] = _events(
        "EVENT_RETRY_SECONDS",
        DEFAULT_RETRY_SECONDS,
        parse_delays,
        "delays before a failing subscriber is tried again; after the last, the dead-letter queue",
    )

    report_timezone: str = _reports(
        "REPORT_TIMEZONE",
        "UTC",
        parse_zone,
        "the business's default time zone (IANA) until one is saved on the dashboard's Settings page "
        "(which then wins): the days and hours reports count calls on",
        when="blank",
    )
    currency: str = _reports(
        "CURRENCY",
        "USD",
        parse_currency,
        "the business's currency (ISO 4217 code): every amount is shown in it (the business profile may override it)",
        when="blank",
    )

    s3_endpoint: str | None = _recordings(
        "S3_ENDPOINT",
        "",
        parse_optional,
        "an S3 endpoint other than AWS's (the local stage's embedded one; path-style addressing)",
        shown=_AWS,
    )
    recordings_bucket: str = _recordings(
        "RECORDINGS_BUCKET",
        "",
        parse_stripped,
        "the stage's private S3 bucket for call recordings (the infra stack's `RecordingsBucketName` output)",
        when="blank",
        shown="`<TABLE_PREFIX>recordings` (made a valid bucket name)",
        derive=lambda v: bucket_name(f"{v['table_prefix']}recordings"),
    )
    recordings_delete_at_twilio: bool = _recordings(
        "RECORDINGS_DELETE_AT_TWILIO",
        "true",
        parse_bool,
        "delete Twilio's copy of a recording once ours is verified (size and SHA-256)",
        when="blank",
    )
    recording_url_seconds: int = _recordings(
        "RECORDING_URL_SECONDS", "300", int, "how long a presigned playback URL works", when="blank"
    )
    recording_link_days: int = _recordings(
        "RECORDING_LINK_DAYS",
        "30",
        int,
        "how long a signed player link sent to a CRM works (its users listen without a sign-in; 1 to 400)",
        when="blank",
    )

    dashboard_idle_minutes: int = _dashboard(
        "DASHBOARD_IDLE_MINUTES", "30", int, "a dashboard session ends after this long without a request", when="blank"
    )
    dashboard_session_hours: int = _dashboard(
        "DASHBOARD_SESSION_HOURS",
        "12",
        int,
        "a dashboard session ends this long after sign-in, however busy",
        when="blank",
    )
    dashboard_signin_window_minutes: int = _dashboard(
        "DASHBOARD_SIGNIN_WINDOW_MINUTES", "15", int, "the window in which failed sign-ins are counted", when="blank"
    )
    dashboard_signin_email_ip_limit: int = _dashboard(
        "DASHBOARD_SIGNIN_EMAIL_IP_LIMIT",
        "5",
        int,
        "failed sign-ins per email from one client address in one window; past it 429 with `Retry-After`",
        when="blank",
    )
    dashboard_signin_email_ceiling: int = _dashboard(
        "DASHBOARD_SIGNIN_EMAIL_CEILING",
        "100",
        int,
        "failed sign-ins per email in one window from addresses its user has not signed in from in the last "
        "30 days (replaces `DASHBOARD_SIGNIN_EMAIL_LIMIT`, now ignored)",
        when="blank",
    )
    dashboard_signin_ip_limit: int = _dashboard(
        "DASHBOARD_SIGNIN_IP_LIMIT",
        "50",
        int,
        "failed sign-ins per client address in one window; past it 429 with `Retry-After`",
        when="blank",
    )

    def table_name(self, name: str) -> str:
        if name not in TABLES:
            raise KeyError(name)
        return f"{self.table_prefix}{name}"


DECLARED: dict[str, Declared] = cast("dict[str, Declared]", Settings._field_defaults)

NT = TypeVar("NT", bound=tuple[Any, ...])  # a NamedTuple of declarations


def declared(cls: type[Any]) -> dict[str, Declared]:
    """A settings class's declarations (``Settings`` or an integration's own), field by field."""
    return cast("dict[str, Declared]", cls._field_defaults)


def load_section(cls: type[NT], env: Mapping[str, str], earlier: Mapping[str, Any]) -> NT:
    """``cls`` (a NamedTuple whose defaults are declarations) read from ``env``, in declaration order;
    a derived default reads ``earlier`` (the core settings' values) and the fields declared before it."""
    values: dict[str, Any] = {}
    for field, declaration in declared(cls).items():
        values[field] = declaration.value(env, {**earlier, **values})
    made: NT = cls(**values)
    return made


def load(env: Mapping[str, str] | None = None) -> Settings:
    """Build settings from an environment mapping (``os.environ`` by default), in declaration order
    (a derived default reads the settings declared before it)."""
    return load_section(Settings, dict(os.environ if env is None else env), {})


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read from the environment once."""
    return load()


_sections: dict[type[Any], tuple[Settings, Any]] = {}


def section(cls: type[NT]) -> NT:
    """An integration's own settings (``integrations/<name>/settings.py`` declares ``cls`` with its
    own ``Section``), read from the process's environment once per ``get_settings()`` value: they
    are read again exactly when the core settings are (``get_settings.cache_clear()``)."""
    core = get_settings()
    hit = _sections.get(cls)
    if hit is not None and hit[0] is core:
        return cast(NT, hit[1])
    value = load_section(cls, os.environ, core._asdict())
    _sections[cls] = (core, value)
    return value


def readme_table(extra: tuple[tuple[Section, type[Any]], ...] = ()) -> str:
    """The README's configuration tables, one per section, made from the declarations: the core
    sections, then each integration's (``extra``: its section and its settings class)."""
    out: list[str] = []
    tables = [(sec, DECLARED) for sec in SECTIONS] + [(sec, declared(cls)) for sec, cls in extra]
    for sec, fields in tables:
        rows = [d for d in fields.values() if d.section == sec.name]
        out += [f"**{sec.name}**: {sec.doc}", "", "| variable | meaning | default |", "|---|---|---|"]
        for d in rows:
            names = " or ".join(f"`{n}`" for n in (d.env, *d.also))
            out.append(f"| {names} | {d.doc} | {d.default_shown()} |")
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def problems(s: Settings | None = None) -> list[str]:
    """What is wrong or missing in a deployment's settings, in words an operator can act on.

    Logged as warnings at a container's first request, and for a deploy or status command
    to show before it deploys. Never raised: a bad setting must not stop the voice webhook
    or the fallback from forwarding calls.
    """
    s = s or get_settings()
    deployed = not s.local
    found: list[str] = []
    if not s.default_forward_to:
        if deployed:
            found.append(
                "DEFAULT_FORWARD_TO is empty: a call to a number this deployment does not know, or to a "
                "number bought before numbers carried their line's phone while DynamoDB is down, hears an "
                "apology instead of reaching anyone; set it to the business's main phone (E.164)"
            )
    elif not _E164.fullmatch(s.default_forward_to):
        found.append(f"DEFAULT_FORWARD_TO {s.default_forward_to!r} is not an E.164 phone number like +12025550100")
    if not s.public_base_url or PLACEHOLDER in s.public_base_url:
        found.append(
            "PUBLIC_BASE_URL is not set: Twilio's signatures cannot be checked and no number can be bought; "
            "set it to the API's URL including the stage (`chalice url`)"
        )
    if deployed:
        if s.telephony == "twilio" and (not s.twilio_account_sid or PLACEHOLDER in s.twilio_account_sid):
            found.append("TWILIO_ACCOUNT_SID is not set: numbers cannot be bought or re-pointed")
        if not s.twilio_auth_token_param:
            found.append(
                "TWILIO_AUTH_TOKEN_PARAM is not set: deployed stages read the Twilio auth token from SSM; "
                "without it every call is forwarded unverified and nothing is stored"
                if not s.twilio_auth_token
                else "TWILIO_AUTH_TOKEN is set in plain text on a deployed stage: keep it in SSM "
                "(TWILIO_AUTH_TOKEN_PARAM)"
            )
        if not s.caller_pepper_param:
            found.append(
                "CALLER_PEPPER_PARAM is not set: deployed stages read the caller-hash key from SSM; "
                "without it no call is stored (run calltracking setup, which makes it)"
                if not s.caller_pepper
                else "CALLER_PEPPER is set in plain text on a deployed stage: keep it in SSM (CALLER_PEPPER_PARAM)"
            )
        if s.ssm_endpoint:
            found.append("SSM_ENDPOINT is set on a deployed stage: it is for tests and the local stack only")
    return found

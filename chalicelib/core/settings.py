"""The one place that reads the environment: every setting the product has."""

from __future__ import annotations

import os
import re
from functools import lru_cache
from typing import NamedTuple

TABLES = ("channels", "pools", "numbers", "calls", "sessions", "leases", "counters")
# Chalice() writes AWS_EXECUTION_ENV into every process that imports the app, Lambda or not
# ("AWS_Lambda aws-chalice/<version>" when it was absent); Lambda's own value names the runtime.
_CHALICE_OUTSIDE_LAMBDA = re.compile(r"AWS_Lambda( aws-chalice/\S+)+")
PLACEHOLDER = "REPLACE-WITH"  # how .chalice/config.json marks what a deployment must fill in
_E164 = re.compile(r"\+[1-9]\d{6,14}")


class Settings(NamedTuple):
    """Immutable, like the environment it is read from (a NamedTuple: cheaper to define than a dataclass)."""

    stage: str
    # The local stack (`make run`) or the tests, never a deployment: loopback webhook targets, the
    # demo page, cookies without Secure on http, and no deployed-stage checks (see ``_local``).
    local: bool
    region: str
    table_prefix: str
    dynamodb_endpoint: str | None
    telephony: str  # "twilio" or "local"
    public_base_url: str
    twilio_account_sid: str
    # Secrets: a plain value (local stage) or the name of an SSM SecureString parameter
    # (deployed stages), read by chalicelib/core/secrets.py within the limits below.
    twilio_auth_token: str
    twilio_auth_token_param: str
    api_key: str
    api_key_param: str
    ssm_endpoint: str | None  # tests and the local stack only (a fault-injecting or moto's server)
    # SSM is read on the voice path, which must answer inside Twilio's 15 s: short and few.
    ssm_connect_timeout: float
    ssm_read_timeout: float
    ssm_max_attempts: int
    secrets_refresh_seconds: float  # a good value is read again after this long
    secrets_retry_seconds: float  # after a failed refresh the last good value is kept this long
    twilio_api_base_url: str | None
    default_forward_to: str | None
    default_region: str  # region for phone numbers written without a country code
    ring_timeout_seconds: int
    # The webhook path must answer well inside Twilio's 15 s limit.
    webhook_connect_timeout: float
    webhook_read_timeout: float
    webhook_max_attempts: int
    # Everything else (management API, lease endpoint, background work) may wait and retry longer.
    store_connect_timeout: float
    store_read_timeout: float
    store_max_attempts: int
    local_number_area_codes: tuple[str, ...]
    call_retention_days: int
    lease_history_days: int
    # Call events: the calls table's stream (deployed: a literal ARN from the infra stack),
    # the fan-out queue and its dead-letter queue, and the retry delays of a failing subscriber.
    calls_stream_arn: str
    sqs_endpoint: str | None
    events_queue: str
    events_dlq: str
    event_retry_seconds: tuple[int, ...]
    outbound_webhook_retry_seconds: tuple[int, ...]  # between attempts to deliver to a webhook endpoint
    report_timezone: str  # IANA name: the business's days, for reports
    # What one client may take from a pool (chalicelib/leasing/limits.py).
    leases_per_ip_hour: int
    leases_held_per_ip: int  # numbers one client address may hold in one pool at once
    leases_per_visitor_hour: int
    lease_max_seconds: int
    # Recordings: copied from Twilio into the stage's private bucket (chalicelib/recordings/).
    s3_endpoint: str | None
    recordings_bucket: str
    recordings_delete_at_twilio: bool  # delete Twilio's copy once ours is verified
    recording_url_seconds: int  # how long a presigned playback URL works
    # The dashboard's sign-in (chalicelib/dashboard/): sessions end after this long without a
    # request, and this long after sign-in whatever happens; failed sign-ins in one window per
    # email from one client address, per email from addresses its user never signed in from (the
    # ceiling), and per client address, past which sign-in answers 429 without checking the password.
    dashboard_idle_minutes: int
    dashboard_session_hours: int
    dashboard_signin_window_minutes: int
    dashboard_signin_email_ip_limit: int
    dashboard_signin_email_ceiling: int
    dashboard_signin_ip_limit: int
    # Alerts and summaries (chalicelib/integrations/alerts/): the SES sender, where the
    # Slack/Telegram secrets live in SSM, the Telegram Bot API's base (a local stub in tests).
    alerts_from_email: str
    ses_endpoint: str | None  # tests and the local stack only (moto's server)
    alerts_ssm_prefix: str
    telegram_api_base_url: str
    alert_pool_exhausted_per_hour: int  # "pool exhausted more than N times in an hour"
    alert_limit_count: int  # a recipient's default limit: this many alerts ...
    alert_limit_minutes: int  # ... per this many minutes, then one digest
    summary_hour: int  # the default local hour summaries are sent at

    def table_name(self, name: str) -> str:
        if name not in TABLES:
            raise KeyError(name)
        return f"{self.table_prefix}{name}"


# A failing subscriber is tried again after these delays (then its message goes to the
# dead-letter queue): close to Svix's schedule, shortened to what one Lambda retry loop needs.
DEFAULT_RETRY_SECONDS = "10,60,300,1800,7200,18000"
# Webhook endpoints: Svix's schedule after the first, immediate attempt.
DEFAULT_OUTBOUND_WEBHOOK_RETRY_SECONDS = "5,300,1800,7200,18000,36000,36000"
MAX_VISIBILITY_SECONDS = 43_200  # SQS's ChangeMessageVisibility limit (12 hours)


def _zone(name: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"REPORT_TIMEZONE {name!r} is not an IANA time zone like America/Los_Angeles") from None
    return name


def _int(env: dict[str, str], key: str, default: int) -> int:
    raw = env.get(key, "")
    return int(raw) if raw.strip() else default


def _bool(env: dict[str, str], key: str, default: bool) -> bool:
    raw = env.get(key, "").strip().lower()
    if not raw:
        return default
    if raw not in ("true", "false", "1", "0", "yes", "no"):
        raise ValueError(f"{key} must be true or false, not {raw!r}")
    return raw in ("true", "1", "yes")


def bucket_name(name: str) -> str:
    """``name`` made a valid S3 bucket name: lower case, letters, digits and hyphens, 3 to 63 long."""
    cleaned = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:63].strip("-")
    return cleaned if len(cleaned) >= 3 else f"{cleaned}-recordings"


def _float(env: dict[str, str], key: str, default: float) -> float:
    raw = env.get(key, "")
    return float(raw) if raw.strip() else default


def _delays(env: dict[str, str], key: str, default: str) -> tuple[int, ...]:
    delays = tuple(int(x) for x in env.get(key, default).split(",") if x.strip())
    if not delays or any(not 0 <= r <= MAX_VISIBILITY_SECONDS for r in delays):
        raise ValueError(f"{key} must be delays of 0 to {MAX_VISIBILITY_SECONDS} seconds, comma-separated")
    return delays


def _local(env: dict[str, str]) -> bool:
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


def load(env: dict[str, str] | None = None) -> Settings:
    """Build settings from an environment mapping (``os.environ`` by default)."""
    e = dict(os.environ if env is None else env)
    telephony = e.get("TELEPHONY", "twilio").strip().lower()
    if telephony not in ("twilio", "local"):
        raise ValueError(f"TELEPHONY must be 'twilio' or 'local', not {telephony!r}")
    base = e.get("PUBLIC_BASE_URL", "").strip().rstrip("/")
    area_codes = tuple(
        a.strip() for a in e.get("LOCAL_NUMBER_AREA_CODES", "201,202,212,312,415").split(",") if a.strip()
    )
    prefix = e.get("TABLE_PREFIX", "calltracking-dev-")
    retries = _delays(e, "EVENT_RETRY_SECONDS", DEFAULT_RETRY_SECONDS)
    hook_retries = _delays(e, "OUTBOUND_WEBHOOK_RETRY_SECONDS", DEFAULT_OUTBOUND_WEBHOOK_RETRY_SECONDS)
    return Settings(
        stage=e.get("STAGE", "dev"),
        local=_local(e),
        region=e.get("AWS_REGION") or e.get("AWS_DEFAULT_REGION") or "us-east-1",
        table_prefix=prefix,
        dynamodb_endpoint=e.get("DYNAMODB_ENDPOINT") or None,
        telephony=telephony,
        public_base_url=base,
        twilio_account_sid=e.get("TWILIO_ACCOUNT_SID", ""),
        twilio_auth_token=e.get("TWILIO_AUTH_TOKEN", ""),
        twilio_auth_token_param=e.get("TWILIO_AUTH_TOKEN_PARAM", ""),
        api_key=e.get("API_KEY", ""),
        api_key_param=e.get("API_KEY_PARAM", ""),
        ssm_endpoint=e.get("SSM_ENDPOINT") or None,
        ssm_connect_timeout=_float(e, "SSM_CONNECT_TIMEOUT", 0.5),
        ssm_read_timeout=_float(e, "SSM_READ_TIMEOUT", 0.5),
        ssm_max_attempts=_int(e, "SSM_MAX_ATTEMPTS", 2),
        secrets_refresh_seconds=_float(e, "SECRETS_REFRESH_SECONDS", 300.0),
        secrets_retry_seconds=_float(e, "SECRETS_RETRY_SECONDS", 60.0),
        twilio_api_base_url=e.get("TWILIO_API_BASE_URL") or None,
        default_forward_to=e.get("DEFAULT_FORWARD_TO") or None,
        default_region=e.get("DEFAULT_REGION", "US").upper(),
        ring_timeout_seconds=_int(e, "RING_TIMEOUT_SECONDS", 20),
        webhook_connect_timeout=_float(e, "WEBHOOK_CONNECT_TIMEOUT", 0.5),
        webhook_read_timeout=_float(e, "WEBHOOK_READ_TIMEOUT", 0.8),
        webhook_max_attempts=_int(e, "WEBHOOK_MAX_ATTEMPTS", 2),
        store_connect_timeout=_float(e, "STORE_CONNECT_TIMEOUT", 2.0),
        store_read_timeout=_float(e, "STORE_READ_TIMEOUT", 10.0),
        store_max_attempts=_int(e, "STORE_MAX_ATTEMPTS", 4),
        local_number_area_codes=area_codes,
        call_retention_days=_int(e, "CALL_RETENTION_DAYS", 730),
        lease_history_days=_int(e, "LEASE_HISTORY_DAYS", 90),
        calls_stream_arn=e.get("CALLS_STREAM_ARN", "").strip(),
        sqs_endpoint=e.get("SQS_ENDPOINT") or None,
        events_queue=e.get("EVENTS_QUEUE") or f"{prefix}events",
        events_dlq=e.get("EVENTS_DLQ") or f"{prefix}events-dlq",
        event_retry_seconds=retries,
        outbound_webhook_retry_seconds=hook_retries,
        report_timezone=_zone(e.get("REPORT_TIMEZONE", "").strip() or "UTC"),
        leases_per_ip_hour=_int(e, "LEASES_PER_IP_HOUR", 600),
        leases_held_per_ip=_int(e, "LEASES_HELD_PER_IP", 20),
        leases_per_visitor_hour=_int(e, "LEASES_PER_VISITOR_HOUR", 30),
        lease_max_seconds=_int(e, "LEASE_MAX_SECONDS", 4 * 3600),
        s3_endpoint=e.get("S3_ENDPOINT") or None,
        recordings_bucket=e.get("RECORDINGS_BUCKET", "").strip() or bucket_name(f"{prefix}recordings"),
        recordings_delete_at_twilio=_bool(e, "RECORDINGS_DELETE_AT_TWILIO", True),
        recording_url_seconds=_int(e, "RECORDING_URL_SECONDS", 300),
        dashboard_idle_minutes=_int(e, "DASHBOARD_IDLE_MINUTES", 30),
        dashboard_session_hours=_int(e, "DASHBOARD_SESSION_HOURS", 12),
        dashboard_signin_window_minutes=_int(e, "DASHBOARD_SIGNIN_WINDOW_MINUTES", 15),
        dashboard_signin_email_ip_limit=_int(e, "DASHBOARD_SIGNIN_EMAIL_IP_LIMIT", 5),
        dashboard_signin_email_ceiling=_int(e, "DASHBOARD_SIGNIN_EMAIL_CEILING", 100),
        dashboard_signin_ip_limit=_int(e, "DASHBOARD_SIGNIN_IP_LIMIT", 50),
        alerts_from_email=e.get("ALERTS_FROM_EMAIL", "").strip(),
        ses_endpoint=e.get("SES_ENDPOINT") or None,
        alerts_ssm_prefix=(
            e.get("ALERTS_SSM_PREFIX", "").strip() or f"/calltracking/{e.get('STAGE', 'dev')}/alerts"
        ).rstrip("/"),
        telegram_api_base_url=(e.get("TELEGRAM_API_BASE_URL", "").strip() or "https://api.telegram.org").rstrip("/"),
        alert_pool_exhausted_per_hour=_int(e, "ALERT_POOL_EXHAUSTED_PER_HOUR", 10),
        alert_limit_count=_int(e, "ALERT_LIMIT_COUNT", 5),
        alert_limit_minutes=_int(e, "ALERT_LIMIT_MINUTES", 10),
        summary_hour=_int(e, "SUMMARY_HOUR", 8),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read from the environment once."""
    return load()


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
        if s.ssm_endpoint:
            found.append("SSM_ENDPOINT is set on a deployed stage: it is for tests and the local stack only")
        if s.ses_endpoint:
            found.append("SES_ENDPOINT is set on a deployed stage: it is for tests and the local stack only")
        if not s.alerts_from_email or PLACEHOLDER in s.alerts_from_email:
            found.append(
                "ALERTS_FROM_EMAIL is not set: alert and summary emails cannot be sent; set it to an address "
                "of a domain verified in SES (GET /v1/alerts/sender says whether SES will send from it)"
            )
    if s.alerts_from_email and "@" not in s.alerts_from_email:
        found.append(f"ALERTS_FROM_EMAIL {s.alerts_from_email!r} is not an email address")
    if not 0 <= s.summary_hour <= 23:
        found.append(f"SUMMARY_HOUR {s.summary_hour} is not an hour of the day (0 to 23)")
    return found

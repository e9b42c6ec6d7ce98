"""The one place that reads the environment: every setting the product has."""

from __future__ import annotations

import os
import re
from functools import lru_cache
from typing import NamedTuple

TABLES = ("channels", "pools", "numbers", "calls", "sessions", "leases", "counters")


class Settings(NamedTuple):
    """Immutable, like the environment it is read from (a NamedTuple: cheaper to define than a dataclass)."""

    stage: str
    region: str
    table_prefix: str
    dynamodb_endpoint: str | None
    telephony: str  # "twilio" or "local"
    public_base_url: str
    twilio_account_sid: str
    # Secrets: a plain value (local stage) or the name of an SSM SecureString
    # parameter read through Powertools parameters (deployed stages).
    twilio_auth_token: str
    twilio_auth_token_param: str
    api_key: str
    api_key_param: str
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
    report_timezone: str  # IANA name: the business's days, for reports
    # Recordings: copied from Twilio into the stage's private bucket (chalicelib/recordings/).
    s3_endpoint: str | None
    recordings_bucket: str
    recordings_delete_at_twilio: bool  # delete Twilio's copy once ours is verified
    recording_url_seconds: int  # how long a presigned playback URL works

    def table_name(self, name: str) -> str:
        if name not in TABLES:
            raise KeyError(name)
        return f"{self.table_prefix}{name}"


# A failing subscriber is tried again after these delays (then its message goes to the
# dead-letter queue): close to Svix's schedule, shortened to what one Lambda retry loop needs.
DEFAULT_RETRY_SECONDS = "10,60,300,1800,7200,18000"
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
    retries = tuple(int(x) for x in e.get("EVENT_RETRY_SECONDS", DEFAULT_RETRY_SECONDS).split(",") if x.strip())
    if not retries or any(not 0 <= r <= MAX_VISIBILITY_SECONDS for r in retries):
        raise ValueError(
            f"EVENT_RETRY_SECONDS must be delays of 0 to {MAX_VISIBILITY_SECONDS} seconds, comma-separated"
        )
    return Settings(
        stage=e.get("STAGE", "dev"),
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
        report_timezone=_zone(e.get("REPORT_TIMEZONE", "").strip() or "UTC"),
        s3_endpoint=e.get("S3_ENDPOINT") or None,
        recordings_bucket=e.get("RECORDINGS_BUCKET", "").strip() or bucket_name(f"{prefix}recordings"),
        recordings_delete_at_twilio=_bool(e, "RECORDINGS_DELETE_AT_TWILIO", True),
        recording_url_seconds=_int(e, "RECORDING_URL_SECONDS", 300),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read from the environment once."""
    return load()

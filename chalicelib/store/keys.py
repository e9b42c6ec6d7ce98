"""Every key string the tables hold is built here, and only here.

The counters table keeps several kinds of item apart by key prefix; a test fails if one of
these prefixes is written anywhere outside ``chalicelib/store/``. Existing items were
written with exactly these shapes, so a change here is a data migration.
"""

from __future__ import annotations

from typing import NamedTuple


class Key(NamedTuple):
    """A counters-table key: partition (``pk``) and sort key (``sk``)."""

    pk: str
    sk: str


# --- configuration and credentials ---------------------------------------------------------

API_KEYS_PK = "APIKEY"  # one item per stored API key, sk = the key id


def api_key(key_id: str) -> Key:
    return Key(API_KEYS_PK, key_id)


def blocked_callers() -> Key:
    """The deployment's one blocklist item."""
    return Key("CONFIG", "blocked-callers")


def business_profile() -> Key:
    """The business's one profile item (name, time zone, currency, country, conversions)."""
    return Key("CONFIG", "business")


CALLBACKS_PK = "CALLBACK#pending"  # one item per caller waiting for a call back, sk = the caller


def callback_pending(caller: str) -> Key:
    return Key(CALLBACKS_PK, caller)


AUDIT_PREFIX = "AUDIT#"  # the audit log: one partition per month, sk "<epoch ms 13 digits>#<random>"


def audit_month(month: str) -> str:
    """The audit log's partition of a month (``YYYY-MM``)."""
    return AUDIT_PREFIX + month


def retention_mark(kind: str) -> Key:
    """How far the retention sweep has gone for ``kind`` (``mask``, ``recordings``): calls started
    up to that time are done."""
    return Key("PURGEMARK#", kind)


def erased_caller(caller_hash: str) -> Key:
    """An erased caller's tombstone, by their keyed hash only (``core.callerkeys``)."""
    return Key(f"ERASED#{caller_hash}", "tombstone")


CALLER_JOBS_PK = "CALLERJOBS"  # one item per access or erasure job (``store.callerjobs``), sk = its id


def caller_job(job_id: str) -> Key:
    return Key(CALLER_JOBS_PK, job_id)


def caller_job_running(kind: str, caller_hash: str) -> Key:
    """The one running job of ``kind`` for a caller, by keyed hash: a replayed request finds it."""
    return Key(f"CALLERJOB#{kind}#{caller_hash}", "running")


def schema_version() -> Key:
    """The counters table's schema version and its running migration (``store.migrations``)."""
    return Key("SCHEMA", "version")


# --- dashboard users and their sessions ----------------------------------------------------

DASHBOARD_USERS_PK = "DASHUSER"  # one item per dashboard user, sk = the normalised email


def dashboard_user(email: str) -> Key:
    return Key(DASHBOARD_USERS_PK, email)


def web_session(token_sha256: str) -> Key:
    """A dashboard session, found by the SHA-256 of its cookie's token (the token is never stored)."""
    return Key(f"WEBSESSION#{token_sha256}", "session")


def signin_failures(kind: str, who: str, window: str) -> Key:
    """Failed sign-ins of one email or one client address (``kind``: ``email`` or ``ip``; ``who``
    hashed) in one window (``window``: its start, epoch minutes)."""
    return Key(f"SIGNINFAIL#{kind}#{who}", window)


def signin_failures_from(email: str, window: str, address: str) -> Key:
    """Failed sign-ins of one email (hashed) from one client address (hashed) in one window: the
    email's partition holds every address's, so they can all be cleared at once."""
    return Key(f"SIGNINFAIL#emailip#{email}", f"{window}#{address}")


def signin_failure_partitions(email: str) -> tuple[str, ...]:
    """Every partition holding an email's (hashed) failure counts, whatever the window or address."""
    return (signin_failures("email", email, "").pk, signin_failures_from(email, "", "").pk)


# --- callers ---------------------------------------------------------------------------------


def caller_first_touch(caller: str) -> Key:
    """A caller's first call here (first-time caller and first touch), by the caller's keyed hash
    (``core.callerkeys``; older code: the number)."""
    return Key(f"CALLER#{caller}", "first")


# --- pools -----------------------------------------------------------------------------------


def line_counter(kind: str, target_id: str) -> str:
    """Partition of a line's own counters (sk ``turn``: its round-robin turn; ``screen_streak``)."""
    return f"LINE#{kind}#{target_id}"


def pool_exhausted(pool_id: str) -> str:
    """Partition of a pool's hourly "no number was free" counts (sk: ``YYYY-MM-DDTHH`` in UTC)."""
    return f"POOL#{pool_id}#EXHAUSTED"


def lease_holder(pool_id: str, visitor_id: str) -> Key:
    """A visitor's latest lease in a pool (reused when they ask again) and their new leases this hour."""
    return Key(f"VISITOR#{pool_id}#{visitor_id}", "lease")


def lease_address(pool_id: str, address: str) -> Key:
    """One client address (hashed) in one pool: the numbers it holds and its new leases per hour."""
    return Key(f"LEASEADDR#{pool_id}#{address}", "held")


# --- report aggregates and spend ---------------------------------------------------------------

REPORT_SOURCES = Key("AGG#sources", "all")  # every source that has calls or spend
REPORT_SEAL = Key("SEAL#reports", "state")  # the day-sealing job's progress (chalicelib/reports/seal.py)


def aggregate(model: str, source: str) -> str:
    """Partition of one source's day buckets under an attribution model (``last`` or ``first``)."""
    return f"AGG#{model}#{source}"


def aggregate_bucket(model: str, source: str, day: str, *, spam: bool) -> str:
    """A day bucket as one string (``<pk>|<sk>``): calls remember what they added under it."""
    return f"{aggregate(model, source)}|{day}{'#spam' if spam else ''}"


NUMBER_CALLS = "AGG#numbers"  # calls per tracking number and day (sk ``<day>#<number>``): one query for them all


def number_calls_bucket(number: str, day: str) -> str:
    """A tracking number's calls of one day, as a bucket string (not a source: no report reads it)."""
    return f"{NUMBER_CALLS}|{day}#{number}"


MENU_OPTIONS = "AGGM#menu"  # calls per line, menu option and day (sk ``<day>#<line>#<key>``): one query for all


def menu_option_bucket(line: str, option: str, day: str) -> str:
    """A line's calls through one menu option on one day, as a bucket string (not a source)."""
    return f"{MENU_OPTIONS}|{day}#{line}#{option}"


def is_menu_bucket(bucket: str) -> bool:
    return bucket.startswith(MENU_OPTIONS + "|")


HOURS = "AGGH#"  # calls per hour: one partition per model and day, so a day is one small query


def hours_partition(model: str, day: str) -> str:
    """The partition of one day's hour buckets under a model (sk ``<HH>#<source>``): at most 24 items
    per source, whatever the number of calls or of other days."""
    return f"{HOURS}{model}#{day}"


def hour_bucket(model: str, day: str, hour: int, source: str) -> str:
    """A source's calls in one local hour of a day, as a bucket string: the overview's "Today" chart
    reads one day of them in one query, whatever the sources."""
    return f"{hours_partition(model, day)}|{hour:02d}#{source}"


def is_hour_bucket(bucket: str) -> bool:
    return bucket.startswith(HOURS)


def is_number_bucket(bucket: str) -> bool:
    return bucket.startswith(NUMBER_CALLS + "|")


def split_bucket(bucket: str) -> Key:
    pk, sk = bucket.split("|", 1)
    return Key(pk, sk)


def dimension(model: str, dim: str, source: str) -> str:
    """Partition of one source's buckets per value of a dimension (campaign, keyword, ad, landing
    page): sk ``<day>#<n|s>#<value>`` (``s``: the spam bucket)."""
    return f"AGGD#{model}#{dim}#{source}"


def dimension_bucket(model: str, dim: str, source: str, day: str, value: str, *, spam: bool) -> str:
    """A dimension bucket as one string (``<pk>|<sk>``), as ``aggregate_bucket``."""
    return f"{dimension(model, dim, source)}|{day}#{'s' if spam else 'n'}#{value}"


def dimension_values(model: str, dim: str, source: str, day: str) -> Key:
    """The distinct values one source's dimension has on one day (the cap is kept on it)."""
    return Key(f"AGGV#{model}#{dim}#{source}", day)


WEEKS = "AGGW#"  # a source's week buckets: the same adds as its day buckets, one item per week (sk its Monday)


def aggregate_weeks(model: str, source: str) -> str:
    """Partition of one source's week buckets under a model (sk ``<Monday>`` or ``<Monday>#spam``)."""
    return f"{WEEKS}{model}#{source}"


def week_bucket(model: str, source: str, monday: str, *, spam: bool) -> str:
    """A week bucket as one string (``<pk>|<sk>``), as ``aggregate_bucket``: the days of the week
    starting ``monday`` (the business's days), added to alongside each day bucket."""
    return f"{aggregate_weeks(model, source)}|{monday}{'#spam' if spam else ''}"


def is_week_bucket(bucket: str) -> bool:
    return bucket.startswith(WEEKS)


def is_sealable_bucket(bucket: str) -> bool:
    """A day or week bucket of a source: its caller set is sealed into a packed value."""
    return is_source_bucket(bucket) or is_week_bucket(bucket)


def is_source_bucket(bucket: str) -> bool:
    """Whether a bucket string is a source's day bucket (not a dimension's, nor a number's calls)."""
    return bucket.startswith("AGG#") and not is_number_bucket(bucket)


def bucket_source(bucket: str) -> str:
    """The source a bucket string counts (``AGG#<model>#<source>|<day>``)."""
    return bucket.split("#", 2)[2].rsplit("|", 1)[0]


def spend(source: str) -> str:
    """Partition of one source's spend per day (sk: ``YYYY-MM-DD``)."""
    return f"SPEND#{source}"


# --- call events ---------------------------------------------------------------------------------


def event_delivery(event_id: str, subscriber: str) -> Key:
    """One subscriber's delivery of one event: claimed, then done (so a redelivery is skipped)."""
    return Key(f"EVENT#{event_id}", subscriber)


PARKED_PK = "PARKED"  # stream records that can never make an event, for an admin to see


def parked_record(record_id: str) -> Key:
    return Key(PARKED_PK, record_id)


# --- webhook endpoints ---------------------------------------------------------------------------

WEBHOOKS_PK = "HOOK#endpoints"  # one item per endpoint (its secrets included), sk = the endpoint id


def webhook_endpoint(endpoint_id: str) -> Key:
    return Key(WEBHOOKS_PK, endpoint_id)


def webhook_attempts(endpoint_id: str) -> str:
    """Partition of an endpoint's delivery log (sk: ``<epoch ms, 13 digits>#<delivery id>#<attempt>``)."""
    return f"HOOK#{endpoint_id}#attempts"


def webhook_attempt(endpoint_id: str, at_ms: int, delivery_id: str, attempt: int) -> Key:
    return Key(webhook_attempts(endpoint_id), f"{at_ms:013d}#{delivery_id}#{attempt:03d}")


def webhook_message(endpoint_id: str, delivery_id: str) -> Key:
    """One delivery (an event for an endpoint): its event, to send again, and its attempts so far."""
    return Key(f"HOOK#{endpoint_id}#messages", delivery_id)


# --- conversions (calls sent to ad platforms) -------------------------------------------------------

CONVERSIONS_PK = "CONV#destinations"  # one item per destination (settings, rules; never its credentials)
CONVERSIONS_LATER_PK = "CONV#later"  # conversions a platform said to send later, sk by due time


def conversion_destination(destination_id: str) -> Key:
    return Key(CONVERSIONS_PK, destination_id)


def conversion_log(destination_id: str) -> str:
    """Partition of a destination's delivery log (sk: ``<epoch ms, 13 digits>#<call>#<rule>#<n>``)."""
    return f"CONV#{destination_id}#log"


def conversion_log_line(destination_id: str, at_ms: int, call_sid: str, rule_id: str, n: str) -> Key:
    return Key(conversion_log(destination_id), f"{at_ms:013d}#{call_sid}#{rule_id}#{n}")


def conversion_call(call_sid: str) -> str:
    """Partition of a call's conversions: ``state#<destination>#<rule>`` and ``log#<ms>#...`` lines."""
    return f"CONV#call#{call_sid}"


def conversion_state(call_sid: str, destination_id: str, rule_id: str) -> Key:
    return Key(conversion_call(call_sid), f"state#{destination_id}#{rule_id}")


def conversion_call_log_line(call_sid: str, at_ms: int, destination_id: str, rule_id: str, n: str) -> Key:
    return Key(conversion_call(call_sid), f"log#{at_ms:013d}#{destination_id}#{rule_id}#{n}")


def conversion_later(due_ms: int, destination_id: str, call_sid: str, rule_id: str) -> Key:
    return Key(CONVERSIONS_LATER_PK, f"{due_ms:013d}#{destination_id}#{call_sid}#{rule_id}")


# --- alerts and summaries ------------------------------------------------------------------------

ALERT_RECIPIENTS_PK = "ALERT#recipients"  # one item per recipient, sk = the recipient id


def alert_recipient(recipient_id: str) -> Key:
    return Key(ALERT_RECIPIENTS_PK, recipient_id)


def alert_window(recipient_id: str) -> Key:
    """A recipient's current rate-limit window: when it started and how many alerts it sent."""
    return Key(f"ALERT#{recipient_id}", "window")


def alert_digest_lock(recipient_id: str) -> Key:
    """Held while one scheduled run sends a recipient's digest (two runs never send it twice)."""
    return Key(f"ALERT#{recipient_id}", "digest-lock")


def alert_digest(recipient_id: str) -> str:
    """Partition of the alerts held back for a recipient's next digest (sk: ``<epoch ms, 13 digits>#<id>``)."""
    return f"ALERT#{recipient_id}#digest"


def alert_digest_entry(recipient_id: str, at_ms: int, entry_id: str) -> Key:
    return Key(alert_digest(recipient_id), f"{at_ms:013d}#{entry_id}")


def alert_sent(condition: str, recipient_id: str) -> Key:
    """A scheduled alert or summary sent to a recipient for one condition and period: sent once."""
    return Key(f"ALERT#sent#{condition}", recipient_id)


# --- texts -----------------------------------------------------------------------------------


def text_back_sent(caller: str, window: str) -> Key:
    """The one text-back a caller gets in one window (``window``: its start, epoch hours)."""
    return Key(f"TEXTBACK#{caller}", window)


def text_opt_out(caller: str) -> Key:
    """A caller who texted STOP to a tracking number (remembered until they text START)."""
    return Key(f"TEXTOPTOUT#{caller}", "stop")


def spam_lookup(caller_hash: str) -> Key:
    """A caller's Twilio Lookup result, kept one cache period (TTL): keyed by the keyed caller hash."""
    return Key(f"SPAMLOOKUP#{caller_hash}", "lookup")


def spam_lookups_on(day: str) -> Key:
    """How many Lookups the spam score made on a UTC day (the daily cap)."""
    return Key("SPAMLOOKUPS#day", day)


def transcript_job(call_sid: str) -> Key:
    """A call's transcription job still to be read back (the schedule queries the partition)."""
    return Key("TRANSCRIBE#jobs", call_sid)


def transcript_minutes(day: str) -> Key:
    """Seconds of audio sent to transcription on one UTC day (the daily cap)."""
    return Key("TRANSCRIBE#seconds", day)


def transcript_config() -> Key:
    """The deployment's keyword rules and per-line transcription modes."""
    return Key("CONFIG", "transcripts")

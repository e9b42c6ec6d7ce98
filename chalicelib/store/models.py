"""PynamoDB models: every table the product keeps, with its keys, indexes and TTL.

Table names, the endpoint and the region are read from settings whenever they are used
(``TableMeta``), and each request's connection comes from ``store.connections`` with the
timeouts of whoever asks. ``infra/tables.yaml`` must describe the same tables; a test keeps
the two in step.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.connection import TableConnection
from pynamodb.connection.base import MetaTable
from pynamodb.constants import ATTR_DEFINITIONS, GLOBAL_SECONDARY_INDEXES, INDEX_NAME, KEY_SCHEMA, TABLE_NAME
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.core.settings import get_settings
from chalicelib.store import connections


class TableMeta:
    """A model's ``Meta`` whose table name, endpoint and region follow the current settings."""

    billing_mode = "PAY_PER_REQUEST"

    def __init__(self, table: str, *, stream_view_type: str | None = None) -> None:
        self._table = table
        if stream_view_type:
            self.stream_view_type = stream_view_type  # PynamoDB's create_table turns the stream on

    @property
    def table_name(self) -> str:
        return get_settings().table_name(self._table)

    @property
    def region(self) -> str:
        return get_settings().region

    @property
    def host(self) -> str | None:
        return get_settings().dynamodb_endpoint


def _meta(table: str, **kw: Any) -> Any:
    return TableMeta(table, **kw)


class StoreModel(Model):
    """A model whose connection (and so its timeouts) is chosen per request by ``store.connections``."""

    @classmethod
    def _get_connection(cls) -> TableConnection:
        return connections.table(cls)

    @classmethod
    def _meta_table(cls) -> MetaTable:
        schema = cls._get_schema()
        return MetaTable(
            {
                TABLE_NAME: cls.Meta.table_name,
                KEY_SCHEMA: schema["key_schema"],
                ATTR_DEFINITIONS: schema["attribute_definitions"],
                GLOBAL_SECONDARY_INDEXES: [
                    {INDEX_NAME: i["index_name"], KEY_SCHEMA: i["key_schema"]}
                    for i in schema["global_secondary_indexes"]
                ],
            }
        )


class ChannelModel(StoreModel):
    """A static tracking channel: one or more numbers whose calls belong to it with certainty."""

    Meta = _meta("channels")
    channel_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    forward_to = UnicodeAttribute()
    record = BooleanAttribute(default=False)
    disclosure = UnicodeAttribute(null=True)
    flow = JSONAttribute(null=True)  # call-flow settings (whisper, hours, failover, ...)
    created_at = NumberAttribute()
    updated_at = NumberAttribute()


class PoolSiteKeyIndex(GlobalSecondaryIndex["PoolModel"]):
    class Meta:
        index_name = "site_key-index"
        projection = AllProjection()

    site_key = UnicodeAttribute(hash_key=True)


class PoolModel(StoreModel):
    """A dynamic number pool for one website."""

    Meta = _meta("pools")
    pool_id = UnicodeAttribute(hash_key=True)
    site_key = UnicodeAttribute()
    site_key_index = PoolSiteKeyIndex()
    name = UnicodeAttribute()
    allowed_origins = ListAttribute(of=UnicodeAttribute, default=list)
    original_number = UnicodeAttribute()
    hold_seconds = NumberAttribute(default=900)
    grace_seconds = NumberAttribute(default=1800)
    exhaustion_policy = UnicodeAttribute(default="original")  # "original" or "overflow"
    overflow_number = UnicodeAttribute(null=True)
    forward_to = UnicodeAttribute()
    record = BooleanAttribute(default=False)
    disclosure = UnicodeAttribute(null=True)
    flow = JSONAttribute(null=True)
    created_at = NumberAttribute()
    updated_at = NumberAttribute()


class NumberPoolIndex(GlobalSecondaryIndex["NumberModel"]):
    """Pool numbers ordered by when they were last released: it only *suggests* candidates."""

    class Meta:
        index_name = "pool-released-index"
        projection = AllProjection()

    pool_id = UnicodeAttribute(hash_key=True)
    lease_ended_at = NumberAttribute(range_key=True)


class NumberModel(StoreModel):
    """A tracking number (E.164) and, for pool numbers, its current lease.

    The lease lives on this item so that taking it is one conditional write.
    """

    Meta = _meta("numbers")
    number = UnicodeAttribute(hash_key=True)
    provider = UnicodeAttribute()
    provider_sid = UnicodeAttribute()
    status = UnicodeAttribute(default="active")  # "active" or "released"
    kind = UnicodeAttribute()  # "channel", "pool" or "overflow"
    channel_id = UnicodeAttribute(null=True)
    pool_id = UnicodeAttribute(null=True)
    friendly_name = UnicodeAttribute(null=True)
    created_at = NumberAttribute()
    released_at = NumberAttribute(null=True)  # when the number went back to the carrier
    hooks_to = UnicodeAttribute(null=True)  # the line's phone the number's webhook URLs carry (?to=)
    hooks_base = UnicodeAttribute(null=True)  # the PUBLIC_BASE_URL its webhook URLs were last pointed at
    # Lease state (pool numbers only); epoch milliseconds.
    lease_session_id = UnicodeAttribute(null=True)
    lease_started_at = NumberAttribute(null=True)
    lease_expires_at = NumberAttribute(null=True)
    lease_ended_at = NumberAttribute(null=True)  # when the last lease ended: least recently released goes first
    lease_address = UnicodeAttribute(null=True)  # who started it (hashed): renewals and hand-overs keep it
    # The current lease's source, a copy of its history item's (``LeaseModel.source``), so a call
    # during the lease is attributed from this item alone (``attribution.attribute_pool_call``).
    lease_source = JSONAttribute(null=True)
    pool_index = NumberPoolIndex()


class CallMonthIndex(GlobalSecondaryIndex["CallModel"]):
    class Meta:
        index_name = "month-index"
        projection = AllProjection()

    month = UnicodeAttribute(hash_key=True)
    started_at = NumberAttribute(range_key=True)


class CallCallerIndex(GlobalSecondaryIndex["CallModel"]):
    class Meta:
        index_name = "caller-index"
        projection = KeysOnlyProjection()

    caller = UnicodeAttribute(hash_key=True)
    started_at = NumberAttribute(range_key=True)


class CallModel(StoreModel):
    """One inbound call, keyed by Twilio's CallSid; every writer upserts."""

    # Every change of a call is an event (chalicelib/events/): the stream carries both images.
    Meta = _meta("calls", stream_view_type="NEW_AND_OLD_IMAGES")
    call_sid = UnicodeAttribute(hash_key=True)
    month = UnicodeAttribute(null=True)  # "YYYY-MM" of started_at, the listing partition
    started_at = NumberAttribute(null=True)
    caller = UnicodeAttribute(null=True)
    called = UnicodeAttribute(null=True)
    caller_city = UnicodeAttribute(null=True)
    caller_state = UnicodeAttribute(null=True)
    caller_country = UnicodeAttribute(null=True)
    kind = UnicodeAttribute(null=True)  # "channel", "pool", "overflow" or "unknown"
    channel_id = UnicodeAttribute(null=True)
    channel_name = UnicodeAttribute(null=True)
    pool_id = UnicodeAttribute(null=True)
    forwarded_to = UnicodeAttribute(null=True)
    # A text to a tracking number is kept here too, keyed by Twilio's MessageSid (chalicelib/texts.py):
    # ``medium`` "text", what it said and how many pictures came with it. A call-back made from the
    # dashboard is one too (``medium`` "outbound", chalicelib/callback_dial.py); absent: an inbound call.
    medium = UnicodeAttribute(null=True)
    body = UnicodeAttribute(null=True)
    media_count = NumberAttribute(null=True)
    stir_verstat = UnicodeAttribute(null=True)  # the voice request's STIR/SHAKEN result (StirVerstat)
    recorded = BooleanAttribute(null=True)
    status = UnicodeAttribute(null=True)
    status_rank = NumberAttribute(null=True)
    duration = NumberAttribute(null=True)
    dial_call_sid = UnicodeAttribute(null=True)
    dial_status = UnicodeAttribute(null=True)
    answered = BooleanAttribute(null=True)
    talk_time = NumberAttribute(null=True)
    recording_sid = UnicodeAttribute(null=True)
    recording_url = UnicodeAttribute(null=True)
    recording_duration = NumberAttribute(null=True)
    # The copy in the stage's bucket (chalicelib/recordings/), verified by size and SHA-256.
    recording_key = UnicodeAttribute(null=True)
    recording_size = NumberAttribute(null=True)
    recording_sha256 = UnicodeAttribute(null=True)
    recording_archived_at = NumberAttribute(null=True)
    recording_deleted_at_twilio = NumberAttribute(null=True)
    attribution = JSONAttribute(null=True)
    degraded = BooleanAttribute(null=True)  # answered by the fallback path; completed by callbacks
    # Set by the first voice request stored for the call (its I-Twilio-Idempotency-Token, or "-"):
    # a later one (Twilio's retry, or a replay) changes nothing.
    voice_token = UnicodeAttribute(null=True)
    dial_step = NumberAttribute(null=True)  # which phone of the failover list the last dial result is for
    # Call screening: the key the answerer pressed and for which phone (step); a screened dial
    # counts as answered only with a press for its own step, whatever Twilio's dial status says.
    menu_option = UnicodeAttribute(null=True)  # the key of the menu option the caller chose
    # Called back from the dashboard: the outbound call's SID (the owner's phone, then the caller);
    # when is ``called_back_at`` below (the same mark as "called back" by hand: chalicelib/callbacks.py).
    callback_sid = UnicodeAttribute(null=True)
    # On the call-back itself (``medium`` "outbound", chalicelib/callback_dial.py): the original call's SID.
    callback_of = UnicodeAttribute(null=True)
    screen_key = UnicodeAttribute(null=True)
    screen_step = NumberAttribute(null=True)
    screen_refused = NumberAttribute(null=True)  # the screened phone (1-based) that last answered without a press
    screen_streak = NumberAttribute(null=True)  # the line's refused screens in a row after this call's screen
    screen_alert = BooleanAttribute(null=True)  # that streak reached the line's alert count on this call
    answered_phone = UnicodeAttribute(null=True)  # the phone of the ring group that took the call
    voicemail = BooleanAttribute(null=True)  # the caller left a voicemail (the recording is the message)
    blocked = BooleanAttribute(null=True)  # rejected by the blocklist before anything was dialled
    first_time = BooleanAttribute(null=True)  # the caller's first call here (by caller number)
    first_touch = JSONAttribute(null=True)  # the source of that caller's first call
    outcome = UnicodeAttribute(null=True)  # "lead", "sale", "spam" or "none", set by the business
    revenue = NumberAttribute(null=True)
    note = UnicodeAttribute(null=True)
    tags = UnicodeSetAttribute(null=True)
    called_back_at = NumberAttribute(null=True)  # called back (ms): marked by hand or dialled from the dashboard
    # The transcript's summary (chalicelib/integrations/transcripts/): status, job, matched keywords;
    # the turns themselves live in S3 (an hour of words exceeds an item's 400 KB).
    transcript = JSONAttribute(null=True)
    spam = JSONAttribute(null=True)  # the spam score (chalicelib/spam.py): likely, reasons
    agg = JSONAttribute(null=True)  # what this call last added to the report aggregates, per bucket
    agg_version = NumberAttribute(null=True)
    erased_at = NumberAttribute(null=True)  # the caller was erased: anonymised, and no Twilio write lands again
    updated_at = NumberAttribute(null=True)
    expires_at = TTLAttribute(null=True)  # retention of personal data
    month_index = CallMonthIndex()
    caller_index = CallCallerIndex()


class SessionModel(StoreModel):
    """A website visit: its source and a bounded list of page views."""

    Meta = _meta("sessions")
    session_id = UnicodeAttribute(hash_key=True)
    pool_id = UnicodeAttribute()
    visitor_id = UnicodeAttribute()
    source = JSONAttribute(default=dict)
    pages = ListAttribute(of=MapAttribute, default=list)  # type: ignore[arg-type]
    number = UnicodeAttribute(null=True)
    created_at = NumberAttribute()
    last_seen_at = NumberAttribute()
    expires_at = TTLAttribute(null=True)


class LeaseModel(StoreModel):
    """History of lease starts: which session held which number from when."""

    Meta = _meta("leases")
    number = UnicodeAttribute(hash_key=True)
    started_at = NumberAttribute(range_key=True)
    session_id = UnicodeAttribute()
    pool_id = UnicodeAttribute()
    # The lease before this one on the same number ended here: it closes that lease's span.
    prev_session_id = UnicodeAttribute(null=True)
    prev_ended_at = NumberAttribute(null=True)
    source = JSONAttribute(null=True)  # the session's source, so attributing a call needs no session read
    expires_at = TTLAttribute(null=True)


class CounterModel(StoreModel):
    """Counters and aggregates: ``pk`` names what is counted, ``sk`` the bucket (an hour, a day)."""

    Meta = _meta("counters")
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    total = NumberAttribute(default=0)
    data = JSONAttribute(null=True)
    expires_at = TTLAttribute(null=True)
    # Report aggregates (pk "AGG#<model>#<source>", sk "<day>" or "<day>#spam"): top-level
    # numbers and sets, so every change is an atomic ADD.
    calls = NumberAttribute(null=True)
    answered = NumberAttribute(null=True)
    missed = NumberAttribute(null=True)
    voicemail = NumberAttribute(null=True)
    first_time = NumberAttribute(null=True)
    talk_time = NumberAttribute(null=True)
    answer_time = NumberAttribute(null=True)
    answer_timed = NumberAttribute(null=True)
    leads = NumberAttribute(null=True)
    sales = NumberAttribute(null=True)
    revenue = NumberAttribute(null=True)
    texts = NumberAttribute(null=True)
    callers = UnicodeSetAttribute(null=True)  # "<caller hash>:<call>" so a call can be taken out again
    # A source's day bucket, once its day is sealed (chalicelib/reports/seal.py): its callers packed
    # into one binary value (12-byte records: keyed caller hash, call), ``callers`` then holding only
    # the entries added since and ``callers_del`` the ones taken out since; ``sealed`` counts seals.
    packed = BinaryAttribute(null=True, legacy_encoding=False)
    # Beside it, written by the same seal: the bucket's distinct callers, sorted 8-byte keys (a
    # repeat caller once), all a report reads of them; ``keyed`` (1) says the seal wrote both, so a
    # bucket sealed by older code (``packed`` only) is told apart without reading ``packed``.
    packed_keys = BinaryAttribute(null=True, legacy_encoding=False)
    keyed = NumberAttribute(null=True)
    callers_del = UnicodeSetAttribute(null=True)
    sealed = NumberAttribute(null=True)
    keys = UnicodeSetAttribute(null=True)
    # The report sources' item: the first week (its Monday) whose week buckets hold every call of the
    # week, set by the first call counted by code that adds to weeks (chalicelib/reports/figures.py).
    weeks_from = UnicodeAttribute(null=True)
    # A week bucket past its cap (chalicelib/reports/aggregates.py: WEEK_CAP): it takes no more calls,
    # and reports read that week's days instead.
    overflow = NumberAttribute(null=True)
    # Dashboard users: "<epoch ms>:<address hash>" of their latest successful sign-ins
    # (chalicelib/dashboard/signin_limits.py), a set so that each sign-in is one atomic ADD.
    signed_in_from = UnicodeSetAttribute(null=True)
    # A client address's item in a pool (chalicelib/leasing/limits.py): maps, so that one
    # entry can be set, removed or compared inside a transaction without reading the others.
    # Typed Any: its entries are addressed as paths (``held[number].set(...)``), not read as values.
    held: MapAttribute[Any, Any] = MapAttribute(null=True)  # number -> when this address's lease on it started
    hours: MapAttribute[Any, Any] = MapAttribute(null=True)  # hour -> new leases it started in that hour
    # Since issue 25 the lease transaction writes these two items without reading them first, so
    # what its conditions compare is top-level: an address's leases as "<number>|<started ms>"
    # entries of a set (an ADD creates it), each hour's new leases in an attribute of its own
    # named for the hour (``n2026120713``, store/leases.hour_attr; ADD creates it too), and a
    # visitor's holder item's lease in the four ``lease_*`` attributes below.
    held_leases = UnicodeSetAttribute(null=True)
    lease_session = UnicodeAttribute(null=True)
    lease_number = UnicodeAttribute(null=True)
    lease_started = NumberAttribute(null=True)
    lease_campaign = UnicodeAttribute(null=True)
    # Event deliveries (pk "EVENT#<event id>", sk the subscriber): claimed, then done or failed.
    state = UnicodeAttribute(null=True)  # "running", "done" or "failed"
    lease_until = NumberAttribute(null=True)  # a "running" claim older than this was lost (epoch ms)
    attempts = NumberAttribute(null=True)
    # API keys (pk "APIKEY", sk the key id; chalicelib/access/apikeys.py): typed since issue 23.
    # Keys written before carry these only in ``data`` (and no scope: read as admin); new keys are
    # written in both shapes, so a rollback to the code before still reads them.
    key_name = UnicodeAttribute(null=True)
    key_scope = UnicodeAttribute(null=True)  # "read", "write" or "admin"
    key_secret_sha256 = UnicodeAttribute(null=True)  # hex; never the key
    key_hint = UnicodeAttribute(null=True)  # the secret's last four characters
    key_created_at = NumberAttribute(null=True)  # epoch ms
    key_revoked_at = NumberAttribute(null=True)  # epoch ms; absent while active


ALL_MODELS: tuple[type[StoreModel], ...] = (
    ChannelModel,
    PoolModel,
    NumberModel,
    CallModel,
    SessionModel,
    LeaseModel,
    CounterModel,
)


def create_tables(wait: bool = False) -> None:
    """Create every table that does not exist yet (local stack and tests; deployments use infra/)."""
    for model in ALL_MODELS:
        if not model.exists():
            model.create_table(billing_mode="PAY_PER_REQUEST", wait=wait)

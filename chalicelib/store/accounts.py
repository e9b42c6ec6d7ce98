"""The dashboard's accounts: users, their web sessions and the sign-in failure counters.

Users (pk ``DASHUSER``) and web sessions (pk ``WEBSESSION#<sha256>``) live in the counters
table. Until schema 1 (``store.migrations``) their settings hid in one untyped ``data`` JSON
attribute; now they are top-level typed attributes (``UserItem``, ``WebSessionItem``).

Two shapes, one release: every read takes the typed attribute and falls back to ``data``
(an item not rewritten yet), and every write sets both (``shape`` = 1 marks an item whose
typed attributes are complete). Why both on write: if this release is rolled back, the
previous code reads only ``data``, and a user created or a password rehashed meanwhile must
still sign in (a bad migration must not lock anyone out). A later release stops writing
``data`` and removes it, once ``calltracking status`` shows schema 1 everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pynamodb.attributes import JSONAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute, UnicodeSetAttribute
from pynamodb.exceptions import DeleteError, PutError, UpdateError
from pynamodb.expressions.update import Action

from chalicelib.core.context import SYSTEM, RequestContext
from chalicelib.store import business, connections, keys
from chalicelib.store.models import CounterModel, StoreModel, _meta
from chalicelib.store.ops import condition_failed, expires_after

TYPED = 1  # the ``shape`` of an item whose typed attributes are complete (schema 1)
ACTIVE, DISABLED = "active", "disabled"


class UserItem(StoreModel):
    """A dashboard user's item (pk ``DASHUSER``, sk the normalised email)."""

    Meta = _meta("counters")
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    state = UnicodeAttribute(null=True)  # "active" or "disabled": writes are conditional on it
    role = UnicodeAttribute(null=True)
    password_hash = UnicodeAttribute(null=True)
    created_at = NumberAttribute(null=True)
    disabled_at = NumberAttribute(null=True)
    keys = UnicodeSetAttribute(null=True)  # the user's sessions, "<created ms>:<session id>"
    signed_in_from = UnicodeSetAttribute(null=True)  # "<epoch ms>:<address hash>" of recent sign-ins
    phone = UnicodeAttribute(null=True)  # the user's own phone (E.164): a call-back rings it first
    shape = NumberAttribute(null=True)
    data = JSONAttribute(null=True)  # the schema-0 shape, still written for a rollback


class WebSessionItem(StoreModel):
    """A dashboard session (pk ``WEBSESSION#<sha256 of the cookie's token>``, sk ``session``)."""

    Meta = _meta("counters")
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    email = UnicodeAttribute(null=True)
    role = UnicodeAttribute(null=True)
    csrf = UnicodeAttribute(null=True)
    created_at = NumberAttribute(null=True)
    last_seen_at = NumberAttribute(null=True)
    shape = NumberAttribute(null=True)
    total = NumberAttribute(null=True)  # schema 0's last use, still written for a rollback
    data = JSONAttribute(null=True)
    expires_at = TTLAttribute(null=True)


@dataclass(frozen=True)
class User:
    email: str
    role: str | None
    active: bool
    password_hash: str | None
    created_at: int | None
    disabled_at: int | None
    sessions: frozenset[str]  # "<created ms>:<session id>"
    signed_in_from: frozenset[str]
    phone: str | None = None  # E.164, typed on the Account page; a call-back rings it first


@dataclass(frozen=True)
class WebSession:
    session_id: str  # the SHA-256 of the cookie's token
    email: str
    role: str
    csrf: str
    created_at: int
    last_seen_at: int


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _user(item: UserItem) -> User:
    """Either shape: the typed attribute where there is one, else what ``data`` held."""
    data: dict[str, Any] = item.data or {}
    stored = item.password_hash if item.password_hash is not None else data.get("password_hash")
    return User(
        email=item.sk,
        role=item.role if item.role is not None else data.get("role"),
        active=item.state == ACTIVE,
        password_hash=stored if isinstance(stored, str) else None,
        created_at=_int(item.created_at if item.created_at is not None else data.get("created_at")),
        disabled_at=_int(item.disabled_at if item.shape == TYPED else data.get("disabled_at")),
        sessions=frozenset(item.keys or ()),
        signed_in_from=frozenset(item.signed_in_from or ()),
        phone=item.phone,
    )


def _user_data(user: User) -> dict[str, Any]:
    """The schema-0 ``data`` of a user, written beside the typed attributes (see the module)."""
    return {
        "role": user.role,
        "password_hash": user.password_hash,
        "created_at": user.created_at,
        "disabled_at": user.disabled_at,
    }


def _user_typed(user: User) -> list[Action]:
    """The typed attributes and the schema-0 ``data`` of ``user`` (an absent value is removed)."""
    values: list[tuple[Any, Any]] = [
        (UserItem.role, user.role),
        (UserItem.password_hash, user.password_hash),
        (UserItem.created_at, user.created_at),
        (UserItem.disabled_at, user.disabled_at),
    ]
    actions: list[Action] = [a.set(x) if x is not None else a.remove() for a, x in values]
    return [*actions, UserItem.shape.set(TYPED), UserItem.data.set(_user_data(user))]


# --- users -----------------------------------------------------------------------------------------


def create_user(email: str, role: str, password_hash: str, now_ms: int, *, ctx: RequestContext = SYSTEM) -> User | None:
    """A new active user; ``None`` if the email is taken (one conditional put)."""
    user = User(email, role, True, password_hash, now_ms, None, frozenset(), frozenset())
    item = UserItem(*keys.dashboard_user(email), state=ACTIVE, shape=TYPED, data=_user_data(user))
    item.role, item.password_hash, item.created_at = role, password_hash, now_ms
    try:
        item.save(condition=UserItem.sk.does_not_exist())
    except PutError as exc:
        if condition_failed(exc):
            return None
        raise
    return user


def list_users(*, ctx: RequestContext = SYSTEM) -> list[User]:
    """Every user, disabled ones included, by email (one Query)."""
    return sorted((_user(i) for i in UserItem.query(keys.DASHBOARD_USERS_PK)), key=lambda u: u.email)


def get_user(email: str, *, ctx: RequestContext = SYSTEM) -> User | None:
    try:
        return _user(UserItem.get(*keys.dashboard_user(email)))
    except UserItem.DoesNotExist:
        return None


def set_disabled(email: str, disabled: bool, now_ms: int, *, ctx: RequestContext = SYSTEM) -> User | None:
    """Disable or enable a user; ``None`` if there is none. The answer is the user as the write
    left it: every session attached before it (none can be attached after: ``attach_session``
    is conditional on ``active``)."""
    try:
        item = UserItem.get(*keys.dashboard_user(email))
    except UserItem.DoesNotExist:
        return None
    current = _user(item)
    changed = User(
        current.email,
        current.role,
        not disabled,
        current.password_hash,
        current.created_at,
        now_ms if disabled else None,
        current.sessions,
        current.signed_in_from,
    )
    try:
        item.update(
            actions=[UserItem.state.set(DISABLED if disabled else ACTIVE), *_user_typed(changed)],
            condition=UserItem.sk.exists(),
        )
    except UpdateError as exc:
        if condition_failed(exc):
            return None
        raise
    return _user(item)


def set_role(email: str, role: str, *, ctx: RequestContext = SYSTEM) -> User | None:
    """Give a user another role; ``None`` if there is none. The answer holds the sessions to end
    (each carries the role it began with)."""
    try:
        item = UserItem.get(*keys.dashboard_user(email))
    except UserItem.DoesNotExist:
        return None
    c = _user(item)
    changed = User(c.email, role, c.active, c.password_hash, c.created_at, c.disabled_at, c.sessions, c.signed_in_from)
    try:
        item.update(actions=_user_typed(changed), condition=UserItem.sk.exists())
    except UpdateError as exc:
        if condition_failed(exc):
            return None
        raise
    return _user(item)


def delete_user(email: str, *, ctx: RequestContext = SYSTEM) -> User | None:
    """Delete a user; the user as it was (its sessions to end), or ``None`` if there was none."""
    try:
        item = UserItem.get(*keys.dashboard_user(email))
    except UserItem.DoesNotExist:
        return None
    try:
        item.delete(condition=UserItem.sk.exists())
    except DeleteError as exc:
        if condition_failed(exc):
            return None
        raise
    return _user(item)


def set_phone(email: str, phone: str | None, *, ctx: RequestContext = SYSTEM) -> User | None:
    """The user's own phone (``None``: erased); ``None`` if there is no such user (one write)."""
    item = UserItem(*keys.dashboard_user(email))
    action = UserItem.phone.set(phone) if phone else UserItem.phone.remove()
    try:
        item.update(actions=[action], condition=UserItem.sk.exists())
    except UpdateError as exc:
        if condition_failed(exc):
            return None
        raise
    return _user(item)


def set_password_hash(user: User, password_hash: str, *, ctx: RequestContext = SYSTEM) -> None:
    """Store a stronger hash of the same password (the hasher's parameters were raised)."""
    changed = User(
        user.email,
        user.role,
        user.active,
        password_hash,
        user.created_at,
        user.disabled_at,
        user.sessions,
        user.signed_in_from,
    )
    UserItem(*keys.dashboard_user(user.email)).update(actions=_user_typed(changed))


def attach_session(email: str, ref: str, *, stale_before_ms: int, ctx: RequestContext = SYSTEM) -> bool:
    """Record a new session on its user, only while the user is active; ``False`` if not.
    Sessions that began before ``stale_before_ms`` are dropped from the list on the way."""
    item = UserItem(*keys.dashboard_user(email))
    try:
        item.update(actions=[UserItem.keys.add({ref})], condition=UserItem.state == ACTIVE)
    except UpdateError as exc:
        if condition_failed(exc):
            return False
        raise
    stale = {r for r in (item.keys or set()) if int(r.partition(":")[0] or 0) < stale_before_ms}
    if stale:
        item.update(actions=[UserItem.keys.delete(stale)])
    return True


def detach_session(email: str, ref: str, *, ctx: RequestContext = SYSTEM) -> None:
    """Forget a session that was signed out (a user deleted meanwhile has nothing to forget)."""
    try:
        UserItem(*keys.dashboard_user(email)).update(
            actions=[UserItem.keys.delete({ref})], condition=UserItem.sk.exists()
        )
    except UpdateError as exc:
        if not condition_failed(exc):
            raise


def add_sign_in_address(email: str, ref: str, *, ctx: RequestContext = SYSTEM) -> frozenset[str] | None:
    """Add one sign-in address ref (one atomic ADD); the refs the user now has, or ``None`` if
    the user was deleted meanwhile."""
    item = UserItem(*keys.dashboard_user(email))
    try:
        item.update(actions=[UserItem.signed_in_from.add({ref})], condition=UserItem.sk.exists())
    except UpdateError as exc:
        if condition_failed(exc):
            return None
        raise
    return frozenset(item.signed_in_from or ())


def drop_sign_in_addresses(email: str, refs: set[str], *, ctx: RequestContext = SYSTEM) -> None:
    UserItem(*keys.dashboard_user(email)).update(actions=[UserItem.signed_in_from.delete(refs)])


# --- web sessions ----------------------------------------------------------------------------------


def _session(item: WebSessionItem) -> WebSession:
    data: dict[str, Any] = item.data or {}
    created = int(item.created_at if item.created_at is not None else data.get("created_at") or 0)
    last = item.last_seen_at if item.last_seen_at is not None else item.total
    return WebSession(
        session_id=item.pk.partition("#")[2],
        email=str(item.email if item.email is not None else data.get("email", "")),
        role=str(item.role if item.role is not None else data.get("role", "viewer")),
        csrf=str(item.csrf if item.csrf is not None else data.get("csrf", "")),
        created_at=created,
        last_seen_at=int(last or created),
    )


def put_web_session(session: WebSession, *, expires_at_ms: int, ctx: RequestContext = SYSTEM) -> None:
    data = {"email": session.email, "role": session.role, "csrf": session.csrf, "created_at": session.created_at}
    item = WebSessionItem(*keys.web_session(session.session_id), data=data, total=session.last_seen_at)
    item.email, item.role, item.csrf = session.email, session.role, session.csrf
    item.created_at, item.last_seen_at, item.shape = session.created_at, session.last_seen_at, TYPED
    item.expires_at = expires_after(expires_at_ms, 0)
    item.save()


def get_web_session(session_id: str, *, ctx: RequestContext = SYSTEM) -> WebSession | None:
    try:
        return _session(WebSessionItem.get(*keys.web_session(session_id)))
    except WebSessionItem.DoesNotExist:
        return None


BATCH_TRIES = 2  # BatchGetItem requests for the session and profile before reading them one by one
BATCHED = (CounterModel,)  # the table that raw BatchGetItem reads (the IAM policy test reads this)


def get_web_session_and_profile(
    session_id: str, *, ctx: RequestContext = SYSTEM
) -> tuple[WebSession | None, business.StoredProfile]:
    """The session and the business profile (``store.business.StoredProfile``) in one BatchGetItem
    of the counters table, both read consistently: a cold process's first dashboard page needs
    both (the profile is then kept a minute), so they are one request, not two in a row."""
    s, p = keys.web_session(session_id), keys.business_profile()
    conn = connections.table(CounterModel)  # raw: the two items are of two models of one table
    wanted: list[Any] = [{"pk": {"S": k.pk}, "sk": {"S": k.sk}} for k in (s, p)]
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for _ in range(BATCH_TRIES):  # keys left unprocessed (throttling) are asked again, then read one by one
        answer = conn.connection.dispatch(
            "BatchGetItem", {"RequestItems": {conn.table_name: {"Keys": wanted, "ConsistentRead": True}}}
        )
        for raw in (answer.get("Responses") or {}).get(conn.table_name, []):
            found[(raw["pk"]["S"], raw["sk"]["S"])] = raw
        wanted = ((answer.get("UnprocessedKeys") or {}).get(conn.table_name) or {}).get("Keys") or []
        if not wanted:
            break
    if wanted:
        return get_web_session(session_id, ctx=ctx), business.get(ctx=ctx)
    raw_session, raw_profile = found.get((s.pk, s.sk)), found.get((p.pk, p.sk))
    session = _session(WebSessionItem.from_raw_data(raw_session)) if raw_session else None
    profile = business.profile_of(CounterModel.from_raw_data(raw_profile) if raw_profile else None)
    return session, profile


def touch_web_session(session: WebSession, now_ms: int, role: str, *, ctx: RequestContext = SYSTEM) -> bool:
    """Record a use (and the user's role, if it changed); ``False`` if the session is gone."""
    item = WebSessionItem(*keys.web_session(session.session_id))
    actions: list[Action] = [WebSessionItem.total.set(now_ms), WebSessionItem.last_seen_at.set(now_ms)]
    if role != session.role:
        data = {"email": session.email, "role": role, "csrf": session.csrf, "created_at": session.created_at}
        actions += [WebSessionItem.role.set(role), WebSessionItem.data.set(data)]
    try:
        item.update(actions=actions, condition=WebSessionItem.sk.exists())
    except UpdateError as exc:
        if condition_failed(exc):  # signed out or disabled meanwhile
            return False
        raise
    return True


def delete_web_session(session_id: str, *, ctx: RequestContext = SYSTEM) -> None:
    WebSessionItem(*keys.web_session(session_id)).delete()


def delete_web_sessions(session_ids: Iterable[str], *, ctx: RequestContext = SYSTEM) -> None:
    """End many sessions in batches (disabling a user)."""
    with WebSessionItem.batch_write() as batch:
        for session_id in session_ids:
            batch.delete(WebSessionItem(*keys.web_session(session_id)))


# --- sign-in failure counters ------------------------------------------------------------------------


def add_sign_in_failures(key: keys.Key, amount: int, *, expires_at_ms: int) -> int:
    """Add to one failure counter (one atomic ADD); its count after."""
    item = CounterModel(key.pk, key.sk)
    item.update(actions=[CounterModel.total.add(amount), CounterModel.expires_at.set(expires_after(expires_at_ms, 0))])
    return int(item.total or 0)


def clear_sign_in_failures(partitions: Iterable[str]) -> int:
    """Delete every failure counter in these partitions; how many went."""
    found = [item for pk in partitions for item in CounterModel.query(pk)]
    with CounterModel.batch_write() as batch:
        for item in found:
            batch.delete(item)
    return len(found)

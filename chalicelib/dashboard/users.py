"""Dashboard users: email and password (Argon2id), a role, disabled or not, and their sessions.

One item per user in the counters table (``store.keys.dashboard_user``: pk ``DASHUSER``, sk
the normalised email), beside the other configuration items (API keys, webhook endpoints):
a handful of users needs no table, index or policy of its own, and listing them is one Query.
The item holds ``state`` (``active`` or ``disabled``: a top-level attribute, so writes can be
conditional on it), ``data`` (role, the Argon2 hash, dates) and ``keys``: the user's sessions
(``<created ms>:<session id>``), so that disabling a user ends each of them at once, and
``signed_in_from``: the hashed addresses of their latest successful sign-ins, which
``signin_limits`` spares the per-email ceiling (``unlock`` clears the failure counts).

Why sessions are listed on the user: a request then costs one read (the session, which
carries the role), not two; the price is that disabling must find them, and that sign-in and
disable must not race. Sign-in writes the session first and then adds it here on condition
that the user is still active (else it deletes the session again); disabling sets
``disabled`` and deletes every session the same write returns. Whichever comes first, no
session of a disabled user survives.

Emails are compared as typed, lower-cased and trimmed (``normalise_email``); sign-in never
says whether an email exists: an unknown email costs the same Argon2 verification as a
wrong password and gets the same words.
"""

from __future__ import annotations

import re
import secrets
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import PutError, UpdateError

from chalicelib.core import clock
from chalicelib.core.errors import ApiError, BadRequest, Conflict, NotFound
from chalicelib.dashboard import signin_limits
from chalicelib.store import keys
from chalicelib.store.models import CounterModel
from chalicelib.store.ops import condition_failed

if TYPE_CHECKING:
    from argon2 import PasswordHasher

ROLES = ("admin", "viewer")
ACTIVE, DISABLED = "active", "disabled"
MIN_PASSWORD = 10
MAX_PASSWORD = 256  # Argon2 takes any length; a megabyte "password" would only cost us CPU
MAX_EMAIL = 254
_EMAIL = re.compile(r"[^@\s/%?#\\\"'<>]+@[^@\s/%?#\\\"'<>]+\.[^@\s/%?#\\\"'<>]+")


class WrongCredentials(ApiError):
    """Sign-in refused: the same words whether the email is unknown, disabled or the password wrong."""

    status = 401
    code = "wrong_credentials"

    def __init__(self) -> None:
        super().__init__("That email and password do not match an active user.")


@lru_cache(maxsize=1)
def hasher() -> PasswordHasher:
    from argon2 import PasswordHasher  # the first sign-in pays for it, never the voice webhook

    return PasswordHasher()  # RFC 9106's low-memory profile: Argon2id, t=3, 64 MiB, p=4


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash nobody's password matches: an unknown email is verified against it (same time)."""
    return hasher().hash(secrets.token_urlsafe(16))


def normalise_email(email: str) -> str:
    """Trimmed and lower-cased; refused (400) unless it looks like one address."""
    value = (email or "").strip().lower()
    if len(value) > MAX_EMAIL or not _EMAIL.fullmatch(value):
        raise BadRequest("give an email address like owner@example.com")
    return value


def generate_password() -> str:
    """20 characters from 120 random bits, safe to read aloud and paste."""
    return secrets.token_urlsafe(15)


def _check_password(password: str) -> str:
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise BadRequest(f"a password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters long")
    return password


def _check_role(role: str) -> str:
    value = (role or "").strip().lower()
    if value not in ROLES:
        raise BadRequest("the role must be admin or viewer")
    return value


def _public(item: CounterModel) -> dict[str, Any]:
    """What may be shown about a user: never the hash, never a session."""
    data: dict[str, Any] = item.data or {}
    return {
        "email": item.sk,
        "role": data.get("role", "viewer"),
        "disabled": item.state == DISABLED,
        "created_at": clock.iso(data.get("created_at")),
        "disabled_at": clock.iso(data.get("disabled_at")) if item.state == DISABLED else None,
    }


def create_user(email: str, role: str, password: str) -> dict[str, Any]:
    """A new user (409 if the email is taken)."""
    address, kind, secret = normalise_email(email), _check_role(role), _check_password(password)
    now = clock.now_ms()
    data = {"role": kind, "password_hash": hasher().hash(secret), "created_at": now, "disabled_at": None}
    item = CounterModel(*keys.dashboard_user(address), state=ACTIVE, data=data)
    try:
        item.save(condition=CounterModel.sk.does_not_exist())
    except PutError as exc:
        if condition_failed(exc):
            raise Conflict(f"there is already a user {address}") from None
        raise
    return _public(item)


def list_users() -> list[dict[str, Any]]:
    """Every user, disabled ones included, by email."""
    return sorted((_public(i) for i in CounterModel.query(keys.DASHBOARD_USERS_PK)), key=lambda u: u["email"])


def get_user(email: str) -> dict[str, Any] | None:
    try:
        return _public(CounterModel.get(*keys.dashboard_user(normalise_email(email))))
    except (CounterModel.DoesNotExist, BadRequest):
        return None


def active_role(email: str) -> str | None:
    """The role of an active user; ``None`` for a disabled or unknown one."""
    try:
        item = CounterModel.get(*keys.dashboard_user(email))
    except CounterModel.DoesNotExist:
        return None
    role = (item.data or {}).get("role")
    return str(role) if item.state == ACTIVE and role in ROLES else None


def set_disabled(email: str, disabled: bool) -> dict[str, Any]:
    """Disable (every session of the user ends at once) or enable a user; 404 if there is none."""
    address = normalise_email(email)
    try:
        item = CounterModel.get(*keys.dashboard_user(address))
    except CounterModel.DoesNotExist:
        raise NotFound(f"no user {address}") from None
    data: dict[str, Any] = dict(item.data or {})
    data["disabled_at"] = clock.now_ms() if disabled else None
    try:
        # The write answers with the item as it now is: every session attached before it. None
        # can be attached after it (attach_session is conditional on ``active``).
        item.update(
            actions=[CounterModel.state.set(DISABLED if disabled else ACTIVE), CounterModel.data.set(data)],
            condition=CounterModel.sk.exists(),
        )
    except UpdateError as exc:
        if condition_failed(exc):
            raise NotFound(f"no user {address}") from None
        raise
    if disabled and item.keys:
        _end_sessions(sorted(item.keys))
    return _public(item)


def _end_sessions(refs: list[str]) -> None:
    with CounterModel.batch_write() as batch:
        for ref in refs:
            session_id = ref.partition(":")[2]
            if session_id:
                batch.delete(CounterModel(*keys.web_session(session_id)))


def attach_session(email: str, ref: str, *, stale_before_ms: int) -> bool:
    """Record a new session on its user, only while the user is active; ``False`` if not.

    Sessions that began before ``stale_before_ms`` (past the absolute limit) are dropped from
    the list on the way (their items end by TTL).
    """
    item = CounterModel(*keys.dashboard_user(email))
    try:
        item.update(actions=[CounterModel.keys.add({ref})], condition=CounterModel.state == ACTIVE)
    except UpdateError as exc:
        if condition_failed(exc):
            return False
        raise
    stale = {r for r in (item.keys or set()) if int(r.partition(":")[0] or 0) < stale_before_ms}
    if stale:
        item.update(actions=[CounterModel.keys.delete(stale)])
    return True


def detach_session(email: str, ref: str) -> None:
    """Forget a session that was signed out."""
    try:
        CounterModel(*keys.dashboard_user(email)).update(
            actions=[CounterModel.keys.delete({ref})], condition=CounterModel.sk.exists()
        )
    except UpdateError as exc:
        if not condition_failed(exc):  # a user deleted meanwhile has nothing to forget
            raise


def authenticate(email: str, password: str, source_ip: str) -> dict[str, Any]:
    """The user whose email and password these are, if active; else ``WrongCredentials`` (401).

    Past the attempt limits ``signin_limits.SignInLimited`` (429 with ``Retry-After``) comes
    first, and the password is not checked at all. A right password remembers ``source_ip``
    (hashed) as one of the user's sign-in addresses, spared the per-email ceiling from then on.
    """
    from argon2.exceptions import InvalidHashError, VerificationError  # with the hasher, on first use

    address = (email or "").strip().lower()[:MAX_EMAIL]
    try:
        item: CounterModel | None = CounterModel.get(*keys.dashboard_user(address)) if address else None
    except CounterModel.DoesNotExist:
        item = None
    # Read before counting (the same one read whether or not the user exists), so an address the
    # user signed in from lately is spared the per-email ceiling.
    where = signin_limits.address_hash(address, source_ip)
    known = item is not None and signin_limits.is_known(item.signed_in_from or set(), where, clock.now_ms())
    attempt = signin_limits.begin(address, source_ip, known=known)
    secret = password if isinstance(password, str) else ""
    data: dict[str, Any] = (item.data or {}) if item is not None else {}
    stored = data.get("password_hash") if isinstance(data.get("password_hash"), str) else None
    if len(secret) > MAX_PASSWORD:
        raise WrongCredentials()
    try:
        hasher().verify(stored or _dummy_hash(), secret)
    except (VerificationError, InvalidHashError):
        raise WrongCredentials() from None
    if item is None or stored is None or item.state != ACTIVE:
        raise WrongCredentials()
    signin_limits.succeeded(attempt)
    _remember_address(item, where)
    if hasher().check_needs_rehash(stored):  # the parameters were raised since: store the stronger hash
        item.update(actions=[CounterModel.data.set({**data, "password_hash": hasher().hash(secret)})])
    return _public(item)


def _remember_address(item: CounterModel, where: str | None) -> None:
    """Keep where the user just signed in from (hashed, see ``signin_limits``): one atomic ADD,
    then the refs past the latest 5 of 30 days are dropped, as ``attach_session`` drops sessions."""
    if where is None:
        return
    now = clock.now_ms()
    try:
        item.update(
            actions=[CounterModel.signed_in_from.add({signin_limits.address_ref(where, now)})],
            condition=CounterModel.sk.exists(),
        )
    except UpdateError as exc:
        if condition_failed(exc):  # a user deleted meanwhile has nowhere to remember
            return
        raise
    stale = signin_limits.stale_refs(item.signed_in_from or set(), now)
    if stale:
        item.update(actions=[CounterModel.signed_in_from.delete(stale)])


def unlock(email: str) -> dict[str, Any]:
    """Clear every sign-in lock of a user: the failure counts of their email and of their email
    from each address (the per-address counts are shared with other emails and stay); 404 if
    there is no such user.

    Why 404 rather than clearing anyway: counts of an email nobody has lock nobody out, and an
    owner who mistyped the email should hear so instead of a success that changed nothing.
    """
    address = normalise_email(email)
    if get_user(address) is None:
        raise NotFound(f"no user {address}")
    return {"email": address, "cleared": signin_limits.unlock(address)}

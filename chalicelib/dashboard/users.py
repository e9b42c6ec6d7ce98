"""Dashboard users: email and password (Argon2id), a role, disabled or not, and their sessions.

One item per user in the counters table (``store.keys.dashboard_user``: pk ``DASHUSER``, sk
the normalised email), beside the other configuration items (API keys, webhook endpoints):
a handful of users needs no table, index or policy of its own, and listing them is one Query.
The item (``store.accounts.UserItem``) holds ``state`` (``active`` or ``disabled``, so writes
can be conditional on it), the role, the Argon2 hash, its dates and ``keys``: the user's sessions
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

from chalicelib.core import clock
from chalicelib.core.context import SYSTEM, RequestContext, log_change
from chalicelib.core.errors import ApiError, BadRequest, Conflict, NotFound
from chalicelib.core.validation import e164
from chalicelib.dashboard import signin_limits
from chalicelib.store import accounts
from chalicelib.store.accounts import User

if TYPE_CHECKING:
    from argon2 import PasswordHasher

ROLES = ("admin", "viewer")
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


def _public(user: User) -> dict[str, Any]:
    """What may be shown about a user: never the hash, never a session."""
    return {
        "email": user.email,
        "role": user.role or "viewer",
        "disabled": not user.active,
        "created_at": clock.iso(user.created_at),
        "disabled_at": clock.iso(user.disabled_at) if not user.active else None,
        "phone": user.phone,
    }


def create_user(email: str, role: str, password: str, *, ctx: RequestContext = SYSTEM) -> dict[str, Any]:
    """A new user (409 if the email is taken)."""
    address, kind, secret = normalise_email(email), _check_role(role), _check_password(password)
    user = accounts.create_user(address, kind, hasher().hash(secret), clock.now_ms())
    if user is None:
        raise Conflict(f"there is already a user {address}")
    log_change(ctx, "users.create", email=address, role=kind)
    return _public(user)


def list_users() -> list[dict[str, Any]]:
    """Every user, disabled ones included, by email."""
    return [_public(u) for u in accounts.list_users()]


def get_user(email: str) -> dict[str, Any] | None:
    try:
        user = accounts.get_user(normalise_email(email))
    except BadRequest:
        return None
    return _public(user) if user is not None else None


def phone_of(email: str) -> str | None:
    """The user's own phone (E.164), or ``None`` when they have given none."""
    user = accounts.get_user(email)
    return user.phone if user is not None else None


def set_phone(email: str, phone: Any, *, ctx: RequestContext = SYSTEM) -> dict[str, Any]:
    """The user's own phone, checked by ``validation.e164`` (400 naming ``'phone'``); empty or
    ``None`` erases it. A call-back from the dashboard rings this phone first."""
    address = normalise_email(email)
    value = None if phone is None or (isinstance(phone, str) and not phone.strip()) else e164(phone, "phone")
    user = accounts.set_phone(address, value)
    if user is None:
        raise NotFound(f"there is no user {address}")
    log_change(ctx, "users.phone", email=address, erased=value is None)
    return _public(user)


def active_role(email: str) -> str | None:
    """The role of an active user; ``None`` for a disabled or unknown one."""
    user = accounts.get_user(email)
    if user is None:
        return None
    return user.role if user.active and user.role in ROLES else None


def set_disabled(email: str, disabled: bool, *, ctx: RequestContext = SYSTEM) -> dict[str, Any]:
    """Disable (every session of the user ends at once) or enable a user; 404 if there is none."""
    address = normalise_email(email)
    user = accounts.set_disabled(address, disabled, clock.now_ms())
    if user is None:
        raise NotFound(f"no user {address}")
    log_change(ctx, "users.disable" if disabled else "users.enable", email=address)
    if disabled and user.sessions:
        _end_sessions(sorted(user.sessions))
    return _public(user)


def _end_sessions(refs: list[str]) -> None:
    accounts.delete_web_sessions(s for ref in refs if (s := ref.partition(":")[2]))


def attach_session(email: str, ref: str, *, stale_before_ms: int) -> bool:
    """Record a new session on its user, only while the user is active; ``False`` if not.

    Sessions that began before ``stale_before_ms`` (past the absolute limit) are dropped from
    the list on the way (their items end by TTL).
    """
    return accounts.attach_session(email, ref, stale_before_ms=stale_before_ms)


def detach_session(email: str, ref: str) -> None:
    """Forget a session that was signed out."""
    accounts.detach_session(email, ref)


def authenticate(email: str, password: str, source_ip: str) -> dict[str, Any]:
    """The user whose email and password these are, if active; else ``WrongCredentials`` (401).

    Past the attempt limits ``signin_limits.SignInLimited`` (429 with ``Retry-After``) comes
    first, and the password is not checked at all. A right password remembers ``source_ip``
    (hashed) as one of the user's sign-in addresses, spared the per-email ceiling from then on.
    """
    from argon2.exceptions import InvalidHashError, VerificationError  # with the hasher, on first use

    address = (email or "").strip().lower()[:MAX_EMAIL]
    user = accounts.get_user(address) if address else None
    # Read before counting (the same one read whether or not the user exists), so an address the
    # user signed in from lately is spared the per-email ceiling.
    where = signin_limits.address_hash(address, source_ip)
    known = user is not None and signin_limits.is_known(set(user.signed_in_from), where, clock.now_ms())
    attempt = signin_limits.begin(address, source_ip, known=known)
    secret = password if isinstance(password, str) else ""
    stored = user.password_hash if user is not None else None
    if len(secret) > MAX_PASSWORD:
        raise WrongCredentials()
    try:
        hasher().verify(stored or _dummy_hash(), secret)
    except (VerificationError, InvalidHashError):
        raise WrongCredentials() from None
    if user is None or stored is None or not user.active:
        raise WrongCredentials()
    signin_limits.succeeded(attempt)
    _remember_address(user.email, where)
    if hasher().check_needs_rehash(stored):  # the parameters were raised since: store the stronger hash
        accounts.set_password_hash(user, hasher().hash(secret))
    return _public(user)


def _remember_address(email: str, where: str | None) -> None:
    """Keep where the user just signed in from (hashed, see ``signin_limits``): one atomic ADD,
    then the refs past the latest 5 of 30 days are dropped, as ``attach_session`` drops sessions."""
    if where is None:
        return
    now = clock.now_ms()
    refs = accounts.add_sign_in_address(email, signin_limits.address_ref(where, now))
    if refs is None:  # a user deleted meanwhile has nowhere to remember
        return
    stale = signin_limits.stale_refs(set(refs), now)
    if stale:
        accounts.drop_sign_in_addresses(email, stale)


def unlock(email: str, *, ctx: RequestContext = SYSTEM) -> dict[str, Any]:
    """Clear every sign-in lock of a user: the failure counts of their email and of their email
    from each address (the per-address counts are shared with other emails and stay); 404 if
    there is no such user.

    Why 404 rather than clearing anyway: counts of an email nobody has lock nobody out, and an
    owner who mistyped the email should hear so instead of a success that changed nothing.
    """
    address = normalise_email(email)
    if get_user(address) is None:
        raise NotFound(f"no user {address}")
    cleared = signin_limits.unlock(address)
    log_change(ctx, "users.unlock", email=address)
    return {"email": address, "cleared": cleared}


# --- changes an admin (or the user) makes from the dashboard ---------------------------------------


def _active_admins() -> set[str]:
    return {u.email for u in accounts.list_users() if u.active and u.role == "admin"}


def change_password(email: str, current: str, new: str, *, keep_session: str | None = None) -> dict[str, Any]:
    """A user's own new password, given the current one (400 naming ``current_password`` if it is
    wrong); every other session of theirs ends (``keep_session``: the session id asking)."""
    from argon2.exceptions import InvalidHashError, VerificationError

    user = accounts.get_user(normalise_email(email))
    if user is None or not user.active:
        raise NotFound("no such active user")
    try:
        hasher().verify(user.password_hash or _dummy_hash(), (current or "")[:MAX_PASSWORD])
    except (VerificationError, InvalidHashError):
        raise BadRequest("'current_password' is not your current password") from None
    if not isinstance(new, str) or not MIN_PASSWORD <= len(new) <= MAX_PASSWORD:
        raise BadRequest(f"'new_password' must be {MIN_PASSWORD} to {MAX_PASSWORD} characters long")
    if new == current:
        raise BadRequest("'new_password' must differ from the current one")
    accounts.set_password_hash(user, hasher().hash(new))
    _end_sessions(sorted(r for r in user.sessions if r.partition(":")[2] != keep_session))
    return _public(user)


def reset_password(email: str) -> dict[str, Any]:
    """A made-up password for a user who lost theirs (shown once, to the admin asking): every
    session of theirs ends and their sign-in locks are cleared."""
    user = accounts.get_user(normalise_email(email))
    if user is None:
        raise NotFound(f"no user {email[:254]}")
    password = generate_password()
    accounts.set_password_hash(user, hasher().hash(password))
    _end_sessions(sorted(user.sessions))
    signin_limits.unlock(user.email)
    return {**_public(user), "password": password}


def set_role(email: str, role: str) -> dict[str, Any]:
    """Another role for a user (never the last active admin's taken away); their sessions end, so
    the new role holds from their next sign-in."""
    address, kind = normalise_email(email), _check_role(role)
    if kind != "admin" and _active_admins() == {address}:
        raise BadRequest(f"{address} is the last admin: make another admin first")
    user = accounts.set_role(address, kind)
    if user is None:
        raise NotFound(f"no user {address}")
    _end_sessions(sorted(user.sessions))
    return _public(user)


def delete_user(email: str) -> dict[str, Any]:
    """Delete a user and end their sessions; never the last active admin."""
    address = normalise_email(email)
    if _active_admins() == {address}:
        raise BadRequest(f"{address} is the last admin: make another admin first")
    user = accounts.delete_user(address)
    if user is None:
        raise NotFound(f"no user {address}")
    _end_sessions(sorted(user.sessions))
    return _public(user)

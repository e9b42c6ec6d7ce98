"""Dashboard sessions: server-side, in DynamoDB, found by the hash of the cookie's token.

The cookie carries a random token (256 bits); the session item is keyed by its SHA-256
(``store.keys.web_session``), so a leaked table or backup holds no usable session. The item
keeps the email, the role (so a request costs one read), the session's CSRF token and two
times: when it began and when it was last used. Every request checks both in code with
``chalicelib.core.clock``: older than ``DASHBOARD_SESSION_HOURS`` since sign-in, or unused for
``DASHBOARD_IDLE_MINUTES``, and the session is refused although its item may still exist.
The item's TTL (the absolute end) only tidies up, up to days late. The last use is written
at most once a minute (``TOUCH_MS``), so browsing is not a write per request; at that moment
the user is read again as well (still active? the same role?), so that a session never
outlives its user's disabling by more than a minute even if deleting it had failed.

Sign-in always makes a new session with a new token (a token planted before sign-in, session
fixation, is never promoted); sign-out deletes the item; disabling a user deletes all of
theirs (``users.set_disabled``).
"""

from __future__ import annotations

import hashlib
import re
import secrets

from chalicelib import business
from chalicelib.core import clock
from chalicelib.core.settings import get_settings
from chalicelib.dashboard import users
from chalicelib.store import accounts
from chalicelib.store.accounts import WebSession as Session

TOKEN_BYTES = 32
TOUCH_MS = 60_000
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")

__all__ = ["Session", "current", "end", "session_id", "start"]


def session_id(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _limits_ms() -> tuple[int, int]:
    s = get_settings()
    return s.dashboard_idle_minutes * 60_000, s.dashboard_session_hours * 3_600_000


def start(email: str, role: str) -> str:
    """A new session for a user who has just signed in; returns the cookie's token.

    Raises ``users.WrongCredentials`` if the user was disabled meanwhile (then no session is left).
    """
    token = secrets.token_urlsafe(TOKEN_BYTES)
    sid = session_id(token)
    now = clock.now_ms()
    _, absolute_ms = _limits_ms()
    session = Session(sid, email, role, secrets.token_urlsafe(TOKEN_BYTES), now, now)
    accounts.put_web_session(session, expires_at_ms=now + absolute_ms)
    if not users.attach_session(email, f"{now}:{sid}", stale_before_ms=now - absolute_ms):
        accounts.delete_web_session(sid)
        raise users.WrongCredentials()
    return token


def _load(token: str | None) -> Session | None:
    """The session item of a token. A process without the business profile (a cold one, or a
    minute on) reads the profile in the same request: every page shows days in its time zone."""
    if not token or not _TOKEN.fullmatch(token):
        return None
    if business.cached():
        return accounts.get_web_session(session_id(token))
    found, profile = accounts.get_web_session_and_profile(session_id(token))
    business.prime(profile)
    return found


def current(token: str | None, *, touch: bool = True) -> Session | None:
    """The live session of this cookie token, or ``None`` (unknown, signed out, idle or too old)."""
    found = _load(token)
    if found is None:
        return None
    now = clock.now_ms()
    idle_ms, absolute_ms = _limits_ms()
    created, last_seen, role = found.created_at, found.last_seen_at, found.role
    if now - created >= absolute_ms or now - last_seen >= idle_ms or now < created:
        return None
    if touch and now - last_seen >= TOUCH_MS:
        # Once a minute the user is read again too: disabling deletes the user's sessions, and
        # this bounds what a session could outlive that by (a delete that failed) to a minute.
        current_role = users.active_role(found.email)
        if current_role is None:
            accounts.delete_web_session(found.session_id)
            return None
        if not accounts.touch_web_session(found, now, current_role):
            return None
        role, last_seen = current_role, now
    return Session(found.session_id, found.email, role, found.csrf, created, last_seen)


def end(token: str | None) -> None:
    """Sign-out: the session's item is deleted (and dropped from its user's list)."""
    found = _load(token)
    if found is None:
        return
    accounts.delete_web_session(found.session_id)
    if found.email:
        users.detach_session(found.email, f"{found.created_at}:{found.session_id}")

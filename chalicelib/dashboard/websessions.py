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
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.update import Action

from chalicelib.core import clock
from chalicelib.core.settings import get_settings
from chalicelib.dashboard import users
from chalicelib.store import keys
from chalicelib.store.models import CounterModel
from chalicelib.store.ops import condition_failed, expires_after

TOKEN_BYTES = 32
TOUCH_MS = 60_000
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")


@dataclass(frozen=True)
class Session:
    email: str
    role: str
    csrf: str
    session_id: str  # the token's SHA-256
    created_at: int
    last_seen_at: int


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
    data = {"email": email, "role": role, "csrf": secrets.token_urlsafe(TOKEN_BYTES), "created_at": now}
    item = CounterModel(*keys.web_session(sid), data=data, total=now)
    item.expires_at = expires_after(now + absolute_ms, 0)
    item.save()
    if not users.attach_session(email, f"{now}:{sid}", stale_before_ms=now - absolute_ms):
        item.delete()
        raise users.WrongCredentials()
    return token


def _load(token: str | None) -> CounterModel | None:
    if not token or not _TOKEN.fullmatch(token):
        return None
    try:
        return CounterModel.get(*keys.web_session(session_id(token)))
    except CounterModel.DoesNotExist:
        return None


def current(token: str | None, *, touch: bool = True) -> Session | None:
    """The live session of this cookie token, or ``None`` (unknown, signed out, idle or too old)."""
    item = _load(token)
    if item is None:
        return None
    data: dict[str, Any] = item.data or {}
    now = clock.now_ms()
    idle_ms, absolute_ms = _limits_ms()
    created = int(data.get("created_at") or 0)
    last_seen = int(item.total or created)  # ``total``: the counters' number attribute, here the last use
    if now - created >= absolute_ms or now - last_seen >= idle_ms or now < created:
        return None
    role = str(data.get("role", "viewer"))
    if touch and now - last_seen >= TOUCH_MS:
        # Once a minute the user is read again too: disabling deletes the user's sessions, and
        # this bounds what a session could outlive that by (a delete that failed) to a minute.
        current_role = users.active_role(str(data.get("email", "")))
        if current_role is None:
            item.delete()
            return None
        try:
            actions: list[Action] = [CounterModel.total.set(now)]
            if current_role != role:
                role = current_role
                actions.append(CounterModel.data.set({**data, "role": role}))
            item.update(actions=actions, condition=CounterModel.sk.exists())
        except UpdateError as exc:
            if condition_failed(exc):  # signed out or disabled meanwhile
                return None
            raise
        last_seen = now
    return Session(
        email=str(data.get("email", "")),
        role=role,
        csrf=str(data.get("csrf", "")),
        session_id=item.pk.partition("#")[2],
        created_at=created,
        last_seen_at=last_seen,
    )


def end(token: str | None) -> None:
    """Sign-out: the session's item is deleted (and dropped from its user's list)."""
    item = _load(token)
    if item is None:
        return
    data: dict[str, Any] = item.data or {}
    item.delete()
    email = data.get("email")
    if isinstance(email, str) and email:
        users.detach_session(email, f"{data.get('created_at')}:{item.pk.partition('#')[2]}")

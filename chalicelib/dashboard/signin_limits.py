"""How many sign-ins one email and one client address may try: counted in DynamoDB, never by sleeping.

Each attempt first adds one to two counters in the counters table (``store.keys.signin_failures``):
one for the email (hashed) and one for the client address (API Gateway's ``sourceIp``, never
``X-Forwarded-For``, which the client writes), each in a fixed window of
``DASHBOARD_SIGNIN_WINDOW_MINUTES``. The add returns the new count, so however many requests
arrive at once, at most ``DASHBOARD_SIGNIN_EMAIL_LIMIT`` (5) passwords of one email and
``DASHBOARD_SIGNIN_IP_LIMIT`` (50) of one address are checked per window: past that the
answer is 429 with ``Retry-After`` (the seconds left in the window) and the password is not
even looked at. A successful sign-in takes its attempt back off both counters, so only
failures count. The per-address limit is larger because offices and mobile carriers put many
people behind one address.

Why not sleep between attempts: the voice webhook shares the Lambda, and a sleeping
function is a function that cannot answer calls (and costs money while it waits). Why
counters with TTL: the window is checked by the code (the key names it), TTL only tidies up.
A fixed window lets one burst of 5 at a window's end and 5 at the next start through: at most
twice the limit in a short time, never more on average; we chose it for one write per counter.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from chalicelib import clock
from chalicelib.errors import ApiError
from chalicelib.settings import get_settings
from chalicelib.store import keys
from chalicelib.store.models import CounterModel
from chalicelib.store.ops import expires_after


class SignInLimited(ApiError):
    """Too many sign-in attempts for this email or from this address: try again after ``Retry-After``."""

    status = 429
    code = "too_many_attempts"

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, (retry_after + 59) // 60)
        super().__init__(f"Too many sign-in attempts. Try again in {minutes} minute{'s' if minutes > 1 else ''}.")
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


def _who(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class Attempt:
    """One sign-in attempt's place in its window's counters (to take back when it succeeds)."""

    email_key: keys.Key
    ip_key: keys.Key


def _window() -> tuple[str, int, int]:
    """The current window's name (its first minute), its end (epoch ms) and its length (ms)."""
    length_ms = get_settings().dashboard_signin_window_minutes * 60_000
    now = clock.now_ms()
    start = now - now % length_ms
    return str(start // 60_000), start + length_ms, length_ms


def _add(key: keys.Key, amount: int, end_ms: int, length_ms: int) -> int:
    item = CounterModel(key.pk, key.sk)
    ttl = expires_after(end_ms + length_ms, 0)  # gone a window after it ends; the key's window is what counts
    item.update(actions=[CounterModel.total.add(amount), CounterModel.expires_at.set(ttl)])
    return int(item.total or 0)


def begin(email: str, source_ip: str) -> Attempt:
    """Count an attempt; raises ``SignInLimited`` (before any password is checked) past a limit."""
    s = get_settings()
    window, end_ms, length_ms = _window()
    attempt = Attempt(
        email_key=keys.signin_failures("email", _who(email), window),
        ip_key=keys.signin_failures("ip", _who(source_ip or "unknown"), window),
    )
    retry_after = max(1, (end_ms - clock.now_ms() + 999) // 1000)
    if _add(attempt.ip_key, 1, end_ms, length_ms) > s.dashboard_signin_ip_limit:
        raise SignInLimited(retry_after)
    if _add(attempt.email_key, 1, end_ms, length_ms) > s.dashboard_signin_email_limit:
        raise SignInLimited(retry_after)
    return attempt


def succeeded(attempt: Attempt) -> None:
    """A right password: this attempt was no failure, so it is taken off both counts."""
    _, end_ms, length_ms = _window()
    for key in (attempt.email_key, attempt.ip_key):
        _add(key, -1, end_ms, length_ms)

"""How many sign-ins may be tried, and from where: counted in DynamoDB, never by sleeping.

Each attempt first adds one to up to three counters in the counters table, each in a fixed
window of ``DASHBOARD_SIGNIN_WINDOW_MINUTES`` (15), keyed by hashes, never by what was typed:

* per client address, across emails: ``DASHBOARD_SIGNIN_IP_LIMIT`` (50). Larger because offices
  and mobile carriers put many people behind one address.
* per email from one client address: ``DASHBOARD_SIGNIN_EMAIL_IP_LIMIT`` (5). This is what stops
  guessing from one place.
* per email, across the addresses its user has not signed in from lately:
  ``DASHBOARD_SIGNIN_EMAIL_CEILING`` (100). This bounds guessing spread over many addresses.

The client address is API Gateway's ``sourceIp``, never ``X-Forwarded-For`` (the client writes
that). The add returns the new count, so however many requests arrive at once, no more than a
limit's passwords are checked per window: past any limit the answer is 429 with ``Retry-After``
(the seconds left in the window) and the password is not even looked at. A successful sign-in
takes its attempt back off every counter it added, so only failures count.

Why not one per-email limit, as before: five wrong passwords from anywhere then locked the only
admin out, the right password included, and about 20 requests an hour kept them out. Now
failures from one place lock only that place. A user's addresses of their recent successful
sign-ins (``KNOWN_ADDRESSES``, the latest 5 within ``KNOWN_DAYS``, 30 days) are spared the
per-email ceiling, so someone spraying guesses from many addresses can neither lock the owner
out of their usual address nor try more than the ceiling's passwords per window from elsewhere.
Those addresses are kept on the user's item (``users.py`` writes it), each as a SHA-256 of the
email and the address, so the same address is another hash for another user and none is kept
as typed. (That hides addresses from anyone reading the table or an export, not from someone
willing to hash every IPv4 address for one email: hence only 5, and only for 30 days.)

``unlock`` clears every count of one email (``calltracking users unlock EMAIL``): the owner's
way back in from a new address while the ceiling holds. The per-address counts are not the
email's and stay.

Why not sleep between attempts: the voice webhook shares the Lambda, and a sleeping
function is a function that cannot answer calls (and costs money while it waits). Why
counters with TTL: the window is checked by the code (the key names it), TTL only tidies up.
A fixed window lets one burst of 5 at a window's end and 5 at the next start through: at most
twice the limit in a short time, never more on average; we chose it for one write per counter.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from chalicelib.core import clock
from chalicelib.core.errors import ApiError
from chalicelib.core.settings import get_settings
from chalicelib.store import accounts, keys

KNOWN_ADDRESSES = 5  # a user's latest addresses spared the per-email ceiling
KNOWN_DAYS = 30  # ... if they signed in from them this recently
_DAY_MS = 86_400_000
_NO_ADDRESS = "unknown"  # what the sign-in route passes when the request carries no sourceIp


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


# ---------------------------------------------------------------------------------------------- known addresses


def address_hash(email: str, source_ip: str) -> str | None:
    """How ``source_ip`` is kept among ``email``'s sign-in addresses; ``None`` without an address
    (a request with no ``sourceIp`` must never pass for a known one)."""
    if not source_ip or source_ip == _NO_ADDRESS:
        return None
    return _who(f"{email}\n{source_ip}")


def address_ref(address: str, at_ms: int) -> str:
    """One successful sign-in as kept on the user: ``<epoch ms>:<address hash>``."""
    return f"{at_ms}:{address}"


def _parse(ref: str) -> tuple[int, str]:
    at, _, address = ref.partition(":")
    return (int(at) if at.isdigit() else 0), address


def is_known(refs: Iterable[str], address: str | None, now_ms: int) -> bool:
    """Whether the user signed in from ``address`` within ``KNOWN_DAYS``."""
    since = now_ms - KNOWN_DAYS * _DAY_MS
    return address is not None and any(a == address and at >= since for at, a in map(_parse, refs))


def stale_refs(refs: Iterable[str], now_ms: int) -> set[str]:
    """The refs to forget: all but each address's latest, those older than ``KNOWN_DAYS``, and
    all but the ``KNOWN_ADDRESSES`` latest addresses."""
    since = now_ms - KNOWN_DAYS * _DAY_MS
    every = set(refs)
    latest: dict[str, tuple[int, str]] = {}
    for ref in every:
        at, address = _parse(ref)
        if address not in latest or (at, ref) > latest[address]:
            latest[address] = (at, ref)
    kept = sorted((v for v in latest.values() if v[0] >= since), reverse=True)[:KNOWN_ADDRESSES]
    return every - {ref for _, ref in kept}


# ---------------------------------------------------------------------------------------------- counters


@dataclass(frozen=True)
class Attempt:
    """One sign-in attempt's place in its window's counters (to take back when it succeeds)."""

    counted: tuple[keys.Key, ...]


def _window() -> tuple[str, int, int]:
    """The current window's name (its first minute), its end (epoch ms) and its length (ms)."""
    length_ms = get_settings().dashboard_signin_window_minutes * 60_000
    now = clock.now_ms()
    start = now - now % length_ms
    return str(start // 60_000), start + length_ms, length_ms


def _add(key: keys.Key, amount: int, end_ms: int, length_ms: int) -> int:
    # Gone a window after it ends; the key's window is what counts.
    return accounts.add_sign_in_failures(key, amount, expires_at_ms=end_ms + length_ms)


def begin(email: str, source_ip: str, *, known: bool) -> Attempt:
    """Count an attempt; raises ``SignInLimited`` (before any password is checked) past a limit.

    ``known``: the user signed in from this address lately (``is_known``), so the attempt is not
    counted against the email's ceiling.
    """
    s = get_settings()
    window, end_ms, length_ms = _window()
    email_who, ip_who = _who(email), _who(source_ip or _NO_ADDRESS)
    limits = [
        (keys.signin_failures("ip", ip_who, window), s.dashboard_signin_ip_limit),
        (keys.signin_failures_from(email_who, window, ip_who), s.dashboard_signin_email_ip_limit),
    ]
    if not known:
        limits.append((keys.signin_failures("email", email_who, window), s.dashboard_signin_email_ceiling))
    retry_after = max(1, (end_ms - clock.now_ms() + 999) // 1000)
    counted: list[keys.Key] = []
    for key, limit in limits:
        counted.append(key)
        if _add(key, 1, end_ms, length_ms) > limit:
            raise SignInLimited(retry_after)
    return Attempt(tuple(counted))


def succeeded(attempt: Attempt) -> None:
    """A right password: this attempt was no failure, so it is taken off every count it added."""
    _, end_ms, length_ms = _window()
    for key in attempt.counted:
        _add(key, -1, end_ms, length_ms)


def unlock(email: str) -> int:
    """Forget every failure count of ``email`` (per email and per email and address, every
    window): it may be tried again at once from anywhere. Returns how many counters went."""
    return accounts.clear_sign_in_failures(keys.signin_failure_partitions(_who(email)))

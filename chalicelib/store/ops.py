"""Small helpers every feature writes with: read-or-404, conditional-write outcomes, TTL times."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import TypeVar

from pynamodb.exceptions import PynamoDBException
from pynamodb.models import Model

from chalicelib.core.errors import NotFound, dynamodb_code

_M = TypeVar("_M", bound=Model)
MAX_ID_LENGTH = 64  # our ids and Twilio's sids are shorter; DynamoDB refuses keys over 2 KB with a 500-worthy error


def get_or_404(model: type[_M], key: str, what: str) -> _M:
    """The item keyed ``key``, or a 404 saying there is no such ``what`` (over-long keys are never looked up)."""
    if len(key) <= MAX_ID_LENGTH:
        try:
            return model.get(key)
        except model.DoesNotExist:
            pass
    shown = key if len(key) <= MAX_ID_LENGTH else key[:MAX_ID_LENGTH] + "..."
    raise NotFound(f"no {what} {shown!r}")


def condition_failed(exc: BaseException) -> bool:
    """Whether a PynamoDB write failed only because its condition did not hold."""
    return dynamodb_code(exc) == "ConditionalCheckFailedException"


def is_storage_error(exc: BaseException) -> bool:
    """Whether ``exc`` is DynamoDB's (through PynamoDB): a failure of the store, not a bug. Code
    outside ``store/`` asks this instead of importing PynamoDB's exception types."""
    return isinstance(exc, PynamoDBException)


def transaction_cancelled(exc: BaseException) -> bool:
    """Whether a transaction was cancelled (a condition in it failed, or it raced another)."""
    return dynamodb_code(exc) == "TransactionCanceledException"


def failed_conditions(exc: BaseException) -> set[int]:
    """The positions (in the order they were added) of a cancelled transaction's items whose
    condition did not hold; empty for any other failure."""
    reasons = getattr(exc, "cancellation_reasons", None) if transaction_cancelled(exc) else None
    return {i for i, r in enumerate(reasons or []) if r is not None and r.code == "ConditionalCheckFailed"}


def conflicted(exc: BaseException) -> bool:
    """Whether a transaction was cancelled only because another one touched its items at the same
    moment (``TransactionConflict``): no condition failed, so trying it again may succeed."""
    reasons = getattr(exc, "cancellation_reasons", None) if transaction_cancelled(exc) else None
    codes = {r.code for r in reasons or [] if r is not None}
    return "TransactionConflict" in codes and "ConditionalCheckFailed" not in codes


CONFLICT_TRIES = 3  # a transaction's tries in all while it only conflicts with others


def conflict_pause(attempt: int) -> None:
    """Before trying a conflicted transaction again: 10-20 ms, then 20-40 ms (jitter, so two
    requests that conflicted once do not meet again)."""
    time.sleep(0.01 * (2**attempt) * (1 + random.random()))


def expires_after(start_ms: int, days: float) -> datetime:
    """A TTL attribute's value: ``days`` after ``start_ms``. TTL only tidies up (it deletes
    up to days late), so code that must honour the time checks it itself."""
    return datetime.fromtimestamp(start_ms / 1000 + days * 86_400, tz=UTC)


def dynamo_number(amount: Decimal) -> int | float:
    """PynamoDB writes numbers with json.dumps: whole amounts as int, cents as a short float
    (``125.5`` is sent as the decimal string "125.5", so DynamoDB still adds exactly)."""
    return int(amount) if amount == amount.to_integral_value() else float(amount)

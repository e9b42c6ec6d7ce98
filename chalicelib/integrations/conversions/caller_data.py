"""What conversions keep about a caller: nothing by their number.

A conversion's state and delivery log name the call by its SID; what was sent is kept redacted
(no phone number, hashed or not), and expires after ``destinations.LOG_DAYS``. The platforms
themselves hold what they were sent: the owner erases it there.
"""

from __future__ import annotations

from typing import Any

from chalicelib.core.context import RequestContext


def export(phone: str, ctx: RequestContext) -> dict[str, Any]:
    """Nothing kept by the caller's number (see the module's docstring)."""
    return {}


def erase(phone: str, ctx: RequestContext) -> int:
    """Nothing to erase: no item holds the caller's number."""
    return 0

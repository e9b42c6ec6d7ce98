"""What the webhooks keep about a caller: nothing by their number.

The payload sent to an endpoint is built from the call when it is sent and never stored; the
delivery log keeps the event's id and type, the call's SID, the status and the first bytes of
the receiver's answer, and expires after ``LOG_DAYS``. So a caller's export gets nothing from
here and an erasure has nothing to delete: the call's own deletion (``call.deleted``) is what
reaches the receivers, as an event they are sent.
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

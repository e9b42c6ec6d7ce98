"""What the webhooks keep about a caller: the events waiting to be sent again, and receivers' answers.

Each delivery keeps its event (``GET /v1/calls/{sid}``'s view of the call, the caller's number
included) so that it can be sent again, for ``LOG_DAYS``; the delivery log keeps the first bytes of
each receiver's answer, which a receiver may have filled with the number. A caller's access request
lists the deliveries that carried their calls (what was sent where); an erasure deletes those
deliveries (never sent again) and empties the logged answers that echo the number. What the
receivers themselves keep is theirs to erase: the access document lists where the calls went.
"""

from __future__ import annotations

from typing import Any

from chalicelib.core.context import RequestContext
from chalicelib.core.validation import number_forms
from chalicelib.store import webhooks


def export(phone: str, ctx: RequestContext) -> dict[str, Any]:
    """The deliveries whose event carried the caller's calls, by endpoint."""
    found = webhooks.deliveries_of_caller(number_forms(phone), ctx=ctx)
    return {"deliveries": found} if found else {}


def export_step(phone: str, token: str | None, ctx: RequestContext) -> tuple[dict[str, Any], str | None]:
    """``export`` a bounded step at a time (one page of one endpoint's deliveries): this step's
    part of the export and the next step's token (``None``: done)."""
    found, after = webhooks.deliveries_step(number_forms(phone), token, ctx=ctx)
    return ({"deliveries": found} if found else {}), after


def erase(phone: str, ctx: RequestContext) -> int:
    """Deliveries carrying the number deleted, logged answers echoing it emptied; how many items."""
    return webhooks.scrub_caller(number_forms(phone), ctx=ctx)


def erase_step(phone: str, token: str | None, ctx: RequestContext) -> tuple[int, str | None]:
    """``erase`` a bounded step at a time (one page of one endpoint's deliveries or log): how many
    items this step changed and the next step's token (``None``: done). The caller job's way."""
    return webhooks.scrub_step(number_forms(phone), token, ctx=ctx)

"""Calling a caller back from the dashboard: the business's phone rings first, showing the tracking
number; answered, it is connected to the caller, who sees the tracking number they called.

The outbound call is kept on the original call (``callback_sid``, ``called_back_at``) rather than as
a call of its own, so it never counts as an inbound call in the reports.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from chalicelib import calls
from chalicelib.core import clock
from chalicelib.core.context import SYSTEM, RequestContext, log_change
from chalicelib.core.errors import Conflict, UpstreamError
from chalicelib.core.settings import get_settings
from chalicelib.core.telephony import TelephonyError, get_provider
from chalicelib.core.validation import is_e164
from chalicelib.store import calls as store
from chalicelib.store.calls import CallChange


def bridge_path(caller: str, tracking: str) -> str:
    """The TwiML URL the owner's answered leg asks (signed by Twilio with its query)."""
    return "/twilio/bridge?" + urlencode({"to": caller, "from": tracking})


def call_back(call_sid: str, *, ctx: RequestContext = SYSTEM) -> dict[str, Any]:
    """Ring the business's phone (the one the call went to), then the caller; the call as it is now."""
    log_change(ctx, "calls.call_back", call_sid=call_sid)
    c = calls.load(call_sid, ctx=ctx)
    owner = c.forwarded_to
    if not (is_e164(c.caller) and is_e164(c.called) and is_e164(owner)):
        raise Conflict("this call has no caller number, tracking number or business phone to call back between")
    s = get_settings()
    assert c.caller and c.called and owner  # for the type checker: checked just above
    try:
        sid = get_provider().start_call(
            to=owner,
            from_=c.called,
            url=s.public_base_url + bridge_path(c.caller, c.called),
        )
    except TelephonyError as exc:
        if exc.client_error:
            raise Conflict(f"Twilio refused the call back: {exc}") from None
        raise UpstreamError(f"the call back could not be started: {exc}") from None
    store.update(
        call_sid,
        CallChange(set={"callback_sid": sid, "called_back_at": clock.now_ms()}),
        guard=store.Guard("exists"),
        ctx=ctx,
    )
    return calls.get(call_sid, ctx=ctx)

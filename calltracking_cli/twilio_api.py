"""The owner's Twilio REST client: the SDK, pointed at ``TWILIO_API_BASE_URL`` when set (a mock such as Prism)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from twilio.rest import Client

TIMEOUT_SECONDS = 15.0


def client(account_sid: str, auth_token: str, *, base_url: str | None = None) -> Client:
    """A REST client for ``account_sid``; ``base_url`` (or ``TWILIO_API_BASE_URL``) replaces api.twilio.com."""
    from twilio.http.http_client import TwilioHttpClient
    from twilio.rest import Client

    base = base_url or os.environ.get("TWILIO_API_BASE_URL") or None
    # An explicit environment keeps the SDK from reading TWILIO_EDGE/TWILIO_REGION (it would rewrite a mock's host).
    made = Client(
        account_sid,
        auth_token,
        http_client=TwilioHttpClient(timeout=TIMEOUT_SECONDS),
        environment={"TWILIO_ACCOUNT_SID": account_sid},
    )
    if base:
        made.api.base_url = base.rstrip("/")
    return made


def fetch_account(parent_sid: str, auth_token: str, account_sid: str | None = None) -> Any:
    """The Account resource (``account_sid``: a subaccount of ``parent_sid``), or ``ValueError`` saying why not.

    Fetching it is the cheapest request that proves the SID and token are right and the account
    is usable; a subaccount is fetched with its parent's credentials, which also proves it is theirs.
    """
    from twilio.base.exceptions import TwilioException, TwilioRestException

    target = account_sid or parent_sid
    try:
        account = client(parent_sid, auth_token).api.v2010.accounts(target).fetch()
    except TwilioRestException as exc:
        if exc.status in (401, 403):
            raise ValueError(
                f"Twilio refused the account SID and auth token ({exc.status}): copy both again from the console"
            ) from None
        if exc.status == 404:
            raise ValueError(f"Twilio knows no account {target} under {parent_sid}") from None
        raise ValueError(f"Twilio answered {exc.status}: {exc.msg}") from None
    except (TwilioException, OSError) as exc:
        raise ValueError(f"Twilio could not be reached: {type(exc).__name__}: {exc}") from None
    if account.status not in (None, "active"):
        raise ValueError(f"the Twilio account {target} is {account.status}, not active")
    return account

"""Is SES ready to send the alerts? The sender identity's verification and the account's sandbox.

SES sends only from a verified identity (the address, or its domain), and a new account is
in the sandbox: it sends only to verified addresses until production access is granted.
moto marks new identities verified but has no account call, so the sandbox is checked on
deployed stages only.
"""

from __future__ import annotations

from typing import Any

from chalicelib.core.settings import get_settings
from chalicelib.integrations.alerts import settings as alert_settings
from chalicelib.integrations.alerts import transports


def _identity(name: str) -> dict[str, Any] | None:
    from botocore.exceptions import ClientError  # loaded with the client

    try:
        answer: dict[str, Any] = transports.ses().get_email_identity(EmailIdentity=name)
        return answer
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NotFoundException", "NotFound"):
            return None
        raise


def status() -> dict[str, Any]:
    """The sender, its identity's verification, the sandbox, and what to do about each problem."""
    s = get_settings()
    sender = alert_settings.get().alerts_from_email
    out: dict[str, Any] = {"from": sender or None, "identity": None, "verification_status": None, "sandbox": None}
    problems: list[str] = []
    if not sender:
        problems.append("ALERTS_FROM_EMAIL is not set: set it to the address alerts come from (a domain you own)")
        return {**out, "ready": False, "problems": problems}
    found = None
    for name in (sender, sender.rsplit("@", 1)[-1]):
        found = _identity(name)
        if found is not None:
            out["identity"] = name
            break
    if found is None:
        problems.append(
            f"SES has no identity for {sender} or its domain in {s.region}: create one "
            "(SES console > Identities > Create identity; a domain needs its DKIM DNS records)"
        )
    else:
        out["verification_status"] = found.get("VerificationStatus")
        if found.get("VerificationStatus") != "SUCCESS":
            problems.append(
                f"SES identity {out['identity']} is {found.get('VerificationStatus')}, not verified: "
                "add the DNS records SES shows for it (or click the link SES emailed), then wait for SUCCESS"
            )
    if not s.local:  # the embedded SES (moto) has no sandbox to report; every deployment's account may
        account = transports.ses().get_account()
        out["sandbox"] = not account.get("ProductionAccessEnabled", False)
        if out["sandbox"]:
            problems.append(
                "the SES account is in the sandbox: it sends only to verified addresses, 200 a day; "
                "request production access (SES console > Account dashboard > Request production access)"
            )
        if account.get("SendingEnabled") is False:
            problems.append("sending is paused for this SES account: see its reputation in the SES console")
    return {**out, "ready": not problems, "problems": problems}

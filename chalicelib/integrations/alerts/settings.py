"""The alerts integration's settings, declared once (field, variable, default, parser, README line).

Read with ``get()``; the README's configuration table lists them under their own section
(``python -m chalicelib.integrations.wiring`` prints every table).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from chalicelib.core import settings as core
from chalicelib.core.settings import PLACEHOLDER, Section, parse_optional, parse_stripped, parse_url

SECTION = Section("alerts", "alerts and summary emails")


class AlertsSettings(NamedTuple):
    alerts_from_email: str = SECTION(
        "ALERTS_FROM_EMAIL",
        "",
        parse_stripped,
        "the address alert and summary emails come from; its address or domain must be a verified SES identity "
        "(`GET /v1/alerts/sender` checks)",
        shown="— (a problem on deployed stages)",
    )
    ses_endpoint: str | None = SECTION(
        "SES_ENDPOINT",
        "",
        parse_optional,
        "an SES endpoint other than AWS's (tests and the local stack: moto)",
        shown="AWS",
    )
    alerts_ssm_prefix: str = SECTION(
        "ALERTS_SSM_PREFIX",
        "",
        parse_url,
        "where alert recipients' Slack webhook URLs and Telegram bot tokens are kept (SSM SecureString, one "
        "parameter per recipient)",
        when="blank",
        shown="`/calltracking/<STAGE>/alerts`",
        derive=lambda v: f"/calltracking/{v['stage']}/alerts",
    )
    telegram_api_base_url: str = SECTION(
        "TELEGRAM_API_BASE_URL",
        "https://api.telegram.org",
        parse_url,
        "Telegram's Bot API (tests point it at a local stub)",
        when="blank",
    )
    alert_pool_exhausted_per_hour: int = SECTION(
        "ALERT_POOL_EXHAUSTED_PER_HOUR",
        "10",
        int,
        "a pool refusing more than this many visitors in an hour alerts its recipients",
        when="blank",
    )
    alert_limit_count: int = SECTION(
        "ALERT_LIMIT_COUNT",
        "5",
        int,
        "a new recipient's default limit: this many alerts (per `ALERT_LIMIT_MINUTES`), then one digest",
        when="blank",
    )
    alert_limit_minutes: int = SECTION(
        "ALERT_LIMIT_MINUTES", "10", int, "the minutes of a new recipient's default limit", when="blank"
    )
    alerts_sms_from: str = SECTION(
        "ALERTS_SMS_FROM",
        "",
        parse_stripped,
        "where SMS alerts come from: one of the account's Twilio numbers (E.164) or a Messaging Service SID "
        "(`MG…`, what US carriers accept once registered for A2P 10DLC); blank: no SMS alert can be sent",
        shown="—",
    )
    summary_hour: int = SECTION(
        "SUMMARY_HOUR", "8", int, "a new recipient's default local hour for summary emails", when="blank"
    )


SETTINGS = AlertsSettings


def get() -> AlertsSettings:
    """This process's settings (read again when ``core.get_settings`` is)."""
    return core.section(AlertsSettings)


def load(env: Mapping[str, str]) -> AlertsSettings:
    """The settings an environment gives (a stage's, for ``status`` and the tests)."""
    return core.load_section(AlertsSettings, env, core.load(env)._asdict())


def problems(s: core.Settings, a: AlertsSettings) -> list[str]:
    """What is wrong or missing in the alerts' settings, in words an operator can act on."""
    found: list[str] = []
    deployed = not s.local
    if deployed:
        if a.ses_endpoint:
            found.append("SES_ENDPOINT is set on a deployed stage: it is for tests and the local stack only")
        if not a.alerts_from_email or PLACEHOLDER in a.alerts_from_email:
            found.append(
                "ALERTS_FROM_EMAIL is not set: alert and summary emails cannot be sent; set it to an address "
                "of a domain verified in SES (GET /v1/alerts/sender says whether SES will send from it)"
            )
    sms_from = a.alerts_sms_from
    if sms_from and not (sms_from.startswith("MG") or (sms_from.startswith("+") and sms_from[1:].isdigit())):
        found.append(f"ALERTS_SMS_FROM {sms_from!r} is neither an E.164 number nor a Messaging Service SID (MG…)")
    if a.alerts_from_email and "@" not in a.alerts_from_email:
        found.append(f"ALERTS_FROM_EMAIL {a.alerts_from_email!r} is not an email address")
    if not 0 <= a.summary_hour <= 23:
        found.append(f"SUMMARY_HOUR {a.summary_hour} is not an hour of the day (0 to 23)")
    return found

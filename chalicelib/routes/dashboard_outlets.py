"""The dashboard's setup pages where calls' news goes and what they cost: alerts, webhooks,
spend, blocked callers, and the user admin's and your own account's actions.

Each route only calls its page function (``chalicelib/dashboard/*page.py``, ``accounts.py``),
which asks ``web.require`` (admins for changes) and checks the CSRF token. The modules load on
the first dashboard request (``lazy_module``), never with ``import app``.
"""

from __future__ import annotations

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib.routes import lazy_module

accounts = lazy_module("chalicelib.dashboard.accounts")
alertspage = lazy_module("chalicelib.dashboard.alertspage")
hookspage = lazy_module("chalicelib.dashboard.hookspage")
spendpage = lazy_module("chalicelib.dashboard.spendpage")
blockedpage = lazy_module("chalicelib.dashboard.blockedpage")

bp = Blueprint(__name__)
FORMS = ["application/x-www-form-urlencoded"]  # forms only, as the shell's: JSON would make them API routes


def _req() -> Request:
    return bp.current_request


# --- alerts ------------------------------------------------------------------------------------


@bp.route("/dashboard/alerts", methods=["GET"])
def alerts_page() -> Response:
    return alertspage.page(_req())  # type: ignore[no-any-return]


@bp.route("/dashboard/alerts", methods=["POST"], content_types=FORMS)
def add_alert_recipient() -> Response:
    return alertspage.create(_req())  # type: ignore[no-any-return]


@bp.route("/dashboard/alerts/{recipient_id}", methods=["POST"], content_types=FORMS)
def save_alert_recipient(recipient_id: str) -> Response:
    return alertspage.update(_req(), recipient_id)  # type: ignore[no-any-return]


@bp.route("/dashboard/alerts/{recipient_id}/delete", methods=["POST"], content_types=FORMS)
def delete_alert_recipient(recipient_id: str) -> Response:
    return alertspage.delete(_req(), recipient_id)  # type: ignore[no-any-return]


@bp.route("/dashboard/alerts/{recipient_id}/test", methods=["POST"], content_types=FORMS)
def test_alert_recipient(recipient_id: str) -> Response:
    return alertspage.send_test(_req(), recipient_id)  # type: ignore[no-any-return]


# --- webhooks ----------------------------------------------------------------------------------


@bp.route("/dashboard/webhooks", methods=["GET"])
def webhooks_page() -> Response:
    return hookspage.list_page(_req())  # type: ignore[no-any-return]


@bp.route("/dashboard/webhooks", methods=["POST"], content_types=FORMS)
def add_webhook() -> Response:
    return hookspage.create(_req())  # type: ignore[no-any-return]


@bp.route("/dashboard/webhooks/{endpoint_id}", methods=["GET"])
def webhook_page(endpoint_id: str) -> Response:
    return hookspage.endpoint_page(_req(), endpoint_id)  # type: ignore[no-any-return]


@bp.route("/dashboard/webhooks/{endpoint_id}", methods=["POST"], content_types=FORMS)
def save_webhook(endpoint_id: str) -> Response:
    return hookspage.update(_req(), endpoint_id)  # type: ignore[no-any-return]


@bp.route("/dashboard/webhooks/{endpoint_id}/rotate", methods=["POST"], content_types=FORMS)
def rotate_webhook_secret(endpoint_id: str) -> Response:
    return hookspage.rotate(_req(), endpoint_id)  # type: ignore[no-any-return]


@bp.route("/dashboard/webhooks/{endpoint_id}/test", methods=["POST"], content_types=FORMS)
def test_webhook(endpoint_id: str) -> Response:
    return hookspage.send_test(_req(), endpoint_id)  # type: ignore[no-any-return]


@bp.route("/dashboard/webhooks/{endpoint_id}/delete", methods=["POST"], content_types=FORMS)
def delete_webhook(endpoint_id: str) -> Response:
    return hookspage.delete(_req(), endpoint_id)  # type: ignore[no-any-return]


@bp.route("/dashboard/webhooks/{endpoint_id}/deliveries/{delivery_id}/resend", methods=["POST"], content_types=FORMS)
def resend_webhook_delivery(endpoint_id: str, delivery_id: str) -> Response:
    return hookspage.resend(_req(), endpoint_id, delivery_id)  # type: ignore[no-any-return]


# --- spend -------------------------------------------------------------------------------------


@bp.route("/dashboard/spend", methods=["GET"])
def spend_page() -> Response:
    return spendpage.page(_req())  # type: ignore[no-any-return]


@bp.route("/dashboard/spend", methods=["POST"], content_types=FORMS)
def save_spend_grid() -> Response:
    return spendpage.save_grid(_req())  # type: ignore[no-any-return]


@bp.route("/dashboard/spend/import", methods=["POST"], content_types=FORMS)
def import_spend() -> Response:
    return spendpage.upload(_req())  # type: ignore[no-any-return]


# --- blocked callers ---------------------------------------------------------------------------


@bp.route("/dashboard/blocked", methods=["GET"])
def blocked_page() -> Response:
    return blockedpage.page(_req())  # type: ignore[no-any-return]


@bp.route("/dashboard/blocked", methods=["POST"], content_types=FORMS)
def block_caller() -> Response:
    return blockedpage.add(_req())  # type: ignore[no-any-return]


@bp.route("/dashboard/blocked/remove", methods=["POST"], content_types=FORMS)
def unblock_caller() -> Response:
    return blockedpage.remove(_req())  # type: ignore[no-any-return]


# --- users and your account ----------------------------------------------------------------------


@bp.route("/dashboard/users/{email}/reset-password", methods=["POST"], content_types=FORMS)
def reset_user_password(email: str) -> Response:
    return accounts.reset_password(_req(), email)  # type: ignore[no-any-return]


@bp.route("/dashboard/users/{email}/role", methods=["POST"], content_types=FORMS)
def set_user_role(email: str) -> Response:
    return accounts.set_role(_req(), email)  # type: ignore[no-any-return]


@bp.route("/dashboard/users/{email}/delete", methods=["POST"], content_types=FORMS)
def delete_user(email: str) -> Response:
    return accounts.delete_user(_req(), email)  # type: ignore[no-any-return]


@bp.route("/dashboard/users/{email}/unlock", methods=["POST"], content_types=FORMS)
def unlock_user(email: str) -> Response:
    return accounts.unlock(_req(), email)  # type: ignore[no-any-return]


@bp.route("/dashboard/account", methods=["GET"])
def account_page() -> Response:
    return accounts.account_page(_req())  # type: ignore[no-any-return]


@bp.route("/dashboard/account/phone", methods=["POST"], content_types=FORMS)
def change_phone() -> Response:
    return accounts.change_phone(_req())  # type: ignore[no-any-return]


@bp.route("/dashboard/account/password", methods=["POST"], content_types=FORMS)
def change_password() -> Response:
    return accounts.change_password(_req())  # type: ignore[no-any-return]

"""The dashboard's shell routes: sign-in, sign-out, the user admin and the hashed static assets.

The dashboard's modules load on the first dashboard request (``lazy_module``), never with
``import app``. Errors raised here become HTML pages in ``chalicelib.routes.http``'s middleware.
"""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.routes import lazy_module

accounts = lazy_module("chalicelib.dashboard.accounts")
web = lazy_module("chalicelib.dashboard.web")

bp = Blueprint(__name__)
# HTML forms only: the dashboard's pages post forms (a JSON body would make it an API route,
# documented in docs/openapi.yaml and fuzzed by tests/integration/test_hostile_text.py).
FORMS = ["application/x-www-form-urlencoded"]


@bp.route("/dashboard/assets/{name}", methods=["GET"])
def dashboard_asset(name: str) -> Response:
    return web.asset_response(name)  # type: ignore[no-any-return]


@bp.route("/dashboard/signin", methods=["GET"])
def signin_page() -> Response:
    return accounts.signin_page(bp.current_request)  # type: ignore[no-any-return]


@bp.route("/dashboard/signin", methods=["POST"], content_types=FORMS)
def signin() -> Response:
    return accounts.signin(bp.current_request)  # type: ignore[no-any-return]


@bp.route("/dashboard/signout", methods=["POST"], content_types=FORMS)
def signout() -> Response:
    return accounts.signout(bp.current_request)  # type: ignore[no-any-return]


@bp.route("/dashboard/users", methods=["GET"])
def users_page() -> Response:
    return accounts.users_page(bp.current_request)  # type: ignore[no-any-return]


@bp.route("/dashboard/users", methods=["POST"], content_types=FORMS)
def add_user() -> Response:
    return accounts.add_user(bp.current_request)  # type: ignore[no-any-return]


@bp.route("/dashboard/audit", methods=["GET"])
def audit_page() -> Response:
    return accounts.audit_page(bp.current_request)  # type: ignore[no-any-return]


@bp.route("/dashboard/users/{email}/disable", methods=["POST"], content_types=FORMS)
def disable_user(email: str) -> Response:
    return accounts.set_disabled(bp.current_request, email, True)  # type: ignore[no-any-return]


@bp.route("/dashboard/users/{email}/enable", methods=["POST"], content_types=FORMS)
def enable_user(email: str) -> Response:
    return accounts.set_disabled(bp.current_request, email, False)  # type: ignore[no-any-return]

"""The dashboard's own pages about people: sign-in, sign-out and the user admin.

Each function takes the request and returns the response; the routes in
``chalicelib/routes/dashboard_auth.py`` only call them.

Sign-in's form is protected against cross-site posts before any session exists by a double
submit: ``GET /dashboard/signin`` sets a random token in an HttpOnly, SameSite=Lax cookie
scoped to the sign-in path and puts the same token in the form; the post must carry both and
they must match. A site elsewhere can neither read the cookie nor set it on this origin.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

from chalice import Response
from chalice.app import Request

from chalicelib.core.context import RequestContext, for_user, log_attempt, log_change, source_ip
from chalicelib.core.errors import ApiError, BadRequest, Forbidden
from chalicelib.dashboard import formerrors, users, web, websessions
from chalicelib.dashboard.signin_limits import SignInLimited

SIGNIN_PATH = "/dashboard/signin"


def _source_ip(request: Request) -> str:
    # The address API Gateway saw; X-Forwarded-For and the like are the client's to write.
    return str(((request.context or {}).get("identity") or {}).get("sourceIp") or "unknown")


def _signin_form(
    request: Request, *, next_path: str, email: str = "", message: str = "", status: int = 200, **headers: str
) -> Response:
    token = secrets.token_urlsafe(32)
    set_cookie = web.cookie(web.SIGNIN_COOKIE, token, path=SIGNIN_PATH)
    extra: dict[str, str | list[str]] = {"Set-Cookie": set_cookie, **headers}
    return web.render(
        request,
        "signin.html",
        viewer=None,
        status=status,
        headers=extra,
        csrf=token,
        next=next_path,
        email=email,
        message=message,
    )


def signin_page(request: Request) -> Response:
    """The sign-in form; a browser already signed in goes straight on."""
    next_path = web.safe_next(web.query_params(request).get("next"))
    if websessions.current(web.read_cookie(request, web.SESSION_COOKIE), touch=False) is not None:
        return web.redirect(next_path)
    return _signin_form(request, next_path=next_path)


def signin(request: Request) -> Response:
    """Check the form's token, then the email and password (within the attempt limits); a new session."""
    fields = web.form(request)
    if not web.tokens_match(fields.get("csrf"), web.read_cookie(request, web.SIGNIN_COOKIE)):
        raise Forbidden("The sign-in form has expired or did not come from this dashboard. Reload it and try again.")
    next_path = web.safe_next(fields.get("next"))
    email = (fields.get("email") or "").strip()[: users.MAX_EMAIL]
    # Who tried, as typed (cut), from where: the audit log keeps sign-ins and failed ones.
    tried = RequestContext(kind="user", actor=email or "(no email)", source=source_ip(request.context))
    try:
        user = users.authenticate(email, fields.get("password") or "", _source_ip(request))
        token = websessions.start(user["email"], user["role"])
    except SignInLimited as exc:
        log_attempt(tried, "users.signin_failed", reason="limited")
        return _signin_form(request, next_path=next_path, email=email, message=exc.message, status=429, **exc.headers)
    except users.WrongCredentials as exc:
        log_attempt(tried, "users.signin_failed", reason="wrong_credentials")
        return _signin_form(request, next_path=next_path, email=email, message=exc.message, status=401)
    log_change(replace(for_user(user["email"], user["role"]), source=tried.source), "users.signin")
    # A browser that had a session keeps none of it: the old one ends, the new id is fresh.
    websessions.end(web.read_cookie(request, web.SESSION_COOKIE))
    cookies = [web.cookie(web.SESSION_COOKIE, token), web.clear_cookie(web.SIGNIN_COOKIE, path=SIGNIN_PATH)]
    return web.redirect(next_path, headers={"Set-Cookie": cookies})


def signout(request: Request) -> Response:
    """End the session (its item is deleted) and forget the cookie."""
    viewer = web.require(request)
    web.check_csrf(request, viewer)
    websessions.end(web.read_cookie(request, web.SESSION_COOKIE))
    return web.redirect(SIGNIN_PATH, headers={"Set-Cookie": web.clear_cookie(web.SESSION_COOKIE)})


def _users_page(request: Request, viewer: web.Viewer, *, status: int = 200, **context: Any) -> Response:
    context.setdefault("form_email", "")
    context.setdefault("form_role", "viewer")
    return web.render(request, "users.html", viewer=viewer, status=status, users=users.list_users(), **context)


def users_page(request: Request) -> Response:
    viewer = web.require(request, role="admin")
    return _users_page(request, viewer)


def add_user(request: Request) -> Response:
    """Add a user; without a password one is made up and shown once on the page."""
    viewer = web.require(request, role="admin")
    fields = web.check_csrf(request, viewer)
    email, role = fields.get("email", ""), fields.get("role", "viewer")
    password = fields.get("password") or ""
    made_up = not password
    if made_up:
        password = users.generate_password()
    try:
        user = users.create_user(email, role, password, ctx=viewer.context)
    except ApiError as exc:
        if exc.status >= 500:
            raise
        return _users_page(
            request, viewer, status=exc.status, error=exc.message, form_email=email[:254], form_role=role
        )
    return _users_page(
        request,
        viewer,
        status=201,
        notice=f"Added {user['email']} as {user['role']}.",
        new_password=password if made_up else None,
    )


def set_disabled(request: Request, raw_email: str, disabled: bool) -> Response:
    """Disable (their sessions end at once) or enable a user; nobody disables themselves."""
    viewer = web.require(request, role="admin")
    web.check_csrf(request, viewer)
    email = users.normalise_email(web.path_email(raw_email))
    if disabled and email == viewer.email:
        raise BadRequest("You cannot disable yourself: ask another admin.")
    user = users.set_disabled(email, disabled, ctx=viewer.context)
    what = "disabled: their sessions have ended" if disabled else "enabled: they can sign in again"
    return _users_page(request, viewer, notice=f"{user['email']} is {what}.")


# --- what an admin does to another user, and what anyone does to their own password ----------------


def _user_action(request: Request, raw_email: str) -> tuple[web.Viewer, dict[str, str], str]:
    viewer = web.require(request, role="admin")
    fields = web.check_csrf(request, viewer)
    return viewer, fields, users.normalise_email(web.path_email(raw_email))


def _refused(request: Request, viewer: web.Viewer, exc: ApiError) -> Response:
    if exc.status >= 500:
        raise exc
    return _users_page(request, viewer, status=exc.status, error=exc.message)


def reset_password(request: Request, raw_email: str) -> Response:
    """A made-up password for another user, shown once; their sessions end, their locks clear."""
    viewer, _, email = _user_action(request, raw_email)
    if email == viewer.email:
        raise BadRequest("Change your own password on your account page.")
    try:
        done = users.reset_password(email)
    except ApiError as exc:
        return _refused(request, viewer, exc)
    notice = f"{done['email']} has a new password: their sessions have ended. Pass it on; they can change it."
    return _users_page(request, viewer, notice=notice, new_password=done["password"])


def set_role(request: Request, raw_email: str) -> Response:
    viewer, fields, email = _user_action(request, raw_email)
    if email == viewer.email:
        raise BadRequest("You cannot change your own role: ask another admin.")
    try:
        done = users.set_role(email, fields.get("role", ""))
    except ApiError as exc:
        return _refused(request, viewer, exc)
    return _users_page(request, viewer, notice=f"{done['email']} is now {done['role']}, from their next sign-in.")


def delete_user(request: Request, raw_email: str) -> Response:
    viewer, _, email = _user_action(request, raw_email)
    if email == viewer.email:
        raise BadRequest("You cannot delete yourself: ask another admin.")
    try:
        done = users.delete_user(email)
    except ApiError as exc:
        return _refused(request, viewer, exc)
    return _users_page(request, viewer, notice=f"Deleted {done['email']}: they can no longer sign in.")


def unlock(request: Request, raw_email: str) -> Response:
    """What ``calltracking users unlock`` does: clear the sign-in locks of the email."""
    viewer, _, email = _user_action(request, raw_email)
    try:
        users.unlock(email)
    except ApiError as exc:
        return _refused(request, viewer, exc)
    return _users_page(request, viewer, notice=f"{email} may try to sign in again at once.")


def account_page(request: Request, *, status: int = 200, **context: Any) -> Response:
    viewer = web.require(request)
    context.setdefault("errors", {})
    if "phone" not in context:
        context["phone"] = users.phone_of(viewer.email) or ""
    return web.render(request, "account.html", viewer=viewer, status=status, **context)


def change_phone(request: Request) -> Response:
    """Your own phone (any role: it is yours), which a call-back rings first; empty erases it.
    A refused number is shown beside the field, as typed."""
    viewer = web.require(request)
    fields = web.check_csrf(request, viewer)
    typed = fields.get("phone") or ""
    try:
        saved = users.set_phone(viewer.email, typed, ctx=viewer.context)
    except BadRequest as exc:
        return account_page(request, status=400, phone=typed, errors=formerrors.errors_for(exc.message))
    notice = "Your phone is saved." if saved["phone"] else "Your phone is removed."
    return account_page(request, phone=saved["phone"] or "", notice=notice)


def change_password(request: Request) -> Response:
    """Your own new password (the current one required); your other sessions end."""
    viewer = web.require(request)
    fields = web.check_csrf(request, viewer)
    new, again = fields.get("new_password") or "", fields.get("new_password_again") or ""
    try:
        if new != again:
            raise BadRequest("'new_password_again' does not match the new password")
        users.change_password(viewer.email, fields.get("current_password") or "", new, keep_session=viewer.session_id)
    except BadRequest as exc:
        return account_page(request, status=400, errors=formerrors.errors_for(exc.message))
    return account_page(request, notice="Your password is changed. Your other sessions have ended.")


def audit_page(request: Request) -> Response:
    """The audit log for admins: who changed what, when and from where, newest first; a bad date
    is said next to its field with what was typed kept (the same ``audit.entries`` as the API)."""
    from chalicelib import audit  # this page only

    viewer = web.require(request, role="admin")
    q = {k: v for k, v in web.query_params(request).items() if k in ("from", "to", "cursor") and v}
    try:
        page = audit.entries(q, ctx=viewer.context)
    except BadRequest as exc:
        field = next((f for f in ("from", "to", "cursor") if f"'{f}'" in exc.message), None)
        return web.render(
            request, "audit.html", viewer=viewer, status=400, error=exc.message, error_field=field, form=q, entries=[]
        )
    older = None
    if page["next"]:
        older = "/dashboard/audit?" + urlencode(
            {**{k: v for k, v in q.items() if k != "cursor"}, "cursor": page["next"]}
        )
    return web.render(request, "audit.html", viewer=viewer, form=q, entries=page["entries"], older=older)

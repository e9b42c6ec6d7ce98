"""The blocked callers page: numbers and prefixes (``+1900*``) turned away before anything is
dialled; add, remove, and "block this caller" from a call's page.

Everyone sees the list; only admins change it (the API's ``PUT /v1/blocked-callers`` needs a
write key). Every change is ``voice.blocklist.replace`` with the whole new list, the API's own
function, with the added entry first: a bad one is then ``'callers[0]'``, as in the API's
answer to a list of that one entry.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from chalice import Response
from chalice.app import Request

from chalicelib.core.errors import BadRequest
from chalicelib.dashboard import formerrors, web
from chalicelib.voice import blocklist

ALIASES = {"callers[0]": "caller", "callers": "caller"}


def render(request: Request, viewer: web.Viewer, *, status: int = 200, **context: Any) -> Response:
    """The list (one read) and the add form."""
    context.setdefault("errors", {})
    context.setdefault("typed", "")
    return web.render(request, "blocked.html", viewer=viewer, status=status, callers=blocklist.entries(), **context)


def page(request: Request) -> Response:
    viewer = web.require(request)
    q = web.query_params(request)
    return render(request, viewer, typed=(q.get("caller") or "")[:40], from_call=(q.get("call") or "")[:64])


def add(request: Request) -> Response:
    viewer = web.require(request, role="admin")
    form = web.check_csrf(request, viewer)
    typed = form.get("caller", "")
    from_call = (form.get("call") or "")[:64]
    before = blocklist.entries()
    try:
        done = blocklist.replace({"callers": [typed, *before]}, ctx=viewer.context)
    except BadRequest as exc:
        errors = formerrors.errors_for(exc.message, ALIASES)
        return render(request, viewer, status=400, typed=typed[:40], errors=errors, from_call=from_call)
    if from_call:
        return web.redirect(f"/dashboard/calls/{quote(from_call)}?blocked=1")
    added = sorted(set(done["callers"]) - set(before))
    said = f"Blocked {added[0]}" if added else f"{typed.strip()[:40]} was already blocked"
    return render(request, viewer, notice=f"{said}: {len(done['callers'])} on the list.")


def remove(request: Request) -> Response:
    viewer = web.require(request, role="admin")
    form = web.check_csrf(request, viewer)
    entry = (form.get("caller") or "").strip()
    current = blocklist.entries()
    if entry not in current:
        return render(request, viewer, status=404, notice=None, errors={"": f"{entry[:40]!r} is not on the list."})
    blocklist.replace({"callers": [c for c in current if c != entry]}, ctx=viewer.context)
    return render(request, viewer, notice=f"{entry} may call again.")

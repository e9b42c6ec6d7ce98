"""Who is asking, built once at the edge of every request and handed to the repositories.

The API key middleware, the dashboard's sign-in, the Twilio signature check and the lease
endpoint each make one; background work (subscribers, schedules, migrations) runs as
``SYSTEM``. Today every context names the one account (``DEFAULT_ACCOUNT``): the field is
there so that an audit log and a later tenancy have something to read, not because anything
is partitioned by it yet.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any, Literal

DEFAULT_ACCOUNT = "default"

Kind = Literal["api_key", "user", "twilio", "site", "system", "cli"]
Scope = Literal["read", "write", "admin"]
# What each scope allows, cumulative: write reads too, admin writes too.
SCOPES: tuple[Scope, ...] = ("read", "write", "admin")


def scopes_up_to(scope: Scope) -> frozenset[Scope]:
    """``write`` -> {read, write}: a key's one scope as the set of what it allows."""
    return frozenset(SCOPES[: SCOPES.index(scope) + 1])


@dataclass(frozen=True)
class RequestContext:
    """One request's caller. ``actor`` is what logs and an audit line show (a key id, an email,
    ``twilio``, a site key's pool, ``system``), never a secret."""

    kind: Kind
    actor: str
    account_id: str = DEFAULT_ACCOUNT
    scopes: frozenset[Scope] = field(default_factory=frozenset)
    key_name: str | None = None  # an API key's name
    role: str | None = None  # a dashboard user's role (admin or viewer)
    source: str | None = None  # where the request came from: API Gateway's sourceIp (set by ``attach``)

    def allows(self, scope: Scope) -> bool:
        return scope in self.scopes

    def log_fields(self) -> dict[str, Any]:
        """Who made a change, for its log line (and, later, the audit log): never a secret."""
        fields: dict[str, Any] = {"actor": self.actor, "actor_kind": self.kind, "account_id": self.account_id}
        if self.key_name is not None:
            fields["api_key_name"] = self.key_name
        if self.source is not None:
            fields["source"] = self.source
        return fields


SYSTEM = RequestContext(kind="system", actor="system", scopes=scopes_up_to("admin"))
TWILIO = RequestContext(kind="twilio", actor="twilio", scopes=frozenset({"write"}))


def cli_context(identity: str) -> RequestContext:
    """The owner's command-line tool, as who made a change: ``cli:`` and the AWS identity its
    credentials are (STS GetCallerIdentity's ARN, asked once per run), so the audit log says
    which person or role ran ``calltracking`` (``calltracking_cli.project.run_audited``)."""
    return RequestContext(kind="cli", actor=f"cli:{identity}", scopes=scopes_up_to("admin"))


# --- reaching a request's context -----------------------------------------------------------------
#
# Where a request's context lives: on the request itself, under ``CONTEXT_KEY`` in the Chalice
# request's ``context`` dict (API Gateway's ``requestContext``), not in a module global or a
# contextvar. The request object is made afresh for every request and dropped after it, so
# nothing can leak from one request into the next (a warm Lambda, ``chalice local``'s one
# process), there is nothing to reset when a handler raises, and a route reads its caller from
# the request it already holds (``bp.current_request``). Functions below the routes never look
# it up: routes hand it on as the keyword argument ``ctx``.
CONTEXT_KEY = "calltracking.request_context"


def attach(request_context: MutableMapping[str, Any], ctx: RequestContext) -> RequestContext:
    """Store ``ctx`` as the caller of the request whose ``context`` dict is ``request_context``,
    with the address the request came from (API Gateway's ``identity.sourceIp``, never a header
    the client writes) for the audit log."""
    found = source_ip(request_context) if ctx.source is None else None
    if found is not None:
        ctx = replace(ctx, source=found)
    request_context[CONTEXT_KEY] = ctx
    return ctx


def source_ip(request_context: Mapping[str, Any] | None) -> str | None:
    """API Gateway's ``requestContext.identity.sourceIp``; ``None`` when there is none."""
    identity = (request_context or {}).get("identity") or {}
    found = identity.get("sourceIp") if isinstance(identity, Mapping) else None
    return str(found) if found else None


def of(request_context: Mapping[str, Any] | None) -> RequestContext | None:
    """The caller stored on a request by ``attach``; ``None`` if no edge identified one."""
    found = (request_context or {}).get(CONTEXT_KEY)
    return found if isinstance(found, RequestContext) else None


def for_api_key(actor: str, name: str | None, scope: Scope) -> RequestContext:
    """An API key's context: ``actor`` is its log identity (``key:<id>``), never the key."""
    return RequestContext(kind="api_key", actor=actor, scopes=scopes_up_to(scope), key_name=name)


def for_user(email: str, role: str) -> RequestContext:
    """A dashboard user's context. An ``admin`` holds every scope, a ``viewer`` ``read``.

    Dashboard pages are gated by role (``dashboard.web.require``), not by these scopes: a viewer
    tags outcomes on the call page, as the page has always allowed. The scopes say what the same
    person may do in API terms, for an audit line or a later shared check; nothing below the
    edge refuses a write by them.
    """
    return RequestContext(
        kind="user", actor=email, role=role, scopes=scopes_up_to("admin" if role == "admin" else "read")
    )


def for_site(site_key: str) -> RequestContext:
    """The lease endpoint's caller: a website, named by its pool's site key (public: it is in the
    script tag). It holds no scope: a site key opens the lease endpoint and nothing else."""
    return RequestContext(kind="site", actor="site:" + site_key)


# Where each change goes besides the log: the audit log (``chalicelib/audit.py`` adds its writer
# when the app starts). Registered from above, so core imports nothing of it.
AuditSink = Callable[[RequestContext, str, dict[str, Any]], None]
_sinks: list[AuditSink] = []
# Within a request (``changes_of_request``) the entries wait for its answer: a request that is
# refused (4xx) or fails changed nothing, so it leaves no entry (and stores nothing at all).
_pending: ContextVar[list[tuple[RequestContext, str, dict[str, Any]]] | None] = ContextVar(
    "calltracking_pending_changes", default=None
)


def add_audit_sink(sink: AuditSink) -> None:
    if sink not in _sinks:
        _sinks.append(sink)


def _audit(ctx: RequestContext, action: str, ids: dict[str, Any]) -> None:
    from chalicelib.core.observability import logger  # Powertools: loaded only when something is logged

    for sink in _sinks:
        try:
            sink(ctx, action, ids)
        except Exception as exc:  # the audit store failing must not turn a done change into a 500
            logger.error("audit entry not written", action=action, error=repr(exc), **ctx.log_fields())


@contextmanager
def changes_of_request() -> Iterator[Callable[[bool], None]]:
    """Hold the request's audit entries; ``settle(kept)`` writes them when its answer was a success."""
    token = _pending.set([])

    def settle(kept: bool) -> None:
        held = _pending.get() or []
        _pending.set([])
        if kept:
            for entry in held:
                _audit(*entry)

    try:
        yield settle
    finally:
        _pending.reset(token)


def log_change(ctx: RequestContext, action: str, **ids: Any) -> None:
    """One INFO line per change asked of the domain (``action`` such as ``channels.update``), with
    who asked (``log_fields``) and the ids it names, and the same in the audit log once the
    request has succeeded."""
    from chalicelib.core.observability import logger  # Powertools: not needed to name a caller

    logger.info("change requested", action=action, **ids, **ctx.log_fields())
    held = _pending.get()
    if held is None:
        _audit(ctx, action, ids)
    else:
        held.append((ctx, action, ids))


def log_attempt(ctx: RequestContext, action: str, **ids: Any) -> None:
    """A refused attempt that the audit log keeps all the same (a failed sign-in): written now."""
    from chalicelib.core.observability import logger  # Powertools: loaded only when something is logged

    logger.info("attempt refused", action=action, **ids, **ctx.log_fields())
    _audit(ctx, action, ids)

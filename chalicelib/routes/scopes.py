"""Which API key scope each management route needs, in one table, checked in one place.

Scopes are cumulative (``chalicelib.core.context``): ``read`` opens every ``GET``; ``write``
also changes channels, pools, numbers, calls (outcomes), spend and blocked callers; ``admin``
also opens webhooks and alerts (every method: they say where call data is sent and can show
signing secrets) and whatever else reveals or changes secrets. ``http.middleware`` calls
``enforce`` once per request, after the key is identified and before the route runs, so no
route body checks a scope.

The table is by path prefix, so a new route under a listed prefix gets its neighbours' rule;
a prefix that is not listed needs ``admin`` (fail closed), and ``tests/integration/test_api_key_scopes.py``
fails on any ``/v1/`` route no rule names, so adding a route means choosing its scope: here for the
domain's routes, in its ``integration.py`` (``scopes=``) for an integration's.
"""

from __future__ import annotations

from typing import Any

from chalicelib.core.context import SCOPES, RequestContext, Scope
from chalicelib.core.errors import Forbidden
from chalicelib.integrations import wiring

READS = frozenset({"GET", "HEAD", "OPTIONS"})

# (path prefix, scope to read, scope to change). A prefix matches the path itself and what is
# under it ("/v1/calls" matches "/v1/calls/{sid}/recording", not "/v1/callsx"). The domain's routes
# here; each integration's (webhooks, alerts: admin) come from its declaration.
DOMAIN_RULES: tuple[tuple[str, Scope, Scope], ...] = (
    ("/v1/channels", "read", "write"),
    ("/v1/pools", "read", "write"),
    ("/v1/numbers", "read", "write"),
    ("/v1/calls", "read", "write"),
    ("/v1/texts", "read", "write"),
    ("/v1/callbacks", "read", "write"),
    ("/v1/blocked-callers", "read", "write"),
    ("/v1/audit", "admin", "admin"),  # who changed what: admins only
)
Rule = tuple[str, Scope, Scope]
_rules: tuple[tuple[Any, ...], tuple[Rule, ...]] = ((), ())


def rules() -> tuple[Rule, ...]:
    """The domain's rules and every declared integration's (made again only when the list changes)."""
    global _rules
    integrations = wiring.INTEGRATIONS
    if _rules[0] is not integrations:
        _rules = (integrations, DOMAIN_RULES + tuple(rule for i in integrations for rule in i.scopes))
    return _rules[1]


UNLISTED: Scope = "admin"


def rule_for(resource: str) -> tuple[str, Scope, Scope] | None:
    """The rule naming ``resource`` (a route template such as ``/v1/calls/{sid}``), if any."""
    for rule in rules():
        prefix = rule[0]
        if resource == prefix or resource.startswith(prefix + "/"):
            return rule
    return None


def required(method: str, resource: str) -> Scope:
    """The scope ``method resource`` needs."""
    rule = rule_for(resource)
    if rule is None:
        return UNLISTED
    return rule[1] if method.upper() in READS else rule[2]


def highest(ctx: RequestContext) -> Scope | None:
    """The widest scope a context holds (an API key holds one and all below it)."""
    held = [scope for scope in reversed(SCOPES) if ctx.allows(scope)]
    return held[0] if held else None


def enforce(ctx: RequestContext, method: str, resource: str) -> None:
    """403 unless ``ctx`` holds the scope the route needs."""
    needed = required(method, resource)
    if ctx.allows(needed):
        return
    has = highest(ctx)
    held = f"the '{has}' scope" if has else "no scope"
    raise Forbidden(f"this API key has {held}; {method.upper()} {resource} needs '{needed}'")

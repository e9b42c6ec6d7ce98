"""Who is asking, built once at the edge of every request and handed to the repositories.

The API key middleware, the dashboard's sign-in, the Twilio signature check and the lease
endpoint each make one; background work (subscribers, schedules, migrations) runs as
``SYSTEM``. Today every context names the one account (``DEFAULT_ACCOUNT``): the field is
there so that an audit log and a later tenancy have something to read, not because anything
is partitioned by it yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

DEFAULT_ACCOUNT = "default"

Kind = Literal["api_key", "user", "twilio", "site", "system"]
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

    def allows(self, scope: Scope) -> bool:
        return scope in self.scopes


SYSTEM = RequestContext(kind="system", actor="system", scopes=scopes_up_to("admin"))
TWILIO = RequestContext(kind="twilio", actor="twilio", scopes=frozenset({"write"}))

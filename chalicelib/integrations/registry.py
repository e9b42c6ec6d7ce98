"""What an integration declares: its subscribers, schedules, routes, IAM statements, package keeps,
OpenAPI fragment and a caller's data hooks, in one frozen value per integration folder.

A declaration holds only strings and small frozen dataclasses, so importing every one of them
costs next to nothing (``routes/events.py`` reads them when ``import app`` registers the
schedules, on the voice webhook's cold start too). Every handler is named by an import path
(``"package.module:function"``) and loaded by ``load`` on first use.

Decisions the issue leaves open, recorded here:

* The product's own features that work like integrations (``reports``, ``recordings``, the
  events' sweep) declare themselves the same way, each in its own folder's ``integration.py``.
* An integration's settings are its own: ``settings.py`` in its folder declares a NamedTuple with its
  own ``core.settings.Section`` (one declaration per setting, as the core's), with ``get()``,
  ``load(env)`` and ``problems(core, own)``; ``settings`` names that module. A retry setting is
  ``"<that module>:<field>"`` (the field holding its delays).
* IAM statements are policy statements with ``{region}``, ``{account}``, ``{prefix}`` (the
  stage's ``TABLE_PREFIX``) and ``{stage}`` placeholders; ``calltracking_cli.policy.fill`` fills
  them and the test holds each stage's policy to them. Statements every feature shares (the
  counters table, the KMS decrypt of SSM secrets) stay the policy's own.
* A schedule keeps the Lambda function name it had before (``name``), so a deploy after this
  change replaces no function; ``local_seconds`` is how often the local pump runs it (it runs
  no clock of CloudWatch's), default the deployed rate.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

# The API key scopes (chalicelib.core.context.SCOPES): spelt out, as this module imports only the standard library.
Scope = Literal["read", "write", "admin"]


@dataclass(frozen=True)
class SubscriberDecl:
    """One subscriber of the call events (one SQS message per event it wants)."""

    name: str
    types: tuple[str, ...]
    handler: str  # "package.module:function", called with the Event
    retry_setting: str | None = None  # "settings_module:field", its own delays (else EVENT_RETRY_SECONDS)
    # "package.module:function" answering which of its types it wants right now (asked once per publish):
    # with nothing configured (no webhook endpoint, no alert recipient) it answers none: no SQS message.
    gate: str | None = None


@dataclass(frozen=True)
class FamilyDecl:
    """Subscribers made at run time, named ``<prefix><member>`` (``webhook:<endpoint id>``)."""

    prefix: str
    handler: str  # "package.module:function", called with (Event, member)
    retry_setting: str | None = None


@dataclass(frozen=True)
class ScheduleDecl:
    """A background job: deployed as a Chalice schedule, run locally by the event pump."""

    name: str  # the Chalice function name (unique across the app)
    minutes: int  # the deployed rate
    handler: str  # "package.module:function", called with no arguments
    local_seconds: float | None = None  # the local pump's cadence (default: the deployed rate)
    description: str = ""

    @property
    def local_every(self) -> float:
        return self.local_seconds if self.local_seconds is not None else self.minutes * 60.0


@dataclass(frozen=True)
class Keep:
    """What the Lambda package's trim must keep for an integration."""

    botocore_services: tuple[str, ...] = ()  # botocore/data/<service> (the clients it makes)
    packages: tuple[str, ...] = ()  # top-level packages it imports


@dataclass(frozen=True)
class Integration:
    """One integration (or a feature shaped like one), declared once in its folder."""

    name: str
    summary: str
    subscribers: tuple[SubscriberDecl, ...] = ()
    families: tuple[FamilyDecl, ...] = ()
    schedules: tuple[ScheduleDecl, ...] = ()
    routes: str | None = None  # its routes' module in its folder (a Chalice Blueprint ``bp``), registered by app.py
    # The API key scope its routes need: (path prefix, scope to read, scope to change), merged into
    # ``routes/scopes.py``'s table (a prefix no rule names needs admin).
    scopes: tuple[tuple[str, Scope, Scope], ...] = ()
    # Its settings module in its folder: a NamedTuple of declarations (``SETTINGS``, with its
    # ``SECTION``), ``get()``, ``load(env)`` and ``problems(core, own)``.
    settings: str | None = None
    # Policy statements (dicts as in .chalice/policy-*.json), placeholders filled by calltracking_cli.policy.
    iam: tuple[dict[str, Any], ...] = ()
    keep: Keep = field(default_factory=Keep)
    openapi: str | None = None  # a YAML fragment (repository-relative path) whose paths docs/openapi.yaml has
    # "package.module:function" taking (phone: str, ctx: RequestContext): what it holds about a caller
    # (a JSON-able dict, empty when it keeps nothing) and erasing it (how many items went).
    export: str | None = None
    erase: str | None = None
    # "package.module:function" taking (phone, token, ctx) and answering (items changed, next token or
    # None when done): ``erase`` in bounded steps, for a hook whose work grows with the stage rather
    # than the caller. The caller job runs it a step per chunk; an erasure within a request, while
    # its time lasts (``privacy.erasure``).
    erase_step: str | None = None
    # "package.module:function" taking (phone, token, ctx) and answering (a part of ``export``'s dict,
    # next token or None when done): ``export`` in bounded steps, for the same kind of hook. The
    # parts' lists are joined in order (``privacy.access.join``); the caller job runs a step per
    # chunk, an access within a request while its time lasts.
    export_step: str | None = None

    def handler_paths(self) -> list[str]:
        """Every import path it names (each must import and be callable)."""
        paths: list[str | None] = [self.export, self.erase, self.erase_step, self.export_step]
        paths += [p for s in self.subscribers for p in (s.handler, s.gate)]
        paths += [f.handler for f in self.families] + [s.handler for s in self.schedules]
        return [p for p in paths if p]


def load(path: str) -> Callable[..., Any]:
    """The function an import path names, imported now (its first use)."""
    module, _, func = path.partition(":")
    fn: Callable[..., Any] = getattr(importlib.import_module(module), func)
    return fn

"""Setup forms as the API's bodies, and the API's refusals as messages beside their fields.

The setup pages (alerts, webhooks, spend, blocked callers, users) hold no rules of their own:
a form is turned into the JSON body the management API takes (``as_int``, ``choices``: shape
only, no checks), handed to the same domain function, and a ``BadRequest`` it raises is shown
beside the field its message names (``field_of``: the domain's messages start with the field in
quotes, ``'email' must be ...``), with what was typed kept in the form. So a bad value gets the
same words from ``POST /dashboard/...`` and from ``/v1/...``. Pure, except ``multi``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from chalice.app import Request

_QUOTED = re.compile(r"'([A-Za-z_][A-Za-z0-9_.\[\]]*)'")


def field_of(message: str, aliases: dict[str, str] | None = None) -> str:
    """The form field a domain message is about (its first quoted name, through ``aliases``);
    ``""`` when it names none (the page shows it at the top)."""
    m = _QUOTED.search(message or "")
    if not m:
        return ""
    name = m.group(1)
    aliases = aliases or {}
    return aliases.get(name, aliases.get(name.split(".")[0].split("[")[0], name))


def errors_for(message: str, aliases: dict[str, str] | None = None) -> dict[str, str]:
    """``{field: message}`` for a template (``{"": message}`` when no field is named)."""
    return {field_of(message, aliases): message}


def as_int(value: str | None) -> Any:
    """A whole number typed in a form as the API's JSON number; anything else is passed on as
    typed (the domain refuses it with its own words), and an empty field is left out (``None``)."""
    text = (value or "").strip()
    if not text:
        return None
    return int(text) if re.fullmatch(r"-?\d{1,9}", text) else text


def multi(request: Request, name: str) -> list[str]:
    """Every value of a repeated form field (checkboxes); ``web.form`` keeps the first only."""
    body = request.raw_body or b""
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else str(body)
    return [v for k, v in parse_qsl(text, keep_blank_values=False) if k == name]


def drop_none(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v is not None}

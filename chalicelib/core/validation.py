"""Checks for everything that comes from outside: JSON bodies, field types, lengths, phones."""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from chalicelib.core.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from chalicelib.core.settings import get_settings

MAX_BODY_BYTES = 64 * 1024
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def json_body(raw: bytes | str | None, content_type: str | None, *, max_bytes: int = MAX_BODY_BYTES) -> dict[str, Any]:
    """The request's JSON object, or a 4xx that says what was wrong with it.

    Every route that takes JSON (the public lease endpoint included) reads it here, so what
    is refused here can never be stored: text that cannot be UTF-8 (a lone surrogate such as
    ``"\\ud800"``, which JSON's escapes can carry and DynamoDB, CSV and reports cannot), and
    ``NaN`` or ``Infinity``, which are not JSON.
    """
    if raw is not None and len(raw) > max_bytes:
        raise PayloadTooLarge(f"request body is larger than {max_bytes} bytes")
    if not raw:
        raise BadRequest("request body is empty; send a JSON object")
    if content_type and "json" not in content_type.lower():
        raise UnsupportedMediaType(f"send JSON (Content-Type: application/json), not {content_type}")
    try:
        body = json.loads(raw, parse_constant=_not_json)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"request body is not valid JSON: {exc}") from None
    except RecursionError:
        raise BadRequest("request body is nested too deeply") from None
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object")
    if _has_lone_surrogate(body):
        raise BadRequest("request body has text that is not valid Unicode (a lone surrogate such as \\ud800)")
    return body


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON value")


def _has_lone_surrogate(value: Any) -> bool:
    """Whether any string in a parsed JSON value, keys included, holds half a surrogate pair."""
    stack = [value]
    while stack:  # no recursion: json.loads accepts nesting deeper than a recursive walk would
        item = stack.pop()
        if isinstance(item, str):
            if _LONE_SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def reject_unknown(body: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")


def string(
    body: dict[str, Any], key: str, *, required: bool = False, max_len: int = 200, min_len: int = 0
) -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            raise BadRequest(f"'{key}' is required")
        return None
    if not isinstance(value, str):
        raise BadRequest(f"'{key}' must be a string")
    value = value.strip()
    if len(value) > max_len:
        raise BadRequest(f"'{key}' is longer than {max_len} characters")
    if len(value) < min_len or (required and not value):
        raise BadRequest(f"'{key}' must not be empty")
    return value


def boolean(body: dict[str, Any], key: str, *, default: bool | None = None) -> bool | None:
    value = body.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise BadRequest(f"'{key}' must be true or false")
    return value


def integer(body: dict[str, Any], key: str, *, default: int | None = None, lo: int, hi: int) -> int | None:
    value = body.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"'{key}' must be a whole number")
    if not lo <= value <= hi:
        raise BadRequest(f"'{key}' must be between {lo} and {hi}")
    return value


def e164(value: Any, field: str) -> str:
    """A phone number in E.164, or a 400 naming the field and what was wrong."""
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"'{field}' must be a phone number as a string")
    if len(value) > 40:
        raise BadRequest(f"'{field}' is too long to be a phone number")
    import phonenumbers  # lazily: ~15 ms of cold start the voice webhook does not need

    try:
        parsed = phonenumbers.parse(value, get_settings().default_region)
    except phonenumbers.NumberParseException as exc:
        raise BadRequest(f"'{field}' is not a phone number: {exc}") from None
    if not phonenumbers.is_valid_number(parsed):
        raise BadRequest(f"'{field}' is not a valid phone number: {value!r}")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


_E164 = re.compile(r"\+[1-9]\d{6,14}")


def is_e164(value: Any) -> bool:
    """Whether ``value`` is already an E.164 number (no parsing: cheap enough for the voice path)."""
    return isinstance(value, str) and _E164.fullmatch(value) is not None


def display(number: str) -> str:
    """An E.164 number in its country's national format, for people."""
    import phonenumbers  # lazily, as in e164()

    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)


def loose_e164(value: str | None) -> str | None:
    """Best-effort E.164 for numbers Twilio sends (may be 'anonymous' or a client id): never raises."""
    if not value:
        return None
    if _E164.fullmatch(value):
        return value  # what Twilio sends for real callers: no parsing needed
    import phonenumbers  # lazily, as in e164()

    try:
        parsed = phonenumbers.parse(value, get_settings().default_region)
    except phonenumbers.NumberParseException:
        return value[:64]
    if not phonenumbers.is_possible_number(parsed):
        return value[:64]
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def origin(value: Any) -> str:
    """``scheme://host[:port]`` in lower case, or a 400."""
    if not isinstance(value, str) or len(value) > 200:
        raise BadRequest("each allowed origin must be a string like https://www.example.com")
    try:
        parts = urlsplit(value.strip())
        port = parts.port  # raises for a port that is not a number in 0..65535
    except ValueError:
        raise BadRequest(f"{value!r} is not an origin; write it like https://www.example.com") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") or parts.query:
        raise BadRequest(f"{value!r} is not an origin; write it like https://www.example.com")
    out = f"{parts.scheme}://{parts.hostname.lower()}"
    if port:
        out += f":{port}"
    return out


def money(value: Any, name: str) -> Decimal:
    """An amount of money: not negative, at most a billion, at most two decimals; or a 400.

    Numbers are taken as they are. Text is taken as people type it: ``1250``, ``$1,250.00``,
    ``1 250,00``, ``1.250,00 €``, ``EUR 99,90``, ``£12``: one currency sign ($ € £ ₽) or code
    (three letters) before or after, thousands in groups of three separated by ``,`` ``.``, a
    space or a no-break space, and a decimal ``.`` or ``,`` with one or two digits. A lone
    separator followed by exactly three digits (``1,250`` or ``1.250``) is a thousands
    separator: money has at most two decimals. Anything else (``1,2,3``, ``1.250.5``,
    ``12,34,567``, two currencies) is refused as ambiguous, with what to write instead.
    """
    hint = f"'{name}' must be an amount like 1250.50 or $1,250.50"
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise BadRequest(hint)
    text = _money_text(value, name, hint) if isinstance(value, str) else str(value)
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise BadRequest(hint) from None
    if not amount.is_finite() or amount < 0:
        raise BadRequest(f"'{name}' must not be negative")
    if amount > Decimal("1e9") or amount != amount.quantize(Decimal("0.01")):
        raise BadRequest(f"'{name}' must be at most 1,000,000,000 with at most two decimals")
    return amount


_CURRENCY_AROUND = re.compile(r"^\s*(?:([$€£₽]|[A-Za-z]{3})\s*)?(.*?)(?:\s*([$€£₽]|[A-Za-z]{3}))?\s*$", re.S)
_GROUPED = re.compile(r"\d{1,3}(?:([,. \u00a0\u202f])\d{3})(?:\1\d{3})*")


def _money_text(value: str, name: str, hint: str) -> str:
    """Typed money as plain decimal text (``1250.00``), or a 400 saying why not (``money``)."""
    text = value.strip()
    if len(text) > 40:
        raise BadRequest(f"'{name}' is too long to be an amount")
    if text.startswith("-"):
        raise BadRequest(f"'{name}' must not be negative")
    m = _CURRENCY_AROUND.match(text)
    if m is None or (m.group(1) and m.group(3)):
        raise BadRequest(f"'{name}' has two currencies; {hint[len(name) + 3 :]}")
    body = m.group(2).replace("\u00a0", " ").replace("\u202f", " ")
    if body.startswith("-"):
        raise BadRequest(f"'{name}' must not be negative")
    if not body or not re.fullmatch(r"[\d., ]+", body):
        raise BadRequest(hint)
    if re.fullmatch(r"\d+(?:[.,]\d{1,2})?", body):  # 1250, 1250.5, 1250,50
        return body.replace(",", ".")
    whole, decimals = body, ""
    tail = re.search(r"([.,])(\d{1,2})$", body)
    if tail:
        whole, decimals = body[: tail.start()], tail.group(2)
    grouped = _GROUPED.fullmatch(whole)
    if grouped is None or (tail and grouped.group(1) == tail.group(1)):
        raise BadRequest(
            f"'{name}' is ambiguous as written ({value.strip()!r}); write the amount without thousands "
            "separators, like 1250.50"
        )
    digits = re.sub(r"\D", "", whole)
    return f"{digits}.{decimals}" if decimals else digits

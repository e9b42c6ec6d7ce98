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


def number_forms(number: str) -> tuple[str, ...]:
    """The ways a text may hold an E.164 number: itself, its digits, and its national, international
    and E.164 formats with their digits run together (for finding a caller in free text: answers,
    notes). Only forms of 7+ digits, so a short run of digits never matches everything."""
    import phonenumbers  # lazily, as in e164()

    found = {number, number.lstrip("+")}
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return tuple(sorted(found))
    fmt = phonenumbers.PhoneNumberFormat
    for style in (fmt.NATIONAL, fmt.INTERNATIONAL, fmt.E164):
        shown = phonenumbers.format_number(parsed, style)
        found.add(shown)
        found.add("".join(c for c in shown if c.isdigit()))
    return tuple(sorted(f for f in found if sum(c.isdigit() for c in f) >= 7))


def typed(number: str | None) -> str:
    """A stored E.164 number as the owner would type it back into a form: national when it is of
    ``DEFAULT_REGION`` (``(202) 555-0144``), else international (``+44 20 7946 0958``), so that
    ``e164`` reads it back as the same number."""
    if not number:
        return ""
    import phonenumbers  # lazily, as in e164()

    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number
    fmt = phonenumbers.PhoneNumberFormat
    national = phonenumbers.region_code_for_number(parsed) == get_settings().default_region
    return phonenumbers.format_number(parsed, fmt.NATIONAL if national else fmt.INTERNATIONAL)


def country_of(number: str | None) -> str | None:
    """The ISO country of an E.164 number (``US``, ``GB``), ``None`` when it is no valid number."""
    import phonenumbers  # lazily, as in e164()

    if number is None or not is_e164(number):
        return None
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.region_code_for_number(parsed)


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


def origin(value: Any, field: str | None = None) -> str:
    """``scheme://host[:port]`` in lower case, or a 400 (naming ``field`` first when given)."""
    named = f"'{field}': " if field else ""
    if not isinstance(value, str) or len(value) > 200:
        raise BadRequest(f"{named}each allowed origin must be a string like https://www.example.com")
    try:
        parts = urlsplit(value.strip())
        port = parts.port  # raises for a port that is not a number in 0..65535
    except ValueError:
        raise BadRequest(f"{named}{value!r} is not an origin; write it like https://www.example.com") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") or parts.query:
        raise BadRequest(f"{named}{value!r} is not an origin; write it like https://www.example.com")
    out = f"{parts.scheme}://{parts.hostname.lower()}"
    if port:
        out += f":{port}"
    return out


_CURRENCY = re.compile(r"^(?:[$€£₽]|[A-Za-z]{3}(?![A-Za-z]))\s*|\s*(?:[$€£₽]|(?<![A-Za-z])[A-Za-z]{3})$")
_SPACES = re.compile("[ \u00a0\u2009\u202f]")  # space, no-break space, thin space, narrow no-break space
_GROUPED = re.compile(r"\d{1,3}(?:S\d{3})+")  # digits in thousands, S standing for the separator


def _grouped(digits: str, sep: str) -> bool:
    return _GROUPED.fullmatch(digits.replace(sep, "S")) is not None


def _amount_text(text: str, name: str) -> str:
    """What a person typed (``$1,250.00``, ``1 250,00``, ``€ 80``, ``1250 USD``) as plain decimal
    text (``1250.00``); a 400 that says why when it is not one amount or could be read two ways."""
    like = f"'{name}' must be a number like 125.50"
    raw = text.strip()
    body = _CURRENCY.sub("", raw, count=1).strip() if raw else raw
    body = _CURRENCY.sub("", body, count=1).strip()  # a sign before and a code after: "$80 USD"
    if body.startswith(("-", "\u2212", "(")):
        raise BadRequest(f"'{name}' must not be negative")
    body = _SPACES.sub(" ", body)
    if not body or not re.fullmatch(r"[\d., ]+", body) or not re.search(r"\d", body):
        raise BadRequest(like)
    marks = [c for c in body if c in ".,"]
    if " " in body:  # spaces group thousands; a . or , left is the decimal mark
        whole, mark, cents = body, "", ""
        if marks:
            if len(marks) > 1:
                raise BadRequest(f"'{name}' {raw!r} mixes separators: write it like 1250.00")
            whole, mark, cents = body.rpartition(marks[0])
        if not _grouped(whole, " ") or (mark and not re.fullmatch(r"\d{1,2}", cents)):
            raise BadRequest(f"'{name}' {raw!r} is not one amount: write it like 1 250,00 or 1250.00")
        return whole.replace(" ", "") + (("." + cents) if mark else "")
    if not marks:
        return body
    last = marks[-1]
    whole, _, cents = body.rpartition(last)
    other = "," if last == "." else "."
    if other in whole:  # both marks: the last is the decimal one, the other groups thousands
        if last in whole or not _grouped(whole, other) or not re.fullmatch(r"\d{1,2}", cents):
            raise BadRequest(f"'{name}' {raw!r} is not one amount: write it like 1,250.00 or 1.250,00")
        return whole.replace(other, "") + "." + cents
    if len(marks) > 1:  # 1,250,000 or 1.250.000: thousands only
        if not _grouped(body, last):
            raise BadRequest(f"'{name}' {raw!r} is not one amount: write it like 1,250,000 or 1250000")
        return body.replace(last, "")
    if len(cents) == 3 and whole and whole != "0":
        raise BadRequest(
            f"'{name}' {raw!r} is ambiguous (thousands, or three decimals?): "
            f"write {whole}{cents}.00 if it is {whole}{cents}, or give at most two decimals"
        )
    if len(cents) > 2 or not cents.isdigit():
        raise BadRequest(f"'{name}' must be at most 1,000,000,000 with at most two decimals")
    return (whole or "0") + "." + cents


def money(value: Any, name: str) -> Decimal:
    """An amount of money: not negative, at most a billion, at most two decimals; or a 400.

    JSON numbers are taken as they are. Text is taken as people type it: a currency sign or
    code before or after (``$ € £ ₽``, ``USD``: dropped, amounts are in the business's one
    currency), thousands grouped by ``,`` ``.`` or a space (no-break and thin spaces too), and a
    decimal ``.`` or ``,``. Text that reads two ways is refused, never guessed: ``1,250`` and
    ``1.250`` (a thousand and more, or one and a quarter?) ask for ``1250.00`` or ``1.25``.
    The management API (``PUT /v1/spend``, its CSV import, a call's revenue) and every
    dashboard form read amounts here, so both refuse the same text with the same words.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise BadRequest(f"'{name}' must be a number like 125.50")
    text = _amount_text(value, name) if isinstance(value, str) else str(value)
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise BadRequest(f"'{name}' must be a number like 125.50") from None
    if not amount.is_finite() or amount < 0:
        raise BadRequest(f"'{name}' must not be negative")
    if amount > Decimal("1e9") or amount != amount.quantize(Decimal("0.01")):
        raise BadRequest(f"'{name}' must be at most 1,000,000,000 with at most two decimals")
    return amount

"""The business's profile, read by everything that shows or counts for the owner: its name, time
zone, currency, country and which outcomes count as conversions.

The profile saved on the dashboard's Settings page is the source of truth; a field never saved
falls back to the deployment's settings (``REPORT_TIMEZONE``, ``CURRENCY``, ``DEFAULT_REGION``).
Each process keeps the profile ``CACHE_SECONDS`` (one GetItem a minute at most), so a change
reaches every warm Lambda within that time. The formatting here (amounts with their currency,
phone numbers in the business's national format, places in their usual case) is pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from chalicelib.core import clock
from chalicelib.core.context import SYSTEM, RequestContext, log_change
from chalicelib.core.errors import BadRequest
from chalicelib.core.settings import get_settings
from chalicelib.store import business as stored
from chalicelib.store.cache import TTLCache

CACHE_SECONDS = 60
# The outcomes an owner can count as conversions; a sale is a conversion by default, as is a lead.
CONVERSION_OUTCOMES = ("lead", "sale")
DEFAULT_CONVERSIONS = ("lead", "sale")
# Currencies with their usual sign; any other ISO code is written before the amount ("CHF 12.00").
SIGNS = {"USD": "$", "EUR": "€", "GBP": "£", "RUB": "₽", "JPY": "¥", "INR": "₹", "CAD": "CA$", "AUD": "A$"}


@dataclass(frozen=True)
class Business:
    name: str
    timezone: str
    currency: str
    country: str  # ISO 3166 alpha-2: phone numbers in its national format
    conversions: tuple[str, ...]


def defaults() -> Business:
    """The profile before anything is saved: the deployment's settings."""
    s = get_settings()
    return Business("", s.report_timezone, s.currency, s.default_region, DEFAULT_CONVERSIONS)


def merge(saved: stored.StoredProfile) -> Business:
    """The saved fields over the defaults. Pure but for settings."""
    d = defaults()
    return Business(
        name=saved.name or d.name,
        timezone=saved.timezone or d.timezone,
        currency=saved.currency or d.currency,
        country=saved.country or d.country,
        conversions=saved.conversions if saved.conversions is not None else d.conversions,
    )


_CACHE: TTLCache[Business] = TTLCache(CACHE_SECONDS)


def profile() -> Business:
    """The business's profile now (cached per process, ``CACHE_SECONDS``)."""
    return _CACHE.get_or_load("profile", lambda: merge(stored.get()))


def clear_cache() -> None:
    _CACHE.clear()


def cached() -> bool:
    """Whether this process holds the profile now (no read needed for it)."""
    return _CACHE.get("profile")[0]


def prime(saved: stored.StoredProfile) -> None:
    """The profile as just read beside something else (the dashboard's session): kept as ``profile`` keeps it."""
    _CACHE.put("profile", merge(saved))


def timezone() -> str:
    """The business's time zone (IANA): the one function everything that counts or shows by day
    or hour reads (report days, the overview, summaries, alerts' local times, the call log)."""
    return profile().timezone


def check_zone(value: str | None) -> str:
    """A time zone as typed, checked: an IANA name (``America/Los_Angeles``). Pure."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    text = (value or "").strip()
    hint = "an IANA time zone like America/Los_Angeles or Europe/London"
    if not text:
        raise BadRequest(f"'timezone' must be {hint}")
    if len(text) > 64 or text.startswith(("/", ".")) or ".." in text:
        raise BadRequest(f"'timezone' must be {hint}")
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a directory (America)
        raise BadRequest(f"'timezone' {text!r} is not a known time zone: write {hint}") from None
    return text


def new_rebuild(zone: str, now_ms: int) -> dict[str, Any]:
    """A rebuild's first state after a change to ``zone``: pending, from the table's start. Pure."""
    return {
        "id": f"{zone}@{now_ms}",
        "zone": zone,
        "state": "running",
        "phase": "scan",
        "cursor": None,
        "done": 0,
        "started_at": now_ms,
        "updated_at": now_ms,
    }


def save(form: dict[str, str], *, ctx: RequestContext = SYSTEM) -> Business:
    """The Settings page's profile (name, currency, country, conversions, time zone), checked; saved
    whole. A new time zone starts the report days' rebuild (``chalicelib/reports/rebuild.py``, a
    resumable job); a form without ``timezone`` keeps the zone. A 400 names the field that was wrong."""
    log_change(ctx, "business.save")
    name = " ".join((form.get("name") or "").split())
    if len(name) > 80:
        raise BadRequest("'name' is at most 80 characters")
    currency = (form.get("currency") or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise BadRequest("'currency' must be a three-letter code like USD or EUR")
    country = (form.get("country") or "").strip().upper()
    import phonenumbers  # lazily: the Settings page only

    if country not in phonenumbers.SUPPORTED_REGIONS:
        raise BadRequest("'country' must be a two-letter country code like US or GB")
    conversions = tuple(o for o in CONVERSION_OUTCOMES if form.get(f"conversion_{o}") == "on")
    old = stored.get(ctx=ctx)
    zone, rebuild = old.timezone, old.rebuild
    if (form.get("timezone") or "").strip():
        zone = check_zone(form.get("timezone"))
        if zone != (old.timezone or defaults().timezone):
            rebuild = new_rebuild(zone, clock.now_ms())
    saved = stored.StoredProfile(
        name=name or None,
        timezone=zone,
        currency=currency,
        country=country,
        conversions=conversions,
        rebuild=rebuild,
        updated_at=clock.now_ms(),
    )
    stored.save(saved, ctx=ctx)
    clear_cache()
    return merge(saved)


def change_timezone(data: dict[str, Any], *, ctx: RequestContext = SYSTEM) -> dict[str, Any]:
    """The API's change of time zone (``{"timezone": ...}``; the rest of the profile kept): the
    rebuild it started (or the one running, when the zone is unchanged)."""
    unknown = sorted(set(data) - {"timezone"})
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(unknown)[:200]}")
    value = data.get("timezone")
    if not isinstance(value, str):
        raise BadRequest("'timezone' must be an IANA time zone like America/Los_Angeles or Europe/London")
    zone = check_zone(value)
    log_change(ctx, "business.timezone", timezone=zone)
    old = stored.get(ctx=ctx)
    if zone != (old.timezone or defaults().timezone):
        from dataclasses import replace

        stored.save(
            replace(old, timezone=zone, rebuild=new_rebuild(zone, clock.now_ms()), updated_at=clock.now_ms()), ctx=ctx
        )
        clear_cache()
    return rebuild_status(ctx=ctx)


def rebuild_status(*, ctx: RequestContext = SYSTEM) -> dict[str, Any]:
    """The report days' rebuild as the API and the Settings page show it."""
    saved = stored.get(ctx=ctx)
    return progress(saved.timezone or defaults().timezone, saved.rebuild)


def progress(zone: str, rebuild: dict[str, Any]) -> dict[str, Any]:
    """What a person reads of a rebuild's state. Pure."""
    state = rebuild.get("state") or "idle"
    return {
        "timezone": zone,
        "state": state,  # idle (never changed), running, done
        "phase": rebuild.get("phase") if state == "running" else None,
        "calls_done": int(rebuild.get("done") or 0),  # moved (phase scan), then checked again (check)
        "calls_checked": int(rebuild.get("checked") or 0),
        "started_at": clock.iso(int(rebuild["started_at"])) if rebuild.get("started_at") else None,
        "finished_at": clock.iso(int(rebuild["finished_at"])) if rebuild.get("finished_at") else None,
    }


# --- how amounts, phones and places are written ------------------------------------------------


def money(amount: float | int | Decimal | None, currency: str) -> str:
    """An amount with its currency (``$1,250.00``, ``CHF 12.00``); an en dash when unknown. Pure."""
    if amount is None:
        return "\u2013"
    sign = SIGNS.get(currency)
    text = f"{Decimal(str(amount)):,.2f}"
    return f"{sign}{text}" if sign else f"{currency} {text}"


def phone(number: str | None, country: str) -> str:
    """A phone number as people of the business's country write it: national format for numbers
    of that country, international for others; anything that is not a number as it came. Pure."""
    if not number:
        return ""
    if not re.fullmatch(r"\+[1-9]\d{6,14}", number):
        return number
    import phonenumbers  # lazily: pages only

    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number
    same = phonenumbers.region_code_for_number(parsed) == country.upper()
    style = phonenumbers.PhoneNumberFormat.NATIONAL if same else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(parsed, style)


def tel(number: str | None) -> str | None:
    """A ``tel:`` link for an E.164 number (None for a withheld or odd one). Pure."""
    return f"tel:{number}" if number and re.fullmatch(r"\+[1-9]\d{6,14}", number) else None


def place(*parts: str | None) -> str:
    """A caller's place in its usual case (Twilio sends ``SAN FRANCISCO``): words in capitals become
    title case; short codes (``CA``, ``US``) stay as they are. Pure."""
    out = []
    for p in parts:
        if not p:
            continue
        text = str(p).strip()
        if len(text) > 3 and text.isupper():
            text = " ".join(w.capitalize() for w in text.split(" "))
        out.append(text)
    return ", ".join(out)


def conversions(numbers: dict[str, int | Decimal], counted: tuple[str, ...]) -> int:
    """How many conversions a report row holds: the outcomes the business counts (leads, sales). Pure."""
    return sum(int(numbers.get({"lead": "leads", "sale": "sales"}[o], 0)) for o in counted if o in CONVERSION_OUTCOMES)

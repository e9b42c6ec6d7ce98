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


def save(form: dict[str, str], *, ctx: RequestContext = SYSTEM) -> Business:
    """The Settings page's profile (name, currency, country, conversions), checked; saved whole.
    The time zone stays the deployment's (``REPORT_TIMEZONE``) until a change can move the report
    days in the background. A 400 names the field that was wrong."""
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
    saved = stored.StoredProfile(
        name=name or None,
        timezone=old.timezone,
        currency=currency,
        country=country,
        conversions=conversions,
        rebuild=old.rebuild,
        updated_at=clock.now_ms(),
    )
    stored.save(saved, ctx=ctx)
    clear_cache()
    return merge(saved)


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

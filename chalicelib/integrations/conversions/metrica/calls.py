"""Metrica's calls file from conversions: pure functions (no HTTP), tested without a receiver.

What Metrica documents ("Sending call data", ``upload_calls``) and this module follows:

* A CSV file, UTF-8, column names in the first line, sent as ``multipart/form-data`` (part ``file``).
* One visitor identifier column: ``ClientId`` (Metrica's own, the ``_ym_uid`` the site script
  read) or ``Yclid`` (a Yandex Direct click id). A file carries one kind, so a batch becomes at most
  two files. A channel call (a static number: no visit) has ``StaticCall`` 1 and no identifier.
* ``DateTime``: Unix seconds, UTC, in the past. ``PhoneNumber`` ``+70123456789`` (no spaces;
  only with consent), ``TalkDuration`` and ``HoldDuration`` in seconds, ``CallMissed`` and
  ``FirstTimeCaller`` 1/0, ``Price`` with a full stop, ``Currency`` ISO 4217, ``Tag``, ``URL``.
* Metrica joins a call to a visit made at most 21 days before the upload: an older call or visit
  is never uploaded (``why_not``).

Cells that hold text a visitor or a user typed (the landing page URL, the tag) are escaped
against formula injection (a leading ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a
``'``): an owner may open the file we keep in the delivery log in a spreadsheet.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from collections.abc import Sequence

from chalicelib.integrations.conversions.platform import Conversion

WINDOW_DAYS = 21
COLUMNS = (
    "DateTime",
    "PhoneNumber",
    "TalkDuration",
    "HoldDuration",
    "CallMissed",
    "FirstTimeCaller",
    "Price",
    "Currency",
    "Tag",
    "URL",
    "StaticCall",
)
_DIGITS = re.compile(r"\d{1,30}")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MAX_TEXT = 500


def id_column(conversion: Conversion) -> str | None:
    """``ClientId`` or ``Yclid``: the identifier Metrica joins this call's visit by (its own client
    id first: it names the visit itself); None for a static call or a visit with neither."""
    if conversion.ym_client_id and _DIGITS.fullmatch(conversion.ym_client_id):
        return "ClientId"
    if conversion.click_ids.yclid and _DIGITS.fullmatch(conversion.click_ids.yclid):
        return "Yclid"
    return None


def why_not(conversion: Conversion, now_ms: int, window_ms: int) -> str | None:
    """Why Metrica cannot take this conversion now (in words), or None."""
    days = window_ms // 86_400_000
    if now_ms - conversion.occurred_at_ms > window_ms:
        age = (now_ms - conversion.occurred_at_ms) / 86_400_000
        return f"Metrica joins calls to visits of the last {days} days; this call is {age:.1f} days old"
    if conversion.click_at_ms and now_ms - conversion.click_at_ms > window_ms:
        return f"Metrica joins calls to visits of the last {days} days; this call's visit began earlier"
    if conversion.occurred_at_ms > now_ms:
        return "the call's time is in the future: Metrica takes only calls in the past"
    if conversion.adjustment != "none":
        return "Metrica's calls upload has no adjustments: a changed or withdrawn call cannot be sent again"
    if conversion.static_call:
        return None
    if id_column(conversion) is None:
        if conversion.ym_client_id or conversion.click_ids.yclid:
            return "the visit's Metrica ClientID or yclid is not a number, so Metrica could not join it"
        return "the visit had no Metrica ClientID (the site's Metrica tag did not run) and no yclid"
    return None


def safe_text(value: str | None) -> str:
    """Text for a cell a spreadsheet would not run as a formula."""
    text = (value or "")[:MAX_TEXT]
    return "'" + text if text.startswith(_FORMULA_START) else text


def row(conversion: Conversion, column: str | None) -> dict[str, str]:
    """One call's cells (``column``: the file's identifier column, None for a file of static calls)."""
    cells = {
        "DateTime": str(conversion.occurred_at_ms // 1000),
        "PhoneNumber": conversion.caller_e164 or "",  # E.164 from the carrier, never visitor text
        "TalkDuration": str(max(0, int(conversion.talk_seconds))),
        "HoldDuration": str(max(0, int(conversion.hold_seconds))),
        "CallMissed": "0" if conversion.answered else "1",
        "FirstTimeCaller": "1" if conversion.first_time_caller else "0",
        "Price": f"{conversion.value:.2f}" if conversion.value is not None else "",
        "Currency": conversion.currency.upper() if conversion.value is not None else "",
        "Tag": safe_text(conversion.action),
        "URL": safe_text(conversion.landing_url),
        "StaticCall": "1" if conversion.static_call else "0",
    }
    if column == "ClientId":
        cells["ClientId"] = conversion.ym_client_id or ""
    elif column == "Yclid":
        cells["Yclid"] = conversion.click_ids.yclid or ""
    return cells


def files(batch: Sequence[Conversion]) -> list[tuple[str | None, list[int]]]:
    """The batch split by identifier column: ``(column, indexes)``; static calls without an
    identifier go with the ``ClientId`` file (their cell empty), or make one of their own."""
    by: dict[str | None, list[int]] = {}
    for i, conversion in enumerate(batch):
        by.setdefault(id_column(conversion), []).append(i)
    statics = by.pop(None, [])
    if statics:
        by.setdefault("ClientId", []).extend(statics)
        by["ClientId"].sort()
    return list(by.items())


def csv_text(batch: Sequence[Conversion], indexes: Sequence[int], column: str | None, *, mask: bool = False) -> str:
    """The CSV file (``mask``: the delivery log's copy, phone numbers cut to their last four digits)."""
    header = ([column] if column else []) + list(COLUMNS)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    for i in indexes:
        cells = row(batch[i], column)
        if mask and cells["PhoneNumber"]:
            cells["PhoneNumber"] = "…" + cells["PhoneNumber"][-4:]
        writer.writerow(cells)
    return out.getvalue()


def multipart(text: str, filename: str = "calls.csv") -> tuple[bytes, str]:
    """The ``multipart/form-data`` body with the file in part ``file``, and its Content-Type."""
    boundary = "ct" + secrets.token_hex(16)
    data = text.encode("utf-8")
    body = (
        (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: text/csv; charset=utf-8\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"

"""A local Yandex Metrica management API for call uploads, checking requests the way Metrica documents
them, not the way our code writes them.

``POST /management/v1/counter/{id}/offline_conversions/upload_calls``: ``Authorization: OAuth <token>``
(else 403 ``invalid_token``), a ``multipart/form-data`` body parsed with Python's email parser, the
part named ``file`` read with the csv module: column names in the first line, exactly one visitor
identifier column (``UserId``, ``ClientId`` or ``Yclid``), only documented columns, ``DateTime`` Unix
seconds in the past and within 21 days, identifiers as numbers (empty only on a ``StaticCall`` 1 row),
``PhoneNumber`` with its country code and no spaces, durations as whole seconds, the 0/1 flags,
``Price`` with a full stop, ``Currency`` ISO 4217 beside a price. Answers ``{"uploading": {...}}``
with an id; ``GET .../calls_uploading/{id}`` answers its status (``UPLOADED`` until the test says
otherwise); ``GET .../calls_uploadings`` the list. Bad input: 400 ``{"errors": [{"error_type",
"message"}], "code", "message"}``.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support import receivers

ID_COLUMNS = {"UserId", "ClientId", "Yclid"}
OPTIONAL = {
    "StaticCall", "Price", "Currency", "PhoneNumber", "TalkDuration", "HoldDuration", "CallMissed", "Tag",
    "FirstTimeCaller", "URL", "CallTrackerURL",
}  # fmt: skip
WINDOW = 21 * 86_400
_DIGITS = re.compile(r"\d+")
_PHONE = re.compile(r"\+?\d{8,15}")
_PRICE = re.compile(r"\d+(\.\d+)?")
_CURRENCY = re.compile(r"[A-Z]{3}")


class Invalid(Exception):
    pass


@dataclass
class Upload:
    id: int
    counter: str
    rows: list[dict[str, str]]
    id_column: str
    query: dict[str, list[str]]
    raw_csv: str
    status: str = "UPLOADED"

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "create_time": "2026-12-07T00:00:00Z",
            "source_quantity": len(self.rows),
            "line_quantity": len(self.rows),
            "comment": (self.query.get("comment") or [""])[0],
            "type": "BASIC",
            "client_id_type": {"ClientId": "CLIENT_ID", "Yclid": "YCLID", "UserId": "USER_ID"}[self.id_column],
            "status": self.status,
            "static_calls_quantity": sum(r.get("StaticCall") == "1" for r in self.rows),
            "dynamic_calls_quantity": sum(r.get("StaticCall") != "1" for r in self.rows),
        }


@dataclass
class MetricaReceiver:
    url: str = ""
    counter: str = "87654321"
    token: str = "y0_AgAAAAtestOAuth"
    uploads: list[Upload] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path)
    fail_next: list[int] = field(default_factory=list)
    now: float | None = None
    hang_seconds: float = 0.0  # take the file, then answer this late (a lost answer)

    def rows(self) -> list[dict[str, str]]:
        return [r for u in self.uploads for r in u.rows]

    def parse(self, content_type: str, raw: bytes) -> tuple[str, list[dict[str, str]], str]:
        if not content_type.startswith("multipart/form-data"):
            raise Invalid("the file must be sent as multipart/form-data")
        message = BytesParser(policy=policy.default).parsebytes(
            f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode() + raw
        )
        if not message.is_multipart():
            raise Invalid("the body is not a multipart message")
        files = [p for p in message.iter_parts() if p.get_param("name", header="content-disposition") == "file"]
        if len(files) != 1:
            raise Invalid("send exactly one part named 'file'")
        payload = files[0].get_payload(decode=True)
        assert isinstance(payload, bytes)
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            raise Invalid("the file must be UTF-8") from None
        reader = csv.DictReader(io.StringIO(text, newline=""))
        header = reader.fieldnames or []
        ids = ID_COLUMNS & set(header)
        if len(ids) != 1:
            raise Invalid(f"the file needs exactly one of the columns {sorted(ID_COLUMNS)}; it has {header}")
        unknown = set(header) - ID_COLUMNS - OPTIONAL - {"DateTime"}
        if unknown or "DateTime" not in header or len(set(header)) != len(header):
            raise Invalid(f"unknown, missing or repeated columns in {header}")
        column = ids.pop()
        now = self.now if self.now is not None else time.time()
        rows = list(reader)
        if not rows:
            raise Invalid("the file has no calls")
        for n, row in enumerate(rows, start=2):
            if None in row or any(v is None for v in row.values()):
                raise Invalid(f"line {n}: the number of cells differs from the header")
            if not _DIGITS.fullmatch(row["DateTime"]):
                raise Invalid(f"line {n}: DateTime must be a Unix timestamp")
            t = int(row["DateTime"])
            if t > now:
                raise Invalid(f"line {n}: DateTime is in the future")
            if t < now - WINDOW:
                raise Invalid(f"line {n}: DateTime is older than the 21 days calls can be joined within")
            static = row.get("StaticCall", "0")
            if static not in ("0", "1"):
                raise Invalid(f"line {n}: StaticCall must be 1 or 0")
            if not _DIGITS.fullmatch(row[column]) and not (static == "1" and row[column] == ""):
                raise Invalid(f"line {n}: {column} must be a number")
            if row.get("PhoneNumber") and not _PHONE.fullmatch(row["PhoneNumber"]):
                raise Invalid(f"line {n}: PhoneNumber must be digits with the country code, no spaces")
            for key in ("TalkDuration", "HoldDuration"):
                if row.get(key) and not _DIGITS.fullmatch(row[key]):
                    raise Invalid(f"line {n}: {key} must be whole seconds")
            for key in ("CallMissed", "FirstTimeCaller"):
                if row.get(key) and row[key] not in ("0", "1"):
                    raise Invalid(f"line {n}: {key} must be 1 or 0")
            if row.get("Price"):
                if not _PRICE.fullmatch(row["Price"]):
                    raise Invalid(f"line {n}: Price must be a number with a full stop")
                if not _CURRENCY.fullmatch(row.get("Currency") or ""):
                    raise Invalid(f"line {n}: Currency must be a three-letter ISO 4217 code beside a Price")
        return column, rows, text


@contextmanager
def running() -> Iterator[MetricaReceiver]:
    state = MetricaReceiver()
    lock = threading.Lock()

    class Handler(receivers.JsonHandler):
        def _prefix(self) -> str:
            return f"/management/v1/counter/{state.counter}/offline_conversions/"

        def _authorized(self) -> bool:
            if self.headers.get("authorization") != f"OAuth {state.token}":
                self._error(403, "invalid_token", "Invalid oauth_token")
                return False
            return True

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length") or 0))
            parts = urlsplit(self.path)
            with lock:
                state.requests.append(("POST", parts.path))
                if state.fail_next:
                    self._error(state.fail_next.pop(0), "backend_error", "Internal error")
                    return
                if not self._authorized():
                    return
                if parts.path != self._prefix() + "upload_calls":
                    self._error(404, "not_found", f"no such method {parts.path}")
                    return
                try:
                    column, rows, text = state.parse(self.headers.get("content-type") or "", raw)
                except Invalid as exc:
                    self._error(400, "invalid_parameter", str(exc))
                    return
                upload = Upload(len(state.uploads) + 1001, state.counter, rows, column, parse_qs(parts.query), text)
                state.uploads.append(upload)
            time.sleep(state.hang_seconds)
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up waiting
                self.answer_json(200, {"uploading": upload.json()})

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            with lock:
                state.requests.append(("GET", parts.path))
                if not self._authorized():
                    return
                if parts.path == self._prefix() + "calls_uploadings":
                    self.answer_json(200, {"uploadings": [u.json() for u in state.uploads]})
                    return
                m = re.fullmatch(re.escape(self._prefix()) + r"calls_uploading/(\d+)", parts.path)
                found = [u for u in state.uploads if m and u.id == int(m.group(1))]
                if not found:
                    self._error(404, "not_found", "Uploading not found")
                    return
                self.answer_json(200, {"uploading": found[0].json()})

        def _error(self, status: int, kind: str, message: str) -> None:
            self.answer_json(status, {"errors": [{"error_type": kind, "message": message}], "code": status,
                                  "message": message})  # fmt: skip

    with receivers.serving(Handler) as url:
        state.url = url
        yield state

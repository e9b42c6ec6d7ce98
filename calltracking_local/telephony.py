"""The local provider: mints numbers from the fictional 555-01XX range, no network.

Numbers are ``+1 <area> 555 01XX``: reserved for fiction in the North American plan,
valid to ``phonenumbers``, and never a real subscriber. Which ones are taken is read
from the numbers table, so two processes (``make run`` and the seed script) agree.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import tempfile
from pathlib import Path

from chalicelib.core.settings import get_settings
from chalicelib.core.telephony.types import AvailableNumber, ProvisionedNumber, TelephonyError, Webhooks
from chalicelib.store.models import NumberModel

BASE_DIR = Path(tempfile.gettempdir()) / "calltracking-local-telephony"


def deleted_dir() -> Path:
    """Where deleted recordings are remembered, on disk: ``make run``'s app, its event pump and the
    call simulator are separate processes that must agree on what is gone. One folder per embedded
    DynamoDB (endpoint and table prefix), so a second stack on other ports shares nothing with the first."""
    s = get_settings()
    return stack_dir(s.dynamodb_endpoint, s.table_prefix) / "deleted-recordings"


def stack_dir(endpoint: str | None, table_prefix: str) -> Path:
    return BASE_DIR / hashlib.sha256(f"{endpoint}|{table_prefix}".encode()).hexdigest()[:16]


def started_calls_dir() -> Path:
    """Calls the app started (a dashboard call-back), kept until the call simulator plays one
    (``make call CALLBACK=1``): ``<CallSid>.json`` with what Twilio would have been asked."""
    return deleted_dir().parent / "started-calls"


def sayings_dir() -> Path:
    """What a simulated call's parties say (``make call SAY=...``): its recording is that speech."""
    return deleted_dir().parent / "sayings"


def set_saying(recording_sid: str, caller: str, business: str | None = None, *, folder: Path | None = None) -> None:
    """The recording ``recording_sid`` will be ``caller`` (and ``business``) spoken by espeak-ng
    (``folder``: another stack's sayings, ``stack_dir(...) / "sayings"``)."""
    folder = folder or sayings_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / _checked(recording_sid)).write_text(json.dumps({"caller": caller, "business": business}))


_RECORDING_SID = re.compile(r"RE[0-9A-Za-z]{1,62}")


class LocalTelephony:
    name = "local"

    def __init__(self, *, area_codes: tuple[str, ...]) -> None:
        self.area_codes = area_codes or ("201",)
        self.hooks: dict[str, Webhooks] = {}
        self.sent: list[dict[str, str]] = []
        self.calls: list[dict[str, str]] = []

    def _taken(self) -> set[str]:
        """Numbers never offered: ours, and every phone a line forwards to or a pool's page shows. A
        real carrier cannot sell the business its own phone; the fictional range can, and buying one
        would be refused as a call loop (``numbers.provision``)."""
        from chalicelib import numbers
        from chalicelib.store import lines

        taken = {
            n.number for n in NumberModel.scan(NumberModel.status == "active", attributes_to_get=["number", "status"])
        }
        pools = lines.list_pools()
        taken |= {phone for phone, *_ in numbers.line_phones(lines.list_channels(), pools)}
        taken |= {p.original_number for p in pools if p.original_number}
        return taken

    def search(self, *, country: str, area_code: str | None, contains: str | None, limit: int) -> list[AvailableNumber]:
        if country != "US":
            return []
        codes = [area_code] if area_code else list(self.area_codes)
        taken = self._taken()
        found: list[AvailableNumber] = []
        for code in codes:
            for line in range(100, 200):
                number = f"+1{code}5550{line}"
                if number in taken or (contains and contains not in number[2:]):
                    continue
                found.append(AvailableNumber(number=number, friendly_name=f"({code}) 555-0{line}", region="Fiction"))
                if len(found) >= limit:
                    return found
        return found

    def buy(self, number: str, hooks: Webhooks) -> ProvisionedNumber:
        if not (number.startswith("+1") and number[5:9] == "5550"):
            raise TelephonyError(f"{number} is not in the local provider's fictional range", client_error=True)
        if number in self._taken():
            raise TelephonyError(f"{number} is not available", client_error=True)
        sid = "PN" + hashlib.sha256(number.encode()).hexdigest()[:32]
        self.hooks[sid] = hooks
        return ProvisionedNumber(number=number, sid=sid, friendly_name=f"({number[2:5]}) 555-{number[8:]}")

    def update(self, sid: str, hooks: Webhooks) -> None:
        self.hooks[sid] = hooks

    def release(self, sid: str) -> None:
        self.hooks.pop(sid, None)

    def voice_urls(self) -> dict[str, str]:
        """The numbers this process bought or re-pointed (the fictional carrier keeps no account)."""
        return {sid: hooks.voice_url for sid, hooks in self.hooks.items()}

    def fetch_recording(self, recording_sid: str) -> tuple[bytes, str]:
        """Every simulated recording is the same small WAV, until it is deleted."""
        from calltracking_local import audio  # only when a recording is fetched: numbers never need it

        if self.recording_deleted(recording_sid):
            raise TelephonyError(f"recording {recording_sid} was deleted", client_error=True)
        saying = sayings_dir() / _checked(recording_sid)
        if saying.exists():
            from calltracking_local import speech

            said = json.loads(saying.read_text())
            return speech.stereo_wav(said.get("caller"), said.get("business")), audio.CONTENT_TYPE
        return audio.wav_bytes(), audio.CONTENT_TYPE

    def delete_recording(self, recording_sid: str) -> None:
        folder = deleted_dir()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / _checked(recording_sid)).touch()

    def send_sms(self, *, to: str, from_: str, body: str, messaging_service_sid: str | None = None) -> str:
        """No carrier: the text is kept in ``sent`` (and logged), so tests and ``make run`` can see it."""
        sid = "SM" + hashlib.sha256(f"{to}|{from_}|{body}|{len(self.sent)}".encode()).hexdigest()[:32]
        self.sent.append({"sid": sid, "to": to, "from": from_, "body": body})
        return sid

    def start_call(self, *, to: str, from_: str, url: str, status_callback: str | None = None) -> str:
        """No carrier: the call is kept in ``calls`` and, for the call simulator (another process),
        in ``started_calls_dir()``, which ``make call CALLBACK=1`` plays against the app."""
        sid = (
            "CA"
            + hashlib.sha256(f"{to}|{from_}|{url}|{len(self.calls)}|{secrets.token_hex(4)}".encode()).hexdigest()[:32]
        )
        started = {"sid": sid, "to": to, "from": from_, "url": url, "status_callback": status_callback or ""}
        self.calls.append(started)
        folder = started_calls_dir()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{sid}.json").write_text(json.dumps(started))
        return sid

    def line_type(self, number: str) -> str | None:
        """The fictional range has no carrier to ask: unknown, so screening stays off by default."""
        return None

    def caller_lookup(self, number: str, *, caller_name: bool) -> dict[str, str | None]:
        """``line_type`` as above, and (when asked) a made-up CNAM name from the number's last four digits."""
        name = f"CALLER {number[-4:]}" if caller_name and number[-4:].isdigit() else None
        return {"line_type": self.line_type(number), "caller_name": name}

    def recording_deleted(self, recording_sid: str) -> bool:
        return (deleted_dir() / _checked(recording_sid)).exists()


def _checked(recording_sid: str) -> str:
    if not _RECORDING_SID.fullmatch(recording_sid):  # it becomes a file name
        raise TelephonyError(f"{recording_sid!r} is not a recording SID", client_error=True)
    return recording_sid

"""The local stack's helpers: create tables, seed demo data, and play Twilio's side of a call.

    python scripts/local.py create-tables        (the tables, and the event queues)
    python scripts/local.py pump                 (the event pump: stream, queue, sweep)
    python scripts/local.py seed
    python scripts/local.py seed-admin           (the dashboard's demo admin: prints email and password)
    python scripts/local.py call --to +12015550100 [--from +14155550111] [--answer yes|no|busy]

Settings come from the ``local`` stage in ``.chalice/config.json``; variables already in
the environment win, so tests can point these at their own DynamoDB and server.

The call simulator sends what Twilio sends for one inbound call, signed with the local
auth token: the voice webhook, then (when the TwiML dials) the dial action, the
recording callback when recording is on, and the final call status. It prints the TwiML
and the stored call.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from xml.etree import ElementTree

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts import _localenv

DEMO_CHANNELS = (
    {"name": "Google Ads", "record": True},
    {"name": "Radio FM 101", "record": False},
    {"name": "Billboard A4", "record": False},
)
DEMO_POOL = {
    "name": "Demo website",
    "allowed_origins": ["http://127.0.0.1:8000", "http://localhost:8000"],
    "original_number": "+12025550123",
    "hold_seconds": 900,
}
DEMO_POOL_SIZE = 4


def _env() -> None:
    """The local stage's settings, with anything already set in the environment kept."""
    for key, value in _localenv.stage_env("local").items():
        os.environ.setdefault(key, value)


def _setting(key: str) -> str:
    """A setting as the local stage sees it, without changing this process's environment."""
    return os.environ.get(key) or _localenv.stage_env("local").get(key, "")


def create_tables() -> None:
    _env()
    from chalicelib.events.local_pump import create_queues
    from chalicelib.recordings.storage import create_bucket
    from chalicelib.store.models import create_tables as create

    create()
    create_queues()
    create_bucket()
    print("tables, event queues and the recordings bucket ready")


def pump() -> None:
    _env()
    from chalicelib.events import local_pump

    local_pump.main()


def seed() -> None:
    """Demo channels with one tracking number each, and a demo pool (idempotent by name)."""
    _env()
    from chalicelib import channels, numbers, pools
    from chalicelib.store.models import ChannelModel, NumberModel, PoolModel

    forward_to = os.environ.get("DEFAULT_FORWARD_TO") or "+12025550100"
    have = {c.name: c for c in ChannelModel.scan()}
    active = list(NumberModel.scan(NumberModel.status == "active"))
    for spec in DEMO_CHANNELS:
        channel = have.get(str(spec["name"]))
        if channel is None:
            created = channels.create({**spec, "forward_to": forward_to})
            channel_id = created["id"]
        else:
            channel_id = channel.channel_id
        if not any(n.channel_id == channel_id for n in active):
            got = numbers.provision({"channel_id": channel_id})
            print(f"  {spec['name']:<14} {got['number']}")
    pool = next((p for p in PoolModel.scan() if p.name == DEMO_POOL["name"]), None)
    if pool is None:
        origins = list(DEMO_POOL["allowed_origins"])  # type: ignore[call-overload]
        base = os.environ.get("PUBLIC_BASE_URL", "").rstrip("/")
        port = base.rsplit(":", 1)[-1] if base.count(":") == 2 else ""
        for origin in (base, f"http://127.0.0.1:{port}", f"http://localhost:{port}") if port.isdigit() else (base,):
            if origin and origin not in origins:
                origins.append(origin)
        pool_id = pools.create({**DEMO_POOL, "allowed_origins": origins, "forward_to": forward_to})["id"]
    else:
        pool_id = pool.pool_id
    have_numbers = sum(1 for n in active if n.pool_id == pool_id)
    for _ in range(DEMO_POOL_SIZE - have_numbers):
        numbers.provision({"pool_id": pool_id})
    print(f"  {DEMO_POOL['name']:<14} pool of {DEMO_POOL_SIZE} numbers")


RETRY_SECONDS = 120.0


DEMO_ADMIN = "admin@example.com"


def seed_admin() -> None:
    """The demo admin for the dashboard, with a new random password each time (printed: email, password)."""
    _env()
    from chalicelib.dashboard import users
    from chalicelib.errors import Conflict

    password = users.generate_password()
    try:
        users.create_user(DEMO_ADMIN, "admin", password)
    except Conflict:
        print(f"{DEMO_ADMIN} (exists: password unchanged; make user EMAIL=... ROLE=admin adds another)")
        return
    print(f"{DEMO_ADMIN} {password}")


def _post(base: str, path: str, params: dict[str, str], token: str, *, retry: bool = False) -> str:
    """Post like Twilio. ``retry``: a status callback answered 503 is sent again every 2 s for
    up to two minutes (what Twilio's connection overrides do), so a paused DynamoDB can come back."""
    from twilio.request_validator import RequestValidator

    signature = RequestValidator(token).compute_signature(base + path, params)
    deadline = time.monotonic() + RETRY_SECONDS
    # Twilio sends the same token with every retry of one request.
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": signature,
        "I-Twilio-Idempotency-Token": secrets.token_hex(16),
    }
    while True:
        req = urllib.request.Request(base + path, data=urlencode(params).encode(), headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return str(resp.read().decode())
        except urllib.error.HTTPError as err:
            if retry and err.code == 503 and time.monotonic() < deadline:
                print(f"  {path}: the call store is unavailable; retrying in 2 s", file=sys.stderr, flush=True)
                time.sleep(2)
                continue
            raise SystemExit(f"{path} answered {err.code}: {err.read().decode()}") from None


def _get_call(base: str, sid: str, api_key: str | None = None) -> Any:
    key = api_key or _setting("API_KEY")
    req = urllib.request.Request(f"{base}/v1/calls/{sid}", headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def seed_calls(days: int = 30, per_day: int = 3, seed: int = 1) -> int:
    """A past month of calls on the demo channels, through the real call code (in process, with a
    moved clock), so calls, first/repeat callers and report aggregates are what live calls make.
    Idempotent: the call sids are derived from the day and the position."""
    os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"  # a month of "call answered" lines helps nobody
    _env()
    import random

    from chalicelib import clock
    from chalicelib.store.models import NumberModel
    from chalicelib.voice import webhook

    rnd = random.Random(seed)
    lines = sorted(n.number for n in NumberModel.scan(NumberModel.kind == "channel") if n.status == "active")
    if not lines:
        raise SystemExit("no channel numbers: run `python scripts/local.py seed` first")
    start = time.time() - days * 86_400
    made = 0
    try:
        for day in range(days):
            for i in range(rnd.randint(0, per_day * 2)):
                t = start + day * 86_400 + rnd.randint(8 * 3600, 18 * 3600)
                clock.set_source(lambda t=t: t)
                sid = f"CA{day:04d}{i:04d}" + "0" * 24
                base = {"CallSid": sid, "From": f"+1415555{rnd.randint(100, 160):04d}", "To": rnd.choice(lines)}
                webhook.answer_voice({**base, "CallStatus": "ringing"})
                talk = rnd.randint(20, 400)
                answered = rnd.random() < 0.75
                status = "completed" if answered else "no-answer"
                webhook.dial_finished(
                    {**base, "DialCallStatus": status, "DialCallDuration": str(talk if answered else 0)}
                )
                clock.set_source(lambda t=t, talk=talk: t + talk + 10)
                webhook.call_finished(
                    {**base, "CallStatus": "completed", "CallDuration": str(talk + 10 if answered else 25)}
                )
                made += 1
    finally:
        clock.set_source(None)
    return made


def _path(base: str, url: str, default: str) -> str:
    return url[len(base) :] if url.startswith(base) else default


def _recording(common: dict[str, str], sid: str, seconds: int) -> dict[str, str]:
    return {
        **common,
        "RecordingSid": "RE" + secrets.token_hex(16),
        "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/RE{sid[2:]}",
        "RecordingStatus": "completed",
        "RecordingDuration": str(seconds),
        "RecordingChannels": "2",
    }


def simulate_call(
    base: str,
    to: str,
    caller: str,
    answer: str = "yes",
    talk_seconds: int = 42,
    token: str | None = None,
    api_key: str | None = None,
) -> dict[str, Any]:
    """Play one inbound call against a running server; returns the TwiML steps and the stored call."""
    token = token or _setting("TWILIO_AUTH_TOKEN")
    sid = "CA" + secrets.token_hex(16)
    common = {"AccountSid": _setting("TWILIO_ACCOUNT_SID") or "AC" + "0" * 32, "CallSid": sid}
    common |= {"From": caller, "To": to, "Called": to, "Caller": caller, "Direction": "inbound"}
    steps: list[dict[str, str]] = []
    twiml = _post(base, "/twilio/voice", {**common, "CallStatus": "ringing", "FromCity": "SAN FRANCISCO"}, token)
    steps.append({"webhook": "/twilio/voice", "twiml": twiml})
    duration = 4
    for _ in range(10):  # the primary phone, then each failover phone, then maybe voicemail
        root = ElementTree.fromstring(twiml)
        dial, record = root.find("Dial"), root.find("Record")
        if dial is not None:
            status = {"yes": "completed", "no": "no-answer", "busy": "busy"}.get(answer, "failed")
            dialled = {**common, "DialCallSid": "CA" + secrets.token_hex(16), "DialCallStatus": status}
            if status == "completed":
                dialled["DialCallDuration"] = str(talk_seconds)
                duration += talk_seconds + 2
            else:
                duration += 20
            path = _path(base, dial.get("action", ""), "/twilio/dial-status")
            twiml = _post(base, path, dialled, token)
            steps.append({"webhook": path, "twiml": twiml})
            if status == "completed" and dial.get("record"):
                rec = _recording(common, sid, talk_seconds)
                rec_path = _path(base, dial.get("recordingStatusCallback", ""), "/twilio/recording-status")
                steps.append({"webhook": rec_path, "twiml": _post(base, rec_path, rec, token, retry=True)})
        elif record is not None:
            rec = _recording(common, sid, 12)
            path = _path(base, record.get("action", ""), "/twilio/voicemail")
            twiml = _post(base, path, rec, token)
            steps.append({"webhook": path, "twiml": twiml})
            rec_path = _path(base, record.get("recordingStatusCallback", ""), "/twilio/recording-status")
            steps.append({"webhook": rec_path, "twiml": _post(base, rec_path, rec, token, retry=True)})
            duration += 15
        else:
            break
    done = {**common, "CallStatus": "completed", "CallDuration": str(duration)}
    final = _post(base, "/twilio/call-status", done, token, retry=True)
    steps.append({"webhook": "/twilio/call-status", "twiml": final})
    return {"call_sid": sid, "steps": steps, "call": _get_call(base, sid, api_key)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("create-tables")
    sub.add_parser("pump", help="run the event pump (make run starts it)")
    sub.add_parser("seed")
    sub.add_parser("seed-admin", help="the dashboard's demo admin; prints its email and password")
    history = sub.add_parser("seed-calls", help="a past month of calls on the demo channels")
    history.add_argument("--days", type=int, default=30)
    call = sub.add_parser("call", help="simulate one inbound call against a running local server")
    call.add_argument("--to", required=True, help="the tracking number called (E.164)")
    call.add_argument("--from", dest="caller", default="+14155550111")
    call.add_argument("--answer", default="yes", choices=["yes", "no", "busy"])
    call.add_argument("--talk-seconds", type=int, default=42)
    call.add_argument("--base-url", default=None, help="default: PUBLIC_BASE_URL of the local stage")
    args = parser.parse_args(argv)
    if args.cmd == "create-tables":
        create_tables()
    elif args.cmd == "pump":
        pump()
    elif args.cmd == "seed":
        seed()
    elif args.cmd == "seed-admin":
        seed_admin()
    elif args.cmd == "seed-calls":
        print(f"  {seed_calls(args.days)} calls over the last {args.days} days")
    else:
        base = (args.base_url or _setting("PUBLIC_BASE_URL")).rstrip("/")
        result = simulate_call(base, args.to, args.caller, args.answer, args.talk_seconds)
        for step in result["steps"]:
            print(f"--> {step['webhook']}\n{step['twiml']}\n")
        print(json.dumps(result["call"], indent=2))
        if result["call"].get("recording"):
            sid = result["call_sid"]
            print(
                f"\nrecording: the event pump copies it into the embedded S3 (bucket {_setting('TABLE_PREFIX')}"
                f"recordings, key recordings/{sid}/<recording sid>.wav) and deletes it at the local provider;"
                f"\n  a playable link: curl -H 'Authorization: Bearer <key>' {base}/v1/calls/{sid}/recording"
            )


if __name__ == "__main__":
    main()

"""``calltracking call``: play Twilio's side of one inbound call (or, with ``--text``, one text) against a
running server (``make run``).

It sends what Twilio sends for one inbound call, signed with the stage's auth token: the voice
webhook, then (when the TwiML dials) the dial action, the recording callback when recording is
on, and the final call status; then it reads the stored call back through the API. The server,
token and key are the local stage's, with ``make run``'s ``API_PORT`` honoured.
"""

from __future__ import annotations

import json
import secrets
import sys
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode
from xml.etree import ElementTree

import click

from calltracking_cli.project import LOCAL, Project


def _setting(key: str) -> str:
    """A setting as the local stage sees it (``make run``'s ports, then the environment)."""
    return Project().effective_env(LOCAL).get(key, "")


RETRY_SECONDS = 120.0


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


def _path(base: str, url: str, default: str) -> str:
    return url[len(base) :] if url.startswith(base) else default


def _recording(
    common: dict[str, str], sid: str, seconds: int, say: str | None = None, sayings: Any = None
) -> dict[str, str]:
    rec_sid = "RE" + secrets.token_hex(16)
    if say:  # the local provider serves this sentence, spoken, as the recording (caller's channel)
        from calltracking_local.telephony import set_saying

        set_saying(rec_sid, say, "Thanks for calling", folder=sayings)
    return {
        **common,
        "RecordingSid": rec_sid,
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
    digits: str = "",
    say: str | None = None,
    sayings: Any = None,
) -> dict[str, Any]:
    """Play one inbound call against a running server; returns the TwiML steps and the stored call.

    ``say``: what the caller says in the recording (the local engine transcribes it); ``sayings``:
    the local provider's folder of another stack than this process's settings name."""
    token = token or _setting("TWILIO_AUTH_TOKEN")
    sid = "CA" + secrets.token_hex(16)
    common = {"AccountSid": _setting("TWILIO_ACCOUNT_SID") or "AC" + "0" * 32, "CallSid": sid}
    common |= {"From": caller, "To": to, "Called": to, "Caller": caller, "Direction": "inbound"}
    steps: list[dict[str, str]] = []
    twiml = _post(base, "/twilio/voice", {**common, "CallStatus": "ringing", "FromCity": "SAN FRANCISCO"}, token)
    steps.append({"webhook": "/twilio/voice", "twiml": twiml})
    duration = 4
    answers = [a.strip() for a in answer.split(",")]  # one per <Dial> in turn; the last goes on
    dials = 0
    for _ in range(10):  # the primary phone, then each failover phone, then maybe voicemail
        root = ElementTree.fromstring(twiml)
        dial, record, gather = root.find("Dial"), root.find("Record"), root.find("Gather")
        if gather is not None:  # a menu: press ``digits`` (nothing: its default)
            path = _path(base, gather.get("action", ""), "/twilio/menu")
            twiml = _post(base, path, {**common, **({"Digits": digits} if digits else {})}, token)
            steps.append({"webhook": path, "twiml": twiml})
            duration += 5
        elif dial is not None:
            # "machine": a phone's own voicemail answers (Twilio says completed) but presses nothing.
            answer = answers[min(dials, len(answers) - 1)]
            dials += 1
            status = {"yes": "completed", "person": "completed", "machine": "completed", "no": "no-answer"}.get(
                answer, "busy" if answer == "busy" else "failed"
            )
            leg = "CA" + secrets.token_hex(16)
            dialled = {**common, "DialCallSid": leg, "DialCallStatus": status}
            screen = next((n.get("url", "") for n in dial.iter("Number") if "/twilio/screen/" in n.get("url", "")), "")
            if screen and status == "completed":
                # The answerer's leg runs the screen; a person presses 1, a machine does not.
                leg_params = {**common, "CallSid": leg, "ParentCallSid": sid, "Direction": "outbound-dial"}
                heard = _post(base, _path(base, screen, screen), leg_params, token)
                steps.append({"webhook": _path(base, screen, screen), "twiml": heard})
                gather = ElementTree.fromstring(heard).find("Gather")
                if answer != "machine" and gather is not None:
                    key_path = _path(base, gather.get("action", ""), "/twilio/screen-key")
                    steps.append(
                        {"webhook": key_path, "twiml": _post(base, key_path, {**leg_params, "Digits": "1"}, token)}
                    )
            answered_cb = next((n.get("statusCallback", "") for n in dial.iter("Number")), "")
            if answered_cb and status == "completed":  # phones rung together: the first one's leg answered
                leg_params = {**common, "CallSid": leg, "ParentCallSid": sid, "CallStatus": "in-progress"}
                cb_path = _path(base, answered_cb, answered_cb)
                steps.append({"webhook": cb_path, "twiml": _post(base, cb_path, leg_params, token, retry=True)})
            if status == "completed":
                dialled["DialCallDuration"] = str(talk_seconds)
                duration += talk_seconds + 2
            else:  # it rang out: its ring time (the timeout plus the ~5 s Twilio adds)
                duration += int(dial.get("timeout") or 15) + 5
            path = _path(base, dial.get("action", ""), "/twilio/dial-status")
            twiml = _post(base, path, dialled, token)
            steps.append({"webhook": path, "twiml": twiml})
            if status == "completed" and dial.get("record"):
                rec = _recording(common, sid, talk_seconds, say, sayings)
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


def simulate_call_back(
    base: str,
    answer: str = "yes",
    talk_seconds: int = 42,
    token: str | None = None,
    api_key: str | None = None,
    folder: Any = None,
) -> dict[str, Any]:
    """Play the oldest call the app started and no simulation played yet (a dashboard call-back,
    as the local provider keeps it: ``folder``, another stack's ``started-calls``): the owner's
    phone answers (``answer`` yes) and asks the call's URL what to do (the bridge to the caller),
    or does not (no, busy, failed); then the call's status callback. Returns the steps and the
    stored outbound call."""
    from pathlib import Path

    from calltracking_local.telephony import started_calls_dir

    token = token or _setting("TWILIO_AUTH_TOKEN")
    where = Path(folder) if folder is not None else started_calls_dir()
    waiting = sorted(where.glob("CA*.json"), key=lambda p: p.stat().st_mtime) if where.is_dir() else []
    if not waiting:
        raise SystemExit("no call-back is waiting: press a call's Call back button in the dashboard first")
    started = json.loads(waiting[0].read_text())
    sid = str(started["sid"])
    common = {"AccountSid": _setting("TWILIO_ACCOUNT_SID") or "AC" + "0" * 32, "CallSid": sid}
    common |= {"From": started["from"], "To": started["to"], "Direction": "outbound-api"}
    steps: list[dict[str, str]] = []
    duration = 0
    if answer in ("yes", "person"):
        path = _path(base, str(started["url"]), "/twilio/bridge")
        steps.append({"webhook": path, "twiml": _post(base, path, {**common, "CallStatus": "in-progress"}, token)})
        duration = talk_seconds + 8  # the owner's ring, then the caller's, then the talk
        done = {**common, "CallStatus": "completed", "CallDuration": str(duration)}
    else:
        done = {**common, "CallStatus": {"no": "no-answer", "busy": "busy"}.get(answer, "failed"), "CallDuration": "0"}
    status = _path(base, str(started["status_callback"]), "/twilio/callback-status")
    steps.append({"webhook": status, "twiml": _post(base, status, done, token, retry=True)})
    waiting[0].unlink()
    return {"call_sid": sid, "steps": steps, "call": _get_call(base, sid, api_key)}


ANSWERS = ("yes", "person", "machine", "no", "busy", "failed")


def _answers(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """``--answer``: one answer, or one per phone rung in turn (``no,person``: a ring group's second phone)."""
    wrong = [a for a in value.split(",") if a.strip() not in ANSWERS]
    if wrong:
        raise click.BadParameter(f"{', '.join(wrong)}: each answer is one of {', '.join(ANSWERS)}")
    return value


def simulate_text(
    base: str, to: str, caller: str, body: str, token: str | None = None, api_key: str | None = None
) -> dict[str, Any]:
    """Send one text to a tracking number as Twilio does (signed ``/twilio/sms``); returns the
    TwiML answer and the stored text (as ``GET /v1/calls/{sid}`` shows it)."""
    token = token or _setting("TWILIO_AUTH_TOKEN")
    sid = "SM" + secrets.token_hex(16)
    params = {
        "AccountSid": _setting("TWILIO_ACCOUNT_SID") or "AC" + "0" * 32,
        "MessageSid": sid,
        "SmsSid": sid,
        "From": caller,
        "To": to,
        "Body": body,
        "NumMedia": "0",
        "FromCity": "SAN FRANCISCO",
    }
    twiml = _post(base, "/twilio/sms", params, token)
    return {
        "message_sid": sid,
        "steps": [{"webhook": "/twilio/sms", "twiml": twiml}],
        "call": _get_call(base, sid, api_key),
    }


@click.command()
@click.option("--to", "to", default=None, help="the tracking number called (E.164)")
@click.option("--from", "caller", default="+14155550111", show_default=True)
@click.option(
    "--answer",
    default="yes",
    show_default=True,
    callback=_answers,
    help="person (= yes) presses a screened line's key; machine: a phone's voicemail answers and presses"
    " nothing; no, busy, failed; one per phone rung in turn, comma-separated (no,person: the second phone answers)",
)
@click.option("--talk-seconds", type=int, default=42, show_default=True)
@click.option("--digits", default="", help="the key pressed at a line's menu (empty: its default)")
@click.option("--text", "text", default=None, help="send this text to the number instead of calling it")
@click.option("--base-url", default=None, help="default: the local stage's PUBLIC_BASE_URL (API_PORT)")
@click.option("--say", default=None, help="what the caller says in the recording (spoken by espeak-ng, transcribed)")
@click.option(
    "--call-back",
    "call_back",
    is_flag=True,
    help="play the oldest call-back the dashboard started (--answer: whether your phone answers) instead of a call",
)
def call(
    to: str | None,
    caller: str,
    answer: str,
    talk_seconds: int,
    digits: str,
    text: str | None,
    base_url: str | None,
    say: str | None,
    call_back: bool,
) -> None:
    """Simulate one inbound call (or text, or a call-back the dashboard started) against a running local
    server and print the TwiML and what was stored."""
    base = (base_url or _setting("PUBLIC_BASE_URL")).rstrip("/")
    if call_back:
        played = simulate_call_back(base, answer, talk_seconds)
        for step in played["steps"]:
            click.echo(f"--> {step['webhook']}\n{step['twiml']}\n")
        click.echo(json.dumps(played["call"], indent=2))
        return
    if not to:
        raise click.UsageError("--to is required (the tracking number called), unless --call-back")
    if text is not None:
        sent = simulate_text(base, to, caller, text)
        click.echo(f"--> /twilio/sms\n{sent['steps'][0]['twiml']}\n")
        click.echo(json.dumps(sent["call"], indent=2))
        return
    result = simulate_call(base, to, caller, answer, talk_seconds, digits=digits, say=say)
    for step in result["steps"]:
        click.echo(f"--> {step['webhook']}\n{step['twiml']}\n")
    click.echo(json.dumps(result["call"], indent=2))
    if result["call"].get("recording"):
        sid = result["call_sid"]
        click.echo(
            f"\nrecording: the event pump copies it into the embedded S3 (bucket {_setting('TABLE_PREFIX')}"
            f"recordings, key recordings/{sid}/<recording sid>.wav) and deletes it at the local provider;"
            f"\n  a playable link: curl -H 'Authorization: Bearer <key>' {base}/v1/calls/{sid}/recording"
        )

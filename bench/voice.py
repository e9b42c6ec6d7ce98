"""Voice webhook benchmark: DynamoDB requests per call, and latency against a bare TwiML render.

Budget (issue 5): at most 5 DynamoDB requests per voice webhook. Issue 24: the caller-hash key
is read from SSM with the Twilio auth token in one request, so a new container's voice webhooks
make exactly one SSM request between them (counted here against the embedded SSM). Latency is in-process
(Chalice's test client: signature check, middleware, routing, storage) against the embedded
DynamoDB, normally and with DynamoDB hanging (a server that never answers), stated as
ratios to rendering the same TwiML with no I/O, measured in the same run.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench import common

N = 200
HANG_N = 5
MENU_N = 30  # menu calls: the voice webhook, then the menu's answer (issue 28: at most one request more per step)
SITE = "https://shop.example.com"
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"


def run() -> dict[str, Any]:
    with common.embedded_dynamodb("bench-voice-"):
        return _measure()


def _client() -> Any:
    from chalice.test import Client

    from app import app

    project = Path(tempfile.mkdtemp(prefix="bench-voice-"))
    (project / ".chalice").mkdir()
    (project / ".chalice" / "config.json").write_text(
        json.dumps({"version": "2.0", "app_name": "calltracking", "stages": {"bench": {}}})
    )
    return Client(app, stage_name="bench", project_dir=str(project))


def signed_voice_post() -> Callable[[Any, int, str], float]:
    """``post(client, i, to)``: Twilio's first voice request for call ``i`` to ``to``, signed as
    Twilio signs it, through the app; returns its time and checks that the call was forwarded."""
    from twilio.request_validator import RequestValidator

    from chalicelib.core.settings import get_settings

    s = get_settings()
    validator = RequestValidator(s.twilio_auth_token)
    url = s.public_base_url + "/twilio/voice"

    def post(client: Any, i: int, to: str) -> float:
        params = {"CallSid": f"CA{i:032d}", "From": "+14155550111", "To": to, "CallStatus": "ringing"}
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": validator.compute_signature(url, params),
        }
        t0 = time.perf_counter()
        r = client.http.post("/twilio/voice", headers=headers, body=urlencode(params))
        elapsed = time.perf_counter() - t0
        assert r.status_code == 200 and b"<Dial" in r.body, r.body
        return elapsed

    return post


def with_and_without(
    add: Callable[[], None], remove: Callable[[], None], *, n: int, block: int
) -> tuple[dict[bool, list[int]], dict[bool, list[float]]]:
    """The voice webhook's DynamoDB requests and times to a channel's number, ``n`` calls without
    and ``n`` with what ``add`` configures (webhook endpoints, alert recipients...), alternating in
    blocks of ``block`` calls in one process against one embedded DynamoDB, so a noisy moment
    falls on both sides. Keyed by whether it was configured."""
    from chalicelib import channels, numbers
    from chalicelib.store import models

    models.create_tables()
    ch = channels.create({"name": "Radio", "forward_to": "+12025550144"})
    number = numbers.provision({"channel_id": ch["id"]})["number"]
    post = signed_voice_post()
    counts: dict[bool, list[int]] = {False: [], True: []}
    times: dict[bool, list[float]] = {False: [], True: []}
    with _client() as client, common.counting() as counter:
        post(client, 10**6, number)  # warm: imports, connections, caches
        for configured in [False, True] * (n // block):
            add() if configured else remove()
            for _ in range(block):
                counter.reset()
                times[configured].append(post(client, len(times[False]) + len(times[True]) + 1, number))
                counts[configured].append(counter.total)
    return counts, times


def _measure() -> dict[str, Any]:
    from twilio.twiml.voice_response import VoiceResponse

    from chalicelib import channels, numbers, pools
    from chalicelib.core.settings import get_settings
    from chalicelib.leasing import endpoint
    from chalicelib.store import models
    from tests.support.faults import dynamodb_failing

    models.create_tables()
    ch = channels.create({"name": "Google Ads", "forward_to": "+12025550144", "record": True})
    channel_number = numbers.provision({"channel_id": ch["id"]})["number"]
    pool = pools.create(
        {"name": "Site", "allowed_origins": [SITE], "original_number": "+12025550123", "forward_to": "+12025550144"}
    )
    pool_number = numbers.provision({"pool_id": pool["id"]})["number"]
    endpoint.lease(json.dumps({"site_key": pool["site_key"], "visitor_id": "visitor-0001", "page_url": SITE}), SITE, UA)

    s = get_settings()
    post = signed_voice_post()

    def bare() -> float:
        t0 = time.perf_counter()
        vr = VoiceResponse()
        vr.say("This call may be recorded.")
        vr.dial(action=s.public_base_url + "/twilio/dial-status?step=0", answer_on_bridge=True).number("+12025550144")
        str(vr)
        return time.perf_counter() - t0

    counts: dict[str, list[int]] = {"channel": [], "pool": []}
    times: dict[str, list[float]] = {"channel": [], "pool": [], "bare": [], "hanging": []}
    with _client() as client, common.counting() as counter:
        post(client, 10**6, channel_number)  # warm: imports, connections, blocklist cache
        for i in range(N):
            for kind, to in (("channel", channel_number), ("pool", pool_number)):
                counter.reset()
                times[kind].append(post(client, 2 * i + kind.startswith("p"), to))
                counts[kind].append(counter.total)
            times["bare"].append(bare())
        menu_counts = _menu_steps(client, counter)
        menu_counts.update(_ring_group_steps(client, counter))
        menu_counts.update(_voicemail_steps(client, counter))
        with dynamodb_failing("hang", read_timeout=get_settings().webhook_read_timeout):
            for i in range(HANG_N):
                times["hanging"].append(post(client, 10**7 + i, channel_number))

        ssm = _ssm_requests(client, post, channel_number)

    med = {k: statistics.median(v) for k, v in times.items()}
    return {
        "ssm_requests_first_voice_webhooks": ssm,
        "n": N,
        "requests_per_voice_webhook": {
            kind: {"median": statistics.median(c), "max": max(c)} for kind, c in counts.items()
        },
        "median_seconds": {k: round(v, 6) for k, v in med.items()},
        "channel_call_to_bare_twiml_ratio": round(med["channel"] / med["bare"], 1),
        "pool_call_to_bare_twiml_ratio": round(med["pool"] / med["bare"], 1),
        "dynamodb_hanging_to_bare_twiml_ratio": round(med["hanging"] / med["bare"], 1),
        "dynamodb_hanging_to_normal_channel_call_ratio": round(med["hanging"] / med["channel"], 1),
        "budget_requests_max": 5,
        # A line with a menu: its voice webhook (the menu, no <Dial>) and the menu's answer (the option's <Dial>).
        "menu_requests_per_step": {
            step: {"median": statistics.median(c), "max": max(c)} for step, c in menu_counts.items()
        },
    }


SSM_CALLS = 20


def _ssm_requests(client: Any, post: Callable[[Any, int, str], float], to: str) -> dict[str, Any]:
    """SSM requests of a new container's first ``SSM_CALLS`` voice webhooks, both secrets in SSM
    (a deployed stage's way), by operation."""
    import os

    import boto3

    from chalicelib.core import secrets
    from chalicelib.core.settings import get_settings

    endpoint = os.environ["DYNAMODB_ENDPOINT"]  # the embedded server serves SSM too
    ssm = boto3.client("ssm", endpoint_url=endpoint, region_name="us-east-1")
    names = {"TWILIO_AUTH_TOKEN_PARAM": "/calltracking/bench/twilio-auth-token"}
    names["CALLER_PEPPER_PARAM"] = "/calltracking/bench/caller-pepper"
    ssm.put_parameter(
        Name=names["TWILIO_AUTH_TOKEN_PARAM"],
        Value=os.environ["TWILIO_AUTH_TOKEN"],
        Type="SecureString",
        Overwrite=True,
    )
    ssm.put_parameter(
        Name=names["CALLER_PEPPER_PARAM"], Value=os.environ["CALLER_PEPPER"], Type="SecureString", Overwrite=True
    )
    os.environ.update({**names, "SSM_ENDPOINT": endpoint})
    get_settings.cache_clear()
    secrets.clear_cache()  # a new container
    sent: list[str] = []
    secrets._client().meta.events.register(
        "before-call.ssm", lambda model, **_: sent.append(model.name), unique_id="bench-count-ssm"
    )
    try:
        for i in range(SSM_CALLS):
            post(client, 10**8 + i, to)
    finally:
        for name in (*names, "SSM_ENDPOINT"):
            os.environ.pop(name, None)
        get_settings.cache_clear()
        secrets.clear_cache()
    return {"voice_webhooks": SSM_CALLS, "requests": len(sent), "operations": sorted(set(sent))}


def _menu_steps(client: Any, counter: common.RequestCounter) -> dict[str, list[int]]:
    """DynamoDB requests of a menu call's two steps, signed as Twilio signs them."""
    from twilio.request_validator import RequestValidator

    from chalicelib import channels, numbers
    from chalicelib.core.settings import get_settings

    menu = {
        "prompt": "For sales press 1.",
        "options": [{"key": "1", "label": "Sales", "forward_to": "+12025550166"}],
    }
    ch = channels.create({"name": "Menu line", "forward_to": "+12025550144", "flow": {"menu": menu}})
    number = numbers.provision({"channel_id": ch["id"]})["number"]
    s = get_settings()
    validator = RequestValidator(s.twilio_auth_token)

    def signed(path: str, params: dict[str, str], expect: bytes) -> None:
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": validator.compute_signature(s.public_base_url + path, params),
        }
        r = client.http.post(path, headers=headers, body=urlencode(params))
        assert r.status_code == 200 and expect in r.body, r.body

    counts: dict[str, list[int]] = {"voice_webhook": [], "menu_answer": []}
    for i in range(MENU_N):
        params = {"CallSid": f"CA9{i:031d}", "From": "+14155550111", "To": number, "CallStatus": "ringing"}
        counter.reset()
        signed("/twilio/voice", params, b"<Gather")
        counts["voice_webhook"].append(counter.total)
        counter.reset()
        signed(f"/twilio/menu/channel/{ch['id']}", params | {"Digits": "1"}, b"+12025550166")
        counts["menu_answer"].append(counter.total)
    return counts


def _ring_group_steps(client: Any, counter: common.RequestCounter) -> dict[str, list[int]]:
    """DynamoDB requests of a round-robin ring group's voice webhook (the turn: one write more) and of
    the dial action that moves from its first phone to the next (issue 28)."""
    from twilio.request_validator import RequestValidator

    from chalicelib import channels, numbers
    from chalicelib.core.settings import get_settings

    flow = {"failover": ["+12025550111"], "ring": "round_robin", "ring_each": [15, 30]}
    ch = channels.create({"name": "Team", "forward_to": "+12025550144", "flow": flow})
    number = numbers.provision({"channel_id": ch["id"]})["number"]
    s = get_settings()
    validator = RequestValidator(s.twilio_auth_token)

    def signed(path: str, params: dict[str, str]) -> str:
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": validator.compute_signature(s.public_base_url + path, params),
        }
        r = client.http.post(path, headers=headers, body=urlencode(params))
        assert r.status_code == 200 and b"<Dial" in r.body, r.body
        return str(r.body.decode())

    counts: dict[str, list[int]] = {"round_robin_voice_webhook": [], "ring_group_next_phone": []}
    for i in range(MENU_N):
        params = {"CallSid": f"CA8{i:031d}", "From": "+14155550111", "To": number, "CallStatus": "ringing"}
        counter.reset()
        answer = signed("/twilio/voice", params)
        counts["round_robin_voice_webhook"].append(counter.total)
        action = answer.split('action="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
        counter.reset()
        signed(action.removeprefix(s.public_base_url), params | {"DialCallStatus": "no-answer"})
        counts["ring_group_next_phone"].append(counter.total)
    return counts


def _voicemail_steps(client: Any, counter: common.RequestCounter) -> dict[str, list[int]]:
    """DynamoDB requests of the dial action that leads to voicemail: the greeting spoken from the business's
    name (its profile cached a minute per process) and a recorded greeting's <Play> (a presigned URL, made
    locally) cost no request more than the spoken line-name greeting did."""
    from dataclasses import replace

    from twilio.request_validator import RequestValidator

    from chalicelib import channels, numbers
    from chalicelib.core.settings import get_settings
    from chalicelib.store import lines

    s = get_settings()
    validator = RequestValidator(s.twilio_auth_token)
    counts: dict[str, list[int]] = {"voicemail_spoken_greeting": [], "voicemail_recorded_greeting": []}
    for n, (step, greeting) in enumerate((("voicemail_spoken_greeting", None), ("voicemail_recorded_greeting", "wav"))):
        ch = channels.create({"name": "Shop", "forward_to": "+12025550144", "flow": {"when_unanswered": "voicemail"}})
        if greeting:
            stored = lines.get_channel(ch["id"])
            lines.save_channel(replace(stored, flow={**(stored.flow or {}), "greeting": greeting}))
        number = numbers.provision({"channel_id": ch["id"]})["number"]
        expect = b"<Play>" if greeting else b"You've reached"
        for i in range(MENU_N):
            sid = f"CA{7 - n}{i:031d}"
            params = {"CallSid": sid, "From": "+14155550111", "To": number, "DialCallStatus": "no-answer"}
            for path, sent in (
                ("/twilio/voice", {**params, "CallStatus": "ringing"}),
                ("/twilio/dial-status?step=0", params),
            ):
                headers = {
                    "Content-Type": "application/x-www-form-urlencoded",
                    "X-Twilio-Signature": validator.compute_signature(s.public_base_url + path, sent),
                }
                counter.reset()  # only the dial action's requests are counted
                r = client.http.post(path, headers=headers, body=urlencode(sent))
                assert r.status_code == 200, r.body
            assert expect in r.body, r.body
            counts[step].append(counter.total)
    return counts


def table(r: dict[str, Any]) -> list[tuple[str, str, str]]:
    req = r["requests_per_voice_webhook"]
    ch, pool = req["channel"], req["pool"]
    ssm = r["ssm_requests_first_voice_webhooks"]
    menu = r.get("menu_requests_per_step") or {}
    rows = [
        (
            f"DynamoDB requests, menu call: {step.replace('_', ' ')} (median / max)",
            f"{c['median']:g} / {c['max']}",
            {
                "voice_webhook": "≤ channel call",
                "round_robin_voice_webhook": "≤ channel call + 1",
                "voicemail_recorded_greeting": "= spoken greeting",
            }.get(step, "≤ 1")
            if step not in ("ring_group_next_phone", "voicemail_spoken_greeting")
            else "—",
        )
        for step, c in menu.items()
    ]
    return [
        (
            f"SSM requests of a new container's first {ssm['voice_webhooks']} voice webhooks (token + caller key)",
            f"{ssm['requests']} ({', '.join(ssm['operations'])})",
            "1",
        ),
        *rows,
        ("DynamoDB requests per voice webhook, channel call (median / max)", f"{ch['median']:g} / {ch['max']}", "≤ 5"),
        ("DynamoDB requests per voice webhook, pool call (median / max)", f"{pool['median']:g} / {pool['max']}", "≤ 5"),
        ("Voice webhook ÷ bare TwiML render, channel call", f"{r['channel_call_to_bare_twiml_ratio']:g}x", "—"),
        ("Voice webhook ÷ bare TwiML render, pool call", f"{r['pool_call_to_bare_twiml_ratio']:g}x", "—"),
        (
            "Voice webhook with DynamoDB hanging ÷ normal channel call",
            f"{r['dynamodb_hanging_to_normal_channel_call_ratio']:g}x",
            "bounded by 2 x 0.8 s read timeout",
        ),
    ]

"""Voice webhook benchmark: DynamoDB requests and round trips per call, the handler's own CPU, a modelled p99.

Budget (issue 25): at most 2 DynamoDB requests for a channel call and 3 for a pool call (a
pool number's item carries its current lease's source, so a pool call is 2 as well: the batch,
then the write; the lease history is queried only for a call older than the number's lease), at the maximum over
``N`` calls of each type with replays included; a new container's first call to a number
reads the number's line after the batch (one request more, once per number). The handler's
own CPU per call, with every DynamoDB request answered at once by a stub, against the code
this work started from (``CPU_BASE``), interleaved: within +5 %. A warm p99 modelled from the
handler's CPU p99 and stated DynamoDB p99s (``P99_MS``) on the critical path: ≤ 100 ms.
Issue 24: the caller-hash key is read from SSM with the Twilio auth token in one request, so a
new container's voice webhooks make exactly one SSM request between them (counted here against
the embedded SSM). The time with DynamoDB hanging (a server that never answers) is in-process,
through Chalice's test client. The ratio to a bare TwiML render is gone: it measured moto
copying tables in transactions, not the webhook.
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
REPLAY_EVERY = 10  # every tenth call of each type replays one stored earlier
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
    from chalicelib import channels, numbers, pools, routing
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

    post = signed_voice_post()
    counts: dict[str, list[int]] = {"channel": [], "pool": []}
    rounds: dict[str, list[int]] = {"channel": [], "pool": []}
    cold: dict[str, int] = {}
    replays = 0
    times: dict[str, list[float]] = {"channel": [], "pool": [], "hanging": []}
    with _client() as client, common.counting() as counter:
        # The menu's steps first, while the tables are small: moto's transactions copy the tables they
        # touch, and on a loaded machine its answers after hundreds of calls can pass the 0.8 s timeout.
        menu_counts = _menu_steps(client, counter)
        menu_counts.update(_ring_group_steps(client, counter))
        menu_counts.update(_voicemail_steps(client, counter))
        routing.forget_known_lines()  # a new container: the first call to each number reads its line after it
        for kind, to in (("channel", channel_number), ("pool", pool_number)):
            counter.reset()
            post(client, 10**6 + len(cold), to)
            cold[kind] = counter.total
        for i in range(N):
            for kind, to in (("channel", channel_number), ("pool", pool_number)):
                sid = 2 * i + kind.startswith("p")
                if i % REPLAY_EVERY == REPLAY_EVERY - 1:  # a replay of a call stored earlier (refused, answered)
                    sid, replays = sid - 2 * (REPLAY_EVERY // 2), replays + 1
                counter.reset()
                times[kind].append(post(client, sid, to))
                counts[kind].append(counter.total)
                rounds[kind].append(counter.sequential())
        with dynamodb_failing("hang", read_timeout=get_settings().webhook_read_timeout):
            for i in range(HANG_N):
                times["hanging"].append(post(client, 10**7 + i, channel_number))

        ssm = _ssm_requests(client, post, channel_number)

    med = {k: statistics.median(v) for k, v in times.items()}
    cpu = _cpu_versus()
    return {
        "ssm_requests_first_voice_webhooks": ssm,
        "n": N,
        "replays_included": replays,
        "requests_per_voice_webhook": {
            kind: {"median": statistics.median(c), "max": max(c)} for kind, c in counts.items()
        },
        "sequential_round_trips": {kind: {"median": statistics.median(c), "max": max(c)} for kind, c in rounds.items()},
        "requests_first_call_to_a_number_in_a_new_container": cold,
        "median_seconds": {k: round(v, 6) for k, v in med.items()},
        "dynamodb_hanging_median_seconds": round(med["hanging"], 3),
        "budget_requests_max": {"channel": 2, "pool": 3},
        "handler_cpu": cpu,
        "modelled_warm_p99_ms": _p99_model(cpu["new"]),
        # A line with a menu: its voice webhook (the menu, no <Dial>) and the menu's answer (the option's <Dial>).
        "menu_requests_per_step": {
            step: {"median": statistics.median(c), "max": max(c)} for step, c in menu_counts.items()
        },
    }


# --- the handler's own CPU, DynamoDB stubbed, against the code this work started from --------------

CPU_BASE = "61f51ad"  # main before issue 25's voice path (the tree the figures are compared with)
CPU_N = 200  # calls per call type per side, interleaved old/new
CPU_WARM = 20
# DynamoDB p99 latencies the warm p99 is modelled with (in-region, warm TLS connection; stated, not
# measured here): a GetItem or a BatchGetItem of a few small items, a 2-item transaction.
P99_MS = {"read": 12.0, "transaction": 30.0}
P99_BUDGET_MS = 100.0

CPU_DRIVER = """
import json, os, sys, time
from bench import common

common.local_env("http://127.0.0.1:9", "cpu-")
from pynamodb.connection import base
from bench import voice
from chalicelib.store import models as m

NOW = int(time.time() * 1000)
CH, POOL = "+12025550001", "+12025550002"
items = {}

def put(model, item):
    data = item.serialize()
    names = [model._hash_keyname] + ([model._range_keyname] if model._range_keyname else [])
    key = tuple(sorted((k, json.dumps(data[k])) for k in names))
    items.setdefault(model.Meta.table_name, {})[key] = data

def key_of(table, key):
    return tuple(sorted((k, json.dumps(v)) for k, v in key.items()))

put(m.ChannelModel, m.ChannelModel("ch_1", name="Radio", forward_to="+12025550144", created_at=NOW, updated_at=NOW))
put(m.PoolModel, m.PoolModel("pool_1", site_key="sk_1", name="Site", original_number="+12025550123",
                             forward_to="+12025550144", created_at=NOW, updated_at=NOW))
put(m.NumberModel, m.NumberModel(CH, provider="local", provider_sid="PN1", kind="channel", channel_id="ch_1",
                                 created_at=NOW))
# The number item carries its lease's source where the tree keeps it there (issue 25's end; not the base).
carried = {"lease_source": {"utm_source": "google", "utm_medium": "cpc"}}
carried = carried if hasattr(m.NumberModel, "lease_source") else {}
put(m.NumberModel, m.NumberModel(POOL, provider="local", provider_sid="PN2", kind="pool", pool_id="pool_1",
                                 created_at=NOW, lease_session_id="s_" + "a" * 20, lease_started_at=NOW - 60000,
                                 lease_expires_at=NOW + 10**9, lease_ended_at=NOW + 10**9, **carried))
lease = m.LeaseModel(POOL, NOW - 60000, session_id="s_" + "a" * 20, pool_id="pool_1",
                     source={"utm_source": "google", "utm_medium": "cpc"})
lease_item = lease.serialize()

def fake(self, op, kw):
    if op == "GetItem":
        found = items.get(kw["TableName"], {}).get(key_of(kw["TableName"], kw["Key"]))
        return {"Item": found} if found else {}
    if op == "BatchGetItem":
        out = {}
        for table, req in kw["RequestItems"].items():
            got = [items.get(table, {}).get(key_of(table, k)) for k in req["Keys"]]
            out[table] = [g for g in got if g]
        return {"Responses": out, "UnprocessedKeys": {}}
    if op == "Query":
        return {"Items": [lease_item], "Count": 1, "ScannedCount": 1}
    return {}

base.Connection._make_api_call = fake
post = voice.signed_voice_post()
with voice._client() as client:
    sid = 0
    for line in sys.stdin:
        kind = line.strip()
        to = CH if kind == "channel" else POOL
        sid += 1
        t0 = time.process_time()
        post(client, sid, to)
        print(json.dumps((time.process_time() - t0) * 1000), flush=True)
"""


def _cpu_versus() -> dict[str, Any]:
    """The voice webhook's CPU per call (ms; process time, every thread of the process included)
    through Chalice's test client with every DynamoDB request answered at once by a
    stub, in this tree and in ``CPU_BASE``'s (a detached worktree, ``bench.versus``), one process
    each, calls interleaved old/new (the order flipping every call)."""
    import os
    import subprocess
    import sys

    from bench import versus

    driver = Path(tempfile.mkdtemp(prefix="bench-voice-cpu-")) / "driver.py"
    driver.write_text(CPU_DRIVER)
    procs: dict[str, Any] = {}
    for side, tree in (("old", versus._tree(CPU_BASE)), ("new", common.ROOT)):
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"PYTHONPATH": str(tree)}
        procs[side] = subprocess.Popen(
            [sys.executable, str(driver)], cwd=tree, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def one(side: str, kind: str) -> float:
        p = procs[side]
        p.stdin.write(kind + "\n")
        p.stdin.flush()
        while True:  # the app's metrics (EMF lines) share its stdout: the figure is the bare number
            line = p.stdout.readline()
            if not line:
                raise RuntimeError(f"the {side} side's driver stopped")
            got = json.loads(line) if line.strip()[:1] not in ("", "{", "[") else None
            if isinstance(got, int | float):
                return float(got)

    ms: dict[str, dict[str, list[float]]] = {s: {"channel": [], "pool": []} for s in procs}
    try:
        for i in range(CPU_WARM + CPU_N):
            for kind in ("channel", "pool"):
                for side in ("old", "new") if i % 2 == 0 else ("new", "old"):
                    got = one(side, kind)
                    if i >= CPU_WARM:
                        ms[side][kind].append(got)
    finally:
        for p in procs.values():
            p.stdin.close()
            p.wait(timeout=30)
    out: dict[str, Any] = {"base": CPU_BASE, "calls_per_side_and_kind": CPU_N}
    for side in procs:
        out[side] = {
            kind: {"median_ms": round(statistics.median(v), 3), "p99_ms": round(_p99(v), 3)}
            for kind, v in ms[side].items()
        }
    out["new_to_old_median"] = {
        kind: round(out["new"][kind]["median_ms"] / out["old"][kind]["median_ms"], 3) for kind in ("channel", "pool")
    }
    return out


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def _p99_model(cpu: dict[str, dict[str, float]]) -> dict[str, Any]:
    """Handler CPU p99 plus the stated per-operation p99s on each call type's critical path: a
    call's batch, then its write (either call type: a pool number's item carries its lease)."""
    channel = cpu["channel"]["p99_ms"] + P99_MS["read"] + P99_MS["transaction"]
    pool = cpu["pool"]["p99_ms"] + P99_MS["read"] + P99_MS["transaction"]
    return {
        "channel": round(channel, 1),
        "pool": round(pool, 1),
        "stated_dynamodb_p99_ms": P99_MS,
        "budget_ms": P99_BUDGET_MS,
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
                "voice_webhook": "≤ channel call + 1",
                "round_robin_voice_webhook": "≤ channel call + 1",
                "voicemail_recorded_greeting": "= spoken greeting",
            }.get(step, "≤ 1")
            if step not in ("ring_group_next_phone", "voicemail_spoken_greeting")
            else "—",
        )
        for step, c in menu.items()
    ]
    out = [
        (
            f"SSM requests of a new container's first {ssm['voice_webhooks']} voice webhooks (token + caller key)",
            f"{ssm['requests']} ({', '.join(ssm['operations'])})",
            "1",
        ),
        *rows,
    ]
    if "sequential_round_trips" not in r:  # a result from before issue 25
        return out
    rt = r["sequential_round_trips"]
    cold = r["requests_first_call_to_a_number_in_a_new_container"]
    cpu = r["handler_cpu"]
    model = r["modelled_warm_p99_ms"]
    n = f"{r['n']} calls each, {r['replays_included']} replays included"
    return [
        *out,
        (
            f"DynamoDB requests per voice webhook, channel call (median / max; {n})",
            f"{ch['median']:g} / {ch['max']}",
            "≤ 2",
        ),
        (
            f"DynamoDB requests per voice webhook, pool call (median / max; {n})",
            f"{pool['median']:g} / {pool['max']}",
            "≤ 3",
        ),
        (
            "Sequential DynamoDB round trips per voice webhook, channel / pool call (max)",
            f"{rt['channel']['max']} / {rt['pool']['max']}",
            "2 / 2",
        ),
        (
            "DynamoDB requests, a new container's first call to a number (channel / pool: its line is read after it)",
            f"{cold['channel']} / {cold['pool']}",
            "+1 once per number",
        ),
        (
            "Handler CPU per voice call, DynamoDB stubbed, channel / pool (median ms, "
            f"{cpu['calls_per_side_and_kind']} interleaved calls per side), new ÷ {cpu['base']}",
            f"{cpu['new']['channel']['median_ms']:g} / {cpu['new']['pool']['median_ms']:g}; "
            f"{cpu['new_to_old_median']['channel']:g}x / {cpu['new_to_old_median']['pool']:g}x",
            "≤ 1.05x",
        ),
        (
            "Modelled warm p99, channel / pool call (handler CPU p99 + DynamoDB p99s on the critical path: "
            f"read {model['stated_dynamodb_p99_ms']['read']:g}, "
            f"transaction {model['stated_dynamodb_p99_ms']['transaction']:g} ms)",
            f"{model['channel']:g} / {model['pool']:g} ms",
            f"≤ {model['budget_ms']:g} ms",
        ),
        (
            "Voice webhook with DynamoDB hanging (median, in-process)",
            f"{r['dynamodb_hanging_median_seconds']:g} s",
            "bounded by 2 x 0.8 s read timeout, < 15 s",
        ),
    ]

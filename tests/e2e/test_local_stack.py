"""`make run`'s script end to end: embedded DynamoDB, tables, demo data, the server, and a simulated call."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from calltracking_local import audio
from calltracking_local.telephony import LocalTelephony
from scripts.local import simulate_call
from tests.support import servers

KEY = "local-dev-key"


@pytest.fixture(scope="module")
def running():
    ddb_port, api_port = servers.free_port(), servers.free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DYNAMODB_ENDPOINT", "PUBLIC_BASE_URL", "TABLE_PREFIX")}
    for key in ("STAGE", "API_KEY", "TWILIO_AUTH_TOKEN", "DEFAULT_FORWARD_TO", "TELEPHONY"):
        env.pop(key, None)  # the local stage's own values, as on a developer's machine
    for key in ("SSM_ENDPOINT", "SES_ENDPOINT", "ALERTS_FROM_EMAIL", "TELEGRAM_API_BASE_URL"):
        env.pop(key, None)
    slack_log = Path(tempfile.mkdtemp(prefix="slack-stub-")) / "slack.log"
    env |= {"DDB_PORT": str(ddb_port), "API_PORT": str(api_port)}
    env |= {"SLACK_PORT": str(servers.free_port()), "SLACK_LOG": str(slack_log)}
    printed = slack_log.parent / "make-run.out"  # what make run prints, read by the tests below
    env["MAKE_RUN_OUT"] = str(printed)
    with printed.open("wb") as out:
        proc = subprocess.Popen(
            [str(servers.ROOT / "scripts" / "run-local.sh")],
            env=env,
            cwd=servers.ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        # seeding a month of calls takes ~30 s alone, minutes on a machine shared by parallel test runs
        servers.wait_for_port(api_port, proc, timeout=300)
        yield f"http://127.0.0.1:{api_port}", env
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


def get(base: str, path: str):
    req = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {KEY}"})
    with urllib.request.urlopen(req, timeout=20) as resp:
        return json.loads(resp.read())


def test_demo_data_and_a_simulated_recorded_call(running, monkeypatch):
    base, env = running
    numbers = get(base, "/v1/numbers?status=active")["numbers"]
    channels = {c["id"]: c["name"] for c in get(base, "/v1/channels")["channels"]}
    assert set(channels.values()) >= {"Google Ads", "Radio FM 101", "Billboard A4"}
    google = next(n["number"] for n in numbers if channels.get(n["channel_id"]) == "Google Ads")
    assert sum(1 for n in numbers if n["kind"] == "pool") >= 1
    # The simulator signs with the local stage's token and reads with its key, as on a laptop.
    monkeypatch.delenv("API_KEY")
    monkeypatch.delenv("TWILIO_AUTH_TOKEN")
    _caught_up(base)  # the seeded month has reached the reports
    before = _google_calls_today(base)
    result = simulate_call(base, google, "+14155550111", answer="yes", talk_seconds=42)
    assert "<Dial" in result["steps"][0]["twiml"] and "record-from-answer-dual" in result["steps"][0]["twiml"]
    listed = get(base, "/v1/calls?limit=10")["calls"]
    call = next(c for c in listed if c["sid"] == result["call_sid"])
    assert call["channel_name"] == "Google Ads" and call["answered"] is True and call["talk_time"] == 42
    assert call["status"] == "completed" and call["recording"]["duration"] == 42
    # and the event pump beside the server brings it into the channel report (a couple of seconds on an idle
    # machine; the wait is a liveness bound, not a timing check: speed is measured in bench/)
    deadline = time.monotonic() + 30
    while _google_calls_today(base) != before + 1:
        assert time.monotonic() < deadline, "the call did not reach the channel report within 30 s"
        time.sleep(0.2)
    # and copies the recording into the embedded S3, verified, and deletes it at the (local) provider
    deadline = time.monotonic() + 30
    while not (call := get(base, f"/v1/calls/{result['call_sid']}"))["recording"]["archived"]:
        assert time.monotonic() < deadline, "the recording was not archived within 30 s"
        time.sleep(0.2)
    wav = audio.wav_bytes()
    assert call["recording"]["size"] == len(wav)
    assert call["recording"]["url"] == f"{base}/v1/calls/{result['call_sid']}/recording"
    s3 = boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url=f"http://127.0.0.1:{env['DDB_PORT']}",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(s3={"addressing_style": "path"}),
    )
    rec_sid = call["recording"]["sid"]
    obj = s3.get_object(Bucket="calltracking-local-recordings", Key=f"recordings/{result['call_sid']}/{rec_sid}.wav")
    data = obj["Body"].read()
    assert data == wav and obj["Metadata"]["sha256"] == hashlib.sha256(wav).hexdigest()
    # Twilio's copy (the local provider's) is gone, as that stack remembers it
    from calltracking_cli.project import Project, local_ports
    from calltracking_local import telephony as local_provider
    from chalicelib.core import settings as settings_module

    stack = settings_module.load({**Project(servers.ROOT).stage_env("local"), **local_ports(env)})
    monkeypatch.setattr(local_provider, "get_settings", lambda: stack)
    assert LocalTelephony(area_codes=("201",)).recording_deleted(rec_sid)
    link = get(base, f"/v1/calls/{result['call_sid']}/recording")
    with urllib.request.urlopen(urllib.request.Request(link["url"], headers={"Range": "bytes=0-99"})) as resp:
        assert resp.status == 206 and resp.read() == wav[:100]


def _google_calls_today(base: str) -> int:
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    rows = get(base, f"/v1/reports/channels?from={today}&to={today}")["rows"]
    return sum(r["calls"] for r in rows if r["label"] == "Google Ads")


def test_a_missed_call(running, monkeypatch):
    base, env = running
    monkeypatch.delenv("API_KEY", raising=False)
    monkeypatch.delenv("TWILIO_AUTH_TOKEN", raising=False)
    radio = next(n["number"] for n in get(base, "/v1/numbers?status=active")["numbers"] if n["kind"] == "channel")
    result = simulate_call(base, radio, "+14155550112", answer="no")
    assert result["call"]["answered"] is False and result["call"]["dial_status"] == "no-answer"
    # The demo owner hears about it: an email in the embedded SES and a message to the local Slack
    # stub, each with the caller, the source and the call's page in the dashboard
    sid, source = result["call_sid"], result["call"]["channel_name"]
    link = f"{base}/dashboard/calls/{sid}"
    ddb = f"http://127.0.0.1:{env['DDB_PORT']}"
    # The Slack stub's log is cheap to read; moto's data.json dumps every model it tracks (the demo
    # month's items included), so it is read only once the alert has gone out, and rarely.
    deadline = time.monotonic() + 120
    slack = ""
    while time.monotonic() < deadline and link not in slack:
        time.sleep(1)
        slack = Path(env["SLACK_LOG"]).read_text()
    emails: list = []
    for _ in range(5):
        with urllib.request.urlopen(f"{ddb}/moto-api/data.json", timeout=120) as answer:
            emails = [
                m
                for m in json.loads(answer.read()).get("ses", {}).get("Message", [])
                if m["subject"].startswith("Missed call") and link in m["body"]
            ]
        if emails:
            break
        time.sleep(3)
    [email] = emails
    assert email["destinations"]["ToAddresses"] == ["owner@calltracking.local"]
    # (the caller as the business writes numbers of its own country: national format)
    assert "(415) 555-0112" in email["subject"] and source in email["body"] and f'href="{link}"' in email["body"]
    assert "(415) 555-0112" in slack and f"Source: {source}" in slack and f"<{link}|Open the call>" in slack


def _finished_calls(base: str, rep: dict) -> list[dict]:
    listed, cursor = [], None
    while True:
        page = get(
            base,
            f"/v1/calls?from={rep['from']}&to={rep['to']}T23:59:59.999Z&limit=200"
            + (f"&cursor={cursor}" if cursor else ""),
        )
        listed += page["calls"]
        cursor = page["next_cursor"]
        if not cursor:
            return [c for c in listed if c["result"] in ("answered", "missed", "voicemail")]


def _caught_up(base: str) -> tuple[dict, list[dict]]:
    """The channel report and the finished calls it should count, once the event pump has caught
    up (the reports follow the calls through it: up to a minute on a busy machine)."""
    deadline = time.monotonic() + 60
    while True:
        rep = get(base, "/v1/reports/channels")  # the last 30 days
        finished = _finished_calls(base, rep)
        if rep["total"]["calls"] == len(finished) or time.monotonic() > deadline:
            return rep, finished
        time.sleep(0.5)


def test_the_seeded_month_reports_what_the_calls_list_says(running):
    base, _ = running
    rep, finished = _caught_up(base)
    assert rep["total"]["calls"] == len(finished) > 20
    assert rep["total"]["answered"] == sum(1 for c in finished if c["result"] == "answered")
    assert rep["total"]["unique_callers"] == len({c["caller"] for c in finished})


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI as the Makefile runs it: `make call`/`make apikey` pass make run's DDB_PORT and API_PORT."""
    return subprocess.run(
        [str(servers.ROOT / ".venv" / "bin" / "python"), "-m", "calltracking_cli", *args],
        env=env,
        cwd=servers.ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_make_call_and_the_key_commands_follow_make_runs_ports(running):
    # Given: `make run` on ports other than 8000/8001 (the issue: `make call` and the key script ignored them)
    base, env = running
    numbers = get(base, "/v1/numbers?status=active")["numbers"]
    channel_number = next(n["number"] for n in numbers if n["kind"] == "channel")

    # When: `make call TO=... API_PORT=... DDB_PORT=...` (no base URL given)
    done = _cli(env, "call", "--to", channel_number, "--answer", "no")
    # Then: it reached this server and stored the call
    assert done.returncode == 0, done.stdout + done.stderr
    assert "--> /twilio/voice" in done.stdout and '"answered": false' in done.stdout

    # When: `make apikey NAME=...`: the key lands in this stack's DynamoDB and works on this server
    done = _cli(env, "keys", "create", "--name", "ports")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"127.0.0.1:{env['DDB_PORT']}" in done.stderr
    key = done.stdout.strip()
    req = urllib.request.Request(base + "/v1/channels", headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(req, timeout=20) as resp:
        assert resp.status == 200

    # and `calltracking numbers list` sees the same inventory
    done = _cli(env, "numbers", "list")
    assert done.returncode == 0 and channel_number in done.stdout


def test_a_stack_on_other_ports_prints_and_writes_only_what_follows_its_ports(running):
    # Given: make run on ports other than 8000/8001 (a second stack beside the default one)
    base, env = running
    api_port, ddb_port = env["API_PORT"], env["DDB_PORT"]
    printed = Path(env["MAKE_RUN_OUT"]).read_text()
    # Then its logs live in a folder named by its API port, and nothing is written to a shared path
    run_dir = servers.ROOT / ".local" / f"run-{api_port}"
    assert (run_dir / "dynamodb.log").exists() and (run_dir / "events.log").exists()
    assert f".local/run-{api_port}/events.log" in printed
    assert "/tmp/calltracking" not in printed  # (the test itself put the Slack log in a temporary folder)
    # and every command it suggests reaches this stack, not the default one
    ports = f"DDB_PORT={ddb_port} API_PORT={api_port}"
    assert f"make {ports} call TO=" in printed and f"{ports} .venv/bin/python scripts/local.py emails" in printed
    assert base in printed


def test_the_local_providers_deleted_recordings_are_per_stack(monkeypatch):
    from calltracking_local import telephony as local
    from chalicelib.core.settings import get_settings

    # Given two stacks: the same table prefix on two embedded DynamoDBs
    first = local.deleted_dir()
    monkeypatch.setattr(local, "get_settings", lambda: get_settings()._replace(dynamodb_endpoint="http://127.0.0.1:1"))
    # Then each remembers its deleted recordings in a folder of its own
    assert local.deleted_dir() != first

"""The local stack's helpers: create tables, seed demo data, and play Twilio's side of a call.

    python scripts/local.py create-tables        (the tables, and the event queues)
    python scripts/local.py pump                 (the event pump: stream, queue, sweep)
    python scripts/local.py seed
    python scripts/local.py seed-admin           (the dashboard's demo admin: prints email and password)
    python scripts/local.py seed-alerts --slack-url http://127.0.0.1:8025/services/LOCAL/DEMO/webhook
    python scripts/local.py emails               (what the embedded SES has sent)

(Playing a call is ``calltracking call`` / ``make call``: calltracking_cli/call.py; ``simulate_call``
is imported here for the tests that used it from this module.)

Settings come from the ``local`` stage in ``.chalice/config.json``; variables already in
the environment win, so tests can point these at their own DynamoDB and server.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from calltracking_cli.call import simulate_call, simulate_call_back  # noqa: F401  (re-exported for the tests)
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
    from calltracking_local.pump import create_queues
    from chalicelib.recordings.storage import create_bucket
    from chalicelib.store.models import create_tables as create

    create()
    create_queues()
    create_bucket()
    _ses_identity()
    print("tables, event queues, the recordings bucket and the alerts' sender ready")


def _ses_identity() -> None:
    """The alerts' sender domain, verified in the embedded SES (moto marks new identities verified)."""
    import boto3

    sender = os.environ.get("ALERTS_FROM_EMAIL", "")
    endpoint = os.environ.get("SES_ENDPOINT")
    if not sender or not endpoint:
        return
    ses = boto3.client("sesv2", region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"), endpoint_url=endpoint)
    domain = sender.rsplit("@", 1)[-1]
    if domain not in {i["IdentityName"] for i in ses.list_email_identities().get("EmailIdentities", [])}:
        ses.create_email_identity(EmailIdentity=domain)


DEMO_EMAIL = "owner@calltracking.local"


def seed_alerts(slack_url: str | None) -> None:
    """A demo owner who hears about missed calls by email (and gets the daily summary), and a
    Slack channel (the local stub) that hears about them too (idempotent by name)."""
    _env()
    from chalicelib.integrations.alerts import recipients

    have = {r["name"] for r in recipients.list_all()}
    events = ["missed_call", "voicemail", "first_time_caller", "sale"]
    if "Demo owner (email)" not in have:
        recipients.create(
            {
                "name": "Demo owner (email)",
                "channel": "email",
                "email": DEMO_EMAIL,
                "events": [*events, "pool_exhausted", "webhook_disabled", "events_stuck"],
                "summaries": ["daily", "weekly"],
            }
        )
    if slack_url and "Demo Slack channel" not in have:
        recipients.create(
            {"name": "Demo Slack channel", "channel": "slack", "slack_webhook_url": slack_url, "events": events}
        )
    print(f"  alerts: email to {DEMO_EMAIL}" + (f", Slack to {slack_url}" if slack_url else ""))


def sent_emails() -> list[dict[str, Any]]:
    """What the embedded SES has sent (moto's server keeps every message)."""
    endpoint = _setting("SES_ENDPOINT")
    with urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=120) as answer:  # it dumps every model
        data = json.loads(answer.read())
    return list(data.get("ses", {}).get("Message", []))


def pump() -> None:
    _env()
    from calltracking_local import pump

    pump.main()


def seed() -> None:
    """Demo channels with one tracking number each, and a demo pool (idempotent by name)."""
    _env()
    from chalicelib import channels, numbers, pools
    from chalicelib.store import lines

    forward_to = os.environ.get("DEFAULT_FORWARD_TO") or "+12025550100"
    have = {c.name: c for c in lines.list_channels()}
    active = lines.active_numbers()
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
    pool = next((p for p in lines.list_pools() if p.name == DEMO_POOL["name"]), None)
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


DEMO_ADMIN = "admin@example.com"


def seed_admin() -> None:
    """The demo admin for the dashboard, with a new random password each time (printed: email, password)."""
    _env()
    from chalicelib.core.errors import Conflict
    from chalicelib.dashboard import users

    password = users.generate_password()
    try:
        users.create_user(DEMO_ADMIN, "admin", password)
    except Conflict:
        print(f"{DEMO_ADMIN} (exists: password unchanged; make user EMAIL=... ROLE=admin adds another)")
        return
    print(f"{DEMO_ADMIN} {password}")


def seed_calls(days: int = 30, per_day: int = 3, seed: int = 1) -> int:
    """A past month of calls on the demo channels, through the real call code (in process, with a
    moved clock), so calls, first/repeat callers and report aggregates are what live calls make.
    Idempotent: the call sids are derived from the day and the position."""
    os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"  # a month of "call answered" lines helps nobody
    _env()
    import random

    from chalicelib.core import clock
    from chalicelib.store import lines as line_store
    from chalicelib.voice import inbound

    rnd = random.Random(seed)
    lines = sorted(n.number for n in line_store.active_numbers() if n.kind == "channel")
    if not lines:
        raise SystemExit("no channel numbers: run `python scripts/local.py seed` first")
    pool = next((p for p in line_store.list_pools() if p.name == DEMO_POOL["name"]), None)
    start = time.time() - days * 86_400
    made = 0
    try:
        for day in range(days):
            for i in range(rnd.randint(0, per_day * 2)):
                t = start + day * 86_400 + rnd.randint(8 * 3600, 18 * 3600)
                clock.set_source(lambda t=t: t)
                sid = f"CA{day:04d}{i:04d}" + "0" * 24
                to = rnd.choice(lines)
                if pool is not None and rnd.random() < 0.25:  # a visitor from a paid search ad calls the site's number
                    to = _demo_visit(pool, rnd, f"{day:04d}{i:04d}") or to
                base = {"CallSid": sid, "From": f"+1415555{rnd.randint(100, 160):04d}", "To": to}
                inbound.answer_voice({**base, "CallStatus": "ringing"})
                talk = rnd.randint(20, 400)
                answered = rnd.random() < 0.75
                status = "completed" if answered else "no-answer"
                inbound.dial_finished(
                    {**base, "DialCallStatus": status, "DialCallDuration": str(talk if answered else 0)}
                )
                clock.set_source(lambda t=t, talk=talk: t + talk + 10)
                inbound.call_finished(
                    {**base, "CallStatus": "completed", "CallDuration": str(talk + 10 if answered else 25)}
                )
                made += 1
    finally:
        clock.set_source(None)
    return made


DEMO_CAMPAIGNS = (
    ("boiler-repair", "boiler repair near me", "ad-a", "/boilers"),
    ("boiler-repair", "emergency boiler repair", "ad-b", "/boilers"),
    ("winter-service", "heating service", "ad-a", "/service"),
    ("brand", "acme heating", "ad-c", "/"),
)


def _demo_visit(pool: Any, rnd: Any, visitor: str) -> str | None:
    """A website visit from a Google Ads click, through the real lease endpoint (in process): the
    number it was shown, which the visitor then calls (the campaign, keyword and ad are its utm tags)."""

    from chalicelib.leasing import endpoint

    campaign, term, content, path = DEMO_CAMPAIGNS[rnd.randrange(len(DEMO_CAMPAIGNS))]
    origin = pool.allowed_origins[0]
    utm = {"utm_source": "google", "utm_medium": "cpc", "utm_campaign": campaign, "utm_term": term}
    utm["utm_content"] = content
    query = "&".join(f"{k}={v.replace(' ', '+')}" for k, v in utm.items())
    body = {
        "site_key": pool.site_key,
        "visitor_id": f"demo-visitor-{visitor}",
        "page_url": f"{origin}{path}?{query}",
        "referrer": "https://www.google.com/",
        "utm": {k.removeprefix("utm_"): v for k, v in utm.items()},
        "click_ids": {"gclid": f"demo{visitor}"},
        "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 Safari/604.1",
    }
    try:
        answer, _ = endpoint.lease(json.dumps(body), origin, body["user_agent"])
    except Exception:  # a demo without its pool's numbers: the call goes to a channel instead
        return None
    number = answer.get("number")
    return str(number) if number and answer.get("tracked", True) else None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("create-tables")
    sub.add_parser("pump", help="run the event pump (make run starts it)")
    sub.add_parser("seed")
    sub.add_parser("seed-admin", help="the dashboard's demo admin; prints its email and password")
    history = sub.add_parser("seed-calls", help="a past month of calls on the demo channels")
    history.add_argument("--days", type=int, default=30)
    alerts = sub.add_parser("seed-alerts", help="demo alert recipients: an email owner and a Slack channel")
    alerts.add_argument("--slack-url", default=None, help="a Slack incoming webhook URL (make run's local stub)")
    sub.add_parser("emails", help="the emails the embedded SES has sent (alerts and summaries)")
    args = parser.parse_args(argv)
    if args.cmd == "create-tables":
        create_tables()
    elif args.cmd == "pump":
        pump()
    elif args.cmd == "seed":
        seed()
    elif args.cmd == "seed-admin":
        seed_admin()
    elif args.cmd == "seed-alerts":
        seed_alerts(args.slack_url)
    elif args.cmd == "emails":
        for email in sent_emails():
            print(f"To: {', '.join(email['destinations'].get('ToAddresses', []))}\nSubject: {email['subject']}\n")
    else:
        print(f"  {seed_calls(args.days)} calls over the last {args.days} days")


if __name__ == "__main__":
    main()

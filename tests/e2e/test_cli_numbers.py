"""``calltracking numbers buy|list|release`` run as a separate process against this test's DynamoDB
(the local stage: variables already in the environment win, as for `make run`'s ports), with the
local telephony provider; the numbers it buys are the API's, and it hooks them at PUBLIC_BASE_URL."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.support import servers
from tests.support.env import BASE_URL, body


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "calltracking_cli", "numbers", *args],
        capture_output=True,
        text=True,
        cwd=servers.ROOT,
        env=dict(os.environ),
        timeout=120,
    )


def test_buy_list_and_release_through_the_command(api):
    channel = body(api.call("POST", "/v1/channels", {"name": "Print", "forward_to": "+12025550144"}))

    done = cli("buy", "--channel", channel["id"])
    assert done.returncode == 0, done.stdout + done.stderr
    bought = json.loads(done.stdout)
    assert bought["channel_id"] == channel["id"] and bought["status"] == "active"
    listed = body(api.call("GET", "/v1/numbers"))["numbers"]
    assert [n["number"] for n in listed] == [bought["number"]]  # the API sees what the command bought

    done = cli("list")
    assert done.returncode == 0 and f"{bought['number']}  active" in done.stdout

    done = cli("release", bought["number"])
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["status"] == "released"
    assert cli("list").stdout.strip() == ""
    assert bought["number"] in cli("list", "--all").stdout


def test_mistakes_are_clear_messages_not_tracebacks(api):
    done = cli("buy")
    assert done.returncode == 1 and "channel_id" in done.stderr and "Traceback" not in done.stderr
    done = cli("release", "+12025550999")
    assert done.returncode == 1 and "Traceback" not in done.stderr


def test_bought_numbers_remember_the_url_they_point_at(api):
    """What makes `calltracking deploy`'s re-pointing send nothing when the URL did not change."""
    from chalicelib.store.models import NumberModel

    channel = body(api.call("POST", "/v1/channels", {"name": "TV", "forward_to": "+12025550144"}))
    number = body(api.call("POST", "/v1/numbers", {"channel_id": channel["id"]}))["number"]
    assert NumberModel.get(number).hooks_base == BASE_URL

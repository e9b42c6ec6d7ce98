"""The CLI's pure parts: what setup and deploy refuse, make run's ports, and status's check of the
numbers' URLs at Twilio (through the real SDK, against a local server answering Twilio's list)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from calltracking_cli import twilio_api
from calltracking_cli.status import misdirected_numbers
from tests.support.env import BASE_URL
from tests.unit.test_cli_units import GOOD_SID


class _Twilio(BaseHTTPRequestHandler):
    """Twilio's IncomingPhoneNumbers list: one number pointing here, one pointing elsewhere."""

    numbers: list[dict[str, Any]] = []

    def do_GET(self) -> None:
        body = json.dumps(
            {"incoming_phone_numbers": self.numbers, "next_page_uri": None, "page": 0, "page_size": 1000}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_status_lists_the_numbers_whose_twilio_urls_do_not_point_here(tables):
    from chalicelib.store.models import NumberModel

    for number in ("+12025550181", "+12025550182", "+12025550183"):
        NumberModel(
            number,
            provider="twilio",
            provider_sid="PN" + "1" * 32,
            status="active",
            kind="channel",
            channel_id="c",
            hooks_to="+12025550100",
            created_at=1,
        ).save()
    here = f"{BASE_URL}/twilio/voice?to=%2B12025550100"
    _Twilio.numbers = [
        {
            "phone_number": "+12025550181",
            "voice_url": here,
            "voice_fallback_url": f"{BASE_URL}/twilio/fallback?to=%2B12025550100",
            "status_callback": f"{BASE_URL}/twilio/call-status",
        },
        {
            "phone_number": "+12025550182",
            "voice_url": "https://old.example.com/api/twilio/voice",
            "voice_fallback_url": "",
            "status_callback": "",
        },
        {"phone_number": "+19995550100", "voice_url": "https://elsewhere.example.com"},  # not this stage's
    ]
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Twilio)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = twilio_api.client(GOOD_SID, "0" * 32, base_url=f"http://127.0.0.1:{server.server_address[1]}")
        found = misdirected_numbers(client)
    finally:
        server.shutdown()
    # +12025550183 is not at Twilio at all: not this check's business (numbers list shows it)
    assert found == ["+12025550182: voice https://old.example.com/api/twilio/voice"]

"""The voicemail greeting: spoken from the business's name, or an uploaded recording kept in the stage's
bucket and played by a presigned URL; uploaded through the API (base64) and the call-flow form."""

from __future__ import annotations

import base64
import urllib.request
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree

import pytest

from calltracking_local import audio
from chalicelib import business
from chalicelib.recordings import greetings, storage
from tests.integration.test_dashboard_pages import Browser, html
from tests.integration.test_dashboard_setup import _field_message
from tests.support.env import BASE_URL, body
from tests.support.twiml_rules import problems

CALLER = "+14155550111"
WAV = audio.wav_bytes()


def _line(api: Any, **flow: Any) -> tuple[str, str]:
    ch = body(api.call("POST", "/v1/channels", {"name": "Radio ad", "forward_to": "+12025550144", "flow": flow}))
    return ch["id"], body(api.call("POST", "/v1/numbers", {"channel_id": ch["id"]}))["number"]


def _unanswered(api: Any, number: str) -> ElementTree.Element:
    api.twilio("/twilio/voice", {"CallSid": "CA1", "From": CALLER, "To": number})
    r = api.twilio(
        "/twilio/dial-status?step=0", {"CallSid": "CA1", "From": CALLER, "To": number, "DialCallStatus": "no-answer"}
    )
    assert r.status_code == 200 and problems(r.body, BASE_URL) == [], r.body
    return ElementTree.fromstring(r.body)


def test_the_spoken_greeting_names_the_business_else_the_line(api: Any) -> None:
    _, number = _line(api)
    business.clear_cache()
    assert _unanswered(api, number).findtext("Say", "").startswith("You've reached Radio ad.")
    business.save({"name": "Acme Plumbing", "currency": "USD", "country": "US"})  # as the Settings page saves it
    business.clear_cache()
    try:
        assert _unanswered(api, number).findtext("Say", "").startswith("You've reached Acme Plumbing. Sorry")
    finally:
        business.clear_cache()


def test_an_uploaded_wav_is_kept_in_the_bucket_played_replaced_and_deleted_with_the_line(api: Any) -> None:
    channel_id, number = _line(api)
    # When a WAV is uploaded through the API
    r = api.call("PUT", f"/v1/channels/{channel_id}/greeting", {"audio": base64.b64encode(WAV).decode()})
    assert r.status_code == 200 and body(r)["flow"]["greeting"] == "wav", r.body
    key = f"greetings/channel/{channel_id}.wav"
    stored = storage.s3().get_object(Bucket=storage.bucket(), Key=key)
    assert stored["Body"].read() == WAV and stored["ContentType"] == "audio/wav"
    # Then the voicemail <Play>s a short-lived presigned URL to it, which serves the recording
    root = _unanswered(api, number)
    assert [e.tag for e in root] == ["Play", "Record", "Hangup"]
    url = root.findtext("Play", "")
    assert urlsplit(url).path.endswith(key) and parse_qs(urlsplit(url).query)["X-Amz-Expires"] == ["300"]
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.read() == WAV and resp.headers["Content-Type"] == "audio/wav"
    # ... and saving the flow again (as read, or without it) keeps it
    flow = body(api.call("GET", f"/v1/channels/{channel_id}"))["flow"]
    assert (
        body(api.call("PATCH", f"/v1/channels/{channel_id}", {"flow": {**flow, "ring_seconds": 25}}))["flow"][
            "greeting"
        ]
        == "wav"
    )
    # Something that is not audio is refused, and nothing changes
    refused = api.call(
        "PUT", f"/v1/channels/{channel_id}/greeting", {"audio": base64.b64encode(b"<html>hi</html>").decode()}
    )
    assert refused.status_code == 400 and "'greeting' is not an MP3 or WAV" in body(refused)["error"]["message"]
    big = api.call(
        "PUT",
        f"/v1/channels/{channel_id}/greeting",
        {"audio": base64.b64encode(WAV[:44] + bytes(greetings.MAX_BYTES)).decode()},
    )
    assert big.status_code == 400 and "larger than 2 MB" in body(big)["error"]["message"]
    # Replaced by an MP3, the WAV is gone
    mp3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(200)
    assert (
        body(api.call("PUT", f"/v1/channels/{channel_id}/greeting", {"audio": base64.b64encode(mp3).decode()}))["flow"][
            "greeting"
        ]
        == "mp3"
    )
    assert _keys(channel_id) == [f"greetings/channel/{channel_id}.mp3"]
    # Deleted with the line
    api.call("DELETE", f"/v1/numbers/{number}")
    assert api.call("DELETE", f"/v1/channels/{channel_id}").status_code == 204, "the number was not released"
    assert _keys(channel_id) == []


def _keys(channel_id: str) -> list[str]:
    listed = storage.s3().list_objects_v2(Bucket=storage.bucket(), Prefix=f"greetings/channel/{channel_id}")
    return [o["Key"] for o in listed.get("Contents", [])]


@pytest.mark.parametrize("role", ["admin", "viewer"])
def test_the_form_uploads_a_recording_or_refuses_one_beside_its_field(api: Any, role: str) -> None:
    channel_id, _ = _line(api)
    browser = Browser(api, role)
    form = {"csrf": browser.csrf, "voicemail_prompt": "Typed and kept", "when_unanswered": "voicemail"}
    path = f"/dashboard/channels/{channel_id}/handling"
    if role == "viewer":
        assert browser.post(path, {**form, "greeting_audio": base64.b64encode(WAV).decode()}).status_code == 403
        assert "greeting" not in body(api.call("GET", f"/v1/channels/{channel_id}"))["flow"]
        return
    r = browser.post(path, {**form, "greeting_audio": base64.b64encode(b"%PDF-1.4 not audio").decode()})
    assert r.status_code == 400
    page = html(r)
    assert "is not an MP3 or WAV recording" in _field_message(page, "h-greeting_file")
    assert "Typed and kept" in page and "not audio" not in page
    assert "greeting" not in body(api.call("GET", f"/v1/channels/{channel_id}"))["flow"]
    assert browser.post(path, {**form, "greeting_audio": base64.b64encode(WAV).decode()}).status_code == 303
    assert body(api.call("GET", f"/v1/channels/{channel_id}"))["flow"]["greeting"] == "wav"
    assert browser.post(path, {**form, "remove_greeting": "on"}).status_code == 303
    assert "greeting" not in body(api.call("GET", f"/v1/channels/{channel_id}"))["flow"]
    assert _keys(channel_id) == []

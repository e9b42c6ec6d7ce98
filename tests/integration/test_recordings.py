"""Recordings in the stage's own bucket: archived after the call by the ``recordings`` subscriber,
verified, deleted at the provider, played through presigned URLs, deleted with their call.

Against moto's server (DynamoDB, its stream, SQS and S3) through the local event pump, with
the local telephony provider serving its small real WAV as every call's recording.
"""

from __future__ import annotations

import hashlib
import json
import urllib.request
from collections import Counter
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from calltracking_local import audio
from calltracking_local.telephony import LocalTelephony
from chalicelib.core.telephony import get_provider
from chalicelib.events import bus, model
from chalicelib.recordings import archive, storage
from chalicelib.store.models import CallModel
from tests.support.database import pump
from tests.support.env import BASE_URL, body

CALLER, CALLED = "+14155550111", "+12015550100"
WAV = audio.wav_bytes()
SEEN: list[dict[str, Any]] = []  # what a webhook-like subscriber received


def seen(event: model.Event) -> None:
    SEEN.append(event.to_json())


@pytest.fixture
def watcher(tables: None) -> Any:
    SEEN.clear()
    bus.subscribe("test-webhooks", model.TYPES, "tests.integration.test_recordings:seen")
    yield SEEN
    bus.unsubscribe("test-webhooks")


_n = Counter[str]()


def recorded_call(api: Any, *, drain: bool = True) -> tuple[str, str]:
    """Twilio's side of a recorded call: the recording callback, then the final status."""
    _n["call"] += 1
    sid = "CA" + hashlib.sha256(f"{_n['call']}{id(api)}".encode()).hexdigest()[:32]
    rec_sid = "RE" + hashlib.sha256(sid.encode()).hexdigest()[:32]
    common = {"CallSid": sid, "From": CALLER, "To": CALLED, "AccountSid": "AC" + "0" * 32}
    rec = {
        **common,
        "RecordingSid": rec_sid,
        "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/{rec_sid}",
        "RecordingStatus": "completed",
        "RecordingDuration": str(audio.SECONDS),
    }
    assert api.twilio("/twilio/recording-status", rec).status_code == 200
    done = {**common, "CallStatus": "completed", "CallDuration": "20"}
    assert api.twilio("/twilio/call-status", done).status_code == 200
    if drain:
        pump().drain()
    return sid, rec_sid


def stored(call_sid: str, rec_sid: str) -> dict[str, Any] | None:
    client = storage.s3()
    try:
        head = client.head_object(Bucket=storage.bucket(), Key=storage.object_key(call_sid, rec_sid))
    except client.exceptions.ClientError:
        return None
    data = client.get_object(Bucket=storage.bucket(), Key=storage.object_key(call_sid, rec_sid))["Body"].read()
    return {"head": head, "data": data}


def local() -> LocalTelephony:
    provider = get_provider()
    assert isinstance(provider, LocalTelephony)
    return provider


def test_a_recorded_call_is_archived_verified_and_deleted_at_the_provider(api, watcher):
    sid, rec_sid = recorded_call(api)

    obj = stored(sid, rec_sid)
    assert obj is not None and obj["data"] == WAV
    assert obj["head"]["ServerSideEncryption"] == "AES256"
    assert obj["head"]["Metadata"]["sha256"] == hashlib.sha256(WAV).hexdigest()
    item = CallModel.get(sid)
    assert (item.recording_key, item.recording_size) == (storage.object_key(sid, rec_sid), len(WAV))
    assert item.recording_sha256 == hashlib.sha256(WAV).hexdigest() and item.recording_archived_at
    assert local().recording_deleted(rec_sid) and item.recording_url is None
    call = body(api.call("GET", f"/v1/calls/{sid}"))
    assert call["recording"] == {
        "sid": rec_sid,
        "url": f"{BASE_URL}/v1/calls/{sid}/recording",
        "duration": audio.SECONDS,
        "size": len(WAV),
        "archived": True,
    }


def test_no_twilio_media_url_in_the_api_the_csv_or_the_events(api, watcher, settings_env):
    settings_env(RECORDINGS_DELETE_AT_TWILIO="false")  # Twilio's URL stays on the item: it must still not leak
    sid, _ = recorded_call(api)
    assert CallModel.get(sid).recording_url.startswith("https://api.twilio.com/")

    answers = [
        api.call("GET", f"/v1/calls/{sid}").body,
        api.call("GET", "/v1/calls").body,
        api.call("GET", "/v1/calls?format=csv").body,
        json.dumps(watcher).encode(),
    ]
    assert {e["type"] for e in watcher} >= {"call.completed", "call.updated"}
    for answer in answers:
        text = answer.decode() if isinstance(answer, bytes) else answer
        assert "api.twilio.com" not in text and f"{BASE_URL}/v1/calls/{sid}/recording" in text


def test_deletion_at_the_provider_can_be_turned_off(api, settings_env):
    settings_env(RECORDINGS_DELETE_AT_TWILIO="false")
    sid, rec_sid = recorded_call(api)
    assert stored(sid, rec_sid) is not None
    assert not local().recording_deleted(rec_sid)


class Flaky:
    """Fails ``failures`` times, then does what the real one does."""

    def __init__(self, real: Any, failures: int) -> None:
        self.real, self.failures, self.calls = real, failures, 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError("down for this test")
        return self.real(*args, **kwargs)


class S3With:
    def __init__(self, client: Any, **overrides: Any) -> None:
        self._client, self._overrides = client, overrides

    def __getattr__(self, name: str) -> Any:
        return self._overrides.get(name) or getattr(self._client, name)


@pytest.mark.parametrize("down", ["s3", "twilio"])
def test_a_failing_s3_or_twilio_is_retried_through_the_queue_until_the_copy_completes(api, monkeypatch, down):
    client = storage.s3()
    if down == "s3":
        flaky = Flaky(client.put_object, failures=2)
        monkeypatch.setattr(storage, "s3", lambda: S3With(client, put_object=flaky))
    else:
        flaky = Flaky(local().fetch_recording, failures=2)
        monkeypatch.setattr(local(), "fetch_recording", flaky)

    sid, rec_sid = recorded_call(api)  # EVENT_RETRY_SECONDS is 0,0,0: the pump tries again at once

    assert flaky.calls == 3
    assert stored(sid, rec_sid)["data"] == WAV and CallModel.get(sid).recording_size == len(WAV)


def test_archiving_twice_stores_once_and_deletes_at_the_provider_once(api, monkeypatch):
    sid, _ = recorded_call(api, drain=False)
    client = storage.s3()
    puts = Flaky(client.put_object, failures=0)
    deletes = Flaky(local().delete_recording, failures=0)
    monkeypatch.setattr(storage, "s3", lambda: S3With(client, put_object=puts))
    monkeypatch.setattr(local(), "delete_recording", deletes)

    archive.archive(sid)
    archive.archive(sid)
    pump().drain()  # and the subscriber's own deliveries after it

    assert (puts.calls, deletes.calls) == (1, 1)


def test_a_copy_that_does_not_verify_keeps_the_provider_copy(api, monkeypatch):
    sid, rec_sid = recorded_call(api, drain=False)
    client = storage.s3()
    monkeypatch.setattr(storage, "s3", lambda: S3With(client, head_object=lambda **kw: {"ContentLength": 3}))

    with pytest.raises(archive.CopyMismatch):
        archive.archive(sid)

    assert not local().recording_deleted(rec_sid) and CallModel.get(sid).recording_key is None


def test_playback_is_a_presigned_url_that_answers_ranges(api):
    sid, _ = recorded_call(api)

    answer = api.call("GET", f"/v1/calls/{sid}/recording")

    assert answer.status_code == 200
    link = body(answer)
    assert (link["size"], link["duration"], link["content_type"]) == (len(WAV), audio.SECONDS, "audio/wav")
    query = parse_qs(urlsplit(link["url"]).query)
    assert query["X-Amz-Expires"] == ["300"] and query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    req = urllib.request.Request(link["url"], headers={"Range": "bytes=1000-1999"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 206 and resp.read() == WAV[1000:2000]
        assert resp.headers["Content-Type"] == "audio/wav"


def test_playback_needs_the_api_key_and_a_recording(api):
    sid, _ = recorded_call(api)
    assert api.call("GET", f"/v1/calls/{sid}/recording", key=None).status_code == 401
    assert api.call("GET", f"/v1/calls/{sid}/recording", key="wrong").status_code == 401
    assert api.call("GET", "/v1/calls/CA" + "0" * 32 + "/recording").status_code == 404
    plain = {"CallSid": "CA" + "1" * 32, "From": CALLER, "To": CALLED, "CallStatus": "completed"}
    assert api.twilio("/twilio/call-status", plain).status_code == 200
    assert body(api.call("GET", f"/v1/calls/{plain['CallSid']}/recording"))["error"]["code"] == "not_found"


def test_an_existing_call_is_archived_on_first_request(api, monkeypatch):
    sid, rec_sid = recorded_call(api, drain=False)  # the subscriber has not run yet
    down = Flaky(local().fetch_recording, failures=1)
    monkeypatch.setattr(local(), "fetch_recording", down)

    refused = api.call("GET", f"/v1/calls/{sid}/recording")
    assert refused.status_code == 503 and refused.headers["Retry-After"]
    assert body(refused)["error"]["code"] == "recording_unavailable"

    assert api.call("GET", f"/v1/calls/{sid}/recording").status_code == 200
    assert stored(sid, rec_sid)["data"] == WAV and local().recording_deleted(rec_sid)


def test_a_copy_plays_even_when_deleting_it_at_the_provider_fails(api, monkeypatch):
    sid, rec_sid = recorded_call(api, drain=False)
    monkeypatch.setattr(local(), "delete_recording", Flaky(local().delete_recording, failures=1))

    assert api.call("GET", f"/v1/calls/{sid}/recording").status_code == 200
    assert not local().recording_deleted(rec_sid)  # the subscriber deletes it on its next try
    pump().drain()
    assert local().recording_deleted(rec_sid) and CallModel.get(sid).recording_url is None


def test_deleting_the_call_deletes_its_recording(api):
    sid, rec_sid = recorded_call(api)
    assert stored(sid, rec_sid) is not None

    CallModel(sid).delete()  # erasure, or DynamoDB's TTL: the stream's REMOVE record either way
    pump().drain()

    assert stored(sid, rec_sid) is None

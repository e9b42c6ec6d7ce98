"""Transcripts with the local engine: espeak-ng speaks on the caller's channel of a recorded call,
pocketsphinx recognises it, the keyword rule sets the outcome through the outcome editor, and the
reports count the lead. A control sentence matches nothing. Deletion and erasure take the transcript.

Against moto's server (DynamoDB, its stream, SQS and S3) through the local event pump.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from typing import Any

import pytest

from calltracking_local.telephony import set_saying
from chalicelib.integrations.transcripts import engine as engines
from chalicelib.integrations.transcripts import jobs
from chalicelib.recordings import storage
from tests.support.database import pump
from tests.support.env import body

CALLER, LINE = "+14155550131", "+12125550199"
LEAD = "I would like to book an appointment for Tuesday"
CONTROL = "What time do you close on Sunday"
RULE = {"id": "appt", "phrases": ["appointment"], "side": "caller", "outcome": "lead", "tags": ["booking"]}
_n = Counter[str]()


@pytest.fixture
def local_engine(tables: None, settings_env: Any) -> Any:
    settings_env(TRANSCRIPTS_ENGINE="local")
    engines.set_engine(None)
    yield engines.get_engine("local", None)
    engines.set_engine(None)


def spoken_call(api: Any, number: str, caller_says: str, business_says: str | None = None) -> str:
    """Twilio's side of a recorded, answered call whose recording is ``caller_says`` spoken."""
    _n["call"] += 1
    sid = "CA" + hashlib.sha256(f"tr{_n['call']}{id(api)}".encode()).hexdigest()[:32]
    rec_sid = "RE" + hashlib.sha256(sid.encode()).hexdigest()[:32]
    set_saying(rec_sid, caller_says, business_says)
    common = {"CallSid": sid, "From": CALLER, "To": number, "AccountSid": "AC" + "0" * 32}
    assert api.twilio("/twilio/voice", common).status_code == 200
    rec = {**common, "RecordingSid": rec_sid, "RecordingStatus": "completed", "RecordingDuration": "5"}
    rec["RecordingUrl"] = f"https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/{rec_sid}"
    assert api.twilio("/twilio/recording-status", rec).status_code == 200
    done = {**common, "CallStatus": "completed", "CallDuration": "20", "DialCallStatus": "completed"}
    assert api.twilio("/twilio/call-status", done).status_code == 200
    pump().drain()
    return sid


def transcribed(api: Any, sid: str) -> dict[str, Any]:
    assert jobs.poll()["completed"] >= 1
    pump().drain()
    return body(api.call("GET", f"/v1/calls/{sid}"))


def test_a_spoken_appointment_becomes_a_lead_and_a_control_sentence_matches_nothing(api, local_engine):
    # Given a recorded channel and the rule "appointment -> lead" on the caller's side
    ch = body(api.call("POST", "/v1/channels", {"name": "Radio", "forward_to": LINE, "record": True}))
    number = body(api.call("POST", "/v1/numbers", {"channel_id": ch["id"]}))["number"]
    saved = api.call("PUT", "/v1/transcripts/rules", {"rules": [RULE]})
    assert saved.status_code == 200, saved.body
    # When a caller asks for an appointment, and another asks something else
    lead = spoken_call(api, number, LEAD, "Thanks for calling")
    control = spoken_call(api, number, CONTROL)
    first = jobs.poll()
    pump().drain()
    assert first["completed"] == 2, first
    # Then the first call's transcript found the keyword on the caller's side and the rule set lead
    call = body(api.call("GET", f"/v1/calls/{lead}"))
    assert call["transcript"]["status"] == "completed", call["transcript"]
    assert call["transcript"]["keywords"] == ["appointment"]
    assert call["transcript"]["rule_tags"] == ["booking"]
    assert call["outcome"] == "lead" and call["tags"] == ["booking"]
    conversation = body(api.call("GET", f"/v1/calls/{lead}/transcript"))
    said = {t["who"]: t["text"] for t in conversation["turns"]}
    assert "appointment" in said["caller"] and "appointment" not in said.get("business", "")
    assert conversation["matches"]
    # And the control call has a transcript but no match, no outcome
    other = body(api.call("GET", f"/v1/calls/{control}"))
    assert other["transcript"]["status"] == "completed" and other["transcript"]["keywords"] == []
    assert other["outcome"] is None
    # And the reports count one lead
    from chalicelib.core import clock

    now = clock.now_ms()
    report = body(
        api.call(
            "GET", f"/v1/reports/channels?from={clock.day_key(now - 86_400_000)}&to={clock.day_key(now + 86_400_000)}"
        )
    )
    row = next(r for r in report["rows"] if r["label"] == "Radio")
    assert row["leads"] == 1 and row["calls"] == 2
    # And deleting the call (retention) deletes its transcript objects
    key = jobs.turns_key(lead)
    assert storage.s3().head_object(Bucket=storage.bucket(), Key=key)
    jobs.forget(lead)
    listed = storage.s3().list_objects_v2(Bucket=storage.bucket(), Prefix=engines.object_prefix(lead))
    assert listed.get("KeyCount", 0) == 0


def test_a_person_s_outcome_and_tags_stay(api, transcribe):
    transcribe.words = WORDS
    ch = body(api.call("POST", "/v1/channels", {"name": "Print", "forward_to": LINE, "record": True}))
    number = body(api.call("POST", "/v1/numbers", {"channel_id": ch["id"]}))["number"]
    api.call("PUT", "/v1/transcripts/rules", {"rules": [RULE]})
    sid = spoken_call(api, number, LEAD)
    api.call("PATCH", f"/v1/calls/{sid}", {"outcome": "sale", "tags": ["vip"]})
    pump().drain()
    call = transcribed(api, sid)
    assert call["outcome"] == "sale" and sorted(call["tags"]) == ["booking", "vip"]


def test_a_line_set_to_longer_calls_only_and_the_daily_cap(api, local_engine, settings_env):
    ch = body(api.call("POST", "/v1/channels", {"name": "TV", "forward_to": LINE, "record": True}))
    number = body(api.call("POST", "/v1/numbers", {"channel_id": ch["id"]}))["number"]
    api.call("PUT", "/v1/transcripts/rules", {"rules": [], "lines": {ch["id"]: 60}})
    sid = spoken_call(api, number, CONTROL)
    assert body(api.call("GET", f"/v1/calls/{sid}"))["transcript"] is None
    settings_env(TRANSCRIPTS_DAILY_MINUTES="0")
    api.call("PUT", "/v1/transcripts/rules", {"rules": [], "lines": {}})
    sid = spoken_call(api, number, CONTROL)
    assert body(api.call("GET", f"/v1/calls/{sid}"))["transcript"]["status"] == "capped"


@pytest.mark.parametrize(
    "rules",
    [
        [{"phrases": [], "outcome": "lead"}],
        [{"phrases": ["x"], "outcome": "maybe"}],
        [{"phrases": ["x"], "side": "nobody", "tags": ["a"]}],
        [{"phrases": ["x"]}],
        "appointment",
    ],
)
def test_bad_rules_are_a_400(api, rules):
    answer = api.call("PUT", "/v1/transcripts/rules", {"rules": rules})
    assert answer.status_code == 400 and "rules" in json.loads(answer.body)["error"]["message"]


# --- Amazon Transcribe, against the stand-in --------------------------------------------------------


WORDS = [[(1.0, 1.4, "book"), (1.5, 1.9, "an"), (2.0, 2.8, "appointment")], [(0.2, 0.6, "hello")]]


def test_transcribe_fails_then_delays_then_completes_and_nothing_is_lost(api, transcribe):
    from chalicelib.core import clock

    transcribe.words = WORDS
    transcribe.plan = lambda name, asked: (
        "FAILED" if name.endswith("-1") else ("COMPLETED" if asked > 1 else "IN_PROGRESS")
    )
    ch = body(api.call("POST", "/v1/channels", {"name": "Web", "forward_to": LINE, "record": True}))
    number = body(api.call("POST", "/v1/numbers", {"channel_id": ch["id"]}))["number"]
    api.call("PUT", "/v1/transcripts/rules", {"rules": [{**RULE, "side": "caller"}]})
    sid = spoken_call(api, number, LEAD)
    # The job as AWS documents it: the archived object, our bucket and key, both channels, the language
    [start] = transcribe.started()
    assert (
        start["Media"]["MediaFileUri"]
        == f"s3://{storage.bucket()}/{storage.object_key(sid, start['Media']['MediaFileUri'].rsplit('/', 1)[1][:-4])}"
    )
    assert start["OutputBucketName"] == storage.bucket() and start["OutputKey"] == f"transcripts/{sid}/result-1.json"
    assert start["Settings"] == {"ChannelIdentification": True} and start["LanguageCode"] == "en-US"
    assert sid in start["TranscriptionJobName"] and "ContentRedaction" not in start
    # Failed: deleted and started again as the next attempt
    assert jobs.poll() == {"completed": 0, "restarted": 1, "failed": 0, "waiting": 0}
    assert transcribe.deleted() == [start["TranscriptionJobName"]] and len(transcribe.started()) == 2
    assert body(api.call("GET", f"/v1/calls/{sid}"))["transcript"]["status"] == "running"
    # Still running: asked again later, not before
    assert jobs.poll()["waiting"] == 1
    assert jobs.poll()["waiting"] == 1  # not asked again inside CHECK_EVERY_MS
    later = clock.now_ms() + jobs.CHECK_EVERY_MS + 1
    clock.set_source(lambda: later / 1000)
    try:
        assert jobs.poll()["completed"] == 1
    finally:
        clock.set_source(None)
    pump().drain()
    call = body(api.call("GET", f"/v1/calls/{sid}"))
    assert call["transcript"]["status"] == "completed" and call["transcript"]["keywords"] == ["appointment"]
    assert call["outcome"] == "lead"
    turns = body(api.call("GET", f"/v1/calls/{sid}/transcript"))["turns"]
    assert turns == [
        {"who": "business", "start": 0.2, "end": 0.6, "text": "hello"},
        {"who": "caller", "start": 1.0, "end": 2.8, "text": "book an appointment"},
    ]
    # And deleting the call deletes the engine's jobs too
    jobs.forget(sid)
    assert transcribe.jobs == {}


def test_a_job_that_runs_for_hours_is_retried_then_reported_failed(api, transcribe, settings_env):
    from chalicelib.core import clock

    transcribe.plan = lambda name, asked: "IN_PROGRESS"
    settings_env(TRANSCRIPTS_REDACT_PII="true")
    ch = body(api.call("POST", "/v1/channels", {"name": "Mail", "forward_to": LINE, "record": True}))
    number = body(api.call("POST", "/v1/numbers", {"channel_id": ch["id"]}))["number"]
    sid = spoken_call(api, number, CONTROL)
    assert transcribe.started()[0]["ContentRedaction"] == {"RedactionType": "PII", "RedactionOutput": "redacted"}
    now = clock.now_ms()
    try:
        for hour in (4, 8, 12):
            at = now + hour * 3_600_000
            clock.set_source(lambda at=at: at / 1000)
            jobs.poll()
    finally:
        clock.set_source(None)
    assert len(transcribe.started()) == 3
    call = body(api.call("GET", f"/v1/calls/{sid}"))
    assert call["transcript"]["status"] == "failed" and "3 h" in call["transcript"]["error"]
    from chalicelib.store import transcripts as jobs_store

    assert jobs_store.get_job(sid) is None

"""Erasure: DELETE /v1/callers/{number} takes a caller out of everything we hold. A caller with
calls in every state is erased, then every table, the recordings bucket, the events sent and the
log lines are searched for the number, its plain hash and its formatted forms."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from chalicelib.events import bus, model
from chalicelib.recordings import storage
from tests.integration.test_recordings import CALLER as ANN
from tests.integration.test_recordings import recorded_call
from tests.support import snapshot
from tests.support.database import pump
from tests.support.env import body

BOB = "+14155550122"
LINE = "+12025550144"
SENT: list[dict[str, Any]] = []  # every event a subscriber of every type received


def seen(event: model.Event) -> None:
    SENT.append(event.to_json())


@pytest.fixture
def watcher(tables: None) -> Any:
    SENT.clear()
    bus.subscribe("test-erasure", model.TYPES, "tests.integration.test_erasure:seen")
    yield SENT
    bus.unsubscribe("test-erasure")


def forms(number: str) -> list[str]:
    """The number as anything might hold it: E.164, digits, national digits and formats, hashes."""
    digits = number.lstrip("+")
    national = digits[1:]
    return [
        number,
        digits,
        national,
        f"({national[:3]}) {national[3:6]}-{national[6:]}",
        f"{national[:3]}-{national[3:6]}-{national[6:]}",
        f"{national[:3]} {national[3:6]} {national[6:]}",
        hashlib.sha256(number.encode()).hexdigest()[:12],
        hashlib.sha256(number.encode()).hexdigest(),
    ]


def everything_held() -> str:
    """Every item of every table and every object (key, metadata, bytes) of the bucket, as text."""
    held: dict[str, Any] = {"tables": snapshot.tables(), "objects": []}
    s3 = storage.s3()
    for obj in s3.list_objects_v2(Bucket=storage.bucket()).get("Contents", []):
        head = s3.head_object(Bucket=storage.bucket(), Key=obj["Key"])
        data = s3.get_object(Bucket=storage.bucket(), Key=obj["Key"])["Body"].read()
        held["objects"].append({"key": obj["Key"], "meta": head.get("Metadata"), "data": data.decode("latin-1")})
    return json.dumps(held, default=str)


def report_path() -> str:
    from chalicelib.core import clock

    now = clock.now_ms()
    return f"/v1/reports/channels?from={clock.day_key(now - 86_400_000)}&to={clock.day_key(now + 86_400_000)}"


def voice(api: Any, sid: str, caller: str, to: str) -> None:
    assert api.twilio("/twilio/voice", {"CallSid": sid, "From": caller, "To": to}).status_code == 200


@pytest.fixture
def echo() -> Any:
    """A webhook receiver that answers with what it was sent (so the delivery log holds the number)."""
    from tests.support.alerts import serving

    with serving(echo=True) as receiver:
        yield f"{receiver.url}/hook"


def test_erasing_a_caller_leaves_no_trace_and_reports_still_count_the_calls(api, watcher, log_lines, echo, transcribe):
    # Given a webhook endpoint whose receiver echoes what it gets (its answers are logged), a
    # channel's number, and Ann's calls in every state: answered and recorded (archived to S3, and
    # transcribed: she said her number), missed, ringing still, and blocked; and Bob's call, which
    # stays as it was
    assert api.call("POST", "/v1/webhooks", {"url": echo}).status_code == 201
    ch = body(api.call("POST", "/v1/channels", {"name": "Radio", "forward_to": LINE}))
    number = body(api.call("POST", "/v1/numbers", {"channel_id": ch["id"]}))["number"]
    transcribe.words = [[(0.5, 1.0, "call"), (1.1, 1.5, "me"), (1.6, 3.0, ANN.lstrip("+")[1:])], []]
    recorded_sid, rec_sid = recorded_call(api)
    from chalicelib.integrations.transcripts import jobs

    assert jobs.poll()["completed"] == 1
    missed = "CA" + "2" * 32
    voice(api, missed, ANN, number)
    api.twilio(
        "/twilio/dial-status?step=0", {"CallSid": missed, "From": ANN, "To": number, "DialCallStatus": "no-answer"}
    )
    api.twilio("/twilio/call-status", {"CallSid": missed, "From": ANN, "To": number, "CallStatus": "completed"})
    ringing = "CA" + "3" * 32
    voice(api, ringing, ANN, number)
    bob = "CA" + "4" * 32
    voice(api, bob, BOB, number)
    api.twilio("/twilio/call-status", {"CallSid": bob, "From": BOB, "To": number, "CallStatus": "completed"})
    api.call("PUT", "/v1/blocked-callers", {"callers": [ANN]})
    blocked = "CA" + "5" * 32
    voice(api, blocked, ANN, number)
    api.call("PUT", "/v1/blocked-callers", {"callers": []})  # the owner's own list is theirs to keep or not
    api.call("PATCH", f"/v1/calls/{missed}", {"note": f"call Ann back on {ANN}", "tags": ["vip"]})
    # (and her missed call came from a website visit: its session, as the lease endpoint stores one)
    from chalicelib.store import texts
    from chalicelib.store.models import CallModel, LeaseModel, SessionModel
    from chalicelib.store.ops import expires_after

    SessionModel(
        "s_ann",
        pool_id="pl_1",
        visitor_id="v_ann",
        source={"landing_page": "https://shop.example.com/"},
        pages=[{"url": "https://shop.example.com/", "at": 1}],
        created_at=1,
        last_seen_at=1,
    ).save()
    # (with its lease start in the lease history, and the next lease's pointer back to it)
    LeaseModel(
        number, 5, session_id="s_ann", pool_id="pl_1", source={"landing_page": "https://shop.example.com/"}
    ).save()
    LeaseModel(number, 9, session_id="s_other", pool_id="pl_1", prev_session_id="s_ann", prev_ended_at=8).save()
    visit = {
        "confidence": "active",
        "session_id": "s_ann",
        "lease_started_at": 5,
        "source": {"utm_source": "google", "utm_campaign": "spring"},
    }
    CallModel(missed).update(actions=[CallModel.attribution.set(visit)])
    # (her missed call was texted back, as the text-back claims it, and she texted STOP)
    texts.claim_text_back(ANN, "493000", missed, expires_after(0, 30))
    assert api.twilio("/twilio/sms", {"From": ANN, "To": number, "Body": "STOP"}).status_code == 200
    pump().drain()
    before = body(api.call("GET", report_path()))
    assert any(f in everything_held() for f in forms(ANN))
    # (and her access document says which webhook endpoint her calls were sent to)
    held = body(api.call("GET", "/v1/callers/%2B" + ANN.lstrip("+")))
    assert {d["url"] for d in held["integrations"]["webhooks"]["deliveries"]} == {echo}
    # When an admin erases Ann (the path's number percent-encoded, as a client sends it)
    answer = api.call("DELETE", "/v1/callers/%2B" + ANN.lstrip("+"))
    pump().drain()
    # Then every call of hers was anonymised, and a late Twilio callback for one changes nothing
    done = body(answer)
    assert answer.status_code == 200 and done["erased_calls"] == 4, done
    assert done["integrations"]["textback"] == 2  # the text-back claim and the STOP by number
    late = {"CallSid": ringing, "From": ANN, "To": number, "CallStatus": "completed", "CallDuration": "9"}
    assert api.twilio("/twilio/call-status", late).status_code == 200
    api.twilio("/twilio/recording-status", {"CallSid": recorded_sid, "From": ANN, "RecordingSid": rec_sid})
    pump().drain()
    # And nothing we hold has her number, its plain hash or a formatted form: tables, bucket, events, logs
    held = everything_held()
    for form in forms(ANN):
        assert form not in held, form
    events = json.dumps([e for e in SENT if e["type"] == "caller.erased"])
    assert events.count('"caller.erased"') == 4
    # (every event from the first caller.erased on: no call.updated carries her number anywhere)
    sent_after = json.dumps(SENT[SENT.index(json.loads(events)[0]) :])
    for form in forms(ANN):
        assert form not in sent_after, form
    # (and no log line of the whole test, calls, callbacks and erasure included, carries either caller)
    logged = json.dumps(log_lines())
    assert len(log_lines()) > 10
    for form in forms(ANN) + forms(BOB):
        assert form not in logged, form
    # And her visit's session and its lease start are gone (the other lease stays), her call's campaign kept
    assert "v_ann" not in held and "s_ann" not in held and "s_other" in held
    kept = body(api.call("GET", f"/v1/calls/{missed}"))["attribution"]["source"]
    assert kept == {"utm_source": "google", "utm_campaign": "spring"}
    # And her recording is gone from the bucket; Bob's call is untouched
    assert storage.object_key(recorded_sid, rec_sid) not in held
    assert BOB in held
    # And reports still count her calls by source, without her as a caller
    after = body(api.call("GET", report_path()))
    row_before = next(r for r in before["rows"] if r["label"] == "Radio")
    row_after = next(r for r in after["rows"] if r["label"] == "Radio")
    assert row_after["calls"] == row_before["calls"]
    assert row_after["unique_callers"] == row_before["unique_callers"] - 1
    # And the erasure is in the audit log, without the number
    entries = body(api.call("GET", "/v1/audit"))["entries"]
    erasure = [e for e in entries if e["action"] == "callers.erase"]
    assert erasure and erasure[0]["details"] == {"calls": 4}


@pytest.mark.parametrize("path", ["/v1/callers/not-a-number", "/v1/callers/%2B1"])
def test_a_bad_number_is_a_400(api, path):
    r = api.call("DELETE", path)
    assert r.status_code == 400 and "number" in json.loads(r.body)["error"]["message"]


def test_only_an_admin_key_erases(api):
    from chalicelib.access import apikeys

    writer = apikeys.create("CRM", "write")["key"]
    r = api.call("DELETE", "/v1/callers/%2B14155550111", key=writer)
    assert r.status_code == 403


def test_hostile_text_in_the_number_or_the_audit_query_never_makes_a_5xx(api):
    from urllib.parse import quote

    from hypothesis import HealthCheck, given, settings

    from tests.integration.test_hostile_text import TEXT

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(TEXT)
    def check(text: str) -> None:
        raw = quote(text.encode("utf-8", "surrogatepass"), safe="")
        r = api.call("DELETE", "/v1/callers/" + (raw or "%20"))
        assert r.status_code < 500 and r.status_code in (400, 404), (text, r.status_code, r.body)
        a = api.call("GET", "/v1/audit?from=" + raw + "&cursor=" + raw)
        assert a.status_code < 500, (text, a.status_code, a.body)

    check()


def test_access_gives_everything_held_about_a_caller_and_is_audited(api, watcher):
    # Given Ann's recorded call with a note, and Bob's
    sid, _ = recorded_call(api)
    api.call("PATCH", f"/v1/calls/{sid}", {"note": "wants a quote", "outcome": "lead"})
    ch = body(api.call("POST", "/v1/channels", {"name": "Radio", "forward_to": LINE}))
    number = body(api.call("POST", "/v1/numbers", {"channel_id": ch["id"]}))["number"]
    voice(api, "CA" + "6" * 32, BOB, number)
    # When an admin asks what is held about Ann
    r = api.call("GET", "/v1/callers/%2B" + ANN.lstrip("+"))
    # Then her call is there as the API shows calls (note, outcome, recording link), not Bob's
    got = body(r)
    assert r.status_code == 200 and got["number"] == ANN and got["erased_at"] is None
    assert [c["sid"] for c in got["calls"]] == [sid]
    assert got["calls"][0]["note"] == "wants a quote" and got["calls"][0]["outcome"] == "lead"
    assert got["calls"][0]["recording"]
    assert BOB not in json.dumps(got)
    # And the access is in the audit log, without the number
    entry = next(e for e in body(api.call("GET", "/v1/audit"))["entries"] if e["action"] == "callers.access")
    assert entry["details"] == {"calls": 1} and ANN not in json.dumps(entry)
    # And after her erasure it says when, and holds no call with her number
    api.call("DELETE", "/v1/callers/%2B" + ANN.lstrip("+"))
    again = body(api.call("GET", "/v1/callers/%2B" + ANN.lstrip("+")))
    assert again["erased_at"] and again["calls"] == [] and again["first_touch"] is None


def test_the_dashboard_caller_page_shows_the_data_and_erases_only_when_confirmed(api):
    from tests.integration.test_dashboard_pages import Browser, html

    # Given Ann's recorded call with a note, an admin and a viewer
    sid, _ = recorded_call(api)
    api.call("PATCH", f"/v1/calls/{sid}", {"note": "wants a quote"})
    admin, viewer = Browser(api, "admin"), Browser(api, "viewer")
    # When the admin looks her up: her call, its note, the JSON download and the erase form
    page = admin.get("/dashboard/callers?number=%2B" + ANN.lstrip("+"))
    text = html(page)
    assert page.status_code == 200 and "wants a quote" in text and sid[-8:] in text
    assert "callers.json?number=" in text and "Erase " + ANN in text
    assert json.loads(admin.get("/dashboard/callers.json?number=%2B" + ANN.lstrip("+")).body)["calls"][0]["sid"] == sid
    # And a viewer may do neither
    assert viewer.get("/dashboard/callers?number=%2B" + ANN.lstrip("+")).status_code == 403
    assert (
        viewer.post("/dashboard/callers/erase", {"csrf": viewer.csrf, "number": ANN, "confirm": "yes"}).status_code
        == 403
    )
    # When the admin erases without ticking the box: said next to it, nothing erased
    unticked = admin.post("/dashboard/callers/erase", {"csrf": admin.csrf, "number": ANN})
    assert unticked.status_code == 400 and 'id="confirm-error"' in html(unticked)
    assert body(api.call("GET", f"/v1/calls/{sid}"))["caller"] == ANN
    # When they tick it: the same erasure as the API
    done = admin.post("/dashboard/callers/erase", {"csrf": admin.csrf, "number": ANN, "confirm": "yes"})
    assert done.status_code == 200 and "1 call(s) anonymised" in html(done)
    assert body(api.call("GET", f"/v1/calls/{sid}"))["caller"] is None
    # And a bad number is said next to the field, as typed
    bad = admin.get("/dashboard/callers?number=12ab")
    assert bad.status_code == 400 and 'id="caller-error"' in html(bad) and 'value="12ab"' in html(bad)

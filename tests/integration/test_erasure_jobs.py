"""A heavy caller's access and erasure as jobs (202, chunks from a stored cursor, resumed after an
interruption), and the erasure log re-applied after a "restore" brought an erased caller back.
``CALLER_JOB_THRESHOLD`` and the job's page are lowered so a handful of calls makes a heavy caller."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import boto3
import pytest

from chalicelib.privacy import erasure, jobs
from chalicelib.recordings import storage
from chalicelib.store import callerjobs
from tests.integration.test_erasure import everything_held, forms, voice
from tests.support import snapshot
from tests.support.database import pump
from tests.support.env import body

ANN = "+14155550111"
BOB = "+14155550122"
LINE = "+12025550144"


@pytest.fixture
def heavy(api: Any, settings_env: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Ann with five completed calls (a heavy caller past a threshold of 2), Bob with one; pages of 2.
    The calls are stored as the call-status callback leaves them (the webhooks' own path is
    ``test_erasure.py``'s), so the jobs are what this file's time goes to."""
    from chalicelib.core import clock
    from chalicelib.store.models import CallModel

    settings_env(CALLER_JOB_THRESHOLD="2")
    monkeypatch.setattr(jobs, "PAGE", 2)
    now = clock.now_ms()
    sids = [f"CA{i:032d}" for i in range(1, 6)]
    made = [(sid, ANN, now - i * 60_000) for i, sid in enumerate(sids)] + [("CA" + "9" * 32, BOB, now)]
    with CallModel.batch_write() as batch:
        for sid, caller, started in made:
            attribution = {"confidence": "static", "source": {"utm_source": "radio"}}
            batch.save(
                CallModel(
                    sid,
                    caller=caller,
                    called=LINE,
                    started_at=started,
                    month=clock.month_key(started),
                    status="completed",
                    caller_city="SAN FRANCISCO",
                    note=f"call back {caller}",
                    attribution=attribution,
                )
            )
    return {"sids": sids}


def path(number: str) -> str:
    return "/v1/callers/%2B" + number.lstrip("+")


def test_a_heavy_callers_erasure_is_a_job_in_chunks_that_resumes_after_an_interruption(api, heavy, monkeypatch):
    # When an admin erases Ann, and the request is replayed while the job runs
    first = api.call("DELETE", path(ANN))
    replay = api.call("DELETE", path(ANN))
    # Then both answer 202 with the same job to follow; it holds her keyed hash, never her number in its answer
    job = body(first)
    assert first.status_code == 202 and replay.status_code == 202, first.body
    assert body(replay)["id"] == job["id"] and first.headers["Location"] == f"/v1/callers/jobs/{job['id']}"
    assert [j.id for j in callerjobs.running()] == [job["id"]]
    assert ANN not in json.dumps(job) and job["state"] == "running"
    # When the schedule runs one chunk (a page of two calls), then is interrupted in the next
    [after_one] = jobs.run(chunks=1)
    assert after_one["progress"] == {"calls": 2, "chunks": 1} and after_one["state"] == "running"
    real = erasure.erase_page

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise TimeoutError("the Lambda ran out of time")

    monkeypatch.setattr(erasure, "erase_page", crash)
    with pytest.raises(TimeoutError):
        jobs.run(chunks=1)
    assert body(api.call("GET", job["location"]))["progress"] == {"calls": 2, "chunks": 1}
    # And the next runs resume from the stored cursor
    monkeypatch.setattr(erasure, "erase_page", real)
    while callerjobs.running():
        jobs.run(chunks=1)
    pump().drain()
    # Then the job is done: all five calls in three pages and the webhook deliveries' scrub in one
    # (no endpoint here), and the answer the request would have given
    done = body(api.call("GET", job["location"]))
    assert done["state"] == "done" and done["progress"]["chunks"] == 4, done
    assert done["result"]["erased_calls"] == 5 and done["result"]["recordings_left_at_twilio"] == 0
    # And no table, object (the job item and the erasure log included) or event holds her number
    held = everything_held()
    for form in forms(ANN):
        assert form not in held, form
    assert BOB in held
    # And a replay after the end starts no second job: nothing is left to erase
    again = api.call("DELETE", path(ANN))
    assert again.status_code == 200 and body(again)["erased_calls"] == 0
    assert len([i for i in snapshot.tables()[_counters()] if i["pk"]["S"] == "CALLERJOBS"]) == 1
    # And the audit log has the erasure with the job's id, not the number
    entries = body(api.call("GET", "/v1/audit"))["entries"]
    assert {"job": job["id"]} in [e["details"] for e in entries if e["action"] == "callers.erase"]


def _counters() -> str:
    from chalicelib.core.settings import get_settings

    return get_settings().table_name("counters")


def test_a_heavy_callers_access_is_a_job_whose_document_is_fetched_through_a_presigned_url(api, heavy):
    # When an admin asks what is held about Ann
    r = api.call("GET", path(ANN))
    job = body(r)
    assert r.status_code == 202 and r.headers["Location"] == job["location"]
    # And the schedule runs it to the end, a page at a time
    while callerjobs.running():
        jobs.run(chunks=1)
    done = body(api.call("GET", job["location"]))
    # (three pages of calls, then one step of the webhook deliveries: there are none)
    assert done["state"] == "done" and done["progress"] == {"calls": 5, "chunks": 4}
    # Then the result is a short-lived link to one JSON document with all her calls, newest first
    with urllib.request.urlopen(done["result"]["url"], timeout=10) as got:
        document = json.loads(got.read())
    assert document["number"] == ANN and [c["sid"] for c in document["calls"]] == heavy["sids"]
    assert done["result"]["calls"] == 5 and BOB not in json.dumps(document)
    # And only the document is left in the bucket (its parts went), under her keyed hash
    keys = [o["Key"] for o in storage.s3().list_objects_v2(Bucket=storage.bucket()).get("Contents", [])]
    assert [k for k in keys if k.startswith("callers/")] == [k for k in keys if k.endswith(f"{job['id']}.json")]
    # And an unknown job is a 404
    assert api.call("GET", "/v1/callers/jobs/nope").status_code == 404


def test_erasures_are_reapplied_after_a_restore_brings_the_caller_back(api):
    from chalicelib.privacy import reapply_erasures
    from chalicelib.store import texts

    # Given Ann's two calls (one from a website visit with its lease start) and Bob's; her STOP
    ch = body(api.call("POST", "/v1/channels", {"name": "Radio", "forward_to": LINE}))
    number = body(api.call("POST", "/v1/numbers", {"channel_id": ch["id"]}))["number"]
    for sid in ("CA" + "1" * 32, "CA" + "2" * 32):
        voice(api, sid, ANN, number)
        api.twilio("/twilio/call-status", {"CallSid": sid, "From": ANN, "To": number, "CallStatus": "completed"})
    voice(api, "CA" + "9" * 32, BOB, number)
    assert api.twilio("/twilio/sms", {"From": ANN, "To": number, "Body": "STOP"}).status_code == 200
    pump().drain()
    # (the tables as a point-in-time backup would hold them before the erasure)
    backup = snapshot.tables()
    # When she is erased, then the tables are restored to the backup (her items back as they were)
    assert body(api.call("DELETE", path(ANN)))["erased_calls"] == 2
    pump().drain()
    client = boto3.client("dynamodb", endpoint_url=_endpoint(), region_name=_region())
    for table, items in backup.items():
        for item in items:
            client.put_item(TableName=table, Item=item)
    assert any(form in everything_held() for form in forms(ANN))
    # And the erasures are re-applied, in two runs (the first stopped after one object), then again
    first = reapply_erasures(budget_seconds=0)
    assert first["objects"] == 1 and first["next"]
    rest = reapply_erasures(start_after=first["next"])
    assert first["calls"] + rest["calls"] == 2 and rest["next"] is None
    assert reapply_erasures()["calls"] == 0  # idempotent
    pump().drain()
    # Then nothing holds her number again; Bob is still there; her STOP holds, by keyed hash
    held = everything_held()
    for form in forms(ANN):
        assert form not in held, form
    assert BOB in held
    assert not texts.opted_out(ANN)
    from chalicelib.integrations.textback import caller_data

    assert caller_data.opted_out(ANN, api_ctx())


def api_ctx() -> Any:
    from chalicelib.core.context import SYSTEM

    return SYSTEM


def _endpoint() -> str:
    from chalicelib.core.settings import get_settings

    return str(get_settings().dynamodb_endpoint)


def _region() -> str:
    from chalicelib.core.settings import get_settings

    return str(get_settings().region)


def test_the_dashboard_caller_page_starts_the_job_and_shows_its_progress_then_its_result(api, heavy):
    from tests.integration.test_dashboard_pages import Browser, html

    admin = Browser(api, "admin")
    # When the admin looks Ann up: too many calls for one page, so the export job's page
    looked = admin.get("/dashboard/callers?number=%2B" + ANN.lstrip("+"))
    assert looked.status_code == 303 and "/dashboard/callers?job=" in looked.headers["Location"]
    # When they erase her (ticked): the erasure job's page, running, with a way to check again
    done = admin.post("/dashboard/callers/erase", {"csrf": admin.csrf, "number": ANN, "confirm": "yes"})
    assert done.status_code == 303
    job_page = done.headers["Location"][done.headers["Location"].index("/dashboard/") :]
    running = html(admin.get(job_page))
    assert "Running in the background: 0 call(s) done" in running and "Check again" in running
    # When the schedule has run a chunk of it (the export job runs too, in no set order), then to the end
    while "0 call(s) done" in html(admin.get(job_page)):
        jobs.run(chunks=1)
    assert "Running in the background: 2 call(s) done in 1 step(s)" in html(admin.get(job_page))
    while callerjobs.running():
        jobs.run(chunks=1)
    # Then the page says what was erased; an unknown job is said, not a 500
    assert "Erased: 5 call(s) anonymised in 4 step(s)" in html(admin.get(job_page))
    missing = admin.get("/dashboard/callers?job=nope")
    assert missing.status_code == 404 and "no caller job" in html(missing)


def test_an_export_under_way_when_its_caller_is_erased_leaves_no_document(api, heavy):
    # Given an export of Ann's data one chunk in
    export = body(api.call("GET", path(ANN)))
    jobs.run(chunks=1)
    # When she is erased (the erasure job runs to its end first), and the export's next chunk comes
    erase = body(api.call("DELETE", path(ANN)))
    while callerjobs.get(erase["id"]).state == "running":  # type: ignore[union-attr]
        jobs.chunk(callerjobs.get(erase["id"]))  # type: ignore[arg-type]
    jobs.run()
    # Then the export ends without a document, and the bucket holds nothing with her number
    done = body(api.call("GET", export["location"]))
    assert done["state"] == "done" and "result" not in done and done["error"] == "the caller was erased meanwhile"
    for form in forms(ANN):
        assert form not in everything_held(), form


def _deliveries(per_endpoint: dict[str, int]) -> list[str]:
    """Two webhook endpoints, each keeping ``per_endpoint[caller]`` deliveries of each caller's
    event, every one logged with a receiver's answer that echoed it; the endpoints' ids."""
    from chalicelib.core import clock
    from chalicelib.store import webhooks

    now = clock.now_ms()
    ids = []
    for e in range(2):
        endpoint = webhooks.Endpoint(f"ep_{e}", {"url": f"https://hooks.example.com/{e}", "events": ["*"]})
        webhooks.create_endpoint(endpoint)
        ids.append(endpoint.id)
        for caller, count in per_endpoint.items():
            for i in range(count):
                msg = f"msg_{caller[-3:]}_{i}"
                event = {"id": f"evt_{msg}", "type": "call.completed", "data": {"from": caller}}
                webhooks.count_attempt(endpoint.id, msg, event, expires_at_ms=now + 86_400_000)
                record = {"status": 200, "response": json.dumps(event)}
                webhooks.log_attempt(endpoint.id, now + i, msg, 1, record, expires_at_ms=now + 86_400_000)
    return ids


def _kept(ids: list[str], caller: str) -> int:
    """Items of the endpoints' deliveries and logs that still carry ``caller``."""
    items = snapshot.tables()[_counters()]
    parts = {f"HOOK#{i}#{what}" for i in ids for what in ("messages", "attempts")}
    return sum(1 for i in items if i["pk"]["S"] in parts and caller in json.dumps(i))


def test_a_heavy_erasure_scrubs_the_webhook_deliveries_a_page_a_chunk_and_resumes(api, heavy, monkeypatch):
    # Given two endpoints keeping 5 deliveries of Ann's calls and 3 of Bob's each (with their
    # logged, echoing answers): 32 items, scrubbed 3 at a time
    from chalicelib.store import webhooks

    monkeypatch.setattr(webhooks, "SCRUB_PAGE", 3)
    ids = _deliveries({ANN: 5, BOB: 3})
    assert _kept(ids, ANN) == 20 and _kept(ids, BOB) == 12
    # When Ann's erasure job has done her calls (three pages)
    job = body(api.call("DELETE", path(ANN)))
    jobs.run(chunks=3)
    at = callerjobs.get(job["id"])
    assert at is not None and at.result["hook"] == "webhooks" and at.state == "running"
    assert _kept(ids, ANN) == 20  # the deliveries are the chunks after the calls
    # And a chunk of the scrub runs, then one is interrupted
    jobs.run(chunks=1)
    before = callerjobs.get(job["id"])
    real = erasure.hook_step

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise TimeoutError("the Lambda ran out of time")

    monkeypatch.setattr(erasure, "hook_step", crash)
    with pytest.raises(TimeoutError):
        jobs.run(chunks=1)
    assert callerjobs.get(job["id"]) == before  # nothing lost but that chunk: it resumes there
    monkeypatch.setattr(erasure, "hook_step", real)
    steps = 0
    while callerjobs.running():
        jobs.run(chunks=1)
        steps += 1
    # Then every page was its own chunk (8 items a partition, 3 a page: 3 pages a partition, 4 partitions)
    done = body(api.call("GET", job["location"]))
    assert done["state"] == "done" and steps + 1 == 12, (steps, done)
    assert done["result"]["integrations"]["webhooks"] == 20
    # And none of Ann's deliveries or echoed answers is left; Bob's all are
    assert _kept(ids, ANN) == 0 and _kept(ids, BOB) == 12


def test_an_erasure_in_the_request_hands_a_long_webhook_scrub_to_a_job(api, heavy, monkeypatch):
    # Given Bob (one call: erased within the request) and more deliveries than one step
    from chalicelib.store import webhooks

    monkeypatch.setattr(webhooks, "SCRUB_PAGE", 3)
    ids = _deliveries({ANN: 2, BOB: 4})
    # When his erasure's steps outlast the request's time (none here: only the first step runs)
    monkeypatch.setattr(erasure, "STEP_SECONDS", 0.0)
    first = api.call("DELETE", path(BOB))
    # Then the answer is 202 with a job that goes on from there, his call already erased
    assert first.status_code == 202, first.body
    job = body(first)
    assert job["progress"]["calls"] == 1 and BOB not in json.dumps(job)
    assert 0 < _kept(ids, BOB) < 16
    while callerjobs.running():
        jobs.run(chunks=1)
    done = body(api.call("GET", job["location"]))
    assert done["state"] == "done" and done["result"]["erased_calls"] == 1, done
    assert done["result"]["integrations"]["webhooks"] == 16
    assert _kept(ids, BOB) == 0 and _kept(ids, ANN) == 8
    # And nothing holds his number any more (the erasure log's last object and the tombstone are written)
    pump().drain()
    held = everything_held()
    for form in forms(BOB):
        assert form not in held, form


def test_a_heavy_access_reads_the_webhook_deliveries_a_page_a_chunk_and_joins_them(api, heavy, monkeypatch):
    # Given two endpoints keeping 5 deliveries of Ann's calls and 3 of Bob's each, read 3 at a time
    from chalicelib.store import webhooks

    monkeypatch.setattr(webhooks, "SCRUB_PAGE", 3)
    _deliveries({ANN: 5, BOB: 3})
    # When Ann's access job runs to its end
    job = body(api.call("GET", path(ANN)))
    while callerjobs.running():
        jobs.run(chunks=1)
    done = body(api.call("GET", job["location"]))
    # Then her calls took three chunks and the deliveries one per page (8 a partition, 3 a page: 3 pages each)
    assert done["state"] == "done" and done["progress"] == {"calls": 5, "chunks": 3 + 6}, done
    with urllib.request.urlopen(done["result"]["url"], timeout=10) as got:
        document = json.loads(got.read())
    # And the document lists each of her 10 deliveries once, with its endpoint, and none of Bob's
    delivered = document["integrations"]["webhooks"]["deliveries"]
    assert sorted((d["endpoint_id"], d["delivery_id"]) for d in delivered) == sorted(
        (f"ep_{e}", f"msg_{ANN[-3:]}_{i}") for e in range(2) for i in range(5)
    )
    assert BOB not in json.dumps(document)
    keys = [o["Key"] for o in storage.s3().list_objects_v2(Bucket=storage.bucket()).get("Contents", [])]
    assert [k for k in keys if k.startswith("callers/")] == [k for k in keys if k.endswith(f"{job['id']}.json")]


def test_an_access_in_the_request_hands_long_webhook_reads_to_a_job(api, heavy, monkeypatch):
    # Given Bob (one call: answered within the request) and more deliveries than one step
    from chalicelib.privacy import access
    from chalicelib.store import webhooks

    monkeypatch.setattr(webhooks, "SCRUB_PAGE", 3)
    _deliveries({ANN: 2, BOB: 4})
    # When his access's steps fit the request's time, the answer is the document
    whole = api.call("GET", path(BOB))
    assert whole.status_code == 200 and len(body(whole)["integrations"]["webhooks"]["deliveries"]) == 8
    # When they outlast it (none here: only the first step runs), the answer is 202 with a job
    monkeypatch.setattr(access, "STEP_SECONDS", 0.0)
    first = api.call("GET", path(BOB))
    assert first.status_code == 202, first.body
    job = body(first)
    while callerjobs.running():
        jobs.run(chunks=1)
    done = body(api.call("GET", job["location"]))
    with urllib.request.urlopen(done["result"]["url"], timeout=10) as got:
        document = json.loads(got.read())
    # And the job's document is the request's
    assert document["integrations"] == body(whole)["integrations"] and document["calls"] == body(whole)["calls"]

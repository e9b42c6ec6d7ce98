"""Signed player links (``recordings/shared.py``): what a CRM's users click to hear a call without a
sign-in. The page and its presigned URL come for that one recording only; an expired, tampered or
foreign link, or an erased call, is refused."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from chalicelib.core import clock
from chalicelib.recordings import shared
from chalicelib.store.models import CallModel
from tests.integration.test_recordings import CALLER, recorded_call
from tests.support.database import pump
from tests.support.env import BASE_URL


def _path(link: str) -> str:
    assert link.startswith(BASE_URL + "/dashboard/listen/")
    return link[len(BASE_URL) :]


def test_a_signed_link_plays_one_recording_without_a_sign_in_and_is_refused_when_changed_expired_or_erased(
    api: Any, fake_clock: Any, settings_env: Any
) -> None:
    settings_env(RECORDING_LINK_DAYS="7")
    sid, _ = recorded_call(api)
    other, _ = recorded_call(api)
    path = _path(shared.link(sid))
    # Given no cookie and no API key: the page, and from it a presigned URL of this recording
    page = api.call("GET", path, key=None)
    assert page.status_code == 200, page.body
    html = page.body.decode()
    assert 'id="player"' in html and f"/dashboard/listen/{sid}/recording?" in html
    assert CALLER not in html and CALLER[2:] not in html  # no caller number on the page
    assert "no-store" in page.headers["Cache-Control"]
    got = api.call("GET", path.replace("?", "/recording?", 1), key=None)
    assert got.status_code == 200, got.body
    assert sid in got.json_body["url"] and "X-Amz-Signature" in got.json_body["url"]
    # The signature is checked: another call's sid, a moved expiry, a changed signature, none at all
    query = dict(parse_qs(urlsplit(path).query, keep_blank_values=True))
    e, k, s = query["e"][0], query["k"][0], query["s"][0]
    refused = [
        f"/dashboard/listen/{other}?e={e}&k={k}&s={s}",
        f"/dashboard/listen/{sid}?e={int(e) + 86_400}&k={k}&s={s}",
        f"/dashboard/listen/{sid}?e={e}&k={k}&s={s[:-2]}AA",
        f"/dashboard/listen/{sid}?e={e}&k=9&s={s}",
        f"/dashboard/listen/{sid}",
        f"/dashboard/listen/{sid}/recording?e={e}&k={k}&s={s[:-2]}AA",
    ]
    for bad in refused:
        answer = api.call("GET", bad, key=None)
        assert answer.status_code == 403, (bad, answer.status_code)
    # It expires: RECORDING_LINK_DAYS after it was made, never later
    assert int(e) * 1000 - clock.now_ms() == 7 * 86_400_000
    fake_clock.advance(7 * 86_400 + 1)
    expired = api.call("GET", path, key=None)
    assert expired.status_code == 403 and "expired" in expired.body.decode()
    # And an erased call's link (a fresh one) finds nothing: 404
    fresh = _path(shared.link(other))
    assert api.call("GET", fresh, key=None).status_code == 200
    CallModel(other).delete()
    pump().drain()
    assert api.call("GET", fresh, key=None).status_code == 404
    assert api.call("GET", fresh.replace("?", "/recording?", 1), key=None).status_code == 404

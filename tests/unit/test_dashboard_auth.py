"""Who may use the dashboard: sign-in and sign-out, sessions and their limits, CSRF, attempt limits,
roles, the user admin, headers; then the same pages in Debian's Chromium (axe-core, screenshots).

The first part drives the app through Chalice's test client with a small cookie jar (a
``Browser``), against the embedded DynamoDB; the last part uses the shared browser helpers of
``tests/support/dashboard.py`` on the app served like ``chalice local``.

The tests of this area that need no database, network or server; the ones that need
processes, builds or Chromium are in ``tests/e2e/test_dashboard_auth.py``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


TEMPLATES = ROOT / "chalicelib" / "dashboard" / "templates"


@pytest.mark.parametrize("value", ["/dashboard", "/dashboard/calls?answered=true&page=2", "/dashboard/calls/CA1#x"])
def test_next_keeps_a_dashboard_path(value: str) -> None:
    from chalicelib.dashboard import web

    assert web.safe_next(value) == value


def test_a_user_keeps_their_five_latest_sign_in_addresses_of_the_last_30_days() -> None:
    from chalicelib.dashboard import signin_limits

    day = 86_400_000
    now = 100 * day
    h = {ip: signin_limits.address_hash("a@example.com", ip) for ip in (f"192.0.2.{n}" for n in range(8))}
    # Given sign-ins from seven addresses over the month, one of them twice, one 31 days ago
    refs = {signin_limits.address_ref(h[f"192.0.2.{n}"], now - n * day) for n in range(7)}
    refs |= {signin_limits.address_ref(h["192.0.2.7"], now - 31 * day)}
    refs |= {signin_limits.address_ref(h["192.0.2.0"], now - 9 * day)}
    # Then the five latest addresses are kept, each once, and the rest forgotten
    kept = refs - signin_limits.stale_refs(refs, now)
    assert kept == {signin_limits.address_ref(h[f"192.0.2.{n}"], now - n * day) for n in range(5)}
    assert signin_limits.is_known(kept, h["192.0.2.4"], now)
    assert not signin_limits.is_known(kept, h["192.0.2.4"], now + 27 * day)  # 31 days after its sign-in
    assert not signin_limits.is_known(refs, h["192.0.2.7"], now)
    # An address is hashed with the email: the same address is another hash for another user
    assert h["192.0.2.0"] != signin_limits.address_hash("b@example.com", "192.0.2.0")
    assert "192.0.2.0" not in h["192.0.2.0"]
    # and a request without a source address is never one the user is known at
    assert signin_limits.address_hash("a@example.com", "unknown") is None


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_media_src_on_aws_names_the_regions_s3_host_and_the_bucket(
    region: str, settings_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3
    from botocore.config import Config

    from chalicelib.dashboard import web

    monkeypatch.delenv("S3_ENDPOINT", raising=False)  # unset already when the unit tests run alone
    settings_env(AWS_REGION=region, AWS_DEFAULT_REGION=region, RECORDINGS_BUCKET="acme-recordings")
    config = Config(signature_version="s3v4", s3={"addressing_style": "path"})  # as recordings/storage.py
    client = boto3.client("s3", region_name=region, config=config)
    url = client.generate_presigned_url("get_object", Params={"Bucket": "acme-recordings", "Key": "recordings/a.wav"})
    sources = web.media_origins().split()
    assert any(url.startswith(s) for s in sources), (url, sources)
    assert all(s.endswith("/acme-recordings/") for s in sources)


def test_templates_have_no_inline_script_or_style() -> None:
    for path in TEMPLATES.glob("*.html"):
        html = path.read_text()
        assert " style=" not in html and "<style" not in html, path.name
        for tag in re.findall(r"<script[^>]*>", html):
            assert "src=" in tag or 'type="application/json"' in tag, f"{path.name}: {tag}"
        assert not re.search(r"\son[a-z]+=", html), f"{path.name}: an inline event handler"


@pytest.mark.parametrize(
    "value",
    [
        "https://evil.example/dashboard",
        "//evil.example/dashboard",
        "/\\evil.example",
        "\\\\evil.example",
        "/dashboard/../v1/calls",
        "/dashboard/%2e%2e/v1",
        "/dashboard%2f..%2fv1",
        "javascript:alert(1)",
        "/v1/calls",
        "/dashboardx",
        "/dashboard\r\nSet-Cookie: x=1",
        "",
    ],
)
def test_next_never_leaves_the_dashboard(value: str) -> None:
    from chalicelib.dashboard import web

    assert web.safe_next(value) == "/dashboard"


def test_the_app_does_not_load_the_dashboard_on_import() -> None:
    """(tests/unit/test_layout.py holds every heavy module out; this names the dashboard's own.)"""
    names = "('chalicelib.dashboard', 'jinja2', 'argon2')"
    code = f"import sys, app; print(sorted(m for m in sys.modules if m.startswith({names})))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    assert (
        "chalicelib.routes.dashboard_auth"
        in subprocess.run(
            [sys.executable, "-c", "import sys, app; print(sorted(sys.modules))"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout
    )

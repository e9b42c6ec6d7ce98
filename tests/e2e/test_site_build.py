"""The site script's build: the committed ``ct.min.js`` is exactly what ``make site`` makes of the source.

The built file is committed (deploys need no node), so a source edited without ``make site`` would
ship the old script: this rebuilds it with the Makefile's own recipe and compares bytes. It needs
node_modules (``make pytest`` installs them through the ``node`` target).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.unit.test_site_build import BUILT, ROOT


def _build(out: Path) -> bytes:
    if not (ROOT / "node_modules" / ".bin" / "esbuild").exists():
        pytest.fail("esbuild is not installed: run `make node` (npm ci), which `make test` does", pytrace=False)
    if not shutil.which("make"):
        pytest.fail("`make` is needed to rebuild the site script with the Makefile's recipe", pytrace=False)
    done = subprocess.run(
        ["make", "--no-print-directory", "-s", "site-build", f"SITE_OUT={out}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return out.read_bytes()


def test_the_committed_script_is_the_build_of_the_source(tmp_path):
    first = _build(tmp_path / "a.js")
    again = _build(tmp_path / "b.js")
    assert first == again, "the build is not reproducible: same input, different bytes"
    assert first == BUILT.read_bytes(), "chalicelib/site/ct.min.js is stale: run `make site` and commit it"


def test_get_ct_js_serves_the_built_file(api):
    r = api.client.http.get("/ct.js")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/javascript")
    assert r.body == BUILT.read_bytes()

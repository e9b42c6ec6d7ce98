"""The site script's build: the committed ``ct.min.js`` is exactly what ``make site`` makes of the source.

The built file is committed (deploys need no node), so a source edited without ``make site`` would
ship the old script: this rebuilds it with the Makefile's own recipe and compares bytes. It needs
node_modules (``make pytest`` installs them through the ``node`` target).

The tests of this area that need no database, network or server; the ones that need
processes, builds or Chromium are in ``tests/e2e/test_site_build.py``.
"""

from __future__ import annotations

from bench import site as site_bench
from tests.support import servers

ROOT = servers.ROOT


BUILT = ROOT / "chalicelib" / "site" / "ct.min.js"


def test_the_built_script_fits_its_budget_and_carries_no_build_details():
    built = BUILT.read_bytes()
    assert site_bench.gzipped_size(built) <= site_bench.BUDGET_GZIP_BYTES
    text = built.decode("ascii")  # esbuild escapes anything else
    assert "sourceMappingURL" not in text and str(ROOT) not in text and "/*" not in text
    assert not (ROOT / "chalicelib" / "site" / "ct.js").exists(), "the old hand-minified script is gone"

"""The tests of ``tests/e2e/test_site_build.py`` that need no database, network or server (moved here
unchanged; the module there says what the area is)."""

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

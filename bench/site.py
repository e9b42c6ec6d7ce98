"""The site script's size as visitors download it: the built ``ct.min.js``, gzipped as a CDN would.

Budget (issue "The site script"): at most 5 KB gzipped. Level 9, the smallest gzip output, as CDNs
compress static files once and serve them many times; the raw size is recorded too. No embedded
DynamoDB: this reads one file.
"""

from __future__ import annotations

import gzip
from typing import Any

from bench import common

SCRIPT = common.ROOT / "chalicelib" / "site" / "ct.min.js"
SOURCE = common.ROOT / "chalicelib" / "site" / "src" / "ct.js"
BUDGET_GZIP_BYTES = 5 * 1024


def gzipped_size(data: bytes) -> int:
    # mtime=0: the gzip header carries no date, so the same file always gives the same size.
    return len(gzip.compress(data, compresslevel=9, mtime=0))


def run() -> dict[str, Any]:
    built = SCRIPT.read_bytes()
    return {
        "file": str(SCRIPT.relative_to(common.ROOT)),
        "raw_bytes": len(built),
        "gzip9_bytes": gzipped_size(built),
        "source_bytes": len(SOURCE.read_bytes()),
        "budget_gzip_bytes_max": BUDGET_GZIP_BYTES,
    }


def table(r: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (
            "`ct.min.js` as served: gzipped (level 9); raw",
            f"{r['gzip9_bytes'] / 1024:.2f} KB; {r['raw_bytes'] / 1024:.2f} KB",
            "≤ 5 KB gzipped",
        )
    ]

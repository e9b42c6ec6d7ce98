"""Cold-start cost of the package Lambda runs: ``import app`` from the real, unzipped deployment zip.

Budgets (DESIGN.md, issue 18): ``import app`` at most 1.5 times ``import boto3``, and the zip at most
15 MB. The package is the one ``calltracking_cli.package.build`` makes (cached by content). Lambda
runs it from a read-only ``/var/task`` where nothing can be compiled and kept, so each import runs
in a fresh interpreter started with ``-I -S`` (no site-packages: only the package and the standard
library are importable) and ``-B`` (``-I`` ignores ``PYTHONDONTWRITEBYTECODE``, and a read-only mode
does not stop root from writing ``__pycache__``: ``-B`` is what keeps every run as cold as the first).

``import boto3`` from the same tree is the yardstick: the runtime's own boto3 ships compiled, so
the trimmed package's compiled boto3 costs what the runtime's would. The "before" figures import
``app`` from ``chalice package``'s own zip (sources only) against that same yardstick.

Each command is timed as a whole process, interleaved and repeated ``RUNS`` times. The budget
figure compares the fastest run of each (on a shared machine noise only ever adds time); the ratio
of medians is recorded too.
"""

from __future__ import annotations

import os
import stat
import subprocess
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from bench import common
from calltracking_cli import package

RUNS = 15
BUDGET_RATIO = 1.5
BUDGET_ZIP_MB = 15.0
MB = 1024 * 1024
ENV = {
    "STAGE": "dev",
    "TELEPHONY": "twilio",
    "TABLE_PREFIX": "bench-",
    "AWS_DEFAULT_REGION": "us-east-1",
    "PUBLIC_BASE_URL": "https://example.execute-api.us-east-1.amazonaws.com/api",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "PYTHONDONTWRITEBYTECODE": "1",
}


def _process_seconds(python: str, tree: Path, code: str) -> float:
    env = {"PATH": os.environ.get("PATH", ""), **ENV}
    script = f"import sys; sys.path.insert(0, {str(tree)!r}); {code}"
    t0 = time.perf_counter()
    subprocess.run([python, "-I", "-S", "-B", "-c", script], check=True, env=env, cwd=tree)
    return time.perf_counter() - t0


def _unzip_read_only(zip_path: Path, into: Path) -> Path:
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(into)
    for path in [into, *into.rglob("*")]:
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    return into


def _writable(into: Path) -> None:
    for path in [into, *into.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)


def run() -> dict[str, Any]:
    built = package.cached_build("dev")
    python = package.runtime_python(built.runtime)
    chalice_zip = built.zip_path.parent / package.CHALICE_ZIP
    with tempfile.TemporaryDirectory(prefix="ct-coldstart-") as tmp:
        after = _unzip_read_only(built.zip_path, Path(tmp) / "after")
        before = _unzip_read_only(chalice_zip, Path(tmp) / "before")
        try:
            # One run of each first: the files are in the page cache, as on a warm Lambda host.
            for tree in (after, before):
                _process_seconds(python, tree, "import app")
            times: dict[str, list[float]] = {"python": [], "boto3": [], "app": [], "app_before": [], "boto3_before": []}
            for _ in range(RUNS):
                times["python"].append(_process_seconds(python, after, "pass"))
                times["boto3"].append(_process_seconds(python, after, "import boto3"))
                times["app"].append(_process_seconds(python, after, "import app"))
                times["app_before"].append(_process_seconds(python, before, "import app"))
                times["boto3_before"].append(_process_seconds(python, before, "import boto3"))
        finally:
            _writable(Path(tmp))
    fastest = {k: min(v) for k, v in times.items()}
    medians = {k: common.median(v) for k, v in times.items()}
    return {
        "runs": RUNS,
        "package": {
            "zip_mb": round(built.zip_bytes / MB, 2),
            "unzipped_mb": round(built.unzipped_bytes / MB, 2),
            "chalice_zip_mb": round(built.chalice_zip_bytes / MB, 2),
            "chalice_unzipped_mb": round(built.chalice_unzipped_bytes / MB, 2),
            "runtime": built.runtime,
        },
        "min_seconds": {k: round(v, 4) for k, v in fastest.items()},
        "median_seconds": {k: round(v, 4) for k, v in medians.items()},
        "app_to_boto3_ratio": round(fastest["app"] / fastest["boto3"], 3),
        "app_to_boto3_ratio_of_medians": round(medians["app"] / medians["boto3"], 3),
        "before_app_to_boto3_ratio": round(fastest["app_before"] / fastest["boto3"], 3),
        "before_app_to_boto3_ratio_of_medians": round(medians["app_before"] / medians["boto3"], 3),
        "budget_ratio_max": BUDGET_RATIO,
        "budget_zip_mb_max": BUDGET_ZIP_MB,
    }


def table(r: dict[str, Any]) -> list[tuple[str, str, str]]:
    if "package" not in r:  # a result from before the package was measured
        return []
    p = r["package"]
    return [
        (
            "`import app` ÷ `import boto3` from the deployed package, read-only, no bytecode writes "
            "(fastest of 15; medians)",
            f"{r['app_to_boto3_ratio']:.2f} ({r['app_to_boto3_ratio_of_medians']:.2f}); "
            f"chalice's zip: {r['before_app_to_boto3_ratio']:.2f} ({r['before_app_to_boto3_ratio_of_medians']:.2f})",
            f"≤ {r['budget_ratio_max']}",
        ),
        (
            "deployment zip: zipped; unzipped",
            f"{p['zip_mb']:.1f} MB; {p['unzipped_mb']:.1f} MB (chalice's: {p['chalice_zip_mb']:.1f} MB; "
            f"{p['chalice_unzipped_mb']:.1f} MB)",
            f"≤ {r['budget_zip_mb_max']:.0f} MB zipped",
        ),
    ]

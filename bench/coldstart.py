"""Cold-start cost: importing ``app`` as a whole process, as a ratio to ``import boto3``.

Budget (DESIGN.md): at most 1.25. Each is timed as a fresh interpreter, interleaved and
repeated 15 times. The budget figure compares the fastest run of each: on a shared machine
noise only ever adds time, so the minimum is the steadiest estimate of the real cost. The
ratio of medians is recorded too.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

from bench import common

RUNS = 15


def _process_seconds(code: str, env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=common.ROOT)
    return time.perf_counter() - t0


def run() -> dict[str, Any]:
    # Bytecode caches on for both (PYTHONDONTWRITEBYTECODE, even "0", turns them off): boto3 in
    # the Lambda runtime is compiled too.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env |= {"STAGE": "bench", "TELEPHONY": "twilio"}
    env.update({"TABLE_PREFIX": "bench-", "AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_METRICS_DISABLED": "true"})
    # Warm the bytecode caches first: Lambda ships compiled files too.
    _process_seconds("import app", env)
    _process_seconds("import boto3", env)
    bare, boto, app = [], [], []
    for _ in range(RUNS):
        bare.append(_process_seconds("pass", env))
        boto.append(_process_seconds("import boto3", env))
        app.append(_process_seconds("import app", env))
    b, o, a = common.median(bare), common.median(boto), common.median(app)
    return {
        "runs": RUNS,
        "median_seconds": {"python": round(b, 4), "import_boto3": round(o, 4), "import_app": round(a, 4)},
        "min_seconds": {
            "python": round(min(bare), 4),
            "import_boto3": round(min(boto), 4),
            "import_app": round(min(app), 4),
        },
        "app_to_boto3_ratio": round(min(app) / min(boto), 3),
        "app_to_boto3_ratio_of_medians": round(a / o, 3),
        "budget_ratio_max": 1.25,
    }


def table(r: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (
            "`import app` ÷ `import boto3`, whole processes (fastest of 15; medians)",
            f"{r['app_to_boto3_ratio']:.2f} ({r['app_to_boto3_ratio_of_medians']:.2f})",
            "≤ 1.25",
        )
    ]

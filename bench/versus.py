"""The voice webhook of this tree against an earlier commit's, interleaved in one run.

``python -m bench.versus --base <rev> [--rounds 6] [--calls 100]``: checks ``<rev>`` out into
``.local/versus/<rev>`` (a detached git worktree), then runs the same driver alternately in each
tree, old and new in turn (the order flips every round, so a noisy moment falls on both sides):
a fresh process per side per round, its own embedded DynamoDB, one channel and number, then
``--calls`` signed first voice requests through Chalice's test client. Each side's figure is the
median time of its calls; the result is the median over rounds of new ÷ old, with the DynamoDB
requests per call of each side (they must be equal). Written to ``bench/results/versus.json``.

Not part of ``make bench``: it compares two versions, for a change that must not slow the voice
path (a refactor), and needs the git history.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import common

DRIVER = """
import json, statistics, sys
from bench import common, voice

calls = int(sys.argv[1])
with common.embedded_dynamodb("versus-"):
    from chalicelib import channels, numbers
    from chalicelib.store import models

    models.create_tables()
    ch = channels.create({"name": "Radio", "forward_to": "+12025550144"})
    number = numbers.provision({"channel_id": ch["id"]})["number"]
    post = voice.signed_voice_post()
    with voice._client() as client, common.counting() as counter:
        post(client, 10**6, number)  # warm: imports, connections, caches
        times, counts = [], []
        for i in range(calls):
            counter.reset()
            times.append(post(client, i + 1, number))
            counts.append(counter.total)
print(json.dumps({"median": statistics.median(times), "requests": statistics.median(counts)}))
"""


def _tree(rev: str) -> Path:
    sha = subprocess.run(["git", "rev-parse", rev], cwd=common.ROOT, capture_output=True, text=True, check=True)
    path = common.ROOT / ".local" / "versus" / sha.stdout.strip()[:12]
    if not path.exists():
        subprocess.run(["git", "worktree", "add", "--detach", str(path), rev], cwd=common.ROOT, check=True)
    return path


def _side(tree: Path, driver: Path, calls: int) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"PYTHONPATH": str(tree)}
    out = subprocess.run(
        [sys.executable, str(driver), str(calls)], cwd=tree, env=env, capture_output=True, text=True, check=True
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def run(base: str, rounds: int, calls: int) -> dict[str, Any]:
    old = _tree(base)
    driver = Path(tempfile.mkdtemp(prefix="versus-")) / "driver.py"
    driver.write_text(DRIVER)
    sides: dict[str, list[dict[str, float]]] = {"old": [], "new": []}
    for r in range(rounds):
        for name in ("old", "new") if r % 2 == 0 else ("new", "old"):
            sides[name].append(_side(old if name == "old" else common.ROOT, driver, calls))
    ratios = [n["median"] / o["median"] for n, o in zip(sides["new"], sides["old"], strict=True)]
    return {
        "base": base,
        "rounds": rounds,
        "calls_per_round": calls,
        "new_to_old_ratio": round(statistics.median(ratios), 3),
        "ratios": [round(x, 3) for x in ratios],
        "requests_per_call": {k: statistics.median(s["requests"] for s in v) for k, v in sides.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--calls", type=int, default=100)
    args = parser.parse_args()
    result = run(args.base, args.rounds, args.calls)
    print(json.dumps(result, indent=2))
    print(f"-> {common.write('versus', result).relative_to(common.ROOT)}")


if __name__ == "__main__":
    main()

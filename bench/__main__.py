"""``python -m bench [name ...]``: run benchmarks, write JSON under bench/results/, refresh bench/README.md."""

from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path
from typing import Any

from bench import common

ALL = [
    "coldstart",
    "leases",
    "voice",
    "reports",
    "sizing",
    "site",
    "webhooks",
    "dashboard",
    "dashboard_setup",
    "alerts",
    "conversions",
    "callcost",
    "callerjobs",
]
START = "<!-- results:start -->"
END = "<!-- results:end -->"


def main(argv: list[str]) -> None:
    # The cold start runs last: it times imports, the figure most sensitive to a machine still busy
    # with whatever ran before ``make bench`` (a test run finishing beside it).
    names = argv or [name for name in ALL if name != "coldstart"] + ["coldstart"]
    took: dict[str, float] = {}
    missed = []
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        print(f"== {name}", flush=True)
        started = time.monotonic()
        try:
            result = module.run()
        except common.OverBudget as exc:  # its figures are kept and the other benchmarks still run
            result = exc.result
            missed.append(f"{name}: {exc.args[0]}")
        took[name] = round(time.monotonic() - started, 1)
        path = common.write(name, {**result, "wall_seconds": took[name]})
        print(json.dumps(result, indent=2))
        print(f"-> {path.relative_to(common.ROOT)}")
    _refresh_readme()
    print("wall seconds per module: " + ", ".join(f"{name} {seconds}" for name, seconds in took.items()))
    # A missed budget is a figure to state, not a failed run: it is listed here, marked in the tables
    # and named in the closing note. A benchmark that cannot run, or whose figures are wrong (reports
    # that differ from the base's), fails the run.
    if missed:
        print("OVER BUDGET: " + "; ".join(missed), flush=True)


def _refresh_readme() -> None:
    rows: list[tuple[str, str, str, str]] = []
    for name in ALL:
        path = common.RESULTS / f"{name}.json"
        if not path.exists():
            continue
        result: dict[str, Any] = json.loads(path.read_text())
        module = importlib.import_module(f"bench.{name}")
        rows += [(name, *row) for row in module.table(result)]
    lines = ["| benchmark | figure | measured | budget |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    table = "\n".join(lines)
    _replace(common.ROOT / "bench" / "README.md", START, END, table)
    _replace(common.ROOT / "README.md", "<!-- bench:start -->", "<!-- bench:end -->", table)
    _replace(common.ROOT / "README.md", "<!-- cost:start -->", "<!-- cost:end -->", cost_table())


def cost_table() -> str:
    """The README's cost of a call: ``calltracking cost`` at its default volume, from these results."""
    from calltracking_cli import cost

    lines = cost.readme_table(common.RESULTS, common.ROOT)
    return "\n".join(lines)


def _replace(path: Path, start: str, end: str, text: str) -> None:
    content = path.read_text()
    if start not in content:
        return
    head, _, rest = content.partition(start)
    _, _, tail = rest.partition(end)
    path.write_text(f"{head}{start}\n{text}\n{end}{tail}")


if __name__ == "__main__":
    main(sys.argv[1:])

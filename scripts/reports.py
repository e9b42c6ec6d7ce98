"""Report aggregates: rebuild them in one go after the business's time zone changed (the dashboard's change
runs the same move as a background job, ``chalicelib/reports/rebuild.py``).

    python scripts/reports.py rebuild [--stage local|dev|prod]

Every call is counted again under the current settings: it leaves the day and week buckets it
was counted in and joins the right ones (a call counted before weeks existed joins its week, and
every week is then read whole), one transaction per call that moved, so this is safe
while calls come in, and running it twice changes nothing the second time. Settings come
from the stage in ``.chalice/config.json`` (``local`` by default); variables already in the
environment win. Against AWS it needs ``dynamodb:Scan``, ``GetItem``, ``UpdateItem`` and
``TransactWriteItems`` on the stage's calls and counters tables.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts import _localenv

STAGES = ("local", "dev", "prod")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    rebuild = sub.add_parser("rebuild", help="count every call again under the current time zone")
    rebuild.add_argument("--stage", choices=STAGES, default="local")
    args = parser.parse_args(argv)
    for key, value in _localenv.stage_env(args.stage).items():
        os.environ.setdefault(key, value)
    from chalicelib.core.settings import get_settings
    from chalicelib.reports import aggregates, seal

    s = get_settings()
    print(f"rebuilding {s.table_name('counters')} in the business's days", file=sys.stderr)
    n = aggregates.rebuild(lambda done: print(f"  {done} calls", file=sys.stderr))
    print(f"{n} calls counted in the business's days and weeks")
    seal.reset()  # calls may have moved between days: fold every closed day's callers again
    state = seal.run_all()
    sealed = f"{state.get('sealed', 0)} day and {state.get('weeks_sealed', 0)} week buckets"
    print(f"{sealed} sealed through {state.get('through')}")


if __name__ == "__main__":
    main()

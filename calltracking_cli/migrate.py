"""``calltracking migrate [--stage] [--minutes] [--dry-run]``: bring a stage's tables to this code's schema.

``calltracking deploy`` runs it once its code is live (``--migrate-minutes``); run it by hand
to finish what a deploy's budget left (the deployed code reads both shapes, so calls and
sign-ins go on while it runs). It runs the pending numbered migrations of
``chalicelib.store.migrations`` in chunks, each saving its cursor, until they are done or
``--minutes`` have passed; run it again to go on from where it stopped. ``calltracking
status`` shows the schema version and a running migration's progress; ``--dry-run`` only
prints that.
"""

from __future__ import annotations

import time
from typing import Any

import click

from calltracking_cli.project import LOCAL, Project, run_on_stage


def run_migrations(project: Project, stage: str, minutes: float, *, dry_run: bool = False) -> Any:
    """Run the stage's pending migrations for at most ``minutes`` (resumable); the schema's state after."""
    deadline = time.monotonic() + minutes * 60

    def remaining_ms() -> int:
        return int((deadline - time.monotonic()) * 1000)

    def act(migrations: Any) -> Any:
        before = migrations.state()
        click.echo(f"schema     {before.describe()}")
        for m in before.pending:
            click.echo(f"             {m.number}: {m.name}")
        if dry_run or not before.pending:
            return before
        after = before
        while after.version < after.latest and remaining_ms() > migrations.MARGIN_MS:
            after = migrations.run(remaining_ms=remaining_ms)
            click.echo(f"schema     {after.describe()}")
        return after

    return run_on_stage(project, stage, "chalicelib.store.migrations", act, show_table=True)


@click.command()
@click.option("--stage", default=LOCAL, show_default=True, help="whose tables")
@click.option("--minutes", default=10.0, show_default=True, help="stop (resumably) after this long")
@click.option("--dry-run", is_flag=True, help="only show the schema version and what would run")
@click.pass_obj
def migrate(project: Project, stage: str, minutes: float, dry_run: bool) -> None:
    """Run the pending data migrations of a stage's tables (resumable; see calltracking status)."""
    after = run_migrations(project, stage, minutes, dry_run=dry_run)
    if not dry_run and after.version < after.latest:
        raise click.ClickException("not finished: run calltracking migrate again to go on from where it stopped")

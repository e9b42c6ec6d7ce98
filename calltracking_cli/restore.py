"""``calltracking restore``: get a stage's data back after a mistake, from DynamoDB's point-in-time recovery.

Every table of a stage has point-in-time recovery on (``infra/tables.yaml``): DynamoDB can make a
new table holding any table's items as they were at a moment of the last 35 days. The drill, in
three commands, each safe to run again and each saying what it did:

1. ``calltracking restore --stage prod --to 2026-12-07T09:55Z`` restores every table of the stage
   to that moment into staging tables beside it (``<TABLE_PREFIX>restore-<table>``; the live
   tables are not touched), re-applies every caller erasure logged since (the privacy work keeps
   that log outside the restorable tables, in the stage's bucket: an erased caller never comes
   back with a restore), and checks them: each staging table active, its items counted against
   the live table's. ``--dry-run`` prints what it would do.
2. ``calltracking restore --stage prod --switch`` puts back into the live tables what the mistake
   removed: every staging item whose key the live table no longer has. Items the live table has
   are kept as they are, so the calls, outcomes and sign-ins since the chosen moment stay; with
   ``--overwrite`` the staging item replaces the live one too (everything goes back to that
   moment except what is new since), 25 items a BatchWriteItem. The stage's names, stack, stream,
   policies and URLs never change, so nothing is redeployed and Twilio and the sites notice nothing. The erasures are
   re-applied on the live tables once more at the end.
3. ``calltracking restore --stage prod --discard`` deletes the staging tables.

What is not restorable this way: the recordings in S3 (the bucket keeps no versions: a deleted
recording is gone, by design, as erasure requires), SSM parameters (the API key and the caller-hash
key: back them up yourself, see infra/README.md), and anything older than 35 days.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import click

from calltracking_cli.project import LOCAL, Project, stage_environment

STAGING = "restore-"  # staging tables: <TABLE_PREFIX>restore-<table>


def table_names() -> list[str]:
    """The stage's tables' short names (``calls``...), from the store's models."""
    from chalicelib.store.models import ALL_MODELS

    return [model.Meta._table for model in ALL_MODELS]  # type: ignore[attr-defined]


def staging_name(name: str) -> str:
    """The staging table of the stage's table ``name``: ``<TABLE_PREFIX>restore-<name>``."""
    from chalicelib.core.settings import get_settings

    return get_settings().table_prefix + STAGING + name


def parse_time(value: str) -> dt.datetime:
    """An ISO 8601 moment with a zone (``2026-12-07T09:55Z``, ``2026-12-07T10:55+01:00``)."""
    try:
        moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{value!r}: give a moment as 2026-12-07T09:55Z (ISO 8601, with its zone)") from None
    if moment.tzinfo is None:
        raise click.BadParameter(f"{value!r}: say its time zone (Z for UTC, or +01:00)")
    return moment.astimezone(dt.UTC)


def check_window(moment: dt.datetime, earliest: dt.datetime, latest: dt.datetime) -> list[str]:
    """Why ``moment`` cannot be restored to: outside what every table's recovery window holds."""
    if moment < earliest:
        return [f"{moment:%Y-%m-%dT%H:%MZ} is before the earliest restorable moment, {earliest:%Y-%m-%dT%H:%MZ}"]
    if moment > latest:
        return [f"{moment:%Y-%m-%dT%H:%MZ} is after the latest restorable moment, {latest:%Y-%m-%dT%H:%MZ}"]
    return []


def _client() -> Any:
    from chalicelib.core import aws
    from chalicelib.core.settings import get_settings

    return aws.client("dynamodb", None, endpoint=get_settings().dynamodb_endpoint)


def _keys(client: Any, table: str) -> list[str]:
    return [k["AttributeName"] for k in client.describe_table(TableName=table)["Table"]["KeySchema"]]


def _items(client: Any, table: str) -> Iterator[dict[str, Any]]:
    for page in client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        yield from page.get("Items", [])


def _count(client: Any, table: str) -> int:
    total = 0
    for page in client.get_paginator("scan").paginate(TableName=table, Select="COUNT", ConsistentRead=True):
        total += int(page["Count"])
    return total


def _exists(client: Any, table: str) -> bool:
    try:
        client.describe_table(TableName=table)
    except client.exceptions.ResourceNotFoundException:
        return False
    return True


def restore_to(moment: dt.datetime | None, *, dry_run: bool, say: Callable[[str], None]) -> list[str]:
    """Step 1: the staging tables at ``moment`` (``None``: the latest restorable one, about five
    minutes ago), erasures re-applied, checked; the problems found."""
    from chalicelib.core.settings import get_settings

    s = get_settings()
    client = _client()
    pairs = [(s.table_name(name), staging_name(name)) for name in table_names()]
    problems: list[str] = []
    for live, staging in pairs:
        if _exists(client, staging):
            problems.append(f"{staging} exists from an earlier restore: run restore --discard first")
        backups = client.describe_continuous_backups(TableName=live)["ContinuousBackupsDescription"]
        pitr = backups.get("PointInTimeRecoveryDescription", {})
        if pitr.get("PointInTimeRecoveryStatus") != "ENABLED":
            problems.append(f"{live} has no point-in-time recovery: nothing to restore from")
            continue
        now = dt.datetime.now(dt.UTC)
        earliest = pitr.get("EarliestRestorableDateTime") or now
        latest = pitr.get("LatestRestorableDateTime") or now
        if moment is not None:
            problems += [f"{live}: {p}" for p in check_window(moment, earliest, latest)]
    if problems:
        return problems
    for live, staging in pairs:
        verb = "would restore" if dry_run else "restoring"
        when = f"{moment:%Y-%m-%dT%H:%M:%SZ}" if moment else "the latest restorable moment"
        say(f"{verb} {live} as it was at {when} -> {staging}")
        if not dry_run:
            at: dict[str, Any] = {"RestoreDateTime": moment} if moment else {"UseLatestRestorableTime": True}
            client.restore_table_to_point_in_time(
                SourceTableName=live, TargetTableName=staging, BillingModeOverride="PAY_PER_REQUEST", **at
            )
    if dry_run:
        say("would re-apply the caller erasures logged since, then count each table's items against the live one")
        return []
    waiter = client.get_waiter("table_exists")
    for _, staging in pairs:
        waiter.wait(TableName=staging, WaiterConfig={"Delay": 5, "MaxAttempts": 360})
    say(reapply_erasures(STAGING))
    for live, staging in pairs:
        say(f"checked {staging}: {_count(client, staging)} items (live {live}: {_count(client, live)})")
    say("next: calltracking restore --switch puts back what the live tables lost (see --help)")
    return []


def reapply_erasures(staging: str | None) -> str:
    """Re-apply the logged caller erasures to the staging tables (``staging``) or the live ones (None).

    On the staging tables only the table names change: the bucket that holds the erasure log and
    the recordings, and the queues, stay the stage's (pinned before the prefix moves)."""
    import os

    from chalicelib.core import context
    from chalicelib.core.settings import get_settings
    from chalicelib.privacy import reapply

    s = get_settings()
    pinned = {
        "RECORDINGS_BUCKET": s.recordings_bucket,
        "EVENTS_QUEUE": s.events_queue,
        "EVENTS_DLQ": s.events_dlq,
    }
    before = {k: os.environ.get(k) for k in [*pinned, "TABLE_PREFIX"]}
    if staging is not None:
        os.environ.update({**pinned, "TABLE_PREFIX": s.table_prefix + staging})
        get_settings.cache_clear()
    try:
        done = reapply.reapply_erasures(context.SYSTEM)
        while done.get("next"):
            done = reapply.reapply_erasures(context.SYSTEM, start_after=done["next"])
    finally:
        if staging is not None:
            for key, value in before.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            get_settings.cache_clear()
    where = "staging" if staging else "live"
    return f"erasures re-applied to the {where} tables: {done['objects']} logged erasure(s), {done['calls']} call(s)"


def switch(*, overwrite: bool, say: Callable[[str], None]) -> dict[str, int]:
    """Step 2: put the staging items back into the live tables; how many per table."""
    from chalicelib.core.settings import get_settings

    s = get_settings()
    client = _client()
    say(reapply_erasures(STAGING))  # erasures logged since the restore was made
    put: dict[str, int] = {}
    for name in table_names():
        live, staging = s.table_name(name), staging_name(name)
        if not _exists(client, staging):
            raise click.ClickException(f"{staging} does not exist: run restore --to <moment> first")
        keys = _keys(client, live)
        condition = " AND ".join(f"attribute_not_exists(#k{i})" for i in range(len(keys)))
        names = {f"#k{i}": k for i, k in enumerate(keys)}
        if overwrite:  # no condition to check: 25 items a BatchWriteItem
            count = write_all(client, live, _items(client, staging))
            put[name] = count
            say(f"{live}: {count} item(s) written from {staging}")
            continue
        count = 0
        for item in _items(client, staging):  # conditional puts: BatchWriteItem takes no condition
            try:
                client.put_item(
                    TableName=live, Item=item, ConditionExpression=condition, ExpressionAttributeNames=names
                )
                count += 1
            except client.exceptions.ConditionalCheckFailedException:
                pass  # the live table has it: kept as it is now
        put[name] = count
        say(f"{live}: {count} item(s) put back from {staging}")
    say(reapply_erasures(None))
    return put


BATCH = 25  # BatchWriteItem's most items a request
BATCH_TRIES = 8  # requests for one batch while DynamoDB leaves items unprocessed (throttling)


def write_all(client: Any, table: str, items: Iterable[dict[str, Any]], *, pause: float = 0.05) -> int:
    """Every item put into ``table`` by BatchWriteItem, 25 a request, the items DynamoDB leaves
    unprocessed sent again with a growing pause; how many were written."""
    count = 0
    batch: list[dict[str, Any]] = []
    for item in items:
        batch.append({"PutRequest": {"Item": item}})
        if len(batch) == BATCH:
            count += _write_batch(client, table, batch, pause)
            batch = []
    if batch:
        count += _write_batch(client, table, batch, pause)
    return count


def _write_batch(client: Any, table: str, requests: list[dict[str, Any]], pause: float) -> int:
    pending: dict[str, Any] = {table: requests}
    for attempt in range(BATCH_TRIES):
        if attempt:
            time.sleep(min(2.0, pause * 2 ** (attempt - 1)))
        pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
        if not pending:
            return len(requests)
    left = len(pending.get(table, []))
    raise click.ClickException(
        f"{table}: DynamoDB left {left} item(s) unprocessed after {BATCH_TRIES} tries; run the switch again"
    )


def discard(*, say: Callable[[str], None]) -> int:

    client = _client()
    gone = 0
    for name in table_names():
        staging = staging_name(name)
        if _exists(client, staging):
            client.delete_table(TableName=staging)
            gone += 1
            say(f"deleted {staging}")
    return gone


@click.command()
@click.option("--stage", default=LOCAL, show_default=True)
@click.option("--to", "moment", default=None, help="the moment to restore to, e.g. 2026-12-07T09:55Z, or 'latest'")
@click.option("--dry-run", is_flag=True, help="with --to: only say what would be done")
@click.option("--switch", "do_switch", is_flag=True, help="put back into the live tables what they lost")
@click.option("--overwrite", is_flag=True, help="with --switch: the restored items replace the live ones too")
@click.option("--discard", "do_discard", is_flag=True, help="delete the staging tables")
@click.pass_obj
def restore(
    project: Project,
    stage: str,
    moment: str | None,
    dry_run: bool,
    do_switch: bool,
    overwrite: bool,
    do_discard: bool,
) -> None:
    """Restore a stage's tables to a moment (staging tables, erasures re-applied), then put back what was lost."""
    chosen = [name for name, on in (("--to", moment), ("--switch", do_switch), ("--discard", do_discard)) if on]
    if len(chosen) != 1:
        raise click.UsageError("give exactly one of --to <moment>, --switch, --discard")
    with stage_environment(project, stage):
        if moment is not None:
            at = None if moment.strip().lower() == "latest" else parse_time(moment)
            found = restore_to(at, dry_run=dry_run, say=click.echo)
            if found:
                raise click.ClickException("nothing was restored:\n  - " + "\n  - ".join(found))
        elif do_switch:
            switch(overwrite=overwrite, say=click.echo)
        else:
            discard(say=click.echo)

"""``calltracking keys create|list|revoke``: management API keys, stored hashed in the stage's counters table.

``create`` prints the key (``ct_<key id>_<secret>``) on stdout, once: only a hash is kept,
so a lost key is revoked and replaced, never recovered. Notes go to stderr, so
``KEY=$(calltracking keys create --name ci)`` captures just the key. ``list`` never shows a key
or a hash. ``revoke`` takes effect at once in this process and within 60 s in every running
Lambda (each caches a good key for that long). The local stage (default) follows ``make run``'s
DDB_PORT; a deployed stage uses its TABLE_PREFIX against AWS (credentials from the environment;
it needs dynamodb:GetItem, PutItem, Query and UpdateItem on the stage's counters table).

``--scope`` (``read``, ``write`` or ``admin``) says what the key may do; ``write`` unless given,
so that a key able to add a webhook or an alert recipient (where call data is sent) is always
asked for by name. Keys made before scopes existed are listed, and work, as ``admin``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from calltracking_cli.output import columns, echo_json, show
from calltracking_cli.project import LOCAL, Project, run_audited, run_on_stage

stage_option = click.option("--stage", default=LOCAL, show_default=True, help="whose tables")
json_option = click.option("--json", "as_json", is_flag=True, help="print JSON instead of text")


def _run(project: Project, stage: str, action: Callable[[Any], Any]) -> Any:
    """``action(apikeys module)`` against the stage's tables (see ``run_on_stage``)."""
    return run_on_stage(project, stage, "chalicelib.access.apikeys", action, show_table=True)


def _change(project: Project, stage: str, action: Callable[[Any, Any], Any]) -> Any:
    """``action(apikeys module, ctx)``: a change, audited as the CLI's (see ``run_audited``)."""
    return run_audited(project, stage, "chalicelib.access.apikeys", action, show_table=True)


def _table(keys: list[dict[str, Any]]) -> None:
    if not keys:
        click.echo("no API keys", err=True)
        return
    rows = [("ID", "NAME", "SCOPE", "CREATED", "STATUS", "KEY")]
    for k in keys:
        status = f"revoked {k['revoked_at']}" if k["revoked_at"] else "active"
        rows.append((k["id"], k["name"], k["scope"], k["created_at"] or "", status, f"ct_{k['id']}_...{k['hint']}"))
    columns(rows)


@click.group()
def keys() -> None:
    """Management API keys: create (shown once), list, revoke."""


@keys.command()
@click.option("--name", required=True, help="who or what uses it, e.g. 'CI deploys'")
@click.option(
    "--scope",
    type=click.Choice(["read", "write", "admin"]),
    default="write",
    show_default=True,
    help="read: GETs; write: also changes channels, pools, numbers, outcomes, spend; admin: also webhooks, alerts",
)
@stage_option
@json_option
@click.pass_obj
def create(project: Project, name: str, scope: str, stage: str, as_json: bool) -> None:
    """Make a key and print it (once)."""
    made = _change(project, stage, lambda apikeys, ctx: apikeys.create(name, scope, ctx=ctx))
    if as_json:
        echo_json(made)
    else:
        click.echo(
            f"created API key {made['id']} ({made['name']}, scope {made['scope']}); it is shown only now:", err=True
        )
        click.echo(made["key"])


@keys.command(name="list")
@stage_option
@json_option
@click.pass_obj
def list_(project: Project, stage: str, as_json: bool) -> None:
    """Every key: id, name, scope, dates, status, last 4 characters."""
    show(_run(project, stage, lambda apikeys: apikeys.list_keys()), as_json, _table)


@keys.command()
@click.argument("key_id", metavar="KEY_ID")
@stage_option
@json_option
@click.pass_obj
def revoke(project: Project, key_id: str, stage: str, as_json: bool) -> None:
    """Stop a key from working (by id; a pasted key works too, and is never echoed)."""
    key_id = key_id.strip()
    if key_id.startswith("ct_"):
        key_id = key_id[3:].split("_", 1)[0]
    gone = _change(project, stage, lambda apikeys, ctx: apikeys.revoke(key_id, ctx=ctx))
    if as_json:
        echo_json(gone)
    else:
        click.echo(f"revoked {gone['id']} ({gone['name']}) at {gone['revoked_at']}")
        click.echo("running Lambdas stop accepting it within 60 s", err=True)

"""``calltracking numbers buy|list|release``: a stage's tracking numbers, through the same code as the API.

Buying needs a channel or a pool (``--channel`` / ``--pool``): a number belongs to one, and its
webhooks carry that line's phone. Against a deployed stage this talks to Twilio with the auth
token from SSM, exactly as the Lambda does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

from calltracking_cli.project import LOCAL, Project, run_audited, run_on_stage

stage_option = click.option("--stage", default=LOCAL, show_default=True)


def _run(project: Project, stage: str, action: Callable[[Any], Any]) -> Any:
    """``action(numbers module)`` against the stage's tables (see ``run_on_stage``)."""
    return run_on_stage(project, stage, "chalicelib.numbers", action, show_table=False)


def _change(project: Project, stage: str, action: Callable[[Any, Any], Any]) -> Any:
    """``action(numbers module, ctx)``: a change, audited as the CLI's (see ``run_audited``)."""
    return run_audited(project, stage, "chalicelib.numbers", action, show_table=False)


@click.group()
def numbers() -> None:
    """Tracking numbers: buy, list, release."""


@numbers.command()
@click.option("--channel", "channel_id", default=None, help="the channel's id")
@click.option("--pool", "pool_id", default=None, help="the pool's id")
@click.option("--area-code", default=None)
@click.option("--country", default=None, help="ISO country, e.g. US")
@click.option("--number", default=None, help="a specific available number (E.164)")
@stage_option
@click.pass_obj
def buy(
    project: Project,
    channel_id: str | None,
    pool_id: str | None,
    area_code: str | None,
    country: str | None,
    number: str | None,
    stage: str,
) -> None:
    """Buy a number for a channel or a pool; its webhooks point at the stage."""
    body = {
        k: v
        for k, v in {
            "channel_id": channel_id,
            "pool_id": pool_id,
            "area_code": area_code,
            "country": country,
            "number": number,
        }.items()
        if v
    }
    click.echo(json.dumps(_change(project, stage, lambda n, ctx: n.provision(body, ctx=ctx)), indent=2))


@numbers.command(name="list")
@click.option("--all", "include_released", is_flag=True, help="released numbers too")
@stage_option
@click.pass_obj
def list_(project: Project, include_released: bool, stage: str) -> None:
    """The stage's numbers: number, status, channel or pool."""

    def listed(n: Any) -> list[dict[str, Any]]:
        from chalicelib.store import lines

        items = [n.to_dict(item) for item in lines.list_numbers()]
        return [i for i in items if include_released or i["status"] == "active"]

    for item in sorted(_run(project, stage, listed), key=lambda i: i["number"]):
        owner = f"channel {item['channel_id']}" if item["channel_id"] else f"pool {item['pool_id']}"
        click.echo(f"{item['number']}  {item['status']:<8}  {item['kind']:<8}  {owner}")


@numbers.command()
@click.argument("number")
@stage_option
@click.pass_obj
def release(project: Project, number: str, stage: str) -> None:
    """Give a number back to the carrier (its calls stay)."""
    click.echo(json.dumps(_change(project, stage, lambda n, ctx: n.release(number, ctx=ctx)), indent=2))

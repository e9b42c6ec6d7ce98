"""``calltracking callers rotate-key|key``: the key that caller hashes are made with.

Report sets and first-touch items never hold a caller's number, only HMAC-SHA256 of it with a
secret key kept in SSM (``CALLER_PEPPER_PARAM``; ``calltracking setup`` makes it once and never
overwrites it). ``rotate-key`` puts a new key first in the ring and keeps the previous one for
reads: within ``SECRETS_REFRESH_SECONDS`` every Lambda hashes new data with the new key and still
finds what was hashed with the old one; data older than that expires with retention. Unique
callers over a range that spans a rotation are approximate (a caller may count twice). ``key``
says which versions the ring holds (never a secret). The owner's credentials need
ssm:GetParameter and ssm:PutParameter on the parameter.
"""

from __future__ import annotations

from typing import Any

import click

from calltracking_cli.project import LOCAL, Project, run_on_stage

stage_option = click.option("--stage", default=LOCAL, show_default=True, help="whose key")


def _param() -> str:
    from chalicelib.core.settings import get_settings

    name = get_settings().caller_pepper_param
    if not name:
        raise click.ClickException(
            "this stage keeps its caller-hash key in plain text (CALLER_PEPPER in .chalice/config.json, "
            "VERSION:SECRET entries, newest first): edit it there; deployed stages keep it in SSM"
        )
    return name


@click.group()
def callers() -> None:
    """Callers' data: the key caller hashes are made with."""


@callers.command("rotate-key")
@stage_option
@click.pass_obj
def rotate_key(project: Project, stage: str) -> None:
    """Make a new caller-hash key; new data uses it, reads accept the previous one too."""

    def act(secrets: Any) -> int:
        from chalicelib.core import callerkeys

        name = _param()
        ring, version = callerkeys.rotated(secrets.parameter(name, "the caller-hash key"))
        secrets.put_parameter(name, ring)
        return version

    version = run_on_stage(project, stage, "chalicelib.core.secrets", act, show_table=False)
    click.echo(f"caller-hash key {version} made; key {version - 1} kept for reads")
    click.echo("every Lambda takes it within SECRETS_REFRESH_SECONDS; unique callers across it are approximate")


@callers.command("key")
@stage_option
@click.pass_obj
def key(project: Project, stage: str) -> None:
    """Which caller-hash key versions the ring holds (newest first); never a secret."""

    def act(secrets: Any) -> list[int]:
        from chalicelib.core import callerkeys

        return [k.version for k in callerkeys.parse(secrets.caller_pepper())]

    versions = run_on_stage(project, stage, "chalicelib.core.secrets", act, show_table=False)
    click.echo("caller-hash key versions: " + ", ".join(str(v) for v in versions))

"""``calltracking callers rotate-key|key|reapply-erasures``: the key that caller hashes are made
with, and the erasure log re-applied after a restore.

Report sets and first-touch items never hold a caller's number, only HMAC-SHA256 of it with a
secret key kept in SSM (``CALLER_PEPPER_PARAM``; ``calltracking setup`` makes it once and never
overwrites it). ``rotate-key`` puts a new key first in the ring and keeps the previous one for
reads: within ``SECRETS_REFRESH_SECONDS`` every Lambda hashes new data with the new key and still
finds what was hashed with the old one; data older than that expires with retention. Unique
callers over a range that spans a rotation are approximate (a caller may count twice). ``key``
says which versions the ring holds (never a secret). The owner's credentials need
ssm:GetParameter and ssm:PutParameter on the parameter.

``reapply-erasures``, after a point-in-time restore of the tables (which brings back callers
erased since the restore's point): every erasure in the bucket's erasure log (``erasures/``)
done again (``chalicelib.privacy.reapply_erasures``); safe to run twice, and ``--start-after``
goes on where a stopped run said. Changes made here are in the audit log as ``cli:<AWS identity>``.
"""

from __future__ import annotations

from typing import Any

import click

from calltracking_cli.project import LOCAL, Project, run_audited, run_on_stage

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
    """Callers' data: the key caller hashes are made with; erasures re-applied after a restore."""


@callers.command("rotate-key")
@stage_option
@click.pass_obj
def rotate_key(project: Project, stage: str) -> None:
    """Make a new caller-hash key; new data uses it, reads accept the previous one too."""

    def act(secrets: Any, ctx: Any) -> int:
        from chalicelib.core import callerkeys
        from chalicelib.core.context import log_change

        name = _param()
        ring, version = callerkeys.rotated(secrets.parameter(name, "the caller-hash key"))
        secrets.put_parameter(name, ring)
        log_change(ctx, "callers.rotate_key", version=version)  # the version, never the key
        return version

    version = run_audited(project, stage, "chalicelib.core.secrets", act, show_table=False)
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


@callers.command("reapply-erasures")
@stage_option
@click.option("--start-after", default=None, help="the erasure log key a stopped run said to go on after")
@click.pass_obj
def reapply_erasures(project: Project, stage: str, start_after: str | None) -> None:
    """After a restore of the tables: every logged erasure done again (safe to repeat)."""

    def act(privacy: Any, ctx: Any) -> dict[str, Any]:
        done: dict[str, Any] = privacy.reapply_erasures(ctx, start_after=start_after)
        return done

    done = run_audited(project, stage, "chalicelib.privacy", act, show_table=True)
    click.echo(f"{done['objects']} erasure log object(s) read; {done['calls']} restored call(s) erased again")

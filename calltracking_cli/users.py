"""``calltracking users create|list|disable|enable|unlock|phone``: the people who may sign in to the dashboard.

``create`` asks for the password twice in a terminal (leave it empty to have one made up);
otherwise (``--generate``, or no terminal) it makes one up and prints it on stdout, once: only
an Argon2 hash is kept. ``--password-stdin`` reads it from the first line of standard input
(scripts and tests), never from the command line, where other users of the machine could see it.
``disable`` ends the user's sessions at once; ``enable`` lets them sign in again.
``unlock`` clears every sign-in failure count of the email (the 429's lock), from every address.
``phone EMAIL [PHONE]`` sets the user's own phone (a call back rings it first; as the Account page
does), or removes it when PHONE is left out.
``make user EMAIL=... ROLE=admin`` runs ``create``; ``make users`` runs ``list``.

The local stage (default) follows ``make run``'s DDB_PORT; a deployed stage uses its
TABLE_PREFIX against AWS (credentials from the environment; the table is printed to stderr).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

from calltracking_cli.output import columns, echo_json, show
from calltracking_cli.project import LOCAL, Project, run_audited, run_on_stage

stage_option = click.option("--stage", default=LOCAL, show_default=True, help="whose tables")
json_option = click.option("--json", "as_json", is_flag=True, help="print JSON instead of text")


def _run(project: Project, stage: str, action: Callable[[Any], Any]) -> Any:
    """``action(users module)`` against the stage's tables (see ``run_on_stage``)."""
    return run_on_stage(project, stage, "chalicelib.dashboard.users", action, show_table=True)


def _change(project: Project, stage: str, action: Callable[[Any, Any], Any]) -> Any:
    """``action(users module, ctx)``: a change, audited as the CLI's (see ``run_audited``)."""
    return run_audited(project, stage, "chalicelib.dashboard.users", action, show_table=True)


def _password(email: str, generate: bool, password_stdin: bool) -> tuple[str | None, bool]:
    """The new user's password (None: make one up), and whether it is made up here (then it is printed)."""
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n"), False
    if generate or not sys.stdin.isatty():
        return None, True
    first = click.prompt(f"password for {email} (empty: make one up)", default="", hide_input=True, show_default=False)
    if not first:
        return None, True
    if click.prompt("again", hide_input=True) != first:
        raise click.ClickException("the two passwords differ")
    return first, False


def _table(found: list[dict[str, Any]]) -> None:
    if not found:
        click.echo("no users: add one with `make user EMAIL=you@example.com ROLE=admin`", err=True)
        return
    rows = [("EMAIL", "ROLE", "STATUS", "CREATED")]
    rows += [(u["email"], u["role"], "disabled" if u["disabled"] else "active", u["created_at"] or "") for u in found]
    columns(rows)


@click.group()
def users() -> None:
    """Dashboard users: create (admin or viewer), list, disable, enable, unlock, phone."""


@users.command()
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice(["admin", "viewer"]))
@click.option("--generate", is_flag=True, help="make a password up and print it")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
@stage_option
@json_option
@click.pass_obj
def create(
    project: Project, email: str, role: str, generate: bool, password_stdin: bool, stage: str, as_json: bool
) -> None:
    """Add a user (a made-up password is printed once)."""
    if generate and password_stdin:
        raise click.UsageError("--generate and --password-stdin exclude each other")
    chosen, made_up = _password(email, generate, password_stdin)

    def add(module: Any, ctx: Any) -> tuple[dict[str, Any], str]:
        password = chosen if chosen is not None else module.generate_password()
        return module.create_user(email, role, password, ctx=ctx), password

    made, password = _change(project, stage, add)
    if as_json:
        echo_json({**made, "password": password} if made_up else made)
        return
    click.echo(f"added {made['email']} ({made['role']})", err=True)
    if made_up:
        click.echo("password (shown only now):", err=True)
        click.echo(password)


@users.command(name="list")
@stage_option
@json_option
@click.pass_obj
def list_(project: Project, stage: str, as_json: bool) -> None:
    """Every user: email, role, status, when added."""
    show(_run(project, stage, lambda module: module.list_users()), as_json, _table)


def _set_disabled(project: Project, stage: str, email: str, disabled: bool, as_json: bool) -> None:
    changed = _change(project, stage, lambda module, ctx: module.set_disabled(email, disabled, ctx=ctx))
    show(changed, as_json, lambda c: click.echo(f"{c['email']} is {'disabled' if c['disabled'] else 'active'}"))


@users.command()
@click.argument("email")
@stage_option
@json_option
@click.pass_obj
def disable(project: Project, email: str, stage: str, as_json: bool) -> None:
    """Stop a user signing in; their sessions end at once."""
    _set_disabled(project, stage, email, True, as_json)


@users.command()
@click.argument("email")
@stage_option
@json_option
@click.pass_obj
def enable(project: Project, email: str, stage: str, as_json: bool) -> None:
    """Let a disabled user sign in again."""
    _set_disabled(project, stage, email, False, as_json)


@users.command()
@click.argument("email")
@stage_option
@json_option
@click.pass_obj
def unlock(project: Project, email: str, stage: str, as_json: bool) -> None:
    """Clear a user's failed sign-ins, so they may sign in again at once from any address."""
    done = _change(project, stage, lambda module, ctx: module.unlock(email, ctx=ctx))
    cleared = "{email} can sign in again ({cleared} sign-in counters cleared)"
    show(done, as_json, lambda d: click.echo(cleared.format(**d)))


@users.command()
@click.argument("email")
@click.argument("number", required=False, default="")
@stage_option
@json_option
@click.pass_obj
def phone(project: Project, email: str, number: str, stage: str, as_json: bool) -> None:
    """Set the user's own phone (a call back rings it first); without NUMBER, remove it."""
    done = _change(project, stage, lambda module, ctx: module.set_phone(email, number, ctx=ctx))
    show(done, as_json, lambda d: click.echo(f"{d['email']}'s phone: {d['phone'] or 'none'}"))

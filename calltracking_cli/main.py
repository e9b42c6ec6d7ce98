"""The ``calltracking`` command group. A command is one module with one Click command, listed in COMMANDS."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import click

from calltracking_cli.project import ROOT, Project

# module -> its command's name; adding a command is one file and one line here.
COMMANDS = {
    "setup": "calltracking_cli.setup",
    "deploy": "calltracking_cli.deploy",
    "status": "calltracking_cli.status",
    "numbers": "calltracking_cli.numbers",
    "keys": "calltracking_cli.keys",
    "call": "calltracking_cli.call",
    "users": "calltracking_cli.users",
    "migrate": "calltracking_cli.migrate",
    "callers": "calltracking_cli.callers",
    "cost": "calltracking_cli.cost",
    "restore": "calltracking_cli.restore",
}


class LazyGroup(click.Group):
    """Imports a command's module only when it runs, so ``calltracking --help`` and ``call`` stay quick."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        command = getattr(importlib.import_module(COMMANDS[cmd_name]), cmd_name)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup)
@click.option(
    "--project-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=ROOT,
    show_default=False,
    help="the checkout (default: the one this tool is in)",
)
@click.pass_context
def cli(ctx: click.Context, project_dir: Path) -> None:
    """Call tracking: set up and deploy a stage, see what is deployed, manage numbers and API keys."""
    root = project_dir.resolve()
    from calltracking_cli import awscalls

    awscalls.install_from_env()
    # chalicelib and scripts are imported from the checkout, as `chalice deploy` does.
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    ctx.obj = Project(root)

"""The local stage's environment from .chalice/config.json, for scripts that import chalicelib."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def stage_env(stage: str = "local") -> dict[str, str]:
    """The stage's variables; for the local stage with ``make run``'s DDB_PORT/API_PORT applied
    (calltracking_cli.project is the one place that knows how)."""
    from calltracking_cli.project import LOCAL, Project, local_ports

    project = Project(ROOT)
    env = project.stage_env(stage)
    return {**env, **local_ports(os.environ)} if stage == LOCAL else env


def apply(overrides: dict[str, str] | None = None, stage: str = "local") -> dict[str, str]:
    """Put the stage's variables (then ``overrides``) into os.environ before chalicelib is imported."""
    env = {**stage_env(stage), **(overrides or {})}
    os.environ.update(env)
    return env

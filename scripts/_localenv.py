"""The local stage's environment from .chalice/config.json, for scripts that import chalicelib."""

from __future__ import annotations

import json
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def stage_env(stage: str = "local") -> dict[str, str]:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    env = dict(config.get("environment_variables", {}))
    env.update(config["stages"][stage].get("environment_variables", {}))
    return env


def apply(overrides: dict[str, str] | None = None, stage: str = "local") -> dict[str, str]:
    """Put the stage's variables (then ``overrides``) into os.environ before chalicelib is imported."""
    env = {**stage_env(stage), **(overrides or {})}
    os.environ.update(env)
    return env

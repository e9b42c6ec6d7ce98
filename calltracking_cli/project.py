"""The checkout the CLI works on: its stages in ``.chalice/config.json``, their environment, and
``.chalice/deploy.json`` (what Chalice's config has no place for: region, account, alarm email).

Every command takes its settings from here, so ``make call``, ``make apikey`` and ``make run``
agree: the local stage's endpoints follow ``DDB_PORT`` and ``API_PORT`` exactly as
``scripts/run-local.sh`` sets them (the issue's bug was that only ``make run`` honoured them).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LOCAL = "local"
# A stage's environment may be pointed elsewhere by these (tests, the local stack); a deployed
# stage's own values (table prefix, secrets' names) always win over anything else in the shell.
ENDPOINT_OVERRIDES = (
    "DYNAMODB_ENDPOINT",
    "SQS_ENDPOINT",
    "S3_ENDPOINT",
    "SSM_ENDPOINT",
    "TWILIO_API_BASE_URL",
    "STORE_CONNECT_TIMEOUT",
    "STORE_READ_TIMEOUT",
    "STORE_MAX_ATTEMPTS",
    "SSM_CONNECT_TIMEOUT",
    "SSM_READ_TIMEOUT",
    "SSM_MAX_ATTEMPTS",
)
# A command run from a laptop against AWS can afford to wait longer than the app does.
CLI_TIMEOUTS = {
    "STORE_CONNECT_TIMEOUT": "5",
    "STORE_READ_TIMEOUT": "20",
    "STORE_MAX_ATTEMPTS": "5",
    "SSM_CONNECT_TIMEOUT": "5",
    "SSM_READ_TIMEOUT": "10",
    "SSM_MAX_ATTEMPTS": "3",
}


def local_ports(environ: Mapping[str, str]) -> dict[str, str]:
    """What ``make run`` (scripts/run-local.sh) derives from ``DDB_PORT`` and ``API_PORT``."""
    found: dict[str, str] = {}
    ddb = environ.get("DDB_PORT", "").strip()
    if ddb:
        if not ddb.isdigit():
            raise ValueError(f"DDB_PORT must be a port number, not {ddb!r}")
        endpoint = f"http://127.0.0.1:{ddb}"
        # moto's server serves DynamoDB, its stream, SQS and S3 on the one port.
        found |= {"DYNAMODB_ENDPOINT": endpoint, "SQS_ENDPOINT": endpoint, "S3_ENDPOINT": endpoint}
    api = environ.get("API_PORT", "").strip()
    if api:
        if not api.isdigit():
            raise ValueError(f"API_PORT must be a port number, not {api!r}")
        found["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{api}"
    return found


@dataclass(frozen=True)
class Project:
    """A checkout: ``root`` holds ``app.py``, ``.chalice/`` and ``infra/``."""

    root: Path = ROOT

    @property
    def config_path(self) -> Path:
        return self.root / ".chalice" / "config.json"

    @property
    def deploy_path(self) -> Path:
        return self.root / ".chalice" / "deploy.json"

    @property
    def template_path(self) -> Path:
        return self.root / "infra" / "tables.yaml"

    def config(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.config_path.read_text())
        return data

    def write_config(self, config: dict[str, Any]) -> None:
        self.config_path.write_text(json.dumps(config, indent=2) + "\n")

    def stages(self) -> list[str]:
        return list(self.config().get("stages", {}))

    def stage(self, stage: str) -> dict[str, Any]:
        stages: dict[str, Any] = self.config().get("stages", {})
        if stage not in stages:
            raise KeyError(f"no stage {stage!r} in {self.config_path}: run `calltracking setup --stage {stage}`")
        found: dict[str, Any] = stages[stage]
        return found

    def stage_env(self, stage: str = LOCAL) -> dict[str, str]:
        """The stage's environment variables as its Lambda sees them (config-wide ones, then the stage's)."""
        config = self.config()
        env = dict(config.get("environment_variables", {}))
        env.update(self.stage(stage).get("environment_variables", {}))
        return {k: str(v) for k, v in env.items()}

    def deploy_settings(self, stage: str) -> dict[str, Any]:
        """What ``setup`` recorded for a deployed stage (region, account, alarm email)."""
        if not self.deploy_path.exists():
            return {}
        found: dict[str, Any] = json.loads(self.deploy_path.read_text()).get("stages", {}).get(stage, {})
        return found

    def write_deploy_settings(self, stage: str, values: dict[str, Any]) -> None:
        data = json.loads(self.deploy_path.read_text()) if self.deploy_path.exists() else {"stages": {}}
        data.setdefault("stages", {})[stage] = values
        self.deploy_path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")

    def deployed(self, stage: str) -> dict[str, Any]:
        """``.chalice/deployed/<stage>.json``, as ``chalice deploy`` writes it ({} before the first deploy)."""
        path = self.root / ".chalice" / "deployed" / f"{stage}.json"
        if not path.exists():
            return {}
        data: dict[str, Any] = json.loads(path.read_text())
        return data

    def effective_env(self, stage: str, environ: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment a command runs chalicelib with, for ``stage``.

        Local stage: the config, then ``DDB_PORT``/``API_PORT`` (``make run``'s ports), then
        anything already set in the environment (tests point it at their own DynamoDB).
        Deployed stage: the laptop timeouts, the config (which wins over the shell: a stale
        ``TABLE_PREFIX`` must not send a command to another stage's tables), then only the
        endpoint overrides from the environment.
        """
        environ = os.environ if environ is None else environ
        if stage == LOCAL:
            return {**self.stage_env(stage), **local_ports(environ), **environ}
        env = {**CLI_TIMEOUTS, **self.stage_env(stage)}
        env |= {k: environ[k] for k in ENDPOINT_OVERRIDES if environ.get(k)}
        region = self.deploy_settings(stage).get("region")
        if region:  # the stage's region, whatever AWS_REGION the shell has (chalicelib reads AWS_REGION first)
            env |= {"AWS_REGION": region, "AWS_DEFAULT_REGION": region}
        return {**environ, **env}


@contextmanager
def stage_environment(
    project: Project, stage: str, *, extra: Mapping[str, str] | None = None
) -> Iterator[dict[str, str]]:
    """Run chalicelib code against ``stage``: its environment in ``os.environ``, settings and clients fresh.

    chalicelib reads the environment once (``settings.get_settings``) and caches its clients;
    both are reset on the way in and out, so one process can run a command against a stage and
    go back to what it was.
    """
    # Function-level imports: chalicelib reads settings lazily, and the CLI's --help should not load it.
    from chalicelib.core import secrets
    from chalicelib.core import settings as settings_module
    from chalicelib.core.telephony import set_provider
    from chalicelib.store import connections

    before = dict(os.environ)
    env = {**project.effective_env(stage), **(extra or {})}

    def reset() -> None:
        settings_module.get_settings.cache_clear()
        secrets.clear_cache()
        connections.reset()
        set_provider(None)

    os.environ.clear()
    os.environ.update(env)
    reset()
    try:
        yield env
    finally:
        os.environ.clear()
        os.environ.update(before)
        reset()


def run_on_stage(project: Project, stage: str, module: str, action: Callable[[Any], Any], *, show_table: bool) -> Any:
    """``action(<the chalicelib module>)`` against ``stage``'s tables; an API error becomes Click's
    message and exit 1 (never a traceback). ``show_table`` names the counters table on stderr, so
    an owner sees which stage's data a command touched."""
    import importlib

    import click

    with stage_environment(project, stage):
        from chalicelib.core.errors import ApiError
        from chalicelib.core.settings import get_settings

        if show_table:
            s = get_settings()
            click.echo(f"table {s.table_name('counters')} ({s.dynamodb_endpoint or f'AWS {s.region}'})", err=True)
        try:
            return action(importlib.import_module(module))
        except ApiError as exc:
            raise click.ClickException(exc.message) from None


_identity: list[str] = []  # the AWS identity of this run's credentials, asked once


def aws_identity() -> str:
    """The ARN the credentials of this run are (STS GetCallerIdentity, once per run), or
    ``unknown`` when STS cannot say (no credentials: nothing else would work either)."""
    if not _identity:
        from chalicelib.core import aws  # inside the stage's environment: its region and endpoint
        from chalicelib.core.settings import get_settings

        try:
            arn = aws.client("sts", aws.patient(), endpoint=get_settings().dynamodb_endpoint).get_caller_identity()
            _identity.append(str(arn["Arn"]))
        except Exception:  # an audit line must not stop the owner's command
            _identity.append("unknown")
    return _identity[0]


def run_audited(
    project: Project, stage: str, module: str, action: Callable[[Any, Any], Any], *, show_table: bool
) -> Any:
    """``run_on_stage`` for a command that changes something: ``action(module, ctx)`` with the
    CLI's context (``core.context.cli_context``: ``cli:<AWS identity>``), and the audit log's
    writer installed, so the change is stored as the API's and the dashboard's are (``log_change``)."""

    def audited(found: Any) -> Any:
        from chalicelib import audit  # inside the stage's environment: its tables
        from chalicelib.core.context import cli_context

        audit.install()
        return action(found, cli_context(aws_identity()))

    return run_on_stage(project, stage, module, audited, show_table=show_table)

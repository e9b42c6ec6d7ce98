"""Point a stage's IAM policy (``.chalice/policy-<stage>.json``) at your AWS account and region.

Chalice deploys the policy file as it is written (it has no variables), so every ARN in it
names the one region and account the stage runs in, never ``*``. The repository ships them
with the region ``us-east-1`` and AWS's documentation account ``111122223333``; before the
first deploy:

    python -m calltracking_cli.policy set --stage prod --account 123456789012 --region eu-west-1
    python -m calltracking_cli.policy check --stage prod    # what is still the example (exit 1), for a deploy command

After adding an integration (or changing what one declares), write its IAM statements into
each stage's policy, filled for that stage's account, region and table prefix:

    python -m calltracking_cli.policy sync --stage dev
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_ACCOUNT = "111122223333"  # AWS's documentation account: never a real one
ARN = re.compile(r"arn:aws:(?P<service>[a-z0-9-]+):(?P<region>[^:]*):(?P<account>[^:]*):(?P<resource>.+)")
VIA_SSM = re.compile(r"ssm\.(?P<region>[^.]+)\.amazonaws\.com")
REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")
ACCOUNT = re.compile(r"\d{12}")
# S3 bucket and object ARNs name no region and no account (bucket names are global).
GLOBAL_SERVICES = ("s3",)


def path_of(stage: str) -> Path:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    return ROOT / ".chalice" / str(config["stages"][stage]["iam_policy_file"])


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    return []


def arns(policy: dict[str, Any]) -> list[str]:
    """Every ARN the policy names that has a region and an account: in its resources and conditions."""
    found = []
    for statement in policy["Statement"]:
        found += [s for s in _strings(statement.get("Resource", [])) if s.startswith("arn:")]
        found += [s for s in _strings(statement.get("Condition", {})) if s.startswith("arn:")]
    return [a for a in found if not any(a.startswith(f"arn:aws:{g}:") for g in GLOBAL_SERVICES)]


def scoped_to(policy: dict[str, Any]) -> tuple[set[str], set[str]]:
    """The regions and the accounts the policy's ARNs (and its SSM condition) name."""
    regions: set[str] = set()
    accounts: set[str] = set()
    for arn in arns(policy):
        m = ARN.fullmatch(arn)
        if m is None:
            raise ValueError(f"not an ARN: {arn}")
        regions.add(m["region"])
        accounts.add(m["account"])
    for statement in policy["Statement"]:
        for value in _strings(statement.get("Condition", {})):
            via = VIA_SSM.fullmatch(value)
            if via:
                regions.add(via["region"])
    return regions, accounts


def scope(policy: dict[str, Any], *, account: str, region: str) -> dict[str, Any]:
    """The policy with every ARN (and the SSM condition) in ``region`` and ``account``."""
    if not ACCOUNT.fullmatch(account):
        raise ValueError(f"an AWS account is 12 digits, not {account!r}")
    if not REGION.fullmatch(region):
        raise ValueError(f"not an AWS region: {region!r}")

    def rewrite(value: Any) -> Any:
        if isinstance(value, str):
            m = ARN.fullmatch(value)
            if m and m["service"] not in GLOBAL_SERVICES:
                return f"arn:aws:{m['service']}:{region}:{account}:{m['resource']}"
            if VIA_SSM.fullmatch(value):
                return f"ssm.{region}.amazonaws.com"
            return value
        if isinstance(value, list):
            return [rewrite(v) for v in value]
        if isinstance(value, dict):
            return {k: rewrite(v) for k, v in value.items()}  # condition keys stay; their values change
        return value

    statements = [
        {k: rewrite(v) if k in ("Resource", "Condition") else v for k, v in s.items()} for s in policy["Statement"]
    ]
    return {**policy, "Statement": statements}


def fill(statement: dict[str, Any], *, region: str, account: str, prefix: str, stage: str) -> dict[str, Any]:
    """An integration's declared statement (``chalicelib/integrations/registry.py``) for one stage:
    ``{region}``, ``{account}``, ``{prefix}`` (its ``TABLE_PREFIX``) and ``{stage}`` filled in."""
    values = {"region": region, "account": account, "prefix": prefix, "stage": stage}

    def put(value: Any) -> Any:
        if isinstance(value, str):
            return value.format(**values)
        if isinstance(value, list):
            return [put(v) for v in value]
        if isinstance(value, dict):
            return {k: put(v) for k, v in value.items()}
        return value

    return {k: put(v) for k, v in statement.items()}


def _declared(stage: str, policy: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(integration, statement) for every statement the integrations declare, filled for ``stage``."""
    # The CLI reads the declarations, which are strings only (no handler is imported).
    from chalicelib.integrations.wiring import INTEGRATIONS

    regions, accounts = scoped_to(policy)
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    prefix = str(config["stages"][stage]["environment_variables"]["TABLE_PREFIX"])
    return [
        (i.name, fill(declared, region=min(regions), account=min(accounts), prefix=prefix, stage=stage))
        for i in INTEGRATIONS
        for declared in i.iam
    ]


def declared_missing(stage: str) -> list[str]:
    """The integrations' declared statements the stage's policy lacks (same Sid, actions and resources)."""
    policy = json.loads(path_of(stage).read_text())
    by_sid = {st.get("Sid"): st for st in policy["Statement"]}
    missing = []
    for name, want in _declared(stage, policy):
        have = by_sid.get(want.get("Sid"))
        if have is None or _normal(have) != _normal(want):
            missing.append(f"{name}: {json.dumps(want)}")
    return missing


def sync(stage: str) -> list[str]:
    """Write every declared statement into the stage's policy (replacing one of the same Sid, else
    added at the end); the Sids written. Statements nobody declares are the policy's own and stay."""
    path = path_of(stage)
    policy = json.loads(path.read_text())
    statements: list[dict[str, Any]] = policy["Statement"]
    written = []
    for _, want in _declared(stage, policy):
        at = next((n for n, st in enumerate(statements) if st.get("Sid") == want.get("Sid")), None)
        if at is not None and _normal(statements[at]) == _normal(want):
            continue
        if at is None:
            statements.append(want)
        else:
            statements[at] = want
        written.append(str(want.get("Sid")))
    if written:
        path.write_text(json.dumps(policy, indent=2) + "\n")
    return written


def _normal(statement: dict[str, Any]) -> dict[str, Any]:
    """A statement compared as sets (the order of actions and resources means nothing to IAM)."""
    return {k: sorted(_strings(v)) if k in ("Action", "Resource") else v for k, v in statement.items()}


def problems(stage: str) -> list[str]:
    """What keeps the stage's policy from being deployed as it is."""
    regions, accounts = scoped_to(json.loads(path_of(stage).read_text()))
    found = []
    if EXAMPLE_ACCOUNT in accounts:
        found.append(
            f"{path_of(stage).name} names the example account {EXAMPLE_ACCOUNT}: "
            f"run python -m calltracking_cli.policy set --stage {stage} --account <yours> --region <yours>"
        )
    if len(regions) != 1 or len(accounts) != 1 or not all(REGION.fullmatch(r) for r in regions):
        found.append(f"{path_of(stage).name} does not name one region and one account: {regions} {accounts}")
        return found
    found += [
        f"{path_of(stage).name} lacks what an integration declares (python -m calltracking_cli.policy sync "
        f"--stage {stage}): {m}"
        for m in declared_missing(stage)
    ]
    return found


DEPLOYER = ROOT / "infra" / "deployer-policy.json"


def deployer(*, account: str, region: str) -> dict[str, Any]:
    """The deployer policy (``infra/deployer-policy.json``: what a person or CI running ``setup``,
    ``deploy``, ``status`` and the data commands needs) for one account and region."""
    if not ACCOUNT.fullmatch(account):
        raise ValueError(f"{account!r} is not a 12-digit AWS account id")
    if not REGION.fullmatch(region):
        raise ValueError(f"{region!r} is not an AWS region")
    text = DEPLOYER.read_text().replace("REGION", region).replace("ACCOUNT", account)
    policy: dict[str, Any] = json.loads(text)
    return policy


def _matches(pattern: str, value: str) -> bool:
    return re.fullmatch(re.escape(pattern).replace(r"\*", ".*").replace(r"\?", "."), value, re.I) is not None


def allows(policy: dict[str, Any], action: str) -> bool:
    """Whether some statement of ``policy`` allows ``action`` (actions only: the resources are each
    statement's scope, checked by the deploy tests running against names the stage owns)."""
    for statement in policy["Statement"]:
        if statement.get("Effect") != "Allow":
            continue
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if any(_matches(a, action) for a in actions):
            return True
    return False


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    set_cmd = sub.add_parser("set", help="rewrite the stage's policy for an account and region")
    set_cmd.add_argument("--stage", required=True)
    set_cmd.add_argument("--account", required=True)
    set_cmd.add_argument("--region", required=True)
    check = sub.add_parser("check", help="list what is still the example")
    check.add_argument("--stage", required=True)
    sync_cmd = sub.add_parser("sync", help="write the integrations' declared statements into the stage's policy")
    sync_cmd.add_argument("--stage", required=True)
    dep = sub.add_parser("deployer", help="print the deployer's IAM policy for an account and region")
    dep.add_argument("--account", required=True)
    dep.add_argument("--region", required=True)
    args = parser.parse_args(argv)
    if args.cmd == "deployer":
        try:
            print(json.dumps(deployer(account=args.account, region=args.region), indent=2))
        except ValueError as exc:
            sys.exit(str(exc))
        return
    if args.cmd == "sync":
        written = sync(args.stage)
        print(
            f"{path_of(args.stage).relative_to(ROOT)}: "
            + (", ".join(written) + " written" if written else "up to date")
        )
        return
    if args.cmd == "set":
        path = path_of(args.stage)
        policy = scope(json.loads(path.read_text()), account=args.account, region=args.region)
        path.write_text(json.dumps(policy, indent=2) + "\n")
        print(f"{path.relative_to(ROOT)}: every ARN in {args.region}, account {args.account}")
        return
    found = problems(args.stage)
    for problem in found:
        print(problem)
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()

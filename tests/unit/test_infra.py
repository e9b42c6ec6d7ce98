"""infra/tables.yaml and the Lambda's IAM policies, held against the code.

* The template is deployed into moto's CloudFormation and every table compared with its
  PynamoDB model (names, keys, attribute types, GSIs); TTL, point-in-time recovery, SSE and
  the retain policies are read from the template (moto's CloudFormation ignores those).
* cfn-lint passes on the template and on the policies (wrapped in a template, so the action
  names and ARNs are checked too).
* The DynamoDB permissions in ``.chalice/policy-<stage>.json`` are exactly the (table,
  action) pairs that ``chalicelib`` calls, found by reading its source: a new model, index
  or operation without a policy change fails here, and so does a permission nothing uses.
* Every ARN in a policy names one region and one account (``calltracking_cli/policy.py`` sets them),
  never ``*``, and no statement grants ``*`` except where AWS has no resource-level permission:
  the stream event source's ``ListStreams`` and X-Ray's two write actions (Lambda's active
  tracing, ``"xray": true`` on every deployed stage; Chalice adds them only to policies it
  generates). Metrics go to the logs, not to ``PutMetricData``.

The tests of this area that need no database, network or server; the ones that need
the database are in ``tests/integration/test_infra.py``.
"""

from __future__ import annotations

import ast
import contextlib
import json
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from pynamodb.indexes import Index
from pynamodb.models import Model

from calltracking_cli import policy as policy_tool
from chalicelib.core import settings
from chalicelib.integrations.alerts import settings as alert_settings
from chalicelib.integrations.conversions import settings as conversion_settings
from chalicelib.store.models import ALL_MODELS

ROOT = Path(__file__).resolve().parents[2]


TEMPLATE = ROOT / "infra" / "tables.yaml"


CONFIG = json.loads((ROOT / ".chalice" / "config.json").read_text())


DEPLOYED_STAGES = sorted(name for name, stage in CONFIG["stages"].items() if "iam_policy_file" in stage)


REGION = "us-east-1"


STACK_PREFIX = "calltracking-ci-"


# Code that never runs in a deployed Lambda, so the policy need not cover it.
LOCAL_ONLY_MODULES = {
    "calltracking_local/telephony.py",  # TELEPHONY=local only
    "calltracking_local/pump.py",  # the local stack's stand-in for Streams, SQS and the schedule
}


LOCAL_ONLY_FUNCTIONS = {
    ("chalicelib/store/models.py", "create_tables"),  # the local stack and tests; deployments use infra/
    ("chalicelib/site/__init__.py", "demo_response"),  # answers 404 outside the local stage
    ("chalicelib/reports/aggregates.py", "rebuild"),  # an operator's command (scripts/reports.py), not the Lambda
    ("chalicelib/store/calls.py", "scan_all"),  # read only by that rebuild
    # Migrations run from the owner's machine (calltracking migrate / deploy), with the owner's rights.
    ("chalicelib/store/migrations/m002_keyed_callers.py", "step"),
    ("chalicelib/store/migrations/m003_cut_urls.py", "step"),
}


# Lambda's active tracing writes with these; X-Ray has no resource-level permissions ("*").
XRAY_ACTIONS = {"xray:PutTelemetryRecords", "xray:PutTraceSegments"}


# Table-level operations the Lambda must never be allowed, whatever the code does.
FORBIDDEN_DYNAMODB = {
    "dynamodb:CreateTable",
    "dynamodb:DeleteTable",
    "dynamodb:UpdateTable",
    "dynamodb:UpdateTimeToLive",
    "dynamodb:UpdateContinuousBackups",
    "dynamodb:DeleteBackup",
    "dynamodb:RestoreTableFromBackup",
    "dynamodb:RestoreTableToPointInTime",
    "dynamodb:PartiQLDelete",
    "dynamodb:PartiQLUpdate",
}


def _stage_env(stage: str) -> dict[str, str]:
    return {**CONFIG.get("environment_variables", {}), **CONFIG["stages"][stage].get("environment_variables", {})}


def _policy(stage: str) -> dict[str, Any]:
    return json.loads((ROOT / ".chalice" / CONFIG["stages"][stage]["iam_policy_file"]).read_text())


def _scope(stage: str) -> str:
    """``<region>:<account>``, the one place the stage's policy grants anything in."""
    regions, accounts = policy_tool.scoped_to(_policy(stage))
    assert len(regions) == 1 and len(accounts) == 1, (stage, regions, accounts)
    return f"{regions.pop()}:{accounts.pop()}"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statements(policy: dict[str, Any], service: str) -> list[dict[str, Any]]:
    return [s for s in policy["Statement"] if any(a.startswith(service + ":") for a in _as_list(s["Action"]))]


def _suffix(model: type[Model]) -> str:
    """The table's name without the prefix, as ``settings.table_name`` builds it."""
    prefix = settings.get_settings().table_prefix
    name = str(model.Meta.table_name)
    assert name.startswith(prefix), name
    return name[len(prefix) :]


def _index_attrs(model: type[Model]) -> dict[str, str]:
    """Python attribute name -> index name, for the model's indexes."""
    return {k: v.Meta.index_name for k, v in vars(model).items() if isinstance(v, Index)}


@contextlib.contextmanager
def _no_bucket_policy_warning() -> Iterator[None]:
    """moto's CloudFormation skips the bucket's TLS-only policy, the alarms and the email subscription
    (cfn-lint and tests/unit/test_alarms.py check them on the template) and warns so."""
    with warnings.catch_warnings():
        for skipped in ("AWS::S3::BucketPolicy", "AWS::CloudWatch::Alarm", "AWS::SNS::Subscription"):
            warnings.filterwarnings("ignore", message=f"Tried to parse {skipped}", category=UserWarning)
        yield


def test_one_table_per_model() -> None:
    assert sorted(_suffix(m) for m in ALL_MODELS) == sorted(settings.TABLES)


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.__name__)
def test_table_settings_match_model(model: type[Model], template: dict[str, Any]) -> None:
    """TTL, PITR, SSE and retention: moto's CloudFormation drops these, so read the template."""
    resources = [
        r
        for r in template["Resources"].values()
        if r["Type"] == "AWS::DynamoDB::Table"
        and r["Properties"]["TableName"] == {"Fn::Sub": "${TablePrefix}" + _suffix(model)}
    ]
    assert len(resources) == 1, f"one table resource named ${{TablePrefix}}{_suffix(model)}"
    res = resources[0]
    props = res["Properties"]
    assert res["DeletionPolicy"] == "Retain" and res["UpdateReplacePolicy"] == "Retain"
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert props["DeletionProtectionEnabled"] is True
    ttl = model._ttl_attribute()
    if ttl is None:
        assert "TimeToLiveSpecification" not in props
    else:
        assert props["TimeToLiveSpecification"] == {"AttributeName": ttl.attr_name, "Enabled": True}


def test_template_has_only_the_model_tables(template: dict[str, Any]) -> None:
    tables = [r for r in template["Resources"].values() if r["Type"] == "AWS::DynamoDB::Table"]
    assert len(tables) == len(ALL_MODELS) == len(settings.TABLES)
    # TablePrefix names everything; the rest only configure the alarms (tests/unit/test_alarms.py).
    assert set(template["Parameters"]) == {"TablePrefix", "AlarmEmail", "FunctionName", "NoCallsAlarmHours"}


# PynamoDB's methods and the IAM action each needs. TransactWrite needs the actions of its parts.
PYNAMO_ACTIONS = {
    "get": "dynamodb:GetItem",
    "refresh": "dynamodb:GetItem",
    "batch_get": "dynamodb:BatchGetItem",
    "query": "dynamodb:Query",
    "count": "dynamodb:Query",
    "scan": "dynamodb:Scan",
    "save": "dynamodb:PutItem",
    "update": "dynamodb:UpdateItem",
    "delete": "dynamodb:DeleteItem",
    "batch_write": "dynamodb:BatchWriteItem",
    "exists": "dynamodb:DescribeTable",
    "describe_table": "dynamodb:DescribeTable",
    "create_table": "dynamodb:CreateTable",
    "delete_table": "dynamodb:DeleteTable",
    "update_ttl": "dynamodb:UpdateTimeToLive",
}


TRANSACTION_ACTIONS = {
    "save": "dynamodb:PutItem",
    "update": "dynamodb:UpdateItem",
    "delete": "dynamodb:DeleteItem",
    "condition_check": "dynamodb:ConditionCheckItem",
    "get": "dynamodb:GetItem",
}


# Also names of dict methods and of our own module functions: they count only on a known model.
AMBIGUOUS = {"get", "query", "count", "update", "delete", "exists"}


# Builtins whose result carries the models of their arguments: next(iter(Model.query(...))).
PASS_THROUGH = {"next", "iter", "list", "sorted", "reversed", "min", "max", "cast", "tuple"}


# boto3's SSM client methods (chalicelib/core/secrets.py), with the parameter keyword each takes.
SSM_ACTIONS = {
    ("get_parameter", "Name"): {"ssm:GetParameter"},
    ("put_parameter", "Name"): {"ssm:PutParameter"},  # alert channels' secrets (chalicelib/core/secrets.py)
    ("delete_parameter", "Name"): {"ssm:DeleteParameter"},
    ("get_parameters", "Names"): {"ssm:GetParameters"},
    ("get_parameters_by_path", "Path"): {"ssm:GetParametersByPath"},
}


def _item_types() -> list[type[Model]]:
    """Typed item classes that share a table with a model of ``ALL_MODELS`` (the counters table's
    users, sessions, endpoints, recipients, schema item): their requests are that table's."""
    import chalicelib.store.accounts
    import chalicelib.store.alerts
    import chalicelib.store.migrations
    import chalicelib.store.webhooks  # noqa: F401 - imported for the classes they define
    from chalicelib.store.models import StoreModel

    return [m for m in StoreModel.__subclasses__() if m not in ALL_MODELS]


MODELS = {m.__name__: m for m in (*ALL_MODELS, *_item_types())}


@dataclass(frozen=True)
class Use:
    table: str  # suffix, e.g. "numbers"
    action: str
    index: bool  # on the table's indexes (``table/<name>/index/*``)


@dataclass
class Scope:
    models: dict[str, set[str]] = field(default_factory=dict)  # variable -> models it may hold
    transactions: set[str] = field(default_factory=set)  # ``with TransactWrite(...) as tx``
    batches: dict[str, set[str]] = field(default_factory=dict)  # ``with Model.batch_write() as b``


class Source:
    """One module of chalicelib, read well enough to tell which table each PynamoDB call hits.

    Receivers resolve through model class names, variables bound from them, annotations
    (mypy --strict annotates every function) and return annotations of called functions.
    """

    def __init__(self, path: Path, modules: dict[str, Source]) -> None:
        self.rel = path.relative_to(ROOT).as_posix()
        self.tree = ast.parse(path.read_text(), filename=self.rel)
        self.modules = modules
        self.imports: dict[str, tuple[str, str | None]] = {}  # local name -> (module, function or None)
        self.functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
        for node in ast.walk(self.tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                for a in node.names:
                    # `from chalicelib import pools` (a module) or `from chalicelib.pools import load`
                    self.imports[a.asname or a.name] = (node.module, a.name)
            elif isinstance(node, ast.Import):
                for a in node.names:
                    self.imports[a.asname or a.name.split(".")[0]] = (a.name, None)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                self.functions.setdefault(node.name, node)

    # -- resolution --

    def _module(self, name: str) -> Source | None:
        module, member = self.imports.get(name, ("", None))
        dotted = f"{module}.{member}" if member else module
        return self.modules.get(dotted)

    def _function(self, func: ast.expr) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        if isinstance(func, ast.Name):
            if func.id in self.functions:
                return self.functions[func.id]
            module, member = self.imports.get(func.id, ("", None))
            source = self.modules.get(module)
            return source.functions.get(member or "") if source else None
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            source = self._module(func.value.id)
            return source.functions.get(func.attr) if source else None
        return None

    @staticmethod
    def annotation(node: ast.expr | None) -> set[str]:
        """Models an annotation names (not inside dict or Mapping)."""
        if node is None:
            return set()
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return Source.annotation(ast.parse(node.value, mode="eval").body)
        if isinstance(node, ast.Subscript):
            base = node.value.id if isinstance(node.value, ast.Name) else getattr(node.value, "attr", "")
            return set() if base in ("dict", "Dict", "Mapping") else Source.annotation(node.slice)
        found = set()
        for n in ast.walk(node):
            if isinstance(n, ast.Name) and n.id in MODELS:
                found.add(n.id)
            elif isinstance(n, ast.Constant) and isinstance(n.value, str):
                found |= Source.annotation(n)
        return found

    def models_of(self, node: ast.expr, scope: Scope) -> set[str]:
        if isinstance(node, ast.Name):
            return {node.id} if node.id in MODELS else set(scope.models.get(node.id, ()))
        if isinstance(node, ast.Attribute):  # an index keeps its model; a field's value is not a model
            return {m for m in self.models_of(node.value, scope) if node.attr not in MODELS[m].get_attributes()}
        if isinstance(node, ast.Subscript | ast.Starred | ast.Await):
            return self.models_of(node.value, scope)
        if isinstance(node, ast.IfExp):
            return self.models_of(node.body, scope) | self.models_of(node.orelse, scope)
        if isinstance(node, ast.BoolOp):
            return set().union(*(self.models_of(v, scope) for v in node.values))
        if isinstance(node, ast.GeneratorExp | ast.ListComp | ast.SetComp):
            inner = Scope(dict(scope.models), scope.transactions, scope.batches)
            for gen in node.generators:
                self._bind(gen.target, self.models_of(gen.iter, inner), inner)
            return self.models_of(node.elt, inner)
        if isinstance(node, ast.Call):
            func = node.func
            target = self._function(func)
            if target is not None:
                return self.annotation(target.returns)
            if isinstance(func, ast.Name) and func.id in MODELS:
                return {func.id}
            if isinstance(func, ast.Name) and func.id in PASS_THROUGH:
                return set().union(*(self.models_of(a, scope) for a in node.args))
            if isinstance(func, ast.Attribute) and func.attr in PYNAMO_ACTIONS:
                return self.models_of(func.value, scope)  # Model.get(...), Model.index.query(...)
        return set()

    def _bind(self, target: ast.expr, models: set[str], scope: Scope) -> None:
        for n in ast.walk(target):
            if isinstance(n, ast.Name) and models:
                scope.models.setdefault(n.id, set()).update(models)

    def _tuple_returns(self, value: ast.expr) -> list[set[str]] | None:
        target = self._function(value.func) if isinstance(value, ast.Call) else None
        ret = target.returns if target is not None else None
        if isinstance(ret, ast.Subscript) and getattr(ret.value, "id", "") == "tuple":
            elts = ret.slice.elts if isinstance(ret.slice, ast.Tuple) else [ret.slice]
            return [self.annotation(e) for e in elts]
        return None

    def scope_of(self, node: ast.AST, outer: Scope | None = None) -> Scope:
        scope = Scope({k: set(v) for k, v in (outer.models if outer else {}).items()})
        nodes = list(ast.walk(node))
        for _ in range(3):  # bindings that depend on other bindings
            for n in nodes:
                if isinstance(n, ast.arg):
                    self._bind(ast.Name(n.arg), self.annotation(n.annotation), scope)
                elif isinstance(n, ast.Assign | ast.AnnAssign | ast.NamedExpr) and n.value is not None:
                    targets = n.targets if isinstance(n, ast.Assign) else [n.target]
                    for t in targets:
                        rets = self._tuple_returns(n.value)
                        if isinstance(t, ast.Tuple) and rets and len(rets) == len(t.elts):
                            for elt, models in zip(t.elts, rets, strict=True):
                                self._bind(elt, models, scope)
                        elif isinstance(t, ast.Tuple) and isinstance(n.value, ast.Tuple):
                            for elt, val in zip(t.elts, n.value.elts, strict=False):
                                self._bind(elt, self.models_of(val, scope), scope)
                        else:
                            self._bind(t, self.models_of(n.value, scope), scope)
                    if isinstance(n, ast.AnnAssign):
                        self._bind(n.target, self.annotation(n.annotation), scope)
                elif isinstance(n, ast.For | ast.AsyncFor):
                    self._bind(n.target, self.models_of(n.iter, scope), scope)
                elif isinstance(n, ast.With | ast.AsyncWith):
                    for item in n.items:
                        name = item.optional_vars
                        ctx = item.context_expr
                        if not isinstance(name, ast.Name) or not isinstance(ctx, ast.Call):
                            continue
                        called = ctx.func.id if isinstance(ctx.func, ast.Name) else getattr(ctx.func, "attr", "")
                        if called in ("TransactWrite", "TransactGet"):
                            scope.transactions.add(name.id)
                        elif called == "batch_write" and isinstance(ctx.func, ast.Attribute):
                            scope.batches[name.id] = self.models_of(ctx.func.value, scope)
                        else:
                            self._bind(name, self.models_of(ctx, scope), scope)
        return scope

    # -- the calls --

    def uses(self) -> tuple[set[Use], list[str]]:
        """Every (table, action) this module needs, and the PynamoDB calls whose table is unknown."""
        if self.rel in LOCAL_ONLY_MODULES:
            return set(), []
        module_scope = self.scope_of(
            ast.Module(
                [s for s in self.tree.body if not isinstance(s, ast.FunctionDef | ast.ClassDef)], type_ignores=[]
            )
        )
        found: set[Use] = set()
        unknown: list[str] = []
        for fn in ast.walk(self.tree):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if (self.rel, fn.name) in LOCAL_ONLY_FUNCTIONS:
                continue
            scope = self.scope_of(fn, module_scope)
            for call in ast.walk(fn):
                if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)):
                    continue
                self._classify(call, call.func, scope, found, unknown)
        return found, unknown

    def _classify(self, call: ast.Call, func: ast.Attribute, scope: Scope, found: set[Use], unknown: list[str]) -> None:
        where = f"{self.rel}:{call.lineno}"
        recv, method = func.value, func.attr
        if isinstance(recv, ast.Name) and recv.id in scope.transactions and method in TRANSACTION_ACTIONS:
            models = self.models_of(call.args[0], scope) if call.args else set()
            if not models:
                unknown.append(f"{where}: {recv.id}.{method}(...)")
            found.update(Use(_suffix(MODELS[m]), TRANSACTION_ACTIONS[method], False) for m in models)
            return
        if isinstance(recv, ast.Name) and recv.id in scope.batches and method in ("save", "delete"):
            found.update(Use(_suffix(MODELS[m]), "dynamodb:BatchWriteItem", False) for m in scope.batches[recv.id])
            return
        if method not in PYNAMO_ACTIONS:
            return
        if isinstance(recv, ast.Name) and self._module(recv.id) is not None:
            return  # a repository's function (store.batch_get): its own module's calls are read there
        if isinstance(recv, ast.Attribute) and any(
            recv.attr in MODELS[m].get_attributes() for m in self.models_of(recv.value, scope)
        ):
            return  # Model.field.exists() / .delete(...): a condition or an update action, not a request
        models = self.models_of(recv, scope)
        if not models:
            if method not in AMBIGUOUS:
                unknown.append(f"{where}: .{method}(...) on something that is not known to be a model")
            return
        for m in models:
            on_index = isinstance(recv, ast.Attribute) and recv.attr in _index_attrs(MODELS[m])
            found.add(Use(_suffix(MODELS[m]), PYNAMO_ACTIONS[method], on_index))


@pytest.fixture(scope="module")
def code_uses() -> set[Use]:
    modules: dict[str, Source] = {}
    paths = [*sorted((ROOT / "chalicelib").rglob("*.py")), ROOT / "app.py"]
    for path in paths:
        dotted = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        modules[dotted] = Source(path, modules)
    found: set[Use] = set()
    unknown: list[str] = []
    for source in modules.values():
        f, u = source.uses()
        found |= f
        unknown += u
    assert not unknown, "PynamoDB calls whose model this test cannot tell (annotate them):\n" + "\n".join(unknown)
    # A multi-table BatchGetItem sent raw (``store/voice_reads.py``) names its tables in ``BATCHED``.
    for source in modules.values():
        for node in source.tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else []
            if any(isinstance(t, ast.Name) and t.id == "BATCHED" for t in targets):
                assert isinstance(node, ast.Assign) and isinstance(node.value, ast.Tuple), f"{source.rel}: BATCHED"
                for elt in node.value.elts:
                    assert isinstance(elt, ast.Name) and elt.id in MODELS, f"{source.rel}: {ast.dump(elt)}"
                    found.add(Use(_suffix(MODELS[elt.id]), "dynamodb:BatchGetItem", False))
    return found


def _ssm_actions_in_code() -> set[str]:
    actions: set[str] = set()
    for path in (ROOT / "chalicelib").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            keywords = {k.arg for k in node.keywords}
            for (method, keyword), needed in SSM_ACTIONS.items():
                if node.func.attr == method and keyword in keywords:
                    actions |= needed
    return actions


def test_code_analysis_sees_the_known_calls(code_uses: set[Use]) -> None:
    """The reader above finds what is plainly there (so that an empty answer cannot pass)."""
    assert Use("numbers", "dynamodb:UpdateItem", False) in code_uses  # the lease transaction
    assert Use("leases", "dynamodb:PutItem", False) in code_uses  # tx.save(lease)
    assert Use("sessions", "dynamodb:PutItem", False) in code_uses  # tx.save(session)
    assert Use("numbers", "dynamodb:Query", True) in code_uses  # the pool index
    assert Use("calls", "dynamodb:UpdateItem", False) in code_uses  # the voice webhook's upsert
    assert {u.table for u in code_uses} == set(settings.TABLES), "a table nothing uses"


STREAM_ACTIONS = {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"}


def _dynamodb_grants(policy: dict[str, Any], prefix: str, scope: str) -> set[Use]:
    """The table permissions (stream permissions are checked by test_policy_events)."""
    base = f"arn:aws:dynamodb:{scope}:table/"
    grants: set[Use] = set()
    for s in _statements(policy, "dynamodb"):
        if set(_as_list(s["Action"])) <= STREAM_ACTIONS:
            continue
        assert s["Effect"] == "Allow" and "Condition" not in s
        for resource in _as_list(s["Resource"]):
            assert resource.startswith(base + prefix), resource
            name = resource[len(base + prefix) :]
            table, _, rest = name.partition("/")
            assert rest in ("", "index/*"), resource
            assert table in settings.TABLES, resource
            grants.update(Use(table, a, rest == "index/*") for a in _as_list(s["Action"]))
    return grants


@pytest.mark.parametrize("stage", DEPLOYED_STAGES)
def test_policy_shape(stage: str) -> None:
    policy = _policy(stage)
    assert policy["Version"] == "2012-10-17"
    for s in policy["Statement"]:
        assert s["Effect"] == "Allow"
        assert not {"NotAction", "NotResource", "Principal"} & set(s), s
        for action in _as_list(s["Action"]):
            service, _, name = action.partition(":")
            assert service and name and "*" not in action, f"wildcard or malformed action {action!r}"
        # "*" only where AWS has no resource-level permission: the stream event source's ListStreams,
        # X-Ray's writes and SES's account check (the sandbox state).
        if "*" in _as_list(s["Resource"]):
            assert _as_list(s["Resource"]) == ["*"], s
            assert set(_as_list(s["Action"])) in ({"dynamodb:ListStreams"}, XRAY_ACTIONS, {"ses:GetAccount"}), s


@pytest.mark.parametrize("stage", DEPLOYED_STAGES)
def test_policy_names_one_region_and_one_account(stage: str) -> None:
    policy = _policy(stage)
    regions, accounts = policy_tool.scoped_to(policy)
    assert len(regions) == 1 and len(accounts) == 1, f"{stage}: {regions} {accounts}"
    [region], [account] = regions, accounts
    assert policy_tool.REGION.fullmatch(region) and policy_tool.ACCOUNT.fullmatch(account), (region, account)
    assert len(policy_tool.arns(policy)) >= 10  # the check is not vacuous
    # The stage's own URL, where it names one, is in the same region.
    url_region = re.search(r"\.execute-api\.([a-z0-9-]+)\.amazonaws\.com", _stage_env(stage)["PUBLIC_BASE_URL"])
    if url_region:
        assert url_region.group(1) == region
    # Until it is set for a real account, a deploy or status command can say so.
    assert policy_tool.problems(stage) == (
        [
            f"{policy_tool.path_of(stage).name} names the example account {policy_tool.EXAMPLE_ACCOUNT}: "
            f"run python -m calltracking_cli.policy set --stage {stage} --account <yours> --region <yours>"
        ]
        if account == policy_tool.EXAMPLE_ACCOUNT
        else []
    )


def test_the_policy_tool_scopes_every_arn(tmp_path: Path) -> None:
    # Given the prod policy, set for another account and region
    scoped = policy_tool.scope(_policy("prod"), account="123456789012", region="eu-west-1")
    # Then every ARN and the SSM condition name them, and nothing else changed
    assert policy_tool.scoped_to(scoped) == ({"eu-west-1"}, {"123456789012"})
    assert json.dumps(scoped).count("eu-west-1") == len(policy_tool.arns(scoped)) + 1  # + kms:ViaService
    back = policy_tool.scope(scoped, account=_scope("prod").split(":")[1], region=_scope("prod").split(":")[0])
    assert back == _policy("prod")
    with pytest.raises(ValueError, match="12 digits"):
        policy_tool.scope(scoped, account="*", region="eu-west-1")
    with pytest.raises(ValueError, match="region"):
        policy_tool.scope(scoped, account="123456789012", region="*")


@pytest.mark.parametrize("stage", DEPLOYED_STAGES)
def test_policy_dynamodb_is_exactly_what_the_code_uses(stage: str, code_uses: set[Use]) -> None:
    prefix = _stage_env(stage)["TABLE_PREFIX"]
    granted = _dynamodb_grants(_policy(stage), prefix, _scope(stage))
    missing = sorted(code_uses - granted, key=repr)
    unused = sorted(granted - code_uses, key=repr)
    assert not missing, f"{stage}: the code needs permissions the policy does not give: {missing}"
    assert not unused, f"{stage}: the policy gives permissions nothing uses: {unused}"
    assert not {u.action for u in granted} & FORBIDDEN_DYNAMODB
    # Every table is named, and indexes only where a model has them.
    assert {u.table for u in granted} == set(settings.TABLES)
    with_indexes = {_suffix(m) for m in ALL_MODELS if _index_attrs(m)}
    assert {u.table for u in granted if u.index} <= with_indexes


@pytest.mark.parametrize("stage", DEPLOYED_STAGES)
def test_policy_secrets(stage: str) -> None:
    """The deployment's own secrets are read only; the alert channels' secrets (Slack webhook URLs,
    Telegram bot tokens) are written, read and deleted under their one prefix, nowhere else."""
    env = _stage_env(stage)
    params = sorted(v for k, v in env.items() if k.endswith("_PARAM"))
    assert params, f"{stage} reads no secrets from SSM"
    arns = sorted(f"arn:aws:ssm:{_scope(stage)}:parameter{p}" for p in params)
    alerts = f"arn:aws:ssm:{_scope(stage)}:parameter{alert_settings.load(env).alerts_ssm_prefix}/*"
    conversions = f"arn:aws:ssm:{_scope(stage)}:parameter{conversion_settings.load(env).conversions_ssm_prefix}/*"
    policy = _policy(stage)
    by_sid = {s["Sid"]: s for s in _statements(policy, "ssm")}
    assert set(by_sid) == {"ReadSecrets", "AlertSecrets", "ConversionCredentials"}
    in_code = _ssm_actions_in_code()
    # GetParameters: the voice path reads the Twilio auth token and the caller-hash key in one request.
    assert in_code == {"ssm:GetParameter", "ssm:GetParameters", "ssm:PutParameter", "ssm:DeleteParameter"}
    assert _as_list(by_sid["ReadSecrets"]["Action"]) == ["ssm:GetParameter", "ssm:GetParameters"]
    assert sorted(_as_list(by_sid["ReadSecrets"]["Resource"])) == arns
    assert set(_as_list(by_sid["AlertSecrets"]["Action"])) == in_code - {"ssm:GetParameters"}
    assert _as_list(by_sid["AlertSecrets"]["Resource"]) == [alerts]
    assert set(_as_list(by_sid["ConversionCredentials"]["Action"])) == in_code - {"ssm:GetParameters"}
    assert _as_list(by_sid["ConversionCredentials"]["Resource"]) == [conversions]
    [kms] = _statements(policy, "kms")
    assert _as_list(kms["Action"]) == ["kms:Decrypt"]
    assert _as_list(kms["Resource"]) == [f"arn:aws:kms:{_scope(stage)}:key/*"]
    cond = kms["Condition"]
    assert cond["StringLike"]["kms:ViaService"] == f"ssm.{_scope(stage).split(':')[0]}.amazonaws.com"
    assert sorted(_as_list(cond["StringLike"]["kms:EncryptionContext:PARAMETER_ARN"])) == sorted(
        [*arns, alerts, conversions]
    )


# What each SES v2 operation the code calls needs in IAM (chalicelib/integrations/alerts/).
SES_PERMISSION = {
    "send_email": "ses:SendEmail",
    "get_email_identity": "ses:GetEmailIdentity",
    "get_account": "ses:GetAccount",
}


def _ses_actions_in_code() -> set[str]:
    """Every ``ses().<operation>(...)`` call in chalicelib, by botocore's SES v2 operation names."""
    import botocore.session
    from botocore import xform_name

    operations = {xform_name(op) for op in botocore.session.get_session().get_service_model("sesv2").operation_names}
    needed: set[str] = set()
    for path in (ROOT / "chalicelib").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            owner = node.func.value
            if not (
                isinstance(owner, ast.Call) and getattr(owner.func, "attr", getattr(owner.func, "id", "")) == "ses"
            ):
                continue
            name = node.func.attr
            assert name in operations, f"{path}:{node.lineno}: {name} is not an SES v2 operation"
            assert name in SES_PERMISSION, f"{path}:{node.lineno}: SES {name} has no known IAM permission here"
            needed.add(SES_PERMISSION[name])
    return needed


@pytest.mark.parametrize("stage", DEPLOYED_STAGES)
def test_policy_ses_is_exactly_what_the_alerts_send_and_check(stage: str) -> None:
    in_code = _ses_actions_in_code()
    assert in_code == {"ses:SendEmail", "ses:GetEmailIdentity", "ses:GetAccount"}
    statements = _statements(_policy(stage), "ses")
    granted = {a for st in statements for a in _as_list(st["Action"])}
    assert granted == in_code
    for st in statements:
        if _as_list(st["Action"]) == ["ses:GetAccount"]:
            assert _as_list(st["Resource"]) == ["*"]  # an account-level call: no resource-level permission
        else:
            assert _as_list(st["Resource"]) == [f"arn:aws:ses:{_scope(stage)}:identity/*"]


@pytest.mark.parametrize("stage", DEPLOYED_STAGES)
def test_policy_logs_and_no_metrics_api(stage: str) -> None:
    policy = _policy(stage)
    function = f"{CONFIG['app_name']}-{stage}"  # Chalice names the API handler <app>-<stage>
    group = f"arn:aws:logs:{_scope(stage)}:log-group:/aws/lambda/{function}"
    [logs] = _statements(policy, "logs")
    assert set(_as_list(logs["Action"])) == {"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"}
    assert set(_as_list(logs["Resource"])) == {
        group,
        f"{group}:*",
        f"{group}-*",  # the app's other functions, if any
    }
    # Metrics are written to the logs (Powertools' embedded metric format), so no code calls
    # CloudWatch's PutMetricData and the role may not either.
    assert _statements(policy, "cloudwatch") == []
    called = [p for p in (ROOT / "chalicelib").rglob("*.py") if "put_metric_data" in p.read_text()]
    assert called == []
    services = {a.split(":")[0] for s in policy["Statement"] for a in _as_list(s["Action"])}
    assert services == {"logs", "dynamodb", "ssm", "kms", "sqs", "s3", "xray", "ses", "transcribe"}


@pytest.mark.parametrize("stage", DEPLOYED_STAGES)
def test_deployed_stages_trace_with_xray_and_may_write_exactly_the_traces(stage: str) -> None:
    """Lambda's active tracing (stage config ``xray``) needs the role to write segments and telemetry;
    Chalice adds that only to the policies it generates, and ours are hand-written."""
    assert CONFIG["stages"][stage].get("xray") is True
    [traces] = _statements(_policy(stage), "xray")
    assert set(_as_list(traces["Action"])) == XRAY_ACTIONS and _as_list(traces["Resource"]) == ["*"]
    assert not CONFIG["stages"]["local"].get("xray")  # chalice local has nothing to trace to


@pytest.mark.parametrize("stage", DEPLOYED_STAGES)
def test_policy_events_are_exactly_what_the_handlers_and_event_sources_need(stage: str) -> None:
    """The stream's event source reads the calls stream; the queue's event source receives,
    deletes and reads attributes; the code resolves the queue's URL, sends (events, dead
    letters) and sets retry delays. Nothing more, on nothing else."""
    s = settings.load(_stage_env(stage))
    policy = _policy(stage)
    stream = [st for st in _statements(policy, "dynamodb") if set(_as_list(st["Action"])) <= STREAM_ACTIONS]
    by_resource = {tuple(_as_list(st["Resource"])): set(_as_list(st["Action"])) for st in stream}
    assert by_resource == {
        (f"arn:aws:dynamodb:{_scope(stage)}:table/{s.table_name('calls')}/stream/*",): STREAM_ACTIONS
        - {"dynamodb:ListStreams"},
        ("*",): {"dynamodb:ListStreams"},  # no resource-level permission exists for it
    }
    [queues] = _statements(policy, "sqs")
    assert set(_as_list(queues["Action"])) == {
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:SendMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueUrl",
    }
    assert set(_as_list(queues["Resource"])) == {
        f"arn:aws:sqs:{_scope(stage)}:{s.events_queue}",
        f"arn:aws:sqs:{_scope(stage)}:{s.events_dlq}",
    }


def test_template_streams_the_calls_table_into_the_events_queues(template: dict[str, Any]) -> None:
    from chalicelib.store.models import CallModel

    res = template["Resources"]
    view = res["CallsTable"]["Properties"]["StreamSpecification"]["StreamViewType"]
    assert view == CallModel.Meta.stream_view_type == "NEW_AND_OLD_IMAGES"
    s = settings.load({"TABLE_PREFIX": "P-"})
    assert res["EventsQueue"]["Properties"]["QueueName"] == {"Fn::Sub": "${TablePrefix}events"}
    assert s.events_queue == "P-events" and s.events_dlq == "P-events-dlq"
    assert res["EventsDeadLetterQueue"]["Properties"]["QueueName"] == {"Fn::Sub": "${TablePrefix}events-dlq"}
    redrive = res["EventsQueue"]["Properties"]["RedrivePolicy"]
    from chalicelib.events import bus

    longest = bus.most_attempts()
    assert redrive["maxReceiveCount"] > longest + 1  # the code dead-letters first
    assert res["EventsQueue"]["Properties"]["VisibilityTimeout"] >= CONFIG["lambda_timeout"] * 6
    assert {"CallsStreamArn", "EventsQueueName", "EventsDeadLetterQueueName"} <= set(template["Outputs"])


# What each S3 operation the code calls needs in IAM (HeadObject is authorised as GetObject; a
# presigned GET is signed with the function's role, so it needs GetObject too).
S3_PERMISSION = {"put_object": "s3:PutObject", "head_object": "s3:GetObject", "get_object": "s3:GetObject"}
S3_PERMISSION |= {"delete_object": "s3:DeleteObject", "list_objects_v2": "s3:ListBucket"}


LOCAL_ONLY = {"create_bucket"}  # chalicelib/recordings/storage.py: the embedded S3 only (infra/ makes the bucket)


def _s3_actions_in_code(folder: str = "recordings") -> set[str]:
    """The S3 permissions the code of ``folder`` needs: every call of an S3 operation (by botocore's names)."""
    import botocore.session
    from botocore import xform_name

    model = botocore.session.get_session().get_service_model("s3")
    operations = {xform_name(op) for op in model.operation_names}
    needed: set[str] = set()
    for path in (ROOT / "chalicelib" / folder).rglob("*.py"):
        tree = ast.parse(path.read_text())
        skip = {
            id(n)
            for f in ast.walk(tree)
            if isinstance(f, ast.FunctionDef) and f.name in LOCAL_ONLY
            for n in ast.walk(f)
        }
        for node in ast.walk(tree):
            if id(node) in skip or not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            name = node.func.attr
            if name == "generate_presigned_url":
                first = node.args[0]
                assert isinstance(first, ast.Constant), f"{path}: presigned operation must be a literal"
                name = str(first.value)
            elif name == "get_paginator" and folder == "privacy":
                name = str(node.args[0].value)  # type: ignore[attr-defined]
            elif name not in operations or path.parent.name != folder:
                continue  # the same names on other clients (SQS's delete_message is not an S3 call)
            assert name in S3_PERMISSION, f"{path}:{node.lineno}: S3 {name} has no known IAM permission here"
            needed.add(S3_PERMISSION[name])
    return needed


@pytest.mark.parametrize("stage", DEPLOYED_STAGES)
def test_policy_s3_is_exactly_what_the_code_uses_on_the_recordings_prefix(stage: str) -> None:
    s = settings.load(_stage_env(stage))
    # The recordings' prefix, and the transcripts' (Transcribe's output and the turns).
    found = {st["Sid"]: st for st in _statements(_policy(stage), "s3")}
    recordings, transcripts = found["Recordings"], found["Transcripts"]
    in_code = _s3_actions_in_code()
    assert in_code == {"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}
    assert set(_as_list(recordings["Action"])) == set(_as_list(transcripts["Action"])) == in_code
    assert _as_list(recordings["Resource"]) == [f"arn:aws:s3:::{s.recordings_bucket}/recordings/*"]
    assert _as_list(transcripts["Resource"]) == [f"arn:aws:s3:::{s.recordings_bucket}/transcripts/*"]
    # The key the code writes is under that prefix.
    from chalicelib.recordings.storage import object_key

    assert object_key("CA1", "RE1").startswith("recordings/")


@pytest.mark.parametrize("stage", DEPLOYED_STAGES)
def test_policy_s3_of_callers_objects_is_what_the_privacy_code_uses_on_its_prefixes(stage: str) -> None:
    # The erasure log and access documents (chalicelib/privacy/erasurelog.py): their two prefixes only
    s = settings.load(_stage_env(stage))
    found = {st["Sid"]: st for st in _statements(_policy(stage), "s3")}
    objects, listing = found["CallersObjects"], found["CallersObjectsList"]
    in_code = _s3_actions_in_code("privacy")
    assert in_code == {"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket"}
    assert set(_as_list(objects["Action"])) | set(_as_list(listing["Action"])) == in_code
    bucket = f"arn:aws:s3:::{s.recordings_bucket}"
    assert _as_list(objects["Resource"]) == [f"{bucket}/erasures/*", f"{bucket}/callers/*"]
    assert _as_list(listing["Resource"]) == [bucket]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["erasures/*", "callers/*"]}}
    from chalicelib.privacy import erasurelog

    assert erasurelog.document_key("k1.ab", "j1").startswith("callers/") and erasurelog.ERASURES == "erasures/"


def test_the_bucket_is_private_encrypted_and_expires_with_the_calls(template: dict[str, Any]) -> None:
    bucket = template["Resources"]["RecordingsBucket"]
    props = bucket["Properties"]
    assert props["BucketName"] == {"Fn::Sub": "${TablePrefix}recordings"}
    for stage in DEPLOYED_STAGES:  # the template's name is the code's default for the stage
        env = _stage_env(stage)
        assert settings.load(env).recordings_bucket == f"{env['TABLE_PREFIX']}recordings"
    assert props["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
    )
    [sse] = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    rules = {r["Prefix"]: r for r in props["LifecycleConfiguration"]["Rules"]}
    assert {p: r["Status"] for p, r in rules.items()} == dict.fromkeys(
        ("recordings/", "transcripts/", "erasures/", "callers/"), "Enabled"
    )
    # The erasure log outlives every call a restore could bring back; access documents live a day.
    assert rules["erasures/"]["ExpirationInDays"] == int(CONFIG["environment_variables"]["CALL_RETENTION_DAYS"])
    assert rules["callers/"]["ExpirationInDays"] == 1
    # The lifecycle rules are the backstop of the calls' retention: the recordings' and transcripts' equal it.
    for prefix in ("recordings/", "transcripts/"):
        assert rules[prefix]["ExpirationInDays"] == int(CONFIG["environment_variables"]["CALL_RETENTION_DAYS"])
    assert bucket["DeletionPolicy"] == "Retain"
    assert "RecordingsBucketName" in template["Outputs"]


def test_the_bucket_deploys_encrypted() -> None:
    """moto's CloudFormation applies the bucket's name and encryption (not its access block or
    lifecycle: those are checked on the template above and by cfn-lint)."""
    with mock_aws():
        cfn = boto3.client("cloudformation", region_name=REGION)
        with _no_bucket_policy_warning():
            cfn.create_stack(
                StackName="calltracking-recordings",
                TemplateBody=TEMPLATE.read_text(),
                Parameters=[{"ParameterKey": "TablePrefix", "ParameterValue": STACK_PREFIX}],
            )
        stack = cfn.describe_stacks(StackName="calltracking-recordings")["Stacks"][0]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        assert outputs["RecordingsBucketName"] == f"{STACK_PREFIX}recordings"
        s3 = boto3.client("s3", region_name=REGION)
        rules = s3.get_bucket_encryption(Bucket=f"{STACK_PREFIX}recordings")["ServerSideEncryptionConfiguration"]
        assert rules["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"


@pytest.mark.parametrize("stage", DEPLOYED_STAGES)
def test_stage_prefix_matches_policy(stage: str) -> None:
    env = _stage_env(stage)
    prefix = env["TABLE_PREFIX"]
    assert prefix == f"{CONFIG['app_name']}-{stage}-"
    statements = [*_statements(_policy(stage), "dynamodb"), *_statements(_policy(stage), "sqs")]
    resources = [r for s in statements for r in _as_list(s["Resource"]) if r != "*"]  # "*": ListStreams
    scope = _scope(stage)
    assert resources and all(
        r.startswith((f"arn:aws:dynamodb:{scope}:table/{prefix}", f"arn:aws:sqs:{scope}:{prefix}")) for r in resources
    )
    for other in DEPLOYED_STAGES:
        if other != stage:
            other_prefix = _stage_env(other)["TABLE_PREFIX"]
            assert not any(other_prefix in r for r in resources), f"{stage}'s policy names {other}'s tables"
    # Secrets live under the stage's own path.
    assert all(v.startswith(f"/{CONFIG['app_name']}/{stage}/") for k, v in env.items() if k.endswith("_PARAM"))

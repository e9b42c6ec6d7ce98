"""The layout holds: no import circles, imports point down, key strings only in ``store/``,
and ``import app`` loads nothing that only the management API or a background job needs.

The import graph is read from the source (module level and inside functions, plus the
management routes' ``lazy_module("...")`` names), so an import hidden in a function still
counts: a circle cannot be hidden by moving an import into a function.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.integrations.wiring import INTEGRATIONS

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "chalicelib"

# Layers, lowest first: a module may import its own layer or a lower one, never a higher one.
# The layer is the folder: chalicelib/core/ is the base, chalicelib/store/ the data access, the
# top-level modules of chalicelib/ the domain, every other package a feature (integrations too),
# chalicelib/routes/ the HTTP plumbing. No module is listed by hand.
LAYERS = ("base", "store", "domain", "features", "routes")
FOLDER_LAYERS = {"core": "base", "store": "store", "routes": "routes"}
# Table key prefixes of the counters table (and any that come later): written only in store/.
KEY_PREFIXES = (
    "APIKEY",
    "CONFIG",
    "CALLER#",
    "AGG#",
    "SPEND#",
    "POOL#",
    "#EXHAUSTED",
    "EVENT#",
    "PARKED",
    "HOOK#",
    "VISITOR#",
    "LEASEADDR#",
    "DASHUSER",
    "WEBSESSION#",
    "SIGNINFAIL#",
    "ALERT#",
    "CONV#",
    "SCHEMA",
    "PURGEMARK#",
    "AUDIT#",
    "ERASED#",
)
# Loaded by ``import app`` they would cost every cold start, the voice webhook's included.
HEAVY = (
    "twilio.rest",
    "requests",
    "phonenumbers",
    "pydantic",
    "chalicelib.reports",
    "chalicelib.core.telephony",
    "chalicelib.numbers",
    "chalicelib.channels",
    "chalicelib.pools",
    "chalicelib.access.apikeys",
    "chalicelib.access.auth",
    "chalicelib.integrations",
    "chalicelib.recordings",
    "chalicelib.dashboard",
    "jinja2",
    "argon2",
    "calltracking_local",
    "google",  # google-auth: the ad platforms' OAuth refresh, loaded on a conversion's first send
)


# What ``import app`` may load under a HEAVY name: the integrations' declarations (each folder's
# ``integration.py``, the registry and the one list), read when ``routes/events.py`` registers the
# declared schedules, and the packages they sit in. They hold strings and small dataclasses; what
# they name loads on first use (``test_declarations_stay_light`` holds them to it).
DECLARATION_MODULES = ("chalicelib.integrations.registry", "chalicelib.integrations.wiring")
# The only modules a declaration may import from outside chalicelib.
DECLARATION_STDLIB = ("__future__", "dataclasses", "importlib", "typing", "collections.abc", "types")
# ... and from chalicelib: the settings (wiring reads each integration's settings module on first use).
DECLARATION_BASE = ("chalicelib.core.settings",)
# An integration's (or feature's) routes module, registered by app.py from its declaration, may
# import Chalice and the base's request plumbing; everything else it names loads on first use.
ROUTES_ALLOWED = (*DECLARATION_STDLIB, "chalice", "chalicelib.core.context", "chalicelib.core.lazy")
ROUTES_ALLOWED += ("chalicelib.core.responses",)


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PKG.rglob("*.py")):
        dotted = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        out[dotted] = path
    return out


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The chalicelib module an imported name lands in (a package's ``__init__`` counts as the package)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(module: str) -> set[str]:
    tree = ast.parse(MODULES[module].read_text())
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            # `from chalicelib import calls` imports the module chalicelib.calls
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "lazy_module":
            names = [node.args[0].value] if isinstance(node.args[0], ast.Constant) else []
        for name in names:
            target = _resolve(name) if name.startswith("chalicelib") else None
            if target and target != module:
                found.add(target)
    return found


GRAPH = {m: imports_of(m) for m in MODULES}
DECLARATIONS = {m for m in MODULES if m.endswith(".integration") or m in DECLARATION_MODULES}
ROUTE_MODULES = {i.routes for i in INTEGRATIONS if i.routes}
# ... and the packages Python runs on the way to them
LIGHT = DECLARATIONS | ROUTE_MODULES
LIGHT |= {".".join(m.split(".")[:n]) for m in LIGHT for n in range(2, m.count(".") + 1)}


def _layer(module: str) -> int:
    """The layer of a module, from its folder alone."""
    parts = module.split(".")
    path = MODULES[module]
    if len(parts) == 2 and path.name != "__init__.py":  # chalicelib.<module>: the domain
        return LAYERS.index("domain")
    folder = parts[1] if len(parts) > 1 else ""
    return LAYERS.index(FOLDER_LAYERS.get(folder, "features" if folder else "base"))


def test_layers_come_from_folders() -> None:
    # The domain modules the design names are top-level modules, the base is core/, routes are routes/
    assert LAYERS[_layer("chalicelib.calls")] == "domain" and LAYERS[_layer("chalicelib.numbers")] == "domain"
    assert LAYERS[_layer("chalicelib.core.settings")] == "base"
    assert LAYERS[_layer("chalicelib.store.models")] == "store"
    assert LAYERS[_layer("chalicelib.voice.inbound")] == "features"
    assert LAYERS[_layer("chalicelib.routes.http")] == "routes"


def test_local_only_code_lives_outside_chalicelib() -> None:
    """The event pump and the local telephony provider never ship in the Lambda package."""
    local = [m for m in MODULES if "local" in m.rsplit(".", 1)[-1]]
    assert local == []
    assert (ROOT / "calltracking_local" / "pump.py").exists()


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_circles() -> None:
    assert _cycles(GRAPH) == []


def test_the_cycle_finder_finds_a_circle() -> None:
    # Given a made-up graph with a circle hidden behind a third module
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    # Then it is reported, and a graph without one is clean
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_imports_inside_functions_are_seen() -> None:
    # The middleware loads the API-key check inside a function; the walk must still see it.
    assert "chalicelib.access.auth" in GRAPH["chalicelib.routes.http"]
    assert "chalicelib.reports.calllog" in GRAPH["chalicelib.routes.management"]  # a lazy_module name


def test_imports_point_down() -> None:
    upward = [
        f"{m} ({LAYERS[_layer(m)]}) imports {t} ({LAYERS[_layer(t)]})"
        for m, targets in GRAPH.items()
        for t in sorted(targets)
        if _layer(t) > _layer(m)
    ]
    assert upward == []


def test_function_level_imports_of_our_own_modules_say_why() -> None:
    """An import inside a function only keeps a cold start light, and its comment says so."""
    silent = []
    for module, path in MODULES.items():
        lines = path.read_text().splitlines()
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for inner in ast.walk(node):
                if isinstance(inner, ast.ImportFrom) and (inner.module or "").startswith("chalicelib"):
                    here, above = lines[inner.lineno - 1], lines[inner.lineno - 2].strip()
                    if "#" not in here and not above.startswith("#"):
                        silent.append(f"{path.relative_to(ROOT)}:{inner.lineno}")
    assert silent == []


def _strings_outside_docstrings(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text())
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    return [
        (n.lineno, n.value)
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings
    ]


def test_table_key_prefixes_are_written_only_in_store() -> None:
    outside = [
        f"{path.relative_to(ROOT)}:{line}: {text!r}"
        for module, path in MODULES.items()
        if not module.startswith("chalicelib.store")
        for line, text in _strings_outside_docstrings(path)
        if any(p in text for p in KEY_PREFIXES)
    ]
    assert outside == []
    # and the check does see them where they are
    inside = [t for _, t in _strings_outside_docstrings(PKG / "store" / "keys.py") if t.startswith(KEY_PREFIXES)]
    assert len(inside) >= 5


def test_import_app_loads_nothing_heavy() -> None:
    # Given a fresh interpreter configured like a deployed stage
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env |= {"STAGE": "dev", "TELEPHONY": "twilio", "TABLE_PREFIX": "layout-", "AWS_DEFAULT_REGION": "us-east-1"}
    code = "import json, sys, app; print(json.dumps(sorted(sys.modules)))"
    # When it imports the app
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout)
    # Then nothing only the management API or a background job needs is loaded
    heavy = sorted(m for m in loaded if any(m == h or m.startswith(h + ".") for h in HEAVY) and m not in LIGHT)
    assert heavy == []
    # (the declarations are there: the schedules are registered from them)
    assert "chalicelib.integrations.wiring" in loaded
    # (and the check is not vacuous: the voice path itself is there)
    assert "chalicelib.voice.inbound" in loaded and "chalicelib.store.models" in loaded


@pytest.mark.parametrize(
    ("routes", "module"),
    [
        ("chalicelib.reports.routes", "chalicelib.reports.figures"),
        ("chalicelib.routes.management", "chalicelib.numbers"),
        ("chalicelib.routes.management", "chalicelib.pools"),
        ("chalicelib.integrations.webhooks.routes", "chalicelib.integrations.webhooks.endpoints"),
    ],
)
def test_management_modules_still_load_on_first_use(routes: str, module: str) -> None:
    """What ``import app`` leaves out, a route loads when it runs."""
    env = {**os.environ, "STAGE": "dev", "TABLE_PREFIX": "layout-", "AWS_DEFAULT_REGION": "us-east-1"}
    code = (
        "import importlib, sys, app\n"
        f"m = importlib.import_module({routes!r})\n"
        f"assert {module!r} not in sys.modules, 'loaded with the app'\n"
        f"name = {module.rsplit('.', 1)[1]!r}\n"
        "assert getattr(m, name).__file__  # the first use\n"
        f"assert {module!r} in sys.modules, 'not loaded on first use'"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True)


def test_declarations_stay_light() -> None:
    """What ``import app`` may load under a HEAVY name imports nothing that could make it heavy: a
    declaration imports the standard library's basics and other declarations only, and the packages
    on the way to one run no import at all."""
    # Given every declaration module and the packages it sits in
    assert {"chalicelib.integrations.wiring", "chalicelib.integrations.webhooks.integration"} <= DECLARATIONS
    offending = []
    for module in sorted(LIGHT):
        tree = ast.parse(MODULES[module].read_text())
        # (imports for the type checker only never run)
        typing_only = {
            id(inner)
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING"
            for inner in ast.walk(ast.Module(body=node.body, type_ignores=[]))
        }
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                ours = _resolve(name) if name.startswith("chalicelib") else None
                # When it imports, Then only the standard library's basics or another declaration (a
                # routes module: Chalice and the base's request plumbing)
                if module in ROUTE_MODULES:
                    allowed = name in ROUTES_ALLOWED
                else:
                    allowed = name in DECLARATION_STDLIB + DECLARATION_BASE or (
                        ours is not None and ours in DECLARATIONS
                    )
                if module not in DECLARATIONS | ROUTE_MODULES or not allowed:
                    offending.append(f"{module} imports {name}")
    assert offending == []


# Only store/ talks to DynamoDB's library or holds its models; every other layer gets records.
STORE_ONLY = ("pynamodb", "chalicelib.store.models")


def store_only_imports(tree: ast.AST, package: str) -> list[str]:
    """The names in ``tree`` (a module of ``package``) that only ``store/`` may import: PynamoDB
    or the models module, however spelled (``import``, ``from ... import``, relative, the module
    imported from its package), at module level or inside a function."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = parts[: len(parts) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            # `from chalicelib.store import models` imports the models module itself
            names = [base, *(f"{base}.{a.name}" for a in node.names)]
        else:
            continue
        for name in names:
            if any(name == s or name.startswith(s + ".") for s in STORE_ONLY):
                found.append(f"{getattr(node, 'lineno', 0)}: {name}")
                break
    return found


def test_only_the_store_imports_pynamodb() -> None:
    # Given every module of chalicelib outside store/
    offenders = {}
    for module, path in MODULES.items():
        if module == "chalicelib.store" or module.startswith("chalicelib.store."):
            continue
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        # When its imports are read, those inside functions too
        found = store_only_imports(ast.parse(path.read_text()), package)
        if found:
            offenders[str(path.relative_to(ROOT))] = found
    # Then none is PynamoDB or the models: they reach DynamoDB through a repository of store/
    assert offenders == {}
    # (and the walk is not vacuous: the store itself is full of them)
    store = MODULES["chalicelib.store.calls"]
    assert store_only_imports(ast.parse(store.read_text()), "chalicelib.store")


def test_the_store_only_check_catches_every_spelling() -> None:
    # Given modules of a feature package that reach for PynamoDB or the models in each way
    planted = {
        "from pynamodb.exceptions import PutError": ["1: pynamodb.exceptions"],
        "import pynamodb.attributes as a": ["1: pynamodb.attributes"],
        "from chalicelib.store.models import CounterModel": ["1: chalicelib.store.models"],
        "from chalicelib.store import keys, models": ["1: chalicelib.store.models"],
        "import chalicelib.store.models": ["1: chalicelib.store.models"],
        "from ..store.models import CounterModel": ["1: chalicelib.store.models"],
        "def f():\n    from pynamodb.models import Model  # lazily\n": ["2: pynamodb.models"],
    }
    for code, expected in planted.items():
        # When the check reads it, Then it names the line and the import
        assert store_only_imports(ast.parse(code), "chalicelib.voice") == expected, code
    # And a repository's import, or a name that only starts alike, is fine
    clean = "from chalicelib.store import calls, keys\nimport pynamodbish\nfrom chalicelib.store.modelsx import y"
    assert store_only_imports(ast.parse(clean), "chalicelib.voice") == []

"""The Lambda package as deployed: built once for real, trimmed, and still able to do everything the app does.

Every check runs the unzipped package in a fresh interpreter started with ``-I -S`` (no site-packages,
no environment paths) and ``sys.path`` pointed at the package only, the tree made read-only and
``-B`` (root ignores the read-only mode; ``-I`` ignores ``PYTHONDONTWRITEBYTECODE``), as Lambda runs it
from ``/var/task``.
"""

from __future__ import annotations

import ast
import json
import os
import stat
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from calltracking_cli import package
from tests.unit.test_package import ROOT

ENV = {
    "STAGE": "dev",
    "TELEPHONY": "twilio",
    "TABLE_PREFIX": "calltracking-dev-",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "PUBLIC_BASE_URL": "https://example.execute-api.us-east-1.amazonaws.com/api",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "PYTHONDONTWRITEBYTECODE": "1",
}


@pytest.fixture(scope="module")
def built() -> package.Built:
    # Cached by content under .local/package: a rebuild only when app, chalicelib, config or lock change.
    return package.cached_build("dev")


@pytest.fixture(scope="module")
def tree(built: package.Built, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("task")
    with zipfile.ZipFile(built.zip_path) as archive:
        archive.extractall(root)
    _set_writable(root, False)
    yield root
    _set_writable(root, True)


def _set_writable(root: Path, writable: bool) -> None:
    for path in [root, *root.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode | stat.S_IWUSR if writable else mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def _run_in_package(tree: Path, code: str) -> str:
    """Run ``code`` as Lambda would: only the package (and the standard library) importable."""
    prelude = f"import sys; sys.path.insert(0, {str(tree)!r}); sys.dont_write_bytecode = True\n"
    python = package.runtime_python("python3.11")
    answer = subprocess.run(
        [python, "-I", "-S", "-B", "-c", prelude + code],
        cwd=tree,
        env={"PATH": os.environ.get("PATH", ""), **ENV},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert answer.returncode == 0, answer.stderr
    return answer.stdout


def clients_the_app_makes() -> set[str]:
    """Every service named as the first argument of a ``*client(...)``/``*resource(...)`` call in chalicelib."""
    services = {"dynamodb"}  # PynamoDB's connection: no client(...) call in our code
    for path in (ROOT / "chalicelib").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            first = node.args[0]
            literal = isinstance(first, ast.Constant) and isinstance(first.value, str)
            if name.endswith(("client", "resource")) and literal:
                services.add(str(first.value))  # type: ignore[attr-defined]
    return services


def test_every_client_the_app_makes_is_kept_by_the_trim() -> None:
    found = clients_the_app_makes()
    # The scan itself must see the known clients, or it proves nothing.
    assert {"sqs", "s3", "ssm", "sesv2"} <= found
    kept = set(package.botocore_services())
    assert found <= kept, f"declare {found - kept} in its integration's keep (or CORE_BOTOCORE_SERVICES)"


def test_every_client_loads_from_the_package_alone(tree: Path) -> None:
    services = sorted(clients_the_app_makes())
    out = _run_in_package(
        tree,
        "import json, boto3, botocore\n"
        f"for name in {services!r}:\n"
        "    boto3.session.Session().client(name, region_name='us-east-1')\n"
        "try:\n"
        "    boto3.session.Session().client('ec2', region_name='us-east-1')\n"
        "    trimmed = False\n"
        "except botocore.exceptions.UnknownServiceError:\n"
        "    trimmed = True\n"
        "from pynamodb.connection import Connection\n"
        "Connection(region='us-east-1').client\n"
        "print(json.dumps({'boto3': boto3.__file__, 'botocore': botocore.__file__, 'trimmed': trimmed}))\n",
    )
    result = json.loads(out)
    assert result["boto3"].startswith(str(tree)) and result["botocore"].startswith(str(tree))
    assert result["trimmed"], "a service the app never calls still loads: botocore/data was not trimmed"


def test_app_and_every_chalicelib_module_import_read_only_from_the_package(tree: Path) -> None:
    out = _run_in_package(
        tree,
        "import importlib, json, pkgutil, app, chalicelib\n"
        "names = [m.name for m in pkgutil.walk_packages(chalicelib.__path__, 'chalicelib.')]\n"
        "for name in names:\n"
        "    importlib.import_module(name)\n"
        "outside = sorted({m.__file__ for m in list(sys.modules.values())\n"
        "    if getattr(m, '__file__', None) and 'site-packages' in m.__file__})\n"
        "print(json.dumps({'modules': len(names), 'outside': outside}))\n",
    )
    result = json.loads(out)
    assert result["modules"] > 50
    assert result["outside"] == []
    assert not list(tree.rglob("*.pyc.*")), "something tried to write bytecode"


def test_twilio_and_phonenumbers_still_do_what_the_app_asks(tree: Path) -> None:
    out = _run_in_package(
        tree,
        "import json, phonenumbers\n"
        "from twilio.rest import Client\n"
        "account = Client('AC' + '0' * 32, 'token').api.v2010.account\n"
        "account.incoming_phone_numbers, account.available_phone_numbers('US').local, account.recordings\n"
        "shown = []\n"
        "for text, region in [('2015550123', 'US'), ('020 7946 0018', 'GB'), ('030 901820', 'DE'),\n"
        "                     ('+33 1 23 45 67 89', None), ('+81 3-1234-5678', None)]:\n"
        "    number = phonenumbers.parse(text, region)\n"
        "    phonenumbers.is_valid_number(number)\n"
        "    shown.append(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))\n"
        "print(json.dumps(shown))\n",
    )
    assert json.loads(out) == ["+12015550123", "+442079460018", "+4930901820", "+33123456789", "+81312345678"]


def test_the_ad_platforms_clients_load_from_the_package_without_grpc_or_cryptography(tree: Path) -> None:
    # The Google Ads client's OAuth refresh (google-auth, pure Python) and both platform clients
    out = _run_in_package(
        tree,
        "import sys, json\n"
        "from google.oauth2.credentials import Credentials\n"
        "from google.auth import exceptions\n"
        "from chalicelib.integrations.conversions import platforms\n"
        "names = [platforms.get(n).title for n in platforms.names()]\n"
        "Credentials(None, refresh_token='r', client_id='c', client_secret='s', token_uri='https://x/token')\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('grpc', 'cryptography', 'proto'))\n"
        "print(json.dumps([names, heavy]))\n",
    )
    names, heavy = json.loads(out)
    assert {"Google Ads", "GA4"} <= set(names) and heavy == []


def test_every_module_ships_bytecode_python_uses_without_checking_the_source(tree: Path, built: package.Built) -> None:
    tag = "cpython-" + built.runtime.removeprefix("python").replace(".", "")
    sources = [p for p in tree.rglob("*.py")]
    missing = [p for p in sources if not (p.parent / "__pycache__" / f"{p.stem}.{tag}.pyc").exists()]
    assert sources and missing == []
    for source in sources[:: max(1, len(sources) // 200)]:
        header = (source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc").read_bytes()[:16]
        flags = int.from_bytes(header[4:8], "little")
        assert flags == 0b01, f"{source}: not an unchecked-hash pyc (flags {flags:#b})"


def test_what_the_app_never_uses_is_gone_and_the_zip_is_within_budget(tree: Path, built: package.Built) -> None:
    unused = ["aiohttp", "yarl", "multidict", "phonenumbers/geodata", "phonenumbers/carrierdata", "twilio/rest/chat"]
    for gone in unused:
        assert not (tree / gone).exists(), gone
    assert not (tree / "botocore/data/ec2").exists()
    assert not list(tree.glob("*.dist-info/RECORD"))
    assert not list((tree / "botocore/data").rglob("examples-1.json"))
    assert built.zip_bytes <= 15 * 1024 * 1024, built
    assert built.zip_bytes < built.chalice_zip_bytes


def test_the_package_uses_the_locked_versions(tree: Path) -> None:
    locked = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if "==" in line and not line.startswith((" ", "#")):
            name, _, version = line.split(" ")[0].partition("==")
            locked[name.lower().replace("_", "-")] = version
    shipped = {}
    for info in tree.glob("*.dist-info"):
        name, _, version = info.name.removesuffix(".dist-info").rpartition("-")
        shipped[name.lower().replace("_", "-")] = version
    assert shipped, "no dist-info in the package"
    assert {n: locked.get(n) for n in shipped} == shipped


def test_the_deployed_stages_functions_trace_actively(built: package.Built) -> None:
    """``"xray": true`` in the stage config becomes Lambda's active tracing in chalice's template."""
    template = json.loads(built.template_path.read_text())
    functions = [r for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::Function"]
    assert len(functions) >= 1
    assert {f["Properties"].get("Tracing") for f in functions} == {"Active"}
    assert {f["Properties"]["Runtime"] for f in functions} == {built.runtime}


def test_the_package_carries_only_what_runs_in_lambda(tree: Path) -> None:
    """The local stack's pump, telephony provider and audio, the scripts and the owner's CLI stay out."""
    shipped = {p.relative_to(tree).as_posix() for p in tree.rglob("*") if p.is_file()}
    local = sorted(
        p
        for p in shipped
        if p.startswith(("calltracking_local/", "scripts/", "calltracking_cli/", "tests/", "bench/"))
        or "local_pump" in p
        or "local_audio" in p
    )
    assert local == []
    # and the check looks where the app is
    assert "chalicelib/voice/inbound.py" in shipped or "chalicelib/voice/inbound.pyc" in shipped

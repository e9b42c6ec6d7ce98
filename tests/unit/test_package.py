"""The Lambda package as deployed: built once for real, trimmed, and still able to do everything the app does.

Every check runs the unzipped package in a fresh interpreter started with ``-I -S`` (no site-packages,
no environment paths) and ``sys.path`` pointed at the package only, the tree made read-only and
``-B`` (root ignores the read-only mode; ``-I`` ignores ``PYTHONDONTWRITEBYTECODE``), as Lambda runs it
from ``/var/task``.

The tests of this area that need no database, network or server; the ones that need
processes, builds or Chromium are in ``tests/e2e/test_package.py``.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from calltracking_cli import package

ROOT = Path(__file__).resolve().parents[2]


def test_region_comes_from_the_environment_then_the_stage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    (tmp_path / ".chalice").mkdir()
    config = {
        "stages": {
            "a": {"environment_variables": {"PUBLIC_BASE_URL": "https://x.execute-api.eu-west-2.amazonaws.com/api"}},
            "b": {"environment_variables": {"PUBLIC_BASE_URL": "https://calls.example.com/api"}},
        }
    }
    (tmp_path / ".chalice/config.json").write_text(json.dumps(config))
    assert package.stage_region("a", tmp_path) == "eu-west-2"
    with pytest.raises(package.PackageError, match="AWS_DEFAULT_REGION"):
        package.stage_region("b", tmp_path)
    with pytest.raises(package.PackageError, match="no stage"):
        package.stage_region("c", tmp_path)
    monkeypatch.setenv("AWS_REGION", "ap-south-1")
    assert package.stage_region("b", tmp_path) == "ap-south-1"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    assert package.stage_region("b", tmp_path) == "us-west-2"


def test_nothing_in_chalicelib_imports_what_the_trim_drops() -> None:
    """A new ``import phonenumbers.geocoder`` (or of aiohttp, a Twilio domain, Powertools' router) would
    pass every test in the venv and fail only in Lambda: the trim's list must change with it."""
    dropped = [*package.UNUSED_PACKAGES, *(p.replace("/", ".") for p in package.UNUSED_PATHS)]
    dropped += ["phonenumbers.geocoder", "phonenumbers.carrier", "phonenumbers.timezone"]
    imported: list[tuple[str, str]] = []
    for path in [ROOT / "app.py", *(ROOT / "chalicelib").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            else:
                continue
            for name in names:
                part = name.split(".")[2] if name.startswith("twilio.rest.") else ""
                twilio_domain = part.islower() and part not in package.TWILIO_DOMAINS  # not Client, a class
                if twilio_domain or any(name == d or name.startswith(f"{d}.") for d in dropped):
                    imported.append((str(path.relative_to(ROOT)), name))
    assert imported == []


def test_the_twilio_domains_the_provider_reaches_are_kept() -> None:
    # ``client.lookups`` is an attribute, not an import: the trim must keep its folder all the same.
    import re

    source = (ROOT / "chalicelib" / "core" / "telephony" / "twilio.py").read_text()
    used = set(re.findall(r"client\.([a-z_]+)\.base_url", source))
    assert used and used <= set(package.TWILIO_DOMAINS), used

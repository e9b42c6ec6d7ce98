"""The dependency locks hold every pin of requirements*.txt, with hashes, and the venv is installed from them.

A pin added to a requirements file without ``make lock`` would be installed by nobody (the venv
installs the locks only) and shipped by nobody (the Lambda package is built from requirements.lock).
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;#\\]+)")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    """``name==version`` lines of a requirements file or lock (not following ``-r``)."""
    found = {}
    for line in path.read_text().splitlines():
        match = PIN.match(line.strip())
        if match:
            found[_norm(match.group(1))] = match.group(2)
    return found


def hashed(path: Path) -> dict[str, int]:
    """How many ``--hash`` each pinned entry of a lock carries."""
    counts: dict[str, int] = {}
    current = ""
    for line in path.read_text().splitlines():
        match = PIN.match(line)
        if match:
            current = _norm(match.group(1))
            counts[current] = 0
        if current and "--hash=sha256:" in line:
            counts[current] += 1
    return counts


def test_every_requirement_pin_is_in_the_dev_lock_at_the_same_version() -> None:
    lock = pins(ROOT / "requirements-dev.lock")
    files = sorted(ROOT.glob("requirements*.txt"))
    assert ROOT / "requirements.txt" in files and ROOT / "requirements-dev.txt" in files
    for path in files:
        wanted = pins(path)
        assert wanted, f"{path.name} has no pins"
        assert {n: lock.get(n) for n in wanted} == wanted, f"{path.name} changed: run make lock"


def test_the_runtime_lock_holds_the_runtime_pins_and_agrees_with_the_dev_lock() -> None:
    runtime, dev = pins(ROOT / "requirements.lock"), pins(ROOT / "requirements-dev.lock")
    wanted = pins(ROOT / "requirements.txt")
    assert {n: runtime.get(n) for n in wanted} == wanted, "requirements.txt changed: run make lock"
    assert {n: dev.get(n) for n in runtime} == runtime
    # Nothing a test needs leaks into what Lambda gets.
    assert "moto" not in runtime and "pytest" not in runtime and "chalice" not in runtime


def test_every_locked_entry_carries_hashes() -> None:
    for name in ("requirements.lock", "requirements-dev.lock"):
        counts = hashed(ROOT / name)
        assert len(counts) > 10
        assert [n for n, c in counts.items() if c == 0] == [], name


def test_the_venv_is_installed_from_the_locks_with_hashes_required() -> None:
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("$(VENV)/.installed:", 1)[1].split("\n\n", 1)[0]
    assert "requirements.lock" in recipe.splitlines()[0] and "requirements-dev.lock" in recipe.splitlines()[0]
    installs = [line for line in recipe.splitlines() if "pip install" in line]
    # The owner's CLI (this checkout, editable) installs no dependency and fetches nothing: --no-deps,
    # no build isolation (setuptools and wheel come from the lock).
    checkout = [line for line in installs if line.rstrip().endswith(" -e .")]
    assert all("--no-deps" in line and "--no-build-isolation" in line for line in checkout)
    deps = [line for line in installs if line not in checkout]
    assert deps and all("--require-hashes -r requirements-dev.lock" in line for line in deps)

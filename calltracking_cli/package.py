"""The Lambda package: ``chalice package``, then trimmed and compiled so a cold start is cheap.

Lambda runs the code from a read-only ``/var/task``: Python cannot write ``__pycache__`` there, so
without shipped bytecode every cold start compiles every module it imports again (about 3x the
cost of ``import boto3`` for this app). ``chalice package`` ships sources only, and everything the
dependencies carry: botocore's models of 400+ services, phonenumbers' geocoder, Twilio's 40 REST
domains and its async HTTP stack. ``build`` runs ``chalice package`` and then rewrites its zip:

* dependencies pinned by ``requirements.lock`` (the versions the tests ran), not re-resolved;
* botocore's data cut to the services the app makes clients for (``botocore_services()``);
* the data phonenumbers keeps for geocoding, carriers and time zones dropped (the app parses,
  validates and formats only: what the ``phonenumberslite`` distribution ships);
* Twilio REST domains other than ``api`` (2010) dropped, and Twilio's async HTTP client's
  dependencies (aiohttp and its family) that nothing imports;
* test directories, type stubs and install records (dist-info ``RECORD``) dropped;
* every module compiled for the runtime's Python with unchecked-hash pycs, which Python uses
  without looking at the source's timestamp (a zip's timestamps are not kept exactly).

``tests/e2e/test_package.py`` builds the real package and proves that every client the app makes
still loads from it, with nothing else on ``sys.path``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The AWS services the app makes botocore clients for: the base's (PynamoDB: dynamodb; secrets:
# ssm) and those each integration declares it keeps (the event bus: sqs; recordings: s3; alerts:
# sesv2, ssm). The stream is read by Lambda's event source mapping, never by a client in Lambda
# (only the local pump, outside the package, reads it). tests/e2e/test_package.py reads chalicelib
# for every client(...) call and fails when one is missing here.
CORE_BOTOCORE_SERVICES = ("dynamodb", "ssm")


def botocore_services() -> tuple[str, ...]:
    """The base's services and every integration's declared keeps."""
    # The declarations are strings only (no handler is imported); the CLI has put the project on sys.path.
    from chalicelib.integrations.wiring import INTEGRATIONS

    return tuple(sorted({*CORE_BOTOCORE_SERVICES, *(s for i in INTEGRATIONS for s in i.keep.botocore_services)}))


# botocore/data files every client needs whatever its service.
BOTOCORE_SHARED = ("_retry.json", "endpoints.json", "partitions.json", "sdk-default-configuration.json")
# Twilio REST domains the app calls (numbers, recordings: API 2010; line types: Lookup v2).
TWILIO_DOMAINS = ("api", "lookups")
# Top-level packages never imported: Twilio's optional async HTTP client (aiohttp) and its family.
UNUSED_PACKAGES = (
    "aiohappyeyeballs",
    "aiohttp",
    "aiohttp_retry",
    "aiosignal",
    "attr",
    "attrs",
    "frozenlist",
    "multidict",
    "propcache",
    "yarl",
)
# Inside packages: data and subpackages the app never loads.
UNUSED_PATHS = (
    "phonenumbers/geodata",  # descriptions of where a number is ("Mountain View, CA")
    "phonenumbers/carrierdata",  # the carrier a mobile number was first given to
    "phonenumbers/tzdata",  # time zones of a number's area
    "aws_lambda_powertools/event_handler",  # Powertools' own router: Chalice routes here
)
JUNK_DIRS = frozenset({"tests", "test", "__pycache__"})
JUNK_SUFFIXES = (".pyi", ".c", ".h", ".pyx", ".pxd")
JUNK_DIST_INFO = frozenset({"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"})

CACHE_DIR = ROOT / ".local" / "package"


class PackageError(Exception):
    """The package cannot be built; the message says what to fix."""


@dataclass(frozen=True)
class Built:
    """What ``build`` made: the trimmed zip, the SAM template that points at it, and their sizes."""

    zip_path: Path
    template_path: Path
    zip_bytes: int
    unzipped_bytes: int
    chalice_zip_bytes: int  # as ``chalice package`` made it, before trimming
    chalice_unzipped_bytes: int
    runtime: str  # the Lambda runtime in the template, e.g. "python3.11"

    def to_json(self) -> dict[str, object]:
        return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self).items()}


CHALICE_ZIP = "chalice-deployment.zip"


def build(
    stage: str, out_dir: Path, *, region: str | None = None, project_dir: Path = ROOT, keep_chalice_zip: bool = False
) -> Built:
    """Run ``chalice package --stage <stage> <out_dir>`` and trim and compile its deployment.zip in place.

    ``keep_chalice_zip`` keeps chalice's own zip next to it (``CHALICE_ZIP``) for the benchmark's before/after.
    """
    region = region or stage_region(stage, project_dir)
    out_dir = Path(out_dir).resolve()
    with _locked(project_dir):
        staging = _stage_project(project_dir)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        env = os.environ | {"AWS_DEFAULT_REGION": region}
        answer = subprocess.run(  # noqa: S603 (our own chalice, arguments from our config)
            [_chalice(), "package", "--stage", stage, str(out_dir)],
            cwd=staging,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if answer.returncode != 0:
            raise PackageError(f"chalice package failed:\n{answer.stdout}\n{answer.stderr}")
    zip_path = out_dir / "deployment.zip"
    template_path = out_dir / "sam.json"
    runtime = _runtime(template_path)
    chalice_zip = zip_path.stat().st_size
    if keep_chalice_zip:
        shutil.copy2(zip_path, out_dir / CHALICE_ZIP)
    with tempfile.TemporaryDirectory(prefix="ct-package-") as tmp:
        tree = Path(tmp) / "tree"
        with zipfile.ZipFile(zip_path) as archive:
            chalice_unzipped = sum(info.file_size for info in archive.infolist())
            archive.extractall(tree)
        trim(tree)
        compile_tree(tree, runtime)
        unzipped = write_zip(tree, zip_path)
    return Built(
        zip_path=zip_path,
        template_path=template_path,
        zip_bytes=zip_path.stat().st_size,
        unzipped_bytes=unzipped,
        chalice_zip_bytes=chalice_zip,
        chalice_unzipped_bytes=chalice_unzipped,
        runtime=runtime,
    )


def cached_build(stage: str = "dev", *, project_dir: Path = ROOT, region: str = "us-east-1") -> Built:
    """``build`` once per content: the tests and the benchmark reuse a package whose inputs did not change.

    The key hashes everything that goes into the zip (app, chalicelib, stage config, the pinned
    requirements) and this module, so a changed input or trimming rule builds again.
    """
    key = source_hash(project_dir, stage, region)
    out = CACHE_DIR / f"built-{stage}-{key}"
    manifest = out / "built.json"
    with _locked(project_dir, name="cache.lock"):
        if manifest.exists():
            data = json.loads(manifest.read_text())
            return Built(
                zip_path=Path(data["zip_path"]),
                template_path=Path(data["template_path"]),
                zip_bytes=int(data["zip_bytes"]),
                unzipped_bytes=int(data["unzipped_bytes"]),
                chalice_zip_bytes=int(data["chalice_zip_bytes"]),
                chalice_unzipped_bytes=int(data["chalice_unzipped_bytes"]),
                runtime=str(data["runtime"]),
            )
        for old in CACHE_DIR.glob(f"built-{stage}-*"):
            shutil.rmtree(old, ignore_errors=True)
        built = build(stage, out, region=region, project_dir=project_dir, keep_chalice_zip=True)
        manifest.write_text(json.dumps(built.to_json(), indent=2))
        return built


def source_hash(project_dir: Path, stage: str, region: str = "") -> str:
    """A digest of every input of the package (and of the rules that trim it), the stage and region too."""
    digest = hashlib.sha256(f"{stage}\0{region}".encode())
    files = [project_dir / "app.py", Path(__file__), _requirements(project_dir), project_dir / ".chalice/config.json"]
    files += sorted(p for p in (project_dir / "chalicelib").rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    files += sorted((project_dir / ".chalice").glob("policy-*.json"))
    for path in files:
        digest.update(str(path.relative_to(project_dir) if path.is_relative_to(project_dir) else path.name).encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


def stage_region(stage: str, project_dir: Path = ROOT) -> str:
    """The region to package for: the environment's, else the stage's config, else its API URL's.

    ``chalice package`` reads ``AWS_DEFAULT_REGION`` only (not ``AWS_REGION``) and fails without it.
    """
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION"):
        if os.environ.get(name):
            return os.environ[name]
    config = json.loads((project_dir / ".chalice" / "config.json").read_text())
    stage_config = config.get("stages", {}).get(stage)
    if stage_config is None:
        raise PackageError(f"no stage {stage!r} in .chalice/config.json")
    variables = config.get("environment_variables", {}) | stage_config.get("environment_variables", {})
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION"):
        if variables.get(name):
            return str(variables[name])
    found = re.search(r"\.execute-api\.([a-z0-9-]+)\.amazonaws\.com", variables.get("PUBLIC_BASE_URL", ""))
    if found:
        return found.group(1)
    raise PackageError(
        f"no AWS region for stage {stage!r}: set AWS_DEFAULT_REGION (e.g. export AWS_DEFAULT_REGION=us-east-1)"
    )


def trim(tree: Path) -> None:
    """Delete from the unzipped package what the app never loads (the module docstring says what)."""
    for name in UNUSED_PACKAGES:
        _remove(tree / name)
        for info in tree.glob(f"{name}-*.dist-info"):
            _remove(info)
    for rel in UNUSED_PATHS:
        _remove(tree / rel)
    data = tree / "botocore" / "data"
    services = botocore_services()
    if data.is_dir():
        for entry in data.iterdir():
            if entry.is_dir() and entry.name not in services:
                _remove(entry)
            elif entry.is_file() and entry.name not in BOTOCORE_SHARED:
                entry.unlink()
        for examples in data.rglob("examples-1.json"):
            examples.unlink()  # documentation only
    rest = tree / "twilio" / "rest"
    if rest.is_dir():
        for entry in rest.iterdir():
            if entry.is_dir() and entry.name not in TWILIO_DOMAINS:
                _remove(entry)
    for path in sorted(tree.rglob("*"), reverse=True):
        top = path.relative_to(tree).parts[0]
        if top in ("chalicelib", "app.py") or not path.exists():
            continue
        if path.is_dir() and path.name in JUNK_DIRS:
            _remove(path)
        elif path.is_file() and (
            path.suffix in JUNK_SUFFIXES or (path.parent.name.endswith(".dist-info") and path.name in JUNK_DIST_INFO)
        ):
            path.unlink()


def compile_tree(tree: Path, runtime: str) -> None:
    """Compile every module to ``__pycache__`` for the runtime's Python, as unchecked-hash pycs.

    Unchecked-hash pycs are used whatever the source's timestamp says; a timestamp pyc would be
    thrown away (and the module compiled at every cold start) wherever unzipping changes the mtime.
    """
    python = runtime_python(runtime)
    code = (
        "import compileall, py_compile, sys\n"
        "ok = compileall.compile_dir(sys.argv[1], quiet=1, workers=0,"
        " invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)\n"
        "sys.exit(0 if ok else 1)\n"
    )
    command = [python, "-I", "-c", code, str(tree)]
    answer = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 (our interpreter)
    if answer.returncode != 0:
        raise PackageError(f"compiling the package failed:\n{answer.stdout}\n{answer.stderr}")


def runtime_python(runtime: str) -> str:
    """An interpreter of the Lambda runtime's version (``python3.11``): bytecode is per minor version."""
    wanted = runtime.removeprefix("python")
    if f"{sys.version_info.major}.{sys.version_info.minor}" == wanted:
        return sys.executable
    found = shutil.which(f"python{wanted}")
    if found is None:
        raise PackageError(f"the Lambda runtime is {runtime}; compiling its bytecode needs python{wanted} on PATH")
    return found


def write_zip(tree: Path, zip_path: Path) -> int:
    """Zip the tree again (sorted, fixed dates, readable modes: the same tree gives the same bytes)."""
    total = 0
    tmp = zip_path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in sorted(p for p in tree.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(str(path.relative_to(tree)), date_time=(2020, 1, 1, 0, 0, 0))
            mode = 0o755 if path.stat().st_mode & stat.S_IXUSR else 0o644
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            content = path.read_bytes()
            total += len(content)
            archive.writestr(info, content, compresslevel=9)
    tmp.replace(zip_path)
    return total


def _stage_project(project_dir: Path) -> Path:
    """A copy of what chalice packages, with ``requirements.txt`` replaced by the lock when there is one.

    The copy lives under ``.local/package/project`` so chalice's own cache of downloaded wheels
    (``.chalice/deployments`` inside it) survives between builds.
    """
    staging = CACHE_DIR / "project" if project_dir == ROOT else project_dir / ".local" / "package" / "project"
    staging.mkdir(parents=True, exist_ok=True)
    for name in ("app.py", "chalicelib"):
        target = staging / name
        _remove(target)
        source = project_dir / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, target)
    (staging / ".chalice").mkdir(exist_ok=True)
    for path in (project_dir / ".chalice").glob("*.json"):
        shutil.copy2(path, staging / ".chalice" / path.name)
    (staging / "requirements.txt").write_text(_requirements(project_dir).read_text())
    return staging


def _requirements(project_dir: Path) -> Path:
    lock = project_dir / "requirements.lock"
    return lock if lock.exists() else project_dir / "requirements.txt"


def _runtime(template_path: Path) -> str:
    template = json.loads(template_path.read_text())
    runtimes = {
        str(r["Properties"]["Runtime"])
        for r in template["Resources"].values()
        if r.get("Type") in ("AWS::Serverless::Function", "AWS::Lambda::Function")
    }
    if len(runtimes) != 1:
        raise PackageError(f"expected one Lambda runtime in {template_path}, found {sorted(runtimes)}")
    return runtimes.pop()


def _chalice() -> str:
    found = Path(sys.executable).parent / "chalice"
    return str(found) if found.exists() else (shutil.which("chalice") or "chalice")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


@contextlib.contextmanager
def _locked(project_dir: Path, name: str = "build.lock") -> Iterator[None]:
    """One build at a time (the two test workers, a benchmark): chalice's wheel cache is not safe to share."""
    lock_dir = CACHE_DIR if project_dir == ROOT else project_dir / ".local" / "package"
    lock_dir.mkdir(parents=True, exist_ok=True)
    with open(lock_dir / name, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def main(argv: list[str] | None = None) -> None:
    """``python -m calltracking_cli.package [--stage dev] [--out DIR]``: build and print the sizes."""
    import argparse  # only for this command line, not for callers of build()

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    built = build(args.stage, args.out or CACHE_DIR / f"out-{args.stage}")
    mb = 1024 * 1024
    print(f"{built.zip_path}  {built.zip_bytes / mb:.1f} MB zipped, {built.unzipped_bytes / mb:.1f} MB unzipped")
    before = f"{built.chalice_zip_bytes / mb:.1f} MB zipped, {built.chalice_unzipped_bytes / mb:.1f} MB unzipped"
    print(f"chalice package alone: {before}")
    print(f"template: {built.template_path}")


if __name__ == "__main__":
    main()

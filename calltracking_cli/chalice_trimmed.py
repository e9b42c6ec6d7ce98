"""``chalice`` with the trimmed package: Chalice's own deployer, handed our zip instead of building its own.

    CALLTRACKING_PACKAGE_ZIP=built.zip python -m calltracking_cli.chalice_trimmed --project-dir . deploy --stage prod

``calltracking deploy`` runs this as its ``--chalice`` command. Chalice's deployer asks its packager
for a zip (``LambdaDeploymentPackager.create_deployment_package``, and the app-only packager when a
managed layer is on); here the packager answers with the package ``calltracking_cli.package`` built
(compiled bytecode, pruned botocore). So every ``CreateFunction`` and ``UpdateFunctionCode`` Chalice
sends carries the trimmed package: there is no window in which Chalice's own, slower package serves,
and the REST API, its id and its URL stay Chalice's (moving to another stack would replace them,
and with them the URL Twilio and every site's tag call).

Without ``CALLTRACKING_PACKAGE_ZIP`` this is plain ``chalice`` (``deploy --skip-package``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

PACKAGE_ENV = "CALLTRACKING_PACKAGE_ZIP"


def use_package(zip_path: Path) -> None:
    """Make every Chalice packager that builds a function's code answer with ``zip_path``."""
    from chalice.deploy import packager

    path = str(zip_path)

    def ours(self: object, project_dir: str, python_version: str) -> str:
        return path

    for name in ("LambdaDeploymentPackager", "AppOnlyDeploymentPackager"):
        getattr(packager, name).create_deployment_package = ours


def main(argv: list[str] | None = None) -> int:
    from calltracking_cli import awscalls

    awscalls.install_from_env()  # the deployer's own requests, for the deployer policy's test
    given = os.environ.get(PACKAGE_ENV, "")
    if given:
        zip_path = Path(given)
        if not zip_path.is_file():
            print(f"{PACKAGE_ENV}={given}: no such file", file=sys.stderr)
            return 2
        use_package(zip_path)
    from chalice.cli import cli

    try:
        cli.main(args=list(sys.argv[1:] if argv is None else argv), prog_name="chalice", obj={}, standalone_mode=False)
    except SystemExit as exc:  # click's own exits (usage errors)
        return int(exc.code or 0)
    except Exception as exc:  # what chalice.cli.main does: the error, exit 2
        import traceback

        traceback.print_exc()
        print(f"chalice failed: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The throttling step against moto's API Gateway (create_rest_api, create_deployment, update_stage
are what moto serves): the patch operations are applied and read back from ``methodSettings``.

The tests of this area that need no database, network or server; the ones that need
the database are in ``tests/integration/test_cli_throttle.py``.
"""

from __future__ import annotations

from calltracking_cli import throttle


def test_resource_paths_are_escaped_as_json_pointers():
    assert throttle.Limit("/v1/leases", "POST", 1, 1).key == "~1v1~1leases/POST"
    assert throttle.Limit("/a~b", "GET", 1, 1).key == "~1a~0b/GET"

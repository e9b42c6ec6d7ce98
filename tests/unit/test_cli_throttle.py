"""The tests of ``tests/integration/test_cli_throttle.py`` that need no database, network or server (moved here
unchanged; the module there says what the area is)."""

from __future__ import annotations

from calltracking_cli import throttle


def test_resource_paths_are_escaped_as_json_pointers():
    assert throttle.Limit("/v1/leases", "POST", 1, 1).key == "~1v1~1leases/POST"
    assert throttle.Limit("/a~b", "GET", 1, 1).key == "~1a~0b/GET"

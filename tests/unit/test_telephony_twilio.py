"""The twilio provider, with the real Twilio SDK, against Prism serving Twilio's published OpenAPI spec.

Prism runs with ``--errors``, so a request our code sends that breaks the spec comes back
422 (and fails these tests), and every exchange the SDK had is recorded and checked.
Prism answers with the spec's examples: assert on shape, not on values.

The tests of this area that need no database, network or server; the ones that need
the database are in ``tests/integration/test_telephony_twilio.py``.
"""

from __future__ import annotations

import subprocess
import sys

from tests.support import servers


def test_importing_the_provider_does_not_import_the_sdk():
    code = "import sys, chalicelib.core.telephony.twilio; print(sorted({'twilio.rest', 'requests'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=servers.ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

"""The tests of ``tests/integration/test_telephony_twilio.py`` that need no database, network or server (moved here
unchanged; the module there says what the area is)."""

from __future__ import annotations

import subprocess
import sys

from tests.support import servers


def test_importing_the_provider_does_not_import_the_sdk():
    code = "import sys, chalicelib.core.telephony.twilio; print(sorted({'twilio.rest', 'requests'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=servers.ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

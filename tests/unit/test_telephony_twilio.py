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


def test_a_caller_lookup_reads_the_line_type_and_the_caller_name(monkeypatch):
    from types import SimpleNamespace

    from chalicelib.core.telephony.twilio import TwilioTelephony

    asked: list[str] = []
    answer = SimpleNamespace(
        line_type_intelligence={"type": "nonFixedVoip", "carrier_name": "x"},
        caller_name={"caller_name": "JANE DOE ", "caller_type": "CONSUMER", "error_code": None},
    )

    def fetch(fields: str) -> SimpleNamespace:
        asked.append(fields)
        return answer

    lookups = SimpleNamespace(v2=SimpleNamespace(phone_numbers=lambda number: SimpleNamespace(fetch=fetch)))
    p = TwilioTelephony(account_sid="AC" + "0" * 32, auth_token_getter=lambda: "t")
    monkeypatch.setattr(p, "_rest", lambda: SimpleNamespace(lookups=lookups))
    assert p.caller_lookup("+14155552671", caller_name=True) == {"line_type": "nonFixedVoip", "caller_name": "JANE DOE"}
    # Without the caller name: the one field only, and call screening's line_type is the same request
    assert p.caller_lookup("+14155552671", caller_name=False) == {"line_type": "nonFixedVoip", "caller_name": None}
    assert p.line_type("+14155552671") == "nonFixedVoip"
    assert asked == ["line_type_intelligence,caller_name", "line_type_intelligence", "line_type_intelligence"]

"""Webhooks against a real HTTP receiver that verifies with the ``standardwebhooks`` library:
the events of a call, signed afresh on every attempt, retried, disabled, rotated, refused.

The receiver runs on loopback (allowed on the local and test stages only); the events go
through the same stream, SQS fan-out and local event pump as every subscriber's.

The tests of this area that need no database, network or server; the ones that need
the database are in ``tests/integration/test_webhooks.py``.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.events import model
from chalicelib.integrations.webhooks import endpoints

CALLER = "+14155550122"


def documented_payload_errors(payload: Any) -> list[str]:
    """What in ``payload`` breaks ``WebhookPayload`` in docs/openapi.yaml (OpenAPI 3.1 is JSON Schema 2020-12)."""
    import jsonschema
    import yaml

    from tests.unit.test_openapi import SPEC_PATH

    spec = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    schema = {"$ref": "#/components/schemas/WebhookPayload", "components": spec["components"]}
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(payload)]


def test_the_payload_never_carries_a_twilio_media_url() -> None:
    rec = {"sid": "RE1", "url": "https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/RE1", "duration": 3}
    event = model.Event("evt_1", "call.updated", "CA1", 0, {"sid": "CA1", "recording": rec}, {"recording": rec})
    data = endpoints.payload(event)["data"]
    assert data["call"]["recording"] == {"sid": "RE1", "duration": 3} and "url" not in data["changes"]["recording"]
    assert "twilio.com" not in json.dumps(endpoints.payload(event))
    recorded = {**body_of_a_call(), "recording": rec, "recorded": True}
    completed = endpoints.payload(model.Event("evt_2", "call.completed", "CA1", 0, recorded))
    assert documented_payload_errors(completed) == [] and "url" not in completed["data"]["call"]["recording"]


def body_of_a_call() -> dict[str, Any]:
    from chalicelib import calls
    from chalicelib.store.models import CallModel

    return calls.to_dict(CallModel("CA" + "2" * 32, started_at=0, caller=CALLER, kind="channel"))


def test_every_event_type_has_words_on_the_endpoint_form() -> None:
    """The form lists each event an endpoint can take in words, not only by its name."""
    from chalicelib.dashboard.hookspage import EVENT_WORDS
    from chalicelib.events.model import TYPES

    assert set(EVENT_WORDS) == set(TYPES)

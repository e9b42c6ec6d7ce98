"""The voice path's own metrics reach stdout as CloudWatch embedded-metric (EMF) JSON, where they happen.

infra/tables.yaml alarms on these names (tests/unit/test_alarms.py holds the two together); each test
here makes the thing happen through the real app and reads the EMF lines Powertools prints.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from chalicelib.core import observability
from chalicelib.core.errors import StorageUnavailable
from chalicelib.voice import inbound
from tests.support.env import DEFAULT_PHONE, body

Emitted = dict[str, Any]


@pytest.fixture
def emitted(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Callable[[], Emitted]:
    """The EMF lines printed since the test began: metric name -> {"values", "unit", "namespace", "dimensions"}."""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    observability.metrics.clear_metrics()  # values other tests added while metrics were disabled
    capsys.readouterr()

    def read() -> Emitted:
        found: Emitted = {}
        for line in capsys.readouterr().out.splitlines():
            if not line.startswith("{") or '"_aws"' not in line:
                continue
            blob = json.loads(line)
            for directive in blob["_aws"]["CloudWatchMetrics"]:
                dimensions = {d: blob[d] for ds in directive["Dimensions"] for d in ds}
                for metric in directive["Metrics"]:
                    value = blob[metric["Name"]]
                    entry = found.setdefault(
                        metric["Name"],
                        {"values": [], "unit": metric["Unit"], "namespace": directive["Namespace"]},
                    )
                    entry["dimensions"] = dimensions
                    entry["values"] += value if isinstance(value, list) else [value]
        return found

    return read


def _number(api: Any) -> str:
    channel = body(api.call("POST", "/v1/channels", {"name": "Radio", "forward_to": "+12025550144"}))
    return str(body(api.call("POST", "/v1/numbers", {"channel_id": channel["id"]}))["number"])


def test_an_answered_call_emits_voice_answered_and_its_duration(api: Any, emitted: Callable[[], Emitted]) -> None:
    number = _number(api)
    emitted()  # the management calls' metrics
    answer = api.twilio("/twilio/voice", {"CallSid": "CA1", "From": "+14155550111", "To": number})
    assert answer.status_code == 200 and b"+12025550144" in answer.body
    found = emitted()
    assert found[observability.VOICE_ANSWERED]["values"] == [1]
    assert found[observability.VOICE_ANSWERED]["namespace"] == observability.NAMESPACE
    assert found[observability.VOICE_ANSWERED]["dimensions"] == {"service": observability.SERVICE}
    duration = found[observability.VOICE_DURATION]
    assert duration["unit"] == "Milliseconds" and len(duration["values"]) == 1 and duration["values"][0] > 0
    assert observability.FALLBACK_HITS not in found and observability.ROUTING_FAILURES not in found


def test_voice_duration_covers_the_routing(
    api: Any, emitted: Callable[[], Emitted], monkeypatch: pytest.MonkeyPatch
) -> None:
    number = _number(api)
    real_route = inbound.route_from

    def slow_route(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.25)
        return real_route(*args, **kwargs)

    monkeypatch.setattr(inbound, "route_from", slow_route)
    emitted()
    api.twilio("/twilio/voice", {"CallSid": "CA2", "From": "+14155550111", "To": number})
    assert emitted()[observability.VOICE_DURATION]["values"][0] >= 250


def test_a_routing_failure_is_counted_and_the_call_still_forwarded(
    api: Any, emitted: Callable[[], Emitted], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_route(*args: Any, **kwargs: Any) -> Any:
        raise StorageUnavailable("DynamoDB is down")

    monkeypatch.setattr(inbound, "route_from", broken_route)
    emitted()
    answer = api.twilio("/twilio/voice", {"CallSid": "CA3", "From": "+14155550111", "To": "+12015550199"})
    assert answer.status_code == 200 and DEFAULT_PHONE.encode() in answer.body
    found = emitted()
    assert found[observability.ROUTING_FAILURES]["values"] == [1]
    assert found[observability.VOICE_ANSWERED]["values"] == [1]


def test_the_fallback_url_counts_a_fallback_hit(api: Any, emitted: Callable[[], Emitted]) -> None:
    answer = api.twilio("/twilio/fallback", {"CallSid": "CA4", "From": "+14155550111", "To": "+12015550199"})
    assert answer.status_code == 200 and DEFAULT_PHONE.encode() in answer.body
    found = emitted()
    assert found[observability.FALLBACK_HITS]["values"] == [1]
    assert found[observability.VOICE_ANSWERED]["values"] == [1]
    assert found[observability.FALLBACK_HITS]["dimensions"] == {"service": observability.SERVICE}


def test_a_forged_voice_request_counts_nothing(api: Any, emitted: Callable[[], Emitted]) -> None:
    answer = api.twilio("/twilio/voice", {"CallSid": "CA5", "From": "+1", "To": "+1"}, signature="forged")
    assert answer.status_code == 403
    found = emitted()
    assert observability.VOICE_ANSWERED not in found and observability.VOICE_DURATION not in found

"""The storage layer's wiring: timeouts chosen per caller, settings followed at the next request."""

from __future__ import annotations

from typing import Any

from chalicelib.core.settings import get_settings
from chalicelib.store import connections
from tests.support.env import body


def test_twilio_webhooks_use_short_timeouts_and_the_api_longer_ones(api: Any, monkeypatch: Any) -> None:
    # Given a spy on every connection the models ask for
    seen: list[connections.Timeouts] = []
    real = connections.table

    def spy(model: Any) -> Any:
        seen.append(connections.current())
        return real(model)

    monkeypatch.setattr(connections, "table", spy)
    s = get_settings()
    short = connections.Timeouts(s.webhook_connect_timeout, s.webhook_read_timeout, s.webhook_max_attempts)
    longer = connections.Timeouts(s.store_connect_timeout, s.store_read_timeout, s.store_max_attempts)
    assert short != longer
    # When the management API works
    ch = body(api.call("POST", "/v1/channels", {"name": "Radio", "forward_to": "+12025550144"}))
    number = body(api.call("POST", "/v1/numbers", {"channel_id": ch["id"]}))["number"]
    assert seen and set(seen) == {longer}
    # and Twilio calls the voice webhook
    seen.clear()
    r = api.twilio("/twilio/voice", {"CallSid": "CA" + "7" * 32, "From": "+14155550111", "To": number})
    # Then every request of the voice path had the short timeouts
    assert r.status_code == 200
    assert seen and set(seen) == {short}
    # and the API's requests after it are back to the longer ones
    seen.clear()
    api.call("GET", f"/v1/calls/CA{'7' * 32}")
    assert seen and set(seen) == {longer}


def test_a_changed_endpoint_is_followed_at_the_next_request(tables: None, monkeypatch: Any) -> None:
    from chalicelib.store.models import ChannelModel

    before = ChannelModel._get_connection()
    assert ChannelModel._get_connection() is before  # cached
    monkeypatch.setenv("DYNAMODB_ENDPOINT", "http://127.0.0.1:9")
    get_settings.cache_clear()
    try:
        after = ChannelModel._get_connection()
        assert after is not before and after.connection.host == "http://127.0.0.1:9"
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert ChannelModel._get_connection() is before


def test_every_model_of_a_timeout_class_shares_one_client(tables: None) -> None:
    # Given every model and the transactions, asked for their connections in each timeout class
    from chalicelib.store.models import ALL_MODELS

    def clients() -> set[int]:
        found = {id(m._get_connection().connection.client) for m in ALL_MODELS}
        return found | {id(connections.transactions().client)}

    store = clients()
    with connections.voice_path():
        voice = clients()
    # Then each class has one botocore client (one TLS pool), and the two classes differ
    assert len(store) == 1 and len(voice) == 1
    assert store != voice
    # and a request through it still reaches its own table
    from chalicelib.store.models import ChannelModel, CounterModel

    assert ChannelModel.count() >= 0 and CounterModel.count() >= 0

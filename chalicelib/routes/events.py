"""The call events' handlers: the calls table's stream, the fan-out queue, the scheduled sweep and alerts run.

Chalice takes the stream ARN and the queue name as literals when it packages the app, so
they come from the stage's settings. A stage without ``CALLS_STREAM_ARN`` (local, tests)
registers no stream handler: the local event pump calls the same functions instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint, Rate

from chalicelib.core.settings import get_settings
from chalicelib.routes import lazy_module

if TYPE_CHECKING:
    from chalicelib.events import delivery, stream, sweep
    from chalicelib.integrations.alerts import schedule as alerts_schedule
else:  # background work only: loaded on first use (see lazy_module)
    delivery = lazy_module("chalicelib.events.delivery")
    stream = lazy_module("chalicelib.events.stream")
    sweep = lazy_module("chalicelib.events.sweep")
    alerts_schedule = lazy_module("chalicelib.integrations.alerts.schedule")

bp = Blueprint(__name__)
_settings = get_settings()

if _settings.calls_stream_arn:

    @bp.on_dynamodb_record(stream_arn=_settings.calls_stream_arn, batch_size=100, starting_position="TRIM_HORIZON")
    def call_changes(event: Any) -> None:
        stream.handle(event.to_dict())


@bp.on_sqs_message(queue=_settings.events_queue, batch_size=1)
def call_events(event: Any) -> None:
    delivery.handle(event.to_dict())


@bp.schedule(Rate(15, unit=Rate.MINUTES))
def sweep_call_events(event: Any) -> None:
    sweep.run()


@bp.schedule(Rate(5, unit=Rate.MINUTES))
def alerts_and_summaries(event: Any) -> None:
    """Digests whose window ended, alerts on conditions (pools, webhooks, stuck events), summaries."""
    alerts_schedule.run()

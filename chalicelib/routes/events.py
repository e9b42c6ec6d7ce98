"""The call events' handlers: the calls table's stream, the fan-out queue, and every declared schedule.

Chalice takes the stream ARN and the queue name as literals when it packages the app, so
they come from the stage's settings. A stage without ``CALLS_STREAM_ARN`` (local, tests)
registers no stream handler: the local event pump calls the same functions instead.

The schedules are not listed here: each integration declares its own
(``chalicelib/integrations/wiring.py``), and ``register_schedules`` turns each declaration into a
Chalice schedule named as declared; the local pump runs the same declarations.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from chalice import Blueprint, Rate

from chalicelib.core.settings import get_settings
from chalicelib.integrations.registry import Integration, ScheduleDecl, load
from chalicelib.integrations.wiring import INTEGRATIONS
from chalicelib.routes import lazy_module

if TYPE_CHECKING:
    from chalicelib.events import delivery, stream
else:  # background work only: loaded on first use (see lazy_module)
    delivery = lazy_module("chalicelib.events.delivery")
    stream = lazy_module("chalicelib.events.stream")

bp = Blueprint(__name__)
_settings = get_settings()

if _settings.calls_stream_arn:

    @bp.on_dynamodb_record(stream_arn=_settings.calls_stream_arn, batch_size=100, starting_position="TRIM_HORIZON")
    def call_changes(event: Any) -> None:
        stream.handle(event.to_dict())


@bp.on_sqs_message(queue=_settings.events_queue, batch_size=1, maximum_concurrency=_settings.events_max_concurrency)
def call_events(event: Any) -> None:
    delivery.handle(event.to_dict())


def _runner(schedule: ScheduleDecl) -> Callable[[Any], None]:
    """The Lambda handler of one schedule: its declared function, loaded on the first run."""

    def run(event: Any) -> None:
        load(schedule.handler)()

    # Chalice names the Lambda function after the handler, so each must be unique and stay the name
    # it was deployed with (a rename would replace the function).
    run.__name__ = run.__qualname__ = schedule.name
    run.__doc__ = schedule.description or None
    return run


def register_schedules(
    blueprint: Blueprint, integrations: Iterable[Integration], namespace: dict[str, Any]
) -> list[str]:
    """Register every declared schedule on ``blueprint`` and bind its handler in ``namespace`` (the
    blueprint's module: Lambda finds a handler as ``<module>.<name>``); their names."""
    names: list[str] = []
    for integration in integrations:
        for schedule in integration.schedules:
            if schedule.name in names or schedule.name in namespace:
                raise ValueError(f"schedule {schedule.name!r} ({integration.name}): the name is taken")
            handler = blueprint.schedule(Rate(schedule.minutes, unit=Rate.MINUTES), name=schedule.name)
            namespace[schedule.name] = handler(_runner(schedule))
            names.append(schedule.name)
    return names


SCHEDULES = register_schedules(bp, INTEGRATIONS, globals())

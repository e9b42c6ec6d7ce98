"""The text-back, declared: one subscriber of completed calls."""

from __future__ import annotations

from chalicelib.integrations.registry import Integration, SubscriberDecl

_HERE = "chalicelib.integrations.textback"

INTEGRATION = Integration(
    name="textback",
    summary="one text to a missed caller, from the number they called, within a minute",
    subscribers=(
        SubscriberDecl(
            "textback",
            ("call.completed",),
            f"{_HERE}.sender:on_event",
            gate=f"{_HERE}.sender:wanted_types",
        ),
    ),
    settings=f"{_HERE}.settings",
    export=f"{_HERE}.caller_data:export",
    erase=f"{_HERE}.caller_data:erase",
)

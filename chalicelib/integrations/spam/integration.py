"""Spam scoring, declared: one subscriber of completed calls."""

from __future__ import annotations

from chalicelib.integrations.registry import Integration, SubscriberDecl

_HERE = "chalicelib.integrations.spam"

INTEGRATION = Integration(
    name="spam",
    summary="each completed call scored likely spam or not, with its reasons, stored on the call",
    subscribers=(SubscriberDecl("spam", ("call.completed",), f"{_HERE}.scorer:on_event"),),
    settings=f"{_HERE}.settings",
    export=f"{_HERE}.caller_data:export",
    erase=f"{_HERE}.caller_data:erase",
)

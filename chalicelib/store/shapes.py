"""Items that moved out of ``CounterModel.data`` into typed attributes (schema 1), read in both shapes.

An item written before schema 1 keeps its settings in one untyped ``data`` JSON attribute; from
schema 1 each setting is a top-level typed attribute, and ``shape`` = 1 says the typed
attributes are complete. Reads take the typed attributes of a shape-1 item and ``data``
otherwise; writes set both. Why both: the release before this one reads only ``data``, so a
rollback must find every user, endpoint and recipient written meanwhile (a bad migration
must not lock anyone out). A later release stops writing ``data``, then removes it.
"""

from __future__ import annotations

from typing import Any

from pynamodb.expressions.update import Action
from pynamodb.models import Model

TYPED = 1  # the ``shape`` of an item whose typed attributes are complete


def read(item: Model, fields: tuple[str, ...]) -> dict[str, Any]:
    """The item's settings as one mapping, whichever shape it is in."""
    if getattr(item, "shape", None) == TYPED:
        return {name: getattr(item, name) for name in fields if getattr(item, name) is not None}
    return dict(getattr(item, "data", None) or {})


def write(model: Any, fields: tuple[str, ...], settings: dict[str, Any]) -> list[Action]:
    """The update actions that store ``settings`` in both shapes (an absent setting is removed)."""
    actions: list[Action] = []
    for name in fields:
        attr = getattr(model, name)
        value = settings.get(name)
        actions.append(attr.set(value) if value is not None else attr.remove())
    return [*actions, model.shape.set(TYPED), model.data.set(settings)]

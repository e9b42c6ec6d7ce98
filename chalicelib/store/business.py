"""The business's profile item in the counters table (``CONFIG``/``business``): what was saved on Settings."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from chalicelib.core.context import SYSTEM, RequestContext
from chalicelib.store import keys
from chalicelib.store.models import CounterModel


@dataclass(frozen=True)
class StoredProfile:
    """What the owner saved; a field left out (None) falls back to the deployment's settings."""

    name: str | None = None
    timezone: str | None = None
    currency: str | None = None
    country: str | None = None
    conversions: tuple[str, ...] | None = None
    rebuild: dict[str, Any] = field(default_factory=dict)  # the report days' rebuild: state, cursor, counts
    updated_at: int | None = None


def get(*, ctx: RequestContext = SYSTEM) -> StoredProfile:
    """The saved profile (empty when never saved). One GetItem."""
    try:
        item = CounterModel.get(*keys.business_profile(), consistent_read=True)
    except CounterModel.DoesNotExist:
        return StoredProfile()
    return profile_of(item)


def profile_of(item: CounterModel | None) -> StoredProfile:
    """The profile an item read holds (``None``: never saved); ``store.accounts`` reads it beside a session."""
    if item is None:
        return StoredProfile()
    data = dict(item.data or {})
    conv = data.get("conversions")
    return StoredProfile(
        name=data.get("name"),
        timezone=data.get("timezone"),
        currency=data.get("currency"),
        country=data.get("country"),
        conversions=tuple(conv) if conv is not None else None,
        rebuild=dict(data.get("rebuild") or {}),
        updated_at=data.get("updated_at"),
    )


def save(profile: StoredProfile, *, ctx: RequestContext = SYSTEM) -> None:
    """Replace the whole profile. One PutItem."""
    key = keys.business_profile()
    data = {
        "name": profile.name,
        "timezone": profile.timezone,
        "currency": profile.currency,
        "country": profile.country,
        "conversions": list(profile.conversions) if profile.conversions is not None else None,
        "rebuild": profile.rebuild,
        "updated_at": profile.updated_at,
    }
    CounterModel(key.pk, key.sk, data={k: v for k, v in data.items() if v is not None}).save()


def save_rebuild(rebuild_id: str, state: dict[str, Any], *, ctx: RequestContext = SYSTEM) -> bool:
    """The report days' rebuild's state, kept only while the rebuild is still ``rebuild_id`` (a
    newer change of zone started its own): False when it is not. One GetItem, one PutItem."""
    old = get(ctx=ctx)
    if old.rebuild.get("id") != rebuild_id:
        return False
    save(replace(old, rebuild=state), ctx=ctx)
    return True

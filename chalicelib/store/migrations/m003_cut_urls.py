"""Migration 3: page URLs and referrers stored before the URL cut, cut as they are cut today.

Since the cut (``core.privacy``), the lease endpoint keeps page URLs as origin + path + tracking
parameters and referrers as origin + path. Sessions and calls stored before it may still hold
whole URLs (password-reset tokens, e-mail addresses, someone else's search). This walks the
sessions table (its source's landing page and referrer, each page view's URL) and the calls
table (the attribution's landing page and referrer) and rewrites what is not cut yet, each
write conditional on the item not having changed since it was read (``last_seen_at``, and the
call's ``updated_at``), so a session or call written meanwhile keeps what it got. A URL that is
not http(s) at all is dropped. Cursor: ``<walk>|<last evaluated key as JSON>``.
"""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib.core import privacy
from chalicelib.store.leases import _page
from chalicelib.store.migrations.pages import each_page
from chalicelib.store.models import CallModel, SessionModel
from chalicelib.store.ops import condition_failed


def cut_source(source: dict[str, Any]) -> dict[str, Any]:
    """A source (session's or call attribution's) with its landing page and referrer cut. Pure."""
    out = dict(source)
    for key, cut in (("landing_page", privacy.page_url), ("referrer", privacy.referrer)):
        value = out.get(key)
        if isinstance(value, str) and value:
            kept = cut(value)
            if kept is None:
                out.pop(key)
            else:
                out[key] = kept
    return out


def _session(item: SessionModel) -> bool:
    source = dict(item.source or {})
    pages = [_page(p) for p in item.pages or []]
    new_source = cut_source(source)
    new_pages = []
    for page in pages:
        url = page.get("url")
        kept = privacy.page_url(url) if isinstance(url, str) and url else url
        new_pages.append({**page, "url": kept} if kept else {k: v for k, v in page.items() if k != "url"})
    if new_source == source and new_pages == pages:
        return False
    try:
        item.update(
            actions=[SessionModel.source.set(new_source), SessionModel.pages.set(new_pages)],  # type: ignore[arg-type]
            condition=SessionModel.last_seen_at == item.last_seen_at,
        )
    except UpdateError as exc:
        if condition_failed(exc):
            return False  # used since: the lease endpoint cut what it added, the next run cuts the rest
        raise
    return True


def _call(item: CallModel) -> bool:
    attribution = dict(item.attribution or {})
    source = attribution.get("source")
    if not isinstance(source, dict):
        return False
    cut = cut_source(source)
    if cut == source:
        return False
    unchanged = (
        CallModel.updated_at == item.updated_at
        if item.updated_at is not None
        else CallModel.updated_at.does_not_exist()
    )
    try:
        item.update(actions=[CallModel.attribution.set({**attribution, "source": cut})], condition=unchanged)
    except UpdateError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def step(cursor: str | None, limit: int) -> tuple[str | None, int]:
    """Cut up to ``limit`` items after ``cursor``; the next cursor (``None``: done) and how many."""
    return each_page(
        cursor,
        limit,
        (
            ("sessions", lambda n, k: SessionModel.scan(limit=n, last_evaluated_key=k, consistent_read=True), _session),
            ("calls", lambda n, k: CallModel.scan(limit=n, last_evaluated_key=k, consistent_read=True), _call),
        ),
    )

"""Numbered data migrations of the counters table, the schema version they reach, and their runner.

The schema item (``keys.schema_version``) holds the version (the last migration finished),
the migration under way, its cursor and how many items it has rewritten. ``run`` does
chunks of the next migrations until its item budget or the time it was given runs out, and
saves the cursor after every chunk, so the next run (the CLI again, or a Lambda) resumes
where this one stopped. Each save is conditional on the revision it read: two runners at
once never both advance, the second stops. Every rewrite is conditional too (on the item
not having been written in the new shape meanwhile), so migrating while calls, sign-ins and
deliveries arrive loses nothing.

How it runs (a decision the issue left open): ``calltracking migrate --stage`` runs it from
the owner's machine after a deploy, chunk after chunk, with the owner's credentials; the
Lambda needs no scan or schema permissions, and nothing runs on a schedule between
releases when there is nothing to do. ``run`` takes a deadline, so a scheduled Lambda can
call it the same way when a later migration is too large for one sitting.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import PutError

from chalicelib.core import clock
from chalicelib.core.context import SYSTEM, RequestContext
from chalicelib.store import keys
from chalicelib.store.migrations import m001_typed_items, m002_keyed_callers, m003_cut_urls
from chalicelib.store.migrations.pages import each_page as each_page  # the scanning migrations' step
from chalicelib.store.models import StoreModel, _meta
from chalicelib.store.ops import condition_failed

MARGIN_MS = 3_000  # stop this long before the deadline: a chunk's writes take a moment


@dataclass(frozen=True)
class Migration:
    number: int
    name: str
    # (cursor or None to begin, at most this many items) -> (the next cursor or None when done, items rewritten)
    step: Callable[[str | None, int], tuple[str | None, int]]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "typed users, web sessions, webhook endpoints and alert recipients", m001_typed_items.step),
    Migration(2, "keyed caller hashes in report sets and first-touch items", m002_keyed_callers.step),
    Migration(3, "page URLs and referrers stored before the URL cut, cut", m003_cut_urls.step),
)
LATEST = MIGRATIONS[-1].number


class SchemaItem(StoreModel):
    """The counters table's schema version and the progress of the migration under way."""

    Meta = _meta("counters")
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    version = NumberAttribute(default=0)
    running = NumberAttribute(null=True)
    cursor = UnicodeAttribute(null=True)
    rewritten = NumberAttribute(null=True)
    revision = NumberAttribute(default=0)
    updated_at = NumberAttribute(null=True)


@dataclass(frozen=True)
class SchemaState:
    version: int  # the last migration finished (0: none)
    latest: int  # the last migration this code knows
    running: int | None  # the migration under way
    cursor: str | None
    rewritten: int  # items the running migration has rewritten so far
    revision: int
    updated_at: int | None

    @property
    def pending(self) -> list[Migration]:
        return [m for m in MIGRATIONS if m.number > self.version]

    def describe(self) -> str:
        """One line for ``calltracking status``."""
        if self.version >= self.latest:
            return f"{self.version} (up to date)"
        if self.running is not None:
            return (
                f"{self.version} of {self.latest}: migration {self.running} under way, {self.rewritten} item(s) so far"
            )
        return f"{self.version} of {self.latest}: {len(self.pending)} migration(s) to run (calltracking migrate)"


def state(*, ctx: RequestContext = SYSTEM) -> SchemaState:
    try:
        item = SchemaItem.get(*keys.schema_version(), consistent_read=True)
    except SchemaItem.DoesNotExist:
        return SchemaState(0, LATEST, None, None, 0, 0, None)
    return SchemaState(
        version=int(item.version or 0),
        latest=LATEST,
        running=None if item.running is None else int(item.running),
        cursor=item.cursor,
        rewritten=int(item.rewritten or 0),
        revision=int(item.revision or 0),
        updated_at=None if item.updated_at is None else int(item.updated_at),
    )


def _save(seen: SchemaState, after: SchemaState) -> bool:
    """Store ``after`` only if nobody saved since ``seen``; ``False`` if another runner did."""
    item = SchemaItem(
        *keys.schema_version(),
        version=after.version,
        running=after.running,
        cursor=after.cursor,
        rewritten=after.rewritten,
        revision=seen.revision + 1,
        updated_at=clock.now_ms(),
    )
    unchanged = SchemaItem.revision == seen.revision if seen.revision else SchemaItem.pk.does_not_exist()
    try:
        item.save(condition=unchanged)
    except PutError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def run(
    *,
    remaining_ms: Callable[[], int],
    max_items: int = 1_000,
    chunk: int = 25,
    ctx: RequestContext = SYSTEM,
) -> SchemaState:
    """Run pending migrations in chunks until done, ``max_items`` items are rewritten, or
    ``remaining_ms()`` (a Lambda context's ``get_remaining_time_in_millis``) falls under the
    margin; answers the state it left. Run again to resume."""
    current = state(ctx=ctx)
    budget = max_items
    while current.version < LATEST and budget > 0 and remaining_ms() > MARGIN_MS:
        migration = next(m for m in MIGRATIONS if m.number > current.version)
        resuming = current.running == migration.number
        cursor, rewritten = current.cursor if resuming else None, current.rewritten if resuming else 0
        next_cursor, done = migration.step(cursor, min(chunk, budget))
        budget -= max(done, 1)
        if next_cursor is None:
            after = SchemaState(migration.number, LATEST, None, None, 0, current.revision + 1, None)
        else:
            after = SchemaState(
                current.version, LATEST, migration.number, next_cursor, rewritten + done, current.revision + 1, None
            )
        if not _save(current, after):
            return state(ctx=ctx)  # another runner moved on: it carries the work from here
        current = state(ctx=ctx)
    return current

"""How the tool prints what a command found: JSON for scripts (``--json``), aligned columns for people."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import click


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2))


def show(value: Any, as_json: bool, for_people: Callable[[Any], None]) -> None:
    """``value`` as JSON with ``--json``, else as ``for_people`` prints it."""
    if as_json:
        echo_json(value)
    else:
        for_people(value)


def columns(rows: Sequence[Sequence[str]]) -> None:
    """Rows (the first one the header) in left-aligned columns two spaces apart."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())

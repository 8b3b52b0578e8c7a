"""What every command shares: the database option, output helpers, error translation."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine

from leadledger.errors import LeadledgerError, TransitionRefused
from leadledger.settings import load_settings
from leadledger.store.db import is_initialized, make_engine

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


@dataclass
class State:
    """Options given before the command name."""

    db: str | None = None

    def url(self) -> str:
        """The database URL: --db, else LEADLEDGER_DATABASE_URL, else ./leadledger.db."""
        raw = load_settings(self.db).database_url
        return raw if "://" in raw else f"sqlite:///{raw}"

    def engine(self, *, must_exist: bool = True) -> Engine:
        """An engine; refuses a database that was never initialised."""
        engine = make_engine(self.url())
        if must_exist and not is_initialized(engine):
            raise LeadledgerError(f"no leadledger database at {self.url()}: run `leadledger init` first")
        return engine


state = State()


def _default(o: object) -> object:
    if isinstance(o, datetime | date):
        return o.isoformat()
    if hasattr(o, "to_dict"):
        return o.to_dict()
    return str(o)


def print_json(data: object) -> None:
    """Machine-readable output on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, default=_default, ensure_ascii=False) + "\n")


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    """A Rich table with right-aligned numbers."""
    t = Table(title=title, title_justify="left", header_style="bold")
    for c in columns:
        t.add_column(c)
    for r in rows:
        t.add_row(*["" if v is None else f"{v:,.1f}" if isinstance(v, float) else str(v) for v in r])
    return t


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn leadledger errors into a red message and exit code 1 (no traceback)."""
    try:
        yield
    except TransitionRefused as e:
        err.print(f"[red]refused:[/red] {e}", markup=True, highlight=False)
        raise typer.Exit(1) from None
    except LeadledgerError as e:
        err.print(f"[red]error:[/red] {e}", markup=True, highlight=False)
        raise typer.Exit(1) from None


@contextmanager
def progress_bar(enabled: bool = True) -> Iterator[Callable[[str, int, int], None]]:
    """A Rich progress bar driven by (step, done, total) callbacks; quiet when not a terminal."""
    if not enabled or not err.is_terminal:
        yield lambda _step, _done, _total: None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        tasks: dict[str, Any] = {}

        def update(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(step, total=total or None)
            bar.update(tasks[step], completed=done, total=total or None)

        yield update


def parse_date(value: str | None, flag: str) -> datetime | None:
    """A --from/--to style option as an aware datetime (UTC when no zone is given)."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise LeadledgerError(f"{flag} {value!r} is not a date (YYYY-MM-DD)") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def pct(x: float | None) -> str:
    """A share as a percentage, or a dash when there is none."""
    return "—" if x is None else f"{x:.1%}"


def num(x: float | None, digits: int = 1) -> str:
    """A number with thousands separators, or a dash when there is none."""
    return "—" if x is None else f"{x:,.{digits}f}"


def write_csv(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """CSV to stdout: a header row, then the rows (None as empty)."""
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(columns)
    w.writerows([["" if v is None else v for v in r] for r in rows])

"""Engines, connections and migrations for SQLite (default) and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect

if TYPE_CHECKING:  # Alembic is imported where it is used: only `init` migrates, and it costs 0.2 s
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def normalize_url(url: str) -> str:
    """Accept plain postgresql:// URLs and use the psycopg 3 driver for them."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL and pragmas tuned for bulk work."""
    url = normalize_url(url)
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA temp_store=MEMORY")
            cur.execute("PRAGMA cache_size=-200000")  # 200 MB page cache for set-based work
            cur.close()

    return engine


def alembic_config(engine: Engine) -> Config:
    """An Alembic config pointing at the packaged migrations, bound to `engine`."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration."""
    from alembic import command

    command.upgrade(alembic_config(engine), "head")


def is_initialized(engine: Engine) -> bool:
    """Whether `leadledger init` has created the schema in this database."""
    return inspect(engine).has_table("policies")


@contextmanager
def without_foreign_key_checks(conn: Connection) -> Iterator[None]:
    """SQLite: no per-row foreign-key probe, for callers that resolve every reference themselves.

    The pragma only takes effect outside a transaction, so call this before `conn.begin()`.
    """
    if conn.dialect.name != "sqlite":
        yield
        return
    conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
    conn.commit()
    try:
        yield
    finally:
        conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        conn.commit()


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """A connection inside one transaction: everything commits together or not at all."""
    with engine.begin() as conn:
        yield conn


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (the shell's clock; the domain never calls it)."""
    return datetime.now(UTC)


def to_db(ts: datetime | None) -> datetime | None:
    """Aware datetime → naive UTC for storage."""
    if ts is None:
        return None
    return ts.astimezone(UTC).replace(tzinfo=None) if ts.tzinfo else ts


def from_db(ts: datetime | str | None) -> datetime | None:
    """Stored naive UTC (or ISO text from raw SQL) → aware UTC datetime."""
    if ts is None:
        return None
    if isinstance(ts, str):
        try:  # stored text is naive: parsing it with an offset is several times faster than replace()
            parsed = datetime.fromisoformat(ts + "+00:00")
        except ValueError:
            parsed = datetime.fromisoformat(ts)
    else:
        parsed = ts
    if parsed.tzinfo is None:
        return datetime.combine(parsed.date(), parsed.time(), UTC)
    return parsed if parsed.tzinfo is UTC else parsed.astimezone(UTC)

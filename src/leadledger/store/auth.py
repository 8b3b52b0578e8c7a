"""Users and API keys: rows in, rows out (hashing and policy live in services.auth)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select, update

from leadledger.store.db import to_db
from leadledger.store.schema import api_keys, users


def insert_user(conn: Connection, username: str, password_hash: str, role: str, now: datetime) -> int:
    """Add a user row; returns its id."""
    res = conn.execute(
        insert(users).values(username=username, password_hash=password_hash, role=role, created_at=to_db(now))
    )
    return int(res.inserted_primary_key[0])  # type: ignore[index]


def user_by_name(conn: Connection, username: str) -> Row[Any] | None:
    """The user row called `username`, if any."""
    return conn.execute(select(users).where(users.c.username == username)).first()


def set_user_password(conn: Connection, username: str, password_hash: str) -> int:
    """Replace a user's password hash; returns rows changed."""
    return conn.execute(
        update(users).where(users.c.username == username).values(password_hash=password_hash)
    ).rowcount


def disable_user(conn: Connection, username: str, now: datetime) -> int:
    """Mark a user disabled; returns rows changed."""
    return conn.execute(
        update(users)
        .where(users.c.username == username, users.c.disabled_at.is_(None))
        .values(disabled_at=to_db(now))
    ).rowcount


def all_users(conn: Connection) -> list[Row[Any]]:
    """Every user, by name."""
    return list(conn.execute(select(users).order_by(users.c.username)))


def active_key_count(conn: Connection, name: str) -> int:
    """How many unrevoked keys carry `name`."""
    q = select(func.count()).where(api_keys.c.name == name, api_keys.c.revoked_at.is_(None))
    return int(conn.execute(q).scalar_one())


def insert_key(
    conn: Connection, *, name: str, prefix: str, key_hash: str, role: str, created_by: str, now: datetime
) -> Row[Any]:
    """Add an API key row; returns it."""
    conn.execute(
        insert(api_keys).values(
            name=name, prefix=prefix, key_hash=key_hash, role=role, created_at=to_db(now),
            created_by=created_by,
        )
    )
    row = conn.execute(select(api_keys).where(api_keys.c.prefix == prefix)).first()
    assert row is not None
    return row


def key_by_prefix(conn: Connection, prefix: str) -> Row[Any] | None:
    """The key row with this public prefix, revoked or not."""
    return conn.execute(select(api_keys).where(api_keys.c.prefix == prefix)).first()


def touch_key(conn: Connection, key_id: int, now: datetime) -> None:
    """Record when a key was last used."""
    conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(last_used_at=to_db(now)))


def revoke_keys(conn: Connection, *, prefix: str | None, name: str | None, now: datetime) -> int:
    """Revoke the key with `prefix`, or every active key called `name`; returns how many."""
    q = update(api_keys).where(api_keys.c.revoked_at.is_(None))
    if prefix is not None:
        q = q.where(api_keys.c.prefix == prefix)
    if name is not None:
        q = q.where(api_keys.c.name == name)
    return conn.execute(q.values(revoked_at=to_db(now))).rowcount


def all_keys(conn: Connection, *, include_revoked: bool) -> list[Row[Any]]:
    """Key rows (never a secret: only hashes are stored), newest first."""
    q = select(api_keys).order_by(api_keys.c.name, api_keys.c.created_at.desc(), api_keys.c.id.desc())
    if not include_revoked:
        q = q.where(api_keys.c.revoked_at.is_(None))
    return list(conn.execute(q))

"""Who is acting: dashboard users (argon2 passwords) and API keys (SHA-256, shown once, rotated by name)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from leadledger.domain.permissions import ROLES, Role, parse_role
from leadledger.errors import Conflict, LeadledgerError, NotFound
from leadledger.store import auth as store
from leadledger.store.db import from_db, to_db, transaction

KEY_PREFIX = "ll"
MAX_ACTIVE_KEYS_PER_NAME = 2  # the old and the new key while clients rotate
TOUCH_EVERY = timedelta(minutes=1)  # last_used_at is a hint: not one write per request
MIN_PASSWORD = 10

_hasher = PasswordHasher()
# Verifying an unknown user costs as much as a known one, so timing does not reveal usernames.
_DUMMY_HASH = _hasher.hash("not a password anyone has")


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting, as recorded in the ledger (`label`), and with which role."""

    kind: str  # "user" | "key" | "cli" | "system"
    name: str
    role: str

    @property
    def label(self) -> str:
        """The ledger's `actor` / evidence's `confirmed_by` text, e.g. `key:website#a1b2c3d4e5f6`."""
        return f"{self.kind}:{self.name}"


SYSTEM = Actor(kind="system", name="system", role=Role.ADMIN)


class BadCredentials(LeadledgerError):
    """A username, password, role or key name that cannot be used."""


def _role(role: str) -> str:
    try:
        return parse_role(role).value
    except ValueError as e:
        raise BadCredentials(str(e)) from None


def _check_name(what: str, name: str) -> str:
    name = name.strip()
    if not name or len(name) > 100 or any(c.isspace() for c in name):
        raise BadCredentials(f"{what} {name!r} must be 1-100 characters without spaces")
    return name


def hash_password(password: str) -> str:
    """An argon2id hash of `password` (refuses passwords shorter than MIN_PASSWORD)."""
    if len(password) < MIN_PASSWORD:
        raise BadCredentials(f"the password must have at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


def add_user(engine: Engine, username: str, password: str, role: str, now: datetime) -> Actor:
    """Create a dashboard user; Conflict if the name is taken."""
    username = _check_name("username", username)
    role = _role(role)
    digest = hash_password(password)
    try:
        with transaction(engine) as conn:
            store.insert_user(conn, username, digest, role, now)
    except IntegrityError:
        raise Conflict(f"user {username!r} already exists") from None
    return Actor(kind="user", name=username, role=role)


def set_password(engine: Engine, username: str, password: str) -> None:
    """Replace a user's password; NotFound if there is no such user."""
    digest = hash_password(password)
    with transaction(engine) as conn:
        if not store.set_user_password(conn, username, digest):
            raise NotFound(f"no user {username!r}")


def disable_user(engine: Engine, username: str, now: datetime) -> None:
    """Stop a user from logging in (sessions already issued die at their next request)."""
    with transaction(engine) as conn:
        if not store.disable_user(conn, username, now):
            raise NotFound(f"no active user {username!r}")


def list_users(engine: Engine) -> list[dict[str, Any]]:
    """Users with role and status (never the hash)."""
    with engine.connect() as conn:
        return [
            {
                "username": r.username,
                "role": r.role,
                "created_at": from_db(r.created_at),
                "disabled_at": from_db(r.disabled_at),
            }
            for r in store.all_users(conn)
        ]


def authenticate_user(engine: Engine, username: str, password: str, now: datetime) -> Actor | None:
    """The user's Actor if the password matches and the user is active, else None."""
    with engine.connect() as conn:
        row = store.user_by_name(conn, username.strip())
    digest = row.password_hash if row is not None else _DUMMY_HASH
    try:
        _hasher.verify(digest, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None or row.disabled_at is not None:
        return None
    if _hasher.check_needs_rehash(digest):  # parameters were raised since it was stored
        with transaction(engine) as conn:
            store.set_user_password(conn, row.username, _hasher.hash(password))
    return Actor(kind="user", name=row.username, role=row.role)


def active_user(engine: Engine, username: str) -> Actor | None:
    """The Actor for a still-active user (a session cookie is re-checked against this)."""
    with engine.connect() as conn:
        row = store.user_by_name(conn, username)
    if row is None or row.disabled_at is not None:
        return None
    return Actor(kind="user", name=row.username, role=row.role)


def key_hash(secret: str) -> str:
    """The stored form of an API key: SHA-256 hex (the key is high-entropy, so no salt or stretching)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _split(secret: str) -> str | None:
    parts = secret.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or len(parts[1]) != 12 or not parts[2]:
        return None
    return parts[1]


def _key_dict(r: Any) -> dict[str, Any]:
    return {
        "name": r.name,
        "prefix": r.prefix,
        "role": r.role,
        "created_at": from_db(r.created_at),
        "created_by": r.created_by,
        "revoked_at": from_db(r.revoked_at),
        "last_used_at": from_db(r.last_used_at),
    }


def create_api_key(
    engine: Engine, name: str, role: str, created_by: str, now: datetime
) -> tuple[dict[str, Any], str]:
    """A new key for `name` with `role`: (its stored row, the secret — shown this once only).

    Conflict if `name` already has two active keys: revoke the older one first (rotation).
    """
    name = _check_name("key name", name)
    role = _role(role)
    prefix = secrets.token_hex(6)
    secret = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    with transaction(engine) as conn:
        if store.active_key_count(conn, name) >= MAX_ACTIVE_KEYS_PER_NAME:
            raise Conflict(
                f"key name {name!r} already has {MAX_ACTIVE_KEYS_PER_NAME} active keys; "
                "revoke the older one first (leadledger key revoke PREFIX)"
            )
        row = store.insert_key(
            conn, name=name, prefix=prefix, key_hash=key_hash(secret), role=role, created_by=created_by,
            now=now,
        )
    return _key_dict(row), secret


def authenticate_key(engine: Engine, secret: str, now: datetime) -> Actor | None:
    """The key's Actor if `secret` is an active key, else None."""
    prefix = _split(secret)
    if prefix is None:
        return None
    with engine.connect() as conn:
        row = store.key_by_prefix(conn, prefix)
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.key_hash, key_hash(secret)):
        return None
    last = from_db(row.last_used_at)
    if last is None or now - last >= TOUCH_EVERY:
        with transaction(engine) as conn:
            store.touch_key(conn, row.id, now)
    return Actor(kind="key", name=f"{row.name}#{row.prefix}", role=row.role)


def revoke_key(engine: Engine, now: datetime, *, prefix: str | None = None, name: str | None = None) -> int:
    """Revoke one key by prefix, or all active keys of a name; NotFound if none was active."""
    if (prefix is None) == (name is None):
        raise BadCredentials("name exactly one of: a key prefix, or a key name")
    with transaction(engine) as conn:
        n = store.revoke_keys(conn, prefix=prefix, name=name, now=now)
    if n == 0:
        raise NotFound(f"no active key {'with prefix ' + repr(prefix) if prefix else 'named ' + repr(name)}")
    return n


def list_keys(engine: Engine, *, include_revoked: bool = False) -> list[dict[str, Any]]:
    """Keys with name, prefix, role, dates (never the secret: it is not stored)."""
    with engine.connect() as conn:
        return [_key_dict(r) for r in store.all_keys(conn, include_revoked=include_revoked)]


def known_roles() -> tuple[str, ...]:
    """The roles a user or key may have."""
    return ROLES


def as_of(now: datetime) -> datetime:
    """`now` as stored (naive UTC), for callers comparing with stored times."""
    ts = to_db(now)
    assert ts is not None
    return ts

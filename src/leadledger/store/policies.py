"""Stored policy versions: every version ever activated is kept; one is active."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from sqlalchemy import Connection, select, update

from leadledger.domain.policy import Policy
from leadledger.errors import NotFound
from leadledger.policyfile import parse_policy, policy_digest
from leadledger.store.db import to_db
from leadledger.store.schema import policies


def store_policy(conn: Connection, policy: Policy, text: str, now: datetime) -> bool:
    """Store `text` as a policy version and make it active; False if it already was active."""
    row = conn.execute(
        select(policies.c.id, policies.c.active).where(policies.c.version == policy.version)
    ).first()
    if row is not None and row.active:
        return False
    conn.execute(update(policies).values(active=False))
    if row is not None:
        conn.execute(update(policies).where(policies.c.id == row.id).values(active=True))
    else:
        conn.execute(
            policies.insert().values(
                name=policy.name,
                version=policy.version,
                digest=policy_digest(text),
                yaml=text,
                created_at=to_db(now),
                active=True,
            )
        )
    return True


def active_policy_text(conn: Connection) -> str:
    """The YAML of the active policy."""
    text = conn.execute(select(policies.c.yaml).where(policies.c.active)).scalar_one_or_none()
    if text is None:
        raise NotFound("no active policy: run `leadledger init` first")
    return str(text)


def load_active_policy(conn: Connection) -> Policy:
    """The active policy, parsed (it was validated before it was stored)."""
    return _parsed(active_policy_text(conn))


def stored_policy(conn: Connection, version: str) -> Policy | None:
    """A stored policy version, parsed (None if this database never stored it)."""
    text = conn.execute(select(policies.c.yaml).where(policies.c.version == version)).scalar_one_or_none()
    return None if text is None else _parsed(text)


@lru_cache(maxsize=8)
def _parsed(text: str) -> Policy:
    """Parsing YAML takes a quarter of a second; a report that runs several reads parses once."""
    return parse_policy(text, "stored policy")


def policy_history(conn: Connection) -> list[dict[str, object]]:
    """Every stored version, oldest first."""
    rows = conn.execute(
        select(policies.c.version, policies.c.created_at, policies.c.active).order_by(policies.c.id)
    )
    return [dict(r._mapping) for r in rows]

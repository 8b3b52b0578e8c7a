"""Stored predictive models: save a version, list them, activate one, roll back to the one before."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, select, update

from leadledger.errors import LeadledgerError, NotFound
from leadledger.store.db import from_db, to_db
from leadledger.store.schema import predictive_models


@dataclass(frozen=True, slots=True)
class StoredModel:
    """One stored model version (its serialized model only when asked for)."""

    id: int
    created_at: datetime
    kind: str
    outcome: str
    window_start: datetime | None
    window_end: datetime | None
    leads: int
    converted: int
    features: str  # JSON list
    metrics: str  # JSON
    policy_version: str
    active: bool
    activated_at: datetime | None
    model: str | None = None


def _stored(r: Row[Any], with_model: bool) -> StoredModel:
    return StoredModel(
        id=r.id, created_at=from_db(r.created_at) or r.created_at, kind=r.kind, outcome=r.outcome,
        window_start=from_db(r.window_start), window_end=from_db(r.window_end), leads=r.leads,
        converted=r.converted, features=r.features, metrics=r.metrics, policy_version=r.policy_version,
        active=bool(r.active), activated_at=from_db(r.activated_at), model=r.model if with_model else None,
    )


def save_model(conn: Connection, values: dict[str, Any], *, activate: bool, now: datetime) -> int:
    """Store a new version (made active if asked); returns its id."""
    row: dict[str, Any] = {**values, "created_at": to_db(now), "active": False, "activated_at": None}
    for column in ("window_start", "window_end"):
        row[column] = to_db(row.get(column))
    inserted = conn.execute(predictive_models.insert().values(**row)).inserted_primary_key
    if inserted is None:
        raise LeadledgerError("the database returned no id for the stored model")
    new_id = int(inserted[0])
    if activate:
        activate_model(conn, new_id, now)
    return new_id


def list_models(conn: Connection) -> list[StoredModel]:
    """Every version, newest first (without the serialized models)."""
    rows = conn.execute(select(predictive_models).order_by(predictive_models.c.id.desc()))
    return [_stored(r, with_model=False) for r in rows]


def get_model(conn: Connection, model_id: int) -> StoredModel:
    """One version with its serialized model, or NotFound."""
    r = conn.execute(select(predictive_models).where(predictive_models.c.id == model_id)).first()
    if r is None:
        raise NotFound(f"no stored model {model_id} (see `leadledger models`)")
    return _stored(r, with_model=True)


def active_model(conn: Connection) -> StoredModel | None:
    """The active version with its serialized model, if one is active."""
    r = conn.execute(select(predictive_models).where(predictive_models.c.active.is_(True))).first()
    return _stored(r, with_model=True) if r else None


def activate_model(conn: Connection, model_id: int, now: datetime) -> None:
    """Make `model_id` the only active version."""
    get_model(conn, model_id)
    conn.execute(update(predictive_models).where(predictive_models.c.active.is_(True)).values(active=False))
    conn.execute(update(predictive_models).where(predictive_models.c.id == model_id)
                 .values(active=True, activated_at=to_db(now)))


def rollback_model(conn: Connection, now: datetime) -> StoredModel:
    """Re-activate the version that was active before the current one; returns it."""
    current = active_model(conn)
    rows = conn.execute(
        select(predictive_models.c.id)
        .where(predictive_models.c.activated_at.is_not(None), predictive_models.c.active.is_(False))
        .order_by(predictive_models.c.activated_at.desc(), predictive_models.c.id.desc())
    ).first()
    if rows is None:
        what = f"model {current.id} is the only one ever active" if current else "no model was ever active"
        raise LeadledgerError(f"nothing to roll back to: {what}")
    activate_model(conn, rows.id, now)
    return get_model(conn, rows.id)

"""The migrations build exactly the schema `store/schema.py` declares, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from leadledger.store.schema import events, metadata


def test_the_migrated_database_matches_the_declared_schema(engine: Engine) -> None:
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
        indexes = {ix["name"]: ix["column_names"] for ix in inspect(conn).get_indexes("events")}
    assert differences == []
    # replay and timelines read a range of contacts' events from this index alone
    assert indexes["ix_events_contact_id"] == ["contact_id", "occurred_at", "seq", "type", "two_way"]
    assert {ix.name for ix in events.indexes} >= {"ix_events_contact_id", "ix_events_two_way"}

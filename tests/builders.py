"""Build records for tests: domain values, and rows in a real database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from leadledger.domain.facts import ContactFacts
from leadledger.domain.records import (
    TWO_WAY_BY_DEFAULT,
    Account,
    Contact,
    Event,
    Evidence,
    Opportunity,
)
from leadledger.store.db import to_db
from leadledger.store.events import ingest_events
from leadledger.store.schema import accounts, contacts, evidence, opportunities, stage_changes

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def account(**kw: Any) -> Account:
    """A mid-market software account in the US unless overridden."""
    base: dict[str, Any] = dict(
        id=1,
        name="Acme",
        domain="acme.com",
        industry="software",
        employees=200,
        annual_revenue=20_000_000.0,
        country="us",
        owner="ann.ae",
    )
    return Account(**{**base, **kw})


def contact(**kw: Any) -> Contact:
    """A director at Acme who came in through a form fill."""
    base: dict[str, Any] = dict(
        id=1,
        email="dana@acme.com",
        first_name="Dana",
        last_name="Diaz",
        company="Acme",
        title="Director of Ops",
        seniority="director",
        account_id=1,
        source="form_fill",
        stage="lead",
    )
    return Contact(**{**base, **kw})


def evidence_for(contact_id: int, at: datetime, *fields: str) -> list[Evidence]:
    """Confirmed evidence for each named field."""
    return [
        Evidence(
            contact_id=contact_id, field=f, value=f"{f} confirmed", confirmed_by="sam.sdr", confirmed_at=at
        )
        for f in fields
    ]


def won(account_id: int = 1, at: datetime | None = None, **kw: Any) -> Opportunity:
    """A signed-and-booked opportunity."""
    at = at or T0
    return Opportunity(
        id=kw.pop("id", 1),
        account_id=account_id,
        name="Deal",
        amount=kw.pop("amount", 50_000.0),
        expected_close=at,
        signed_at=at,
        booked_at=at + timedelta(days=2),
        **kw,
    )


def facts(**kw: Any) -> ContactFacts:
    """Facts for the default contact and account, overridable."""
    base: dict[str, Any] = dict(contact=contact(), account=account(), fit=45.0, score=0.0)
    return ContactFacts(**{**base, **kw})


# ------------------------------------------------------------------ database rows


def _db(row: dict[str, Any]) -> dict[str, Any]:
    return {k: to_db(v) if isinstance(v, datetime) else v for k, v in row.items()}


def add_account(conn: Connection, domain: str = "acme.com", **kw: Any) -> int:
    """Insert an account; returns its id."""
    row = dict(
        domain=domain,
        name=domain.split(".")[0].title(),
        industry="software",
        employees=200,
        annual_revenue=20_000_000.0,
        country="us",
        owner="ann.ae",
        created_at=T0,
        updated_at=T0,
    )
    row.update(kw)
    return int(conn.execute(accounts.insert().values(**_db(row))).inserted_primary_key[0])


def add_contact(conn: Connection, email: str, account_id: int | None, **kw: Any) -> int:
    """Insert a contact (stage lead by default) with its first ledger entry; returns its id."""
    created = kw.pop("created_at", T0)
    row = dict(
        email=email,
        first_name="Test",
        last_name=email.split("@")[0].title(),
        company="Acme",
        title="Director",
        seniority="director",
        account_id=account_id,
        source="form_fill",
        opted_out=False,
        stage="lead",
        stage_entered_at=created,
        created_at=created,
        updated_at=created,
    )
    row.update(kw)
    cid = int(conn.execute(contacts.insert().values(**_db(row))).inserted_primary_key[0])
    conn.execute(
        stage_changes.insert().values(
            contact_id=cid,
            from_stage=None,
            to_stage=row["stage"],
            at=to_db(row["stage_entered_at"]),
            actor="test",
            reason="created",
            evidence="{}",
            policy_version="test",
        )
    )
    return cid


def add_events(
    conn: Connection, contact_id: int, items: Sequence[tuple[str, datetime]], prefix: str = ""
) -> int:
    """Ingest events (type, when) for a contact; returns how many were new."""
    evs = [
        Event(
            id=f"{prefix}{contact_id}-{i}-{t}",
            contact_id=contact_id,
            type=t,
            occurred_at=at,
            two_way=t in TWO_WAY_BY_DEFAULT,
        )
        for i, (t, at) in enumerate(items)
    ]
    new, _ = ingest_events(conn, evs)
    return new


def add_opportunity(conn: Connection, account_id: int, external_id: str, **kw: Any) -> int:
    """Insert an opportunity (open, with amount and close date unless overridden)."""
    row = dict(
        external_id=external_id,
        account_id=account_id,
        name=external_id,
        type="new",
        stage="proposal",
        amount=40_000.0,
        expected_close=T0 + timedelta(days=200),
        created_at=T0,
        updated_at=T0,
    )
    row.update(kw)
    return int(conn.execute(opportunities.insert().values(**_db(row))).inserted_primary_key[0])


def add_evidence(conn: Connection, contact_id: int, at: datetime, *fields: str) -> None:
    """Insert confirmed evidence rows."""
    for f in fields:
        conn.execute(
            evidence.insert().values(
                contact_id=contact_id,
                field=f,
                value=f"{f} confirmed",
                confirmed_by="sam.sdr",
                confirmed_at=to_db(at),
            )
        )

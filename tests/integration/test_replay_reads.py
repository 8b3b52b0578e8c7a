"""The replay's column-wise event read against the row-wise one, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from itertools import groupby

from sqlalchemy import Engine, func, select

from leadledger.services.demo import load_demo
from leadledger.services.ingest import ingest_events
from leadledger.store import replay_reads
from leadledger.store.records import account_from_row, opportunity_from_row
from leadledger.store.schema import accounts, contacts, opportunities

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _by_moment(pairs: Iterable[tuple[int, str]]) -> list[tuple[int, list[str]]]:
    """(moment, its event types sorted), moment after moment as given."""
    return [(at, sorted(kind for _, kind in group)) for at, group in groupby(pairs, key=lambda p: p[0])]


def test_event_columns_hold_every_event_in_the_rows_order(engine: Engine) -> None:
    load_demo(engine, now=NOW, seed=7, scale=0.05)
    with engine.connect() as conn:
        lo, hi = conn.execute(select(func.min(contacts.c.id), func.max(contacts.c.id))).one()
        email = conn.execute(select(contacts.c.email).where(contacts.c.id == lo)).scalar_one()
    # microseconds, a tie at one moment, and events stored out of time order
    late, tie = NOW - timedelta(days=3, microseconds=250_001), NOW - timedelta(days=40)
    planted = [("pricing_page_view", late), ("demo_request", tie), ("email_open", tie),
               ("webinar_attended", tie - timedelta(days=1))]
    items = [{"event_id": f"t-{i}", "email": email, "type": kind, "occurred_at": at}
             for i, (kind, at) in enumerate(planted)]
    assert all(r.status == "created" for r in ingest_events(engine, items, now=NOW).items)
    with engine.connect() as conn:
        cols = replay_reads.read_event_columns(conn, lo, hi + 1)
        rows = replay_reads.read_events(conn, range(lo, hi + 1))
    assert cols.ids.tolist() == sorted(rows)
    assert int(cols.starts[-1]) == sum(len(evs) for evs in rows.values()) > 1000
    for k, cid in enumerate(cols.ids.tolist()):
        part = slice(int(cols.starts[k]), int(cols.starts[k + 1]))
        events = rows[cid]
        assert cols.micros[part].tolist() == [replay_reads.epoch_micros(e.occurred_at) for e in events]
        types = [cols.names[c] for c in cols.codes[part].tolist()]
        # at one moment the order may differ (the walk counts a moment's events together)
        assert _by_moment(zip(cols.micros[part].tolist(), types, strict=True)) == _by_moment(
            (replay_reads.epoch_micros(e.occurred_at), e.type) for e in events)
    mine = rows[lo]
    assert replay_reads.epoch_micros(late) in cols.micros.tolist()
    assert [e.type for e in mine if e.occurred_at == tie] == ["demo_request", "email_open"]
    positions = cols.positions([lo - 1, lo, int(cols.ids[-1])])
    assert positions.tolist() == [-1, 0, len(cols.ids) - 1]
    counts = cols.counts(positions)
    first = cols.names.index("demo_request")
    assert counts[1, first] == sum(1 for e in mine if e.type == "demo_request")
    assert counts[0].sum() == 0 and counts[2].sum() == cols.starts[-1] - cols.starts[-2]
    assert cols.counts(cols.positions(cols.ids.tolist())).sum() == cols.starts[-1]


def test_accounts_and_deals_read_for_a_replay_are_the_stores_records(engine: Engine) -> None:
    load_demo(engine, now=NOW, seed=7, scale=0.05)
    with engine.connect() as conn:
        found = replay_reads.read_accounts(conn)
        deals = replay_reads.read_opportunities(conn)
        stored = {r.id: account_from_row(r) for r in conn.execute(select(accounts))}
        rows = list(conn.execute(select(opportunities).order_by(opportunities.c.id)))
    assert found == stored
    assert any(a.tech_stack for a in found.values()) and any(a.churned_at for a in found.values())
    assert [d.record for ds in deals.values() for d in ds] == [opportunity_from_row(r, ()) for r in sorted(
        rows, key=lambda r: (list(deals).index(r.account_id), r.id))]
    assert all(d.created_at <= d.updated_at for ds in deals.values() for d in ds)
    assert any(d.record.booked_at for ds in deals.values() for d in ds)

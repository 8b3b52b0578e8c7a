"""Training from the ledger itself: one row per mature lead, judged at its decision time."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, func, select

from leadledger.services.training.ledger import LedgerOutcome, ledger_table
from leadledger.services.training.run import TrainingOptions, train_ledger
from leadledger.store.db import from_db, to_db
from leadledger.store.schema import contacts, stage_changes
from tests.conftest import NOW

OUTCOME = LedgerOutcome(stage="customer", decision_days=30, horizon_days=120)


def test_the_ledger_set_counts_every_mature_lead_once(demo_engine: Engine) -> None:
    found = ledger_table(demo_engine, OUTCOME, NOW)
    table = found.table
    cutoff = NOW - timedelta(days=150)
    with demo_engine.connect() as conn:
        mature = conn.execute(select(func.count()).where(contacts.c.created_at <= to_db(cutoff))).scalar_one()
        total = conn.execute(select(func.count()).select_from(contacts)).scalar_one()
        customers = dict(conn.execute(
            select(stage_changes.c.contact_id, func.min(stage_changes.c.at))
            .where(stage_changes.c.to_stage == "customer").group_by(stage_changes.c.contact_id)).all())
        created = dict(conn.execute(select(contacts.c.id, contacts.c.created_at)).all())
    assert len(table) + found.already_converted == mature
    assert found.too_recent == total - mature
    assert len(set(table.lines)) == len(table) and table.row_label == "contact"
    for cid, converted in zip(table.lines, table.outcomes, strict=True):
        decision = (from_db(created[cid]) or NOW) + timedelta(days=30)
        reached = from_db(customers[cid]) if cid in customers else None
        assert reached is None or reached > decision  # converted before deciding: left out
        assert converted == (reached is not None and reached <= decision + timedelta(days=120))
    assert 0 < table.positives < len(table)


def test_trains_on_the_ledger(demo_engine: Engine) -> None:
    options = TrainingOptions(folds=2, repeats=1, minimum_per_outcome=10)
    report, _, found = train_ledger(demo_engine, OUTCOME, options, NOW)
    assert report.leads == len(found.table)
    assert report.mapping == "reached customer within 120 days of day 30"
    assert report.positives == found.table.positives and report.split.value == "stratified"
    assert [r.summary()["roc_auc"].folds for r in report.results] == [2, 2, 2]
    assert {name for name, _ in report.importance} == set(found.table.columns)
    assert report.to_dict()["product"]["examples"][0]["contact"] in found.table.lines

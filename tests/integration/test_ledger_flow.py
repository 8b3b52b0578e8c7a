"""The ledger end to end on real databases: gated moves, explain, score, sweep."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from leadledger.errors import TransitionRefused
from leadledger.services import contacts as svc
from leadledger.services.scoring import rescore
from leadledger.services.sweep import sweep
from leadledger.store.schema import contacts, evidence, stage_changes
from tests.builders import add_account, add_contact, add_events, add_opportunity
from tests.conftest import NOW


@pytest.fixture
def acme(engine: Engine) -> Engine:
    """Acme (a fit account) with one lead who has engaged with intent."""
    with engine.begin() as c:
        acc = add_account(c, "acme.com")
        cid = add_contact(c, "dana@acme.com", acc, created_at=NOW - timedelta(days=30))
        add_events(
            c,
            cid,
            [
                ("demo_request", NOW - timedelta(days=2)),
                ("pricing_page_view", NOW - timedelta(days=3)),
                ("pricing_page_view", NOW - timedelta(days=4)),
                ("webinar_attended", NOW - timedelta(days=9)),
            ],
        )
    return engine


def ledger(engine: Engine, email: str) -> list[tuple[str | None, str, str]]:
    with engine.connect() as c:
        cid = c.execute(select(contacts.c.id).where(contacts.c.email == email)).scalar_one()
        rows = c.execute(
            select(stage_changes.c.from_stage, stage_changes.c.to_stage, stage_changes.c.evidence)
            .where(stage_changes.c.contact_id == cid)
            .order_by(stage_changes.c.id)
        )
        return [(r.from_stage, r.to_stage, r.evidence) for r in rows]


def test_straight_to_customer_is_refused_with_missing_fields(acme: Engine) -> None:
    with pytest.raises(TransitionRefused) as info:
        svc.move(acme, "dana@acme.com", "customer", now=NOW, actor="rep")
    reqs = {m["requirement"] for m in info.value.missing}
    assert reqs == {"enter_from", "signed_and_booked"}
    assert len(ledger(acme, "dana@acme.com")) == 1  # nothing written


def test_sql_needs_bant_evidence_then_records_its_snapshot(acme: Engine) -> None:
    with pytest.raises(TransitionRefused) as info:
        svc.move(acme, "dana@acme.com", "sql", now=NOW, actor="sam")
    assert "need, authority, timeline" in str(info.value)
    with acme.begin() as c:  # a discovery call happened
        cid = c.execute(select(contacts.c.id).where(contacts.c.email == "dana@acme.com")).scalar_one()
        add_events(c, cid, [("call", NOW - timedelta(hours=5))], prefix="call-")
    change = svc.move(
        acme,
        "Dana@Acme.com",
        "sql",
        now=NOW,
        actor="sam",
        reason="discovery call",
        evidence={"need": "replace spreadsheets", "authority": "VP signs", "timeline": "Q3"},
    )
    assert (change.from_stage, change.to_stage) == ("lead", "sql")
    last = ledger(acme, "dana@acme.com")[-1]
    snap = json.loads(last[2])
    assert snap["evidence"]["need"]["value"] == "replace spreadsheets"
    assert snap["evidence"]["authority"]["confirmed_by"] == "sam"
    assert snap["two_way_interactions"] == 1
    with acme.connect() as c:
        assert c.execute(select(evidence.c.field).order_by(evidence.c.field)).scalars().all() == [
            "authority",
            "need",
            "timeline",
        ]
        assert c.execute(select(contacts.c.stage)).scalar_one() == "sql"


def test_refused_move_writes_no_evidence(acme: Engine) -> None:
    with pytest.raises(TransitionRefused):
        svc.move(acme, "dana@acme.com", "sql", now=NOW, actor="sam", evidence={"need": "yes"})
    with acme.connect() as c:
        assert c.execute(select(evidence)).first() is None


def test_customer_account_and_signed_not_booked(engine: Engine) -> None:
    with engine.begin() as c:
        won_acc = add_account(c, "won.com")
        add_opportunity(
            c, won_acc, "o-1", signed_at=NOW - timedelta(days=40), booked_at=NOW - timedelta(days=38)
        )
        add_contact(c, "pat@won.com", won_acc)
        verbal = add_account(c, "verbal.com")
        add_opportunity(c, verbal, "o-2", signed_at=NOW - timedelta(days=5), booked_at=None)
        add_contact(c, "lee@verbal.com", verbal)
    x = svc.explain(engine, "pat@won.com", NOW)
    assert x.classification.account_is_customer and x.classification.label == "customer"
    y = svc.explain(engine, "lee@verbal.com", NOW)
    assert not y.classification.account_is_customer
    assert not any(o.is_won for o in y.facts.opportunities)
    with pytest.raises(TransitionRefused, match=r"customer account"):
        svc.move(engine, "pat@won.com", "nurture", now=NOW, actor="mkt", reason="quiet")


def test_score_promotes_at_threshold_through_the_gate(acme: Engine) -> None:
    with acme.begin() as c:
        acc = add_account(c, "tiny.io", employees=3, industry="retail", country="br")
        low_fit = add_contact(c, "kim@tiny.io", acc, seniority="individual")
        add_events(
            c, low_fit, [("demo_request", NOW - timedelta(days=1)), ("demo_request", NOW - timedelta(days=2))]
        )
    report = rescore(acme, NOW)
    assert report.scored == 2
    assert report.moves.moved["lead→mql"] == 1
    assert ledger(acme, "dana@acme.com")[-1][1] == "mql"
    assert ledger(acme, "kim@tiny.io")[-1][1] == "lead"  # intent without fit is not an MQL
    again = rescore(acme, NOW)
    assert sum(again.moves.moved.values()) == 0  # idempotent
    top = svc.list_contacts(acme, limit=5)
    assert top[0]["score"] >= top[1]["score"]  # highest score first
    assert all(r["score"] is not None for r in top)


def test_explain_lists_breakdown_ledger_and_next_gate(acme: Engine) -> None:
    x = svc.explain(acme, "dana@acme.com", NOW).to_dict()
    assert x["stage"] == "lead" and x["next_stage"] == "mql"
    signals = {i["signal"] for i in x["score"]["breakdown"]}
    assert {"demo_request", "pricing_page_view"} <= signals
    total = sum(i["points"] for i in x["score"]["breakdown"])
    assert total == pytest.approx(x["score"]["total"], abs=0.05)
    assert x["ledger"][0]["to_stage"] == "lead"
    assert x["missing_for_next_stage"] == []  # high intent + fit: ready for MQL


def test_sweep_reports_sla_breach_and_recycles_dormant(engine: Engine) -> None:
    with engine.begin() as c:
        acc = add_account(c, "slow.com")
        add_contact(
            c, "late@slow.com", acc, stage="sal", owner="sam", stage_entered_at=NOW - timedelta(hours=80)
        )
        add_contact(c, "quiet@slow.com", acc, stage="mql", created_at=NOW - timedelta(days=300))
    report = sweep(engine, NOW)
    assert [b.email for b in report.breaches] == ["late@slow.com"]
    assert report.breaches[0].hours_late == pytest.approx(32, abs=0.01)
    assert report.moves.moved["mql→nurture"] == 1
    assert ledger(engine, "quiet@slow.com")[-1][1] == "nurture"


def test_ledger_is_append_only(acme: Engine) -> None:
    with pytest.raises(Exception, match="append-only"), acme.begin() as c:
        c.execute(stage_changes.delete())
    with pytest.raises(Exception, match="append-only"), acme.begin() as c:
        c.execute(stage_changes.update().values(reason="rewritten"))


def test_events_are_idempotent_by_id(engine: Engine) -> None:
    from leadledger.domain.records import Event
    from leadledger.store.events import ingest_events
    from leadledger.store.schema import contact_activity, events

    with engine.begin() as c:
        cid = add_contact(c, "ed@acme.com", add_account(c, "acme.com"))
        batch = [
            Event(id="a", contact_id=cid, type="page_view", occurred_at=NOW - timedelta(days=1)),
            Event(id="b", contact_id=cid, type="reply", occurred_at=NOW - timedelta(days=2), two_way=True),
            Event(id="a", contact_id=cid, type="page_view", occurred_at=NOW - timedelta(days=1)),
        ]
        assert ingest_events(c, batch) == (2, 1)
        assert ingest_events(c, batch) == (0, 3)
        assert c.execute(select(events.c.event_id).order_by(events.c.event_id)).scalars().all() == ["a", "b"]
        act = c.execute(select(contact_activity)).one()
        assert (act.page_view_n, act.reply_n, act.two_way_n) == (1, 1, 1)

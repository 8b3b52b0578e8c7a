"""The set-based report feeders agree with the domain's reference definitions, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, select, update
from sqlalchemy.pool import StaticPool

from leadledger.domain.economics import bookings
from leadledger.domain.followup import completed_stays, is_rejection, sla_count, stay_bucket
from leadledger.domain.funnel import count_journeys, journey_of
from leadledger.domain.pipeline import committee_counts, committee_coverage_from, pipeline_counts
from leadledger.domain.policy import BuyingCommittee
from leadledger.domain.records import Contact, StageChange
from leadledger.services.funnel import funnel_report
from leadledger.services.importing import import_csv
from leadledger.store import reporting
from leadledger.store.db import from_db, to_db
from leadledger.store.policies import load_active_policy
from leadledger.store.schema import accounts, contacts, opportunity_contacts, spend, stage_changes
from tests.builders import T0, add_account, add_contact, add_events, add_evidence, add_opportunity

DAY = timedelta(days=1)
# (email, source, created day, [(to_stage, day offset, actor, reason)])
CAST = [
    (
        "recycled@acme.com",
        "form_fill",
        0,
        [
            ("mql", 10, "rule:score", "score"),
            ("nurture", 20, "sam", "timing"),
            ("mql", 60, "rule:score", "score"),
        ],
    ),
    (
        "skipper@acme.com",
        "free_trial",
        0,
        [("mql", 2, "rule:score", "score"), ("sql", 4.5, "rule:trial", "trial")],
    ),
    ("straight@acme.com", "partner_referral", 3, [("customer", 30, "rule:account-customer", "booked")]),
    (
        "rejected@acme.com",
        "form_fill",
        35,
        [
            ("mql", 36, "rule:score", "score"),
            ("sal", 37, "ava", "accepted"),
            ("mql", 40.25, "ravi", "Wrong persona"),
        ],
    ),
    ("quiet@acme.com", "webinar", 40, []),
]


def _build(engine: Engine) -> dict[int, tuple[Contact, list[StageChange]]]:
    out = {}
    with engine.begin() as conn:
        acc = add_account(conn, "acme.com")
        for email, source, day, moves in CAST:
            created = T0 + day * DAY
            stage = moves[-1][0] if moves else "lead"
            cid = add_contact(conn, email, acc, created_at=created, source=source)  # ledger: lead at creation
            conn.execute(update(contacts).where(contacts.c.id == cid).values(stage=stage))
            changes = [
                StageChange(
                    contact_id=cid,
                    from_stage=None,
                    to_stage="lead",
                    at=created,
                    actor="test",
                    reason="created",
                )
            ]
            prev = "lead"
            for to, off, actor, reason in moves:
                ch = StageChange(
                    contact_id=cid,
                    from_stage=prev,
                    to_stage=to,
                    at=T0 + off * DAY,
                    actor=actor,
                    reason=reason,
                )
                conn.execute(
                    stage_changes.insert().values(
                        contact_id=cid,
                        from_stage=prev,
                        to_stage=to,
                        at=to_db(ch.at),
                        actor=actor,
                        reason=reason,
                        evidence="{}",
                        policy_version="test",
                    )
                )
                changes.append(ch)
                prev = to
            out[cid] = (Contact(id=cid, email=email, source=source, stage=stage, created_at=created), changes)
        rejected = next(c for c, (k, _) in out.items() if k.email.startswith("rejected"))
        add_events(conn, rejected, [("call", T0 + 37 * DAY + timedelta(hours=30))])  # 30 h after SAL entry
    return out


def test_funnel_counts_match_the_reference(engine: Engine) -> None:
    cast = _build(engine)
    with engine.connect() as conn:
        policy = load_active_policy(conn)
        window = (T0, T0 + 90 * DAY)
        got = reporting.funnel_counts(conn, policy, window)
    want = count_journeys(
        [journey_of(c, ch, policy) for c, ch in cast.values()], policy, start=window[0], end=window[1]
    )
    assert Counter(got.journeys) == Counter(want.journeys)
    assert Counter(got.reaches) == Counter(want.reaches)
    assert Counter(got.periods) == Counter(want.periods)
    # hand check: five contacts, the recycled lead's second MQL is not a second reach
    assert sum(j.contacts for j in got.journeys) == 5
    assert sum(p.contacts for p in got.periods if p.stage == "mql") == 4
    sal = {j.furthest_stage for j in got.journeys if j.source == "free_trial"}
    assert sal == {"sql"}


def test_window_excludes_cohorts_created_outside_it(engine: Engine) -> None:
    _build(engine)
    with engine.connect() as conn:
        policy = load_active_policy(conn)
        got = reporting.funnel_counts(conn, policy, (T0 + 30 * DAY, T0 + 90 * DAY))
    assert sum(j.contacts for j in got.journeys) == 2  # rejected (day 35) and quiet (day 40)


def test_stays_sla_and_rejections_match_the_reference(engine: Engine) -> None:
    cast = _build(engine)
    now = T0 + 100 * DAY
    with engine.connect() as conn:
        policy = load_active_policy(conn)
        stays = reporting.stay_counts(conn)
        sla = reporting.sla_counts(conn, policy, now)
        rejections = reporting.rejection_counts(conn, policy)
    want_stays: Counter[tuple[str, float]] = Counter()
    for _, changes in cast.values():
        for stage, hours in completed_stays(changes):
            want_stays[stage, stay_bucket(hours)] += 1
    assert Counter({(s.stage, s.hours): s.stays for s in stays}) == want_stays
    (entry,) = sla
    assert entry == sla_count("sal", T0 + 37 * DAY, T0 + 37 * DAY + timedelta(hours=30), now, 48)
    assert entry.touch_hours == 30
    want_rej = Counter(
        (c.from_stage, c.to_stage, c.reason)
        for _, chs in cast.values()
        for c in chs
        if is_rejection(c, policy)
    )
    assert Counter({(r.from_stage, r.to_stage, r.reason): r.rejections for r in rejections}) == want_rej
    assert sum(want_rej.values()) == 2


def test_sla_counts_touched_pending_and_overdue_entries_match_the_reference(engine: Engine) -> None:
    _build(engine)  # one SAL entry touched 30 h later
    now = T0 + 100 * DAY
    hour = timedelta(hours=1)
    # (email, SAL entry, two-way events): a touch before the entry does not count
    entries = [
        ("late@sla.com", now - 49 * hour, [("call", now - 60 * hour)]),
        ("fresh@sla.com", now - hour, []),
        ("quick@sla.com", now - 10 * DAY, [("reply", now - 10 * DAY + 90 * timedelta(minutes=1))]),
        ("slow@sla.com", now - 20 * DAY, [("meeting_held", now - 18 * DAY), ("email_open", now - 20 * DAY)]),
    ]
    with engine.begin() as conn:
        acc = add_account(conn, "sla.com")
        for email, at, touches in entries:
            cid = add_contact(conn, email, acc, created_at=at - DAY)
            conn.execute(
                stage_changes.insert().values(
                    contact_id=cid, from_stage="mql", to_stage="sal", at=to_db(at), actor="ava",
                    reason="accepted", evidence="{}", policy_version="test",
                )
            )
            add_events(conn, cid, touches)
    with engine.connect() as conn:
        got = reporting.sla_counts(conn, load_active_policy(conn), now)
    want = [sla_count("sal", T0 + 37 * DAY, T0 + 37 * DAY + 30 * hour, now, 48)] + [
        sla_count("sal", at, next((t for k, t in touches if k != "email_open" and t >= at), None), now, 48)
        for _, at, touches in entries
    ]
    assert Counter({(c.stage, c.touch_hours, c.overdue): c.entries for c in got}) == Counter(
        (c.stage, c.touch_hours, c.overdue) for c in want
    )
    cells = {(30, False), (None, True), (None, False), (2, False), (48, False)}
    assert {(c.touch_hours, c.overdue) for c in want} == cells


def test_deals_carry_committee_evidence_and_won_only_when_booked(engine: Engine) -> None:
    with engine.begin() as conn:
        acc = add_account(conn, "big.com", employees=5000)
        cid = add_contact(conn, "champ@big.com", acc)
        add_evidence(conn, cid, T0, "need")
        verbal = add_opportunity(conn, acc, "verbal", stage="closed_won", amount=25_000.0)
        add_opportunity(
            conn,
            acc,
            "won",
            stage="closed_won",
            amount=10_000.0,
            signed_at=T0 + DAY,
            booked_at=T0 + 2 * DAY,
            type="expansion",
        )
        conn.execute(
            opportunity_contacts.insert().values(opportunity_id=verbal, contact_id=cid, role="champion")
        )
    with engine.connect() as conn:
        deals = {d.opportunity.name: d for d in reporting.deals(conn)}
    v, w = deals["verbal"], deals["won"]
    assert not v.opportunity.is_won and v.opportunity.is_open
    assert v.evidence == frozenset({"need"}) and [r.role for r in v.opportunity.roles] == ["champion"]
    assert v.employees == 5000 and v.created_at == T0
    assert w.opportunity.is_won and w.cycle_days == 2.0 and w.opportunity.type == "expansion"


def _deal_cast(engine: Engine) -> None:
    """Deals of every outcome at small, enterprise and unsized accounts, some on the window's edges."""
    us = timedelta(microseconds=1)
    with engine.begin() as conn:
        small = add_account(conn, "small.com")
        big = add_account(conn, "big.com", employees=5000)
        edge = add_account(conn, "edge.com", employees=1000)
        unsized = add_account(conn, "unsized.com", employees=None)
        late = add_account(conn, "late.com")
        people = {a: add_contact(conn, f"p@{a}.x", a) for a in (small, big, edge, unsized, late)}
        second = add_contact(conn, "q@small.x", small)

        def opp(account: int, name: str, *roles: str, **kw: object) -> None:
            oid = add_opportunity(conn, account, name, **kw)
            for i, role in enumerate(roles):
                who = people[account] if i % 2 == 0 or account != small else second
                row = {"opportunity_id": oid, "contact_id": who, "role": role}
                conn.execute(opportunity_contacts.insert().values(**row))

        won = {"stage": "closed_won", "signed_at": T0 + 40 * DAY}
        opp(small, "won-jan", "champion", created_at=T0 + 3 * DAY, booked_at=T0 + 41 * DAY, **won)
        edges = {"created_at": T0 + 10 * DAY + us, "booked_at": T0 + 60 * DAY - 2 * us}
        opp(small, "won-edge", amount=None, **edges, **won)
        opp(big, "won-exp", type="expansion", created_at=T0 + 20 * DAY, booked_at=T0 + 45 * DAY, **won)
        opp(big, "won-early", created_at=T0 - 90 * DAY, booked_at=T0 - 10 * DAY, amount=7_500.5, **won)
        opp(late, "won-after", created_at=T0 + 30 * DAY, booked_at=T0 + 70 * DAY, **won)
        opp(edge, "lost", created_at=T0 + 10 * DAY, lost_reason="price", stage="closed_lost")
        opp(small, "covered", "champion", "champion", "economic_buyer", created_at=T0 + 5 * DAY)
        opp(small, "half", "champion", "influencer", created_at=T0 - 5 * DAY, amount=1_234.56)
        opp(big, "enterprise-half", "champion", "economic_buyer", "it", created_at=T0 + 6 * DAY)
        opp(big, "enterprise-full", "champion", "economic_buyer", "finance", "it", "executive_sponsor")
        opp(edge, "edge-none", amount=None, created_at=T0 + 59 * DAY)
        opp(unsized, "unsized", "economic_buyer", signed_at=T0 + 50 * DAY, created_at=T0 + 7 * DAY)
        churn = {small: T0 + 50 * DAY, big: T0 - 20 * DAY, late: T0 + 55 * DAY, edge: T0 + 20 * DAY}
        for account, at in churn.items():
            conn.execute(update(accounts).where(accounts.c.id == account).values(churned_at=to_db(at)))


def test_deal_counts_match_the_reference(engine: Engine) -> None:
    _deal_cast(engine)
    us = timedelta(microseconds=1)
    windows = [
        (T0, T0 + 60 * DAY),
        (T0 + 10 * DAY + us, T0 + 60 * DAY - us),  # bounds with microseconds compare exactly
        (T0 - 365 * DAY, T0 + 365 * DAY),
    ]
    with engine.connect() as conn:
        policy = load_active_policy(conn)
        deals = reporting.deals(conn, with_evidence=False)
        churned = reporting.churned_accounts(conn)
        for window in windows:
            want = pipeline_counts(deals, start=window[0], end=window[1])
            assert reporting.pipeline_counts(conn, window) == want
            assert reporting.bookings(conn, window) == bookings(deals, churned, *window)
        assert reporting.pipeline_counts(conn) == pipeline_counts(deals)
        odd = BuyingCommittee(required_roles=(), enterprise_roles=("it", "it"))  # a role listed twice
        unsized = replace(policy, enterprise_min_employees=None)
        for p in (policy, unsized, replace(policy, buying_committee=odd)):
            got, ref = reporting.committee_counts(conn, p), committee_counts(deals, p)
            assert (got.open_deals, got.covered, got.uncovered_amounts) == (
                ref.open_deals, ref.covered, ref.uncovered_amounts
            )
            assert committee_coverage_from(got) == committee_coverage_from(ref)
    # hand check on the first window: four created and won (one booked after it), one lost; six open
    # now, two of them covered; three booked in it; one account churned in it after its first booking
    with engine.connect() as conn:
        health = reporting.pipeline_counts(conn, windows[0])
        cov = committee_coverage_from(reporting.committee_counts(conn, policy))
        booked = reporting.bookings(conn, windows[0])
    assert (len(health.won_amounts), health.lost, len(health.open_amounts)) == (4, 1, 6)
    assert (cov.open_deals, cov.covered) == (6, 2)
    assert booked.amounts == (40_000.0, 0.0, 40_000.0) and booked.churned_accounts == 1


def test_spend_import_upserts_by_source_and_month(engine: Engine, tmp_path: Path, now: datetime) -> None:
    f = tmp_path / "spend.csv"
    f.write_text("source,month,amount\nForm Fill,2026-01,1000\nwebinar,2026-02-15,250.5\nwebinar,2026-13,9\n")
    report = import_csv(engine, "spend", f, now=now)
    assert (report.inserted, report.rejected) == (2, 1)
    f.write_text("source,month,amount\nform_fill,2026-01,1200\nwebinar,2026-02,250.5\n")
    again = import_csv(engine, "spend", f, now=now)
    assert (again.inserted, again.updated, again.unchanged) == (0, 1, 1)
    with engine.connect() as conn:
        rows = {(s, m): a for s, m, a in conn.execute(select(spend.c.source, spend.c.month, spend.c.amount))}
        window = reporting.spend_rows(conn, (T0 + 31 * DAY, T0 + 59 * DAY))
    assert rows == {("form_fill", "2026-01"): 1200.0, ("webinar", "2026-02"): 250.5}
    assert [(s.source, s.month) for s in window] == [("webinar", "2026-02")]
    assert from_db("2026-01-01 00:00:00") == T0


def test_funnel_report_is_the_same_read_through_one_connection_or_two(
    demo_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime(2026, 6, 1, 12, 0, 0, 250_000, tzinfo=T0.tzinfo)
    assert reporting.concurrent_reads(demo_engine) == 2
    side_by_side = funnel_report(demo_engine, now).to_dict()
    monkeypatch.setattr(reporting, "concurrent_reads", lambda engine: 1)
    in_order = funnel_report(demo_engine, now).to_dict()
    side_by_side.pop("seconds"), in_order.pop("seconds")
    assert side_by_side == in_order


def test_an_in_memory_database_is_read_through_one_connection() -> None:
    for url in ("sqlite://", "sqlite:///:memory:", "sqlite:///file:x?mode=memory&uri=true"):
        assert reporting.concurrent_reads(create_engine(url, poolclass=StaticPool)) == 1
    assert reporting.concurrent_reads(create_engine("sqlite:///some.db")) == 2


"""The set-based report feeders agree with the domain's reference definitions, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, select, update

from leadledger.domain.followup import completed_stays, is_rejection, sla_count, stay_bucket
from leadledger.domain.funnel import count_journeys, journey_of
from leadledger.domain.records import Contact, StageChange
from leadledger.services.importing import import_csv
from leadledger.store import reporting
from leadledger.store.db import from_db, to_db
from leadledger.store.policies import load_active_policy
from leadledger.store.schema import contacts, opportunity_contacts, spend, stage_changes
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

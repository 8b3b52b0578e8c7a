"""Set-based reads that feed the funnel and forecast reports: a few grouped queries, no row objects.

Every query returns counts already grouped the way `domain.funnel`, `domain.followup` and
`domain.economics` consume them, so a million contacts and their ledger cost one scan each, not a
Python object per stage change. The SQL follows the domain's reference definitions
(`journey_of`, `completed_stays`, `sla_count`, `is_rejection`); the integration tests check the
two agree on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Integer,
    Select,
    String,
    and_,
    case,
    exists,
    false,
    func,
    literal,
    null,
    or_,
    select,
    type_coerce,
    union,
    union_all,
)

from leadledger.domain.economics import Bookings, Spend
from leadledger.domain.followup import RejectionCount, SlaCount, StayCount, rejection_stages
from leadledger.domain.funnel import FunnelCounts, JourneyCount, PeriodCount, ReachCount, month_of
from leadledger.domain.pipeline import CommitteeCounts, Deal, PipelineCounts
from leadledger.domain.policy import Policy
from leadledger.domain.records import ContactRole
from leadledger.store.db import from_db, to_db
from leadledger.store.dialect import Dialect, Window, non_negative
from leadledger.store.records import opportunity_from_row
from leadledger.store.schema import (
    accounts,
    contacts,
    events,
    evidence,
    opportunities,
    opportunity_contacts,
    spend,
    stage_changes,
)


def concurrent_reads(engine: Engine) -> int:
    """How many connections a report may read through at once: two, one for an in-memory database.

    An in-memory SQLite database is private to its connection, so a second one would see nothing.
    """
    url = engine.url
    if url.get_backend_name() == "sqlite" and (
        url.database in (None, "", ":memory:") or url.query.get("mode") == "memory"
    ):
        return 1
    return 2


MAPPED_BYTES = 1 << 31  # SQLite caps it at its compile-time limit (2 GiB in the usual builds)


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection for the reports' reads; on SQLite, it reads the file through a memory map.

    The reports look rows up one by one (a contact per customer entry, a ledger row per rejection):
    through the map such a lookup costs about a third less than through SQLite's page cache, whose
    copy of every page a fresh process first has to fill. The setting is put back afterwards.
    """
    with engine.connect() as conn:
        if conn.dialect.name != "sqlite":
            yield conn
            return
        before = conn.exec_driver_sql("PRAGMA mmap_size").scalar_one()
        conn.exec_driver_sql(f"PRAGMA mmap_size={MAPPED_BYTES}")
        try:
            yield conn
        finally:
            conn.exec_driver_sql(f"PRAGMA mmap_size={int(before)}")


# ------------------------------------------------------------------ the funnel


def funnel_counts(conn: Connection, policy: Policy, window: Window = (None, None)) -> FunnelCounts:
    """Journeys, days-to-reach and per-month first reaches, in one statement over the ledger."""
    sql = Dialect(conn)
    names = [s.name for s in policy.main_stages]
    sc = stage_changes
    # First entry into each main stage or a later one: skipped stages count as passed through,
    # re-entries and backward moves change nothing.
    reach = (
        select(
            sc.c.contact_id,
            *[
                func.min(case((sc.c.to_stage.in_(names[k:]), sc.c.at))).label(f"r{k}")
                for k in range(len(names))
            ],
        )
        .group_by(sc.c.contact_id)
        .cte("reach")
    )
    r = [reach.c[f"r{k}"] for k in range(len(names))]
    furthest = case(
        *[(r[k].is_not(None), literal(names[k], String)) for k in reversed(range(len(names)))],
        else_=null(),
    )
    journey = (
        select(
            contacts.c.created_at,
            contacts.c.source,
            contacts.c.stage,
            furthest.label("furthest"),
            *r,
        )
        .select_from(contacts.outerjoin(reach, reach.c.contact_id == contacts.c.id))
        .cte("journey")
        .prefix_with("MATERIALIZED")  # computed once, read by every part of the UNION below
    )
    j = journey.c
    in_cohort = sql.within(j.created_at, window)
    cohort = sql.month(j.created_at)
    parts = [
        select(
            literal("j", String).label("kind"),
            cohort.label("month"),
            j.source.label("source"),
            j.stage.label("stage"),
            j.furthest.label("furthest"),
            literal(0, Integer).label("days"),
            func.count().label("n"),
        )
        .where(in_cohort)
        .group_by(cohort, j.source, j.stage, j.furthest)
    ]
    for k, name in enumerate(names):
        rk = j[f"r{k}"]
        days = non_negative(sql.seconds(rk, j.created_at)) // 86400
        parts.append(
            select(literal("r", String), cohort, null(), literal(name, String), null(), days, func.count())
            .where(in_cohort, rk.is_not(None))
            .group_by(cohort, days)
        )
        reached_month = sql.month(rk)
        parts.append(
            select(
                literal("p", String),
                reached_month,
                null(),
                literal(name, String),
                null(),
                literal(0, Integer),
                func.count(),
            )
            .where(sql.within(rk, window))
            .group_by(reached_month)
        )
    journeys: list[JourneyCount] = []
    reaches: list[ReachCount] = []
    periods: list[PeriodCount] = []
    for kind, month, source, stage, far, days_, n in conn.execute(union_all(*parts)):
        if kind == "j":
            journeys.append(
                JourneyCount(cohort=month, source=source, current_stage=stage, furthest_stage=far, contacts=n)
            )
        elif kind == "r":
            reaches.append(ReachCount(cohort=month, stage=stage, days=int(days_), contacts=n))
        else:
            periods.append(PeriodCount(month=month, stage=stage, contacts=n))
    return FunnelCounts(journeys=tuple(journeys), reaches=tuple(reaches), periods=tuple(periods))


def customer_accounts_by_source(conn: Connection, policy: Policy, window: Window) -> dict[str, int]:
    """Distinct accounts of contacts (created in the window) that reached the customer stage, by source."""
    customer = policy.customer_stage
    if customer is None:
        return {}
    sql = Dialect(conn)
    # From the (few) ledger entries into the customer stage to their contacts, not the other way; a
    # contact that entered twice needs no de-duplication, its account is counted once anyway.
    source = func.coalesce(contacts.c.source, "(none)")
    rows = conn.execute(
        select(source, func.count(func.distinct(contacts.c.account_id)))
        .select_from(stage_changes.join(contacts, contacts.c.id == stage_changes.c.contact_id))
        .where(
            stage_changes.c.to_stage == customer.name,
            contacts.c.account_id.is_not(None),
            sql.within(contacts.c.created_at, window),
        )
        .group_by(source)
    )
    return {s: int(n) for s, n in rows}


# ------------------------------------------------------------------ follow-up


def stay_counts(conn: Connection, window: Window = (None, None)) -> list[StayCount]:
    """Completed stays (each ledger entry until the contact's next one) that began in the window."""
    sql = Dialect(conn)
    sc = stage_changes
    nxt = func.lead(sc.c.at).over(partition_by=sc.c.contact_id, order_by=(sc.c.at, sc.c.id))
    stays = select(sc.c.to_stage, sc.c.at, nxt.label("next_at")).subquery()
    secs = non_negative(sql.seconds(stays.c.next_at, stays.c.at))
    bucket = case((secs < 72 * 3600, secs // 3600), else_=secs // 86400 * 24)
    rows = conn.execute(
        select(stays.c.to_stage, bucket, func.count())
        .where(stays.c.next_at.is_not(None), sql.within(stays.c.at, window))
        .group_by(stays.c.to_stage, bucket)
    )
    return [StayCount(stage=s, hours=float(h), stays=n) for s, h, n in rows]


PENDING, OVERDUE = -1, -2  # an SLA entry not touched yet, within or past its deadline


def sla_counts(
    conn: Connection, policy: Policy, now: datetime, window: Window = (None, None)
) -> list[SlaCount]:
    """Entries into SLA stages with the hours (rounded up) to the first two-way touch after them."""
    sla = {s.name: s.sla_first_touch_hours for s in policy.stages if s.sla_first_touch_hours is not None}
    if not sla:
        return []
    sql = Dialect(conn)
    sc, ev = stage_changes, events.c
    # The hours to the first two-way event at or after entry, from inside the lookup: walking the
    # contact's events in time order stops at the first one (a min() would read them all), and the
    # lookup is written once, so nothing has to be materialized for it to run once per entry.
    seconds = sql.seconds(ev.occurred_at, sc.c.at)
    # SQLite's two-argument max() computes the seconds once, non_negative's CASE twice (-8 % here).
    at_least_zero = non_negative(seconds) if sql.pg else func.max(seconds, 0)
    hours = (
        select((at_least_zero + 3599) // 3600)
        .where(ev.contact_id == sc.c.contact_id, ev.two_way.is_(True), ev.occurred_at >= sc.c.at)
        .order_by(ev.occurred_at)
        .limit(1)
        .scalar_subquery()
    )
    out = []
    for stage, sla_hours in sla.items():  # one stage per statement: a narrower key to group by
        overdue = sc.c.at < sql.ts(now - timedelta(hours=sla_hours))
        # One integer per entry (grouping one column sorts a fifth faster than three): the hours to
        # the touch, or PENDING / OVERDUE when there has been none yet.
        key = func.coalesce(hours, case((overdue, OVERDUE), else_=PENDING)).label("touch_key")
        rows = conn.execute(  # grouped by its label, not by the lookup written out a second time
            select(key, func.count())
            .where(sc.c.to_stage == stage, sql.within(sc.c.at, window))
            .group_by("touch_key")
        )
        for k, n in rows.all():
            hours_to_touch = None if k < 0 else int(k)
            out.append(SlaCount(stage=stage, touch_hours=hours_to_touch, overdue=k == OVERDUE, entries=n))
    return out


def rejection_counts(conn: Connection, policy: Policy, window: Window = (None, None)) -> list[RejectionCount]:
    """People's moves out of the MQL..SAL stages to an earlier or side stage, by reason."""
    stages = rejection_stages(policy)
    if not stages:
        return []
    sql = Dialect(conn)
    sc = stage_changes
    order = {s.name: i for i, s in enumerate(policy.main_stages)}
    side = [s.name for s in policy.stages if s.side]
    back = or_(
        *[
            and_(
                sc.c.from_stage == name,
                sc.c.to_stage.in_(side + [n for n, i in order.items() if i < order[name]]),
            )
            for name in stages
        ]
    )
    rows = conn.execute(
        select(sc.c.from_stage, sc.c.to_stage, sc.c.reason, func.count())
        .where(back, ~sc.c.actor.like("rule:%"), sql.within(sc.c.at, window))
        .group_by(sc.c.from_stage, sc.c.to_stage, sc.c.reason)
    )
    return [RejectionCount(from_stage=f, to_stage=t, reason=r, rejections=n) for f, t, r, n in rows]


# ------------------------------------------------------------------ deals and money


def _is_open() -> ColumnElement[bool]:
    o = opportunities.c
    return and_(o.lost_reason.is_(None), or_(o.signed_at.is_(None), o.booked_at.is_(None)))


def deals(conn: Connection, *, with_evidence: bool = True) -> list[Deal]:
    """Every opportunity with its committee, its account's size and (open ones) the evidence on record.

    `with_evidence=False` leaves the evidence out (the funnel's pipeline and economics do not read it).
    """
    o = opportunities.c
    oc = opportunity_contacts
    roles: dict[int, list[ContactRole]] = defaultdict(list)
    for oid, cid, role in conn.execute(select(oc.c.opportunity_id, oc.c.contact_id, oc.c.role)).all():
        roles[oid].append(ContactRole(contact_id=cid, role=role))
    fields = _deal_evidence(conn) if with_evidence else {}
    # Timestamps as the driver returns them: `from_db` parses SQLite's text faster than the type does.
    stamps = ("expected_close", "signed_at", "booked_at", "created_at")
    columns = [type_coerce(c, String).label(c.name) if c.name in stamps else c for c in opportunities.c]
    result = conn.execute(
        select(*columns, accounts.c.employees).join(accounts, accounts.c.id == o.account_id).order_by(o.id)
    )
    names = tuple(result.keys())
    out = []
    for row in result.all():
        r = dict(zip(names, row, strict=True))
        out.append(Deal(
            opportunity=opportunity_from_row(r, roles.get(r["id"], ())),
            created_at=from_db(r["created_at"]) or datetime.min.replace(tzinfo=UTC),
            employees=r["employees"],
            evidence=frozenset(fields.get(r["id"], ())),
        ))
    return out


def _deal_evidence(conn: Connection) -> dict[int, set[str]]:
    """Qualification fields confirmed on each open deal's committee (or, without one, its account)."""
    o = opportunities.c
    oc = opportunity_contacts
    on_committee = (
        select(oc.c.opportunity_id, evidence.c.field)
        .join(evidence, evidence.c.contact_id == oc.c.contact_id)
        .join(opportunities, opportunities.c.id == oc.c.opportunity_id)
        .where(_is_open())
    )
    # A deal without a committee on record falls back to everyone at the account.
    alone = ~exists().where(oc.c.opportunity_id == o.id)
    # materialized: SQLite would otherwise flatten it and scan all evidence for these few deals
    lonely = select(o.id, o.account_id).where(_is_open(), alone).cte("lonely").prefix_with("MATERIALIZED")
    on_account = (
        select(lonely.c.id, evidence.c.field)
        .select_from(lonely)
        .join(contacts, contacts.c.account_id == lonely.c.account_id)
        .join(evidence, evidence.c.contact_id == contacts.c.id)
    )
    fields: dict[int, set[str]] = defaultdict(set)
    for oid, field in conn.execute(union(on_committee, on_account)).all():
        fields[oid].add(field)
    return fields


def _exact(sql: Dialect, value: datetime) -> Any:
    """A bound that compares exactly with stored timestamps, to the microsecond.

    `Dialect.ts` drops microseconds on SQLite; the deal figures compare datetimes in Python in the
    reference, so a bound with microseconds is written with them (text with or without a fraction
    still compares correctly against it with >= and <).
    """
    if sql.pg or value.microsecond == 0:
        return sql.ts(value)
    naive = to_db(value)
    assert naive is not None
    return literal(naive.strftime("%Y-%m-%d %H:%M:%S.%f"), String)


def _within_exact(sql: Dialect, col: ColumnElement[Any], window: Window) -> ColumnElement[bool]:
    """col in [start, end), to the microsecond."""
    start, end = window
    conds = [col.is_not(None)]
    if start is not None:
        conds.append(col >= _exact(sql, start))
    if end is not None:
        conds.append(col < _exact(sql, end))
    return and_(*conds)


def _is_won() -> ColumnElement[bool]:
    o = opportunities.c
    return and_(o.signed_at.is_not(None), o.booked_at.is_not(None))


def _amounts(conn: Connection, q: Select[Any]) -> tuple[float, ...]:
    """The first column of `q` as amounts, a missing one counted as 0 (as the reference does)."""
    return tuple(a or 0.0 for a in conn.execute(q).scalars().all())  # all(): iterating fetches row by row


def pipeline_counts(conn: Connection, window: Window = (None, None)) -> PipelineCounts:
    """Deals created in the window by outcome, its won deals' amounts and cycles, and the open amounts.

    A few grouped reads instead of a `Deal` per opportunity: only the won deals of the window (for
    the cycle median) and the open deals' amounts (summed in deal order) come back one by one.
    """
    sql = Dialect(conn)
    o = opportunities.c
    cohort = _within_exact(sql, o.created_at, window)
    won, is_open = _is_won(), _is_open()
    created, lost, still_open = conn.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((and_(~won, o.lost_reason.is_not(None)), 1), else_=0)), 0),
            func.coalesce(func.sum(case((is_open, 1), else_=0)), 0),
        ).where(cohort)
    ).one()
    amounts: list[float] = []
    cycles: list[float] = []
    expansion: list[float] = []
    # Timestamps as the driver returns them: `from_db` parses SQLite's text faster than the type does.
    created_at, booked_at = type_coerce(o.created_at, String), type_coerce(o.booked_at, String)
    for amount, kind, c, b in conn.execute(
        select(o.amount, o.type, created_at, booked_at).where(cohort, won).order_by(o.id)
    ).all():
        amounts.append(amount or 0.0)
        if kind == "expansion":
            expansion.append(amount or 0.0)
        booked, began = from_db(b), from_db(c)
        assert booked is not None and began is not None  # won: booked; created_at is NOT NULL
        cycles.append((booked - began).total_seconds() / 86400)
    return PipelineCounts(
        deals_created=int(created),
        won_amounts=tuple(amounts),
        won_cycle_days=tuple(cycles),
        expansion_amounts=tuple(expansion),
        lost=int(lost),
        still_open=int(still_open),
        open_amounts=_amounts(conn, select(o.amount).where(is_open).order_by(o.id)),
    )


def committee_counts(conn: Connection, policy: Policy) -> CommitteeCounts:
    """Open deals, those with every role their tier requires, and the roles missing, counted in SQL.

    Mirrors `domain.pipeline.required_roles`: the enterprise list applies at accounts with at least
    `enterprise_min_employees` employees. Only the deals lacking a role come back, one row each.
    """
    o = opportunities.c
    oc = opportunity_contacts
    bc = policy.buying_committee
    limit = policy.enterprise_min_employees
    roles = list(dict.fromkeys((*bc.required_roles, *bc.enterprise_roles)))
    standard, enterprise = Counter(bc.required_roles), Counter(bc.enterprise_roles)
    tier = (
        case((and_(accounts.c.employees.is_not(None), accounts.c.employees >= limit), 1), else_=0)
        if limit is not None
        else literal(0, Integer)
    )
    has = [func.max(case((oc.c.role == r, 1), else_=0)).label(f"has_{i}") for i, r in enumerate(roles)]
    with_account = opportunities.join(accounts, accounts.c.id == o.account_id)
    flags = (
        select(o.id, o.amount, tier.label("enterprise"), *has)
        .select_from(with_account.outerjoin(oc, oc.c.opportunity_id == o.id))
        .where(_is_open())
        .group_by(o.id, o.amount, accounts.c.employees)  # o.id leads: SQLite groups in scan order, no sort
        .subquery()
    )
    f = flags.c
    # How often the deal's tier lists the role (once, normally) where the deal lacks it, else 0.
    missing = [
        case((f[f"has_{i}"] == 1, 0), (f.enterprise == 1, enterprise[r]), else_=standard[r])
        for i, r in enumerate(roles)
    ]
    open_deals = conn.execute(select(func.count()).select_from(with_account).where(_is_open())).scalar_one()
    lacking = conn.execute(
        select(f.amount, *missing).where(or_(*[m > 0 for m in missing], false())).order_by(f.id)
    ).all()
    per_role = [sum(row[1 + i] for row in lacking) for i in range(len(roles))]
    return CommitteeCounts(
        open_deals=int(open_deals),
        covered=int(open_deals) - len(lacking),
        missing=tuple(zip(roles, per_role, strict=True)),
        uncovered_amounts=tuple(a or 0.0 for a, *_ in lacking),
    )


def bookings(conn: Connection, window: tuple[datetime, datetime]) -> Bookings:
    """Signed-and-booked deals booked in the window, paying accounts, and first bookings, counted in SQL."""
    sql = Dialect(conn)
    o = opportunities.c
    won = _is_won()
    booked = and_(won, _within_exact(sql, o.booked_at, window))
    paying = conn.execute(select(func.count(func.distinct(o.account_id))).where(booked)).scalar_one()
    first = (
        select(o.account_id, func.min(o.booked_at).label("at")).where(won).group_by(o.account_id).subquery()
    )
    new, customers = conn.execute(
        select(
            func.coalesce(func.sum(case((_within_exact(sql, first.c.at, window), 1), else_=0)), 0),
            func.coalesce(func.sum(case((_within_exact(sql, first.c.at, (None, window[1])), 1), else_=0)), 0),
        )
    ).one()
    # Churned after the first booking: compared as datetimes (two stored columns may differ in form).
    churn = conn.execute(
        select(type_coerce(first.c.at, String), type_coerce(accounts.c.churned_at, String))
        .select_from(first.join(accounts, accounts.c.id == first.c.account_id))
        .where(_within_exact(sql, accounts.c.churned_at, window))
    ).all()
    churned = 0
    for f_at, c_at in churn:
        first_at, churned_at = from_db(f_at), from_db(c_at)
        churned += first_at is not None and churned_at is not None and first_at < churned_at
    return Bookings(
        amounts=_amounts(conn, select(o.amount).where(booked).order_by(o.id)),
        paying_accounts=int(paying),
        new_customer_accounts=int(new),
        customer_accounts=int(customers),
        churned_accounts=churned,
    )


def churned_accounts(conn: Connection) -> dict[int, datetime]:
    """When each churned account churned."""
    rows = conn.execute(
        select(accounts.c.id, accounts.c.churned_at).where(accounts.c.churned_at.is_not(None))
    )
    return {i: at for i, c in rows if (at := from_db(c)) is not None}


def spend_rows(conn: Connection, window: Window = (None, None)) -> list[Spend]:
    """Spend by source and month, for the months the window touches."""
    start, end = window
    q = select(spend.c.source, spend.c.month, spend.c.amount).order_by(spend.c.month, spend.c.source)
    if start is not None:
        q = q.where(spend.c.month >= month_of(start))
    if end is not None:
        q = q.where(spend.c.month <= month_of(end - timedelta(microseconds=1)))
    return [Spend(source=s, month=m, amount=float(a)) for s, m, a in conn.execute(q)]

"""The sales queue: marketing-qualified records awaiting acceptance, accepted ones awaiting a first touch.

The stages come from the policy: the stages where sales reviews what marketing qualified
(`rejection_stages`, MQL and SAL in Lead-First) and any stage with a first-touch SLA. A stage with
an SLA lists only records not yet touched (no two-way event since they entered it), with the clock
running; the others list every record in the stage, oldest first within equal scores.

Accepting moves a record to the next main stage through the same gated `move` the CLI uses, and
makes the acceptor its owner if it has none (the SAL gate wants an owner). Rejecting moves it to a
side stage or an allowed earlier stage with a reason: a person's move out of these stages is what
`leadledger funnel` counts as a rejected MQL, by reason.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, case, exists, func, literal, not_, select

from leadledger.domain.followup import rejection_stages
from leadledger.domain.policy import Policy
from leadledger.domain.records import StageChange
from leadledger.errors import LeadledgerError, NotFound
from leadledger.services.contacts import move, next_stage_for
from leadledger.store import db
from leadledger.store.dialect import Dialect
from leadledger.store.policies import load_active_policy
from leadledger.store.schema import accounts, contacts, events, scores

DEFAULT_LIMIT = 50


class BadQueueAction(LeadledgerError):
    """An accept or reject the queue does not offer for this record (wrong stage, no reason, bad target)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueItem:
    """One record waiting in the queue, with its clock."""

    contact_id: int
    email: str
    name: str
    company: str | None
    title: str | None
    source: str | None
    owner: str | None
    stage: str
    score: float | None
    fit: float | None
    entered_at: datetime
    waiting_hours: float
    due_at: datetime | None  # entry + first-touch SLA, where the stage has one
    hours_left: float | None  # negative once breached
    breached: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueSection:
    """The records of one stage awaiting sales, highest score first, and what may be done with them."""

    stage: str
    label: str
    kind: str  # "acceptance" or "first_touch"
    sla_hours: float | None
    accept_to: str | None  # the stage accepting moves to
    reject_to: tuple[str, ...]  # where a rejection may send a record (a reason is required)
    total: int
    breached: int
    items: tuple[QueueItem, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Queue:
    """Every queue section under the active policy, as of `as_of`."""

    as_of: datetime
    policy_version: str
    sections: tuple[QueueSection, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def queue_stages(policy: Policy) -> tuple[str, ...]:
    """The queue's stages: where sales reviews marketing's records, and every first-touch SLA stage."""
    sla = [s.name for s in policy.main_stages if s.sla_first_touch_hours is not None]
    return tuple(dict.fromkeys([*rejection_stages(policy), *sla]))


def reject_targets(policy: Policy, stage: str) -> tuple[str, ...]:
    """Where a rejection from `stage` may go: earlier stages its backward rules allow, then side stages."""
    back = [b.to_stage for b in policy.backward if b.from_stage in (stage, "*")]
    side = [s.name for s in policy.stages if s.side]
    return tuple(dict.fromkeys([*back, *side]))


def _untouched(stage_entered: Any) -> Any:
    """No two-way event since the record entered its stage (the partial two-way index answers it)."""
    ev = events.c
    return not_(
        exists().where(
            ev.contact_id == contacts.c.id, ev.two_way.is_(True), ev.occurred_at >= stage_entered
        )
    )


def _section(conn: Connection, policy: Policy, stage: str, now: datetime, limit: int) -> QueueSection:
    st = policy.stage(stage)
    assert st is not None
    sql = Dialect(conn)
    c = contacts.c
    sla = st.sla_first_touch_hours
    where = [c.stage == stage]
    if sla is not None:
        where.append(_untouched(c.stage_entered_at))
    overdue = c.stage_entered_at < sql.ts(now - timedelta(hours=sla)) if sla is not None else None
    late = func.sum(case((overdue, 1), else_=0)) if overdue is not None else literal(0)
    total, breached = conn.execute(
        select(func.count(), late)
        .select_from(contacts)
        .where(*where)
    ).one()
    rows = conn.execute(
        select(
            c.id, c.email, c.first_name, c.last_name,
            func.coalesce(accounts.c.name, c.company).label("company"), c.title, c.source, c.owner,
            c.stage, c.stage_entered_at, scores.c.total, scores.c.fit,
        )
        .select_from(
            contacts.outerjoin(accounts, accounts.c.id == c.account_id).outerjoin(
                scores, scores.c.contact_id == c.id
            )
        )
        .where(*where)
        .order_by(scores.c.total.desc().nulls_last(), c.stage_entered_at, c.id)
        .limit(limit)
    ).all()
    items = []
    for r in rows:
        entered = db.from_db(r.stage_entered_at)
        assert entered is not None
        due = entered + timedelta(hours=sla) if sla is not None else None
        left = (due - now).total_seconds() / 3600 if due is not None else None
        items.append(
            QueueItem(
                contact_id=r.id,
                email=r.email,
                name=f"{r.first_name or ''} {r.last_name or ''}".strip() or r.email,
                company=r.company,
                title=r.title,
                source=r.source,
                owner=r.owner,
                stage=r.stage,
                score=round(r.total, 1) if r.total is not None else None,
                fit=round(r.fit, 1) if r.fit is not None else None,
                entered_at=entered,
                waiting_hours=round((now - entered).total_seconds() / 3600, 1),
                due_at=due,
                hours_left=round(left, 1) if left is not None else None,
                breached=left is not None and left < 0,
            )
        )
    return QueueSection(
        stage=stage,
        label=st.label,
        kind="first_touch" if sla is not None else "acceptance",
        sla_hours=sla,
        accept_to=next_stage_for(stage, policy) if sla is None else None,
        reject_to=reject_targets(policy, stage),
        total=int(total),
        breached=int(breached or 0),
        items=tuple(items),
    )


def sales_queue(engine: Engine, now: datetime, *, limit: int = DEFAULT_LIMIT) -> Queue:
    """The queue as of `now`: each section's `limit` highest-scored records, with totals and breaches."""
    with engine.connect() as conn:
        policy = load_active_policy(conn)
        sections = tuple(_section(conn, policy, s, now, limit) for s in queue_stages(policy))
    return Queue(as_of=now, policy_version=policy.version, sections=sections)


def _contact_row(engine: Engine, contact_id: int) -> tuple[Policy, Any]:
    with engine.connect() as conn:
        policy = load_active_policy(conn)
        row = conn.execute(
            select(contacts.c.email, contacts.c.stage, contacts.c.owner).where(contacts.c.id == contact_id)
        ).first()
    if row is None:
        raise NotFound(f"no contact with id {contact_id}")
    return policy, row


def accept(
    engine: Engine, contact_id: int, *, now: datetime, actor: str, owner: str, role: str | None = None
) -> StageChange:
    """Accept a queued record: the next stage through its gate; `owner` takes it if unowned.

    With `role`, the policy's stage ownership is checked inside the move's transaction (Forbidden).
    """
    policy, row = _contact_row(engine, contact_id)
    st = policy.stage(row.stage)
    if row.stage not in queue_stages(policy) or st is None or st.sla_first_touch_hours is not None:
        raise BadQueueAction(f"{row.email} is in {row.stage}, not awaiting acceptance in the sales queue")
    target = next_stage_for(row.stage, policy)
    if target is None:
        raise BadQueueAction(f"{row.email}: {row.stage} has no next stage to accept into")
    return move(engine, row.email, target, now=now, actor=actor, reason="accepted from the queue",
                assign_owner=owner, role=role)


def reject(
    engine: Engine, contact_id: int, to_stage: str, reason: str, *, now: datetime, actor: str,
    role: str | None = None,
) -> StageChange:
    """Reject a queued record to `to_stage` with a reason (it feeds the rejected-MQL reasons report)."""
    policy, row = _contact_row(engine, contact_id)
    if row.stage not in queue_stages(policy):
        raise BadQueueAction(f"{row.email} is in {row.stage}, not in the sales queue")
    allowed = reject_targets(policy, row.stage)
    if to_stage not in allowed:
        raise BadQueueAction(
            f"{row.email}: a rejection from {row.stage} goes to one of {', '.join(allowed) or 'nothing'}, "
            f"not {to_stage!r}"
        )
    if not reason.strip():
        raise BadQueueAction(f"{row.email}: a rejection needs a reason (the lead-quality report counts them)")
    return move(engine, row.email, to_stage, now=now, actor=actor, reason=" ".join(reason.split()), role=role)


"""Automatic moves — MQL at threshold, product-led trials, dormancy — through the same gates."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Connection, and_, or_, select

from leadledger.domain.facts import ContactFacts
from leadledger.domain.policy import Policy
from leadledger.domain.records import StageChange
from leadledger.domain.sweeps import dormancy_moves
from leadledger.domain.transitions import Approved, decide_transition
from leadledger.store.db import to_db
from leadledger.store.records import batch_facts, record_stage_changes
from leadledger.store.schema import contact_activity, contacts, scores

Progress = Callable[[str, int, int], None]


@dataclass(slots=True)
class AutoMoves:
    """What the automatic rules did, and what the gates refused."""

    moved: Counter[str] = field(default_factory=Counter)  # "lead→mql": n
    refused: Counter[str] = field(default_factory=Counter)  # reason: n

    def to_dict(self) -> dict[str, object]:
        """JSON-ready counts."""
        return {"moved": dict(self.moved), "refused": dict(self.refused)}


def _decide_all(
    facts: list[ContactFacts],
    to_stage: str,
    policy: Policy,
    now: datetime,
    actor: str,
    reason: str,
    report: AutoMoves,
) -> list[StageChange]:
    changes = []
    for f in facts:
        d = decide_transition(f, to_stage, policy, now=now, actor=actor, reason=reason)
        if isinstance(d, Approved):
            changes.append(d.change)
            report.moved[f"{f.contact.stage}→{to_stage}"] += 1
        else:
            report.refused[d.missing[0].requirement] += 1
    return changes


def promotion_candidates(conn: Connection, policy: Policy) -> list[int]:
    """Contacts the score may promote: a superset the gate then decides on."""
    rule = policy.auto_promotion
    target = policy.stage(rule.to_stage) if rule else None
    if rule is None or target is None:
        return []
    conds: list[ColumnElement[bool]] = [contacts.c.stage.in_(rule.from_stages)]
    if target.gate.score_threshold:
        conds.append(scores.c.total >= policy.scoring.mql_threshold)
    if target.gate.icp_fit:
        conds.append(scores.c.fit >= policy.scoring.fit_minimum)
    q = select(contacts.c.id).join(scores, scores.c.contact_id == contacts.c.id).where(and_(*conds))
    return [r.id for r in conn.execute(q.order_by(contacts.c.id))]


def trial_candidates(conn: Connection, policy: Policy) -> list[int]:
    """Trial users with enough usage and fit to qualify through the product-led path."""
    rule = policy.edge_cases.trial
    target = policy.stage(rule.to_stage) if rule else None
    if rule is None or target is None:
        return []
    before = [
        s.name for s in policy.main_stages if (policy.order(s.name) or 0) < (policy.order(target.name) or 0)
    ]
    side = [s.name for s in policy.stages if s.side]
    q = (
        select(contacts.c.id)
        .join(scores, scores.c.contact_id == contacts.c.id)
        .join(contact_activity, contact_activity.c.contact_id == contacts.c.id)
        .where(
            contacts.c.source == rule.source,
            or_(contacts.c.stage.in_(before), contacts.c.stage.in_(side)),
            contact_activity.c.trial_usage_n >= rule.min_usage_events,
            scores.c.fit >= policy.scoring.fit_minimum,
        )
    )
    return [r.id for r in conn.execute(q.order_by(contacts.c.id))]


def dormant_candidates(conn: Connection, policy: Policy, now: datetime) -> list[int]:
    """Contacts with no activity since the dormancy cutoff (the domain decides the rest)."""
    rule = policy.dormancy
    if rule is None:
        return []
    cutoff = to_db(now - timedelta(days=rule.after_days))
    last = contact_activity.c.last_activity_at
    q = (
        select(contacts.c.id)
        .outerjoin(contact_activity, contact_activity.c.contact_id == contacts.c.id)
        .where(
            contacts.c.stage.in_(rule.applies_to),
            or_(last < cutoff, and_(last.is_(None), contacts.c.created_at < cutoff)),
        )
    )
    return [r.id for r in conn.execute(q.order_by(contacts.c.id))]


def apply_automatic_moves(
    conn: Connection, policy: Policy, now: datetime, progress: Progress | None = None
) -> AutoMoves:
    """Run every automatic rule of the policy; each move goes through the gate and the ledger."""
    report = AutoMoves()
    rule = policy.auto_promotion
    if rule is not None:
        ids = promotion_candidates(conn, policy)
        facts = batch_facts(conn, ids, policy)
        record_stage_changes(
            conn,
            _decide_all(
                facts, rule.to_stage, policy, now, "rule:score", "score reached the threshold", report
            ),
        )
        if progress:
            progress("promotions", len(ids), len(ids))
    trial = policy.edge_cases.trial
    if trial is not None:
        ids = trial_candidates(conn, policy)
        facts = batch_facts(conn, ids, policy)
        record_stage_changes(
            conn,
            _decide_all(
                facts, trial.to_stage, policy, now, "rule:trial", "product usage and ICP fit", report
            ),
        )
    if policy.dormancy is not None:
        ids = dormant_candidates(conn, policy, now)
        changes = list(dormancy_moves(batch_facts(conn, ids, policy), policy, now))
        for c in changes:
            report.moved[f"{c.from_stage}→{c.to_stage}"] += 1
        record_stage_changes(conn, changes)
    return report

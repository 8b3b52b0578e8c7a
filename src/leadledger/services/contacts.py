"""One contact at a time: explain its stage and score, move it through a gate, list records."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, exists, func, or_, select, update

from leadledger.domain.classify import Classification, classify
from leadledger.domain.facts import ContactFacts, gather_facts
from leadledger.domain.gates import GateResult, evaluate_gate
from leadledger.domain.permissions import may_move
from leadledger.domain.policy import Policy
from leadledger.domain.records import Evidence, Opportunity, StageChange
from leadledger.domain.scoring import Score, score_contact
from leadledger.domain.transitions import Refused, decide_transition
from leadledger.errors import Forbidden, TransitionRefused
from leadledger.store import db
from leadledger.store.policies import load_active_policy
from leadledger.store.records import (
    account_by_id,
    contact_by_email,
    events_for,
    evidence_for,
    ledger_for,
    opportunities_for,
    record_evidence,
    record_stage_changes,
)
from leadledger.store.schema import accounts, contacts, opportunities, predictions, predictive_models, scores


@dataclass(frozen=True, slots=True)
class Explanation:
    """Everything that justifies a contact's stage and score, and what the next stage needs."""

    facts: ContactFacts
    score: Score
    classification: Classification
    evidence: list[Evidence]
    ledger: list[StageChange]
    next_stage: str | None
    next_gate: GateResult | None
    policy_version: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        c = self.facts.contact
        a = self.facts.account
        return {
            "contact": {**asdict(c), "name": c.name},
            "account": asdict(a) if a else None,
            "stage": c.stage,
            "score": {
                "total": round(self.score.total, 2),
                "fit": round(self.score.fit, 2),
                "behavior": round(self.score.behavior, 2),
                "breakdown": [
                    {"kind": i.kind, "signal": i.signal, "points": round(i.points, 2), "detail": i.detail}
                    for i in self.score.items
                ],
            },
            "classification": {
                "label": self.classification.label,
                "account_is_customer": self.classification.account_is_customer,
                "route_to": self.classification.route_to,
                "answers": [asdict(x) for x in self.classification.answers],
            },
            "evidence": [asdict(e) for e in self.evidence],
            "opportunities": [asdict(o) for o in self.facts.opportunities],
            "ledger": [asdict(s) for s in self.ledger],
            "next_stage": self.next_stage,
            "missing_for_next_stage": ([asdict(m) for m in self.next_gate.missing] if self.next_gate else []),
            "policy_version": self.policy_version,
        }


def _facts_and_score(
    conn: Connection, email: str, policy: Policy, now: datetime
) -> tuple[ContactFacts, Score, list[Evidence]]:
    contact = contact_by_email(conn, email)
    account = account_by_id(conn, contact.account_id)
    evs = events_for(conn, contact.id)
    score = score_contact(contact, account, evs, policy.scoring, now)
    evidence = evidence_for(conn, [contact.id])
    opps: list[Opportunity] = opportunities_for(conn, [account.id]).get(account.id, []) if account else []
    facts = gather_facts(
        contact=contact,
        account=account,
        events=evs,
        evidence=evidence,
        opportunities=opps,
        fit=score.fit,
        score=score.total,
        policy=policy,
    )
    return facts, score, evidence


def next_stage_for(stage: str, policy: Policy) -> str | None:
    """The stage a record would normally move to next."""
    order = policy.order(stage)
    mains = policy.main_stages
    if order is None:  # side state: back into the funnel where automation would take it
        rule = policy.auto_promotion
        return rule.to_stage if rule and stage in rule.from_stages else mains[0].name
    return mains[order + 1].name if order + 1 < len(mains) else None


def explain(engine: Engine, email: str, now: datetime) -> Explanation:
    """Stage, live score breakdown, classification, evidence, ledger and what is missing next."""
    with engine.connect() as conn:
        policy = load_active_policy(conn)
        facts, score, evidence = _facts_and_score(conn, email, policy, now)
        ledger = ledger_for(conn, facts.contact.id)
    nxt = next_stage_for(facts.contact.stage, policy)
    target = policy.stage(nxt) if nxt else None
    gate = evaluate_gate(facts, target, policy, from_stage=facts.contact.stage) if target else None
    return Explanation(
        facts=facts,
        score=score,
        classification=classify(facts, policy),
        evidence=evidence,
        ledger=ledger,
        next_stage=nxt,
        next_gate=gate,
        policy_version=policy.version,
    )


def move(
    engine: Engine,
    email: str,
    to_stage: str,
    *,
    now: datetime,
    actor: str,
    reason: str = "",
    evidence: dict[str, str] | None = None,
    assign_owner: str | None = None,
    role: str | None = None,
) -> StageChange:
    """A gated manual move: append the ledger entry, or raise TransitionRefused naming what is missing.

    `assign_owner` makes that person the owner of an unowned contact first, in the same transaction
    (accepting an MQL from the dashboard's queue takes it over; a refusal leaves the owner as it was).
    With `role`, the policy's stage ownership is checked first (Forbidden names the owning role);
    the gate applies whoever asks.
    """
    with db.transaction(engine) as conn:
        policy = load_active_policy(conn)
        if role is not None:
            current = contact_by_email(conn, email)
            refusal = may_move(policy, role, current.stage, to_stage)
            if refusal is not None:
                raise Forbidden(f"{current.email}: {refusal}")
        if assign_owner:
            conn.execute(
                update(contacts)
                .where(
                    contacts.c.email == email.strip().lower(),
                    or_(contacts.c.owner.is_(None), contacts.c.owner == ""),
                )
                .values(owner=assign_owner, updated_at=db.to_db(now))
            )
        facts, _, _ = _facts_and_score(conn, email, policy, now)
        supplied = [
            Evidence(contact_id=facts.contact.id, field=k, value=v, confirmed_by=actor, confirmed_at=now)
            for k, v in (evidence or {}).items()
        ]
        decision = decide_transition(
            facts, to_stage, policy, now=now, actor=actor, reason=reason, new_evidence=supplied
        )
        if isinstance(decision, Refused):
            raise TransitionRefused(
                f"{facts.contact.email}: {decision.explain()}",
                [{"requirement": m.requirement, "message": m.message} for m in decision.missing],
            )
        record_evidence(conn, decision.new_evidence)
        record_stage_changes(conn, [decision.change])
        return decision.change


def _customer_account(account_id: Any) -> Any:
    return exists().where(
        and_(
            opportunities.c.account_id == account_id,
            opportunities.c.signed_at.is_not(None),
            opportunities.c.booked_at.is_not(None),
            or_(accounts.c.churned_at.is_(None), accounts.c.churned_at < opportunities.c.booked_at),
        )
    )


def list_contacts(engine: Engine, *, stage: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
    """Contacts with stage, stored score and owner, highest score first."""
    q = (
        select(
            contacts.c.email,
            contacts.c.first_name,
            contacts.c.last_name,
            func.coalesce(accounts.c.name, contacts.c.company).label("company"),
            contacts.c.stage,
            scores.c.total.label("score"),
            scores.c.fit,
            contacts.c.owner,
            contacts.c.stage_entered_at,
            predictions.c.probability,
            predictions.c.model_id,
        )
        .select_from(
            contacts.outerjoin(accounts, accounts.c.id == contacts.c.account_id)
            .outerjoin(scores, scores.c.contact_id == contacts.c.id)
            .outerjoin(predictions, predictions.c.contact_id == contacts.c.id)
        )
        .order_by(scores.c.total.desc().nulls_last(), contacts.c.id)
        .limit(limit)
    )
    if stage:
        q = q.where(contacts.c.stage == stage)
    with engine.connect() as conn:
        active = conn.execute(
            select(predictive_models.c.id).where(predictive_models.c.active.is_(True))
        ).scalar_one_or_none()
        # A probability is shown only when the active model made it: an older model's row is stale
        # until the next `leadledger score` (model_id still says which model that was).
        return [
            {
                **r._mapping,
                "score": round(r.score, 1) if r.score is not None else None,
                "fit": round(r.fit, 1) if r.fit is not None else None,
                "stage_entered_at": db.from_db(r.stage_entered_at),
                "probability": round(r.probability, 4) if r.probability is not None
                and r.model_id == active else None,
                "prediction_current": r.model_id is not None and r.model_id == active,
                "active_model_id": active,
            }
            for r in conn.execute(q)
        ]


def list_accounts(engine: Engine, *, customers_only: bool = False, limit: int = 20) -> list[dict[str, Any]]:
    """Accounts with their contact count, open pipeline and customer status."""
    n_contacts = select(func.count()).where(contacts.c.account_id == accounts.c.id).scalar_subquery()
    open_amount = (
        select(func.coalesce(func.sum(opportunities.c.amount), 0.0))
        .where(
            opportunities.c.account_id == accounts.c.id,
            opportunities.c.lost_reason.is_(None),
            or_(opportunities.c.signed_at.is_(None), opportunities.c.booked_at.is_(None)),
        )
        .scalar_subquery()
    )
    is_customer = _customer_account(accounts.c.id)
    q = (
        select(
            accounts.c.domain,
            accounts.c.name,
            accounts.c.industry,
            accounts.c.employees,
            accounts.c.owner,
            n_contacts.label("contacts"),
            open_amount.label("open_pipeline"),
            is_customer.label("customer"),
        )
        .order_by(open_amount.desc(), accounts.c.id)
        .limit(limit)
    )
    if customers_only:
        q = q.where(is_customer)
    with engine.connect() as conn:
        return [{**r._mapping, "customer": bool(r.customer)} for r in conn.execute(q)]

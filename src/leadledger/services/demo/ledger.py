"""The ledger entries: every planned move is judged by the domain's own gates at its moment."""

from __future__ import annotations

import json
from dataclasses import dataclass

from leadledger.domain.facts import ContactFacts, latest_evidence
from leadledger.domain.gates import evaluate_gate
from leadledger.domain.policy import Policy
from leadledger.domain.records import Evidence, Opportunity
from leadledger.domain.transitions import Approved, decide_transition
from leadledger.services.demo.funnel import score_at
from leadledger.services.demo.records import contact_record
from leadledger.services.demo.world import ContactSim, Move, MoveKind, World, to_datetime

ACCOUNT_PATH = "account-level: the account is signed and booked"


class DemoBug(RuntimeError):
    """A planned clean move that the policy's gate refuses: the generator is wrong, not the data."""


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One stage_changes row before its id is given."""

    at: int
    contact_id: int
    from_stage: str | None
    to_stage: str
    actor: str
    reason: str
    evidence: str  # JSON snapshot


def _facts(
    c: ContactSim, world: World, policy: Policy, move: Move, stage: str, entered: int | None
) -> ContactFacts:
    """What was known about the contact at the moment of `move`."""
    at = move.at
    buying = set(policy.buying_signal_events)
    past = [e for e in c.events if e[0] <= at]
    opps: list[Opportunity] = [
        r for o in world.account_opportunities(c.account) if (r := o.as_record(at)) is not None
    ]
    evidence = latest_evidence(
        Evidence(contact_id=c.id, field=e.field, value=e.value, confirmed_by=e.confirmed_by,
                 confirmed_at=to_datetime(e.at))
        for e in c.evidence if e.at <= at
    )
    target = policy.stage(move.to_stage)
    needs_score = target is not None and target.gate.score_threshold
    return ContactFacts(
        contact=contact_record(c, stage, move.owner, entered),
        account=c.account.as_record(at) if c.account else None,
        fit=c.fit,
        score=score_at(c, policy, at) if needs_score else 0.0,
        evidence=evidence,
        two_way_count=sum(1 for e in past if e[2]),
        buying_signal_count=sum(1 for e in past if e[1] in buying),
        trial_usage_count=sum(1 for e in past if e[1] == "trial_usage"),
        opportunities=tuple(opps),
        last_activity_at=to_datetime(max(e[0] for e in past)) if past else None,
    )


def _refused(c: ContactSim, stage: str | None, move: Move, why: str) -> DemoBug:
    return DemoBug(f"demo contact {c.email}: {stage} → {move.to_stage} at {to_datetime(move.at)} "
                   f"({move.kind}) is not supported by the evidence: {why}")


def snapshot(
    c: ContactSim, world: World, policy: Policy, move: Move, stage: str | None, entered: int | None
) -> dict[str, object]:
    """The evidence snapshot of one move, as the service would have recorded it."""
    if move.kind is MoveKind.IMPORT:
        return {"imported_label": move.to_stage}
    if move.kind is MoveKind.DORMANCY:  # the shape of domain.sweeps.dormancy_moves' evidence
        last = max((e[0] for e in c.events if e[0] <= move.at), default=c.created_at)
        return {"last_activity_at": to_datetime(last).isoformat(),
                "dormant_after_days": policy.dormancy.after_days if policy.dormancy else None}
    if move.kind is MoveKind.CREATE:  # only the contact's own fields matter (company included)
        facts = ContactFacts(contact=contact_record(c, policy.first_stage.name, move.owner))
    else:
        facts = _facts(c, world, policy, move, stage or policy.first_stage.name, entered)
    if move.kind in (MoveKind.CREATE, MoveKind.ACCOUNT):
        target = policy.stage(move.to_stage)
        assert target is not None
        result = evaluate_gate(facts, target, policy, from_stage=stage)
        # Customer status is account-level, so the contact need not have been at opportunity.
        tolerated = {"enter_from"} if move.kind is MoveKind.ACCOUNT else set()
        missing = [m.message for m in result.missing if m.requirement not in tolerated]
        if missing:
            raise _refused(c, stage, move, "; ".join(missing))
        return {**result.snapshot, "path": ACCOUNT_PATH} if move.kind is MoveKind.ACCOUNT else result.snapshot
    decision = decide_transition(facts, move.to_stage, policy, now=to_datetime(move.at),
                                 actor=move.actor, reason=move.reason)
    if not isinstance(decision, Approved):
        raise _refused(c, stage, move, decision.explain())
    return decision.change.evidence


def contact_entries(c: ContactSim, world: World, policy: Policy) -> list[LedgerEntry]:
    """One contact's moves, in order, each with its snapshot."""
    out = []
    stage: str | None = None
    entered: int | None = None
    for move in c.moves:
        if entered is not None and move.at < entered:
            raise DemoBug(f"demo contact {c.email}: moves out of order at {to_datetime(move.at)}")
        snap = snapshot(c, world, policy, move, stage, entered)
        out.append(LedgerEntry(move.at, c.id, stage, move.to_stage, move.actor, move.reason,
                               json.dumps(snap, sort_keys=True, default=str)))
        stage, entered = move.to_stage, move.at
    return out

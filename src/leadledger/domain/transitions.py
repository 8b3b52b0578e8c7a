"""The transition function: a new ledger entry, or a refusal naming what is missing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from leadledger.domain.facts import ContactFacts
from leadledger.domain.gates import Missing, evaluate_gate
from leadledger.domain.policy import ENTERPRISE_FIELDS, FRAMEWORK_FIELDS, Policy
from leadledger.domain.records import Evidence, StageChange


@dataclass(frozen=True, slots=True, kw_only=True)
class Approved:
    """The move is allowed: record `change` and store `new_evidence`."""

    change: StageChange
    new_evidence: tuple[Evidence, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Refused:
    """The move is refused; `missing` says exactly why."""

    contact_id: int
    from_stage: str
    to_stage: str
    missing: tuple[Missing, ...]

    def explain(self) -> str:
        """One sentence per missing piece."""
        lines = [f"cannot move from {self.from_stage} to {self.to_stage}:"]
        lines += [f"  - {m.message}" for m in self.missing]
        return "\n".join(lines)


Decision = Approved | Refused


def allowed_evidence_fields(policy: Policy) -> tuple[str, ...]:
    """The evidence keys a move may carry under this policy."""
    return tuple(dict.fromkeys(FRAMEWORK_FIELDS[policy.framework] + ENTERPRISE_FIELDS))


def _backward_rule_missing(policy: Policy, from_stage: str, to_stage: str, reason: str) -> list[Missing]:
    for rule in policy.backward:
        if rule.to_stage == to_stage and rule.from_stage in (from_stage, "*"):
            if rule.reason_required and not reason.strip():
                return [Missing(requirement="reason", message=f"moving back to {to_stage} needs a reason")]
            return []
    allowed = sorted({r.to_stage for r in policy.backward if r.from_stage in (from_stage, "*")})
    hint = f" (allowed: {', '.join(allowed)})" if allowed else ""
    return [
        Missing(
            requirement="backward_move",
            message=f"the policy does not allow moving back from {from_stage} to {to_stage}{hint}",
        )
    ]


def decide_transition(
    facts: ContactFacts,
    to_stage: str,
    policy: Policy,
    *,
    now: datetime,
    actor: str,
    reason: str = "",
    new_evidence: Sequence[Evidence] = (),
) -> Decision:
    """Decide whether the contact may move to `to_stage`, and build the ledger entry if so."""
    current = facts.contact.stage
    cid = facts.contact.id

    def refuse(*missing: Missing) -> Refused:
        return Refused(contact_id=cid, from_stage=current, to_stage=to_stage, missing=tuple(missing))

    target = policy.stage(to_stage)
    if target is None:
        names = ", ".join(s.name for s in policy.stages)
        return refuse(Missing(requirement="stage", message=f"unknown stage {to_stage!r} (stages: {names})"))
    if to_stage == current:
        return refuse(Missing(requirement="stage", message=f"already in {to_stage}"))
    allowed = set(allowed_evidence_fields(policy))
    unknown = sorted({e.field for e in new_evidence} - allowed)
    if unknown:
        return refuse(
            Missing(
                requirement="evidence",
                message=f"unknown evidence field(s) {', '.join(unknown)} "
                f"(this policy knows: {', '.join(sorted(allowed))})",
            )
        )
    facts = facts.with_evidence(new_evidence)
    if (
        policy.edge_cases.customer_contacts_route_to_owner
        and facts.account_is_customer
        and target.owner_team == "marketing"
    ):
        owner = facts.account.owner if facts.account and facts.account.owner else "the account owner"
        return refuse(
            Missing(
                requirement="existing_customer",
                message=f"the contact belongs to a customer account: it is never reset to "
                f"{to_stage}; route it to {owner}",
            )
        )

    from_order, to_order = policy.order(current), policy.order(to_stage)
    backward = from_order is not None and to_order is not None and to_order < from_order
    if backward:
        missing = _backward_rule_missing(policy, current, to_stage, reason)
        snapshot: dict[str, object] = {"backward_move": True}
    else:
        result = evaluate_gate(facts, target, policy, from_stage=current, reason=reason)
        missing = list(result.missing)
        snapshot = dict(result.snapshot)
    if missing:
        return refuse(*missing)
    change = StageChange(
        contact_id=cid,
        from_stage=current,
        to_stage=to_stage,
        at=now,
        actor=actor,
        reason=reason,
        evidence=snapshot,
        policy_version=policy.version,
    )
    return Approved(change=change, new_evidence=tuple(new_evidence))

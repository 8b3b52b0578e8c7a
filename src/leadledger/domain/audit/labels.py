"""What a record's evidence supports: the policy's own gates, run on what the source knows.

An unknown input (an export has no evidence records, no score) is assumed to pass its check and
is reported as unchecked, so a finding is only ever raised on a contradiction the data shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from leadledger.domain.audit.records import AuditAccount, AuditContact, AuditDeal, DealState
from leadledger.domain.facts import ContactFacts
from leadledger.domain.gates import evaluate_gate
from leadledger.domain.policy import Meaning, Policy, Stage
from leadledger.domain.records import Account, Contact, ContactRole, Evidence, Opportunity

# Requirements the audit does not judge: how a record got here, not whether the label holds.
_IGNORED = ("enter_from", "reason", "field:")
_PLACEHOLDER_AT = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class GateCheck:
    """The contradictions a gate found in known data, and the inputs the source lacked."""

    stage: str
    missing: tuple[str, ...]
    unchecked: tuple[str, ...]

    @property
    def passed(self) -> bool:
        """No contradiction in what the source shows."""
        return not self.missing


def deal_as_opportunity(deal: AuditDeal, index: int, keys: dict[str, int]) -> Opportunity:
    """The deal as a ledger opportunity; a won deal whose source has no booking column counts as won."""
    signed, booked = deal.signed_at, deal.booked_at
    if deal.state is DealState.WON:
        assumed = deal.expected_close or _PLACEHOLDER_AT
        signed = signed if deal.signed_known else signed or assumed
        booked = booked if deal.booked_known else booked or assumed
    return Opportunity(
        id=index,
        account_id=0,
        name=deal.name,
        type=deal.type,
        stage=deal.stage,
        amount=deal.amount,
        expected_close=deal.expected_close,
        signed_at=signed,
        booked_at=booked,
        lost_reason="lost" if deal.state is DealState.LOST else None,
        owner=deal.owner,
        roles=tuple(ContactRole(contact_id=keys.get(c, -1), role=r) for c, r in deal.contacts),
    )


def facts_for(
    contact: AuditContact,
    account: AuditAccount | None,
    opportunities: Sequence[Opportunity],
    policy: Policy,
    stage: Stage,
) -> tuple[ContactFacts, list[str]]:
    """Facts for the gate, unknown inputs filled so they pass; plus the names of what was unknown."""
    gate = stage.gate
    unknown: list[str] = []
    fit = contact.fit
    if fit is None:
        fit = policy.scoring.fit_minimum
        if gate.icp_fit:
            unknown.append("ICP fit")
    score = contact.score
    if score is None:
        score = policy.scoring.mql_threshold
        if gate.score_threshold:
            unknown.append("score")
    evidence = contact.evidence
    if evidence is None:
        names = gate.evidence + gate.enterprise_evidence
        evidence = {n: Evidence(contact_id=0, field=n, value="?", confirmed_by="?",
                                confirmed_at=_PLACEHOLDER_AT) for n in names}
        if names:
            unknown.append("qualification evidence (" + ", ".join(names) + ")")
    two_way = contact.two_way_count
    if two_way is None:
        two_way = 1
        if gate.two_way_interaction:
            unknown.append("two-way interaction")
    signals = contact.buying_signal_count
    if signals is None:
        signals = 1
        if gate.buying_signal:
            unknown.append("buying signals")
    facts = ContactFacts(
        contact=Contact(
            id=0, email=contact.email or "", first_name=contact.name or None, company=contact.company,
            account_id=0 if account else None, owner=contact.owner, source=contact.source,
            title=contact.title, stage=contact.label, stage_entered_at=contact.label_since,
            created_at=contact.created_at,
        ),
        account=Account(
            id=0, name=account.name, domain=account.domain or "", employees=account.employees,
            industry=account.industry, annual_revenue=account.annual_revenue, country=account.country,
            owner=account.owner, churned_at=account.churned_at,
        ) if account else None,
        fit=fit,
        score=score,
        evidence=evidence,
        two_way_count=two_way,
        buying_signal_count=signals,
        trial_usage_count=contact.trial_usage_count or 0,
        opportunities=tuple(opportunities),
        last_activity_at=contact.last_activity_at,
        first_touch_at=contact.first_touch_at,
    )
    return facts, unknown


def check_gate(
    contact: AuditContact,
    account: AuditAccount | None,
    opportunities: Sequence[Opportunity],
    stage: Stage,
    policy: Policy,
) -> GateCheck:
    """Run the policy's gate for `stage` on what the source knows about `contact`."""
    facts, unknown = facts_for(contact, account, opportunities, policy, stage)
    result = evaluate_gate(facts, stage, policy, reason="audit")
    missing = tuple(m.message for m in result.missing if not m.requirement.startswith(_IGNORED))
    return GateCheck(stage=stage.name, missing=missing, unchecked=tuple(unknown))


def prospect_stages(policy: Policy) -> tuple[Stage, ...]:
    """The main stages that mean prospect, in order (SQL, opportunity in Lead-First)."""
    return tuple(s for s in policy.main_stages if s.meaning is Meaning.PROSPECT)


def lead_stages(policy: Policy) -> tuple[Stage, ...]:
    """The main stages that mean lead, in order (lead, MQL, SAL in Lead-First)."""
    return tuple(s for s in policy.main_stages if s.meaning is Meaning.LEAD)


def supported_lead_label(
    contact: AuditContact,
    account: AuditAccount | None,
    opportunities: Sequence[Opportunity],
    policy: Policy,
) -> str:
    """The furthest lead stage whose gates, taken in order, the record passes (the first always)."""
    stages = lead_stages(policy)
    if not stages:
        return policy.first_stage.name
    best = stages[0].name
    for stage in stages[1:]:
        if not check_gate(contact, account, opportunities, stage, policy).passed:
            break
        best = stage.name
    return best

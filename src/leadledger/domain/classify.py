"""The four-question classifier: lead, prospect or customer, and why."""

from __future__ import annotations

from dataclasses import dataclass

from leadledger.domain.facts import ContactFacts
from leadledger.domain.policy import Policy


@dataclass(frozen=True, slots=True, kw_only=True)
class Answer:
    """One of the four questions, answered with the fact behind it."""

    question: str
    yes: bool
    because: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Classification:
    """The label the evidence supports, the answers behind it, and where the record routes."""

    label: str  # "lead", "prospect" or "customer"
    account_is_customer: bool
    answers: tuple[Answer, ...]
    route_to: str | None = None


def classify(facts: ContactFacts, policy: Policy) -> Classification:
    """Answer the four questions in order; the first 'no' among 1–3 keeps the record a lead."""
    fit_ok = facts.fit >= policy.scoring.fit_minimum
    need = next((f for f in policy.need_fields if f in facts.evidence), None)
    committee_ev = next((f for f in policy.committee_fields if f in facts.evidence), None)
    roles = [r.role for o in facts.opportunities for r in o.roles if r.contact_id == facts.contact.id]
    committee_ok = committee_ev is not None or bool(roles)
    won = facts.won_opportunities
    customer = facts.account_is_customer
    answers = (
        Answer(
            question="ICP fit confirmed?",
            yes=fit_ok,
            because=f"fit {facts.fit:g} vs minimum {policy.scoring.fit_minimum:g}",
        ),
        Answer(
            question="Need confirmed?",
            yes=need is not None,
            because=f"evidence '{need}' on record" if need else "no need/pain evidence",
        ),
        Answer(
            question="Buying-committee access confirmed?",
            yes=committee_ok,
            because=(
                f"evidence '{committee_ev}' on record"
                if committee_ev
                else f"committee role: {', '.join(roles)}"
                if roles
                else "no authority/committee evidence"
            ),
        ),
        Answer(
            question="Signed and booked?",
            yes=customer,
            because=(
                f"{len(won)} signed-and-booked opportunit{'y' if len(won) == 1 else 'ies'} on the account"
                if customer
                else "account churned after its last booking"
                if won
                else "no signed-and-booked opportunity"
            ),
        ),
    )
    if customer:
        owner = facts.account.owner if facts.account else None
        route = owner if policy.edge_cases.customer_contacts_route_to_owner else None
        return Classification(label="customer", account_is_customer=True, answers=answers, route_to=route)
    label = "prospect" if fit_ok and need and committee_ok else "lead"
    return Classification(label=label, account_is_customer=False, answers=answers)

"""The forecast: open pipeline weighted by stage, by category and close month; won is signed AND booked.

A verbal yes, an LOI, a signed-but-unbooked contract or a proposal out for signature is at most
`commit`: only a deal with both a signed and a booked date is counted as won. Each open deal is
also checked against the qualification evidence its contacts' stage requires, so the forecast
says how much of itself rests on deals nobody has qualified.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from leadledger.domain.facts import ContactFacts
from leadledger.domain.funnel import month_of
from leadledger.domain.gates import evaluate_gate
from leadledger.domain.pipeline import Deal
from leadledger.domain.policy import ForecastCategory, Policy
from leadledger.domain.records import Account, Contact, Evidence

WON = "won"
CATEGORY_ORDER = (WON, "commit", "best_case", "pipeline", "omitted")
NO_DATE = "no date"
EVIDENCE_REQUIREMENTS = ("evidence:", "enterprise:")


def opportunity_stage(policy: Policy) -> str | None:
    """The contact stage that stands for an open deal (its gate asks for an open opportunity)."""
    return next((s.name for s in policy.main_stages if s.gate.open_opportunity), None)


def missing_evidence(deal: Deal, policy: Policy) -> tuple[str, ...]:
    """Qualification fields a deal's contacts lack for the stages up to the opportunity stage.

    The gates decide: every main stage up to the opportunity stage is evaluated over the evidence
    confirmed on the deal's contacts, and only the evidence requirements are kept (fit, score and
    activity are the funnel's business, not the forecast's).
    """
    target = opportunity_stage(policy)
    limit = policy.order(target) if target else len(policy.main_stages) - 1
    o = deal.opportunity
    facts = ContactFacts(
        contact=Contact(id=0, email="", account_id=o.account_id),
        account=Account(id=o.account_id, name="", domain="", employees=deal.employees),
        evidence={
            f: Evidence(contact_id=0, field=f, value="", confirmed_by="", confirmed_at=deal.created_at)
            for f in deal.evidence
        },
    )
    missing: list[str] = []
    for stage in policy.main_stages[: (limit or 0) + 1]:
        for m in evaluate_gate(facts, stage, policy).missing:
            prefix, _, fields = m.requirement.partition(":")
            if f"{prefix}:" in EVIDENCE_REQUIREMENTS:
                missing += [f for f in fields.split(",") if f not in missing]
    return tuple(missing)


@dataclass(frozen=True, slots=True, kw_only=True)
class ForecastLine:
    """Deals of one category closing (or booked, for won) in one month."""

    category: str
    month: str
    deals: int
    amount: float
    weighted: float
    amount_lacking_evidence: float


@dataclass(frozen=True, slots=True, kw_only=True)
class ForecastReport:
    """The weighted forecast, the won total beside it, and how much of it lacks evidence."""

    lines: tuple[ForecastLine, ...]
    open_deals: int
    open_amount: float
    weighted_amount: float  # `omitted` excluded
    won_deals: int
    won_amount: float
    deals_lacking_evidence: int
    amount_lacking_evidence: float
    weighted_lacking_evidence: float
    missing_fields: tuple[tuple[str, int], ...]  # field → open deals without it

    def category_total(self, category: str) -> float:
        """Unweighted amount of one category."""
        return sum(line.amount for line in self.lines if line.category == category)


def forecast(deals: Iterable[Deal], policy: Policy, *, won_since: datetime | None = None) -> ForecastReport:
    """Weight every open deal by its stage; count as won only deals booked since `won_since`."""
    cells: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0, 0.0, 0.0, 0.0])
    missing_counts: dict[str, int] = defaultdict(int)
    # What a deal lacks depends only on its evidence fields and its tier: many deals share the answer.
    known: dict[tuple[frozenset[str], bool], tuple[str, ...]] = {}
    open_deals = lacking = won_deals = 0
    open_amount = weighted_total = won_amount = lacking_amount = lacking_weighted = 0.0
    for d in deals:
        o = d.opportunity
        amount = o.amount or 0.0
        if o.is_won:
            assert o.booked_at is not None
            if won_since is None or o.booked_at >= won_since:
                cell = cells[WON, month_of(o.booked_at)]
                cell[0] += 1
                cell[1] += amount
                cell[2] += amount
                won_deals += 1
                won_amount += amount
            continue
        if not o.is_open:
            continue
        weight = policy.forecast.weight(o.stage, signed=o.signed_at is not None)
        counted = weight.category is not ForecastCategory.OMITTED
        weighted = amount * weight.probability if counted else 0.0
        tier = (d.evidence, d.is_enterprise(policy))
        absent = known[tier] if tier in known else known.setdefault(tier, missing_evidence(d, policy))
        cell = cells[weight.category.value, month_of(o.expected_close) if o.expected_close else NO_DATE]
        cell[0] += 1
        cell[1] += amount
        cell[2] += weighted
        open_deals += 1
        open_amount += amount
        weighted_total += weighted
        if absent:
            cell[3] += amount
            lacking += 1
            lacking_amount += amount
            lacking_weighted += weighted
            for f in absent:
                missing_counts[f] += 1
    lines = tuple(
        ForecastLine(
            category=cat,
            month=month,
            deals=int(c[0]),
            amount=c[1],
            weighted=c[2],
            amount_lacking_evidence=c[3],
        )
        for (cat, month), c in sorted(
            cells.items(), key=lambda kv: (CATEGORY_ORDER.index(kv[0][0]), kv[0][1])
        )
    )
    return ForecastReport(
        lines=lines,
        open_deals=open_deals,
        open_amount=open_amount,
        weighted_amount=weighted_total,
        won_deals=won_deals,
        won_amount=won_amount,
        deals_lacking_evidence=lacking,
        amount_lacking_evidence=lacking_amount,
        weighted_lacking_evidence=lacking_weighted,
        missing_fields=tuple(sorted(missing_counts.items(), key=lambda kv: (-kv[1], kv[0]))),
    )

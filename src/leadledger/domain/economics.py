"""Money in and out: cost and conversion by source, CAC, CLV and CLV:CAC against the 3:1 line."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from leadledger.domain.funnel import FunnelCounts, first_prospect_stage
from leadledger.domain.pipeline import Deal
from leadledger.domain.policy import Economics, Policy
from leadledger.domain.stats import ratio

HEALTHY_CLV_TO_CAC = 3.0
UNKNOWN_SOURCE = "(none)"


@dataclass(frozen=True, slots=True, kw_only=True)
class Spend:
    """Money spent on one source in one month (YYYY-MM)."""

    source: str
    month: str
    amount: float


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceRow:
    """One source's leads, how many became prospects and customers, and what they cost."""

    source: str
    leads: int
    prospects: int
    customers: int  # contacts that reached the customer stage
    customer_accounts: int  # distinct accounts of those contacts
    lead_to_prospect: float | None
    lead_to_customer: float | None
    spend: float
    cost_per_lead: float | None
    cac: float | None  # spend ÷ customer accounts


def by_source(
    counts: FunnelCounts,
    policy: Policy,
    spend: Iterable[Spend],
    customer_accounts: Mapping[str, int],
) -> list[SourceRow]:
    """Volume, conversion and cost per source (largest first); spend of sources without leads too."""
    order = {s.name: i for i, s in enumerate(policy.main_stages)}
    prospect = first_prospect_stage(policy)
    customer = policy.customer_stage
    p_idx = order[prospect] if prospect else len(order)
    c_idx = order[customer.name] if customer else len(order)
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for j in counts.journeys:
        row = tally[j.source or UNKNOWN_SOURCE]
        furthest = order.get(j.furthest_stage or "", -1)
        row[0] += j.contacts
        row[1] += j.contacts if furthest >= p_idx else 0
        row[2] += j.contacts if furthest >= c_idx else 0
    money: dict[str, float] = defaultdict(float)
    for s in spend:
        money[s.source] += s.amount
    out = []
    for source in set(tally) | set(money):
        leads, prospects, customers = tally.get(source, [0, 0, 0])
        accounts = customer_accounts.get(source, 0)
        cost = money.get(source, 0.0)
        out.append(
            SourceRow(
                source=source,
                leads=leads,
                prospects=prospects,
                customers=customers,
                customer_accounts=accounts,
                lead_to_prospect=ratio(prospects, leads),
                lead_to_customer=ratio(customers, leads),
                spend=cost,
                cost_per_lead=ratio(cost, leads) if source in money else None,
                cac=ratio(cost, accounts) if source in money else None,
            )
        )
    return sorted(out, key=lambda r: (-r.leads, r.source))


@dataclass(frozen=True, slots=True, kw_only=True)
class RevenueBase:
    """Booked revenue and customer accounts over the report window."""

    booked_revenue: float  # signed-and-booked amounts booked in the window
    paying_accounts: int  # accounts with a booking in the window
    new_customer_accounts: int  # accounts whose first booking is in the window
    customer_accounts: int  # accounts with a booking before the window's end
    churned_accounts: int  # customer accounts that churned in the window
    years: float  # length of the window


@dataclass(frozen=True, slots=True, kw_only=True)
class Bookings:
    """Signed-and-booked deals as the revenue base reads them, pre-counted (the store counts them in SQL)."""

    amounts: tuple[float, ...]  # amount (or 0) of each deal booked in the window, in deal id order
    paying_accounts: int  # accounts with a booking in the window
    new_customer_accounts: int  # accounts whose first booking is in the window
    customer_accounts: int  # accounts with a booking before the window's end
    churned_accounts: int  # accounts that churned in the window after their first booking


def bookings(
    deals: Iterable[Deal], churned: Mapping[int, datetime], start: datetime, end: datetime
) -> Bookings:
    """The reference count of bookings in [start, end), one deal at a time."""
    first_booking: dict[int, datetime] = {}
    amounts: list[float] = []
    paying: set[int] = set()
    for d in sorted(deals, key=lambda d: d.opportunity.id):
        o = d.opportunity
        if not o.is_won or o.booked_at is None:
            continue
        prior = first_booking.get(o.account_id)
        first_booking[o.account_id] = o.booked_at if prior is None else min(prior, o.booked_at)
        if start <= o.booked_at < end:
            amounts.append(o.amount or 0.0)
            paying.add(o.account_id)
    return Bookings(
        amounts=tuple(amounts),
        paying_accounts=len(paying),
        new_customer_accounts=sum(1 for at in first_booking.values() if start <= at < end),
        customer_accounts=sum(1 for at in first_booking.values() if at < end),
        churned_accounts=sum(
            1
            for a, at in churned.items()
            if a in first_booking and first_booking[a] < at and start <= at < end
        ),
    )


def revenue_base_from(booked: Bookings, start: datetime, end: datetime) -> RevenueBase:
    """The revenue base of [start, end) from pre-counted bookings."""
    revenue = 0.0
    for amount in booked.amounts:  # one by one, in deal order: the float sum of the reference
        revenue += amount
    return RevenueBase(
        booked_revenue=revenue,
        paying_accounts=booked.paying_accounts,
        new_customer_accounts=booked.new_customer_accounts,
        customer_accounts=booked.customer_accounts,
        churned_accounts=booked.churned_accounts,
        years=(end - start).total_seconds() / (365.25 * 86400),
    )


def revenue_base(
    deals: Iterable[Deal], churned: Mapping[int, datetime], start: datetime, end: datetime
) -> RevenueBase:
    """Bookings and customer accounts in [start, end) from signed-and-booked deals only."""
    return revenue_base_from(bookings(deals, churned, start, end), start, end)


@dataclass(frozen=True, slots=True, kw_only=True)
class UnitEconomics:
    """CAC, CLV and their ratio (healthy at 3:1 or better)."""

    spend: float
    new_customers: int
    cac: float | None
    annual_revenue_per_account: float | None
    gross_margin: float
    annual_churn: float | None
    churn_measured: bool
    clv: float | None
    clv_to_cac: float | None
    healthy: bool | None  # clv_to_cac ≥ 3


def unit_economics(
    base: RevenueBase,
    spend: float,
    economics: Economics,
    *,
    gross_margin: float | None = None,
    annual_churn: float | None = None,
) -> UnitEconomics:
    """CLV = annual revenue per account × gross margin ÷ annual churn; CAC = spend ÷ new customers.

    Deal amounts are taken as annual contract values. Churn comes from the flag, else the policy,
    else the window's churned ÷ customer accounts, annualised.
    """
    margin = gross_margin if gross_margin is not None else economics.gross_margin
    churn = annual_churn if annual_churn is not None else economics.annual_churn
    measured = churn is None
    if churn is None:
        rate = ratio(base.churned_accounts, base.customer_accounts)
        churn = rate / base.years if rate is not None and base.years > 0 else None
    arpa = ratio(base.booked_revenue, base.paying_accounts)
    clv = arpa * margin / churn if arpa is not None and churn else None
    cac = ratio(spend, base.new_customer_accounts) if spend else None
    clv_to_cac = clv / cac if clv is not None and cac else None
    return UnitEconomics(
        spend=spend,
        new_customers=base.new_customer_accounts,
        cac=cac,
        annual_revenue_per_account=arpa,
        gross_margin=margin,
        annual_churn=churn,
        churn_measured=measured,
        clv=clv,
        clv_to_cac=clv_to_cac,
        healthy=None if clv_to_cac is None else clv_to_cac >= HEALTHY_CLV_TO_CAC,
    )

"""Deals: win rate, sales-cycle length, pipeline velocity and buying-committee coverage."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from leadledger.domain.policy import Policy
from leadledger.domain.records import Opportunity
from leadledger.domain.stats import mean, quantile, ratio


@dataclass(frozen=True, slots=True, kw_only=True)
class Deal:
    """An opportunity with what the reports need beside it."""

    opportunity: Opportunity  # `roles` holds the committee on record
    created_at: datetime
    employees: int | None = None  # of the account, for the enterprise tier
    evidence: frozenset[str] = frozenset()  # qualification fields confirmed on the deal's contacts

    def is_enterprise(self, policy: Policy) -> bool:
        """Whether the enterprise tier's rules apply to this deal's account."""
        limit = policy.enterprise_min_employees
        return limit is not None and self.employees is not None and self.employees >= limit

    @property
    def cycle_days(self) -> float | None:
        """Days from creation to booking, for a won deal."""
        o = self.opportunity
        if not o.is_won or o.booked_at is None:
            return None
        return (o.booked_at - self.created_at).total_seconds() / 86400


@dataclass(frozen=True, slots=True, kw_only=True)
class CommitteeCoverage:
    """Open deals with every required committee role on record, and which roles are missing most."""

    open_deals: int
    covered: int
    amount_not_covered: float
    missing_roles: tuple[tuple[str, int], ...]  # role → open deals without it, most often missing first


def required_roles(deal: Deal, policy: Policy) -> tuple[str, ...]:
    """The roles the policy requires on this deal (the enterprise list for enterprise accounts)."""
    bc = policy.buying_committee
    return bc.enterprise_roles if deal.is_enterprise(policy) else bc.required_roles


@dataclass(frozen=True, slots=True, kw_only=True)
class CommitteeCounts:
    """Open deals against the committee they require, pre-counted (the store counts them set-based)."""

    open_deals: int
    covered: int
    missing: tuple[tuple[str, int], ...]  # role → open deals without it (any order; zeros allowed)
    uncovered_amounts: tuple[float, ...]  # amount (or 0) of each open deal lacking a role, in deal id order


def committee_counts(deals: Iterable[Deal], policy: Policy) -> CommitteeCounts:
    """The reference count of open deals' committees, one deal at a time."""
    missing: Counter[str] = Counter()
    open_deals = covered = 0
    uncovered: list[float] = []
    for d in sorted(deals, key=lambda d: d.opportunity.id):
        if not d.opportunity.is_open:
            continue
        open_deals += 1
        present = {r.role for r in d.opportunity.roles}
        absent = [r for r in required_roles(d, policy) if r not in present]
        missing.update(absent)
        if absent:
            uncovered.append(d.opportunity.amount or 0.0)
        else:
            covered += 1
    return CommitteeCounts(
        open_deals=open_deals,
        covered=covered,
        missing=tuple(missing.items()),
        uncovered_amounts=tuple(uncovered),
    )


def committee_coverage_from(counts: CommitteeCounts) -> CommitteeCoverage:
    """Coverage from pre-counted open deals: the roles missing most first."""
    amount_not_covered = 0.0
    for amount in counts.uncovered_amounts:  # one by one, in deal order: the float sum of the reference
        amount_not_covered += amount
    return CommitteeCoverage(
        open_deals=counts.open_deals,
        covered=counts.covered,
        amount_not_covered=amount_not_covered,
        missing_roles=tuple(sorted(((r, n) for r, n in counts.missing if n), key=lambda kv: (-kv[1], kv[0]))),
    )


def committee_coverage(deals: Iterable[Deal], policy: Policy) -> CommitteeCoverage:
    """Roles present on open deals vs the roles the policy requires."""
    return committee_coverage_from(committee_counts(deals, policy))


@dataclass(frozen=True, slots=True, kw_only=True)
class PipelineHealth:
    """Win rate, deal size, cycle length and velocity.

    Win rate, deal size and cycle length are over the deals created in the report window (a lost
    deal has no close date to place it by); velocity applies them to the deals open now.
    """

    deals_created: int
    won: int
    lost: int
    still_open: int
    win_rate: float | None  # won / (won + lost)
    average_won_amount: float | None
    cycle_median_days: float | None
    cycle_mean_days: float | None
    open_deals_now: int
    open_amount_now: float
    velocity_per_day: float | None  # open deals × win rate × average deal ÷ cycle days
    expansion_won: int
    expansion_amount_won: float


@dataclass(frozen=True, slots=True, kw_only=True)
class PipelineCounts:
    """Deals as pipeline health reads them, pre-counted (the store counts them set-based).

    The cohort is the deals created in the window. Amounts (None counted as 0) are listed in deal id
    order, so sums over them are the reference's to the last bit.
    """

    deals_created: int
    won_amounts: tuple[float, ...]  # the cohort's won deals
    won_cycle_days: tuple[float, ...]  # the same deals' days from creation to booking
    expansion_amounts: tuple[float, ...]  # the cohort's won expansions
    lost: int  # the cohort's lost deals (never won)
    still_open: int  # the cohort's open deals
    open_amounts: tuple[float, ...]  # every deal open now, whenever it was created


def pipeline_counts(
    deals: Iterable[Deal], *, start: datetime | None = None, end: datetime | None = None
) -> PipelineCounts:
    """The reference count of `deals`, one deal at a time (won = signed AND booked only)."""
    all_deals = sorted(deals, key=lambda d: d.opportunity.id)
    cohort = [
        d
        for d in all_deals
        if (start is None or d.created_at >= start) and (end is None or d.created_at < end)
    ]
    won = [d for d in cohort if d.opportunity.is_won]
    return PipelineCounts(
        deals_created=len(cohort),
        won_amounts=tuple(d.opportunity.amount or 0.0 for d in won),
        won_cycle_days=tuple(c for d in won if (c := d.cycle_days) is not None),
        expansion_amounts=tuple(
            d.opportunity.amount or 0.0 for d in won if d.opportunity.type == "expansion"
        ),
        lost=sum(1 for d in cohort if not d.opportunity.is_won and d.opportunity.lost_reason is not None),
        still_open=sum(1 for d in cohort if d.opportunity.is_open),
        open_amounts=tuple(d.opportunity.amount or 0.0 for d in all_deals if d.opportunity.is_open),
    )


def pipeline_health_from(counts: PipelineCounts) -> PipelineHealth:
    """Win rate, deal size, cycle length and velocity from pre-counted deals."""
    won = len(counts.won_amounts)
    win_rate = ratio(won, won + counts.lost)
    avg = mean((a, 1) for a in counts.won_amounts)
    cycles = [(c, 1) for c in counts.won_cycle_days]
    cycle_mean = mean(cycles)
    open_now = len(counts.open_amounts)
    velocity = (
        open_now * win_rate * avg / cycle_mean
        if win_rate is not None and avg is not None and cycle_mean
        else None
    )
    return PipelineHealth(
        deals_created=counts.deals_created,
        won=won,
        lost=counts.lost,
        still_open=counts.still_open,
        win_rate=win_rate,
        average_won_amount=avg,
        cycle_median_days=quantile(cycles, 0.5),
        cycle_mean_days=cycle_mean,
        open_deals_now=open_now,
        open_amount_now=sum(counts.open_amounts),
        velocity_per_day=velocity,
        expansion_won=len(counts.expansion_amounts),
        expansion_amount_won=sum(counts.expansion_amounts),
    )


def pipeline_health(
    deals: Iterable[Deal], *, start: datetime | None = None, end: datetime | None = None
) -> PipelineHealth:
    """Pipeline health over `deals` (won = signed AND booked only)."""
    return pipeline_health_from(pipeline_counts(deals, start=start, end=end))

"""The funnel: how far each contact got, and stage-to-stage conversion by cohort and by period.

A contact has *reached* a main stage when the ledger shows it entering that stage or any later
one: skipped stages count as passed through. Reaching is dated by the first such entry, so a
recycled lead (MQL → nurture → MQL) counts once, at its first MQL, and a backward move never
erases how far a record got. The current stage and the furthest stage are kept side by side.

The reference definition works on one contact's ledger (`journey_of`, `count_journeys`); the
store computes the same counts set-based (`store.reporting`), and the reports below only ever see
the counts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from leadledger.domain.policy import Meaning, Policy
from leadledger.domain.records import Contact, StageChange
from leadledger.domain.stats import quantile, ratio

ALL = "all"
BENCHMARKS = {"lead→prospect": 0.20, "prospect→customer": 0.25}
FAR_OFF = 0.5  # a rate beyond ±50 % of its benchmark is flagged


def month_of(at: datetime) -> str:
    """The calendar month of a timestamp, as YYYY-MM."""
    return f"{at.year:04d}-{at.month:02d}"


# ------------------------------------------------------------------ one contact (the reference)


@dataclass(frozen=True, slots=True, kw_only=True)
class Journey:
    """How far one contact got: when it first reached each main stage (or a later one)."""

    contact_id: int
    created_at: datetime
    source: str | None
    current_stage: str
    reached_at: tuple[datetime | None, ...]  # indexed by the policy's main-stage order

    @property
    def furthest(self) -> int | None:
        """Order of the furthest main stage ever reached."""
        reached = [k for k, at in enumerate(self.reached_at) if at is not None]
        return max(reached) if reached else None


def journey_of(contact: Contact, changes: Iterable[StageChange], policy: Policy) -> Journey:
    """A contact's journey from its ledger entries (side states and backward moves keep progress)."""
    orders = [(order, c.at) for c in changes if (order := policy.order(c.to_stage)) is not None]
    reached = tuple(
        min((at for order, at in orders if order >= k), default=None) for k in range(len(policy.main_stages))
    )
    created = contact.created_at or min((at for _, at in orders), default=None)
    if created is None:
        raise ValueError(f"contact {contact.id} has neither a creation date nor a ledger entry")
    return Journey(
        contact_id=contact.id,
        created_at=created,
        source=contact.source,
        current_stage=contact.stage,
        reached_at=reached,
    )


# ------------------------------------------------------------------ the counts the store computes


@dataclass(frozen=True, slots=True, kw_only=True)
class JourneyCount:
    """Contacts created in `cohort` from `source`, now in `current_stage`, furthest at `furthest_stage`."""

    cohort: str
    source: str | None
    current_stage: str
    furthest_stage: str | None
    contacts: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ReachCount:
    """Contacts of `cohort` that first reached `stage` (or a later one) `days` whole days after creation."""

    cohort: str
    stage: str
    days: int
    contacts: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PeriodCount:
    """Contacts whose first reach of `stage` (or a later one) fell in `month`."""

    month: str
    stage: str
    contacts: int


@dataclass(frozen=True, slots=True, kw_only=True)
class FunnelCounts:
    """Everything the funnel reports need, pre-counted."""

    journeys: tuple[JourneyCount, ...]
    reaches: tuple[ReachCount, ...]
    periods: tuple[PeriodCount, ...]


def _in(at: datetime, start: datetime | None, end: datetime | None) -> bool:
    return (start is None or at >= start) and (end is None or at < end)


def count_journeys(
    journeys: Iterable[Journey],
    policy: Policy,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> FunnelCounts:
    """Count journeys: cohorts created in [start, end), periods by reach time in [start, end)."""
    names = [s.name for s in policy.main_stages]
    cells: dict[tuple[str, str | None, str, str | None], int] = defaultdict(int)
    reach: dict[tuple[str, str, int], int] = defaultdict(int)
    period: dict[tuple[str, str], int] = defaultdict(int)
    for j in journeys:
        cohort = month_of(j.created_at)
        for k, at in enumerate(j.reached_at):
            if at is not None and _in(at, start, end):
                period[month_of(at), names[k]] += 1
        if not _in(j.created_at, start, end):
            continue
        furthest = j.furthest
        cells[cohort, j.source, j.current_stage, None if furthest is None else names[furthest]] += 1
        for k, at in enumerate(j.reached_at):
            if at is not None:
                days = max(0, int((at - j.created_at).total_seconds() // 86400))
                reach[cohort, names[k], days] += 1
    return FunnelCounts(
        journeys=tuple(
            JourneyCount(cohort=c, source=s, current_stage=cur, furthest_stage=f, contacts=n)
            for (c, s, cur, f), n in cells.items()
        ),
        reaches=tuple(ReachCount(cohort=c, stage=s, days=d, contacts=n) for (c, s, d), n in reach.items()),
        periods=tuple(PeriodCount(month=m, stage=s, contacts=n) for (m, s), n in period.items()),
    )


# ------------------------------------------------------------------ reports over the counts


@dataclass(frozen=True, slots=True, kw_only=True)
class StageReach:
    """How many reached a stage, the rate from the stage before, and how long it took."""

    stage: str
    label: str
    contacts: int
    rate_from_previous: float | None
    rate_from_entry: float | None
    median_days: float | None = None
    p90_days: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CohortFunnel:
    """Of the contacts created in `cohort` (or `all`), how many ever reached each stage, and when."""

    cohort: str
    size: int
    stages: tuple[StageReach, ...]

    def reached(self, stage: str) -> int:
        """Contacts that reached `stage` (0 if the policy has no such stage)."""
        return next((s.contacts for s in self.stages if s.stage == stage), 0)


@dataclass(frozen=True, slots=True, kw_only=True)
class PeriodFunnel:
    """Contacts first reaching each stage during `month`; rates are flow ratios within the month."""

    month: str
    stages: tuple[StageReach, ...]


def _stage_index(policy: Policy) -> dict[str, int]:
    return {s.name: i for i, s in enumerate(policy.main_stages)}


def _reaches(
    counts: Sequence[int], policy: Policy, days: Sequence[list[tuple[float, int]]] | None = None
) -> tuple[StageReach, ...]:
    out = []
    for k, stage in enumerate(policy.main_stages):
        out.append(
            StageReach(
                stage=stage.name,
                label=stage.label,
                contacts=counts[k],
                rate_from_previous=ratio(counts[k], counts[k - 1]) if k else None,
                rate_from_entry=ratio(counts[k], counts[0]) if k else None,
                median_days=quantile(days[k], 0.5) if days else None,
                p90_days=quantile(days[k], 0.9) if days else None,
            )
        )
    return tuple(out)


def cohort_funnels(counts: FunnelCounts, policy: Policy) -> list[CohortFunnel]:
    """One funnel per creation month, then the total (`all`)."""
    index = _stage_index(policy)
    n = len(index)
    sizes: dict[str, int] = defaultdict(int)
    at_least: dict[str, list[int]] = defaultdict(lambda: [0] * n)
    for j in counts.journeys:
        sizes[j.cohort] += j.contacts
        furthest = index.get(j.furthest_stage or "", -1)
        for k in range(furthest + 1):
            at_least[j.cohort][k] += j.contacts
    days: dict[str, list[list[tuple[float, int]]]] = defaultdict(lambda: [[] for _ in range(n)])
    for r in counts.reaches:
        if r.stage in index:
            days[r.cohort][index[r.stage]].append((float(r.days), r.contacts))
    out = [
        CohortFunnel(cohort=c, size=sizes[c], stages=_reaches(at_least[c], policy, days[c]))
        for c in sorted(sizes)
    ]
    total = [sum(at_least[c][k] for c in sizes) for k in range(n)]
    total_days = [[p for c in sizes for p in days[c][k]] for k in range(n)]
    out.append(CohortFunnel(cohort=ALL, size=sum(sizes.values()), stages=_reaches(total, policy, total_days)))
    return out


def period_funnels(counts: FunnelCounts, policy: Policy) -> list[PeriodFunnel]:
    """One row per month of first reaches: how many entered each stage that month."""
    index = _stage_index(policy)
    per: dict[str, list[int]] = defaultdict(lambda: [0] * len(index))
    for p in counts.periods:
        if p.stage in index:
            per[p.month][index[p.stage]] += p.contacts
    return [PeriodFunnel(month=m, stages=_reaches(per[m], policy)) for m in sorted(per)]


@dataclass(frozen=True, slots=True, kw_only=True)
class StageCount:
    """Contacts currently in a stage, and contacts whose furthest stage it is."""

    stage: str
    current: int
    furthest: int


def stage_distribution(counts: FunnelCounts, policy: Policy) -> list[StageCount]:
    """Current stage next to furthest stage reached, for every stage (side states too)."""
    current: dict[str, int] = defaultdict(int)
    furthest: dict[str, int] = defaultdict(int)
    for j in counts.journeys:
        current[j.current_stage] += j.contacts
        furthest[j.furthest_stage or "—"] += j.contacts
    names = [s.name for s in policy.stages]
    names += sorted((set(current) | set(furthest)) - set(names))
    return [
        StageCount(stage=s, current=current.get(s, 0), furthest=furthest.get(s, 0))
        for s in names
        if current.get(s) or furthest.get(s)
    ]


def first_prospect_stage(policy: Policy) -> str | None:
    """The first main stage that means prospect (SQL in Lead-First)."""
    return next((s.name for s in policy.main_stages if s.meaning is Meaning.PROSPECT), None)


@dataclass(frozen=True, slots=True, kw_only=True)
class BenchmarkCheck:
    """A conversion rate next to its industry benchmark, flagged when far off."""

    name: str
    rate: float | None
    benchmark: float
    flag: str  # "in line", "far below", "far above", "no data"


def _check(name: str, rate: float | None) -> BenchmarkCheck:
    bench = BENCHMARKS[name]
    if rate is None:
        flag = "no data"
    elif rate < bench * (1 - FAR_OFF):
        flag = "far below"
    elif rate > bench * (1 + FAR_OFF):
        flag = "far above"
    else:
        flag = "in line"
    return BenchmarkCheck(name=name, rate=rate, benchmark=bench, flag=flag)


def benchmark_checks(total: CohortFunnel, policy: Policy) -> list[BenchmarkCheck]:
    """Lead→prospect against ~20 % and prospect→customer against ~25 %."""
    prospect = first_prospect_stage(policy)
    customer = policy.customer_stage
    prospects = total.reached(prospect) if prospect else 0
    customers = total.reached(customer.name) if customer else 0
    return [
        _check("lead→prospect", ratio(prospects, total.size)),
        _check("prospect→customer", ratio(customers, prospects)),
    ]

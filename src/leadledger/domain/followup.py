"""How sales handles what marketing hands over: time in stage, first-touch SLA, rejected MQLs."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise

from leadledger.domain.policy import Meaning, Policy
from leadledger.domain.records import StageChange
from leadledger.domain.stats import quantile, ratio

HOURLY_UP_TO = 72  # stays shorter than this are counted by the hour, longer ones by the day


def stay_bucket(hours: float) -> float:
    """The resolution time in stage is counted at: whole hours up to 72 h, then whole days."""
    return float(math.floor(hours)) if hours < HOURLY_UP_TO else float(math.floor(hours / 24) * 24)


# ------------------------------------------------------------------ time in stage


@dataclass(frozen=True, slots=True, kw_only=True)
class StayCount:
    """Completed stays in `stage` that lasted `hours` (bucketed by `stay_bucket`)."""

    stage: str
    hours: float
    stays: int


def completed_stays(changes: Sequence[StageChange]) -> list[tuple[str, float]]:
    """One contact's completed stays (stage, hours): each entry lasts until the next entry."""
    ordered = sorted(changes, key=lambda c: c.at)
    return [(c.to_stage, (nxt.at - c.at).total_seconds() / 3600) for c, nxt in pairwise(ordered)]


@dataclass(frozen=True, slots=True, kw_only=True)
class StageTime:
    """How long records stay in a stage before they move on (completed stays only)."""

    stage: str
    stays: int
    median_days: float | None
    p90_days: float | None


def time_in_stage(stays: Iterable[StayCount], policy: Policy) -> list[StageTime]:
    """Median and p90 days in each stage, in policy order (side states included)."""
    per: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for s in stays:
        per[s.stage].append((s.hours / 24, s.stays))
    known = [s.name for s in policy.stages]
    names = [n for n in known if n in per] + sorted(set(per) - set(known))
    return [
        StageTime(
            stage=n,
            stays=sum(c for _, c in per[n]),
            median_days=quantile(per[n], 0.5),
            p90_days=quantile(per[n], 0.9),
        )
        for n in names
    ]


# ------------------------------------------------------------------ first-touch SLA


@dataclass(frozen=True, slots=True, kw_only=True)
class SlaCount:
    """Entries into an SLA stage: hours (rounded up) to the first two-way touch, or None if none yet."""

    stage: str
    touch_hours: int | None
    overdue: bool  # untouched and past the SLA at report time
    entries: int


def sla_count(
    stage: str, entered_at: datetime, touched_at: datetime | None, now: datetime, sla_hours: float
) -> SlaCount:
    """One entry's SLA cell (the reference for the set-based count)."""
    if touched_at is None:
        overdue = (now - entered_at).total_seconds() / 3600 > sla_hours
        return SlaCount(stage=stage, touch_hours=None, overdue=overdue, entries=1)
    hours = math.ceil((touched_at - entered_at).total_seconds() / 3600)
    return SlaCount(stage=stage, touch_hours=hours, overdue=False, entries=1)


@dataclass(frozen=True, slots=True, kw_only=True)
class SlaCompliance:
    """First-touch SLA of one stage: met, late, missed (never touched, past due) and pending."""

    stage: str
    sla_hours: float
    entries: int
    met: int
    late: int
    missed: int
    pending: int
    compliance: float | None  # met / (met + late + missed)
    median_hours_to_touch: float | None


def sla_compliance(counts: Iterable[SlaCount], policy: Policy) -> list[SlaCompliance]:
    """Compliance per stage that owes a first touch."""
    cells: dict[str, list[SlaCount]] = defaultdict(list)
    for c in counts:
        cells[c.stage].append(c)
    out = []
    for stage in policy.stages:
        if stage.sla_first_touch_hours is None:
            continue
        sla, rows = stage.sla_first_touch_hours, cells.get(stage.name, [])
        met = sum(r.entries for r in rows if r.touch_hours is not None and r.touch_hours <= sla)
        late = sum(r.entries for r in rows if r.touch_hours is not None and r.touch_hours > sla)
        missed = sum(r.entries for r in rows if r.touch_hours is None and r.overdue)
        pending = sum(r.entries for r in rows if r.touch_hours is None and not r.overdue)
        touched = [(float(r.touch_hours), r.entries) for r in rows if r.touch_hours is not None]
        out.append(
            SlaCompliance(
                stage=stage.name,
                sla_hours=sla,
                entries=met + late + missed + pending,
                met=met,
                late=late,
                missed=missed,
                pending=pending,
                compliance=ratio(met, met + late + missed),
                median_hours_to_touch=quantile(touched, 0.5),
            )
        )
    return out


# ------------------------------------------------------------------ rejected MQLs


def rejection_stages(policy: Policy) -> tuple[str, ...]:
    """Stages where sales reviews what marketing qualified: from the MQL stage up to the prospect."""
    promoted = policy.auto_promotion.to_stage if policy.auto_promotion else None
    start = policy.order(promoted) if promoted else None
    if start is None:
        start = next((i for i, s in enumerate(policy.main_stages) if s.gate.score_threshold), None)
    if start is None:
        return ()
    return tuple(s.name for s in policy.main_stages[start:] if s.meaning is Meaning.LEAD)


def is_rejection(change: StageChange, policy: Policy) -> bool:
    """A person sending a marketing-qualified record back or aside (automatic rules are not feedback)."""
    if change.from_stage not in rejection_stages(policy) or change.actor.startswith("rule:"):
        return False
    to_order, from_order = policy.order(change.to_stage), policy.order(change.from_stage or "")
    return to_order is None or (from_order is not None and to_order < from_order)


@dataclass(frozen=True, slots=True, kw_only=True)
class RejectionCount:
    """Rejections with the same from/to stage and reason."""

    from_stage: str
    to_stage: str
    reason: str
    rejections: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RejectionReason:
    """One reason sales gave for rejecting MQLs, with its share of all rejections."""

    reason: str
    rejections: int
    share: float
    to_stages: tuple[str, ...]


def rejected_mql_reasons(counts: Iterable[RejectionCount]) -> list[RejectionReason]:
    """Reasons, most frequent first (the same text in different case counts once)."""
    total: dict[str, int] = defaultdict(int)
    stages: dict[str, set[str]] = defaultdict(set)
    for c in counts:
        key = " ".join(c.reason.lower().split()) or "(no reason given)"
        total[key] += c.rejections
        stages[key].add(c.to_stage)
    grand = sum(total.values())
    return [
        RejectionReason(reason=r, rejections=n, share=n / grand, to_stages=tuple(sorted(stages[r])))
        for r, n in sorted(total.items(), key=lambda kv: (-kv[1], kv[0]))
    ]

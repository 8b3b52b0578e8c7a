"""The funnel's counts for a window: its whole days from the summary, its partial days from the ledger.

A window [start, end) splits into whole UTC days, read from the summary tables, and at most two
partial days (a start or end that is not midnight: `end` is usually now), counted exactly from the
ledger entries and contacts of those hours. The whole days that make up whole calendar months are
read from the month rows (the sums of those days' rows), the others from the day rows. The result
equals `store.reporting`'s counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, Select, Table, func, or_, select, union

from leadledger.domain.followup import StayCount
from leadledger.domain.funnel import FunnelCounts, JourneyCount, PeriodCount, ReachCount
from leadledger.domain.policy import Policy
from leadledger.store import funnel_sql
from leadledger.store.dialect import Dialect, Window
from leadledger.store.funnel_summary import is_fresh, main_stages
from leadledger.store.schema import (
    contacts,
    funnel_journeys,
    funnel_journeys_monthly,
    funnel_periods,
    funnel_periods_monthly,
    funnel_reaches,
    funnel_reaches_monthly,
    funnel_stays,
    funnel_stays_monthly,
    stage_changes,
)

Day = str  # YYYY-MM-DD
Month = str  # YYYY-MM
Range = tuple[str | None, str | None]  # [first, last) of days or months; None: unbounded


def _midnight(at: datetime) -> datetime:
    return datetime.combine(at.astimezone(UTC).date(), time(), UTC)


def split(window: Window) -> tuple[tuple[Day | None, Day | None] | None, list[Window]]:
    """The window's whole days [first, last) (None: no whole day) and its partial pieces."""
    start, end = window
    first = last = None
    if start is not None:
        first = _midnight(start) if start == _midnight(start) else _midnight(start) + timedelta(days=1)
    if end is not None:
        last = _midnight(end)
    if first is not None and last is not None and first >= last:
        return None, [(start, end)] if start is not None and end is not None and start < end else []
    pieces: list[Window] = []
    if start is not None and first is not None and start < first:
        pieces.append((start, first))
    if end is not None and last is not None and last < end:
        pieces.append((last, end))
    days = (first.date().isoformat() if first else None, last.date().isoformat() if last else None)
    return days, pieces


class _Tally:
    """Counts by key, from the summary and from partial days alike (days folded into months)."""

    def __init__(self) -> None:
        self.journeys: Counter[tuple[str, str, str, str]] = Counter()
        self.reaches: Counter[tuple[str, str, int]] = Counter()
        self.periods: Counter[tuple[str, str]] = Counter()
        self.stays: Counter[tuple[str, int]] = Counter()

    def add(self, conn: Connection, parts: Sequence[tuple[Counter[Any], Select[Any]]]) -> None:
        for counter, q in parts:
            for *key, n in conn.execute(q).all():
                counter[tuple(key)] += int(n)

    def counts(self) -> tuple[FunnelCounts, list[StayCount]]:
        return (
            FunnelCounts(
                journeys=tuple(
                    JourneyCount(cohort=c, source=funnel_sql.decode_source(s), current_stage=st,
                                 furthest_stage=f or None, contacts=n)
                    for (c, s, st, f), n in self.journeys.items() if n
                ),
                reaches=tuple(ReachCount(cohort=c, stage=s, days=d, contacts=n)
                              for (c, s, d), n in self.reaches.items() if n),
                periods=tuple(PeriodCount(month=m, stage=s, contacts=n)
                              for (m, s), n in self.periods.items() if n),
            ),
            [StayCount(stage=s, hours=float(h), stays=n) for (s, h), n in self.stays.items() if n],
        )


def _in(col: Any, keys: Range) -> Any:
    lo, hi = keys
    conds = [col >= lo] if lo else []
    return [*conds, col < hi] if hi else conds


def _next_month(month: Month) -> Month | None:
    """The month after `month`, None after December 9999 (no date has it)."""
    year, m = int(month[:4]), int(month[5:7])
    return None if (year, m) == (9999, 12) else f"{year + m // 12:04d}-{m % 12 + 1:02d}"


def by_month(days: tuple[Day | None, Day | None]) -> list[tuple[bool, Range]]:
    """Whole days [first, last) as ordered (by month?, range) pieces: days, whole months, days.

    The whole calendar months among the days are one range of months; the days before and after
    them (a window that starts or ends mid-month) are ranges of days, each only if not empty.
    """
    lo, hi = days
    first: Month | None = None
    if lo is not None:
        first = lo[:7] if lo.endswith("-01") else _next_month(lo[:7])
        if first is None:
            return [(False, days)]
    last = hi[:7] if hi is not None else None
    if first is not None and last is not None and first >= last:
        return [(False, days)]
    pieces: list[tuple[bool, Range]] = []
    if lo is not None and first is not None and lo < f"{first}-01":
        pieces.append((False, (lo, f"{first}-01")))
    pieces.append((True, (first, last)))
    if hi is not None and last is not None and f"{last}-01" < hi:
        pieces.append((False, (f"{last}-01", hi)))
    return pieces


def _days(tally: _Tally, conn: Connection, days: Range) -> None:
    """Whole days from the day rows, folded into months."""
    month = func.substr
    j, r, p, s = funnel_journeys.c, funnel_reaches.c, funnel_periods.c, funnel_stays.c
    jk = (month(j.day, 1, 7), j.source, j.stage, j.furthest)
    rk = (month(r.day, 1, 7), r.stage, r.days)
    pk = (month(p.day, 1, 7), p.stage)
    tally.add(conn, [
        (tally.journeys, select(*jk, func.sum(j.contacts)).where(*_in(j.day, days)).group_by(*jk)),
        (tally.reaches, select(*rk, func.sum(r.contacts)).where(*_in(r.day, days)).group_by(*rk)),
        (tally.periods, select(*pk, func.sum(p.contacts)).where(*_in(p.day, days)).group_by(*pk)),
        (tally.stays, select(s.stage, s.hours, func.sum(s.stays)).where(*_in(s.day, days))
         .group_by(s.stage, s.hours)),
    ])


def _months(tally: _Tally, conn: Connection, months: Range) -> None:
    """Whole months from the month rows (one row per key and month: nothing left to group)."""

    def rows(t: Table) -> Select[Any]:  # month, keys…, count
        return select(*t.c).where(*_in(t.c.month, months))

    s = funnel_stays_monthly.c
    tally.add(conn, [
        (tally.journeys, rows(funnel_journeys_monthly)),
        (tally.reaches, rows(funnel_reaches_monthly)),
        (tally.periods, rows(funnel_periods_monthly)),
        (tally.stays, select(s.stage, s.hours, func.sum(s.stays)).where(*_in(s.month, months))
         .group_by(s.stage, s.hours)),
    ])


def _summary(tally: _Tally, conn: Connection, days: tuple[Day | None, Day | None]) -> None:
    for months, keys in by_month(days):
        (_months if months else _days)(tally, conn, keys)


def _partial(tally: _Tally, conn: Connection, policy: Policy, piece: Window) -> None:
    """Count one partial day exactly from the ledger (contacts created or moved in it).

    Moves are found through the (to_stage, at) index: a first reach is an entry into a main stage,
    and a stay begun in the piece is one the summary already counts under that day and stage.
    """
    sql = Dialect(conn)
    stages = main_stages(policy)
    start = piece[0]
    assert start is not None
    day = start.astimezone(UTC).date().isoformat()
    that_day = select(funnel_stays.c.stage).where(funnel_stays.c.day == day)
    to_stage = stage_changes.c.to_stage
    into = or_(to_stage.in_([s.name for s in policy.stages]), to_stage.in_(that_day))
    ids = union(
        select(contacts.c.id).where(sql.within(contacts.c.created_at, piece)),
        select(stage_changes.c.contact_id).where(into, sql.within(stage_changes.c.at, piece)),
    )
    chosen = select(ids.subquery().c[0])
    j = funnel_sql.journeys(conn, stages, chosen)

    def by_month(q: Select[Any]) -> Select[Any]:
        sub = q.subquery()
        return select(func.substr(sub.c[0], 1, 7), *sub.c[1:])

    tally.add(conn, [
        (tally.journeys, by_month(funnel_sql.journey_rows(conn, j, piece))),
        (tally.reaches, by_month(funnel_sql.reach_rows(conn, j, stages, piece))),
        (tally.periods, by_month(funnel_sql.period_rows(conn, j, stages, piece))),
        (tally.stays, select(*funnel_sql.stay_rows(conn, chosen, piece).subquery().c[1:])),
    ])


def summary_counts(
    conn: Connection, policy: Policy, window: Window
) -> tuple[FunnelCounts, list[StayCount]] | None:
    """Funnel counts and stays for `window`, or None if the summary is stale (read the ledger)."""
    if not is_fresh(conn, policy):
        return None
    days, pieces = split(window)
    tally = _Tally()
    if days is not None:
        _summary(tally, conn, days)
    for piece in pieces:
        _partial(tally, conn, policy, piece)
    return tally.counts()

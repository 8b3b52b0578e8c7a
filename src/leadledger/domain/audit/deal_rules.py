"""Rules about deals: past close date, stale, unowned, single-threaded, won without booking."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from leadledger.domain.audit.context import AuditContext
from leadledger.domain.audit.findings import Finding, finding
from leadledger.domain.audit.records import AuditDeal, DealState
from leadledger.domain.audit.text import day, days_between, deal_name, money

WON_FORECAST = frozenset({"closed", "won"})


def deal_rules(ctx: AuditContext) -> Iterator[Finding]:
    """Every deal-level rule, in one pass over the deals."""
    for d in ctx.snapshot.deals:
        if d.state is DealState.OPEN:
            yield from _past_close(ctx, d)
            yield from _stale(ctx, d)
            yield from _unowned(ctx, d)
            yield from _single_threaded(ctx, d)
        yield from _won_without_booking(ctx, d)


def _related(d: AuditDeal) -> tuple[str, ...]:
    return tuple(dict.fromkeys(c for c, _ in d.contacts))


def _past_close(ctx: AuditContext, d: AuditDeal) -> Iterator[Finding]:
    """LL006: an open deal whose expected close date has passed."""
    if d.expected_close is None or d.expected_close >= ctx.now:
        return
    name = deal_name(d, ctx.accounts.get(d.account or ""))
    late = days_between(d.expected_close, ctx.now)
    owner = f", owner {d.owner}" if d.owner else ""
    yield finding(
        "LL006", record_kind="deal", key=d.key, record=name, label=d.stage, supported_label=None,
        evidence=(f"expected close {day(d.expected_close)}", f"still open in {d.stage}"),
        amount=d.amount, related=_related(d),
        message=f"The {name}{owner} was expected to close on {day(d.expected_close)}, {late} days ago, "
        f"and is still open in {d.stage}: {money(d.amount)} of pipeline that will not close as forecast.",
    )


def _last_touch(ctx: AuditContext, d: AuditDeal) -> datetime | None:
    """The latest of the deal's own activity and its contacts' activity."""
    times = [d.last_activity_at] + [
        ctx.contacts[c].last_activity_at for c, _ in d.contacts if c in ctx.contacts
    ]
    return max((t for t in times if t is not None), default=None)


def _stale(ctx: AuditContext, d: AuditDeal) -> Iterator[Finding]:
    """LL007: an open deal that has neither moved nor been worked for the stale limit."""
    since = d.stage_since or d.created_at
    if since is None:
        return
    limit = ctx.now - timedelta(days=ctx.settings.stale_days)
    touched = _last_touch(ctx, d)
    if since >= limit or (touched is not None and touched >= limit):
        return
    name = deal_name(d, ctx.accounts.get(d.account or ""))
    worked = f"last activity {day(touched)}" if touched else "no activity on record"
    yield finding(
        "LL007", record_kind="deal", key=d.key, record=name, label=d.stage, supported_label=None,
        evidence=(f"in {d.stage} since {day(since)}", worked), amount=d.amount, related=_related(d),
        message=f"The {name} has sat in {d.stage} since {day(since)} ({days_between(since, ctx.now)} days, "
        f"{worked}): a stale deal counted as live pipeline.",
    )


def _unowned(ctx: AuditContext, d: AuditDeal) -> Iterator[Finding]:
    """LL008 on deals: an open deal nobody owns."""
    if d.owner:
        return
    name = deal_name(d, ctx.accounts.get(d.account or ""))
    yield finding(
        "LL008", record_kind="deal", key=d.key, record=name, label=d.stage, supported_label=None,
        evidence=("no deal owner",), amount=d.amount, related=_related(d),
        message=f"The {name} is open in {d.stage} but has no owner: nobody is forecasting or working it.",
    )


def _single_threaded(ctx: AuditContext, d: AuditDeal) -> Iterator[Finding]:
    """LL010: an open enterprise deal that rests on one person."""
    size = d.committee_size
    if size is None or size > 1:
        return
    account = ctx.accounts.get(d.account or "")
    employees = account.employees if account else None
    limit = ctx.policy.enterprise_min_employees
    if employees is not None and limit is not None:
        if employees < limit:
            return
        why = f"{employees:,} employees"
    elif d.amount is not None and d.amount >= ctx.settings.enterprise_deal_amount:
        why = f"{money(d.amount)}, enterprise-sized"
    else:
        return
    name = deal_name(d, account)
    roles = ctx.policy.buying_committee.enterprise_roles
    people = _related(d)
    person = ctx.contacts.get(people[0]) if people else None
    named = (person.name or person.email or person.key) if person else people[0] if people else ""
    who = f"only {named}" if named else "no named contact" if size == 0 else "a single contact"
    yield finding(
        "LL010", record_kind="deal", key=d.key, record=name, label=d.stage, supported_label=None,
        evidence=(why, f"{size} contact(s) on the deal"), amount=d.amount, related=people,
        message=f"The {name} ({why}) involves {who}: the enterprise buying committee "
        f"({', '.join(r.replace('_', ' ') for r in roles)}) is not covered, so one departure can kill it.",
    )


def _won_without_booking(ctx: AuditContext, d: AuditDeal) -> Iterator[Finding]:
    """LL015: a deal reported as won (stage, forecast category or 100 %) without signed AND booked."""
    if d.is_signed_and_booked or d.state is DealState.LOST:
        return
    forecast_won = (d.forecast_category or "").strip().lower() in WON_FORECAST
    sure = d.probability is not None and d.probability >= 100
    if d.state is DealState.WON:
        if not (d.signed_known and d.booked_known):
            return  # the source cannot show a booking: reported as unchecked, not as a finding
        missing = [w for w, v in (("signed", d.signed_at), ("booked", d.booked_at)) if v is None]
        claim = f"reported as won ({d.stage})"
    elif forecast_won or sure:
        missing = ["closed won"]
        flag = d.forecast_category or f"{d.probability:g}%"
        claim = f"forecast as won ({flag}) while still open in {d.stage}"
    else:
        return
    name = deal_name(d, ctx.accounts.get(d.account or ""))
    yield finding(
        "LL015", record_kind="deal", key=d.key, record=name, label=d.stage, supported_label=None,
        evidence=tuple(f"not {m}" for m in missing), amount=d.amount, related=_related(d),
        message=f"The {name} is {claim}, but it is not {' and '.join(missing)}: "
        "a verbal yes or a contract out for signature is not won revenue.",
    )

"""Rules about a contact's label: qualification, deals, customer status, ownership, SLA."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from leadledger.domain.audit.context import AccountStatus, AuditContext
from leadledger.domain.audit.findings import Finding, finding
from leadledger.domain.audit.labels import check_gate, supported_lead_label
from leadledger.domain.audit.records import AuditAccount, AuditContact, AuditDeal, DealState
from leadledger.domain.audit.text import contact_name, day, listing, money, stage_label
from leadledger.domain.policy import Meaning, Policy, Stage

MARKETING = "marketing"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def supported_label(ctx: AuditContext, c: AuditContact) -> tuple[str, bool]:
    """The furthest non-customer stage the evidence supports, and whether unknown inputs were assumed."""
    policy = ctx.policy
    account, opps = ctx.account_of(c), ctx.opportunities_of(c.account)
    best: str | None = None
    assumed = False
    for stage in ctx.prospect_stages:
        check = check_gate(c, account, opps, stage, policy)
        if not check.passed:
            break
        assumed = assumed or bool(check.unchecked)
        best = stage.name
    if best is not None:
        return best, assumed
    return supported_lead_label(c, account, opps, policy), c.fit is None or c.score is None


def supports(policy: Policy, label: str, assumed: bool) -> str:
    """'The evidence supports SQL.' — or 'at most', where the source left inputs unknown."""
    return f"The evidence supports {'at most ' if assumed else ''}{stage_label(policy, label)}."


def contact_rules(ctx: AuditContext) -> Iterator[Finding]:
    """Every contact-level rule, in one pass over the contacts."""
    for c in ctx.snapshot.contacts:
        stage = ctx.stage(c.label)
        if stage is None:
            continue
        if stage.meaning is Meaning.PROSPECT and not stage.side:
            yield from _prospect(ctx, c, stage)
        elif stage.meaning is Meaning.CUSTOMER:
            yield from _customer(ctx, c, stage)
        elif stage.owner_team == MARKETING:
            yield from _customer_contact_in_nurture(ctx, c, stage)
        if not stage.side and stage.owner_team != MARKETING:
            yield from _no_owner(ctx, c, stage)
        if stage.sla_first_touch_hours is not None:
            yield from _sla(ctx, c, stage, stage.sla_first_touch_hours)
        yield from _lifecycle_disagreement(ctx, c, stage)


def _prospect(ctx: AuditContext, c: AuditContact, stage: Stage) -> Iterator[Finding]:
    """LL001 / LL005 (qualification gate), LL002 (a later prospect stage's own gate)."""
    policy = ctx.policy
    account, opps = ctx.account_of(c), ctx.opportunities_of(c.account)
    stages = ctx.prospect_stages
    first = stages[0]
    qual = check_gate(c, account, opps, first, policy)
    later = stages[1 : stages.index(stage) + 1] if stage in stages else ()
    if qual.passed and not later:
        return
    name = contact_name(c, account)
    label = stage_label(policy, c.label)
    if not qual.passed:
        lead_label = supported_lead_label(c, account, opps, policy)
        mql = stage.name == first.name and lead_label != policy.first_stage.name
        rule = "LL005" if mql else "LL001"
        what = "only marketing-qualified" if mql else "not qualified"
        yield finding(
            rule, record_kind="contact", key=c.key, record=name, label=c.label,
            supported_label=lead_label, evidence=qual.missing, unchecked=qual.unchecked,
            message=f"{name} is counted as {label} but is {what}: {'; '.join(qual.missing)}. "
            + supports(policy, lead_label, bool(qual.unchecked) or c.score is None),
        )
    for next_stage in later:
        check = check_gate(c, account, opps, next_stage, policy)
        if check.passed:
            continue
        supported = first.name if qual.passed else supported_lead_label(c, account, opps, policy)
        deals = ctx.deals_of(c.account)
        seen = _deal_summary(deals) if deals else "no deal at all"
        yield finding(
            "LL002", record_kind="contact", key=c.key, record=name, label=c.label,
            supported_label=supported, evidence=(*check.missing, f"deals on the account: {seen}"),
            unchecked=check.unchecked,
            message=f"{name} is counted as {label}, but there is no open deal with an amount and a close "
            f"date behind it ({seen}). " + supports(policy, supported, bool(qual.unchecked)),
        )
        break


def _deal_summary(deals: list[AuditDeal]) -> str:
    parts = [f"'{d.name}' {d.state.value} in {d.stage}" for d in deals[:3]]
    more = f" and {len(deals) - 3} more" if len(deals) > 3 else ""
    return listing(parts) + more


def _why_not_won(deals: list[AuditDeal]) -> list[str]:
    """One phrase per deal saying why it is not a signed-and-booked contract."""
    out = []
    for d in deals:
        if d.state is DealState.LOST:
            out.append(f"'{d.name}' was lost")
            continue
        signed = f"signed {day(d.signed_at)}" if d.signed_at else "not signed"
        booked = "not booked" if d.booked_known else "no booking date in the source"
        out.append(f"'{d.name}' ({money(d.amount)}) is {d.state.value} in {d.stage}, {signed}, {booked}")
    return out


def _customer(ctx: AuditContext, c: AuditContact, stage: Stage) -> Iterator[Finding]:
    """LL003 (no signed-and-booked contract) and LL012 (churned since the last booking)."""
    policy = ctx.policy
    status: AccountStatus = ctx.status(c.account)
    if status.customer:
        return
    account = ctx.account_of(c)
    name = contact_name(c, account)
    label = stage_label(policy, c.label)
    supported, assumed = supported_label(ctx, c)
    if status.won and status.churned_at is not None:
        yield finding(
            "LL012", record_kind="contact", key=c.key, record=name, label=c.label,
            supported_label=supported,
            evidence=(f"account churned on {day(status.churned_at)}",
                      f"last booking on {day(status.last_booked)}"),
            message=f"{name} is still counted as {label}, but {account.name if account else 'the account'} "
            f"churned on {day(status.churned_at)}, after its last booking on {day(status.last_booked)}. "
            + supports(policy, supported, assumed),
        )
        return
    deals = ctx.deals_of(c.account)
    if account is None:
        why = ["the contact has no account, and customer status belongs to an account"]
    elif not deals:
        why = [f"{account.name} has no deal at all"]
    else:
        why = _why_not_won(deals)
    # The live deal the customer label claims as won (a won-but-unbooked deal is LL015's to count).
    at_stake = max((d.amount or 0.0 for d in deals if d.state is DealState.OPEN), default=None)
    yield finding(
        "LL003", record_kind="contact", key=c.key, record=name, label=c.label,
        supported_label=supported, evidence=tuple(why), amount=at_stake or None,
        message=f"{name} is counted as {label}, but no contract is signed and booked: {'; '.join(why)}. "
        "A verbal yes or a proposal out is not a customer. " + supports(policy, supported, assumed),
    )


def _customer_contact_in_nurture(ctx: AuditContext, c: AuditContact, stage: Stage) -> Iterator[Finding]:
    """LL004: a customer account's contact in a marketing stage (lead, MQL, nurture)."""
    policy = ctx.policy
    if not policy.edge_cases.customer_contacts_route_to_owner or policy.customer_stage is None:
        return
    status = ctx.status(c.account)
    if not status.customer:
        return
    account: AuditAccount | None = ctx.account_of(c)
    name = contact_name(c, account)
    won = max(status.won, key=lambda d: d.booked_at or d.expected_close or _EPOCH)
    owner = (account.owner if account else None) or won.owner or "the account owner"
    yield finding(
        "LL004", record_kind="contact", key=c.key, record=name, label=c.label,
        supported_label=policy.customer_stage.name,
        evidence=(f"'{won.name}' signed and booked on {day(won.booked_at or won.expected_close)}",),
        unchecked=("booking (the source has no booked date; the CRM's won flag was taken)",)
        if status.assumed else (),
        message=f"{name} sits in {stage_label(policy, c.label)}, but the account is a customer "
        f"('{won.name}', {money(won.amount)}): customers' contacts route to {owner}, "
        "not to lead nurture.",
    )


def _no_owner(ctx: AuditContext, c: AuditContact, stage: Stage) -> Iterator[Finding]:
    """LL008 on contacts: a stage owned by sales or client success with nobody in charge."""
    account = ctx.account_of(c)
    if c.owner:
        return
    if stage.meaning is Meaning.CUSTOMER and account is not None and account.owner:
        return  # customers' contacts route to the account owner
    policy = ctx.policy
    name = contact_name(c, account)
    supported = supported_lead_label(c, account, ctx.opportunities_of(c.account), policy) \
        if stage.gate.owner else None
    then = " " + supports(policy, supported, c.fit is None or c.score is None) if supported else ""
    yield finding(
        "LL008", record_kind="contact", key=c.key, record=name, label=c.label,
        supported_label=supported, evidence=("no owner",),
        message=f"{name} is in {stage_label(policy, c.label)}, a stage {stage.owner_team.replace('_', ' ')} "
        f"owns, but nobody owns the record: no one owes the next touch.{then}",
    )


def _sla(ctx: AuditContext, c: AuditContact, stage: Stage, hours: float) -> Iterator[Finding]:
    """LL009: no first touch (two-way) within the stage's SLA."""
    entered = c.label_since
    if entered is None or (c.first_touch_at is None and c.two_way_count is None):
        return  # the source cannot say when the record was accepted or touched
    due = entered + timedelta(hours=hours)
    touched = c.first_touch_at
    late_at = touched if touched is not None else ctx.now
    if late_at <= due:
        return
    late = (late_at - due).total_seconds() / 3600
    name = contact_name(c, ctx.account_of(c))
    when = f"the first touch came {late:,.0f} hours late" if touched else \
        f"no reply, call or meeting since: {late:,.0f} hours late"
    yield finding(
        "LL009", record_kind="contact", key=c.key, record=name, label=c.label, supported_label=None,
        evidence=(f"entered {stage.name} {day(entered)}", f"first touch due {due:%Y-%m-%d %H:%M}",
                  f"touched {day(touched)}" if touched else "never touched"),
        message=f"{name} was accepted by sales ({stage_label(ctx.policy, c.label)}) on {day(entered)} "
        f"with a {hours:g}-hour first-touch SLA; {when}"
        + (f" (owner {c.owner})." if c.owner else " (no owner)."),
    )


def _lifecycle_disagreement(ctx: AuditContext, c: AuditContact, stage: Stage) -> Iterator[Finding]:
    """LL011: the contact's label and its company's own label contradict each other."""
    account = ctx.account_of(c)
    if account is None or account.label is None:
        return
    policy = ctx.policy
    company = policy.stage(account.label)
    if company is None:
        return
    contact_customer = stage.meaning is Meaning.CUSTOMER
    company_customer = company.meaning is Meaning.CUSTOMER
    # An expansion prospect at a customer is legitimate; a marketing-stage contact at a customer is
    # LL004's when the evidence backs the company, so only the unexplained contradictions remain.
    marketing = stage.owner_team == MARKETING
    contradicts = (contact_customer and not company_customer) or (
        company_customer and marketing and not ctx.status(c.account).customer
    )
    if not contradicts:
        return
    name = contact_name(c, account)
    yield finding(
        "LL011", record_kind="contact", key=c.key, record=name, label=c.label,
        supported_label=None,
        evidence=(f"contact label {c.source_label or c.label}", f"company label {account.label}"),
        message=f"{name} is labelled {stage_label(policy, c.label)} but the company {account.name} "
        f"is labelled {stage_label(policy, account.label)}: customer status belongs to the company, "
        "so one of the two labels is wrong.",
    )

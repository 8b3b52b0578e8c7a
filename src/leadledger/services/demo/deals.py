"""Account-level outcomes: opportunities won and lost, customer status, expansions and churn."""

from __future__ import annotations

import math
import random

from leadledger.services.demo import vocab as V
from leadledger.services.demo.funnel import rep_event
from leadledger.services.demo.world import (
    DAY,
    HOUR,
    MINUTE,
    AccountSim,
    ContactSim,
    Move,
    MoveKind,
    OpportunitySim,
    Role,
    World,
    sigmoid,
    uniform_time,
)

OPEN_STAGES = ("discovery", "demo", "proposal", "negotiation")
ACCOUNT_ACTOR = "rule:account-customer"
ACCOUNT_REASON = "the account signed and booked: customer status is account-level"

# Planted deal models (log-odds); the ground truth repeats them.
OPEN_LOG_ODDS = {"base": -0.2, "icp_account": 0.6, "decision_maker": 0.5, "demo_request": 0.5}
WIN_LOG_ODDS = {
    "base": -1.0, "decision_maker_on_deal": 0.8, "icp_account": 0.6, "two_or_more_contacts": 0.5,
    "demo_request_on_deal": 0.6, "account_in_market": 0.4,
}
EXPANSION_RATE = 0.35
CHURN_RATE = 0.15


def _between(rng: random.Random, start: int, low: float, high: float) -> int:
    return start + int(low + rng.random() * (high - low))


def _amount(rng: random.Random, employees: int, factor: float = 1.0) -> float:
    """Deal size grows with company size; rounded to $500."""
    raw = 6_000 * (max(employees, 10) / 50) ** 0.55 * math.exp(rng.gauss(0, 0.35)) * factor
    return float(max(500, round(min(raw, 600_000) / 500) * 500))


def _cycle_days(rng: random.Random, employees: int) -> float:
    """Bigger companies buy slower."""
    return min(150.0, max(14.0, rng.gauss(40 + 18 * math.log10(max(employees, 10) / 50), 12)))


def _committee_role(c: ContactSim, taken: list[str]) -> str:
    if not taken:
        return "champion"
    if c.seniority in ("c_level", "vp") and "economic_buyer" not in taken:
        return "economic_buyer"
    if c.seniority == "c_level":
        return "executive_sponsor"
    return {"finance": "finance", "it": "it", "engineering": "it", "hr": "hr"}.get(c.role, "influencer")


def _open_stage(created: int, expected: int, now: int) -> str:
    """Where an open deal stands, by how far along its expected cycle it is."""
    progress = (now - created) / max(1, expected - created)
    return OPEN_STAGES[min(3, int(progress * 4))]


def _resolve(rng: random.Random, opp: OpportunitySim, p_win: float, closes: int, now: int) -> None:
    """Decide the outcome: won (signed, then booked), lost, or still open at `now`."""
    if closes < now and rng.random() < p_win:
        opp.signed_at = closes
        booked = _between(rng, closes, HOUR, 12 * DAY)
        if booked < now:
            opp.booked_at, opp.stage, opp.updated_at = booked, "closed_won", booked
            return
        opp.stage = "negotiation"  # signed, not booked yet: still open, not won
    elif closes < now:
        opp.closed_at, opp.stage, opp.updated_at = closes, "closed_lost", closes
        opp.lost_reason = rng.choice(V.LOST_REASONS)
        return
    else:
        opp.stage = _open_stage(opp.created_at, opp.expected_close, now)
    # Open deals are forecast to close ahead: a stale past date is a planted mislabel only.
    opp.expected_close = max(opp.expected_close, _between(rng, now, 7 * DAY, 45 * DAY))
    opp.updated_at = max(opp.created_at, now - int(rng.random() * 10 * DAY))


def _deal_activity(rng: random.Random, opp: OpportunitySim, start: int, end: int, now: int) -> None:
    """Meetings, calls and replies with the committee while the deal runs."""
    champion = opp.roles[0].contact
    stop = min(end, now)
    scheduled = _between(rng, start, HOUR, DAY)
    demo = _between(rng, scheduled, DAY, 7 * DAY)
    if demo < stop:
        champion.events.append(rep_event(scheduled, "meeting_scheduled", opp.owner, "demo"))
        champion.events.append(rep_event(demo, "meeting_held", opp.owner, "demo"))
    for role in opp.roles:
        joined = max(start, role.since)
        for _ in range(int((stop - joined) / (12 * DAY)) + 1):
            at = uniform_time(rng, joined, stop)
            role.contact.events.append(rep_event(at, rng.choice(("call", "reply")), opp.owner, "deal"))
    if opp.state(now) == "open":  # an open deal is being worked: recent activity
        recent = max(start + HOUR, now - int(rng.random() * 10 * DAY) - HOUR)
        champion.events.append(rep_event(recent, "call", opp.owner, "next steps"))


def _new_opportunity(
    rng: random.Random, world: World, account: AccountSim, kind: str, opened: int, amount: float
) -> OpportunitySim:
    expected = opened + int(_cycle_days(rng, account.employees) * rng.uniform(0.8, 1.2) * DAY)
    opp = OpportunitySim(
        id=0, account=account, name=f"{account.name} — {V.PRODUCTS[kind]}", type=kind,
        created_at=opened, amount=amount, expected_close=expected, owner=account.owner,
        stage="discovery", updated_at=opened,
    )
    world.add_opportunity(opp)
    return opp


def _sync_customers(account: AccountSim, deal: list[ContactSim], booked: int, until: int) -> None:
    """Every other contact of a new customer account becomes a customer too (account-level)."""
    for c in account.contacts:
        if c in deal or c.created_at > until:
            continue
        at = max(booked, c.created_at) + 1  # right after the booking (or the contact's creation)
        c.truncate(at - 1)
        if c.stage != "customer":
            move = Move(at, "customer", ACCOUNT_ACTOR, ACCOUNT_REASON, MoveKind.ACCOUNT, account.owner)
            c.moves.append(move)


def _churn(rng: random.Random, account: AccountSim, booked: int, now: int) -> int | None:
    """A few early customers do not renew."""
    if booked > now - 150 * DAY or rng.random() >= CHURN_RATE:
        return None
    return _between(rng, booked, 120 * DAY, min(330 * DAY, now - booked - 5 * DAY))


def _close_out(rng: random.Random, opp: OpportunitySim, deal: list[ContactSim], now: int) -> None:
    """The committee's moves when the deal is won or lost."""
    if opp.booked_at is not None:
        for c in deal:
            c.moves.append(Move(opp.booked_at, "customer", opp.owner, "contract signed and booked",
                                MoveKind.GATE, opp.owner))
    elif opp.closed_at is not None:
        for c in deal:
            # Within days of the loss, and never left at opportunity once the deal is lost.
            at = opp.closed_at + 1 + int(rng.random() * max(0, min(3 * DAY, now - opp.closed_at - 2)))
            if rng.random() < 0.6:
                c.moves.append(Move(at, "nurture", opp.owner, f"opportunity lost: {opp.lost_reason}",
                                    MoveKind.GATE, opp.owner))
            else:
                c.moves.append(Move(at, "sql", opp.owner,
                                    f"opportunity lost ({opp.lost_reason}); back to prospect",
                                    MoveKind.BACKWARD, opp.owner))


def _log_odds(weights: dict[str, float], drivers: dict[str, float | bool]) -> float:
    """Σ weight × driver over the drivers named in `weights` (plus its base)."""
    return weights["base"] + sum(weights[k] * float(v) for k, v in drivers.items())


def _committee(rng: random.Random, opp: OpportunitySim, sqls: list[ContactSim], closes: int, now: int
               ) -> list[ContactSim]:
    """The account's SQLs join the deal: at its opening, or when they qualify while it runs."""
    deal: list[ContactSim] = []
    for c in sqls:
        sql_at = c.sql_at or 0
        joined = opp.created_at if sql_at <= opp.created_at else _between(rng, sql_at, HOUR, 2 * DAY)
        if joined >= min(closes, now):
            continue
        opp.roles.append(Role(c, _committee_role(c, [r.role for r in opp.roles]), joined))
        c.moves.append(Move(joined + MINUTE, "opportunity", opp.owner, f"opportunity opened: {opp.name}",
                            MoveKind.GATE, opp.owner))
        deal.append(c)
    return deal


def _after_booking(rng: random.Random, account: AccountSim, deal: list[ContactSim], booked: int, now: int
                   ) -> None:
    """The whole account turns customer; a few early customers later churn back to nurture."""
    account.churned_at = _churn(rng, account, booked, now)
    _sync_customers(account, deal, booked, account.churned_at or now)
    if account.churned_at is None:
        return
    for c in account.contacts:
        if c.created_at <= account.churned_at and c.stage == "customer":
            c.moves.append(Move(account.churned_at + HOUR, "nurture", account.owner,
                                "account churned: contract not renewed", MoveKind.GATE, account.owner))


def new_business(rng: random.Random, world: World, account: AccountSim) -> None:
    """The account's first deal, opened from its first SQL, joined by later ones."""
    now = world.now
    sqls = sorted((c for c in account.contacts if c.sql_at is not None and c.stage == "sql"),
                  key=lambda c: (c.sql_at or 0, c.id))
    if not sqls:
        return
    first = sqls[0]
    p_open = sigmoid(_log_odds(OPEN_LOG_ODDS, {
        "icp_account": account.icp, "decision_maker": first.decision_maker,
        "demo_request": first.count("demo_request") > 0,
    }))
    opened = _between(rng, first.sql_at or 0, DAY, 14 * DAY)
    if rng.random() >= p_open or opened >= now:
        return
    opp = _new_opportunity(rng, world, account, "new", opened, _amount(rng, account.employees))
    closes = opened + int(_cycle_days(rng, account.employees) * DAY)
    deal = _committee(rng, opp, sqls, closes, now)
    p_win = sigmoid(_log_odds(WIN_LOG_ODDS, {
        "decision_maker_on_deal": any(c.decision_maker for c in deal), "icp_account": account.icp,
        "two_or_more_contacts": len(deal) >= 2,
        "demo_request_on_deal": any(c.count("demo_request") > 0 for c in deal),
        "account_in_market": account.in_market,
    }))
    _resolve(rng, opp, p_win, closes, now)
    _deal_activity(rng, opp, opened, closes, now)
    _close_out(rng, opp, deal, now)
    if opp.booked_at is not None:
        _after_booking(rng, account, deal, opp.booked_at, now)


def expansion(rng: random.Random, world: World, account: AccountSim) -> None:
    """An existing customer evaluates more seats: tracked on its own, contacts stay customers."""
    now = world.now
    won = [o for o in world.account_opportunities(account) if o.booked_at is not None]
    if not won or account.churned_at is not None or rng.random() >= EXPANSION_RATE:
        return
    booked = won[0].booked_at or 0
    if booked > now - 60 * DAY:
        return
    opened = _between(rng, booked, 45 * DAY, min(240 * DAY, now - booked - 10 * DAY))
    opp = _new_opportunity(rng, world, account, "expansion", opened,
                           _amount(rng, account.employees, rng.uniform(0.2, 0.6)))
    customers = [c for c in account.contacts if c.stage == "customer" and c.created_at < opened]
    committee = [r.contact for r in won[0].roles if r.contact in customers] or customers[:1]
    committee += [c for c in customers if c not in committee][: rng.randrange(3)]
    for c in committee:
        opp.roles.append(Role(c, _committee_role(c, [r.role for r in opp.roles])))
    closes = opened + int(rng.uniform(20, 70) * DAY)
    _resolve(rng, opp, 0.55, closes, now)
    if opp.roles:
        _deal_activity(rng, opp, opened, closes, now)


def simulate_deals(rng: random.Random, world: World) -> None:
    """Open, win and lose deals account by account, then expand some customers."""
    for account in world.accounts:
        new_business(rng, world, account)
    for account in world.accounts:
        expansion(rng, world, account)

"""The policy's automatic rules replayed after the deals: re-promotion and dormancy.

`leadledger score` and `leadledger sweep` run on the demo data right after it is loaded: replaying
their rules here keeps the data a fixed point of them (nothing left for them to move).
"""

from __future__ import annotations

import random

from leadledger.domain.policy import Policy
from leadledger.services.demo.funnel import mql_crossing, promote_trial, trial_qualified
from leadledger.services.demo.world import DAY, HOUR, ContactSim, Move, MoveKind, World


def _early_or_side(policy: Policy, stage: str) -> bool:
    """A stage the trial rule may promote from: before its target, or a side stage."""
    rule = policy.edge_cases.trial
    target = policy.order(rule.to_stage) if rule else None
    order = policy.order(stage)
    return target is not None and (order is None or order < target)


def _repromote(rng: random.Random, world: World, policy: Policy, c: ContactSim) -> None:
    """Lost deals and churned customers recycled to nurture come back if the rules say so."""
    if world.is_customer(c.account, world.now):
        return
    last = c.moves[-1].at
    trial_at = trial_qualified(c, policy)
    if trial_at is not None and _early_or_side(policy, c.stage):
        at = max(last, trial_at) + HOUR + int(rng.random() * DAY)
        if at < world.now:
            promote_trial(rng, c, at, world.now)
        return
    rule = policy.auto_promotion
    if rule is not None and c.stage in rule.from_stages:
        crossed = mql_crossing(c, policy, after=last, now=world.now)
        if crossed is not None:
            c.moves.append(Move(crossed, rule.to_stage, "rule:score", "score reached the threshold",
                                MoveKind.GATE, c.owner))


def apply_dormancy(world: World, policy: Policy) -> None:
    """Recycle records with no activity for the policy's dormancy period (customers excluded)."""
    rule = policy.dormancy
    if rule is None:
        return
    for c in world.contacts:
        if c.stage not in rule.applies_to or world.is_customer(c.account, world.now):
            continue
        last = c.last_activity() or c.created_at
        # The sweep runs daily: it catches the record once it is past the cutoff and has settled.
        at = max(last + rule.after_days * DAY, c.moves[-1].at + DAY)
        if at < world.now:
            c.moves.append(Move(at, rule.move_to, "rule:dormancy", f"no activity for {rule.after_days} days",
                                MoveKind.DORMANCY, c.owner))


def apply_rules(rng: random.Random, world: World, policy: Policy) -> None:
    """Replay re-promotion, then dormancy, over every contact."""
    for c in world.contacts:
        c.events.sort(key=lambda e: (e[0], e[1]))
    for c in world.contacts:
        _repromote(rng, world, policy, c)
    apply_dormancy(world, policy)

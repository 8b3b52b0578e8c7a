"""The dormancy sweep, as it would have run over the simulated year."""

from __future__ import annotations

from leadledger.domain.policy import Policy
from leadledger.services.demo.world import DAY, Move, MoveKind, World


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

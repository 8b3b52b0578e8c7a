"""`leadledger sweep`: SLA breaches and dormancy recycling."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from leadledger.domain.sweeps import SlaBreach, sla_breaches
from leadledger.services.automation import AutoMoves, apply_automatic_moves
from leadledger.store import db
from leadledger.store.policies import load_active_policy
from leadledger.store.records import batch_facts
from leadledger.store.schema import contacts


@dataclass(frozen=True, slots=True)
class SweepReport:
    """Late first touches, and the moves the sweep applied."""

    breaches: list[SlaBreach]
    moves: AutoMoves

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"sla_breaches": [asdict(b) for b in self.breaches], "moves": self.moves.to_dict()}


def sweep(engine: Engine, now: datetime) -> SweepReport:
    """Find SLA breaches and apply dormancy (and other automatic) moves, in one transaction."""
    with db.transaction(engine) as conn:
        policy = load_active_policy(conn)
        sla_stages = [s.name for s in policy.stages if s.sla_first_touch_hours is not None]
        ids = [
            r.id
            for r in conn.execute(
                select(contacts.c.id).where(contacts.c.stage.in_(sla_stages)).order_by(contacts.c.id)
            )
        ]
        facts = batch_facts(conn, ids, policy, with_first_touch=True)
        breaches = sorted(sla_breaches(facts, policy, now), key=lambda b: -b.hours_late)
        moves = apply_automatic_moves(conn, policy, now)
    return SweepReport(breaches=breaches, moves=moves)

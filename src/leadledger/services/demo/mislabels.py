"""Deliberately wrong labels, as a legacy CRM import would leave them, with their ground truth."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from leadledger.services.demo import vocab as V
from leadledger.services.demo.deals import _amount
from leadledger.services.demo.funnel import rep_event
from leadledger.services.demo.world import (
    DAY,
    HOUR,
    ContactSim,
    Move,
    MoveKind,
    OpportunitySim,
    Role,
    World,
)

ACTOR = "import:legacy-crm"
REASON = "stage imported from the legacy CRM"
RATE_PER_KIND = 0.0025  # six kinds: about 1.5 % of contacts
MIN_PER_KIND = 5


@dataclass(frozen=True, slots=True)
class Mislabel:
    """One planted record whose label the evidence does not support."""

    email: str
    kind: str
    label: str
    supported_label: str
    opportunity: OpportunitySim | None = None

    def to_dict(self) -> dict[str, str]:
        """The ground-truth entry (once opportunities have their ids)."""
        d = {"email": self.email, "kind": self.kind, "label": self.label,
             "supported_label": self.supported_label}
        if self.opportunity is not None:
            d["opportunity"] = self.opportunity.external_id
        return d


class Planter:
    """Picks untouched records and relabels them; remembers what it did."""

    def __init__(self, rng: random.Random, world: World) -> None:
        self.rng = rng
        self.world = world
        self.planted: list[Mislabel] = []
        self.used_accounts: dict[int, None] = {}
        self.per_kind = max(MIN_PER_KIND, round(RATE_PER_KIND * len(world.contacts)))

    def _pick(self, ok: Callable[[ContactSim], bool], limit: int) -> list[ContactSim]:
        """Up to `limit` unplanted contacts passing `ok`, on distinct, untouched accounts."""
        pool = [
            c for c in self.world.contacts
            if c.mislabel is None and c.account is not None
            and c.account.id not in self.used_accounts and ok(c)
        ]
        chosen: list[ContactSim] = []
        for c in self.rng.sample(pool, len(pool)):
            if len(chosen) == limit:
                break
            if c.account is not None and c.account.id not in self.used_accounts:
                chosen.append(c)
                self.used_accounts[c.account.id] = None
        return sorted(chosen, key=lambda c: c.id)

    def _left(self, kind: str) -> int:
        return self.per_kind - sum(m.kind == kind for m in self.planted)

    def _relabel(
        self, c: ContactSim, kind: str, label: str, at: int, owner: str | None,
        opportunity: OpportunitySim | None = None,
    ) -> None:
        supported = c.stage
        c.moves.append(Move(at, label, ACTOR, REASON, MoveKind.IMPORT, owner))
        c.mislabel = kind
        self.planted.append(Mislabel(c.email, kind, label, supported, opportunity))

    def _when(self, c: ContactSim, earliest: int = 0) -> int:
        """A moment after the contact's last move (and `earliest`), before now."""
        start = max(c.moves[-1].at + HOUR, earliest + HOUR)
        return start + int(self.rng.random() * 0.8 * max(0, self.world.now - HOUR - start))

    def _never_won(self, c: ContactSim) -> bool:
        return all(o.booked_at is None for o in self.world.account_opportunities(c.account))

    def _no_deals(self, c: ContactSim) -> bool:
        return not self.world.account_opportunities(c.account)

    def _no_open_deal(self, c: ContactSim) -> bool:
        now = self.world.now
        return all(o.state(now) != "open" for o in self.world.account_opportunities(c.account))

    def _settled(self, c: ContactSim, days: float) -> bool:
        return c.moves[-1].at < self.world.now - int(days * DAY)

    def _proposal(self, c: ContactSim, opened: int, close: int) -> OpportunitySim:
        """A new-business deal with a proposal out, the contact as its champion."""
        assert c.account is not None
        a = c.account
        opp = OpportunitySim(
            id=0, account=a, name=f"{a.name} — {V.PRODUCTS['new']}", type="new", created_at=opened,
            amount=_amount(self.rng, a.employees), expected_close=close, owner=a.owner,
            stage="proposal", updated_at=opened + int(self.rng.uniform(1, 4) * DAY),
        )
        opp.roles.append(Role(c, "champion"))
        self.world.add_opportunity(opp)
        return opp

    def opportunity_without_open_opportunity(self) -> None:
        """(d) Counted in the pipeline, but the account has no open deal."""
        kind = "opportunity_without_open_opportunity"
        for c in self._pick(lambda c: c.stage in ("sql", "nurture") and self._never_won(c)
                            and self._no_open_deal(c) and self._settled(c, 2), self.per_kind):
            self._relabel(c, kind, "opportunity", self._when(c), c.account.owner if c.account else None)

    def customer_without_booking(self) -> None:
        """(b) A verbal yes or a proposal out for signature, counted as a customer."""
        kind, now = "customer_without_booking", self.world.now

        def worked_deal(c: ContactSim) -> bool:
            opps = self.world.account_opportunities(c.account)
            return any(o.state(now) == "open" and o.created_at < now - 5 * DAY for o in opps)

        for c in self._pick(lambda c: c.stage == "opportunity" and self._never_won(c) and self._settled(c, 2)
                            and worked_deal(c), self.per_kind):
            opp = next(o for o in self.world.account_opportunities(c.account) if o.state(now) == "open")
            if opp.signed_at is None and self.rng.random() < 0.5:  # signed, never booked
                opp.signed_at = max(opp.created_at + DAY, now - int(self.rng.uniform(2, 15) * DAY))
                opp.stage = "negotiation"
            self._relabel(c, kind, "customer", self._when(c, opp.signed_at or 0), opp.owner, opp)
        for c in self._pick(lambda c: c.stage in ("lead", "mql", "sal") and self._no_deals(c)
                            and self._settled(c, 20), self._left(kind)):
            opened = now - int(self.rng.uniform(5, 18) * DAY)
            opp = self._proposal(c, opened, now + int(self.rng.uniform(15, 60) * DAY))
            c.events.append(rep_event(opened + 2 * HOUR, "meeting_held", opp.owner, "proposal review"))
            self._relabel(c, kind, "customer", opened + DAY, opp.owner, opp)

    def stale_open_opportunity(self) -> None:
        """(e) An open deal long past its expected close, nobody has touched it since."""
        kind, now = "stale_open_opportunity", self.world.now
        for quiet in (120, 90, 60):
            def quiet_enough(c: ContactSim, q: int = quiet) -> bool:
                if c.stage not in ("lead", "mql", "sql", "nurture") or c.moves[-1].at >= now - q * DAY:
                    return False
                return max(c.last_activity() or 0, c.moves[-1].at) < now - q * DAY

            for c in self._pick(lambda c: quiet_enough(c) and self._no_deals(c), self._left(kind)):
                opened = max(c.last_activity() or 0, c.moves[-1].at) + int(self.rng.uniform(1, 5) * DAY)
                opp = self._proposal(c, opened, opened + int(self.rng.uniform(20, 35) * DAY))
                self._relabel(c, kind, "opportunity", opened + HOUR, opp.owner, opp)

    def sql_without_evidence(self) -> None:
        """(a) An MQL-or-less counted as SQL: no qualification evidence at all."""
        for c in self._pick(lambda c: c.stage == "lead" and not c.evidence and self._never_won(c)
                            and self._settled(c, 10), self.per_kind):
            self._relabel(c, "sql_without_evidence", "sql", self._when(c), self.rng.choice(V.SDRS))

    def customer_contact_in_nurture(self) -> None:
        """(c) A customer's contact sitting in lead nurture (it should route to the account owner)."""
        now = self.world.now
        pool = [c for c in self.world.contacts
                if c.mislabel is None and c.stage == "customer" and c.moves[-1].kind is MoveKind.ACCOUNT
                and self.world.is_customer(c.account, now) and self._settled(c, 1)]
        for c in sorted(self.rng.sample(pool, min(self.per_kind, len(pool))), key=lambda c: c.id):
            label = "nurture" if self.rng.random() < 0.6 else "lead"
            self._relabel(c, "customer_contact_in_nurture", label, self._when(c), None)

    def sal_without_owner(self) -> None:
        """(f) Accepted by sales, but nobody owns it."""
        for c in self._pick(lambda c: c.stage == "mql" and self._never_won(c) and self._settled(c, 1),
                            self.per_kind):
            self._relabel(c, "sal_without_owner", "sal", self._when(c), None)


def plant_mislabels(rng: random.Random, world: World) -> list[Mislabel]:
    """Plant every kind (at least five each where the data allows); return the ground truth."""
    p = Planter(rng, world)
    p.opportunity_without_open_opportunity()
    p.customer_without_booking()
    p.stale_open_opportunity()
    p.sql_without_evidence()
    p.customer_contact_in_nurture()
    p.sal_without_owner()
    return sorted(p.planted, key=lambda m: (m.kind, m.email))

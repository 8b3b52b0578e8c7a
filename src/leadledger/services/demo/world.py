"""The simulated world: mutable records the generators fill in, on an integer-seconds clock."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from functools import cache

from leadledger.domain.records import Account, Opportunity
from leadledger.services.demo.vocab import DECISION_MAKERS, TARGET_INDUSTRIES

MINUTE = 60
HOUR = 3_600
DAY = 86_400

# Ground-truth event tuple: (at, type, two_way, properties JSON or None).
EventRow = tuple[int, str, bool, str | None]


def to_datetime(t: int) -> datetime:
    """Epoch seconds → aware UTC datetime."""
    return datetime.fromtimestamp(t, UTC)


@cache
def _date_text(day: int) -> str:
    return to_datetime(day * DAY).strftime("%Y-%m-%d ")


@cache
def _clock() -> list[str]:
    """'HH:MM:SS' for every second of a day (formatting 200,000 timestamps is a hot spot)."""
    return [f"{s // HOUR:02d}:{s // MINUTE % 60:02d}:{s % MINUTE:02d}" for s in range(DAY)]


def to_text(t: int | None) -> str | None:
    """Epoch seconds → the naive-UTC text the store's bulk paths write ('YYYY-MM-DD HH:MM:SS')."""
    if t is None:
        return None
    day, second = divmod(t, DAY)
    return _date_text(day) + _clock()[second]


def sigmoid(x: float) -> float:
    """Log-odds → probability."""
    return 1.0 / (1.0 + math.exp(-x))


def pick(rng: random.Random, weights: Mapping[str, float]) -> str:
    """One key of `weights`, drawn in proportion to its value (dict order is fixed)."""
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def uniform_time(rng: random.Random, start: int, end: int) -> int:
    """A whole second in [start, end)."""
    return start + int(rng.random() * max(1, end - start))


def office_hours(rng: random.Random, t: int) -> int:
    """Move `t` to a working hour (13:00–22:00 UTC, i.e. US/EU business hours) of its day."""
    day = t - t % DAY
    return day + 13 * HOUR + int(rng.random() * 9 * HOUR)


class MoveKind(StrEnum):
    """How a ledger entry was justified, which decides how its snapshot is built."""

    CREATE = "create"  # the tracked action that created the contact
    GATE = "gate"  # a forward (or side) move through the policy's gate
    BACKWARD = "backward"  # a permitted backward move with a reason
    ACCOUNT = "account"  # the account became a customer: customer status is account-level
    DORMANCY = "dormancy"  # the dormancy sweep recycled an inactive record
    IMPORT = "import"  # a planted mislabel, as imported from a legacy CRM


@dataclass(slots=True)
class Move:
    """One planned stage change."""

    at: int
    to_stage: str
    actor: str
    reason: str
    kind: MoveKind
    owner: str | None  # the contact's owner from this move on


@dataclass(slots=True)
class EvidenceRow:
    """One confirmed qualification field."""

    at: int
    field: str
    value: str
    confirmed_by: str


@dataclass(slots=True, eq=False)  # identity, not field-by-field
class AccountSim:
    """A company in the making."""

    id: int
    name: str
    domain: str
    industry: str
    employees: int
    revenue: float
    country: str
    tech: tuple[str, ...]
    owner: str
    in_market: float  # latent buying climate shared by the account's contacts
    created_at: int = 0
    churned_at: int | None = None
    contacts: list[ContactSim] = field(default_factory=list)

    @property
    def icp(self) -> bool:
        """Planted driver: 50+ employees in a target industry."""
        return self.employees >= 50 and self.industry in TARGET_INDUSTRIES

    def as_record(self, at: int) -> Account:
        """The domain view of the account as of `at`."""
        churned = self.churned_at if self.churned_at is not None and self.churned_at <= at else None
        return Account(
            id=self.id, name=self.name, domain=self.domain, industry=self.industry,
            employees=self.employees, annual_revenue=self.revenue, country=self.country,
            tech_stack=self.tech, owner=self.owner,
            churned_at=to_datetime(churned) if churned is not None else None,
        )


@dataclass(slots=True, eq=False)  # identity, not field-by-field
class ContactSim:
    """A person in the making, with everything that happens to them."""

    id: int
    email: str
    first_name: str
    last_name: str
    company: str
    title: str
    seniority: str
    role: str
    source: str
    created_at: int
    account: AccountSim | None
    fit: float = 0.0
    intent: bool = False
    opted_out: bool = False
    events: list[EventRow] = field(default_factory=list)
    evidence: list[EvidenceRow] = field(default_factory=list)
    moves: list[Move] = field(default_factory=list)
    sql_at: int | None = None
    mislabel: str | None = None
    scores: dict[int, float] = field(default_factory=dict)  # scores computed at MQL checks, by time

    @property
    def decision_maker(self) -> bool:
        """Planted driver: c_level, vp or director."""
        return self.seniority in DECISION_MAKERS

    @property
    def stage(self) -> str:
        """The stage after the last planned move."""
        return self.moves[-1].to_stage

    @property
    def owner(self) -> str | None:
        """The owner after the last planned move."""
        return self.moves[-1].owner

    def count(self, event_type: str, before: int | None = None) -> int:
        """How many events of a type happened (before `before`, if given)."""
        return sum(1 for e in self.events if e[1] == event_type and (before is None or e[0] < before))

    def last_activity(self) -> int | None:
        """The time of the latest event."""
        return max((e[0] for e in self.events), default=None)

    def truncate(self, at: int) -> None:
        """Forget the moves, evidence and rep interactions planned after `at`."""
        self.moves = [m for m in self.moves if m.at <= at]
        self.evidence = [e for e in self.evidence if e.at <= at]
        self.events = [e for e in self.events if e[0] <= at or not e[2]]
        if self.sql_at is not None and self.sql_at > at:
            self.sql_at = None


@dataclass(slots=True, eq=False)  # identity, not field-by-field
class Role:
    """A contact's seat on an opportunity's buying committee."""

    contact: ContactSim
    role: str
    since: int = 0  # when the contact joined the committee


@dataclass(slots=True, eq=False)  # identity, not field-by-field
class OpportunitySim:
    """A deal in the making; its state at any moment is derived from its timestamps."""

    id: int
    account: AccountSim
    name: str
    type: str
    created_at: int
    amount: float
    expected_close: int
    owner: str
    stage: str  # the stage as of now
    signed_at: int | None = None
    booked_at: int | None = None
    closed_at: int | None = None  # when lost
    lost_reason: str | None = None
    updated_at: int = 0
    roles: list[Role] = field(default_factory=list)

    @property
    def external_id(self) -> str:
        """The deterministic id a CRM export would carry."""
        return f"demo-opp-{self.id:05d}"

    def state(self, at: int) -> str:
        """won, lost, open or absent as of `at`."""
        if at < self.created_at:
            return "absent"
        if self.booked_at is not None and self.booked_at <= at:
            return "won"
        if self.closed_at is not None and self.closed_at <= at:
            return "lost"
        return "open"

    def as_record(self, at: int) -> Opportunity | None:
        """The domain view as of `at` (None before it was created)."""
        state = self.state(at)
        if state == "absent":
            return None
        signed = self.signed_at if self.signed_at is not None and self.signed_at <= at else None
        stage = "negotiation" if state == "open" and self.stage.startswith("closed") else self.stage
        return Opportunity(
            id=self.id, account_id=self.account.id, name=self.name, type=self.type,
            stage=stage, amount=self.amount, expected_close=to_datetime(self.expected_close),
            signed_at=to_datetime(signed) if signed is not None else None,
            booked_at=to_datetime(self.booked_at) if state == "won" and self.booked_at else None,
            lost_reason=self.lost_reason if state == "lost" else None, owner=self.owner,
        )


@dataclass(slots=True)
class World:
    """Everything generated so far."""

    now: int
    accounts: list[AccountSim]
    contacts: list[ContactSim]
    opportunities: list[OpportunitySim] = field(default_factory=list)
    opportunities_by_account: dict[int, list[OpportunitySim]] = field(default_factory=dict)

    def add_opportunity(self, opp: OpportunitySim) -> None:
        """Register a new deal."""
        self.opportunities.append(opp)
        self.opportunities_by_account.setdefault(opp.account.id, []).append(opp)

    def account_opportunities(self, account: AccountSim | None) -> Sequence[OpportunitySim]:
        """The deals on an account."""
        return self.opportunities_by_account.get(account.id, []) if account else []

    def is_customer(self, account: AccountSim | None, at: int) -> bool:
        """Whether the account is a (non-churned) customer at `at`."""
        if account is None:
            return False
        booked = [
            o.booked_at for o in self.account_opportunities(account)
            if o.booked_at is not None and o.booked_at <= at
        ]
        if not booked:
            return False
        churned = account.churned_at
        return churned is None or churned > at or churned < max(booked)

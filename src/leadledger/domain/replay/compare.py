"""One policy's replayed funnel, tallied contact by contact, and two of them side by side."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from leadledger.domain.policy import Policy
from leadledger.domain.records import StageChange
from leadledger.domain.replay.engine import ContactReplay
from leadledger.domain.scoring import SECONDS_PER_DAY
from leadledger.domain.stats import quantile, ratio


def flag_stage(policy: Policy) -> str:
    """The stage that flags a record to sales: the score's target, else the second main stage."""
    if policy.auto_promotion is not None:
        return policy.auto_promotion.to_stage
    stages = policy.main_stages
    return stages[1].name if len(stages) > 1 else stages[0].name


def handoff_stage(policy: Policy) -> str:
    """The first main stage sales owns: where the reps' load is counted (creation there counts too)."""
    return next((s.name for s in policy.main_stages if s.owner_team == "sales"), policy.first_stage.name)


def _month(at: datetime) -> str:
    """YYYY-MM (strftime costs several times more, on a million entries)."""
    return f"{at.year:04d}-{at.month:02d}"


def _days(later: datetime, earlier: datetime) -> float:
    return round((later - earlier).total_seconds() / SECONDS_PER_DAY, 1)


@dataclass(frozen=True, slots=True)
class StageRow:
    """How many cohort records reached a stage (skipped stages count as passed through)."""

    stage: str
    label: str
    reached: int
    conversion: float | None  # from the stage before


@dataclass(frozen=True, slots=True)
class ReplayFunnel:
    """One policy's funnel over the replayed history."""

    policy_version: str
    contacts: int
    stages: list[StageRow]
    flag_stage: str
    flagged_by_month: dict[str, int]
    days_to_flag_median: float | None
    days_to_flag_p90: float | None
    handoff_stage: str
    load_by_rep: dict[str, int]
    won_accounts: int
    won_accounts_flagged: int
    days_flagged_before_win_median: float | None
    entries: int
    decisions_kept: int
    decisions_shifted: int
    decisions_absorbed: int
    decisions_dropped: dict[str, int]
    automatic_moves: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


@dataclass(slots=True)
class FunnelTally:
    """Accumulates replayed contacts into a `ReplayFunnel` (streaming: nothing kept per contact)."""

    policy: Policy
    orders: dict[str, int] = field(default_factory=dict)
    reached: Counter[int] = field(default_factory=Counter)  # furthest main-stage order → contacts
    flagged_by_month: Counter[str] = field(default_factory=Counter)
    to_flag: Counter[float] = field(default_factory=Counter)
    load: Counter[str] = field(default_factory=Counter)
    first_flag: dict[int, datetime] = field(default_factory=dict)  # account → first flag
    won: dict[int, datetime] = field(default_factory=dict)  # account → first booking
    contacts: int = 0
    entries: int = 0
    kept: int = 0
    shifted: int = 0
    absorbed: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    automatic: Counter[str] = field(default_factory=Counter)
    flag: str = ""
    handoff: str = ""
    first: str = ""

    def __post_init__(self) -> None:
        self.orders.update({s.name: i for i, s in enumerate(self.policy.main_stages)})
        self.flag, self.handoff = flag_stage(self.policy), handoff_stage(self.policy)
        self.first = self.policy.first_stage.name

    def flags(self, replay: ContactReplay) -> bool:
        """Whether the replay ever flagged the contact (reached the flag stage or beyond)."""
        at_least = self.orders.get(self.flag, 0)
        return any(self.orders.get(c.to_stage, -1) >= at_least for c in replay.changes)

    def merge(self, other: FunnelTally) -> None:
        """Add another tally of the same policy over other contacts (a chunk counted elsewhere)."""
        self.reached.update(other.reached)
        self.flagged_by_month.update(other.flagged_by_month)
        self.to_flag.update(other.to_flag)
        self.load.update(other.load)
        self.dropped.update(other.dropped)
        self.automatic.update(other.automatic)
        for account, at in other.first_flag.items():
            if account not in self.first_flag or at < self.first_flag[account]:
                self.first_flag[account] = at
        for account, at in other.won.items():
            self.won[account] = min(at, self.won.get(account, at))
        self.contacts += other.contacts
        self.entries += other.entries
        self.kept += other.kept
        self.shifted += other.shifted
        self.absorbed += other.absorbed

    def add(
        self,
        replay: ContactReplay,
        *,
        owner: str | None,
        account_id: int | None,
        won_booked_at: datetime | None,
    ) -> bool:
        """Count one contact's replayed ledger; whether it flagged the contact (see `flags`)."""
        flag, handoff, orders = self.flag, self.handoff, self.orders
        flag_order = orders.get(flag, 0)
        changes = replay.changes
        furthest, flagged_at = 0, None
        kept = 0
        for i, c in enumerate(changes):
            to_stage = c.to_stage
            order = orders.get(to_stage)
            if order is not None:
                if order > furthest:
                    furthest = order
                if flagged_at is None and order >= flag_order:
                    flagged_at = c.at
            if to_stage == flag:
                self.flagged_by_month[_month(c.at)] += 1
            # a policy whose first stage is sales' (Prospect-First) hands every record over at creation
            if to_stage == handoff and (c.from_stage is not None or handoff == self.first):
                self.load[owner or "(no owner)"] += 1
            if c.actor.startswith("rule:"):
                if c.from_stage is not None:
                    self.automatic[f"{c.actor}→{to_stage}"] += 1
            elif i:
                kept += 1
        self.contacts += 1
        self.entries += len(changes)
        self.reached[furthest] += 1
        self.shifted += replay.shifted
        self.absorbed += replay.absorbed
        if replay.dropped:
            self.dropped.update(d.reason for d in replay.dropped)
        self.kept += kept
        if flagged_at is not None:
            self.to_flag[_days(flagged_at, changes[0].at)] += 1
        if account_id is not None:
            if flagged_at is not None and (account_id not in self.first_flag
                                           or flagged_at < self.first_flag[account_id]):
                self.first_flag[account_id] = flagged_at
            if won_booked_at is not None:
                self.won[account_id] = won_booked_at
        return flagged_at is not None

    def finish(self) -> ReplayFunnel:
        """The funnel of everything added."""
        p = self.policy
        rows: list[StageRow] = []
        for i, s in enumerate(p.main_stages):
            reached = sum(n for order, n in self.reached.items() if order >= i)
            conversion = ratio(reached, rows[-1].reached) if rows else None
            rows.append(StageRow(s.name, s.label, reached, conversion))
        lead = Counter(
            _days(booked, self.first_flag[a])
            for a, booked in self.won.items()
            if a in self.first_flag and self.first_flag[a] < booked
        )
        return ReplayFunnel(
            policy_version=p.version,
            contacts=self.contacts,
            stages=rows,
            flag_stage=flag_stage(p),
            flagged_by_month=dict(sorted(self.flagged_by_month.items())),
            days_to_flag_median=quantile(self.to_flag.items(), 0.5),
            days_to_flag_p90=quantile(self.to_flag.items(), 0.9),
            handoff_stage=handoff_stage(p),
            load_by_rep=dict(sorted(self.load.items())),
            won_accounts=len(self.won),
            won_accounts_flagged=sum(lead.values()),
            days_flagged_before_win_median=quantile(lead.items(), 0.5),
            entries=self.entries,
            decisions_kept=self.kept - self.shifted,
            decisions_shifted=self.shifted,
            decisions_absorbed=self.absorbed,
            decisions_dropped=dict(sorted(self.dropped.items(), key=lambda kv: (-kv[1], kv[0]))),
            automatic_moves=dict(sorted(self.automatic.items())),
        )


def same_entries(stored: tuple[StageChange, ...], replayed: tuple[StageChange, ...]) -> bool:
    """Whether a replay gave back the stored ledger: same moves, moments, actors and reasons."""
    def key(c: StageChange) -> tuple[object, ...]:
        return (c.from_stage, c.to_stage, c.at, c.actor, c.reason)

    return len(stored) == len(replayed) and all(
        a is b or key(a) == key(b) for a, b in zip(stored, replayed, strict=True))

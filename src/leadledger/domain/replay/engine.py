"""Replay one contact's history under another policy, without touching the stored ledger.

The recorded world stays fixed: events, evidence, opportunities and the people's decisions. What
the replayed policy changes is re-derived:

- automatic rules (score promotion, product-led trial, dormancy) that differ from the rule that
  recorded the history fire where the new rule would have fired, as events arrive; unchanged
  rules keep their recorded moments;
- a person's decision (accept an MQL, qualify, open an opportunity…) answers the stage the
  record was in: it is replayed once the record is in that stage, after the same delay, and the
  new policy's gate judges it; if the record never gets there, or the gate refuses, it is dropped;
- outcomes (an account signing and booking, a label imported from another CRM) are kept.

Replaying the policy that recorded the history therefore gives back the stored ledger exactly.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta

from leadledger.domain.policy import Policy, Scoring
from leadledger.domain.records import Event, StageChange
from leadledger.domain.replay.history import ContactHistory, facts_at
from leadledger.domain.replay.rules import (
    ScoreClock,
    entry_kind,
    map_stage,
    same_judgement,
    same_promotion,
    same_trial,
    score_ceiling,
)
from leadledger.domain.scoring import fit_rule_matches, fit_values, score_contact, score_fit
from leadledger.domain.transitions import Approved, decide_transition

RESCORE_AFTER = timedelta(hours=1)  # a record re-entering a promotable stage is scored at the next run
SETTLE = timedelta(days=1)  # the dormancy sweep runs daily: a record sits a day before it is recycled


@dataclass(frozen=True, slots=True)
class Dropped:
    """A recorded decision the replayed policy would not have made, and why."""

    entry: StageChange
    reason: str


@dataclass(frozen=True, slots=True)
class ContactReplay:
    """One contact's replayed ledger and what happened to its recorded decisions."""

    changes: tuple[StageChange, ...]
    dropped: tuple[Dropped, ...] = ()
    shifted: int = 0  # decisions replayed at another moment than recorded
    absorbed: int = 0  # decisions that changed nothing under the new stage names


@dataclass(frozen=True, slots=True)
class ReplaySetup:
    """The policy to replay and the policies that recorded the history, by version."""

    policy: Policy
    recorded: Mapping[str, Policy]
    rederive: bool = False  # re-derive every automatic rule, even unchanged ones
    orders: dict[str, int] = field(default_factory=dict, compare=False)
    _derives: dict[tuple[str, str], bool] = field(default_factory=dict, compare=False)
    # per-contact questions whose answers depend only on the policies: asked once per run
    _stages: dict[tuple[str, str | None], str | None] = field(default_factory=dict, compare=False)
    _judged: dict[tuple[str, str, str], bool] = field(default_factory=dict, compare=False)
    _derived: dict[str | None, frozenset[str]] = field(default_factory=dict, compare=False)
    _matched: dict[tuple[int, object], bool] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        self.orders.update({s.name: i for i, s in enumerate(self.policy.main_stages)})

    def recorder(self, entry: StageChange) -> Policy | None:
        """The policy version that recorded `entry`, if it is known."""
        return self.recorded.get(entry.policy_version)

    def map(self, name: str, recorded: Policy | None) -> str | None:
        """`map_stage` into this setup's policy (cached: a few stage names, millions of entries)."""
        key = (name, recorded.version if recorded is not None else None)
        if key not in self._stages:
            self._stages[key] = map_stage(name, recorded, self.policy)
        return self._stages[key]

    def judged_alike(self, recorded: Policy, stage: str, recorded_stage: str) -> bool:
        """`same_judgement` of this policy and `recorded` (cached like `map`)."""
        key = (recorded.version, stage, recorded_stage)
        if key not in self._judged:
            self._judged[key] = same_judgement(self.policy, recorded, stage, recorded_stage)
        return self._judged[key]

    def fit(self, h: ContactHistory) -> float:
        """`contact_fit` under this policy, without the explanation `score_fit` also builds."""
        values = fit_values(h.contact, h.account)
        matched = self._matched  # a rule sees few distinct values: each is matched once per run
        total: float = 0  # the same points in the same order as score_fit's sum: the same float
        for i, rule in enumerate(self.policy.scoring.fit_rules):
            key = (i, values.get(rule.field))
            hit = matched.get(key)
            if hit is None:
                hit = matched[key] = fit_rule_matches(rule, key[1])
            if hit:
                total += rule.points
        return total

    def derived(self, latest: Policy | None) -> frozenset[str]:
        """The automatic rules re-derived for a contact whose latest entry `latest` recorded."""
        key = latest.version if latest is not None else None
        if key not in self._derived:
            kinds = ("promotion", "trial", "dormancy")
            self._derived[key] = frozenset(k for k in kinds if self.derives(k, latest))
        return self._derived[key]

    def derives(self, kind: str, entry_policy: Policy | None) -> bool:
        """Whether the replay re-derives rule `kind` instead of keeping its recorded moments."""
        if self.rederive or entry_policy is None:
            return True
        key = (kind, entry_policy.version)
        if key not in self._derives:  # comparing policies is slow next to one contact's replay
            same = {"promotion": same_promotion, "trial": same_trial}.get(kind)
            self._derives[key] = (
                not same(self.policy, entry_policy) if same is not None
                else self.policy.dormancy != entry_policy.dormancy
            )
        return self._derives[key]


@dataclass(slots=True)
class _LazyClock:
    """The walk's score clock, counting its events only when a score is read.

    Most steps of a walk never read the score (an unchanged decision, a kept outcome): the events
    they pass are counted at the next read instead, in the same order, so the totals are the same floats.
    """

    scoring: Scoring
    fit: float
    h: ContactHistory
    upto: int = 0  # the events up to this index belong in the score
    counted: int = 0
    _clock: ScoreClock | None = None  # started at the first read: most walks never read a score

    def total(self, at: datetime) -> float:
        """The clock's total at `at`, after counting the events it owes."""
        self.h.need_events()  # a walk may start without the events; any score read needs them
        if self._clock is None:
            self._clock = ScoreClock.start(self.scoring, self.fit)
        clock, events = self._clock, self.h.events
        for i in range(self.counted, self.upto):
            clock.add(events[i].type, events[i].occurred_at)
        self.counted = max(self.counted, self.upto)
        return clock.total(at)


@dataclass(slots=True)
class _Walk:
    """The replayed record as it moves: stage, since when, and the ledger so far."""

    h: ContactHistory
    setup: ReplaySetup
    fit: float
    translate: bool
    stage: str
    entered: datetime
    changes: list[StageChange] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    shifted: int = 0
    absorbed: int = 0

    @property
    def policy(self) -> Policy:
        return self.setup.policy

    def move(self, entry: StageChange, to_stage: str, at: datetime, evidence: dict[str, object]) -> None:
        self.changes.append(
            _restamped(entry, self.stage, to_stage, at, evidence, self.policy.version)
        )
        self.stage, self.entered = to_stage, at

    def score(self, clock: _LazyClock, at: datetime) -> float:
        total = clock.total(at)
        if abs(total - self.policy.scoring.mql_threshold) < 1e-6:  # settle rounding like the reference
            events = self.h.events[: self.h.events_until(at)]
            total = score_contact(self.h.contact, self.h.account, events, self.policy.scoring, at).total
        return total

    def judge(self, entry: StageChange, to_stage: str, at: datetime, score: float) -> Approved | str:
        facts = facts_at(self.h, self.policy, stage=self.stage, entered=self.entered, at=at,
                         fit=self.fit, score=score, translate=self.translate)
        d = decide_transition(facts, to_stage, self.policy, now=at, actor=entry.actor, reason=entry.reason)
        return d if isinstance(d, Approved) else d.missing[0].message


_STAGE_CHANGE_FIELDS = ("contact_id", "from_stage", "to_stage", "at", "actor", "reason", "evidence",
                        "policy_version")
# `_restamped` builds entries field by field (dataclasses.replace is a third of a walk's time):
# a field added to StageChange must be added there too
assert tuple(f.name for f in fields(StageChange)) == _STAGE_CHANGE_FIELDS


def _restamped(entry: StageChange, from_stage: str | None, to_stage: str, at: datetime,
               evidence: dict[str, object], version: str) -> StageChange:
    """`entry` moved to other stages, moment, evidence and policy version (its actor and reason kept)."""
    if (entry.to_stage == to_stage and entry.from_stage == from_stage and entry.at == at
            and entry.evidence is evidence and entry.policy_version == version):
        return entry  # most replayed entries are the recorded ones: no copy of an immutable value
    return StageChange(contact_id=entry.contact_id, from_stage=from_stage, to_stage=to_stage, at=at,
                       actor=entry.actor, reason=entry.reason, evidence=evidence, policy_version=version)


def _auto_entry(h: ContactHistory, actor: str, reason: str, to_stage: str) -> StageChange:
    return StageChange(contact_id=h.contact.id, from_stage=None, to_stage=to_stage,
                       at=h.ledger[0].at, actor=actor, reason=reason)


def _promotable(policy: Policy, stage: str) -> bool:
    rule = policy.auto_promotion
    return rule is not None and stage in rule.from_stages and stage != rule.to_stage


def _trial_open(setup: ReplaySetup, source: str | None, stage: str) -> bool:
    rule = setup.policy.edge_cases.trial
    if rule is None or source != rule.source:
        return False
    target, here = setup.orders.get(rule.to_stage), setup.orders.get(stage)
    return target is not None and (here is None or here < target)


def _try_rules(w: _Walk, at: datetime, clock: _LazyClock, derive: set[str]) -> None:
    """Fire the re-derived automatic rules that hold at `at`."""
    if "trial" in derive and _trial_open(w.setup, w.h.contact.source, w.stage):
        rule = w.policy.edge_cases.trial
        assert rule is not None
        entry = _auto_entry(w.h, "rule:trial", "product usage and ICP fit", rule.to_stage)
        verdict = w.judge(entry, rule.to_stage, at, 0.0)
        if isinstance(verdict, Approved):
            w.move(entry, rule.to_stage, at, verdict.change.evidence)
            return
    if "promotion" in derive and _promotable(w.policy, w.stage) and w.fit >= w.policy.scoring.fit_minimum:
        promo = w.policy.auto_promotion
        assert promo is not None
        score = w.score(clock, at)
        if score < w.policy.scoring.mql_threshold:
            return
        entry = _auto_entry(w.h, "rule:score", "score reached the threshold", promo.to_stage)
        verdict = w.judge(entry, promo.to_stage, at, score)
        if isinstance(verdict, Approved):
            w.move(entry, promo.to_stage, at, verdict.change.evidence)


def _dormant_at(w: _Walk, last_activity: datetime | None, until: datetime) -> datetime | None:
    rule = w.policy.dormancy
    if rule is None or w.stage not in rule.applies_to:
        return None
    last = last_activity or w.h.contact.created_at or w.entered
    at = max(last + timedelta(days=rule.after_days), w.entered + SETTLE)
    if at >= until:
        return None
    won = w.h.won_booked_at()
    churned = w.h.account.churned_at if w.h.account else None
    if won is not None and won <= at and (churned is None or churned > at or churned < won):
        return None  # customers' contacts route to the account owner, never back to nurture
    return at


@dataclass(slots=True)
class _Decision:
    """A recorded person's decision waiting for the record to reach the stage it answers."""

    entry: StageChange
    recorder: Policy | None
    source: str | None  # the stage it answers, in the replayed policy's names
    target: str | None
    stored_entered: datetime  # when the recorded contact entered the stage it answers


def _plan(
    h: ContactHistory, setup: ReplaySetup, until: datetime, derive: frozenset[str]
) -> tuple[list[_Decision], list[StageChange]]:
    """Split the recorded ledger into decisions and outcomes kept at their moments.

    Entries of the automatic rules in `derive` are left out: the replay derives them anew.
    """
    decisions: list[_Decision] = []
    timed: list[StageChange] = []
    prev_at = h.ledger[0].at
    for entry in h.ledger[1:]:
        if entry.at >= until:
            break
        kind = entry_kind(entry.actor, entry.from_stage)
        rec = setup.recorder(entry)
        if kind in ("promotion", "trial", "dormancy"):
            if kind not in derive:
                timed.append(entry)
        elif kind in ("account", "import"):
            timed.append(entry)
        else:
            assert entry.from_stage is not None
            decisions.append(_Decision(entry, rec, setup.map(entry.from_stage, rec),
                                       setup.map(entry.to_stage, rec), prev_at))
        prev_at = entry.at
    return decisions, timed


def _timed_target(setup: ReplaySetup, entry: StageChange, kind: str) -> str | None:
    """The stage an outcome or an unchanged rule's recorded move leads to under the policy."""
    if kind == "account":
        customer = setup.policy.customer_stage
        return customer.name if customer else None
    return setup.map(entry.to_stage, setup.recorder(entry))


def _timed_refusal(setup: ReplaySetup, kind: str, stage: str, source: str | None) -> str | None:
    """Why a recorded rule's move does not apply from `stage` under the policy, if it does not."""
    p = setup.policy
    if kind == "promotion" and not _promotable(p, stage):
        return f"the score does not promote from {stage}"
    if kind == "trial" and not _trial_open(setup, source, stage):
        return f"the trial rule does not promote from {stage}"
    if kind == "dormancy" and (p.dormancy is None or stage not in p.dormancy.applies_to):
        return f"dormancy does not apply to {stage}"
    return None


def _apply_timed(w: _Walk, entry: StageChange) -> None:
    """Apply an outcome or an unchanged rule's recorded move, if it still applies."""
    kind = entry_kind(entry.actor, entry.from_stage)
    target = _timed_target(w.setup, entry, kind)
    if target is None:
        w.dropped.append(Dropped(entry, f"the policy has no stage for {entry.to_stage}"))
        return
    if target == w.stage:
        w.absorbed += 1
        return
    refusal = _timed_refusal(w.setup, kind, w.stage, w.h.contact.source)
    if refusal is not None:
        w.dropped.append(Dropped(entry, refusal))
        return
    w.move(entry, target, entry.at, entry.evidence)


def _due(w: _Walk, d: _Decision) -> datetime | None:
    """When the waiting decision is made, given where the replayed record is now."""
    if d.source != w.stage:
        return None
    return max(w.entered, d.entry.at + (w.entered - d.stored_entered))


def _decide(w: _Walk, d: _Decision, due: datetime, clock: _LazyClock) -> bool:
    """Make the decision at `due` (or, refused, retry at its recorded moment); False if still waiting."""
    entry = d.entry
    if d.target is None:
        w.dropped.append(Dropped(entry, f"the policy has no stage for {entry.to_stage}"))
        return True
    if d.target == w.stage:
        w.absorbed += 1
        return True
    unchanged = (
        due == entry.at
        and d.recorder is not None
        and d.source == entry.from_stage
        and w.setup.judged_alike(d.recorder, d.target, entry.to_stage)
    )
    if unchanged:
        w.move(entry, d.target, due, entry.evidence)
        return True
    verdict = w.judge(entry, d.target, due, w.score(clock, due))
    if isinstance(verdict, Approved):
        w.shifted += due != entry.at
        w.move(entry, d.target, due, verdict.change.evidence)
        return True
    if due < entry.at:
        return False  # try again when the person actually decided
    w.dropped.append(Dropped(entry, verdict))
    return True


def _relevant(p: Policy, fit: float, source: str | None, planned: frozenset[str]) -> set[str]:
    """The re-derived rules that could ever fire for this contact (the others need no events)."""
    if not planned:
        return set()
    out = set(planned)
    if p.auto_promotion is None or fit < p.scoring.fit_minimum:
        out.discard("promotion")
    trial = p.edge_cases.trial
    if trial is None or source != trial.source or fit < p.scoring.fit_minimum:
        out.discard("trial")
    if p.dormancy is None:
        out.discard("dormancy")
    return out


def _reachable(scoring: Scoring, fit: float, h: ContactHistory, derive: set[str],
               ceiling: float | None) -> set[str]:
    """Drop the score promotion when even every event undecayed could not reach the threshold."""
    if "promotion" not in derive:
        return derive
    if ceiling is None:
        ceiling = score_ceiling(scoring, fit, h.events)
    return derive - {"promotion"} if ceiling < scoring.mql_threshold - 1e-6 else derive


def _hot_moments(events: Sequence[Event], scoring: Scoring, fit: float, since: datetime) -> list[datetime]:
    """The event moments from `since` on at which the score reaches the threshold (or nearly).

    Counted on a clock of its own, event by event like the walk's, so the totals are the same floats.
    """
    clock = ScoreClock.start(scoring, fit)
    near = scoring.mql_threshold - 1e-6  # `_Walk.score` settles totals this close to the threshold
    out: list[datetime] = []
    last = len(events) - 1
    for i, e in enumerate(events):
        clock.add(e.type, e.occurred_at)
        at = e.occurred_at
        if (i == last or events[i + 1].occurred_at != at) and at >= since and clock.total(at) >= near:
            out.append(at)
    return out


def _follow_ledger(
    h: ContactHistory, setup: ReplaySetup, until: datetime, stage: str, planned: frozenset[str]
) -> ContactReplay | None:
    """The walk's result when it provably takes every recorded entry as recorded, else None.

    With no rule to re-derive, the walk applies each outcome or kept rule at its moment and makes
    each decision at its moment, unchanged, as long as every entry applies from the stage the
    record is then in, is judged alike, comes strictly after the one before (the walk orders
    simultaneous entries its own way) and no waiting decision falls due early or is passed by.
    Checking that costs a fraction of the walk, and it holds for most contacts of most replays.
    """
    p, orders = setup.policy, setup.orders
    first = h.ledger[0]
    entries = [e for e in h.ledger[1:] if e.at < until]
    kinds = [entry_kind(e.actor, e.from_stage) for e in entries]
    if planned.intersection(kinds) or "create" in kinds:
        return None  # a re-derived rule's entries are left out, which changes what follows
    decision_at = [i for i, k in enumerate(kinds) if k not in _TIMED_KINDS]
    changes = [_restamped(first, first.from_stage, stage, first.at, first.evidence, p.version)]
    entered = first.at
    next_decision = 0  # index into decision_at of the first decision still waiting
    for i, (entry, kind) in enumerate(zip(entries, kinds, strict=True)):
        if entry.at <= entered:
            return None
        if next_decision < len(decision_at) and decision_at[next_decision] > i:
            head = entries[decision_at[next_decision]]
            rec = setup.recorder(head)
            assert head.from_stage is not None
            source = setup.map(head.from_stage, rec)
            if source == stage:  # the walk would make it at its due moment: not before this entry
                stored = entries[decision_at[next_decision] - 1].at
                if max(entered, head.at + (entered - stored)) < entry.at:
                    return None
            else:
                here, there = orders.get(stage), orders.get(source or "")
                if here is not None and there is not None and here > there:
                    return None  # the walk drops it
        rec = setup.recorder(entry)
        if kind in _TIMED_KINDS:
            target = _timed_target(setup, entry, kind)
            if target is None or target == stage or _timed_refusal(setup, kind, stage, h.contact.source):
                return None
        else:
            next_decision += 1
            assert entry.from_stage is not None
            source, target = setup.map(entry.from_stage, rec), setup.map(entry.to_stage, rec)
            if (source != stage or target is None or target == stage or rec is None
                    or source != entry.from_stage or not setup.judged_alike(rec, target, entry.to_stage)):
                return None
        changes.append(_restamped(entry, stage, target, entry.at, entry.evidence, p.version))
        stage, entered = target, entry.at
    return ContactReplay(tuple(changes))


_TIMED_KINDS = frozenset({"account", "import", "promotion", "trial", "dormancy"})


def contact_fit(h: ContactHistory, policy: Policy) -> float:
    """The contact's fit points under `policy` (fit never changes over a history)."""
    return score_fit(fit_values(h.contact, h.account), policy.scoring)[0]


def _start_stage(first: StageChange, setup: ReplaySetup) -> str:
    """Where the record starts: the policy's first stage, or the label it was imported with."""
    p = setup.policy
    if first.actor.startswith("import"):
        return setup.map(first.to_stage, setup.recorder(first)) or p.first_stage.name
    return p.first_stage.name


def replay_contact(
    h: ContactHistory,
    setup: ReplaySetup,
    until: datetime,
    *,
    fit: float | None = None,
    moments: Sequence[datetime] | None = None,
    ceiling: float | None = None,
) -> ContactReplay:
    """Replay one contact's recorded history under `setup.policy`, up to `until`.

    `fit` is the contact's `contact_fit` under the policy, when the caller already has it.
    `moments` are its `_hot_moments` under the policy, when the caller has them
    (`crossing.hot_moments`): the promotion then needs no event until a score is read.
    `ceiling` is its `score_ceiling` under the policy, when the caller has it (`crossing.ceilings`).
    """
    p = setup.policy
    first = h.ledger[0]
    rec = setup.recorder(first)
    fit = contact_fit(h, p) if fit is None else fit
    start = _start_stage(first, setup)
    planned = setup.derived(setup.recorder(h.ledger[-1]))  # the rules in force now decide what is re-derived
    derive = _relevant(p, fit, h.contact.source, planned)
    if derive:
        if ceiling is None:
            h.need_events()
        derive = _reachable(p.scoring, fit, h, derive, ceiling)
        if derive and not (moments is not None and derive == {"promotion"}):
            h.need_events()
    if not derive and (followed := _follow_ledger(h, setup, until, start, planned)) is not None:
        return followed
    translate = rec is None or rec.framework != p.framework
    w = _Walk(h, setup, fit, translate, start, first.at)
    w.changes.append(_restamped(first, first.from_stage, w.stage, first.at, first.evidence, p.version))
    decisions, timed = _plan(h, setup, until, planned)
    events, times = h.events, h.event_times
    i_event = bisect_left(times, first.at)  # the events known before creation count from the start
    clock = _LazyClock(p.scoring, fit, h, upto=i_event)
    last_activity = times[i_event - 1] if i_event else None
    # With only the score promotion to re-derive, an event matters only at a moment when the score
    # could reach the threshold: the walk jumps between those moments instead of visiting each event.
    hot: list[datetime] | None = None
    if derive == {"promotion"}:
        hot = list(moments) if moments is not None else _hot_moments(events, p.scoring, fit, first.at)
    i_timed = 0
    retry: datetime | None = None  # a refused early decision waits for its recorded moment
    recheck: datetime | None = None
    floor = first.at  # the replay never goes back in time
    stepped = False  # every event up to `floor` has been taken in once a step was made there
    while True:
        head = decisions[0] if decisions else None
        if head is not None and head.source != w.stage:
            retry = None
            here, there = setup.orders.get(w.stage), setup.orders.get(head.source or "")
            if here is not None and there is not None and here > there:
                w.dropped.append(Dropped(head.entry, f"already past {head.source} under this policy"))
                decisions.pop(0)
                continue
        due = _due(w, head) if head is not None else None
        if due is not None:
            due = max(retry or due, floor)
        if hot is not None:
            j = bisect_right(hot, floor) if stepped else 0
            t_event = hot[j] if j < len(hot) and _promotable(p, w.stage) else None
        else:
            t_event = events[i_event].occurred_at if i_event < len(events) and derive else None
        t_timed = timed[i_timed].at if i_timed < len(timed) else None
        t_dorm = _dormant_at(w, last_activity, until) if "dormancy" in derive else None
        options = [t for t in (t_event, t_timed, due, recheck, t_dorm) if t is not None and t < until]
        if not options:
            break
        now = floor = min(options)
        stepped = True
        before = (w.stage, w.entered)
        if now in (t_event, due, recheck):  # the score as of `now`: every event up to it counted
            i_next = bisect_right(times, now, i_event)
            if i_next > i_event:
                last_activity = times[i_next - 1]
                i_event = clock.upto = i_next
        if now == t_event:
            _try_rules(w, now, clock, derive)
        elif now == t_timed:
            _apply_timed(w, timed[i_timed])
            i_timed += 1
        elif now == due and head is not None:
            if _decide(w, head, now, clock):
                decisions.pop(0)
                retry = None
            else:
                retry = head.entry.at
        elif now == recheck:
            recheck = None
            _try_rules(w, now, clock, derive)
        else:
            rule = p.dormancy
            assert rule is not None
            last = last_activity or h.contact.created_at or w.entered
            entry = _auto_entry(h, "rule:dormancy", f"no activity for {rule.after_days} days", rule.move_to)
            w.move(entry, rule.move_to, now,
                   {"last_activity_at": last.isoformat(), "dormant_after_days": rule.after_days})
        if (w.stage, w.entered) != before and derive & {"promotion", "trial"}:
            recheck = w.entered + RESCORE_AFTER
    w.dropped.extend(Dropped(d.entry, f"never reached {d.source or d.entry.from_stage} under this policy")
                     for d in decisions)
    return ContactReplay(tuple(w.changes), tuple(w.dropped), w.shifted, w.absorbed)

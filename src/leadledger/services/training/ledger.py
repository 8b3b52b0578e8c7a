"""The training set from the ledger: rows of leads as known at a moment, labelled by what came next.

Two ways to cut the ledger into rows:

- snapshots (the default of `leadledger train`): each lead contributes one row per snapshot time —
  every `every_days` days after its creation, up to day `horizon_days` — while it is still open (has
  not reached the outcome stage yet); a row is labelled converted when the lead reached the outcome
  within `within_days` after that snapshot. This is how a lead is scored in practice (every day, not
  once), and it sees behaviour that comes at any point of a lead's life: a buying burst in week 9 is
  in the week-9 snapshot's features, whatever day a single decision time would have picked. A lead
  also stops being snapshotted at its first two-way event (sales contact, unless `after_contact`):
  from then on the rep's meetings and calls, not the lead's behaviour, drive the outcome, and the
  predictive score is for ranking leads before sales works them. Only
  snapshots whose `within_days` window has ended are used (their label is known). Each lead keeps at
  most `per_lead` snapshots, evenly spread over its open life, so the set stays bounded.
- one decision time per lead (`decision_days` after creation); the lead is labelled converted when
  the ledger first moved it to the outcome stage or beyond within `horizon_days` after that. Leads
  already past the outcome at their decision time are left out (nothing was left to decide), and so
  are leads whose horizon has not ended yet (their outcome is not known).

Rows carry their lead as a group: folds keep a lead's snapshots together (services/training/evaluation).

The set is bounded by `max_rows` in all (default 30,000): past it, whole leads are sampled (seeded,
never a lead split), the same share of the converted leads as of the others, so the converted share
of leads and rows, and with it the model's probabilities, stay those of the full ledger.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine

from leadledger.domain.policy import Scoring
from leadledger.domain.predict.lead_features import lead_features, lead_row
from leadledger.domain.predict.rules import RuleRow
from leadledger.domain.records import Contact, EventType
from leadledger.domain.scoring import decay_factor, fit_values, score_contact
from leadledger.errors import LeadledgerError
from leadledger.services.training.mapping import TrainingMapping
from leadledger.services.training.table import LeadTable

EVENT_TYPES = tuple(t.value for t in EventType)
MAX_ROWS = 30_000  # default bound on the training rows: ≈ 1.5 CPU-minutes of `leadledger train`


@dataclass(frozen=True, slots=True)
class Snapshots:
    """A row per open lead every `every_days`; converted = reached the outcome within `within_days`."""

    every_days: int = 7
    within_days: int = 30
    per_lead: int = 26  # at most this many rows per lead (evenly spread), so the set stays bounded
    after_contact: bool = False  # also snapshot leads already in conversation with sales


@dataclass(frozen=True, slots=True)
class LedgerOutcome:
    """What counts as converted, and when a lead is judged (snapshots, else one decision time)."""

    stage: str | None = None  # None: the policy's customer stage
    decision_days: int = 30  # single-time mode: judge each lead this many days after creation
    horizon_days: int = 180  # single-time: the outcome window after the decision; snapshots: last day
    snapshots: Snapshots | None = None  # set: snapshot rows (decision_days is not used)
    max_rows: int | None = MAX_ROWS  # past this, whole leads are sampled (None: every row)

    def name(self, stage: str) -> str:
        """The outcome in words, as the report and the model registry show it."""
        s = self.snapshots
        if s is None:
            return f"reached {stage} within {self.horizon_days} days of day {self.decision_days}"
        return (f"reached {stage} within {s.within_days} days of a snapshot (every {s.every_days} days "
                f"while open, up to day {self.horizon_days})")


@dataclass(frozen=True, slots=True)
class LedgerSet:
    """The ledger's leads as a table, with what was left out and why."""

    table: LeadTable
    mapping: TrainingMapping
    already_converted: int  # reached the outcome before their decision time (or contacted before a snapshot)
    too_recent: int  # horizon (or first snapshot's window) not over yet
    window: tuple[datetime | None, datetime | None]  # first and last decision (snapshot) time
    rule_rows: tuple[RuleRow, ...] = ()  # per row: the policy's rule score and its inputs, at decision
    scoring: Scoring | None = None  # the policy's scoring section the rule scores come from
    leads: int = 0  # distinct leads behind the rows
    rows_note: str = ""  # what a row is, in words, with the counts
    sampled_from: tuple[int, int] | None = None  # rows and leads before sampling down to `max_rows`


def evenly(items: list[datetime], most: int) -> list[datetime]:
    """At most `most` of `items`, evenly spread and keeping the first and the last."""
    if len(items) <= most:
        return items
    if most == 1:
        return items[:1]
    step = (len(items) - 1) / (most - 1)
    return [items[round(i * step)] for i in range(most)]


def snapshot_times(
    created: datetime, reached: datetime | None, outcome: LedgerOutcome, as_of: datetime,
    contacted: datetime | None = None,
) -> list[datetime]:
    """The lead's snapshot times: while still open (and, by default, before sales contact), with a label
    window that has ended by `as_of`."""
    s = outcome.snapshots
    assert s is not None
    step, within = timedelta(days=s.every_days), timedelta(days=s.within_days)
    times = []
    k = 1
    while k * s.every_days <= outcome.horizon_days:
        at = created + k * step
        if at + within > as_of or (reached is not None and reached <= at):
            break
        if contacted is not None and contacted < at and not s.after_contact:
            break
        times.append(at)
        k += 1
    return evenly(times, s.per_lead)


def _plan(
    every: list[Contact], reaches: dict[int, datetime], outcome: LedgerOutcome, as_of: datetime,
    contacts: dict[int, datetime],
) -> tuple[list[tuple[Contact, datetime, bool]], int]:
    """(lead, as-of time, label) per row, and how many leads had converted before their first row."""
    rows: list[tuple[Contact, datetime, bool]] = []
    gone = 0
    s = outcome.snapshots
    for c in every:
        created, reached = c.created_at or as_of, reaches.get(c.id)
        if s is None:
            at = created + timedelta(days=outcome.decision_days)
            horizon = timedelta(days=outcome.horizon_days)
            if reached is not None and reached <= at:
                gone += 1
            else:
                rows.append((c, at, reached is not None and reached <= at + horizon))
            continue
        times = snapshot_times(created, reached, outcome, as_of, contacts.get(c.id))
        if not times:
            gone += 1  # mature (created early enough) yet converted (or contacted) before its first snapshot
        within = timedelta(days=s.within_days)
        rows += [(c, at, reached is not None and reached <= at + within) for at in times]
    return rows, gone


Plan = list[tuple[Contact, datetime, bool]]


def sample_leads(plan: Plan, most: int | None, seed: int = 0) -> tuple[Plan, tuple[int, int] | None]:
    """At most `most` rows of whole leads, the same share of converted and unconverted leads, seeded.

    Returns the kept rows (in plan order) and, when it sampled, the rows and leads before sampling.
    Leads are shuffled and taken while they fit, per outcome, up to that outcome's share of `most`:
    a lead's rows are never split (folds keep a lead together), and keeping the converted share as it
    is keeps the probabilities honest (keeping every converted lead would inflate them).
    """
    if most is None or len(plan) <= most:
        return plan, None
    rows: dict[int, int] = {}
    converted: set[int] = set()
    for c, _, label in plan:
        rows[c.id] = rows.get(c.id, 0) + 1
        if label:
            converted.add(c.id)
    rng = random.Random(seed)
    kept: set[int] = set()
    for ids in (sorted(converted), sorted(set(rows) - converted)):
        budget = most * sum(rows[i] for i in ids) / len(plan)
        rng.shuffle(ids)
        used = 0
        for cid in ids:
            if used + rows[cid] <= budget:
                kept.add(cid)
                used += rows[cid]
    return [p for p in plan if p[0].id in kept], (len(plan), len(rows))


def ledger_table(engine: Engine, outcome: LedgerOutcome, as_of: datetime, *, seed: int = 0) -> LedgerSet:
    """Read every mature lead and build its rows, each as of its decision (snapshot) time.

    Past `outcome.max_rows` rows, whole leads are sampled with `seed` before any row is built.
    """
    from leadledger.store.policies import load_active_policy
    from leadledger.store.training_reads import (
        accounts_by_id,
        events_before,
        first_reaches,
        first_two_way,
        leads_created_by,
    )

    if outcome.snapshots is None:
        latest_created = as_of - timedelta(days=outcome.decision_days + outcome.horizon_days)
    else:  # the first snapshot's label window must have ended
        latest_created = as_of - timedelta(days=outcome.snapshots.every_days + outcome.snapshots.within_days)
    with engine.connect() as conn:
        policy = load_active_policy(conn)
        stage = outcome.stage or (policy.customer_stage.name if policy.customer_stage else None)
        start = policy.order(stage) if stage else None
        if stage is None or start is None:
            main = ", ".join(s.name for s in policy.main_stages)
            raise LeadledgerError(f"outcome stage {stage!r} is not a main stage of policy {policy.version} "
                                  f"({main})")
        reached_stages = [s.name for s in policy.main_stages[start:]]
        every = leads_created_by(conn, latest_created)
        too_recent = len(leads_created_by(conn, as_of)) - len(every)
        reaches = first_reaches(conn, reached_stages)
        contacts = first_two_way(conn) if outcome.snapshots is not None else {}
        plan, gone = _plan(every, reaches, outcome, as_of, contacts)
        plan, sampled_from = sample_leads(plan, outcome.max_rows, seed)
        times: dict[int, list[tuple[datetime, bool]]] = {}
        by_id: dict[int, Contact] = {}
        for c, at, label in plan:
            times.setdefault(c.id, []).append((at, label))
            by_id[c.id] = c
        owners = accounts_by_id(conn, {c.account_id for c in by_id.values() if c.account_id is not None})
        features = lead_features(EVENT_TYPES)
        columns: dict[str, list[str | None]] = {s.name: [] for s in features}
        outcomes, ids, order, rule = [], [], [], []
        latest = max((at for _, at, _ in plan), default=as_of)
        half_life = policy.scoring.half_life_days
        for chunk, history in events_before(conn, list(times), latest):
            for cid in chunk:
                lead = by_id[cid]
                account = owners.get(lead.account_id) if lead.account_id is not None else None
                seen = history.get(cid, [])
                values = fit_values(lead, account)
                for at, label in times[cid]:
                    row = lead_row(lead, account, seen, at, event_types=EVENT_TYPES, half_life_days=half_life)
                    # The rule score from the same events the row saw (all strictly before `at`).
                    before = [e for e in seen if e.occurred_at < at]
                    score = score_contact(lead, account, before, policy.scoring, at)
                    decayed: dict[str, float] = {}
                    for e in before:
                        weight = decay_factor((at - e.occurred_at).total_seconds(), half_life)
                        decayed[e.type] = decayed.get(e.type, 0.0) + weight
                    rule.append(RuleRow(values=values, decayed=decayed, fit=score.fit, total=score.total))
                    for name, value in row.items():
                        columns[name].append(value)
                    outcomes.append(label)
                    ids.append(cid)
                    order.append(at)
    ranks = sorted(range(len(order)), key=lambda i: (order[i], ids[i]))
    position = [0] * len(order)
    for rank, i in enumerate(ranks):
        position[i] = rank
    name = outcome.name(stage)
    mapping = TrainingMapping(
        name=name, origin="ledger", description="", outcome_column=stage, positive=frozenset(),
        negative=frozenset(), order_column="decision time", missing=frozenset(), features=features, leaky=(),
    )
    table = LeadTable(source=engine.url.render_as_string(hide_password=True), features=features,
                      columns=columns, outcomes=outcomes, lines=ids, order=position, row_label="contact",
                      groups=ids if outcome.snapshots is not None else None)
    return LedgerSet(table=table, mapping=mapping, already_converted=gone, too_recent=too_recent,
                     window=(min(order, default=None), max(order, default=None)), rule_rows=tuple(rule),
                     scoring=policy.scoring, leads=len(times), sampled_from=sampled_from,
                     rows_note=rows_note(outcome, len(ids), len(times), sampled_from))


def rows_note(
    outcome: LedgerOutcome, rows: int, leads: int, sampled_from: tuple[int, int] | None = None
) -> str:
    """What a row is, with counts: '1 row per lead per week while open …: 41,230 rows from 8,112 leads'."""
    s, sample = outcome.snapshots, ""
    if sampled_from is not None:
        before, of = sampled_from
        sample = (f" (a seeded sample of whole leads, same share of converted and unconverted leads, to stay "
                  f"under {outcome.max_rows:,} rows: of {before:,} rows from {of:,} leads)")
    if s is None:
        day = outcome.decision_days
        return f"1 row per lead, as of day {day}: {rows:,} rows from {leads:,} leads{sample}"
    cadence = "per week" if s.every_days == 7 else f"every {s.every_days} days"
    until = "" if s.after_contact else " and before sales contact"
    return (f"1 row per lead {cadence} while open{until} (up to day {outcome.horizon_days}, at most "
            f"{s.per_lead} per lead), converted = reached within {s.within_days} days: {rows:,} rows from "
            f"{leads:,} leads{sample}")

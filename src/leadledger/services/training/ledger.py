"""The training set from the ledger: one row per lead, as known at its decision time.

A lead's decision time is `decision_days` after it was created (what the team knew then); it is
labelled converted when the ledger first moved it to the outcome stage or beyond within
`horizon_days` after that. Leads already past the outcome at their decision time are left out
(nothing was left to decide), and so are leads whose horizon has not ended yet (their outcome is
not known).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine

from leadledger.domain.policy import Scoring
from leadledger.domain.predict.lead_features import lead_features, lead_row
from leadledger.domain.predict.rules import RuleRow
from leadledger.domain.records import EventType
from leadledger.domain.scoring import decay_factor, fit_values, score_contact
from leadledger.errors import LeadledgerError
from leadledger.services.training.mapping import TrainingMapping
from leadledger.services.training.table import LeadTable

EVENT_TYPES = tuple(t.value for t in EventType)


@dataclass(frozen=True, slots=True)
class LedgerOutcome:
    """What counts as converted, and when a lead is judged."""

    stage: str | None = None  # None: the policy's customer stage
    decision_days: int = 30
    horizon_days: int = 180


@dataclass(frozen=True, slots=True)
class LedgerSet:
    """The ledger's leads as a table, with what was left out and why."""

    table: LeadTable
    mapping: TrainingMapping
    already_converted: int  # reached the outcome before their decision time
    too_recent: int  # horizon not over yet
    window: tuple[datetime | None, datetime | None]  # first and last decision time
    rule_rows: tuple[RuleRow, ...] = ()  # per row: the policy's rule score and its inputs, at decision
    scoring: Scoring | None = None  # the policy's scoring section the rule scores come from


def ledger_table(engine: Engine, outcome: LedgerOutcome, as_of: datetime) -> LedgerSet:
    """Read every mature lead and build its row as of its decision time."""
    from leadledger.store.policies import load_active_policy
    from leadledger.store.training_reads import accounts_by_id, events_before, first_reaches, leads_created_by

    decide = timedelta(days=outcome.decision_days)
    horizon = timedelta(days=outcome.horizon_days)
    with engine.connect() as conn:
        policy = load_active_policy(conn)
        stage = outcome.stage or (policy.customer_stage.name if policy.customer_stage else None)
        start = policy.order(stage) if stage else None
        if stage is None or start is None:
            main = ", ".join(s.name for s in policy.main_stages)
            raise LeadledgerError(f"outcome stage {stage!r} is not a main stage of policy {policy.version} "
                                  f"({main})")
        reached_stages = [s.name for s in policy.main_stages[start:]]
        every = leads_created_by(conn, as_of - decide - horizon)
        too_recent = len(leads_created_by(conn, as_of)) - len(every)
        reaches = first_reaches(conn, reached_stages)
        decisions = {c.id: (c.created_at or as_of) + decide for c in every}
        leads = [c for c in every if not (c.id in reaches and reaches[c.id] <= decisions[c.id])]
        owners = accounts_by_id(conn, {c.account_id for c in leads if c.account_id is not None})
        features = lead_features(EVENT_TYPES)
        columns: dict[str, list[str | None]] = {s.name: [] for s in features}
        outcomes, ids, order, rule = [], [], [], []
        by_id = {c.id: c for c in leads}
        latest = max(decisions.values(), default=as_of)
        for chunk, history in events_before(conn, [c.id for c in leads], latest):
            for cid in chunk:
                lead, at = by_id[cid], decisions[cid]
                account = owners.get(lead.account_id) if lead.account_id is not None else None
                seen = history.get(cid, [])
                row = lead_row(lead, account, seen, at, event_types=EVENT_TYPES,
                               half_life_days=policy.scoring.half_life_days)
                # The rule score from the same events the row saw (all strictly before `at`).
                before = [e for e in seen if e.occurred_at < at]
                score = score_contact(lead, account, before, policy.scoring, at)
                decayed: dict[str, float] = {}
                for e in before:
                    age = (at - e.occurred_at).total_seconds()
                    weight = decay_factor(age, policy.scoring.half_life_days)
                    decayed[e.type] = decayed.get(e.type, 0.0) + weight
                rule.append(RuleRow(values=fit_values(lead, account), decayed=decayed, fit=score.fit,
                                    total=score.total))
                for name, value in row.items():
                    columns[name].append(value)
                outcomes.append(cid in reaches and reaches[cid] <= at + horizon)
                ids.append(cid)
                order.append(at)
    ranks = sorted(range(len(order)), key=lambda i: order[i])
    position = [0] * len(order)
    for rank, i in enumerate(ranks):
        position[i] = rank
    name = f"reached {stage} within {outcome.horizon_days} days of day {outcome.decision_days}"
    mapping = TrainingMapping(
        name=name, origin="ledger", description="", outcome_column=stage, positive=frozenset(),
        negative=frozenset(), order_column="decision time", missing=frozenset(), features=features, leaky=(),
    )
    table = LeadTable(source=engine.url.render_as_string(hide_password=True), features=features,
                      columns=columns, outcomes=outcomes, lines=ids, order=position, row_label="contact")
    return LedgerSet(table=table, mapping=mapping, already_converted=len(every) - len(leads),
                     too_recent=too_recent, window=(min(order, default=None), max(order, default=None)),
                     rule_rows=tuple(rule), scoring=policy.scoring)

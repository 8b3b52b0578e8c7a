"""One contact's record page: `explain` (stage, score breakdown, evidence, next gate) plus a capped timeline.

Every read is by the contact's key through an index (contact id, email, account id), so the page
costs the same at 1M contacts as at 10k. The timeline merges the newest `limit` events with the
whole ledger (a contact has a handful of stage changes); the total number of events says whether
there is more to show.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from leadledger.errors import LeadledgerError, NotFound
from leadledger.services.browse import contact_email
from leadledger.services.contacts import Explanation, explain
from leadledger.store import db
from leadledger.store.schema import contacts, events, predictions, predictive_models

DEFAULT_TIMELINE = 50
MAX_TIMELINE = 2000


@dataclass(frozen=True, slots=True, kw_only=True)
class TimelineEntry:
    """One line of the timeline: an engagement event or a ledger entry, newest first."""

    at: datetime
    kind: str  # "event" or "stage_change"
    title: str  # the event type, or "mql → sal"
    detail: str  # properties of an event; actor and reason of a stage change
    two_way: bool = False
    evidence: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Prediction:
    """The active predictive model's view of this contact: probability now, why, and what `score` stored."""

    model_id: int
    outcome: str
    applies: bool  # False once the contact reached the outcome stage
    probability: float | None  # the active model's, as of the page's clock
    stored_probability: float | None  # what the last `leadledger score` wrote
    scored_at: datetime | None
    up: tuple[str, ...]  # strongest factors pushing up, in words ("Source = free trial: +12%")
    down: tuple[str, ...]
    note: str | None  # e.g. "not scored by model 3 yet — run `leadledger score`"


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordView:
    """Everything the record page shows."""

    explanation: Explanation
    timeline: tuple[TimelineEntry, ...]
    events_total: int
    events_shown: int
    prediction: Prediction | None
    stages: tuple[tuple[str, str], ...]  # (name, label) of every stage, for the move form
    evidence_fields: tuple[str, ...]  # the evidence keys a move may carry under the policy

    @property
    def more_events(self) -> bool:
        """Whether older events exist beyond those shown."""
        return self.events_total > self.events_shown

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: `explain`'s, plus the timeline and the prediction."""
        return {
            **self.explanation.to_dict(),
            "timeline": [
                {"at": t.at, "kind": t.kind, "title": t.title, "detail": t.detail, "two_way": t.two_way,
                 "evidence": t.evidence}
                for t in self.timeline
            ],
            "events_total": self.events_total,
            "events_shown": self.events_shown,
            "prediction": None if self.prediction is None else asdict(self.prediction),
            "stages": [name for name, _ in self.stages],
            "evidence_fields": list(self.evidence_fields),
        }


def _event_detail(properties: str | None) -> str:
    if not properties:
        return ""
    try:
        props = json.loads(properties)
    except ValueError:
        return properties[:200]
    if not isinstance(props, dict):
        return str(props)[:200]
    return ", ".join(f"{k}: {v}" for k, v in props.items() if v not in (None, ""))[:200]


def id_of(engine: Engine, email: str) -> int:
    """The id of the contact with this email, or NotFound."""
    with engine.connect() as conn:
        cid = conn.execute(
            select(contacts.c.id).where(contacts.c.email == email.strip().lower())
        ).scalar_one_or_none()
    if cid is None:
        raise NotFound(f"no contact with email {email!r}")
    return int(cid)


def record_view(
    engine: Engine, contact_id: int, now: datetime, *, limit: int = DEFAULT_TIMELINE, why: bool = False
) -> RecordView:
    """The record page of contact `contact_id` as of `now`, its timeline capped at `limit` events.

    The predictive probability is the one `leadledger score` stored (one indexed read); `why` asks
    the active model for its factors as of now, which costs tens of milliseconds (the model is
    loaded and run), so the page does it only when asked.
    """
    from leadledger.domain.transitions import allowed_evidence_fields
    from leadledger.store.policies import load_active_policy

    limit = max(1, min(limit, MAX_TIMELINE))
    x = explain(engine, contact_email(engine, contact_id), now)
    ev = events.c
    with engine.connect() as conn:
        policy = load_active_policy(conn)
        total = conn.execute(select(func.count()).where(ev.contact_id == contact_id)).scalar_one()
        rows = conn.execute(
            select(ev.occurred_at, ev.type, ev.two_way, ev.properties)
            .where(ev.contact_id == contact_id)
            .order_by(ev.occurred_at.desc(), ev.seq.desc())
            .limit(limit)
        ).all()
        stored = None if why else _stored_prediction(conn, contact_id)
    timeline = [
        TimelineEntry(at=db.from_db(r.occurred_at) or now, kind="event", title=r.type.replace("_", " "),
                      detail=_event_detail(r.properties), two_way=bool(r.two_way))
        for r in rows
    ]
    timeline += [
        TimelineEntry(
            at=s.at, kind="stage_change", title=f"{s.from_stage or '—'} → {s.to_stage}",
            detail=f"by {s.actor}" + (f": {s.reason}" if s.reason else ""), evidence=dict(s.evidence),
        )
        for s in x.ledger
    ]
    timeline.sort(key=lambda t: (t.at, t.kind == "stage_change"), reverse=True)
    return RecordView(
        explanation=x,
        timeline=tuple(timeline),
        events_total=int(total),
        events_shown=len(rows),
        prediction=_prediction(engine, contact_id, now) if why else stored,
        stages=tuple((s.name, s.label) for s in policy.stages),
        evidence_fields=allowed_evidence_fields(policy),
    )


def _stored_prediction(conn: Connection, contact_id: int) -> Prediction | None:
    """What the last `leadledger score` stored for the contact under the active model (None: no model)."""
    pm, pr = predictive_models.c, predictions.c
    active = conn.execute(select(pm.id, pm.outcome).where(pm.active.is_(True))).first()
    if active is None:
        return None
    row = conn.execute(
        select(pr.model_id, pr.probability, pr.scored_at).where(pr.contact_id == contact_id)
    ).first()
    current = row is not None and row.model_id == active.id
    note = None
    if row is None:
        note = "no stored probability: past the outcome stage, or not scored since the model was activated"
    elif not current:
        note = f"stored by model {row.model_id}; active is {active.id} — run `leadledger score`"
    return Prediction(
        model_id=int(active.id), outcome=str(active.outcome), applies=row is not None,
        probability=float(row.probability) if current and row is not None else None,
        stored_probability=None if row is None else float(row.probability),
        scored_at=None if row is None else db.from_db(row.scored_at), up=(), down=(), note=note,
    )


def _prediction(engine: Engine, contact_id: int, now: datetime) -> Prediction | None:
    """The active model's probability and factors (services.predicting), None without an active model."""
    from leadledger.services.predicting import explain_prediction

    try:
        p = explain_prediction(engine, contact_id, now)
    except LeadledgerError as e:  # a model the ledger cannot feed: the page still shows the rules
        return Prediction(model_id=0, outcome="", applies=False, probability=None, stored_probability=None,
                          scored_at=None, up=(), down=(), note=f"the predictive model cannot explain it: {e}")
    if p is None:
        return None
    x = p.explanation
    return Prediction(
        model_id=p.model_id, outcome=p.outcome, applies=p.applies, probability=p.probability,
        stored_probability=p.stored_probability, scored_at=p.scored_at,
        up=tuple(f.words() for f in x.up) if x else (), down=tuple(f.words() for f in x.down) if x else (),
        note=p.note,
    )

"""One contact's record page: `explain` (stage, score breakdown, evidence, next gate) plus a capped timeline.

Every read is by the contact's key through an index (contact id, email, account id), so the page
costs the same at 1M contacts as at 10k. The timeline merges the newest `limit` events with the
whole ledger (a contact has a handful of stage changes); the total number of events says whether
there is more to show.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select

from leadledger.errors import NotFound
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
    """The active predictive model's probability for this contact, where `leadledger score` stored one."""

    probability: float
    model_id: int
    model_kind: str
    scored_at: datetime | None
    factors: tuple[dict[str, Any], ...] = ()  # filled when services.predicting can explain it


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
            "prediction": None if self.prediction is None else {
                "probability": self.prediction.probability,
                "model_id": self.prediction.model_id,
                "model_kind": self.prediction.model_kind,
                "scored_at": self.prediction.scored_at,
                "factors": list(self.prediction.factors),
            },
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


def email_of(engine: Engine, contact_id: int) -> str:
    """The email of contact `contact_id`, or NotFound."""
    with engine.connect() as conn:
        email = conn.execute(select(contacts.c.email).where(contacts.c.id == contact_id)).scalar_one_or_none()
    if email is None:
        raise NotFound(f"no contact with id {contact_id}")
    return str(email)


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
    engine: Engine, contact_id: int, now: datetime, *, limit: int = DEFAULT_TIMELINE
) -> RecordView:
    """The record page of contact `contact_id` as of `now`, its timeline capped at `limit` events."""
    from leadledger.domain.transitions import allowed_evidence_fields
    from leadledger.store.policies import load_active_policy

    limit = max(1, min(limit, MAX_TIMELINE))
    x = explain(engine, email_of(engine, contact_id), now)
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
        pred = conn.execute(
            select(predictions.c.probability, predictions.c.model_id, predictions.c.scored_at,
                   predictive_models.c.kind)
            .join(predictive_models, predictive_models.c.id == predictions.c.model_id)
            .where(predictions.c.contact_id == contact_id)
        ).first()
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
        prediction=None if pred is None else Prediction(
            probability=float(pred.probability), model_id=int(pred.model_id), model_kind=str(pred.kind),
            scored_at=db.from_db(pred.scored_at), factors=_factors(engine, contact_id, now),
        ),
        stages=tuple((s.name, s.label) for s in policy.stages),
        evidence_fields=allowed_evidence_fields(policy),
    )


def _factors(engine: Engine, contact_id: int, now: datetime) -> tuple[dict[str, Any], ...]:
    """The prediction's factors, when the predictive service offers an explanation (slot for it)."""
    try:
        from leadledger.services import predicting  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        return ()
    fn = getattr(predicting, "explain_prediction", None)
    if fn is None:
        return ()
    try:
        result = fn(engine, contact_id, now)
    except Exception:  # the page shows the probability even when the explanation cannot be made
        return ()
    items = result.get("factors", []) if isinstance(result, dict) else getattr(result, "factors", ())
    return tuple(dict(f) if isinstance(f, dict) else {"factor": str(f)} for f in items)

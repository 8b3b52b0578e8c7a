"""Scoring contacts with the active predictive model, and explaining one contact's prediction.

`predict_all` (run by `leadledger score`) replaces every row of `predictions` with the active
model's probability for each contact the model applies to — contacts the ledger has not yet moved
into the model's outcome stage or beyond, the rule training used — from features built set-based
(`store.prediction_features`), encoded with the model's own category codes, `CHUNK` contacts at a
time. Each row names the model that made it, so a row from an older model is never taken for
the active model's.

`explain_prediction` builds one contact's row with the reference `lead_row` (what training uses)
and turns the trees' exact contributions into the factors that pushed its probability up and down.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from itertools import repeat
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, exists, func, select

from leadledger.domain.policy import Policy
from leadledger.domain.predict.explain import Explanation, Factor, describe_ledger_value, explain
from leadledger.domain.predict.features import FeatureKind
from leadledger.domain.predict.lead_features import lead_row
from leadledger.errors import LeadledgerError, NotFound
from leadledger.services.training.matrix import OTHER, Encoder
from leadledger.services.training.models import ProductModel
from leadledger.services.training.registry import model_from_json, outcome_stage
from leadledger.services.training.table import LeadTable
from leadledger.store.bulk import bulk_insert
from leadledger.store.db import from_db, to_db
from leadledger.store.prediction_features import (
    CHUNK,
    EVENT_TYPES,
    FeatureBlock,
    applicable_ids,
    builds,
    feature_blocks,
)
from leadledger.store.predictive_models import StoredModel, active_model
from leadledger.store.schema import contacts, predictions, stage_changes

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

Progress = Callable[[str, int, int], None]
TOP_FACTORS = 3
READERS = 2  # connections reading events ahead: SQLite's per-chunk sort is most of the time


@dataclass(frozen=True, slots=True)
class PredictionRun:
    """Which model scored how many contacts, and how many it does not apply to."""

    model_id: int
    outcome: str
    outcome_stage: str | None
    predicted: int
    not_applicable: int  # already reached the outcome stage (or beyond)
    seconds: float

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {"model_id": self.model_id, "outcome": self.outcome, "outcome_stage": self.outcome_stage,
                "predicted": self.predicted, "not_applicable": self.not_applicable,
                "seconds": round(self.seconds, 3)}


def reached_stages(policy: Policy, stage: str | None) -> list[str]:
    """The outcome stage and every main stage after it (none when the policy has no such stage)."""
    start = policy.order(stage) if stage else None
    return [] if start is None else [s.name for s in policy.main_stages[start:]]


def used_features(model: ProductModel) -> set[str]:
    """Features some tree splits on: the others cannot change a prediction or its contributions."""
    importance = model.booster.feature_importance("split")
    return {s.name for s, n in zip(model.encoder.features, importance, strict=True) if n > 0}


def encode(
    encoder: Encoder, block: FeatureBlock, needed: Collection[str] | None = None
) -> NDArray[np.float64]:
    """The block as the model's matrix: what `Encoder.matrix` makes of the same values as text."""
    import numpy as np

    out = np.full((len(block), len(encoder.features)), np.nan)
    for j, spec in enumerate(encoder.features):
        if spec.kind is FeatureKind.categorical and spec.name in block.categories:
            codes = {v: float(c) for c, v in enumerate(encoder.categories[spec.name])}
            other = codes[OTHER]
            out[:, j] = [np.nan if v is None else codes.get(v, other) for v in block.categories[spec.name]]
        elif spec.kind is not FeatureKind.categorical and spec.name in block.numbers:
            out[:, j] = block.numbers[spec.name]
        elif needed is None or spec.name in needed:
            raise LeadledgerError(f"the model needs feature {spec.name!r}, which scoring did not build")
    return out


def probabilities(model: ProductModel, x: NDArray[np.float64], threads: int = 1) -> NDArray[np.float64]:
    """Calibrated P(converted) per row: exactly `ProductModel.predict`'s arithmetic."""
    import numpy as np

    raw = np.asarray(model.booster.predict(x, raw_score=True, num_threads=threads), dtype=float)
    logits = model.slope * raw + model.intercept
    return 1.0 / (1.0 + np.exp(-np.clip(logits, -700, 700)))


def _same_decay(conn: Connection, stored: StoredModel, policy: Policy) -> None:
    """Refuse to score with decayed sums on another half-life than the model was trained on."""
    from leadledger.store.policies import stored_policy

    trained = stored_policy(conn, stored.policy_version)
    if trained is None:  # imported from another database whose policy is not stored here
        return
    was, now = trained.scoring.half_life_days, policy.scoring.half_life_days
    if was != now:
        raise LeadledgerError(
            f"model {stored.id} was trained with a {was:g}-day score half-life "
            f"(policy {stored.policy_version}); "
            f"the active policy uses {now:g} days, so its decayed features would mean something else: "
            "train a new model (`leadledger train`) or activate another one")


def _checked(stored: StoredModel) -> tuple[ProductModel, set[str]]:
    model = model_from_json(stored.model or "")
    needed = used_features(model)
    unknown = needed - set(builds())
    if unknown:
        raise LeadledgerError(f"model {stored.id} uses feature(s) {', '.join(sorted(unknown))} that scoring "
                              "does not build: train a new model (`leadledger train`)")
    return model, needed


def predict_all(
    conn: Connection, policy: Policy, now: datetime, progress: Progress | None = None, *,
    threads: int = 1, chunk: int = CHUNK, readers: int = READERS,
) -> PredictionRun | None:
    """Replace `predictions` with the active model's probabilities as of `now` (None: no active model)."""
    started = time.perf_counter()
    conn.execute(predictions.delete())  # rows of a model no longer active must not survive
    stored = active_model(conn)
    if stored is None or stored.model is None:
        return None
    model, needed = _checked(stored)
    _same_decay(conn, stored, policy)
    stage = outcome_stage(stored)
    ids = applicable_ids(conn, now, reached_stages(policy, stage))
    everyone = int(conn.execute(select(func.count()).select_from(contacts)).scalar_one())
    step = f"predicting (model {stored.id})"
    if progress:
        progress(step, 0, len(ids))
    naive = to_db(now)
    assert naive is not None
    # SQLite: the text its adapter would make of the datetime, made once instead of once per row.
    scored_at: Any = naive.isoformat(sep=" ") if conn.dialect.name == "sqlite" else naive
    done = 0
    # Extra connections run the grouped events queries ahead, in parallel (they see the same
    # committed rows: this transaction only rewrites scores and predictions). An in-memory SQLite
    # database has no second connection; a single chunk gains nothing.
    separate = conn.engine.url.database not in (None, "", ":memory:") or conn.dialect.name != "sqlite"
    with contextlib.ExitStack() as stack:
        count = readers if separate and len(ids) > chunk else 0
        extra = [stack.enter_context(conn.engine.connect()) for _ in range(count)]
        for block in feature_blocks(conn, ids, now, half_life_days=policy.scoring.half_life_days,
                                    chunk=chunk, needed=needed, readers=extra):
            p = probabilities(model, encode(model.encoder, block, needed), threads)
            done += bulk_insert(conn, "predictions", ("contact_id", "model_id", "probability", "scored_at"),
                                zip(block.contact_ids.tolist(), repeat(stored.id), p.tolist(),
                                    repeat(scored_at), strict=False))
            if progress:
                progress(step, done, len(ids))
    return PredictionRun(model_id=stored.id, outcome=stored.outcome, outcome_stage=stage, predicted=done,
                         not_applicable=everyone - len(ids), seconds=time.perf_counter() - started)


@dataclass(frozen=True, slots=True)
class ContactPrediction:
    """The active model's view of one contact: its probability now, why, and what `score` stored."""

    model_id: int
    outcome: str
    outcome_stage: str | None
    applies: bool  # False: the contact already reached the outcome stage
    explanation: Explanation | None  # None when the model does not apply
    stored_model_id: int | None  # the model of the stored row, if any
    stored_probability: float | None
    scored_at: datetime | None
    note: str | None

    @property
    def probability(self) -> float | None:
        """The active model's probability as of now."""
        return None if self.explanation is None else self.explanation.probability

    @property
    def current(self) -> bool:
        """Whether the stored row was made by the active model."""
        return self.stored_model_id == self.model_id

    @property
    def factors(self) -> tuple[dict[str, Any], ...]:
        """Up then down factors, each with its words and effect (probability points)."""
        if self.explanation is None:
            return ()
        return tuple(
            {"feature": f.feature, "value": f.value, "effect": round(f.effect, 4), "words": f.words(),
             "direction": direction}
            for direction, group in (("up", self.explanation.up), ("down", self.explanation.down))
            for f in group
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "model_id": self.model_id, "outcome": self.outcome, "applies": self.applies,
            "probability": None if self.probability is None else round(self.probability, 4),
            "up": [f for f in self.factors if f["direction"] == "up"],
            "down": [f for f in self.factors if f["direction"] == "down"],
            "stored": None if self.stored_model_id is None else {
                "model_id": self.stored_model_id, "probability": self.stored_probability,
                "scored_at": self.scored_at, "current": self.current,
            },
            "note": self.note,
        }


def _note(active: int, stage: str | None, applies: bool, stored: Any) -> str | None:
    if not applies:
        return f"already reached {stage}: model {active} predicts reaching it, so it does not score it"
    if stored is None:
        return f"not scored by model {active} yet — run `leadledger score`"
    if stored.model_id != active:
        return f"scored by model {stored.model_id}; active is {active} — run `leadledger score`"
    return None


def explain_prediction(engine: Engine, contact: int | str, now: datetime, top: int = TOP_FACTORS,
                       ) -> ContactPrediction | None:
    """The active model's probability for one contact (id or email) as of `now`, with its top factors."""
    from leadledger.store.policies import load_active_policy
    from leadledger.store.records import account_by_id, contact_by_email, events_for

    with engine.connect() as conn:
        stored = active_model(conn)
        if stored is None or stored.model is None:
            return None
        policy = load_active_policy(conn)
        _same_decay(conn, stored, policy)
        email = contact if isinstance(contact, str) else conn.execute(
            select(contacts.c.email).where(contacts.c.id == contact)).scalar_one_or_none()
        if email is None:
            raise NotFound(f"no contact with id {contact}")
        person = contact_by_email(conn, email)
        stage = outcome_stage(stored)
        reached = reached_stages(policy, stage)
        applies = not reached or not conn.execute(select(exists().where(
            stage_changes.c.contact_id == person.id, stage_changes.c.to_stage.in_(reached),
            stage_changes.c.at <= to_db(now)))).scalar()
        row = conn.execute(select(predictions).where(predictions.c.contact_id == person.id)).first()
        explanation = None
        if applies:
            model, _ = _checked(stored)
            half_life = policy.scoring.half_life_days
            account = account_by_id(conn, person.account_id)
            values = lead_row(person, account, events_for(conn, person.id), now, event_types=EVENT_TYPES,
                              half_life_days=half_life)
            explanation = explain_row(model, values, half_life_days=half_life, top=top)
    return ContactPrediction(
        model_id=stored.id, outcome=stored.outcome, outcome_stage=stage, applies=bool(applies),
        explanation=explanation, stored_model_id=None if row is None else int(row.model_id),
        stored_probability=None if row is None else float(row.probability),
        scored_at=None if row is None else from_db(row.scored_at),
        note=_note(stored.id, stage, bool(applies), row),
    )


def explain_row(model: ProductModel, values: dict[str, str | None], *, half_life_days: float,
                top: int = TOP_FACTORS) -> Explanation:
    """One lead's probability and strongest factors each way, in the ledger's plain words."""
    features = model.encoder.features
    absent = [s.name for s in features if s.name not in values]
    if absent:
        raise LeadledgerError(f"the model needs feature(s) {', '.join(absent)}, which the ledger row lacks")
    table = LeadTable(source="ledger", features=features,
                      columns={s.name: [values[s.name]] for s in features},
                      outcomes=[False], lines=[0], order=None, row_label="contact")
    probability, effects = model.effects(table)
    return explain(float(probability[0]), [
        Factor(s.name, describe_ledger_value(s, values[s.name], half_life_days=half_life_days),
               float(effects[0, j]))
        for j, s in enumerate(features)
    ], top)

"""`leadledger score`: rescore everything set-based, then apply the automatic moves."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Engine, func, select

from leadledger.errors import LeadledgerError
from leadledger.services.automation import AutoMoves, Progress, apply_automatic_moves
from leadledger.store import db
from leadledger.store.batch_scoring import rescore_all
from leadledger.store.policies import load_active_policy
from leadledger.store.schema import contacts, scores

if TYPE_CHECKING:
    from leadledger.services.predicting import PredictionRun


@dataclass(frozen=True, slots=True)
class ScoreReport:
    """How many were scored, how the scores spread, and which moves followed."""

    scored: int
    above_threshold: int
    threshold: float
    moves: AutoMoves
    seconds: float
    policy_version: str
    prediction: PredictionRun | None = None  # None: no active predictive model (or it was refused)
    prediction_refused: str | None = None  # why the active model could not score (rule scores still did)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "scored": self.scored,
            "above_threshold": self.above_threshold,
            "threshold": self.threshold,
            "moves": self.moves.to_dict(),
            "seconds": round(self.seconds, 3),
            "policy_version": self.policy_version,
            "prediction": None if self.prediction is None else self.prediction.to_dict(),
            "prediction_refused": self.prediction_refused,
        }


def rescore(
    engine: Engine, now: datetime, progress: Progress | None = None, *, threads: int = 1
) -> ScoreReport:
    """Score every contact as of `now` (rules, active model), apply automatic moves, in one transaction."""
    from leadledger.services.predicting import predict_all  # LightGBM only when a model is active

    started = time.perf_counter()
    with db.transaction(engine) as conn:
        policy = load_active_policy(conn)
        total = conn.execute(select(func.count()).select_from(contacts)).scalar_one()
        if progress:
            progress("scoring", 0, total)
        scored = rescore_all(conn, policy, now)
        if progress:
            progress("scoring", scored, total)
        above = conn.execute(
            select(func.count()).select_from(scores).where(scores.c.total >= policy.scoring.mql_threshold)
        ).scalar_one()
        # Before the moves: the model predicts from the ledger as it stood, like training's rows.
        refused = None
        try:
            prediction = predict_all(conn, policy, now, progress, threads=threads)
        except LeadledgerError as e:  # e.g. trained on another half-life: stale rows are gone, rules go on
            prediction, refused = None, str(e)
        moves = apply_automatic_moves(conn, policy, now, progress)
    return ScoreReport(
        scored=scored,
        above_threshold=above,
        threshold=policy.scoring.mql_threshold,
        moves=moves,
        seconds=time.perf_counter() - started,
        policy_version=policy.version,
        prediction=prediction,
        prediction_refused=refused,
    )

"""Versioned predictive models: a trained product model as portable JSON, stored and activated.

The model is stored as text (LightGBM's own model format plus the category codes and the
calibration), never pickled, so it scores the same in any database and any process.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from leadledger.domain.predict.features import FeatureKind, FeatureSpec
from leadledger.services.training.ledger import LedgerOutcome, LedgerSet
from leadledger.services.training.matrix import Encoder
from leadledger.services.training.models import ProductModel
from leadledger.services.training.run import TrainingReport
from leadledger.store.predictive_models import (
    StoredModel,
    activate_model,
    active_model,
    list_models,
    rollback_model,
    save_model,
)

KIND = "lightgbm+platt"
FORMAT = 1


def model_to_json(model: ProductModel, *, outcome_stage: str | None = None) -> str:
    """Everything needed to score with the model, as JSON text (with the stage it predicts, if known)."""
    return json.dumps({
        "format": FORMAT, **({"outcome_stage": outcome_stage} if outcome_stage else {}),
        "features": [[s.name, s.kind.value] for s in model.encoder.features],
        "categories": {k: list(v) for k, v in model.encoder.categories.items()},
        "slope": model.slope, "intercept": model.intercept, "rounds": model.rounds,
        "booster": model.booster.model_to_string(),
    })


def model_from_json(text: str) -> ProductModel:
    """The model back from `model_to_json` text."""
    import lightgbm as lgb

    data: dict[str, Any] = json.loads(text)
    if data.get("format") != FORMAT:
        raise ValueError(f"unknown stored model format {data.get('format')!r}")
    encoder = Encoder(
        features=tuple(FeatureSpec(name, FeatureKind(kind)) for name, kind in data["features"]),
        categories={k: tuple(v) for k, v in data["categories"].items()},
    )
    return ProductModel(encoder=encoder, booster=lgb.Booster(model_str=data["booster"]),
                        slope=float(data["slope"]), intercept=float(data["intercept"]),
                        rounds=int(data["rounds"]))


def store_ledger_model(
    engine: Engine, report: TrainingReport, model: ProductModel, found: LedgerSet, outcome: LedgerOutcome,
    *, now: datetime, activate: bool = True,
) -> int:
    """Save a model trained on the ledger with its figures, window, features and policy version."""
    from leadledger.store.policies import load_active_policy

    with engine.begin() as conn:
        policy = load_active_policy(conn)
        return save_model(conn, {
            "kind": KIND, "outcome": report.mapping, "window_start": found.window[0],
            "window_end": found.window[1], "leads": report.leads, "converted": report.positives,
            "features": json.dumps(list(report.features)), "metrics": json.dumps(report.to_dict()),
            "policy_version": policy.version,
            "model": model_to_json(model, outcome_stage=found.mapping.outcome_column),
        }, activate=activate, now=now)


def outcome_stage(stored: StoredModel) -> str | None:
    """The stage the model predicts reaching: from its JSON, else from its outcome's wording."""
    import re

    if stored.model:
        stage = json.loads(stored.model).get("outcome_stage")
        if isinstance(stage, str):
            return stage
    found = re.match(r"reached (\S+) within ", stored.outcome)  # "reached customer within 180 days of day 30"
    return found.group(1) if found else None


def stored_models(engine: Engine) -> list[StoredModel]:
    """Every stored version, newest first."""
    with engine.connect() as conn:
        return list_models(conn)


def activate(engine: Engine, model_id: int, now: datetime) -> None:
    """Make a stored version the active one."""
    with engine.begin() as conn:
        activate_model(conn, model_id, now)


def rollback(engine: Engine, now: datetime) -> StoredModel:
    """Go back to the version active before the current one."""
    with engine.begin() as conn:
        return rollback_model(conn, now)


def load_active(engine: Engine) -> tuple[StoredModel, ProductModel] | None:
    """The active version and its model, ready to score."""
    with engine.connect() as conn:
        stored = active_model(conn)
    if stored is None or stored.model is None:
        return None
    return stored, model_from_json(stored.model)


EXPORT_FORMAT = "leadledger-model"
EXPORT_FIELDS: dict[str, type | tuple[type, ...]] = {
    "kind": str, "outcome": str, "window_start": (str, type(None)), "window_end": (str, type(None)),
    "leads": int, "converted": int, "features": list, "metrics": dict, "policy_version": str, "model": dict,
}


def export_model(engine: Engine, model_id: int) -> str:
    """A stored version as a self-contained JSON document (its figures, window and the model)."""
    from leadledger.store.predictive_models import get_model

    with engine.connect() as conn:
        stored = get_model(conn, model_id)
    return json.dumps({
        "format": EXPORT_FORMAT, "version": FORMAT, "id": stored.id,
        "created_at": stored.created_at.isoformat(),
        "kind": stored.kind, "outcome": stored.outcome,
        "window_start": stored.window_start.isoformat() if stored.window_start else None,
        "window_end": stored.window_end.isoformat() if stored.window_end else None,
        "leads": stored.leads, "converted": stored.converted, "features": json.loads(stored.features),
        "metrics": json.loads(stored.metrics), "policy_version": stored.policy_version,
        "model": json.loads(stored.model or "{}"),
    }, indent=1)


def read_export(text: str, source: str) -> dict[str, Any]:
    """Check an exported model document; a problem names the file, the line or field, and why."""
    from leadledger.errors import LeadledgerError

    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LeadledgerError(f"{source}, line {exc.lineno}: not JSON ({exc.msg})") from None
    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
        raise LeadledgerError(f"{source}: field 'format' must be {EXPORT_FORMAT!r} (a `leadledger models "
                              "export` file)")
    if data.get("version") != FORMAT:
        raise LeadledgerError(f"{source}: field 'version' is {data.get('version')!r}; this leadledger reads "
                              f"version {FORMAT}")
    for field, kind in EXPORT_FIELDS.items():
        if field not in data:
            raise LeadledgerError(f"{source}: field {field!r} is missing")
        if not isinstance(data[field], kind) or isinstance(data[field], bool):
            raise LeadledgerError(
                f"{source}: field {field!r} has the wrong type ({type(data[field]).__name__})")
    try:
        model_from_json(json.dumps(data["model"]))
    except Exception as exc:  # LightGBM or a missing key: the model itself is unusable
        raise LeadledgerError(f"{source}: field 'model' is not a usable model ({exc})") from None
    return data


def import_model(engine: Engine, text: str, source: str, *, now: datetime, activate: bool) -> int:
    """Store an exported model as a new version of this database (active if asked); returns its id."""
    data = read_export(text, source)
    values = {k: data[k] for k in ("kind", "outcome", "leads", "converted", "policy_version")}
    values.update({
        "window_start": datetime.fromisoformat(data["window_start"]) if data["window_start"] else None,
        "window_end": datetime.fromisoformat(data["window_end"]) if data["window_end"] else None,
        "features": json.dumps(data["features"]), "metrics": json.dumps(data["metrics"]),
        "model": json.dumps(data["model"]),
    })
    with engine.begin() as conn:
        return save_model(conn, values, activate=activate, now=now)

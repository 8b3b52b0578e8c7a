"""Stored predictive models: the same scores after a round trip through either database; one active."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from leadledger.errors import LeadledgerError, NotFound
from leadledger.services.training.mapping import load_training_mapping
from leadledger.services.training.models import ProductModel, fit_product
from leadledger.services.training.registry import (
    activate,
    load_active,
    model_from_json,
    model_to_json,
    rollback,
    stored_models,
)
from leadledger.services.training.table import LeadTable, read_lead_table
from leadledger.store.predictive_models import save_model
from tests.conftest import NOW
from tests.training.synthetic import write_leads

Trained = tuple[ProductModel, LeadTable]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    data, mapping = write_leads(tmp_path_factory.mktemp("models"), n=400)
    table = read_lead_table(data, load_training_mapping(str(mapping)))
    return fit_product(table), table


def _save(engine: Engine, model: ProductModel, at: int, *, activate: bool = True) -> int:
    with engine.begin() as conn:
        return save_model(conn, {
            "kind": "lightgbm+platt", "outcome": f"test {at}", "window_start": NOW, "window_end": NOW,
            "leads": 400, "converted": 150, "features": "[]", "metrics": json.dumps({"models": []}),
            "policy_version": "lead-first@1", "model": model_to_json(model),
        }, activate=activate, now=NOW + timedelta(minutes=at))


def test_a_stored_model_scores_exactly_as_trained(engine: Engine, trained: Trained) -> None:
    model, table = trained
    _save(engine, model, 0)
    loaded = load_active(engine)
    assert loaded is not None
    stored, again = loaded
    assert stored.active and stored.outcome == "test 0"
    assert list(again.predict(table)) == list(model.predict(table))  # bit for bit, on either database
    assert again.explanations(table.subset([0]))[0] == model.explanations(table.subset([0]))[0]


def test_json_round_trip_keeps_categories_and_calibration(trained: Trained) -> None:
    model, _ = trained
    again = model_from_json(model_to_json(model))
    assert again.encoder == model.encoder
    assert (again.slope, again.intercept, again.rounds) == (model.slope, model.intercept, model.rounds)


def test_one_active_model_activate_and_rollback(engine: Engine, trained: Trained) -> None:
    model, _ = trained
    with pytest.raises(LeadledgerError, match="nothing to roll back to: no model was ever active"):
        rollback(engine, NOW)
    first, second = _save(engine, model, 1), _save(engine, model, 2)
    third = _save(engine, model, 3, activate=False)
    listed = [(m.id, m.active) for m in stored_models(engine)]
    assert listed == [(third, False), (second, True), (first, False)]
    assert rollback(engine, NOW + timedelta(minutes=4)).id == first
    activate(engine, third, NOW + timedelta(minutes=5))
    assert [m.id for m in stored_models(engine) if m.active] == [third]
    assert rollback(engine, NOW + timedelta(minutes=6)).id == first  # the one active just before
    with pytest.raises(NotFound, match="no stored model 99"):
        activate(engine, 99, NOW)


def test_train_on_the_ledger_stores_lists_and_rolls_back(demo_engine: Engine, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from leadledger.cli import app

    database = demo_engine.url.database
    assert database is not None
    copy = tmp_path / "demo.db"
    copy.write_bytes(Path(database).read_bytes())
    runner = CliRunner()
    args = ["--db", str(copy), "train", "--folds", "2", "--repeats", "1", "--min-per-outcome", "10",
            "--horizon-days", "120"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "Stored as model 1, now active" in first.output
    assert runner.invoke(app, [*args, "--dry-run"]).exit_code == 0
    assert "Stored as model 2" in runner.invoke(app, args).output
    listed = runner.invoke(app, ["--db", str(copy), "models"])
    assert listed.exit_code == 0 and "Predictive models" in listed.output and "active" in listed.output
    rolled = runner.invoke(app, ["--db", str(copy), "models", "rollback"])
    assert rolled.exit_code == 0 and "model 1" in rolled.output
    as_json = json.loads(runner.invoke(app, ["--db", str(copy), "models", "--json"]).stdout)
    assert [(m["id"], m["active"]) for m in as_json] == [(2, False), (1, True)]
    assert as_json[0]["outcome"] == ("reached customer within 30 days of a snapshot (every 7 days "
                                     "while open, up to day 120)")
    assert as_json[0]["metrics"][0]["key"] == "product"

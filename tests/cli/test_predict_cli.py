"""`leadledger score / contacts / explain / models export|import` with an active predictive model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from leadledger.cli import app
from leadledger.services.training.ledger import LedgerOutcome, ledger_table
from leadledger.services.training.models import fit_product
from leadledger.services.training.registry import store_ledger_model
from leadledger.services.training.run import TrainingOptions, train_table
from leadledger.store.db import make_engine
from tests.conftest import NOW

runner = CliRunner()


@pytest.fixture(scope="module")
def with_model(demo_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the shared demo with a model trained on its ledger, stored and active."""
    database = demo_engine.url.database
    assert database is not None
    copy = tmp_path_factory.mktemp("predict-cli") / "demo.db"
    copy.write_bytes(Path(database).read_bytes())
    engine = make_engine(f"sqlite:///{copy}")
    outcome = LedgerOutcome(horizon_days=120)
    found = ledger_table(engine, outcome, NOW)
    report, _ = train_table(found.table, found.mapping, TrainingOptions(folds=2, repeats=1,
                                                                        minimum_per_outcome=10))
    store_ledger_model(engine, report, fit_product(found.table), found, outcome, now=NOW)
    engine.dispose()
    return copy


def _run(db: Path, *args: str) -> str:
    result = runner.invoke(app, ["--db", str(db), *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_score_contacts_and_explain_name_the_model(with_model: Path) -> None:
    scored = _run(with_model, "score")
    assert "Model 1 (reached customer within 120 days of day 30) scored " in scored
    assert "already reached customer and are not scored" in scored
    as_json = json.loads(_run(with_model, "score", "--json"))
    p = as_json["prediction"]
    assert p["model_id"] == 1 and p["predicted"] > 0 and p["outcome_stage"] == "customer"
    listed = json.loads(_run(with_model, "contacts", "--stage", "mql", "--limit", "3", "--json"))
    assert listed and all(r["model_id"] == 1 and 0 <= r["probability"] <= 1 for r in listed)
    assert "P: model 1's probability" in " ".join(_run(with_model, "contacts", "--limit", "3").split())
    ranked = json.loads(_run(with_model, "contacts", "--limit", "300", "--json"))
    best = max((r for r in ranked if r["probability"] is not None), key=lambda r: r["probability"])
    email = best["email"]
    shown = _run(with_model, "explain", email)
    assert "Model 1 (reached customer within 120 days of day 30): " in shown and "% now" in shown
    assert "why (effect in points of probability)" in shown
    explained = json.loads(_run(with_model, "explain", email, "--json"))["prediction"]
    assert explained["model_id"] == 1 and explained["stored"]["current"] and explained["note"] is None
    assert explained["probability"] == pytest.approx(best["probability"], abs=1e-4)
    factors = explained["up"] + explained["down"]
    assert factors and all(f["words"].endswith("%") and "_" not in f["words"] for f in factors)
    assert all(f["effect"] > 0 for f in explained["up"]) and all(f["effect"] < 0 for f in explained["down"])


def test_export_then_import_into_another_database(with_model: Path, tmp_path: Path) -> None:
    exported = tmp_path / "model.json"
    assert "Wrote model 1" in _run(with_model, "models", "export", "1", str(exported))
    other = tmp_path / "other.db"
    _run(other, "init")
    imported = _run(other, "models", "import", str(exported), "--activate")
    assert "as model 1 (now active)" in imported
    listed = json.loads(_run(other, "models", "--json"))
    assert listed[0]["outcome"] == "reached customer within 120 days of day 30"
    broken = tmp_path / "broken.json"
    broken.write_text(exported.read_text().replace('"format": "leadledger-model"', '"format": "other"'))
    refused = runner.invoke(app, ["--db", str(other), "models", "import", str(broken)])
    assert refused.exit_code == 1 and "field 'format' must be 'leadledger-model'" in refused.output
    broken.write_text("{\n  \"format\": ,\n}")
    refused = runner.invoke(app, ["--db", str(other), "models", "import", str(broken)])
    assert refused.exit_code == 1 and "broken.json, line 2: not JSON" in refused.output

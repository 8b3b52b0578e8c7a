"""`leadledger train --csv`: tables, --json, --html, and clear errors (exit 1 or 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from leadledger.cli import app
from tests.training.synthetic import write_leads

runner = CliRunner()
QUICK = ["--folds", "2", "--repeats", "1", "--min-per-outcome", "50"]


@pytest.fixture(scope="module")
def leads(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return write_leads(tmp_path_factory.mktemp("cli"), n=400)


def test_prints_the_comparison_and_writes_the_html(leads: tuple[Path, Path], tmp_path: Path) -> None:
    data, mapping = leads
    page = tmp_path / "report.html"
    result = runner.invoke(app, ["train", "--csv", str(data), "--mapping", str(mapping), "--html", str(page),
                                 *QUICK])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "400 leads" in out and "Left out as leaky: Sales Note" in out
    assert "2 stratified folds × 1 repeat" in out
    for name in ("product", "logistic", "naive Bayes", "ROC AUC", "ECE", "lift top 10%", "capture 20%"):
        assert name in out
    assert "Example leads, explained" in out and f"Wrote {page}" in out
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert html.count("<svg") == 3  # calibration, lift, capture
    assert "Calibration: predicted vs observed" in html
    assert "<script" not in html and "https://" not in html  # self-contained


def test_json_has_every_model_with_mean_and_spread(leads: tuple[Path, Path]) -> None:
    data, mapping = leads
    result = runner.invoke(app, ["train", "--csv", str(data), "--mapping", str(mapping), "--json", *QUICK])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [m["key"] for m in report["models"]] == ["product", "logistic", "naive_bayes"]
    auc = report["models"][0]["metrics"]["roc_auc"]
    assert auc["folds"] == 2 and auc["low"] <= auc["mean"] <= auc["high"]
    assert len(report["models"][0]["calibration"]) == 10
    assert report["product"]["examples"][0]["line"] >= 2


def test_leaky_columns_warn(leads: tuple[Path, Path]) -> None:
    data, mapping = leads
    result = runner.invoke(app, ["train", "--csv", str(data), "--mapping", str(mapping), "--include-leaky",
                                 *QUICK])
    assert result.exit_code == 0, result.output
    assert "warning: Sales Note alone predicts the outcome almost perfectly" in result.output
    assert "Leaky columns included: Sales Note" in result.output


def test_errors_are_one_clear_line(leads: tuple[Path, Path], tmp_path: Path) -> None:
    data, mapping = leads
    refused = runner.invoke(app, ["train", "--csv", str(data), "--mapping", str(mapping)])
    assert refused.exit_code == 1
    assert "too little history" in refused.output and "Traceback" not in refused.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(mapping.read_text().replace("Visits: numeric", "Visits: count"))
    invalid = runner.invoke(app, ["train", "--csv", str(data), "--mapping", str(bad), *QUICK])
    assert invalid.exit_code == 1
    assert f"{bad}, line 10: features.Visits" in invalid.output
    no_mapping = runner.invoke(app, ["train", "--csv", str(data)])
    assert no_mapping.exit_code == 2 and "--mapping" in no_mapping.output
    no_ledger = runner.invoke(app, ["--db", str(tmp_path / "none.db"), "train"])
    assert no_ledger.exit_code == 1 and "leadledger init" in no_ledger.output


def test_from_the_ledger_the_rule_score_and_suggested_weights(demo_engine: Engine, tmp_path: Path) -> None:
    from leadledger.policyfile import load_policy_file

    db = demo_engine.url.render_as_string(hide_password=False)
    written = tmp_path / "suggested.yaml"
    ledger = ["--db", db, "train", "--dry-run", "--outcome", "sql", "--decision-days", "7",
              "--folds", "2", "--repeats", "1", "--min-per-outcome", "10"]
    page = tmp_path / "report.html"
    result = runner.invoke(app, [*ledger, "--json", "--write-policy", str(written), "--html", str(page)])
    assert result.exit_code == 0, result.output
    rules, rows = json.loads(result.stdout)["rules"], json.loads(result.stdout)["rows"]
    assert "seeded sample" not in rows["note"]  # under --max-rows: every row
    volume = rules["same_volume"]
    assert [rules[k]["metrics"]["roc_auc"]["folds"] for k in ("current", "suggested")] == [2, 2]
    assert 0 <= volume["rule_converted"] <= volume["mqls"] <= volume["leads"]
    assert f"would have sent sales {volume['mqls']:,} of the {volume['leads']:,} leads" in volume["sentence"]
    assert rules["suggested"]["snippet"].startswith("scoring:\n")
    policy, _ = load_policy_file(written)  # the written policy parses, with the suggested threshold
    assert policy.scoring.mql_threshold == rules["suggested"]["mql_threshold"]
    html = page.read_text()
    assert "The rule score beside the model" in html and "Current rule score" in html
    assert f"mql_threshold: {rules['suggested']['mql_threshold']:g}" in html and "per signal" in html

    cap = rows["rows"] * 4 // 5  # past --max-rows, a sample of whole leads, said on the row line
    printed = runner.invoke(app, [*ledger, "--max-rows", str(cap)])
    assert printed.exit_code == 0, printed.output
    assert f"to stay under {cap:,} rows: of {rows['rows']:,} rows" in " ".join(printed.output.split())
    for text in ("rules (current)", "(suggested)", "The same, per signal", "would have sent sales",
                 "Suggested rule weights: cross-validated ROC AUC", "  behavior:"):
        assert text in printed.output

    refused = runner.invoke(app, ["train", "--csv", "x.csv", "--mapping", "x-education", "--write-policy",
                                  str(written)])
    assert refused.exit_code == 2 and "from the ledger" in refused.output

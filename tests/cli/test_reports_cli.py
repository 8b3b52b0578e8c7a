"""`leadledger funnel`, `sources` and `forecast` over a small database: real numbers in --json and --csv."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from leadledger.cli import app
from leadledger.store.db import make_engine, to_db
from leadledger.store.schema import contacts, stage_changes
from tests.builders import add_account, add_contact, add_evidence, add_opportunity

runner = CliRunner()


@pytest.fixture
def report_db(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Three leads created 10 days ago: one reached MQL, one went to SQL; an open and a won deal."""
    monkeypatch.setenv("LEADLEDGER_DATABASE_URL", db_url)
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["init"]).exit_code == 0
    now = datetime.now(UTC)
    created = now - timedelta(days=10)
    engine = make_engine(db_url)
    with engine.begin() as c:
        acc = add_account(c, "acme.com")
        ids = [add_contact(c, f"p{i}@acme.com", acc, created_at=created) for i in range(3)]
        for cid, to, days in [(ids[0], "mql", 2), (ids[1], "mql", 1), (ids[1], "sql", 4)]:
            c.execute(
                stage_changes.insert().values(
                    contact_id=cid,
                    from_stage="lead",
                    to_stage=to,
                    at=to_db(created + timedelta(days=days)),
                    actor="test",
                    reason="test",
                    evidence="{}",
                    policy_version="test",
                )
            )
            c.execute(update(contacts).where(contacts.c.id == cid).values(stage=to))
        add_evidence(c, ids[1], created, "need", "authority", "timeline")
        add_opportunity(
            c, acc, "open-1", stage="proposal", amount=40_000.0, expected_close=now + timedelta(days=20)
        )
        add_opportunity(
            c,
            acc,
            "won-1",
            stage="closed_won",
            amount=10_000.0,
            created_at=created,
            signed_at=now - timedelta(hours=3),
            booked_at=now - timedelta(hours=2),
        )
    engine.dispose()
    (tmp_path / "spend.csv").write_text(f"source,month,amount\nform_fill,{now:%Y-%m},300\n")
    assert runner.invoke(app, ["import", "spend", str(tmp_path / "spend.csv")]).exit_code == 0
    return db_url


def test_funnel_json_counts_contacts_reaching_each_stage(report_db: str) -> None:
    r = runner.invoke(app, ["funnel", "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    total = data["cohorts"][-1]
    assert total["cohort"] == "all" and total["size"] == 3
    reached = {s["stage"]: s["contacts"] for s in total["stages"]}
    assert (reached["mql"], reached["sal"], reached["sql"]) == (2, 1, 1)  # SAL skipped by the SQL move
    assert next(s for s in total["stages"] if s["stage"] == "mql")["median_days"] == 1.0
    assert data["pipeline"]["won"] == 1 and data["pipeline"]["open_deals_now"] == 1
    ff = next(s for s in data["sources"] if s["source"] == "form_fill")
    assert (ff["leads"], ff["spend"], ff["cost_per_lead"]) == (3, 300.0, 100.0)
    assert data["economics"]["cac"] == 300.0  # one new customer account this window


def test_funnel_csv_and_period_view(report_db: str) -> None:
    r = runner.invoke(app, ["funnel", "--by", "period", "--csv"])
    assert r.exit_code == 0, r.output
    lines = r.output.strip().splitlines()
    assert lines[0].startswith("month,stage,contacts")
    sql_rows = [ln for ln in lines[1:] if ",sql," in ln]
    assert sum(int(ln.split(",")[2]) for ln in sql_rows) == 1
    r = runner.invoke(app, ["funnel"])
    assert r.exit_code == 0 and "Funnel by creation month" in r.output and "First-touch SLA" in r.output
    r = runner.invoke(app, ["sources", "--csv"])
    assert r.exit_code == 0 and "form_fill,3," in r.output


def test_forecast_counts_only_signed_and_booked_as_won(report_db: str) -> None:
    r = runner.invoke(app, ["forecast", "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert (data["won_deals"], data["won_amount"]) == (1, 10_000.0)
    assert (data["open_deals"], data["weighted_amount"]) == (1, 20_000.0)  # proposal × 0.5
    assert {line["category"] for line in data["lines"]} == {"won", "best_case"}
    r = runner.invoke(app, ["forecast", "--csv"])
    assert r.exit_code == 0 and r.output.splitlines()[0].startswith("category,month,deals,amount,weighted")
    r = runner.invoke(app, ["forecast"])
    assert r.exit_code == 0 and "signed AND booked" in r.output


def test_bad_window_date_is_a_user_error(report_db: str) -> None:
    r = runner.invoke(app, ["funnel", "--from", "last tuesday"])
    assert r.exit_code == 1 and "not a date" in r.output

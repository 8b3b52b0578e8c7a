"""`leadledger audit`: exit codes by --fail-on, --json and --csv, on the ledger and on an export."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leadledger.cli import app
from leadledger.store.db import make_engine
from tests.builders import add_account, add_contact

runner = CliRunner()
EXAMPLES = Path(__file__).parent.parent.parent / "docs" / "examples"


@pytest.fixture
def unowned_sal(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A database whose only problem is an SAL nobody owns (a warning)."""
    monkeypatch.setenv("LEADLEDGER_DATABASE_URL", db_url)
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["init"]).exit_code == 0
    engine = make_engine(db_url)
    now = datetime.now(UTC)
    with engine.begin() as c:
        acc = add_account(c, "acme.com")
        add_contact(c, "dana@acme.com", acc, stage="sal", owner=None, created_at=now - timedelta(hours=2))
    engine.dispose()
    return db_url


def test_exit_code_follows_fail_on(unowned_sal: str) -> None:
    assert runner.invoke(app, ["audit"]).exit_code == 0
    assert runner.invoke(app, ["audit", "--fail-on", "error"]).exit_code == 0
    r = runner.invoke(app, ["audit", "--fail-on", "warning"])
    assert r.exit_code == 1 and "LL008" in r.output and "nobody owns the record" in r.output


def test_json_and_csv_output(unowned_sal: str) -> None:
    r = runner.invoke(app, ["audit", "--json"])
    assert r.exit_code == 0
    data = json.loads(r.output)
    assert [f["rule"] for f in data["findings"]] == ["LL008"]
    assert data["findings"][0]["key"] == "dana@acme.com" and data["source"] == "ledger"
    assert {s["rule"] for s in data["summary"]} >= {"LL001", "LL015"}
    r = runner.invoke(app, ["audit", "--csv"])
    rows = list(csv.DictReader(io.StringIO(r.output)))
    assert [(x["rule"], x["severity"], x["supported_label"]) for x in rows] == [("LL008", "warning", "lead")]


def test_export_audit_needs_no_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no leadledger.db here
    args = ["audit", "--export", str(EXAMPLES / "hubspot_contacts.csv"), "--export",
            str(EXAMPLES / "hubspot_deals.csv"), "--format", "hubspot", "--as-of", "2026-06-01"]
    r = runner.invoke(app, [*args, "--fail-on", "error"])
    assert r.exit_code == 1, r.output
    assert "mql-counted-as-sql" in r.output and "What this source cannot show" in r.output
    assert not (tmp_path / "leadledger.db").exists()
    bad = runner.invoke(app, ["audit", "--export", str(EXAMPLES / "hubspot_deals.csv"), "--format", "nope"])
    assert bad.exit_code == 2

"""The command line over a real database: exit codes, messages, --json output."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leadledger.cli import app
from leadledger.store.db import make_engine
from tests.builders import add_account, add_contact, add_events

runner = CliRunner()


@pytest.fixture
def cli_db(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An initialised database with one engaged lead, selected through the environment."""
    monkeypatch.setenv("LEADLEDGER_DATABASE_URL", db_url)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["init"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "leadledger-policy.yaml").exists()
    now = datetime.now(UTC)
    engine = make_engine(db_url)
    with engine.begin() as c:
        acc = add_account(c, "acme.com")
        cid = add_contact(c, "dana@acme.com", acc, created_at=now - timedelta(days=10))
        add_events(c, cid, [("demo_request", now - timedelta(days=1)), ("reply", now - timedelta(hours=3))])
    engine.dispose()
    return db_url


def run(*args: str) -> tuple[int, str]:
    r = runner.invoke(app, list(args))
    return r.exit_code, r.output


def test_refused_move_exits_1_and_names_missing_evidence(cli_db: str) -> None:
    code, out = run("move", "dana@acme.com", "customer")
    assert code == 1
    assert "can only be entered from opportunity" in out and "signed date" in out
    code, out = run("move", "dana@acme.com", "sql", "--json")
    assert code == 1
    missing = {m["requirement"] for m in json.loads(out)["missing"]}
    assert "evidence:need,authority,timeline" in missing


def test_move_with_evidence_then_explain_shows_it(cli_db: str) -> None:
    code, out = run(
        "move",
        "dana@acme.com",
        "sql",
        "-e",
        "need=manual reporting pain",
        "-e",
        "authority=VP Ops",
        "-e",
        "timeline=this quarter",
        "--actor",
        "sam",
        "--reason",
        "discovery call",
    )
    assert code == 0, out
    assert "lead → sql" in out
    code, out = run("explain", "dana@acme.com", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["stage"] == "sql"
    assert data["ledger"][-1]["actor"] == "sam"
    assert data["ledger"][-1]["evidence"]["evidence"]["need"]["value"] == "manual reporting pain"
    code, out = run("explain", "dana@acme.com")
    assert code == 0 and "Four questions" in out and "To move to opportunity" in out


def test_bad_evidence_syntax_is_a_usage_error(cli_db: str) -> None:
    code, out = run("move", "dana@acme.com", "sql", "-e", "need")
    assert code == 2 and "key=value" in out


def test_score_and_list(cli_db: str) -> None:
    code, out = run("score", "--json")
    assert code == 0, out
    report = json.loads(out)
    assert report["scored"] == 1
    code, out = run("contacts", "--json")
    rows = json.loads(out)
    assert rows[0]["email"] == "dana@acme.com" and rows[0]["score"] > 0
    code, out = run("accounts", "--json")
    assert json.loads(out)[0]["domain"] == "acme.com"
    code, out = run("sweep", "--json")
    assert code == 0 and json.loads(out)["sla_breaches"] == []


def test_policy_check_reports_lines_and_apply_refuses_invalid(cli_db: str, tmp_path: Path) -> None:
    good = tmp_path / "leadledger-policy.yaml"
    bad = tmp_path / "bad.yaml"
    bad.write_text(good.read_text().replace("mql_threshold: 100", "mql_treshold: 100"))
    code, out = run("policy", "check", str(bad))
    assert code == 1 and "line " in out and "did you mean 'mql_threshold'" in out
    code, out = run("policy", "apply", str(bad))
    assert code == 1
    code, out = run("policy", "history", "--json")
    assert len(json.loads(out)) == 1  # the invalid policy was never stored
    tuned = tmp_path / "tuned.yaml"
    tuned.write_text(good.read_text().replace("mql_threshold: 100", "mql_threshold: 80"))
    code, out = run("policy", "apply", str(tuned))
    assert code == 0, out
    code, out = run("policy", "history", "--json")
    versions = json.loads(out)
    assert len(versions) == 2 and versions[-1]["active"]


def test_unknown_contact_and_uninitialised_db(cli_db: str, tmp_path: Path) -> None:
    code, out = run("explain", "nobody@nowhere.com")
    assert code == 1 and "no contact with email" in out
    code, out = run("--db", str(tmp_path / "empty.db"), "contacts")
    assert code == 1 and "leadledger init" in out

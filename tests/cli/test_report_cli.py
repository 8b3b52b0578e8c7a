"""`leadledger report`: HTML to a file with a one-line summary, --json and --csv, exit 2 on a bad month."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from leadledger.cli import app

runner = CliRunner()


@pytest.fixture
def demo_url(demo_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> str:
    """The shared demo database as the CLI's database."""
    url = demo_engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("LEADLEDGER_DATABASE_URL", url)
    return url


def test_writes_the_html_and_says_what_it_wrote(demo_url: str, tmp_path: Path) -> None:
    target = tmp_path / "may.html"
    result = runner.invoke(app, ["report", "--month", "2026-05", "--out", str(target)])
    assert result.exit_code == 0, result.output
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "Revenue report — May 2026" in page
    assert f"Wrote {target}" in result.output and "May 2026:" in result.output
    assert "new leads" in result.output and "audit findings" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_json_is_the_report_data(demo_url: str) -> None:
    result = runner.invoke(app, ["report", "--month", "2026-05", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["month"] == "2026-05" and data["complete"] is True
    assert len(data["trend"]) == 12 and data["audit"]["findings"] > 0
    assert {h["key"] for h in data["headlines"]} >= {"new_leads", "won_amount", "weighted_forecast"}


def test_csv_is_the_headline_table(demo_url: str) -> None:
    result = runner.invoke(app, ["report", "--month", "2026-05", "--csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert [r["metric"] for r in rows][:2] == ["new_leads", "new_prospects"]
    assert {r["month"] for r in rows} == {"2026-05"}
    assert rows[0]["unit"] == "count" and int(rows[0]["value"]) > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--month", "2026-13", "--out", "x.html"], "not a calendar month"),
        (["--month", "May", "--out", "x.html"], "not a calendar month"),
        (["--month", "2999-01", "--out", "x.html"], "has not begun yet"),
        (["--month", "2026-05"], "--out FILE.html"),
        (["--month", "2026-05", "--out", "no/such/folder/x.html"], "does not exist"),
    ],
)
def test_bad_arguments_exit_2_with_a_clear_message(
    demo_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["report", *args])
    assert result.exit_code == 2
    assert message in " ".join(result.output.replace("│", " ").split())
    assert not (tmp_path / "x.html").exists()

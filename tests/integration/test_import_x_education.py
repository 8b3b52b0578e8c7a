"""`leadledger import leads Leads.csv --mapping x-education`: the X Education sample as contacts."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from leadledger.cli import app
from leadledger.errors import ImportFailed
from leadledger.services.importing import import_csv
from leadledger.services.setup import init_database
from tests.conftest import NOW

SAMPLE = Path(__file__).parent.parent / "fixtures" / "x-education-leads-2000.csv"


def _sample_with_bad_rows(folder: Path) -> tuple[Path, list[str]]:
    """The first 50 leads of the sample; lines 3, 5 and 7 broken in three different fields."""
    with SAMPLE.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))[:51]
    header = rows[0]
    rows[2][header.index("Lead Number")] = ""  # line 3: no lead number, so no email
    rows[4][header.index("Lead Origin")] = "Carrier Pigeon"  # line 5: an origin the mapping does not know
    rows[6][header.index("Do Not Email")] = "Maybe"  # line 7: not yes/no
    path = folder / "leads.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    return path, header


@pytest.fixture
def ledger(engine: Engine) -> Engine:
    init_database(engine, model="lead-first", now=NOW)
    return engine


def test_bad_rows_are_rejected_with_line_field_reason_good_rows_kept(ledger: Engine, tmp_path: Path) -> None:
    path, _ = _sample_with_bad_rows(tmp_path)
    report = import_csv(ledger, "contacts", path, mapping="x-education", now=NOW)
    assert (report.rows_read, report.inserted, report.rejected) == (50, 47, 3)
    assert report.reject_file is not None
    with report.reject_file.open(encoding="utf-8", newline="") as f:
        got = [(r["line"], r["column"], r["value"], r["reason"]) for r in csv.DictReader(f)]
    assert got[0] == ("3", "Lead Number", "", "missing required value")
    assert got[1][:3] == ("5", "Lead Origin", "Carrier Pigeon")
    assert got[1][3].startswith("unknown source value 'Carrier Pigeon' for mapping x-education")
    assert got[2][:3] == ("7", "Do Not Email", "Maybe")
    with ledger.connect() as conn:
        kept = conn.execute(text(
            "SELECT email, source, role, opted_out, stage FROM contacts ORDER BY id")).all()
    assert len(kept) == 47
    with SAMPLE.open(encoding="utf-8", newline="") as f:
        first = next(csv.DictReader(f))  # line 2: API, Unemployed, Do Not Email = No
    email = f"lead-{first['Lead Number']}@x-education.invalid"
    assert tuple(kept[0]) == (email, "other", "unemployed", False, "lead")
    assert {k.source for k in kept} <= {"form_fill", "list_import", "other"}


def test_the_sample_imports_whole_and_again_changes_nothing(ledger: Engine, tmp_path: Path) -> None:
    first = import_csv(ledger, "contacts", SAMPLE, mapping="x-education", now=NOW)
    assert (first.rows_read, first.inserted, first.rejected) == (2000, 2000, 0)
    again = import_csv(ledger, "contacts", SAMPLE, mapping="x-education", now=NOW)
    assert (again.inserted, again.unchanged, again.rejected) == (0, 2000, 0)
    with ledger.connect() as conn:
        roles = dict(conn.execute(text("SELECT role, COUNT(*) FROM contacts GROUP BY role")).all())
    assert roles[None] > 0 and roles["student"] > 0  # "Select" and blank occupations are not given


def test_the_cli_takes_leads_and_a_missing_template_column_fails_the_file(ledger: Engine, tmp_path: Path
                                                                          ) -> None:
    db = ledger.url.render_as_string(hide_password=False)
    path, _ = _sample_with_bad_rows(tmp_path)
    result = CliRunner().invoke(app, ["--db", db, "import", "leads", str(path), "--mapping", "x-education"])
    assert result.exit_code == 1 and "3 row(s) rejected" in result.output
    no_number = tmp_path / "no-number.csv"
    no_number.write_text("Prospect ID,Lead Origin\nabc,API\n", encoding="utf-8")
    missing = "missing column 'Lead Number' \\(template of contacts field email"
    with pytest.raises(ImportFailed, match=missing):
        import_csv(ledger, "contacts", no_number, mapping="x-education", now=NOW)

"""CSV import against real databases (SQLite file and PostgreSQL): counts, rejects, idempotence."""

from __future__ import annotations

import csv
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from leadledger.errors import ImportFailed
from leadledger.services.importing import ImportReport, import_csv
from leadledger.services.importing import core as import_core
from leadledger.services.importing import reader as import_reader
from leadledger.services.setup import init_database
from leadledger.store import activity
from leadledger.store.db import from_db, make_engine

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
FIXTURES = Path(__file__).parents[1] / "fixtures" / "import"
LEDGER_TABLES = (
    "accounts", "contacts", "events", "contact_activity", "evidence", "opportunities",
    "opportunity_contacts", "stage_changes",
)


# -- databases ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str | None]:
    """A migrated PostgreSQL database that each test's fresh database is copied from (fast)."""
    server = os.environ.get("LEADLEDGER_TEST_PG_URL")
    if not server:
        yield None
        return
    name = f"t_tmpl_{uuid.uuid4().hex}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        engine = make_engine(make_url(server).set(database=name).render_as_string(False))
        init_database(engine, model="lead-first", now=NOW)
        engine.dispose()
        yield name
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database per test: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/t.db"
        return
    server = os.environ.get("LEADLEDGER_TEST_PG_URL")
    if not server:
        pytest.skip("LEADLEDGER_TEST_PG_URL not set")
    template = request.getfixturevalue("pg_template")
    name = f"t_{uuid.uuid4().hex}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name} TEMPLATE {template}")
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An initialised database with the lead-first policy."""
    engine = make_engine(db_url)
    init_database(engine, model="lead-first", now=NOW)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """SQLite only, for behaviour decided before any SQL runs (file reading, mappings)."""
    engine = make_engine(f"sqlite:///{tmp_path}/t.db")
    init_database(engine, model="lead-first", now=NOW)
    yield engine
    engine.dispose()


# -- helpers -----------------------------------------------------------------------------------


def fixture(tmp_path: Path, name: str) -> Path:
    """A copy of a fixture file in tmp_path, so that reject files land there."""
    target = tmp_path / name
    shutil.copy(FIXTURES / name, target)
    return target


def load(engine: Engine, kind: str, tmp_path: Path, name: str, **kw: Any) -> ImportReport:
    """Import a fixture file."""
    return import_csv(engine, kind, fixture(tmp_path, name), now=NOW, **kw)


def rows(engine: Engine, sql: str, **params: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text(sql), params))


def one(engine: Engine, sql: str, **params: Any) -> Any:
    return rows(engine, sql, **params)[0]


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every ledger table's full contents, in primary-key order."""
    out = {}
    for table in LEDGER_TABLES:
        out[table] = [tuple(r) for r in rows(engine, f"SELECT * FROM {table} ORDER BY 1, 2")]
    return out


def rejects(report: ImportReport) -> list[dict[str, str]]:
    assert report.reject_file is not None
    with report.reject_file.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def ts(value: Any) -> datetime:
    """A stored timestamp (naive UTC, datetime or text) as an aware datetime."""
    result = from_db(value)
    assert result is not None
    return result


def base_data(engine: Engine, tmp_path: Path) -> None:
    assert load(engine, "accounts", tmp_path, "accounts.csv").rejected == 0
    assert load(engine, "contacts", tmp_path, "contacts.csv").rejected == 0


# -- our own format ----------------------------------------------------------------------------


def test_accounts_are_normalised(engine: Engine, tmp_path: Path) -> None:
    report = load(engine, "accounts", tmp_path, "accounts.csv")
    assert (report.rows_read, report.inserted, report.rejected) == (4, 4, 0)
    assert report.reject_file is None
    acme = one(engine, "SELECT * FROM accounts WHERE domain = 'acme.com'")
    assert (acme.employees, acme.annual_revenue, acme.tech_stack) == (1200, 5e6, "salesforce,hubspot")
    globex = one(engine, "SELECT * FROM accounts WHERE domain = 'globex.io'")  # URL → domain
    assert (globex.employees, globex.annual_revenue, globex.tech_stack) == (1500, 12e6, "slack,jira")
    initech = one(engine, "SELECT * FROM accounts WHERE domain = 'initech.com'")
    assert ts(initech.churned_at) == datetime(2024, 12, 31, tzinfo=UTC)


def test_contacts_link_accounts_and_open_the_ledger(engine: Engine, tmp_path: Path) -> None:
    load(engine, "accounts", tmp_path, "accounts.csv")
    report = load(engine, "contacts", tmp_path, "contacts.csv")
    assert (report.rows_read, report.inserted, report.updated, report.rejected) == (5, 5, 0, 0)
    assert report.warnings == (
        "1 contacts reference unknown account domains (account left empty; import the accounts "
        "first, then re-import)",
    )
    got = {
        r.email: r
        for r in rows(engine, "SELECT c.*, a.domain FROM contacts c "
                              "LEFT JOIN accounts a ON a.id = c.account_id")
    }
    assert sorted(got) == [
        "ana@acme.com", "bob@globex.io", "carl@initech.com", "dana@unknownco.com",
        "erin@umbrella.org",
    ]
    assert {e: r.domain for e, r in got.items()} == {
        "ana@acme.com": "acme.com",
        "bob@globex.io": "globex.io",  # no account_domain: linked by the email's domain
        "carl@initech.com": "initech.com",
        "dana@unknownco.com": None,  # unknown account: left empty, with a warning
        "erin@umbrella.org": "umbrella.org",
    }
    assert {e: r.stage for e, r in got.items()} == {
        "ana@acme.com": "mql", "bob@globex.io": "lead", "carl@initech.com": "lead",
        "dana@unknownco.com": "lead", "erin@umbrella.org": "sql",
    }
    assert ts(got["ana@acme.com"].created_at) == datetime(2025, 3, 14, 9, 12, tzinfo=UTC)
    assert ts(got["carl@initech.com"].created_at) == datetime(2025, 3, 14, tzinfo=UTC)
    assert ts(got["erin@umbrella.org"].created_at) == datetime(2025, 4, 1, 6, tzinfo=UTC)  # +02:00
    assert ts(got["dana@unknownco.com"].created_at) == NOW  # no created_at: now
    assert ts(got["dana@unknownco.com"].stage_entered_at) == NOW
    assert bool(got["dana@unknownco.com"].opted_out) is True
    assert bool(got["ana@acme.com"].opted_out) is False

    ledger = rows(engine, "SELECT s.*, c.email FROM stage_changes s "
                          "JOIN contacts c ON c.id = s.contact_id ORDER BY s.id")
    version = one(engine, "SELECT version FROM policies WHERE active = :t", t=True).version
    assert [(r.email, r.from_stage, r.to_stage) for r in ledger] == [
        ("ana@acme.com", None, "mql"), ("bob@globex.io", None, "lead"),
        ("carl@initech.com", None, "lead"), ("dana@unknownco.com", None, "lead"),
        ("erin@umbrella.org", None, "sql"),
    ]
    assert {(r.actor, r.reason, r.policy_version) for r in ledger} == {
        ("import:contacts.csv", "imported", version)
    }
    assert ts(ledger[0].at) == datetime(2025, 3, 14, 9, 12, tzinfo=UTC)  # = stage_entered_at
    assert json.loads(ledger[0].evidence) == {
        "imported_label": "mql", "source_file": "contacts.csv", "line": 2,
    }
    assert json.loads(ledger[1].evidence) == {
        "imported_label": None, "source_file": "contacts.csv", "line": 3,
    }


def test_reimport_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    files = [
        ("accounts", "accounts.csv"), ("contacts", "contacts.csv"),
        ("opportunities", "opportunities.csv"), ("evidence", "evidence.csv"),
        ("events", "events.csv"),
    ]
    first = {kind: load(engine, kind, tmp_path, name) for kind, name in files}
    before = dump(engine)
    for kind, name in files:
        again = import_csv(engine, kind, tmp_path / name, now=datetime(2025, 6, 2, tzinfo=UTC))
        kept = first[kind].rows_read - first[kind].rejected
        assert (again.inserted, again.updated, again.unchanged) == (0, 0, kept), kind
        assert again.rejected == first[kind].rejected, kind
    assert dump(engine) == before  # byte-identical, updated_at untouched, no new ledger rows
    events = import_csv(engine, "events", tmp_path / "events.csv", now=NOW)
    assert events.duplicates == events.unchanged == 7  # 6 stored + 1 repeated in the file


def test_update_touches_only_changed_rows(engine: Engine, tmp_path: Path) -> None:
    base_data(engine, tmp_path)
    before = {r.email: r for r in rows(engine, "SELECT * FROM contacts")}
    later = datetime(2025, 6, 5, 8, 0, tzinfo=UTC)
    report = import_csv(engine, "contacts", fixture(tmp_path, "contacts_changed.csv"), now=later)
    assert (report.inserted, report.updated, report.unchanged, report.rejected) == (0, 1, 2, 0)
    assert report.warnings == (
        "1 rows carry a different stage than stored; stage changes go through `leadledger move`",
    )
    after = {r.email: r for r in rows(engine, "SELECT * FROM contacts")}
    assert after["ana@acme.com"].title == "CTO"
    assert ts(after["ana@acme.com"].updated_at) == later
    assert after["bob@globex.io"].stage == "lead"  # the file says customer: not applied
    assert after["bob@globex.io"] == before["bob@globex.io"]
    assert after["carl@initech.com"] == before["carl@initech.com"]  # blank cells never erase
    assert one(engine, "SELECT COUNT(*) AS n FROM stage_changes").n == 5


# -- bad input ---------------------------------------------------------------------------------


def test_bad_rows_are_rejected_and_good_rows_kept(engine: Engine, tmp_path: Path) -> None:
    report = load(engine, "contacts", tmp_path, "contacts_bad.csv")
    assert report.reject_file == tmp_path / "contacts_bad.rejects.csv"
    assert (report.rows_read, report.inserted, report.rejected) == (13, 5, 8)
    got = [(r["line"], r["column"], r["value"], r["reason"]) for r in rejects(report)]
    assert got[0] == ("3", "email", "not-an-email", "not a valid email address")
    assert got[1][:3] == ("4", "stage", "bogus")
    assert got[1][3].startswith("unknown stage 'bogus' (stages of policy lead-first: lead, mql, sal")
    assert got[2] == ("5", "email", "", "missing required value")
    assert got[3] == ("6", "email", "ANA@acme.com", "duplicate email also on line 2")
    assert got[4][0] == "7" and got[4][3].startswith("broken quoting")
    assert got[4][2] == 'hank@acme.com,"Hank,Oops,Acme,,,,,,,,,'
    assert got[5] == (
        "9", "", "2 fields", "wrong number of fields: expected 13 (as in the header), found 2"
    )
    assert got[6][:3] == ("13", "created_at", "not-a-date")
    assert got[6][3].startswith("not a date")
    assert got[7][:3] == ("14", "opted_out", "maybe")
    # The original row follows the four reject columns.
    first = rejects(report)[0]
    assert (first["email"], first["first_name"], first["last_name"]) == ("not-an-email", "Bad", "Email")
    emails = [r.email for r in rows(engine, "SELECT email FROM contacts ORDER BY id")]
    # ivy follows the broken line; kate's quoted company spans lines 10-11.
    assert emails == ["ana@acme.com", "ivy@acme.com", "kate@acme.com", "liam@acme.com", "omar@acme.com"]
    kate = one(engine, "SELECT * FROM contacts WHERE email = 'kate@acme.com'")
    assert kate.company == "Acme\nLabs"
    evidence = one(engine, "SELECT s.evidence FROM stage_changes s JOIN contacts c "
                           "ON c.id = s.contact_id WHERE c.email = 'kate@acme.com'").evidence
    assert json.loads(evidence)["line"] == 10


def test_missing_required_column_fails_the_file(sqlite_engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(ImportFailed) as info:
        load(sqlite_engine, "contacts", tmp_path, "contacts_missing_column.csv")
    assert "contacts_missing_column.csv" in str(info.value)
    assert "missing required column 'email'" in str(info.value)
    assert one(sqlite_engine, "SELECT COUNT(*) AS n FROM contacts").n == 0
    assert not (tmp_path / "contacts_missing_column.rejects.csv").exists()


def test_latin1_lines_are_rejected_unless_the_encoding_is_given(engine: Engine, tmp_path: Path) -> None:
    report = load(engine, "contacts", tmp_path, "contacts_latin1.csv")
    assert (report.rows_read, report.inserted, report.rejected) == (3, 1, 2)
    bad = rejects(report)
    assert [(r["line"], r["column"], r["value"]) for r in bad] == [
        ("2", "first_name", "René"), ("4", "first_name", "Chloé"),
    ]
    assert "--encoding latin-1" in bad[0]["reason"] and "cp1252" in bad[0]["reason"]
    assert bad[0]["email"] == "rene@acme.com"
    assert any("--encoding latin-1" in w for w in report.warnings)

    again = import_csv(engine, "contacts", tmp_path / "contacts_latin1.csv", now=NOW,
                       encoding="latin-1")
    assert (again.inserted, again.unchanged, again.rejected) == (2, 1, 0)
    assert again.reject_file is None
    assert not (tmp_path / "contacts_latin1.rejects.csv").exists()  # the stale one is gone
    chloe = one(engine, "SELECT * FROM contacts WHERE email = 'chloe@acme.com'")
    assert (chloe.first_name, chloe.company) == ("Chloé", "Société Générale")


def test_utf8_bom_is_fine(sqlite_engine: Engine, tmp_path: Path) -> None:
    report = load(sqlite_engine, "contacts", tmp_path, "contacts_bom.csv")
    assert (report.inserted, report.rejected) == (1, 0)
    assert one(sqlite_engine, "SELECT first_name FROM contacts").first_name == "Zoë"


def test_unknown_kind_and_mapping_fail_clearly(sqlite_engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(ImportFailed, match="unknown import kind 'leads'"):
        load(sqlite_engine, "leads", tmp_path, "contacts.csv")
    with pytest.raises(ImportFailed, match="unknown mapping 'pipedrive'"):
        load(sqlite_engine, "contacts", tmp_path, "contacts.csv", mapping="pipedrive")
    with pytest.raises(ImportFailed, match="has no section for events"):
        load(sqlite_engine, "events", tmp_path, "events.csv", mapping="hubspot")


def test_chunks_deduplicate_across_the_file(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(import_reader, "BLOCK_BYTES", 64)
    monkeypatch.setattr(import_core, "CHUNK_ROWS", 2)
    seen: list[tuple[int, int]] = []
    report = load(engine, "contacts", tmp_path, "contacts_bad.csv",
                  progress=lambda done, total: seen.append((done, total)))
    assert (report.rows_read, report.inserted, report.rejected) == (13, 5, 8)
    assert [r["line"] for r in rejects(report)] == ["3", "4", "5", "6", "7", "9", "13", "14"]
    assert len(seen) > 3 and seen[-1] == (seen[-1][1], seen[-1][1])
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


# -- events, opportunities, evidence -----------------------------------------------------------


def test_events_deduplicate_and_feed_activity(engine: Engine, tmp_path: Path) -> None:
    base_data(engine, tmp_path)
    report = load(engine, "events", tmp_path, "events.csv")
    assert (report.rows_read, report.inserted, report.duplicates, report.rejected) == (11, 6, 1, 4)
    got = {r["line"]: (r["column"], r["reason"]) for r in rejects(report)}
    assert got == {
        "8": ("email", "no contact with email nobody@nowhere.com — import contacts first"),
        "9": ("type", "unknown event type 'emial_open' (did you mean email_open?)"),
        "10": ("occurred_at", "occurred_at is more than 1 day in the future"),
        "11": ("properties", "not a JSON object"),
    }
    stored = {r.event_id: r for r in rows(engine, "SELECT * FROM events")}
    assert sorted(stored) == ["e1", "e10", "e2", "e3", "e4", "e5"]
    assert {e: bool(r.two_way) for e, r in stored.items()} == {
        "e1": False, "e2": False, "e3": True, "e4": False, "e5": False, "e10": True,
    }
    assert json.loads(stored["e2"].properties) == {"path": "/pricing"}

    anchor, half_life = activity.decay_params(engine.connect())
    ana = one(engine, "SELECT a.* FROM contact_activity a JOIN contacts c ON c.id = a.contact_id "
                      "WHERE c.email = 'ana@acme.com'")
    assert (ana.page_view_n, ana.pricing_page_view_n, ana.reply_n, ana.two_way_n) == (1, 1, 1, 1)
    assert ana.email_open_n == 0
    expected = activity.event_weight(datetime(2025, 5, 1, 10, tzinfo=UTC), anchor, half_life)
    assert ana.page_view_w == pytest.approx(expected, rel=1e-9)
    assert ts(ana.last_activity_at) == datetime(2025, 5, 3, 9, 0, tzinfo=UTC)
    carl = one(engine, "SELECT a.* FROM contact_activity a JOIN contacts c ON c.id = a.contact_id "
                       "WHERE c.email = 'carl@initech.com'")
    assert (carl.call_n, carl.two_way_n) == (1, 1)


def test_incremental_activity_sums_equal_a_rebuild_from_events(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(import_reader, "BLOCK_BYTES", 64)
    monkeypatch.setattr(import_core, "CHUNK_ROWS", 2)  # many chunks, summed as they come
    base_data(engine, tmp_path)
    load(engine, "events", tmp_path, "events.csv")
    # A second delivery: some events already stored, one new for a contact with history.
    second = tmp_path / "events2.csv"
    second.write_text(
        "event_id,email,type,occurred_at\n"
        "e1,ana@acme.com,page_view,2025-05-01T10:00:00Z\n"
        "e20,ana@acme.com,email_click,2025-06-01T08:30:00Z\n"
        "e21,carl@initech.com,meeting_held,2025-05-20T15:00:00Z\n"
    )
    report = import_csv(engine, "events", second, now=NOW)
    assert (report.inserted, report.duplicates) == (2, 1)

    def snapshot() -> list[tuple[Any, ...]]:
        got = rows(engine, "SELECT * FROM contact_activity ORDER BY contact_id")
        return [tuple(round(v, 9) if isinstance(v, float) else v for v in r) for r in got]

    incremental = snapshot()
    anchor, half_life = activity.decay_params(engine.connect())
    with engine.begin() as conn:
        activity.rebuild(conn, half_life, anchor)
    assert incremental == snapshot()
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            # The import's pragma does not leak into the pool …
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            # … and the contact index deferred during the bulk load is back.
            indexes = conn.exec_driver_sql("PRAGMA index_list(events)").fetchall()
            assert "ix_events_contact_id" in {ix[1] for ix in indexes}


def test_events_resolve_contacts_without_preloading(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from leadledger.services.importing import contact_ids

    monkeypatch.setattr(contact_ids, "PRELOAD_SHARE", 1e9)  # small file, big database
    monkeypatch.setattr(contact_ids, "IN_BATCH", 2)
    base_data(engine, tmp_path)
    report = load(engine, "events", tmp_path, "events.csv")
    assert (report.inserted, report.duplicates, report.rejected) == (6, 1, 4)


def test_opportunities_link_accounts_and_committees(engine: Engine, tmp_path: Path) -> None:
    base_data(engine, tmp_path)
    report = load(engine, "opportunities", tmp_path, "opportunities.csv")
    assert (report.rows_read, report.inserted, report.rejected) == (7, 3, 4)
    got = {r["line"]: (r["column"], r["reason"]) for r in rejects(report)}
    assert got == {
        "4": ("account_domain", "no account with domain nowhere.com — import accounts first"),
        "6": ("contacts", "no contact with email ghost@initech.com — import contacts first"),
        "7": ("type", "unknown opportunity type 'upsell' (types: new, expansion, renewal)"),
        "8": ("amount", "amount must be ≥ 0"),
    }
    assert any("1 lost opportunities had no lost reason" in w for w in report.warnings)
    opps = {r.external_id: r for r in rows(engine, "SELECT * FROM opportunities")}
    assert (opps["OPP-1"].stage, opps["OPP-1"].amount, opps["OPP-1"].type) == ("negotiation", 5e4, "new")
    assert ts(opps["OPP-1"].signed_at) == datetime(2025, 5, 20, tzinfo=UTC)
    assert opps["OPP-2"].type == "new"  # default
    assert opps["OPP-4"].lost_reason == "unspecified (imported as closed lost)"
    roles = rows(engine, "SELECT o.external_id, c.email, oc.role FROM opportunity_contacts oc "
                         "JOIN opportunities o ON o.id = oc.opportunity_id "
                         "JOIN contacts c ON c.id = oc.contact_id ORDER BY 1, 2")
    assert [tuple(r) for r in roles] == [
        ("OPP-1", "ana@acme.com", "champion"), ("OPP-1", "carl@initech.com", "finance"),
        ("OPP-2", "bob@globex.io", "contact"),
    ]


def test_new_contacts_of_customer_accounts_route_to_the_account_owner(
    engine: Engine, tmp_path: Path
) -> None:
    base_data(engine, tmp_path)
    load(engine, "opportunities", tmp_path, "opportunities.csv")  # OPP-1: Acme signed and booked
    path = tmp_path / "new.csv"
    path.write_text("email,first_name,owner\nfay@acme.com,Fay,\ngus@acme.com,Gus,me@ours.com\n"
                    "hal@globex.io,Hal,\n", encoding="utf-8")
    report = import_csv(engine, "contacts", path, now=NOW)
    assert report.inserted == 3
    assert "1 new contacts belong to customer accounts and were routed to the account owner" in (
        report.warnings
    )
    owners = {r.email: r.owner for r in rows(engine, "SELECT email, owner FROM contacts")}
    assert (owners["fay@acme.com"], owners["gus@acme.com"], owners["hal@globex.io"]) == (
        "olivia@ours.com", "me@ours.com", None,
    )


def test_evidence_follows_the_policy_fields(engine: Engine, tmp_path: Path) -> None:
    base_data(engine, tmp_path)
    report = load(engine, "evidence", tmp_path, "evidence.csv")
    assert (report.rows_read, report.inserted, report.rejected) == (7, 4, 3)
    got = {r["line"]: (r["column"], r["reason"]) for r in rejects(report)}
    assert got["5"] == ("email", "duplicate evidence (email, field, confirmed_at) also on line 2")
    assert got["7"][0] == "field" and got["7"][1].startswith("unknown evidence field 'metrics'")
    assert got["8"] == ("email", "no contact with email nobody@nowhere.com — import contacts first")
    fields = [r.field for r in rows(engine, "SELECT field FROM evidence ORDER BY id")]
    assert fields == ["need", "authority", "timeline", "champion"]


# -- CRM exports -------------------------------------------------------------------------------


def test_hubspot_exports(engine: Engine, tmp_path: Path) -> None:
    companies = load(engine, "accounts", tmp_path, "hubspot_companies.csv", mapping="hubspot")
    assert (companies.inserted, companies.rejected) == (2, 0)
    hooli = one(engine, "SELECT * FROM accounts WHERE domain = 'hooli.com'")
    assert (hooli.name, hooli.employees, hooli.country, hooli.owner) == (
        "Hooli", 2500, "United States", "gavin@ours.com",
    )
    report = load(engine, "contacts", tmp_path, "hubspot_contacts.csv", mapping="hubspot")
    assert (report.rows_read, report.inserted, report.rejected) == (5, 4, 1)
    assert "columns not used by mapping hubspot: Record ID, Lead Status" in report.warnings
    (bad,) = rejects(report)
    assert (bad["line"], bad["column"], bad["value"]) == ("5", "Lifecycle Stage", "Visionary")
    assert bad["reason"].startswith("unknown stage value 'Visionary' for mapping hubspot (known: ")
    got = {r.email: r for r in rows(engine, "SELECT * FROM contacts")}
    assert {e: (r.stage, r.source) for e, r in got.items()} == {
        "richard@piedpiper.com": ("mql", "form_fill"),
        "gavin@hooli.com": ("customer", "list_import"),
        "jared@piedpiper.com": ("sql", "form_fill"),
        "monica@raviga.com": ("lead", None),
    }
    assert got["gavin@hooli.com"].company == "Hooli"  # from "Associated Company"
    assert ts(got["richard@piedpiper.com"].created_at) == datetime(2025, 2, 3, 10, 11, tzinfo=UTC)
    evidence = one(engine, "SELECT s.evidence FROM stage_changes s JOIN contacts c "
                           "ON c.id = s.contact_id WHERE c.email = 'richard@piedpiper.com'")
    assert json.loads(evidence.evidence) == {
        "imported_label": "mql", "source_file": "hubspot_contacts.csv", "line": 2,
        "source_label": "Marketing Qualified Lead",
    }
    deals = load(engine, "opportunities", tmp_path, "hubspot_deals.csv", mapping="hubspot")
    assert (deals.inserted, deals.rejected) == (3, 1)
    assert rejects(deals)[0]["reason"] == "no account named 'Nucleus' — import accounts first"
    opps = {r.external_id: r for r in rows(engine, "SELECT * FROM opportunities")}
    assert (opps["9001"].stage, opps["9001"].type) == ("negotiation", "expansion")
    assert (opps["9002"].stage, opps["9002"].type) == ("discovery", "new")
    assert opps["9003"].stage == "closed_lost" and opps["9003"].lost_reason
    assert opps["9001"].signed_at is None  # "Contract Sent" is not signed


def test_salesforce_exports(engine: Engine, tmp_path: Path) -> None:
    accounts = load(engine, "accounts", tmp_path, "salesforce_accounts.csv", mapping="salesforce")
    assert (accounts.inserted, accounts.rejected) == (2, 0)
    stark = one(engine, "SELECT * FROM accounts WHERE domain = 'starkindustries.com'")
    assert (stark.employees, stark.annual_revenue) == (5000, 1.2e9)
    report = load(engine, "contacts", tmp_path, "salesforce_leads.csv", mapping="salesforce")
    assert (report.inserted, report.rejected) == (3, 1)
    (bad,) = rejects(report)
    assert (bad["line"], bad["column"], bad["value"]) == ("5", "Lead Source", "Carrier Pigeon")
    got = {r.email: r for r in rows(engine, "SELECT c.*, a.domain FROM contacts c "
                                            "LEFT JOIN accounts a ON a.id = c.account_id")}
    assert {e: (r.stage, r.source, r.domain) for e, r in got.items()} == {
        "tony@starkindustries.com": ("sal", "form_fill", "starkindustries.com"),
        "bruce@wayne.com": ("lead", "event_badge_scan", "wayne.com"),
        "clark@dailyplanet.com": ("disqualified", "partner_referral", None),
    }
    assert ts(got["tony@starkindustries.com"].created_at) == datetime(2025, 3, 14, 9, 12, tzinfo=UTC)
    assert ts(got["clark@dailyplanet.com"].created_at) == datetime(2024, 12, 1, 17, 30, tzinfo=UTC)
    assert got["tony@starkindustries.com"].owner == "Pepper Potts"
    opps = load(engine, "opportunities", tmp_path, "salesforce_opportunities.csv",
                mapping="salesforce")
    assert (opps.inserted, opps.rejected) == (2, 0)
    got_opps = {r.external_id: r for r in rows(engine, "SELECT o.*, a.domain FROM opportunities o "
                                                       "JOIN accounts a ON a.id = o.account_id")}
    assert (got_opps["006A"].stage, got_opps["006A"].type, got_opps["006A"].amount) == (
        "proposal", "new", 250000.0,
    )
    assert ts(got_opps["006A"].expected_close) == datetime(2025, 6, 30, tzinfo=UTC)
    assert (got_opps["006B"].stage, got_opps["006B"].type, got_opps["006B"].domain) == (
        "closed_won", "renewal", "wayne.com",  # matched by account name, case-insensitively
    )
    assert got_opps["006B"].signed_at is None and got_opps["006B"].booked_at is None


def test_mapping_file_with_values_and_constants(sqlite_engine: Engine, tmp_path: Path) -> None:
    mapping = tmp_path / "badges.yaml"
    mapping.write_text(
        "name: badges\n"
        "contacts:\n"
        "  columns: {'E-mail': email, 'Name': first_name, 'Interest': stage}\n"
        "  values:\n"
        "    stage: {Hot: mql, Warm: lead, Cold: nurture}\n"
        "  constants: {source: event_badge_scan}\n",
        encoding="utf-8",
    )
    path = tmp_path / "badges.csv"
    path.write_text("E-mail,Name,Interest,Booth\nPaul@expo.io,Paul,hot,12\nrita@expo.io,Rita,,12\n"
                    "sol@expo.io,Sol,lukewarm,12\n", encoding="utf-8")
    report = import_csv(sqlite_engine, "contacts", path, mapping=mapping, now=NOW)
    assert (report.inserted, report.rejected) == (2, 1)
    assert "columns not used by mapping badges: Booth" in report.warnings
    assert rejects(report)[0]["reason"] == (
        "unknown stage value 'lukewarm' for mapping badges (known: Hot, Warm, Cold)"
    )
    got = {r.email: (r.stage, r.source) for r in rows(sqlite_engine, "SELECT * FROM contacts")}
    assert got == {"paul@expo.io": ("mql", "event_badge_scan"), "rita@expo.io": ("lead", "event_badge_scan")}

    mapping.write_text("name: broken\ncontacts:\n  columns: {'E-mail': e_mail}\n", encoding="utf-8")
    with pytest.raises(ImportFailed, match=r"unknown field.*e_mail"):
        import_csv(sqlite_engine, "contacts", path, mapping=mapping, now=NOW)


def test_a_failed_import_writes_nothing(engine: Engine, tmp_path: Path) -> None:
    load(engine, "accounts", tmp_path, "accounts.csv")
    before = dump(engine)

    def crash(done: int, total: int) -> None:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        load(engine, "contacts", tmp_path, "contacts_bad.csv", progress=crash)
    assert dump(engine) == before  # one transaction: all or nothing
    assert not (tmp_path / "contacts_bad.rejects.csv").exists()
    assert not list(tmp_path.glob("*.partial"))

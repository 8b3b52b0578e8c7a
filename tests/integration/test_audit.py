"""The audit on real data: the demo's planted mislabels (ground truth), and real-format exports."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from leadledger.domain.audit import AuditReport, Finding
from leadledger.services.audit.exports import audit_export
from leadledger.services.audit.ledger import audit_ledger
from leadledger.services.demo import GROUND_TRUTH_KEY, load_demo
from leadledger.store.activity import get_meta
from leadledger.store.db import from_db
from tests.builders import add_account, add_contact

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
EXAMPLES = Path(__file__).parent.parent.parent / "docs" / "examples"
# Which rule must catch each kind of mislabel the demo plants.
RULE_FOR_KIND = {
    "sql_without_evidence": "LL001",
    "opportunity_without_open_opportunity": "LL002",
    "customer_without_booking": "LL003",
    "customer_contact_in_nurture": "LL004",
    "stale_open_opportunity": "LL006",
    "sal_without_owner": "LL008",
}


@pytest.fixture
def demo_audit(engine: Engine) -> tuple[AuditReport, dict[str, Any]]:
    """The demo (scale 0.1) on each backend, audited as of the demo's own clock."""
    load_demo(engine, now=NOW, seed=7, scale=0.1)
    with engine.connect() as c:
        truth: dict[str, Any] = json.loads(get_meta(c, GROUND_TRUTH_KEY) or "{}")
    now = from_db(truth["now"])
    assert now is not None
    return audit_ledger(engine, now), truth


def _caught(findings: list[Finding], m: dict[str, str]) -> bool:
    return any(f.key == m["email"] or (m.get("opportunity") and f.key == m["opportunity"]) for f in findings)


def test_the_audit_finds_every_planted_mislabel_and_nothing_else(
    demo_audit: tuple[AuditReport, dict[str, Any]],
) -> None:
    report, truth = demo_audit
    planted = truth["mislabeled"]
    assert {m["kind"] for m in planted} == set(RULE_FOR_KIND)
    by_rule: dict[str, list[Finding]] = defaultdict(list)
    for f in report.findings:
        by_rule[f.rule].append(f)
    missed = [m for m in planted if not _caught(by_rule[RULE_FOR_KIND[m["kind"]]], m)]
    assert missed == []  # recall 100 % per kind
    bad_keys = {m["email"] for m in planted} | {m["opportunity"] for m in planted if "opportunity" in m}
    for rule in RULE_FOR_KIND.values():  # precision 100 %: these rules fire on planted records only
        clean = [f.key for f in by_rule[rule] if f.key not in bad_keys]
        assert clean == [], (rule, clean)
    labelled = {f.key: f for f in report.findings if f.rule in ("LL001", "LL002", "LL003", "LL004", "LL008")}
    for m in planted:
        f = labelled.get(m["email"])
        if f is not None:
            assert f.label == m["label"]


def test_every_other_finding_is_true_of_the_data(demo_audit: tuple[AuditReport, dict[str, Any]]) -> None:
    """Rules the demo does not plant may fire; each must state a fact the data shows."""
    report, _ = demo_audit
    for f in report.findings:
        if f.rule == "LL009":  # an SAL with no two-way touch within 48 hours of acceptance
            assert f.label == "sal" and ("never touched" in f.evidence or "late" in f.message)
        elif f.rule == "LL010":
            assert f.record_kind == "deal" and "1 contact(s) on the deal" in f.evidence
        elif f.rule == "LL014":
            assert f.related and f.related[0] != f.key
    assert report.totals.pipeline_unsupported > 0 and report.totals.won_unsupported > 0
    assert report.totals.mislabeled_contacts >= 25


def test_hubspot_export_audits_without_import(lead_first: Any) -> None:
    files = [EXAMPLES / n for n in ("hubspot_contacts.csv", "hubspot_deals.csv", "hubspot_companies.csv")]
    report = audit_export(files, "hubspot", "lead-first", NOW)
    got = sorted((f.rule, f.key) for f in report.findings)
    assert got == [
        ("LL002", "5015"),  # Opportunity, but the only deal is closed lost
        ("LL003", "5014"),  # Customer on a closed-won deal with no invoice date
        ("LL003", "5020"),  # Customer on a contract sent
        ("LL004", "5003"), ("LL004", "5012"), ("LL004", "5034"),  # leads at customer accounts
        ("LL005", "5006"), ("LL005", "5010"),  # SQL, sales never connected
        ("LL006", "9014"), ("LL006", "9016"),
        ("LL007", "9013"),
        ("LL008", "9015"),
        ("LL010", "9004"),
        ("LL011", "5011"), ("LL011", "5013"),
        ("LL012", "5027"),
        ("LL013", "5034"),
        ("LL015", "9007"),
    ]
    assert any("HubSpot exports carry no qualification evidence" in s for s in report.limitations)


def test_salesforce_export_audits_without_import() -> None:
    files = [EXAMPLES / "salesforce_leads.csv", EXAMPLES / "salesforce_opportunities.csv"]
    report = audit_export(files, "salesforce", "lead-first", NOW)
    rules = {f.rule for f in report.findings}
    assert {"LL004", "LL005", "LL006", "LL008", "LL015"} <= rules
    assert any("could not be checked for a signed and booked contract" in s for s in report.limitations)
    assert report.totals.pipeline_unsupported > 0


def test_an_unrecognised_file_is_refused(tmp_path: Path) -> None:
    odd = tmp_path / "odd.csv"
    odd.write_text("foo,bar\n1,2\n")
    with pytest.raises(Exception, match="cannot tell what"):
        audit_export([odd], "hubspot", "lead-first", NOW)


def test_listing_only_flaggable_contacts_changes_nothing(engine: Engine) -> None:
    """The ledger audit lists only contacts a rule can flag; the report equals one that lists all."""
    load_demo(engine, now=NOW, seed=7, scale=0.1)
    with engine.begin() as conn:
        acc = add_account(conn, "twins.com")
        # duplicates the store must find: case and spaces in an address, a curly apostrophe and a
        # hyphen that normalize to one name, and names outside ASCII
        add_contact(conn, " Dup@Twins.com", acc, first_name="Ann", last_name="Lee")
        add_contact(conn, "dup@twins.com", acc, first_name="Ann", last_name="Lee")
        add_contact(conn, "mary.a@twins.com", acc, first_name="Mary-Ann", last_name="O'Brien")
        add_contact(conn, "mobrien@twins.com", acc, first_name="Mary Ann", last_name="O’Brien")
        add_contact(conn, "jose@twins.com", acc, first_name="JOSÉ", last_name="García")
        add_contact(conn, "j.garcia@twins.com", acc, first_name="José", last_name="garcía", stage="sql")
    with engine.connect() as c:
        truth: dict[str, Any] = json.loads(get_meta(c, GROUND_TRUTH_KEY) or "{}")
    now = from_db(truth["now"])
    assert now is not None
    listed = audit_ledger(engine, now)
    everyone = audit_ledger(engine, now, complete=True)
    assert listed.to_dict() == everyone.to_dict()
    twins = {(f.rule, f.key) for f in listed.findings if "twins.com" in f.key}
    want = {("LL013", "dup@twins.com"), ("LL014", "mobrien@twins.com"), ("LL014", "j.garcia@twins.com")}
    assert want <= twins

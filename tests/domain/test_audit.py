"""The audit rule pack on hand-built records: each rule fires on its contradiction and only there."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from leadledger.domain.audit import (
    RULES,
    AuditAccount,
    AuditContact,
    AuditDeal,
    AuditReport,
    AuditSnapshot,
    DealState,
    Severity,
    run_audit,
)
from leadledger.domain.policy import Policy
from leadledger.domain.records import Evidence
from tests.builders import T0

NOW = T0 + timedelta(days=150)
BANT = ("need", "authority", "timeline")


def ev(*fields: str) -> dict[str, Evidence]:
    return {f: Evidence(contact_id=0, field=f, value=f"{f} confirmed", confirmed_by="sam", confirmed_at=T0)
            for f in fields}


def person(key: str = "dana@acme.com", **kw: Any) -> AuditContact:
    """A fully known contact at Acme (ledger-like: fit, score, evidence and activity known)."""
    base: dict[str, Any] = dict(
        key=key, email=key, name=key.split("@")[0].title() + " Diaz", company="Acme", account="acme",
        label="lead", owner=None, fit=45.0, score=20.0, evidence={}, two_way_count=0, buying_signal_count=0,
        trial_usage_count=0, label_since=T0, last_activity_at=NOW - timedelta(days=1),
    )
    return AuditContact(**{**base, **kw})


def qualified(key: str = "dana@acme.com", **kw: Any) -> AuditContact:
    return person(key, **{**dict(label="sql", owner="sam", evidence=ev(*BANT), two_way_count=2,
                                 buying_signal_count=1), **kw})


def deal(key: str = "D1", **kw: Any) -> AuditDeal:
    """An open, owned deal at Acme closing in a month, worked yesterday."""
    base: dict[str, Any] = dict(
        key=key, name=f"Acme {key}", account="acme", state=DealState.OPEN, stage="proposal", amount=40_000.0,
        expected_close=NOW + timedelta(days=30), owner="ann", created_at=NOW - timedelta(days=20),
        stage_since=NOW - timedelta(days=5), last_activity_at=NOW - timedelta(days=1),
        contacts=(("dana@acme.com", "champion"), ("eve@acme.com", "economic_buyer")),
    )
    return AuditDeal(**{**base, **kw})


def won(key: str = "W1", **kw: Any) -> AuditDeal:
    return deal(key, **{**dict(state=DealState.WON, stage="closed_won", signed_at=T0,
                               booked_at=T0 + timedelta(days=2), expected_close=T0), **kw})


ACME = AuditAccount(key="acme", name="Acme", domain="acme.com", owner="ann", employees=200)


def audit(policy: Policy, contacts: list[AuditContact], deals: list[AuditDeal] = (),  # type: ignore[assignment]
          accounts: list[AuditAccount] | None = None, source: str = "ledger") -> AuditReport:
    snap = AuditSnapshot(source=source, contacts=tuple(contacts), deals=tuple(deals),
                         accounts=tuple(accounts if accounts is not None else [ACME]))
    return run_audit(snap, policy, NOW)


def rules(report: AuditReport, key: str | None = None) -> list[str]:
    return sorted(f.rule for f in report.findings if key is None or f.key == key)


def test_rule_ids_are_stable_and_unique() -> None:
    ids = [r.id for r in RULES]
    assert ids == sorted(set(ids)) and ids[0] == "LL001" and len(ids) == 15
    assert len({r.slug for r in RULES}) == len(RULES)


def test_severity_orders_info_warning_error() -> None:
    assert Severity.ERROR.at_least(Severity.WARNING) and Severity.WARNING.at_least(Severity.INFO)
    assert not Severity.INFO.at_least(Severity.WARNING)
    assert max([Severity.WARNING, Severity.ERROR, Severity.INFO], key=lambda s: s.rank) is Severity.ERROR


def test_a_clean_pipeline_has_no_findings(lead_first: Policy) -> None:
    report = audit(lead_first, [qualified(), qualified("eve@acme.com", label="opportunity")], [deal()])
    assert report.findings == () and report.worst is None and not report.fails(Severity.INFO)
    assert report.totals.pipeline_reported == report.totals.pipeline_supported == 40_000.0


def test_ll001_sql_without_evidence_names_what_is_missing(lead_first: Policy) -> None:
    report = audit(lead_first, [person(label="sql", owner="sam", evidence=ev("need"), two_way_count=1,
                                       buying_signal_count=1)])
    [f] = report.findings
    assert f.rule == "LL001" and f.severity is Severity.ERROR and f.supported_label == "lead"
    assert "missing qualification evidence: authority, timeline" in f.message
    assert f.message.startswith("Dana Diaz <dana@acme.com> at Acme is counted as SQL (prospect)")
    assert f.message.endswith("The evidence supports Lead.")


def test_ll005_an_mql_counted_as_sql(lead_first: Policy) -> None:
    report = audit(lead_first, [person(label="sql", score=130.0, owner="sam")])
    [f] = report.findings
    assert f.rule == "LL005" and f.supported_label == "sal" and "only marketing-qualified" in f.message
    below = audit(lead_first, [person(label="sql", score=99.0, owner="sam")])
    assert [(g.rule, g.supported_label) for g in below.findings] == [("LL001", "lead")]


def test_ll001_fires_for_an_unqualified_opportunity_too(lead_first: Policy) -> None:
    report = audit(lead_first, [person(label="opportunity", owner="sam")], [deal()])
    assert rules(report) == ["LL001"]


def test_ll002_opportunity_label_without_an_open_deal(lead_first: Policy) -> None:
    lost = deal(state=DealState.LOST, stage="closed_lost")
    report = audit(lead_first, [qualified(label="opportunity")], [lost])
    [f] = report.findings
    assert f.rule == "LL002" and f.supported_label == "sql" and "lost in closed_lost" in f.message
    no_amount = audit(lead_first, [qualified(label="opportunity")], [deal(amount=None)])
    assert rules(no_amount) == ["LL002"]


def test_ll003_customer_on_a_verbal_yes(lead_first: Policy) -> None:
    signed_only = deal(stage="negotiation", signed_at=NOW - timedelta(days=3))
    report = audit(lead_first, [qualified(label="customer")], [signed_only])
    [f] = report.findings
    assert f.rule == "LL003" and f.amount == 40_000.0 and f.supported_label == "opportunity"
    assert "signed" in f.message and "not booked" in f.message
    assert report.totals.won_unsupported == 40_000.0
    assert rules(audit(lead_first, [qualified(label="customer")], [won()])) == []


def test_ll004_customer_contact_in_nurture_but_not_an_expansion_prospect(lead_first: Policy) -> None:
    contacts = [person("a@acme.com", label="nurture"), qualified("b@acme.com"),
                qualified("c@acme.com", label="customer")]
    report = audit(lead_first, contacts, [won()])
    assert [(f.rule, f.key) for f in report.findings] == [("LL004", "a@acme.com")]
    assert report.findings[0].supported_label == "customer" and "route to ann" in report.findings[0].message


def test_ll006_and_ll007_past_close_and_stale(lead_first: Policy) -> None:
    late = deal("D2", expected_close=NOW - timedelta(days=10))
    stale = deal("D3", stage_since=NOW - timedelta(days=90), last_activity_at=NOW - timedelta(days=80),
                 contacts=())
    report = audit(lead_first, [qualified()], [late, stale])
    assert [(f.rule, f.key) for f in report.findings] == [("LL006", "D2"), ("LL007", "D3")]
    assert "10 days ago" in report.findings[0].message
    assert report.totals.pipeline_unsupported == 80_000.0
    # worked recently by a contact on the deal: not stale
    active = deal("D4", stage_since=NOW - timedelta(days=90), last_activity_at=None)
    assert rules(audit(lead_first, [qualified()], [active])) == []


def test_ll008_no_owner_on_sales_stages_and_deals(lead_first: Policy) -> None:
    report = audit(lead_first, [person(label="sal", score=120.0), person("m@acme.com", label="mql")],
                   [deal(owner=None)])
    found = {(f.rule, f.key, f.supported_label) for f in report.findings if f.rule == "LL008"}
    assert found == {("LL008", "dana@acme.com", "mql"), ("LL008", "D1", None)}
    # a customer's contact routes to the account owner: not unowned
    assert rules(audit(lead_first, [qualified(label="customer", owner=None)], [won()])) == []


def test_ll009_sal_past_its_sla(lead_first: Policy) -> None:
    late = person(label="sal", owner="sam", score=120.0, label_since=NOW - timedelta(hours=72))
    touched = person("t@acme.com", label="sal", owner="sam", score=120.0,
                     label_since=NOW - timedelta(hours=72), first_touch_at=NOW - timedelta(hours=60))
    report = audit(lead_first, [late, touched])
    assert [(f.rule, f.key) for f in report.findings] == [("LL009", "dana@acme.com")]
    assert "24 hours late" in report.findings[0].message


def test_ll010_single_threaded_enterprise_deal(lead_first: Policy) -> None:
    big = AuditAccount(key="acme", name="Acme", owner="ann", employees=5_000)
    one = deal(contacts=(("dana@acme.com", "champion"),))
    enterprise_ready = qualified(evidence=ev(*BANT, "champion", "initiative", "next_meeting"))
    report = audit(lead_first, [enterprise_ready], [one], accounts=[big])
    [f] = report.findings
    assert f.rule == "LL010" and "only Dana Diaz" in f.message and "economic buyer" in f.message
    assert rules(audit(lead_first, [qualified()], [one])) == []  # 200 employees: not enterprise


def test_ll011_contact_and_company_labels_disagree(lead_first: Policy) -> None:
    labelled = AuditAccount(key="acme", name="Acme", owner="ann", label="lead")
    report = audit(lead_first, [qualified(label="customer")], [won()], accounts=[labelled])
    assert rules(report) == ["LL011"]


def test_ll012_customer_forever_after_churn(lead_first: Policy) -> None:
    churned = AuditAccount(key="acme", name="Acme", owner="ann", churned_at=T0 + timedelta(days=60))
    report = audit(lead_first, [qualified(label="customer")], [won()], accounts=[churned])
    [f] = report.findings
    assert f.rule == "LL012" and "churned on 2026-03-02" in f.message


def test_ll013_and_ll014_duplicates(lead_first: Policy) -> None:
    contacts = [
        person("1", email="dana@acme.com", name="Dana Diaz"),
        person("2", email="Dana@Acme.com ", name="Dana Diaz"),
        person("3", email="d.diaz@acme.com", name="Dana  Diaz"),
        person("4", email="dana@gmail.com", name="Dana Diaz"),
        person("5", email="dd@gmail.com", name="Dana Diaz"),  # free mail: namesakes are common
    ]
    report = audit(lead_first, contacts)
    assert sorted((f.rule, f.key) for f in report.findings) == [("LL013", "2"), ("LL014", "3")]


def test_ll015_won_without_booking_and_forecast_as_won(lead_first: Policy) -> None:
    unbooked = won("W2", booked_at=None)
    committed = deal("D5", forecast_category="Closed")
    unknown = won("W3", booked_at=None, booked_known=False)  # the source has no booked column
    report = audit(lead_first, [qualified()], [unbooked, committed, unknown])
    assert [(f.rule, f.key) for f in report.findings] == [("LL015", "D5"), ("LL015", "W2")]
    assert any("could not be checked for a signed and booked contract" in s for s in report.limitations)


def test_unknown_inputs_are_reported_not_flagged(lead_first: Policy) -> None:
    """An export without evidence: the rule judges what it sees and says what it could not check."""
    export = person(label="sql", owner="sam", fit=None, score=None, evidence=None, two_way_count=None,
                    buying_signal_count=None)
    assert audit(lead_first, [export], source="export").findings == ()
    never_called = person(label="sql", owner="sam", fit=None, score=None, evidence=None, two_way_count=0,
                          buying_signal_count=None)
    [f] = audit(lead_first, [never_called], source="export").findings
    assert f.rule == "LL005" and "at most SAL" in f.message
    assert any("qualification evidence" in u for u in f.unchecked)


def test_totals_correct_the_funnel(lead_first: Policy) -> None:
    contacts = [person("a@acme.com"), person("b@acme.com", label="sql"), qualified("c@acme.com")]
    t = audit(lead_first, contacts).totals
    by = {s.stage: s for s in t.stages}
    assert (by["sql"].reported, by["sql"].corrected) == (2, 1)
    conv = {(c.from_stage, c.to_stage): c for c in t.conversions}
    assert conv[("lead", "sql")].reported == pytest.approx(2 / 3)
    assert conv[("lead", "sql")].corrected == pytest.approx(1 / 3)
    assert t.mislabeled_contacts == 1


def test_fails_at_or_above_the_threshold(lead_first: Policy) -> None:
    report = audit(lead_first, [qualified()], [deal(owner=None)])  # one warning
    assert report.fails(Severity.WARNING) and report.fails(Severity.INFO)
    assert not report.fails(Severity.ERROR)
    d = report.to_dict()
    assert d["findings"][0]["rule"] == "LL008"  # type: ignore[index]

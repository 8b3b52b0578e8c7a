"""The monthly report on the demo data: the numbers are funnel_report's, forecast's and the audit's."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from leadledger.services.audit.ledger import audit_ledger
from leadledger.services.funnel import FunnelReport, forecast_report, funnel_report
from leadledger.services.monthly_report import BadMonth, MonthlyReport, monthly_report, parse_month
from leadledger.web.format import count, money, percent, ratio
from leadledger.web.monthly import render_monthly_report
from tests.conftest import NOW

MAY, JUNE = datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)
SECTIONS = ("headlines", "funnel", "trend", "time-in-stage", "sources", "economics", "forecast", "audit")


@pytest.fixture(scope="module")
def may(demo_engine: Engine) -> MonthlyReport:
    """The report of May 2026, run on the demo's clock (1 June 2026, noon)."""
    return monthly_report(demo_engine, "2026-05", NOW)


@pytest.fixture(scope="module")
def html(may: MonthlyReport) -> str:
    return render_monthly_report(may)


def section(html: str, name: str) -> str:
    """The HTML of one <section id=name>."""
    m = re.search(rf'<section id="{name}"[^>]*>(.*?)</section>', html, re.S)
    assert m, f"no section {name}"
    return m.group(1)


def same(a: FunnelReport, b: FunnelReport) -> bool:
    return replace(a, seconds=0.0) == replace(b, seconds=0.0)


def test_the_month_runs_to_its_end_and_the_trend_covers_twelve_months(may: MonthlyReport) -> None:
    assert (may.start, may.end, may.as_of, may.complete) == (MAY, JUNE, JUNE, True)
    assert [t.month for t in may.trend] == [f"2025-{m:02d}" for m in range(6, 13)] + [
        f"2026-{m:02d}" for m in range(1, 6)
    ]


def test_the_numbers_are_the_services_numbers(demo_engine: Engine, may: MonthlyReport) -> None:
    assert same(may.funnel, funnel_report(demo_engine, JUNE, start=MAY, end=JUNE))
    year = funnel_report(demo_engine, JUNE, start=datetime(2025, 6, 1, tzinfo=UTC), end=JUNE)
    assert same(may.trailing, year)
    assert may.forecast == forecast_report(demo_engine, JUNE, won_since=MAY)
    audit = audit_ledger(demo_engine, JUNE)
    assert may.audit.findings == len(audit.findings) > 0
    assert may.audit.totals == audit.totals
    # The trend is the twelve-month report regrouped: cohort conversion and first entries per month.
    cohorts = {c.cohort: c for c in year.cohorts}
    periods = {p.month: p for p in year.periods}
    for t in may.trend:
        c = cohorts[t.month]
        assert t.cohort_size == c.size and t.new_leads == periods[t.month].stages[0].contacts
        assert t.lead_to_prospect == pytest.approx(c.reached("sql") / c.size)
        assert t.new_customers == next(s.contacts for s in periods[t.month].stages if s.stage == "customer")
    assert may.headline("new_leads").value == may.trend[-1].new_leads
    assert may.headline("clv_to_cac").value == year.economics.clv_to_cac is not None  # the fixture's spend
    assert may.headline("weighted_forecast").value == may.forecast.report.weighted_amount


def test_the_html_has_every_section_with_the_services_numbers(may: MonthlyReport, html: str) -> None:
    for name in SECTIONS:
        section(html, name)
    assert "<h1>Revenue report — May 2026</h1>" in html
    funnel = section(html, "funnel")
    this = {p.month: p for p in may.funnel.periods}["2026-05"]
    for reached, total in zip(this.stages, may.trailing_total.stages, strict=True):
        assert f'<td class="num">{count(reached.contacts)}</td>' in funnel
        assert f'<td class="num">{count(total.contacts)}</td>' in funnel
        assert f'<td class="num">{percent(total.rate_from_previous)}</td>' in funnel
    for b in may.trailing.benchmarks:
        assert percent(b.rate) in funnel and b.flag in funnel
    trend = section(html, "trend")
    assert all(f"<td>{t.month}</td>" in trend for t in may.trend)
    times = section(html, "time-in-stage")
    for t in may.trailing.time_in_stage:
        assert f'<td class="num">{count(t.stays)}</td>' in times
    sources = section(html, "sources")
    for s in may.trailing.sources:
        assert f"<td>{s.source}</td>" in sources and money(s.cac) in sources
    economics = section(html, "economics")
    e = may.trailing.economics
    assert money(e.clv) in economics and money(e.cac) in economics and ratio(e.clv_to_cac) in economics
    assert "3:1 line" in economics
    forecast = section(html, "forecast")
    f = may.forecast.report
    assert money(f.weighted_amount) in forecast and money(f.open_amount) in forecast
    assert money(f.amount_lacking_evidence) in forecast
    audit = section(html, "audit")
    t = may.audit.totals
    assert money(t.pipeline_unsupported) in audit and f"found {count(may.audit.findings)} problems" in audit
    for rule in may.audit.rules:
        assert f"<td>{rule.rule.id}</td>" in audit
    for name in ("funnel", "trend", "time-in-stage", "economics", "forecast", "audit"):
        assert '<svg xmlns="http://www.w3.org/2000/svg" class="chart"' in section(html, name), name


def test_the_html_is_self_contained(html: str) -> None:
    assert "<script" not in html and "<link" not in html and "@import" not in html and "url(" not in html
    assert not re.search(r"\b(src|href)=", html)
    assert re.findall(r"https?://[^\s\"'<>]+", html) == ["http://www.w3.org/2000/svg"] * html.count("<svg ")
    assert html.count("<style>") == 1 and "@media print" in html and "break-before: page" in html


def test_a_running_month_stops_at_the_real_clock(demo_engine: Engine) -> None:
    june = monthly_report(demo_engine, "2026-06", NOW)
    assert (june.as_of, june.complete, june.funnel.end) == (NOW, False, NOW)
    assert "month to date" in render_monthly_report(june)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-13", "not a calendar month"),
        ("26-03", "not a calendar month"),
        ("2026-3", "not a calendar month"),
        ("March", "not a calendar month"),
        ("2026-07", "has not begun yet"),
    ],
)
def test_a_bad_month_is_refused(text: str, message: str) -> None:
    with pytest.raises(BadMonth, match=message):
        parse_month(text, NOW)


def test_an_empty_ledger_still_gives_a_readable_report(engine: Engine) -> None:
    """No contacts, no deals: every section is there and the charts say there is no data."""
    report = monthly_report(engine, "2026-05", NOW)
    page = render_monthly_report(report)
    for name in SECTIONS:
        section(page, name)
    assert "No data for this period" in page
    assert report.audit.findings == 0 and report.headline("new_leads").value == 0

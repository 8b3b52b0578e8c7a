"""Report and audit endpoints over the demo data: the CLI's figures as JSON."""

from __future__ import annotations

from sqlalchemy import Engine

from tests.api.conftest import make_api


def test_reports_and_audit_answer_with_the_services_figures(demo_engine: Engine) -> None:
    api = make_api(demo_engine)
    window = {"from": "2025-06-01", "to": "2026-06-01"}
    funnel = api.call("GET", "/reports/funnel", role="read-only", params=window)
    assert funnel.status_code == 200, funnel.text
    assert funnel.json()["cohorts"] and "sla" in funnel.text
    forecast = api.call("GET", "/reports/forecast", role="marketing").json()
    assert forecast["open_deals"] > 0 and forecast["lines"] and forecast["won_since"]
    audit = api.call("GET", "/audit", role="sales")
    assert audit.status_code == 200 and audit.json()["findings"]
    policy = api.call("GET", "/policy", role="read-only").json()
    owners = {s["name"]: s["owner_role"] for s in policy["stages"]}
    assert owners["sql"] == "sales" and owners["customer"] == "client-success"
    assert api.call("GET", "/reports/monthly", role="admin", params={"month": "2026-05"}).status_code == 200
    assert api.call("GET", "/reports/funnel", role="ingest-only").status_code == 403
    assert api.call("GET", "/audit", role="ingest-only").status_code == 403

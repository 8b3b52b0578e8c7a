"""What each dashboard page shows, as plain data (the JSON twin) plus its charts: no HTTP in here.

The funnel page is `funnel_report` over the last twelve months; the audit page is the ledger audit
grouped by rule; the policy page is the active policy, readable, with its version history. The
queue and record pages have services of their own (`services.queue`, `services.record_view`).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from leadledger.domain.funnel import ALL, first_prospect_stage
from leadledger.domain.policy import Policy
from leadledger.domain.stats import ratio
from leadledger.services.audit.ledger import audit_ledger
from leadledger.services.funnel import FunnelReport, funnel_report
from leadledger.store.policies import load_active_policy, policy_history
from leadledger.web import format as fmt
from leadledger.web.charts import Reference, Series, bar_chart, line_chart, stacked_bars
from leadledger.web.svg import PALETTE

FINDINGS_PER_RULE = 25
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


def _policy(engine: Engine) -> Policy:
    with engine.connect() as conn:
        return load_active_policy(conn)


# ------------------------------------------------------------------ funnel


def funnel_page(engine: Engine, now: datetime) -> tuple[dict[str, Any], dict[str, str]]:
    """The funnel over the last twelve months: data for the JSON twin, and SVG charts by name."""
    report = funnel_report(engine, now)
    policy = _policy(engine)
    trend = _trend(report, policy)
    data = {
        "as_of": now,
        "policy_version": report.policy_version,
        "window": {"start": report.start, "end": report.end},
        "conversion": [asdict(s) for s in report.cohorts[-1].stages] if report.cohorts else [],
        "cohort_size": report.cohorts[-1].size if report.cohorts else 0,
        "current": [asdict(s) for s in report.stages],
        "trend": trend,
        "time_in_stage": [asdict(t) for t in report.time_in_stage],
        "sla": [asdict(s) for s in report.sla],
        "sources": [asdict(s) for s in report.sources],
        "rejected_mqls": [asdict(r) for r in report.rejected_mqls],
        "benchmarks": [asdict(b) for b in report.benchmarks],
        "stage_labels": {s.name: s.label for s in policy.stages},
        "seconds": report.seconds,
    }
    return data, _funnel_charts(report, trend, policy)


def _trend(report: FunnelReport, policy: Policy) -> list[dict[str, Any]]:
    """Per month: contacts created, first reaches per stage, and how that month's cohort converted so far."""
    prospect = first_prospect_stage(policy)
    customer = policy.customer_stage.name if policy.customer_stage else None
    cohorts = {c.cohort: c for c in report.cohorts if c.cohort != ALL}
    out = []
    for p in report.periods:
        c = cohorts.get(p.month)
        size = c.size if c else 0
        prospects = c.reached(prospect) if c and prospect else 0
        customers = c.reached(customer) if c and customer else 0
        out.append({
            "month": p.month,
            "created": size,
            "reached": {s.stage: s.contacts for s in p.stages},
            "lead_to_prospect": ratio(prospects, size),
            "lead_to_customer": ratio(customers, size),
        })
    return out


def _funnel_charts(report: FunnelReport, trend: list[dict[str, Any]], policy: Policy) -> dict[str, str]:
    charts: dict[str, str] = {}
    if report.cohorts and report.cohorts[-1].stages:
        total = report.cohorts[-1]
        charts["funnel"] = bar_chart(
            "Contacts created in the last 12 months that reached each stage",
            [s.label for s in total.stages], [Series("contacts", [s.contacts for s in total.stages])],
            y_label="Contacts", x_label="Stage (skipped stages count as passed)", fmt=fmt.tick_count,
            whole=True, width=720,
        )
    if trend:
        months = [t["month"] for t in trend]
        mains = policy.main_stages[:4]
        charts["trend"] = stacked_bars(
            "First reaches by month",
            months,
            [Series(s.label, [t["reached"].get(s.name, 0) for t in trend], PALETTE[i % len(PALETTE)])
             for i, s in enumerate(mains)],
            y_label="Contacts", x_label="Month of the first reach", fmt=fmt.tick_count, whole=True, width=960,
        )
        refs = [Reference(b.benchmark, f"{b.name} benchmark {b.benchmark:.0%}", PALETTE[i % len(PALETTE)])
                for i, b in enumerate(report.benchmarks)]
        charts["conversion_trend"] = line_chart(
            "Conversion by month the contact was created",
            months,
            [Series("lead → prospect", [t["lead_to_prospect"] for t in trend]),
             Series("lead → customer", [t["lead_to_customer"] for t in trend])],
            y_label="Converted so far (%)", x_label="Month the contact was created", fmt=fmt.percent_tick,
            refs=refs, width=960,
        )
    if report.time_in_stage:
        labels = {s.name: s.label for s in policy.stages}
        rows = report.time_in_stage
        charts["time_in_stage"] = bar_chart(
            "Days spent in each stage (completed stays)",
            [labels.get(t.stage, t.stage) for t in rows],
            [Series("median", [t.median_days for t in rows]),
             Series("90th percentile", [t.p90_days for t in rows])],
            y_label="Days in stage", x_label="Stage", fmt=fmt.tick_count, width=720,
        )
    return charts


# ------------------------------------------------------------------ audit


def audit_page(engine: Engine, now: datetime) -> dict[str, Any]:
    """The ledger audit grouped by rule, most severe rule first, a capped list of findings under each."""
    report = audit_ledger(engine, now)
    by_rule: dict[str, list[dict[str, Any]]] = {}
    for f in report.findings:
        by_rule.setdefault(f.rule, []).append(f.to_dict())
    summary = [s for s in report.summary() if s.count]
    summary.sort(key=lambda s: (SEVERITY_ORDER[s.rule.severity.value], -s.count, s.rule.id))
    groups = [
        {
            "rule": s.rule.id,
            "slug": s.rule.slug,
            "severity": s.rule.severity.value,
            "checks": s.rule.checks,
            "count": s.count,
            "amount": s.amount,
            "findings": by_rule.get(s.rule.id, [])[:FINDINGS_PER_RULE],
        }
        for s in summary
    ]
    t = report.totals
    return {
        "as_of": report.now,
        "policy_version": report.policy_version,
        "findings": len(report.findings),
        "worst": report.worst.value if report.worst else None,
        "by_severity": {
            sev: sum(s.count for s in summary if s.rule.severity.value == sev) for sev in SEVERITY_ORDER
        },
        "groups": groups,
        "totals": t.to_dict(),
        "shown_per_rule": FINDINGS_PER_RULE,
    }


# ------------------------------------------------------------------ policy


def policy_page(engine: Engine) -> dict[str, Any]:
    """The active policy as readable rows, and every stored version."""
    with engine.connect() as conn:
        policy = load_active_policy(conn)
        history = policy_history(conn)
    return {
        "name": policy.name,
        "version": policy.version,
        "framework": policy.framework,
        "stages": [
            {
                "name": s.name,
                "label": s.label,
                "owner": s.owner_team,
                "meaning": s.meaning.value,
                "side": s.side,
                "sla_first_touch_hours": s.sla_first_touch_hours,
                "gate": gate_sentences(s.gate, policy),
            }
            for s in policy.stages
        ],
        "backward": [asdict(b) for b in policy.backward],
        "automation": asdict(policy.auto_promotion) if policy.auto_promotion else None,
        "dormancy": asdict(policy.dormancy) if policy.dormancy else None,
        "scoring": {
            "mql_threshold": policy.scoring.mql_threshold,
            "fit_minimum": policy.scoring.fit_minimum,
            "half_life_days": policy.scoring.half_life_days,
            "fit": [asdict(r) for r in policy.scoring.fit_rules],
            "behavior": [asdict(s) for s in policy.scoring.signals],
        },
        "buying_signals": list(policy.buying_signal_events),
        "history": history,
    }


def gate_sentences(gate: Any, policy: Policy) -> list[str]:
    """A stage's gate as short sentences a rep reads (the same requirements `evaluate_gate` checks)."""
    out = []
    if gate.fields:
        out.append("contact has " + ", ".join(gate.fields))
    if gate.icp_fit:
        out.append(f"ICP fit ≥ {policy.scoring.fit_minimum:g}")
    if gate.score_threshold:
        out.append(f"score ≥ {policy.scoring.mql_threshold:g}")
    if gate.owner:
        out.append("an owner is assigned")
    if gate.evidence:
        out.append("evidence: " + ", ".join(gate.evidence))
    if gate.two_way_interaction:
        out.append("a two-way interaction (reply, call or meeting)")
    if gate.buying_signal:
        out.append("a buying signal (" + ", ".join(policy.buying_signal_events) + ")")
    if gate.enterprise_evidence:
        out.append("enterprise accounts also: " + ", ".join(gate.enterprise_evidence))
    if gate.open_opportunity:
        out.append("an open opportunity with amount and close date")
    if gate.signed_and_booked:
        out.append("a signed AND booked contract")
    if gate.enter_from:
        out.append("entered only from " + ", ".join(gate.enter_from))
    if gate.reason:
        out.append("a reason")
    return out or ["no requirement"]

"""What each section of the monthly report says, in sentences a sales VP reads (plain text)."""

from __future__ import annotations

from leadledger.domain.forecast import WON
from leadledger.domain.stats import ratio
from leadledger.services.monthly_report import MonthlyReport
from leadledger.web.format import count, money, month_name, percent


def sentences(r: MonthlyReport) -> dict[str, list[str]]:
    """Section → its sentences."""
    return {
        "funnel": _funnel(r),
        "trend": _trend(r),
        "time_in_stage": _time_in_stage(r),
        "sources": _sources(r),
        "economics": _economics(r),
        "forecast": _forecast(r),
        "audit": _audit(r),
    }


def _label(r: MonthlyReport, stage: str | None) -> str:
    return r.stage_labels.get(stage or "", stage or "—")


def _funnel(r: MonthlyReport) -> list[str]:
    now = r.trend[-1]
    out = [
        f"In {month_name(r.month)}, {count(now.new_leads)} new leads came in, "
        f"{count(now.new_prospects)} contacts became prospects ({_label(r, r.prospect_stage)}) and "
        f"{count(now.new_customers)} became customers."
    ]
    for b in r.trailing.benchmarks:
        if b.rate is None:
            out.append(f"{b.name}: no data yet over the last 12 months.")
        else:
            out.append(
                f"Over the last 12 months, {b.name} conversion was {percent(b.rate)} against a benchmark of "
                f"about {b.benchmark:.0%}: {b.flag}."
            )
    return out


def _trend(r: MonthlyReport) -> list[str]:
    return [
        "Each point follows the leads created in that month: the share that has become a prospect, and "
        "the share of those prospects that has become a customer, so far.",
        "The latest months are still maturing: their leads have had less time to convert, so their rates "
        "will rise.",
    ]


def _time_in_stage(r: MonthlyReport) -> list[str]:
    # Between the entry stage and the customer stage: where the funnel actually waits.
    between = r.trailing_total.stages[1:-1] if r.customer_stage else r.trailing_total.stages[1:]
    names = {s.stage for s in between}
    timed = [t for t in r.trailing.time_in_stage if t.stage in names and t.median_days is not None]
    if not timed:
        return ["No stay between the first stage and the customer stage ended in the last 12 months."]
    slow = max(timed, key=lambda t: t.median_days or 0.0)
    return [
        f"Between lead and customer, records wait longest in {_label(r, slow.stage)}: half of the stays "
        f"lasted {slow.median_days:,.0f} days or more, and one in ten over {slow.p90_days or 0:,.0f} days.",
        "Median: half of the stays were shorter. 90th percentile: nine in ten were shorter.",
    ]


def _sources(r: MonthlyReport) -> list[str]:
    rows = [s for s in r.trailing.sources if s.leads]
    if not rows:
        return ["No leads were created in the last 12 months."]
    most = max(rows, key=lambda s: s.leads)
    best = max(rows, key=lambda s: s.lead_to_customer or 0.0)
    out = [
        f"{most.source} brought the most leads ({count(most.leads)}); {best.source} turned the largest share "
        f"of its leads into customers ({percent(best.lead_to_customer)})."
    ]
    if not any(s.spend for s in rows):
        out.append("No marketing spend is recorded, so cost per lead and CAC by source are blank "
                   "(`leadledger import spend FILE.csv` adds it).")
    return out


def _economics(r: MonthlyReport) -> list[str]:
    e = r.trailing.economics
    clv = (f"A customer account is worth {money(e.clv)} over its lifetime "
           f"({money(e.annual_revenue_per_account)} a year × {e.gross_margin:.0%} gross margin ÷ "
           f"{percent(e.annual_churn)} annual churn"
           f"{', measured' if e.churn_measured else ''}).")
    if e.cac is None:
        return [clv, "No marketing spend is recorded for the last 12 months, so CAC and CLV:CAC cannot be "
                "computed."]
    verdict = "healthy (3:1 or better)" if e.healthy else "below the healthy 3:1"
    return [
        clv,
        f"Winning one cost {money(e.cac)} ({money(e.spend)} spend ÷ {count(e.new_customers)} new customer "
        f"accounts), so CLV:CAC is {e.clv_to_cac or 0:,.1f} : 1, {verdict}.",
    ]


def _forecast(r: MonthlyReport) -> list[str]:
    f = r.forecast.report
    won = [x for x in f.lines if x.category == WON and x.month == r.month]
    fields = ", ".join(f"{k} ({n})" for k, n in f.missing_fields[:3])
    out = [
        f"{count(sum(x.deals for x in won))} deal(s) worth {money(sum(x.amount for x in won))} were "
        f"signed and booked in {month_name(r.month)}. Only signed-and-booked deals count as won: a verbal "
        "yes or a proposal out is commit or best case.",
        f"The open pipeline is {money(f.open_amount)} in {count(f.open_deals)} deals; weighted by stage it "
        f"is worth {money(f.weighted_amount)}.",
    ]
    if f.deals_lacking_evidence:
        out.append(
            f"{money(f.amount_lacking_evidence)} of it ({count(f.deals_lacking_evidence)} deals, "
            f"{percent(ratio(f.amount_lacking_evidence, f.open_amount), 0)}) lacks the qualification "
            f"evidence its stage requires — most often: {fields}."
        )
    return out


def _audit(r: MonthlyReport) -> list[str]:
    a, t = r.audit, r.audit.totals
    if not a.findings:
        return ["The audit found no record whose label its evidence does not support."]
    share = ratio(t.pipeline_unsupported, t.pipeline_reported)
    return [
        f"The audit found {count(a.findings)} problems: {count(t.mislabeled_contacts)} of "
        f"{count(t.contacts)} contacts carry a label their evidence does not support.",
        f"{money(t.pipeline_unsupported)} of the {money(t.pipeline_reported)} open pipeline "
        f"({percent(share)}) is not backed by evidence, and {money(t.won_unsupported)} of reported won "
        "revenue has no signed and booked contract.",
    ]

"""Report commands: funnel, sources and forecast (Rich tables, --json, --csv)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import typer

from leadledger.cli.common import num, out, parse_date, pct, print_json, state, table, user_errors, write_csv
from leadledger.store.db import utcnow


class View(StrEnum):
    """How the funnel groups contacts."""

    cohort = "cohort"
    period = "period"


def _funnel_rows(report: Any, view: View) -> tuple[list[str], list[list[Any]]]:
    """One row per (cohort or month, stage): the long form --csv prints."""
    group = report.cohorts if view is View.cohort else report.periods
    key = "cohort" if view is View.cohort else "month"
    cols = [key, "stage", "contacts", "rate_from_previous", "rate_from_entry", "median_days", "p90_days"]
    rows = [
        [
            getattr(g, key),
            s.stage,
            s.contacts,
            s.rate_from_previous,
            s.rate_from_entry,
            s.median_days,
            s.p90_days,
        ]
        for g in group
        for s in g.stages
    ]
    return cols, rows


def funnel(
    by: View = typer.Option(
        View.cohort, "--by", help="cohort: by creation month; period: by month of entry."
    ),
    start: str = typer.Option(None, "--from", help="Window start, YYYY-MM-DD (default: 12 months ago)."),
    end: str = typer.Option(None, "--to", help="Window end (exclusive), YYYY-MM-DD (default: now)."),
    gross_margin: float = typer.Option(None, "--gross-margin", min=0, max=1, help="Override the policy's."),
    churn: float = typer.Option(
        None, "--churn", min=0, max=1, help="Annual churn (default: policy, else measured)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the whole report as JSON."),
    as_csv: bool = typer.Option(False, "--csv", help="Print the funnel table as CSV."),
) -> None:
    """Stage-to-stage conversion, time in stage, SLA, rejected MQLs, pipeline, sources, CAC and CLV."""
    from leadledger.services.funnel import funnel_report

    with user_errors():
        report = funnel_report(
            state.engine(),
            utcnow(),
            start=parse_date(start, "--from"),
            end=parse_date(end, "--to"),
            gross_margin=gross_margin,
            annual_churn=churn,
        )
    if as_json:
        print_json(report.to_dict())
        return
    cols, rows = _funnel_rows(report, by)
    if as_csv:
        write_csv(cols, rows)
        return
    _print_funnel(report, by)


def _print_funnel(r: Any, by: View) -> None:
    window = f"{r.start:%Y-%m-%d} → {r.end:%Y-%m-%d}"
    groups = r.cohorts if by is View.cohort else r.periods
    stages = [s.stage for s in groups[0].stages] if groups else []
    title = (
        f"Funnel by {'creation month (cohort)' if by is View.cohort else 'month of first entry'}, {window}: "
        "contacts that ever reached each stage (skipped stages count as passed), % of the stage before"
    )
    rows = []
    for g in groups:
        label = g.cohort if by is View.cohort else g.month
        cells = [
            f"{s.contacts:,}" + (f" ({pct(s.rate_from_previous)})" if k else "")
            for k, s in enumerate(g.stages)
        ]
        rows.append([label, *cells])
    out.print(table(title, [by.value, *stages], rows))
    if by is View.cohort:
        total = r.cohorts[-1]
        out.print(
            table(
                "Days from creation to first reaching each stage (all cohorts)",
                ["stage", "contacts", "median days", "p90 days"],
                [
                    (s.stage, s.contacts, num(s.median_days, 0), num(s.p90_days, 0))
                    for s in total.stages[1:]
                ],
            )
        )
    out.print(
        table(
            "Current stage vs furthest stage reached",
            ["stage", "current", "furthest"],
            [(s.stage, s.current, s.furthest) for s in r.stages],
        )
    )
    out.print(
        table(
            "Benchmarks (flagged beyond ±50 %)",
            ["step", "rate", "benchmark", ""],
            [(b.name, pct(b.rate), pct(b.benchmark), b.flag) for b in r.benchmarks],
        )
    )
    out.print(
        table(
            "Time in stage (completed stays)",
            ["stage", "stays", "median days", "p90 days"],
            [(t.stage, t.stays, num(t.median_days), num(t.p90_days)) for t in r.time_in_stage],
        )
    )
    for s in r.sla:
        out.print(
            f"First-touch SLA in {s.stage} ({s.sla_hours:g} h): {pct(s.compliance)} met — "
            f"{s.met:,} on time, {s.late:,} late, {s.missed:,} never touched, {s.pending:,} pending; "
            f"median {num(s.median_hours_to_touch, 0)} h to first touch."
        )
    if r.rejected_mqls:
        out.print(
            table(
                "Rejected MQLs: sales feedback",
                ["reason", "rejections", "share", "sent to"],
                [
                    (x.reason, x.rejections, pct(x.share), ", ".join(x.to_stages))
                    for x in r.rejected_mqls[:10]
                ],
            )
        )
    p, c = r.pipeline, r.committee
    out.print(
        table(
            "Pipeline (won = signed AND booked)",
            ["", "value"],
            [
                ("deals created in window", p.deals_created),
                ("won / lost / open", f"{p.won:,} / {p.lost:,} / {p.still_open:,}"),
                ("win rate", pct(p.win_rate)),
                ("average won deal", num(p.average_won_amount, 0)),
                (
                    "sales cycle, median / mean days",
                    f"{num(p.cycle_median_days)} / {num(p.cycle_mean_days)}",
                ),
                ("open deals now / amount", f"{p.open_deals_now:,} / {num(p.open_amount_now, 0)}"),
                ("pipeline velocity per day", num(p.velocity_per_day, 0)),
                ("expansion deals won / amount", f"{p.expansion_won:,} / {num(p.expansion_amount_won, 0)}"),
                ("open deals with the full buying committee", f"{c.covered:,} of {c.open_deals:,}"),
                ("most often missing roles", ", ".join(f"{k} ({n})" for k, n in c.missing_roles[:4]) or "—"),
            ],
        )
    )
    _print_sources(r)
    e = r.economics
    line = "healthy" if e.healthy else "below 3:1" if e.healthy is False else "no spend recorded"
    out.print(
        f"CAC {num(e.cac, 0)} ({num(e.spend, 0)} spend ÷ {e.new_customers:,} new customer accounts) · "
        f"CLV {num(e.clv, 0)} (revenue/account {num(e.annual_revenue_per_account, 0)} × margin "
        f"{e.gross_margin:.0%} ÷ churn {pct(e.annual_churn)}{' measured' if e.churn_measured else ''}) · "
        f"CLV:CAC {num(e.clv_to_cac)} — {line} (line at 3:1)"
    )
    out.print(f"[dim]{r.policy_version} · {r.seconds:.2f} s[/dim]")


def _print_sources(r: Any) -> None:
    out.print(
        table(
            "By source",
            ["source", "leads", "→ prospect", "→ customer", "spend", "cost/lead", "CAC"],
            [
                (
                    s.source,
                    s.leads,
                    pct(s.lead_to_prospect),
                    pct(s.lead_to_customer),
                    num(s.spend, 0),
                    num(s.cost_per_lead),
                    num(s.cac, 0),
                )
                for s in r.sources
            ],
        )
    )


def sources(
    start: str = typer.Option(None, "--from", help="Window start, YYYY-MM-DD (default: 12 months ago)."),
    end: str = typer.Option(None, "--to", help="Window end (exclusive), YYYY-MM-DD (default: now)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV."),
) -> None:
    """Leads, conversion to prospect and customer, spend, cost per lead and CAC by source."""
    from leadledger.services.funnel import funnel_report

    with user_errors():
        report = funnel_report(state.engine(), utcnow(), start=parse_date(start, "--from"),
                               end=parse_date(end, "--to"))
    cols = [
        "source",
        "leads",
        "prospects",
        "customers",
        "customer_accounts",
        "lead_to_prospect",
        "lead_to_customer",
        "spend",
        "cost_per_lead",
        "cac",
    ]
    if as_json:
        print_json({"sources": report.to_dict()["sources"], "economics": report.to_dict()["economics"]})
    elif as_csv:
        write_csv(cols, [[getattr(s, c) for c in cols] for s in report.sources])
    else:
        _print_sources(report)


def forecast(
    won_since: str = typer.Option(
        None, "--won-since", help="Count bookings from this date (default: month start)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV."),
) -> None:
    """Open pipeline weighted by stage, by forecast category and close month; won = signed AND booked."""
    from leadledger.services.funnel import forecast_report

    with user_errors():
        result = forecast_report(state.engine(), utcnow(), won_since=parse_date(won_since, "--won-since"))
    f = result.report
    cols = ["category", "month", "deals", "amount", "weighted", "amount_lacking_evidence"]
    rows = [[getattr(line, c) for c in cols] for line in f.lines]
    if as_json:
        print_json(result.to_dict())
        return
    if as_csv:
        write_csv(cols, rows)
        return
    out.print(
        table(
            f"Forecast (won since {result.won_since:%Y-%m-%d}: signed AND booked only)",
            ["category", "close month", "deals", "amount", "weighted", "lacks evidence"],
            [[c, m, d, num(a, 0), num(w, 0), num(x, 0)] for c, m, d, a, w, x in rows],
        )
    )
    out.print(
        f"Open {f.open_deals:,} deals, {num(f.open_amount, 0)}; weighted {num(f.weighted_amount, 0)}. "
        f"Won {f.won_deals:,}, {num(f.won_amount, 0)}.\n"
        f"{f.deals_lacking_evidence:,} open deals ({num(f.amount_lacking_evidence, 0)}, weighted "
        f"{num(f.weighted_lacking_evidence, 0)}) lack the qualification evidence their stage requires: "
        + (", ".join(f"{k} ({n})" for k, n in f.missing_fields) or "none")
    )


def register(app: typer.Typer) -> None:
    """Attach these commands to the app."""
    app.command()(funnel)
    app.command()(sources)
    app.command()(forecast)

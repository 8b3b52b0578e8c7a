"""`leadledger report`: the monthly report as one self-contained HTML file (or its data as JSON/CSV)."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import typer

from leadledger.cli.common import out, print_json, state, user_errors
from leadledger.store.db import utcnow


def report(
    month: str = typer.Option(..., "--month", metavar="YYYY-MM", help="The month to report, e.g. 2026-03."),
    out_file: Path = typer.Option(
        None, "--out", dir_okay=False, help="Write the HTML report to this file (printable to PDF)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report's data as JSON instead."),
    as_csv: bool = typer.Option(False, "--csv", help="Print the headline numbers as CSV instead."),
) -> None:
    """Monthly report: funnel, conversion trend, time in stage, sources, economics, forecast, audit."""
    from leadledger.services.monthly_report import BadMonth, monthly_report, parse_month

    clock = utcnow()
    try:
        parse_month(month, clock)
    except BadMonth as e:
        raise typer.BadParameter(str(e), param_hint="'--month'") from None
    if out_file is None and not (as_json or as_csv):
        raise typer.BadParameter("give --out FILE.html (or --json / --csv)", param_hint="'--out'")
    if out_file is not None and not out_file.parent.is_dir():
        raise typer.BadParameter(f"folder {out_file.parent} does not exist", param_hint="'--out'")
    with user_errors():
        data = monthly_report(state.engine(), month, clock)
    if as_json:
        print_json(data.to_dict())
        return
    if as_csv:
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(["month", "metric", "label", "value", "unit", "detail"])
        w.writerows([data.month, h.key, h.label, "" if h.value is None else h.value, h.unit, h.detail]
                    for h in data.headlines)
        return
    from leadledger.web.format import count, money, month_name
    from leadledger.web.monthly import render_monthly_report

    html = render_monthly_report(data)
    out_file.write_text(html, encoding="utf-8")
    h = {x.key: x.value for x in data.headlines}
    out.print(
        f"Wrote {out_file} ({len(html.encode()) / 1024:,.0f} KB). {month_name(data.month)}"
        f"{'' if data.complete else ' (month to date)'}: {count(h['new_leads'])} new leads, "
        f"{count(h['new_prospects'])} new prospects, {money(h['won_amount'])} booked, weighted forecast "
        f"{money(h['weighted_forecast'])}, {data.audit.findings:,} audit findings.",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    """Attach the command to the app."""
    app.command()(report)

"""`leadledger audit`: the hygiene audit of the ledger, or of a CRM export without importing it."""

from __future__ import annotations

import csv
import sys
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from leadledger.cli.common import err, out, print_json, state, table, user_errors
from leadledger.store.db import utcnow

if TYPE_CHECKING:
    from leadledger.domain.audit import AuditReport, Finding


class FailOn(StrEnum):
    """The lowest severity that makes the command exit 1."""

    info = "info"
    warning = "warning"
    error = "error"


class ExportFormat(StrEnum):
    """Which CRM wrote the export."""

    hubspot = "hubspot"
    salesforce = "salesforce"
    csv = "csv"


CSV_COLUMNS = (
    "rule", "slug", "severity", "record_kind", "key", "label", "supported_label", "amount", "message",
)


def audit(
    export: list[Path] = typer.Option(
        [], "--export", exists=True, dir_okay=False,
        help="Audit this CRM export instead of the ledger (repeatable: contacts/leads, deals/opportunities, "
        "companies; each file's kind is told by its header).",
    ),
    fmt: ExportFormat = typer.Option(ExportFormat.csv, "--format", help="Who wrote the export."),
    policy_spec: str = typer.Option(
        "lead-first", "--policy", help="Policy to audit an export against: a built-in name or a YAML file."
    ),
    fail_on: FailOn = typer.Option(
        None, "--fail-on", help="Exit 1 when any finding is at or above this severity (for scheduled jobs)."
    ),
    stale_days: int = typer.Option(
        60, "--stale-days", min=1, help="Days after which an untouched open deal is stale."
    ),
    as_of: datetime = typer.Option(
        None, "--as-of", formats=["%Y-%m-%d"], help="Audit as of this date (default: now), e.g. 2026-06-01."
    ),
    limit: int = typer.Option(20, "--limit", min=0, help="How many findings to print as sentences."),
    as_json: bool = typer.Option(False, "--json", help="Print the whole report as JSON."),
    as_csv: bool = typer.Option(False, "--csv", help="Print every finding as CSV."),
) -> None:
    """Find records whose label the evidence does not support, and what that inflates."""
    from leadledger.domain.audit import AuditSettings, Severity

    settings = AuditSettings(stale_days=stale_days)
    now = as_of.replace(tzinfo=UTC) if as_of else utcnow()
    with user_errors():
        if export:
            from leadledger.services.audit.exports import audit_export

            report = audit_export(export, fmt.value, policy_spec, now, settings)
        else:
            from leadledger.services.audit.ledger import audit_ledger

            report = audit_ledger(state.engine(), now, settings)
    if as_json:
        print_json(report.to_dict())
    elif as_csv:
        _print_csv(report)
    else:
        _print(report, limit)
    if fail_on is not None and report.fails(Severity(fail_on.value)):
        raise typer.Exit(1)


def _print_csv(report: AuditReport) -> None:
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for f in report.findings:
        d = f.to_dict()
        w.writerow(["" if d[c] is None else d[c] for c in CSV_COLUMNS])


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.1%}"


def _money(x: float) -> str:
    return f"${x:,.0f}"


def _print(report: AuditReport, limit: int) -> None:
    t = report.totals
    out.print(
        f"Audit of the {report.source} under {report.policy_version}, as of {report.now:%Y-%m-%d %H:%M} UTC: "
        f"[bold]{len(report.findings):,}[/bold] findings on {t.contacts:,} contacts and "
        f"{t.open_deals:,} open deals.",
        highlight=False,
    )
    rows = [
        (s.rule.id, s.rule.slug, s.rule.severity.value, f"{s.count:,}", _money(s.amount) if s.amount else "",
         s.example or "")
        for s in report.summary() if s.count
    ]
    out.print(table("Findings by rule", ["rule", "name", "severity", "count", "at stake", "example"], rows))
    share = t.pipeline_unsupported / t.pipeline_reported if t.pipeline_reported else None
    out.print(table("What the labels claim vs what the evidence supports", ["", "reported", "not supported",
                                                                            "supported"], [
        ("open pipeline", _money(t.pipeline_reported), f"{_money(t.pipeline_unsupported)} ({_pct(share)})",
         _money(t.pipeline_supported)),
        ("won revenue", _money(t.won_reported), _money(t.won_unsupported),
         _money(t.won_reported - t.won_unsupported)),
        ("contacts", f"{t.contacts:,}", f"{t.mislabeled_contacts:,} mislabeled", ""),
    ]))
    out.print(table("Conversion (share of records that reached a stage and went on to the next)",
                    ["from", "to", "as reported", "as corrected"],
                    [(c.from_stage, c.to_stage, _pct(c.reported), _pct(c.corrected)) for c in t.conversions]))
    shown = _interleaved(report)[:limit]
    if shown:
        out.print("[bold]Findings[/bold] (most severe first)")
        for f in shown:
            out.print(f"  {f.rule} [{f.severity.value}] {f.message}", highlight=False, markup=False)
        if len(report.findings) > limit:
            out.print(f"  … and {len(report.findings) - limit:,} more (--limit N, --json or --csv for all)")
    if report.limitations:
        out.print("[bold]What this source cannot show[/bold]")
        for line in report.limitations:
            out.print(f"  • {line}", highlight=False, markup=False)
    if not report.findings:
        err.print("No findings: every label is backed by its evidence.")


def _interleaved(report: AuditReport) -> list[Finding]:
    """Most severe first, taking one finding of each rule in turn so every rule shows an example."""
    queues: dict[str, list[Finding]] = {}
    for f in report.findings:
        queues.setdefault(f.rule, []).append(f)
    shown: list[Finding] = []
    while queues:
        for rule in list(queues):
            shown.append(queues[rule].pop(0))
            if not queues[rule]:
                del queues[rule]
    return shown


def register(app: typer.Typer) -> None:
    """Attach the command to the app."""
    app.command()(audit)

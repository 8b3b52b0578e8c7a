"""`leadledger replay`: two policies' funnels over the same recorded history (Rich, --json, --csv)."""

from __future__ import annotations

from itertools import zip_longest
from typing import Any

import typer

from leadledger.cli.common import (
    err,
    num,
    out,
    parse_date,
    pct,
    print_json,
    progress_bar,
    state,
    table,
    user_errors,
    write_csv,
)


def _metric_rows(report: Any) -> list[list[Any]]:
    """(metric, baseline, replayed) rows: the comparison as one flat table."""
    a, b = report.baseline, report.replayed
    rows: list[list[Any]] = [
        ["policy", a.policy_version, b.policy_version],
        ["contacts", a.contacts, b.contacts],
    ]
    for i, (sa, sb) in enumerate(zip_longest(a.stages, b.stages)):
        rows.append([f"step {i + 1} reached", f"{sa.stage}: {sa.reached}" if sa else "",
                     f"{sb.stage}: {sb.reached}" if sb else ""])
        if i:
            rows.append([f"step {i + 1} conversion", pct(sa.conversion) if sa else "",
                         pct(sb.conversion) if sb else ""])
    rows += [
        ["flag stage", a.flag_stage, b.flag_stage],
        ["flagged (contacts)", _flagged(a), _flagged(b)],
        ["days to flag, median", num(a.days_to_flag_median), num(b.days_to_flag_median)],
        ["days to flag, p90", num(a.days_to_flag_p90), num(b.days_to_flag_p90)],
        ["hand-off stage", a.handoff_stage, b.handoff_stage],
        ["won accounts flagged before the win", f"{a.won_accounts_flagged} of {a.won_accounts}",
         f"{b.won_accounts_flagged} of {b.won_accounts}"],
        ["days flagged before the win, median", num(a.days_flagged_before_win_median),
         num(b.days_flagged_before_win_median)],
        ["ledger entries", a.entries, b.entries],
        ["decisions kept / shifted / absorbed", f"{a.decisions_kept} / {a.decisions_shifted} / "
         f"{a.decisions_absorbed}", f"{b.decisions_kept} / {b.decisions_shifted} / {b.decisions_absorbed}"],
        ["decisions dropped", sum(a.decisions_dropped.values()), sum(b.decisions_dropped.values())],
    ]
    return rows


def _flagged(f: Any) -> int:
    order = [s.stage for s in f.stages].index(f.flag_stage)
    return int(f.stages[order].reached)


def _by_month(report: Any) -> list[list[Any]]:
    a, b = report.baseline.flagged_by_month, report.replayed.flagged_by_month
    return [[m, a.get(m, 0), b.get(m, 0)] for m in sorted(set(a) | set(b))]


def _by_rep(report: Any) -> list[list[Any]]:
    a, b = report.baseline.load_by_rep, report.replayed.load_by_rep
    return [[r, a.get(r, 0), b.get(r, 0)] for r in sorted(set(a) | set(b))]


def _explain(report: Any) -> None:
    a, b = report.baseline, report.replayed
    if report.baseline_matches_ledger:
        out.print(f"Replaying the active policy {a.policy_version} gives back the stored ledger exactly "
                  f"({a.entries:,} entries).")
    else:
        out.print(f"[yellow]Replaying {a.policy_version} differs from the stored ledger for "
                  f"{report.contacts_differing_from_ledger:,} contacts.[/]")
    out.print(
        f"{b.policy_version} flags {report.newly_flagged:,} contacts the baseline never flagged and "
        f"no longer flags {report.no_longer_flagged:,} it did. Sales never saw the newly flagged ones "
        "on record, so the replay cannot invent their decisions: hand-off load counts decisions on "
        "record (and, where the first stage is sales', every record as it is created)."
    )
    for reason, n in list(b.decisions_dropped.items())[:5]:
        out.print(f"  {n:,} recorded decision(s) dropped under {b.policy_version}: {reason}")


def replay(
    policy: str = typer.Option(
        ..., "--policy", help="Policy to replay: a YAML file, lead-first or prospect-first."
    ),
    baseline: str = typer.Option(None, "--baseline", help="Compare against this policy (default: active)."),
    start: str = typer.Option(None, "--from", help="Only contacts created on or after this date."),
    end: str = typer.Option(None, "--to", help="Replay history up to this date (default: all of it)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV (metric, baseline, replayed)."),
    workers: int = typer.Option(0, "--workers", min=0,
                                help="Processes replaying contacts in parallel (default 0: one per core)."),
) -> None:
    """Re-run the recorded history under another policy, without touching the ledger; funnels side by side."""
    from leadledger.services.replay import load_replay_policy, replay_report

    with user_errors():
        other = load_replay_policy(policy)
        base = load_replay_policy(baseline) if baseline else None
        with progress_bar(not (as_json or as_csv)) as tick:
            report = replay_report(state.engine(), other, baseline=base, start=parse_date(start, "--from"),
                                   end=parse_date(end, "--to"), progress=lambda d, t: tick("replaying", d, t),
                                   workers=workers or None)
    if as_json:
        print_json(report.to_dict())
        return
    if as_csv:
        write_csv(["metric", "baseline", "replayed"], _metric_rows(report))
        return
    a, b = report.baseline.policy_version, report.replayed.policy_version
    out.print(table("Replay: the same history under two policies", ["metric", a, b], _metric_rows(report)))
    out.print(table(f"Flagged per month ({report.baseline.flag_stage} / {report.replayed.flag_stage})",
                    ["month", a, b], _by_month(report)))
    stages = f"{report.baseline.handoff_stage} / {report.replayed.handoff_stage}"
    out.print(table(f"Hand-off load per rep ({stages})", ["rep", a, b], _by_rep(report)))
    _explain(report)
    err.print(f"[dim]replayed in {report.seconds:.1f} s[/]")


def register(app: typer.Typer) -> None:
    """Attach the command to the app."""
    app.command()(replay)

"""Commands that create and change data: init, demo, import, score, sweep."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from leadledger.cli.common import err, out, print_json, progress_bar, state, table, user_errors
from leadledger.store.db import utcnow


class Model(StrEnum):
    """Built-in stage policies."""

    lead_first = "lead-first"
    prospect_first = "prospect-first"


class Kind(StrEnum):
    """What an import file holds."""

    accounts = "accounts"
    contacts = "contacts"
    events = "events"
    opportunities = "opportunities"
    evidence = "evidence"
    spend = "spend"
    leads = "leads"  # contacts, by another name (as lead files call them)


def init(
    model: Model = typer.Option(Model.lead_first, "--model", help="Built-in policy to start from."),
    policy_out: Path = typer.Option(
        Path("leadledger-policy.yaml"), "--policy-out", help="Where to write the policy YAML to edit."
    ),
) -> None:
    """Create the database and store the stage policy."""
    from leadledger.services.setup import init_database

    with user_errors():
        engine = state.engine(must_exist=False)
        result = init_database(engine, model=model.value, now=utcnow(), write_policy_to=policy_out)
    if result.created:
        out.print(f"Created {state.url()} with policy [bold]{result.policy.version}[/bold].")
        if result.policy_file:
            out.print(
                f"Wrote {result.policy_file}: edit it, then `leadledger policy apply {result.policy_file}`."
            )
    else:
        out.print(f"{state.url()} is already initialised (policy {result.policy.version}).")


def demo(
    seed: int = typer.Option(7, help="Random seed: the same seed gives the same data."),
    scale: float = typer.Option(1.0, help="1.0 ≈ 2,000 accounts, 10,000 contacts, 200,000 events."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Load a deterministic, realistic demo data set (into a new database)."""
    from leadledger.services.demo import load_demo
    from leadledger.services.setup import init_database

    with user_errors(), progress_bar(not as_json) as progress:
        engine = state.engine(must_exist=False)
        now = utcnow()
        init_database(engine, model="lead-first", now=now)
        report = load_demo(engine, now=now, seed=seed, scale=scale, progress=progress)
    if as_json:
        print_json(report.to_dict())
        return
    counts = [(k, v) for k, v in report.to_dict().items() if k != "stages"]
    out.print(table("Demo data loaded", ["what", "rows"], counts))
    out.print(table("Contacts by stage", ["stage", "contacts"], list(report.stages.items())))
    out.print("Next: `leadledger score`, then `leadledger contacts --stage mql`.")


def import_file(
    kind: Kind = typer.Argument(..., help="What the file holds."),
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV file to import."),
    mapping: str = typer.Option(
        None, "--mapping",
        help="Column mapping: leadledger (default), hubspot, salesforce, x-education, or a YAML file.",
    ),
    encoding: str = typer.Option(None, "--encoding", help="File encoding if not UTF-8, e.g. latin-1."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Import a CSV; bad rows go to a reject file, good rows are kept. Exit 1 if any row was rejected."""
    from leadledger.services.importing import import_csv

    with user_errors(), progress_bar(not as_json) as progress:
        engine = state.engine()
        report = import_csv(
            engine,
            "contacts" if kind is Kind.leads else kind.value,
            file,
            mapping=mapping,
            now=utcnow(),
            encoding=encoding,
            progress=lambda done, total: progress(f"importing {file.name}", done, total),
        )
    d = report.to_dict()
    if as_json:
        print_json(d)
    else:
        keys = ("rows_read", "inserted", "updated", "unchanged", "duplicates", "rejected")
        out.print(table(f"Imported {kind.value} from {file}", ["", "rows"], [(k, d.get(k)) for k in keys]))
        for w in d.get("warnings", []):
            err.print(f"[yellow]warning:[/yellow] {w}")
        if d.get("rejected"):
            err.print(f"[red]{d['rejected']} row(s) rejected[/red]; reasons in {d.get('reject_file')}")
    if d.get("rejected"):
        raise typer.Exit(1)


def score(
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    threads: int = typer.Option(1, "--threads", min=1, help="CPU threads for the predictive model."),
) -> None:
    """Rescore every contact (set-based; with the active predictive model too) and apply automatic moves."""
    from leadledger.services.scoring import rescore

    with user_errors(), progress_bar(not as_json) as progress:
        report = rescore(state.engine(), utcnow(), progress, threads=threads)
    if as_json:
        print_json(report.to_dict())
        return
    out.print(
        f"Scored [bold]{report.scored:,}[/bold] contacts in {report.seconds:.2f} s "
        f"(policy {report.policy_version}); {report.above_threshold:,} at or above the threshold "
        f"{report.threshold:g}."
    )
    p = report.prediction
    if report.prediction_refused:
        err.print(f"[yellow]warning:[/yellow] no predictions written: {report.prediction_refused}")
    elif p is None:
        out.print("No active predictive model: rule scores only (`leadledger train` stores one).",
                  highlight=False)
    else:
        out.print(
            f"Model {p.model_id} ({p.outcome}) scored {p.predicted:,} contacts in {p.seconds:.2f} s"
            + (f"; {p.not_applicable:,} already reached {p.outcome_stage} and are not scored"
               if p.not_applicable else "") + ".",
            highlight=False,
        )
    moved = report.moves.moved
    if moved:
        out.print(table("Automatic moves", ["move", "contacts"], sorted(moved.items())))
    if report.moves.refused:
        out.print(table("Held back by a gate", ["missing", "contacts"], sorted(report.moves.refused.items())))


def sweep(as_json: bool = typer.Option(False, "--json", help="Print the report as JSON.")) -> None:
    """Report first-touch SLA breaches and recycle dormant records."""
    from leadledger.services.sweep import sweep as run_sweep

    with user_errors():
        report = run_sweep(state.engine(), utcnow())
    if as_json:
        print_json(report.to_dict())
        return
    rows = [
        (
            b.email,
            b.stage,
            b.owner or "—",
            b.due_at.strftime("%Y-%m-%d %H:%M"),
            "never" if b.touched_at is None else b.touched_at.strftime("%Y-%m-%d %H:%M"),
            round(b.hours_late, 1),
        )
        for b in report.breaches[:25]
    ]
    title = f"SLA breaches: {len(report.breaches)}" + (
        " (25 latest shown)" if len(report.breaches) > 25 else ""
    )
    out.print(table(title, ["contact", "stage", "owner", "first touch due", "touched", "hours late"], rows))
    moved = report.moves.moved
    out.print(
        table("Moves applied", ["move", "contacts"], sorted(moved.items()))
        if moved
        else "No dormant records."
    )


def register(app: typer.Typer) -> None:
    """Attach these commands to the app."""
    app.command()(init)
    app.command()(demo)
    app.command("import")(import_file)
    app.command()(score)
    app.command()(sweep)

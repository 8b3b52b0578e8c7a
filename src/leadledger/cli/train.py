"""`leadledger train --csv FILE --mapping MAP`: learn conversion from a leads file and report honestly."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from leadledger.cli.common import err, out, print_json, progress_bar, state, table, user_errors

MAX_ROWS = 30_000  # as services.training.ledger.MAX_ROWS (not imported here: the CLI starts lazily)

if TYPE_CHECKING:
    from leadledger.domain.predict.metrics import Spread
    from leadledger.services.training.ledger import LedgerOutcome
    from leadledger.services.training.rules import RuleComparison
    from leadledger.services.training.run import TrainingOptions, TrainingReport

SHORT_NAMES = {"product": "product", "logistic": "logistic", "naive_bayes": "naive Bayes",
               "rules": "rules (current)", "suggested": "rules (suggested)"}
RANKING = (("roc_auc", "ROC AUC"), ("pr_auc", "PR AUC"), ("brier", "Brier"), ("ece", "ECE"))
TOP = (("lift_10", "lift top 10%"), ("capture_10", "capture 10%"), ("lift_20", "lift top 20%"),
       ("capture_20", "capture 20%"))


def train(
    csv: Path = typer.Option(
        None, "--csv", dir_okay=False, help="Leads CSV with an outcome column (default: the ledger)."
    ),
    mapping: str = typer.Option(
        None, "--mapping", help="Training mapping: a built-in name (x-education) or a YAML file."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    html: Path = typer.Option(None, "--html", dir_okay=False, help="Also write the report as an HTML page."),
    include_leaky: bool = typer.Option(
        False, "--include-leaky", help="Also train on the mapping's leaky columns (optimistic figures)."
    ),
    split: str = typer.Option(
        "stratified", "--split", help="stratified (repeated stratified folds) or time (earlier → later)."
    ),
    folds: int = typer.Option(5, "--folds", min=2, help="Folds per repetition."),
    repeats: int = typer.Option(
        None, "--repeats", min=1,
        help="Repetitions of the stratified folds (default 3 with --csv; 1 from the ledger, whose folds "
             "already hold thousands of leads each).",
    ),
    min_per_outcome: int = typer.Option(
        200, "--min-per-outcome", min=1, help="Refuse to train with fewer converted or unconverted leads."
    ),
    threads: int = typer.Option(1, "--threads", min=1, help="CPU threads for model fitting."),
    seed: int = typer.Option(0, "--seed", help="Seed for the folds and the models."),
    outcome: str = typer.Option(
        None, "--outcome", help="Without --csv: the stage that counts as converted (default: customer)."
    ),
    decision_days: int = typer.Option(
        None, "--decision-days", min=0,
        help="Without --csv: one row per lead, judged this many days after creation (instead of snapshots).",
    ),
    every_days: int = typer.Option(
        7, "--every-days", min=1, help="Without --csv: a snapshot row of each open lead every this many days."
    ),
    within_days: int = typer.Option(
        30, "--within-days", min=1,
        help="Without --csv: a snapshot row is converted if the lead reached the outcome within this.",
    ),
    per_lead: int = typer.Option(
        26, "--snapshots-per-lead", min=1, help="Without --csv: at most this many snapshot rows per lead."
    ),
    after_contact: bool = typer.Option(
        False, "--after-contact", help="Without --csv: keep snapshotting leads after sales contact."
    ),
    max_rows: int = typer.Option(
        MAX_ROWS, "--max-rows", min=1,
        help="Without --csv: past this many rows in all, a seeded sample of whole leads (the same share of "
             "converted and unconverted leads) is trained on.",
    ),
    horizon_days: int = typer.Option(
        180, "--horizon-days", min=1,
        help="Without --csv: snapshots up to this day of a lead's life; with --decision-days, converted if "
             "it reached the outcome within this many days of the decision.",
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Without --csv: evaluate only; do not store (and activate) the model."
    ),
    write_policy: Path = typer.Option(
        None, "--write-policy", dir_okay=False,
        help="Without --csv: write the active policy with the suggested rule weights to this YAML file.",
    ),
) -> None:
    """Train and cross-validate a conversion model; compare it with logistic and naive-Bayes baselines.

    With --csv, from a leads file and its mapping (no database); without, from the ledger's own leads:
    one row per open lead every --every-days (converted = reached the outcome within --within-days),
    or with --decision-days one row per lead at that day.
    """
    from leadledger.services.training.evaluation import Split
    from leadledger.services.training.ledger import LedgerOutcome, Snapshots
    from leadledger.services.training.run import TrainingOptions, train_csv

    if split not in {s.value for s in Split}:
        raise typer.BadParameter("use stratified or time", param_hint="'--split'")
    for option, path in (("--html", html), ("--write-policy", write_policy)):
        if path is not None and not path.parent.is_dir():
            raise typer.BadParameter(f"folder {path.parent} does not exist", param_hint=f"'{option}'")
    if write_policy is not None and csv is not None:
        raise typer.BadParameter("suggested weights come from the ledger: drop --csv",
                                 param_hint="'--write-policy'")
    if repeats is None:
        repeats = 3 if csv is not None else 1
    options = TrainingOptions(split=Split(split), folds=folds, repeats=repeats, seed=seed, threads=threads,
                              minimum_per_outcome=min_per_outcome)
    if csv is None:
        chosen = (LedgerOutcome(outcome, horizon_days=horizon_days,
                                snapshots=Snapshots(every_days, within_days, per_lead, after_contact),
                                max_rows=max_rows)
                  if decision_days is None else
                  LedgerOutcome(outcome, decision_days, horizon_days, max_rows=max_rows))
        report = _from_ledger(options, chosen, as_json, dry_run)
    else:
        if mapping is None:
            raise typer.BadParameter("give --mapping NAME|FILE with --csv", param_hint="'--mapping'")
        if not csv.is_file():
            raise typer.BadParameter(f"no such file: {csv}", param_hint="'--csv'")
        with user_errors(), progress_bar(not as_json) as progress:
            report, _ = train_csv(csv, mapping, options, include_leaky=include_leaky, progress=progress)
    if html is not None:
        from leadledger.web.training import render_training_report

        html.write_text(render_training_report(report), encoding="utf-8")
    if write_policy is not None and report.rules is not None:
        _write_policy(write_policy, report.rules.snippet)
    if as_json:
        print_json(report.to_dict())
        return
    _print(report)
    if html is not None:
        out.print(f"Wrote {html}.", highlight=False)


def _from_ledger(
    options: TrainingOptions, outcome: LedgerOutcome, quiet: bool, dry_run: bool
) -> TrainingReport:
    """Train on the ledger and store the model as the active version (unless a dry run)."""
    from leadledger.services.training.registry import store_ledger_model
    from leadledger.services.training.run import train_ledger
    from leadledger.store.db import utcnow

    now = utcnow()
    with user_errors(), progress_bar(not quiet) as progress:
        engine = state.engine()
        report, model, found = train_ledger(engine, outcome, options, now, progress=progress)
        stored = None if dry_run else store_ledger_model(engine, report, model, found, outcome, now=now)
    if not quiet:
        if outcome.snapshots is None:
            err.print(f"Left out: {found.already_converted:,} lead(s) already converted at their decision "
                      f"time, {found.too_recent:,} too recent for the {outcome.horizon_days}-day horizon.",
                      highlight=False)
        else:
            s = outcome.snapshots
            err.print(f"Left out: {found.already_converted:,} lead(s) converted before their first snapshot, "
                      f"{found.too_recent:,} too recent for a first snapshot with a {s.within_days}-day "
                      f"outcome window.", highlight=False)
        if stored is not None:
            err.print(f"Stored as model {stored}, now active (`leadledger models rollback` goes back).",
                      highlight=False)
    return report


def _write_policy(path: Path, snippet: str) -> None:
    """The active policy with the suggested scoring section, validated, written to `path`."""
    from leadledger.services.training.rules import policy_with_scoring
    from leadledger.store.policies import active_policy_text

    with user_errors():
        with state.engine().connect() as conn:
            text = active_policy_text(conn)
        path.write_text(policy_with_scoring(text, snippet, str(path)), encoding="utf-8")
    err.print(f"Wrote {path}: the active policy with the suggested weights "
              f"(`leadledger policy apply {path}` to use it).", highlight=False)


def _print(r: TrainingReport) -> None:
    leaky = ""
    if r.leaky:
        leaky = (f" Leaky columns included: {', '.join(r.leaky)}." if r.leaky_included else
                 f" Left out as leaky: {', '.join(r.leaky)} (--include-leaky to add them).")
    what = (f"{r.leads:,} leads, {r.positives:,} converted" if not r.rows_note else
            f"{r.rows_note}; {r.positives:,} rows converted")
    out.print(
        f"Trained on {r.source} ({'outcome' if r.rows_note else 'mapping'} {r.mapping}): {what} "
        f"({r.positives / r.leads:.1%}), "
        f"{len(r.features)} features.{leaky}",
        highlight=False,
    )
    for w in r.leaks:
        err.print(f"[yellow]warning:[/yellow] {w.warning()}", highlight=False)
    scheme = (f"{r.folds} time-ordered folds (trained on earlier leads, tested on later)"
              if r.split.value == "time" else
              f"{r.folds} stratified folds × {r.repeats} repeat{'s' if r.repeats > 1 else ''}")
    rows = [*r.results, *((r.rules.current, r.rules.suggested) if r.rules else ())]
    summaries = {x.key: x.summary() for x in rows}
    for title, metrics in ((f"Cross-validated, {scheme}: mean ± sd over folds", RANKING),
                           ("Top-scored leads (same folds)", TOP)):
        out.print(table(title, ["model", *(name for _, name in metrics)], [
            [SHORT_NAMES.get(x.key, x.key), *(_figure(m, summaries[x.key][m]) for m, _ in metrics)]
            for x in rows
        ]))
    out.print("product = gradient-boosted trees (LightGBM), Platt-calibrated; ECE = expected calibration "
              "error; capture = share of all conversions among the top-scored leads.", highlight=False)
    if r.rules:
        out.print("rules = the policy's rule score at each row's decision (snapshot) time; suggested = the "
                  "suggested weights below, fitted on each fold's training rows; both Platt-calibrated on "
                  "the training rows for Brier and ECE.", highlight=False)
    out.print(table(
        "Calibration of the product model (out-of-fold)",
        ["predicted", "leads", "mean predicted", "observed"],
        [[f"{b.lower:.0%}–{b.upper:.0%}", f"{b.leads:,}", _share(b.predicted), _share(b.observed)]
         for b in r.calibration["product"] if b.leads],
    ))
    out.print(table(
        "What drives the product model (mean effect on a lead's probability)", ["feature", "mean |effect|"],
        [[name, f"{effect * 100:.1f} pts"] for name, effect in r.importance[:8] if effect > 0],
    ))
    if r.rules:
        out.print(table(
            "The same, per signal (an event type's count, decayed sum and recency added up)",
            ["signal", "mean |effect|"],
            [[name, f"{effect * 100:.1f} pts"] for name, effect in r.drivers[:8] if effect > 0],
        ))
        out.print(table(
            "Per signal, on the rows where it occurred (how much it moves the leads that show it)",
            ["signal", "mean |effect| there", "rows"],
            [[name, f"{effect * 100:.1f} pts", f"{rows:,}"] for name, effect, rows in r.where_seen[:10]
             if effect > 0],
        ))
    out.print("[bold]Example leads, explained[/bold] (effects in percentage points of probability)")
    for x in r.examples:
        e = x.explanation
        up = "; ".join(f.words() for f in e.up) or "—"
        down = "; ".join(f.words() for f in e.down) or "—"
        out.print(f"  {r.row_label} {x.line} ({'converted' if x.converted else 'not converted'}): "
                  f"{e.probability:.0%}; up: {up}; down: {down}", highlight=False)
    if r.rules:
        _print_rules(r.rules)


def _print_rules(c: RuleComparison) -> None:
    """The same-volume comparison and the suggested weights, with both AUCs."""
    now, new = c.current.summary()["roc_auc"], c.suggested.summary()["roc_auc"]
    out.print("[bold]The rule score beside the model[/bold]")
    out.print(f"  {c.volume.sentence(c.rule)} The suggested weights' top {c.volume.flagged:,} (out-of-fold) "
              f"held {c.suggested_volume.model_converted:,}.", highlight=False)
    out.print(f"[bold]Suggested rule weights[/bold]: cross-validated ROC AUC {new} against {now} for the "
              f"current rules (same folds). Paste over the scoring: section of the policy YAML "
              f"(or --write-policy FILE):", highlight=False)
    out.print(c.snippet, highlight=False, markup=False, end="")


def _share(x: float | None) -> str:
    return "" if x is None else f"{x:.1%}"


def _figure(metric: str, s: Spread) -> str:
    """Lift as 2.48 ± 0.04, capture as 24.8 ± 0.4 %, the rest as 0.877 ± 0.009."""
    if metric.startswith("lift"):
        return f"{s.mean:.2f} ± {s.sd:.2f}"
    if metric.startswith("capture"):
        return f"{s.mean * 100:.1f} ± {s.sd * 100:.1f} %"
    return str(s)


def register(app: typer.Typer) -> None:
    """Attach the command to the app."""
    app.command()(train)

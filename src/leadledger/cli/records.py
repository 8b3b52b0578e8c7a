"""Commands that read and move records: contacts, accounts, explain, move."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import typer
from rich.panel import Panel

from leadledger.cli.common import err, out, print_json, state, table, user_errors
from leadledger.errors import LeadledgerError, TransitionRefused
from leadledger.store.db import utcnow


def contacts(
    stage: str = typer.Option(None, "--stage", help="Only contacts in this stage."),
    limit: int = typer.Option(20, "--limit", min=1, help="How many to show (highest score first)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List contacts with stage, score and owner."""
    from leadledger.services.contacts import list_contacts

    with user_errors():
        rows = list_contacts(state.engine(), stage=stage, limit=limit)
    if as_json:
        print_json(rows)
        return
    active = rows[0]["active_model_id"] if rows else None
    out.print(
        table(
            f"Contacts{f' in {stage}' if stage else ''} (top {limit} by score)",
            ["email", "name", "company", "stage", "score", "fit", "P", "owner"],
            [
                (
                    r["email"],
                    f"{r['first_name'] or ''} {r['last_name'] or ''}".strip(),
                    r["company"],
                    r["stage"],
                    r["score"],
                    r["fit"],
                    "—" if r["probability"] is None else f"{r['probability']:.0%}",
                    r["owner"],
                )
                for r in rows
            ],
        )
    )
    if active:
        out.print(f"P: model {active}'s probability of its outcome (`leadledger models`); — where it does "
                  "not apply (outcome already reached) or has not scored yet.", highlight=False)
    stale = sum(r["model_id"] is not None and not r["prediction_current"] for r in rows)
    if stale:
        out.print(f"{stale} of these were scored by an older model than the active model {active}: "
                  "run `leadledger score`.", highlight=False)


def accounts(
    customers: bool = typer.Option(False, "--customers", help="Only customer accounts."),
    limit: int = typer.Option(20, "--limit", min=1, help="How many to show (largest open pipeline first)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List accounts with contacts, open pipeline and customer status."""
    from leadledger.services.contacts import list_accounts

    with user_errors():
        rows = list_accounts(state.engine(), customers_only=customers, limit=limit)
    if as_json:
        print_json(rows)
        return
    out.print(
        table(
            "Accounts",
            ["domain", "name", "industry", "employees", "owner", "contacts", "open pipeline", "customer"],
            [
                (
                    r["domain"],
                    r["name"],
                    r["industry"],
                    r["employees"],
                    r["owner"],
                    r["contacts"],
                    r["open_pipeline"],
                    "yes" if r["customer"] else "",
                )
                for r in rows
            ],
        )
    )


def explain(
    email: str = typer.Argument(..., help="The contact's email."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Why a contact is where it is: score breakdown, evidence, ledger, and what the next stage needs."""
    from leadledger.services.contacts import explain as run_explain
    from leadledger.services.predicting import explain_prediction

    with user_errors():
        now = utcnow()
        x = run_explain(state.engine(), email, now)
        predicted = explain_prediction(state.engine(), email, now)
    d = x.to_dict()
    d["prediction"] = None if predicted is None else predicted.to_dict()
    if as_json:
        print_json(d)
        return
    c, a = d["contact"], d["account"]
    cls = d["classification"]
    head = (
        f"[bold]{c['name'] or c['email']}[/bold] <{c['email']}> — {c['title'] or 'no title'}, "
        f"{a['name'] if a else c['company'] or 'no account'}\n"
        f"stage [bold]{d['stage']}[/bold] · owner {c['owner'] or '—'} · source {c['source'] or '—'} · "
        f"the evidence supports: [bold]{cls['label']}[/bold]"
        + (f" (customer account; routes to {cls['route_to']})" if cls["account_is_customer"] else "")
    )
    out.print(Panel(head, title="contact", title_align="left"))
    s = d["score"]
    out.print(
        table(
            f"Score {s['total']:.1f} = fit {s['fit']:.1f} + behavior {s['behavior']:.1f}",
            ["kind", "signal", "points", "detail"],
            [(i["kind"], i["signal"], i["points"], i["detail"]) for i in s["breakdown"]],
        )
    )
    _print_prediction(d["prediction"])
    out.print(
        table(
            "Four questions",
            ["question", "answer", "because"],
            [(q["question"], "yes" if q["yes"] else "no", q["because"]) for q in cls["answers"]],
        )
    )
    if d["evidence"]:
        out.print(
            table(
                "Evidence on record",
                ["field", "value", "confirmed by", "at"],
                [(e["field"], e["value"], e["confirmed_by"], e["confirmed_at"]) for e in d["evidence"]],
            )
        )
    out.print(
        table(
            "Ledger",
            ["at", "from", "to", "actor", "reason"],
            [(e["at"], e["from_stage"] or "—", e["to_stage"], e["actor"], e["reason"]) for e in d["ledger"]],
        )
    )
    if d["next_stage"]:
        missing = d["missing_for_next_stage"]
        if missing:
            out.print(f"To move to [bold]{d['next_stage']}[/bold] it still needs:")
            for m in missing:
                out.print(f"  • {m['message']}")
        else:
            out.print(f"Ready for [bold]{d['next_stage']}[/bold]: its gate is satisfied.")


def _print_prediction(p: dict[str, Any] | None) -> None:
    """The active model's probability and its strongest factors each way, next to the rule score."""
    if p is None:
        out.print("Predictive model: none active (`leadledger train` stores one).", highlight=False)
        return
    if p["probability"] is None:
        out.print(f"Model {p['model_id']} ({p['outcome']}): {p['note']}.", highlight=False)
        return
    stored = p["stored"]
    also = ""
    if stored and stored["current"] and abs(stored["probability"] - p["probability"]) >= 0.0005:
        also = f" (stored by the last score: {stored['probability']:.1%})"
    rows = [("up", f["words"]) for f in p["up"]] + [("down", f["words"]) for f in p["down"]]
    out.print(table(f"Model {p['model_id']} ({p['outcome']}): {p['probability']:.1%} now{also}",
                    ["", "why (effect in points of probability)"],
                    rows or [("—", "no factor moves it by ½ point")]))
    if p["note"]:
        out.print(f"[yellow]{p['note']}[/yellow]", highlight=False)


def move(
    email: str = typer.Argument(..., help="The contact's email."),
    stage: str = typer.Argument(..., help="The stage to move to."),
    evidence: list[str] = typer.Option(
        [], "--evidence", "-e", help="Qualification evidence as key=value (repeatable), e.g. need='…'."
    ),
    reason: str = typer.Option("", "--reason", help="Why (required for backward and side moves)."),
    actor: str = typer.Option(
        None, "--actor", help="Who is making the change (recorded in the ledger; default cli:<os user>)."
    ),
    as_role: str = typer.Option(
        "admin", "--as-role", help="Act with this role's stage ownership (docs/security.md); default admin."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Move a contact to a stage through its gate; a refused move exits 1 and lists what is missing."""
    from leadledger.services.contacts import move as run_move

    pairs: dict[str, str] = {}
    for item in evidence:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            err.print(f"[red]error:[/red] --evidence {item!r} must look like key=value")
            raise typer.Exit(2)
        pairs[key.strip()] = value.strip()
    from leadledger.cli.users import cli_actor
    from leadledger.domain.permissions import parse_role

    try:
        role = parse_role(as_role).value
    except ValueError as e:
        err.print(f"[red]error:[/red] --as-role: {e}", highlight=False)
        raise typer.Exit(2) from None
    try:
        change = run_move(
            state.engine(), email, stage, now=utcnow(), actor=actor or cli_actor(), reason=reason,
            evidence=pairs, role=role,
        )
    except TransitionRefused as e:
        if as_json:
            print_json({"ok": False, "error": str(e), "missing": e.missing})
        else:
            err.print(f"[red]refused:[/red] {e}", highlight=False)
        raise typer.Exit(1) from None
    except LeadledgerError as e:
        err.print(f"[red]error:[/red] {e}", highlight=False)
        raise typer.Exit(1) from None
    if as_json:
        print_json({"ok": True, "change": asdict(change)})
        return
    out.print(f"Moved {email}: {change.from_stage} → [bold]{change.to_stage}[/bold] (by {change.actor}).")
    out.print_json(data=change.evidence, default=str)


def register(app: typer.Typer) -> None:
    """Attach these commands to the app."""
    app.command()(contacts)
    app.command()(accounts)
    app.command()(explain)
    app.command()(move)

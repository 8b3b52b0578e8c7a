"""`leadledger models …`: list the stored predictive models, activate one, roll back."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from leadledger.cli.common import out, print_json, state, table, user_errors
from leadledger.store.db import utcnow

app = typer.Typer(help="Stored predictive models: list (default), activate, rollback.")


@app.callback(invoke_without_command=True)
def models(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print the list as JSON."),
) -> None:
    """List the stored models, newest first, with their cross-validated figures."""
    if ctx.invoked_subcommand is not None:
        return
    from leadledger.services.training.registry import stored_models

    with user_errors():
        found = stored_models(state.engine())
    rows = []
    for m in found:
        product = json.loads(m.metrics)["models"][0]["metrics"]
        rows.append([str(m.id), "active" if m.active else "", f"{m.created_at:%Y-%m-%d %H:%M}", m.outcome,
                     f"{m.leads:,}", f"{m.converted:,}",
                     f"{product['roc_auc']['mean']:.3f} ± {product['roc_auc']['sd']:.3f}",
                     f"{product['ece']['mean']:.3f}"])
    if as_json:
        print_json([{"id": m.id, "active": m.active, "created_at": m.created_at, "outcome": m.outcome,
                     "window": [m.window_start, m.window_end], "leads": m.leads, "converted": m.converted,
                     "policy_version": m.policy_version, "metrics": json.loads(m.metrics)["models"]}
                    for m in found])
        return
    if not rows:
        out.print("No stored models yet: `leadledger train` trains one on the ledger and stores it.")
        return
    out.print(table("Predictive models (--json: training window, policy version, every figure)",
                    ["id", "", "trained", "outcome", "leads", "converted", "ROC AUC", "ECE"], rows))


@app.command()
def activate(model_id: int = typer.Argument(..., help="The model's id (see `leadledger models`).")) -> None:
    """Make a stored model the active one."""
    from leadledger.services.training.registry import activate as activate_model

    with user_errors():
        activate_model(state.engine(), model_id, utcnow())
    out.print(f"Model {model_id} is now active.", highlight=False)


@app.command()
def rollback() -> None:
    """Go back to the model that was active before the current one."""
    from leadledger.services.training.registry import rollback as rollback_model

    with user_errors():
        model = rollback_model(state.engine(), utcnow())
    out.print(f"Rolled back: model {model.id} ({model.outcome}, trained {model.created_at:%Y-%m-%d}) "
              "is active again.", highlight=False)


@app.command("export")
def export(
    model_id: int = typer.Argument(..., help="The model's id (see `leadledger models`)."),
    file: Path = typer.Argument(..., dir_okay=False, help="Where to write the JSON document."),
) -> None:
    """Write a stored model (figures, training window, the model itself) to a JSON file."""
    from leadledger.services.training.registry import export_model

    with user_errors():
        text = export_model(state.engine(), model_id)
    if not file.parent.is_dir():
        raise typer.BadParameter(f"folder {file.parent} does not exist", param_hint="'FILE'")
    file.write_text(text, encoding="utf-8")
    out.print(f"Wrote model {model_id} to {file}.", highlight=False)


@app.command("import")
def import_(
    file: Path = typer.Argument(..., dir_okay=False, help="A file written by `leadledger models export`."),
    make_active: bool = typer.Option(False, "--activate", help="Make the imported model the active one."),
) -> None:
    """Store a model exported from another database as a new version here (scores identically)."""
    from leadledger.services.training.registry import import_model

    if not file.is_file():
        raise typer.BadParameter(f"no such file: {file}", param_hint="'FILE'")
    with user_errors():
        new_id = import_model(state.engine(), file.read_text(encoding="utf-8"), str(file), now=utcnow(),
                              activate=make_active)
    state_words = "now active" if make_active else f"`leadledger models activate {new_id}` to use it"
    out.print(f"Imported {file} as model {new_id} ({state_words}); `leadledger score` applies it.",
              highlight=False)

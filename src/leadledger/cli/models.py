"""`leadledger models …`: list the stored predictive models, activate one, roll back."""

from __future__ import annotations

import json

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

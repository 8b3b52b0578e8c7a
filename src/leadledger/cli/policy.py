"""`leadledger policy …`: check, show, apply and list stage policies."""

from __future__ import annotations

from pathlib import Path

import typer

from leadledger.cli.common import err, out, print_json, state, table, user_errors
from leadledger.errors import PolicyError
from leadledger.policyfile import BUILTIN, builtin_policy_text, load_policy_file
from leadledger.store.db import utcnow

app = typer.Typer(help="Validate, show and activate stage policies.", no_args_is_help=True)


@app.command()
def check(file: Path = typer.Argument(..., help="Policy YAML file.")) -> None:
    """Validate a policy file; every problem is reported with its line and a hint."""
    try:
        policy, _ = load_policy_file(file)
    except PolicyError as e:
        err.print(f"[red]✗[/red] {e}", highlight=False)
        raise typer.Exit(1) from None
    stages = " → ".join(s.name for s in policy.main_stages)
    out.print(f"[green]✓[/green] {file} is valid: {policy.version} ({stages})")


@app.command()
def show(
    name: str = typer.Argument(
        None, help=f"A built-in policy ({', '.join(BUILTIN)}); default: the active one."
    ),
) -> None:
    """Print a policy's YAML: a built-in one, or the one active in the database."""
    from leadledger.services.setup import active_policy
    from leadledger.store.policies import active_policy_text

    with user_errors():
        if name:
            print(builtin_policy_text(name), end="")
            return
        engine = state.engine()
        with engine.connect() as conn:
            print(active_policy_text(conn), end="")
        err.print(f"(active: {active_policy(engine).version})")


@app.command()
def apply(file: Path = typer.Argument(..., help="Policy YAML file.")) -> None:
    """Validate and activate a policy; an invalid policy is never stored."""
    from leadledger.services.setup import apply_policy

    with user_errors():
        policy, changed = apply_policy(state.engine(), file, utcnow())
    out.print(f"Active policy: {policy.version}" + ("" if changed else " (already active)"))
    out.print("Run `leadledger score` to rescore under it.")


@app.command()
def history(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Every policy version stored, oldest first."""
    from leadledger.store.policies import policy_history

    with user_errors(), state.engine().connect() as conn:
        rows = policy_history(conn)
    if as_json:
        print_json(rows)
        return
    out.print(
        table(
            "Policy versions",
            ["version", "stored at", "active"],
            [(r["version"], r["created_at"], "✓" if r["active"] else "") for r in rows],
        )
    )

"""The `leadledger` command: a thin shell over the services."""

from __future__ import annotations

import gc

import typer

from leadledger.cli import audit, data, models, policy, records, replay, report, reports, serve, train, users
from leadledger.cli.common import state

app = typer.Typer(
    name="leadledger",
    help="Leads, prospects and customers that follow documented rules, with evidence for every stage.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _options(
    db: str = typer.Option(
        None,
        "--db",
        envvar="LEADLEDGER_DATABASE_URL",
        help="Database URL or SQLite file (default: ./leadledger.db). PostgreSQL: postgresql://…",
    ),
) -> None:
    state.db = db


data.register(app)
records.register(app)
reports.register(app)
audit.register(app)
replay.register(app)
report.register(app)
train.register(app)
serve.register(app)
users.register(app)
app.add_typer(policy.app, name="policy")
app.add_typer(models.app, name="models")


def main() -> None:
    """Console-script entry point."""
    # What the imports built lives as long as the process: moved out of the collector's sight, it is
    # not walked again by every full collection a command's reads trigger (~0.05 s each, several
    # per report over a large database).
    gc.freeze()
    app()

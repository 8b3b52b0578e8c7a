"""`leadledger serve`: the REST API (and dashboard) in one uvicorn process."""

from __future__ import annotations

import typer

from leadledger.cli.common import err, state, user_errors


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on (loopback by default)."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port."),
    secure_cookies: bool = typer.Option(
        False, "--secure-cookies", help="Mark the session cookie Secure (behind HTTPS)."
    ),
    log_level: str = typer.Option("warning", "--log-level", help="uvicorn log level."),
) -> None:
    """Serve the REST API (OpenAPI at /openapi.json, docs at /docs) and the dashboard.

    The database comes from --db / LEADLEDGER_DATABASE_URL (before the command name); sessions
    are signed with $LEADLEDGER_SECRET_KEY (a random key per process if unset).
    """
    import uvicorn

    from leadledger.api.app import create_app

    with user_errors():
        engine = state.engine()
    app = create_app(engine, secure_cookies=secure_cookies)
    err.print(f"leadledger API on http://{host}:{port} (docs: /docs) — database {state.url()}",
              highlight=False)
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)


def register(app: typer.Typer) -> None:
    """Attach `serve`."""
    app.command()(serve)

"""`leadledger user …` and `leadledger key …`: dashboard logins and API keys."""

from __future__ import annotations

import getpass
import sys

import typer

from leadledger.cli.common import err, out, print_json, state, table, user_errors
from leadledger.domain.permissions import ROLES
from leadledger.store.db import utcnow

user_app = typer.Typer(help="Dashboard users (passwords hashed with argon2).", no_args_is_help=True)
key_app = typer.Typer(help="API keys: shown once, stored as SHA-256, scoped to a role.", no_args_is_help=True)

ROLE_HELP = f"Role: {', '.join(ROLES)}."


def cli_actor() -> str:
    """Who the CLI acts as in the ledger: `cli:<os user>`."""
    try:
        name = getpass.getuser()
    except Exception:  # no passwd entry (containers): still a name
        name = "unknown"
    return f"cli:{name}"


@user_app.command("add")
def user_add(
    username: str = typer.Argument(..., help="Login name."),
    role: str = typer.Option(..., "--role", help=ROLE_HELP),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from standard input (first line)."
    ),
) -> None:
    """Add a dashboard user (the password is prompted for, or read with --password-stdin)."""
    from leadledger.services.auth import add_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with user_errors():
        actor = add_user(state.engine(), username, password, role, utcnow())
    out.print(f"Added user {actor.name} with role {actor.role}.")


@user_app.command("list")
def user_list(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List users with role and status."""
    from leadledger.services.auth import list_users

    with user_errors():
        rows = list_users(state.engine())
    if as_json:
        print_json(rows)
        return
    out.print(table("Users", ["username", "role", "created", "disabled"],
                    [(r["username"], r["role"], r["created_at"], r["disabled_at"] or "") for r in rows]))


@user_app.command("disable")
def user_disable(username: str = typer.Argument(..., help="Login name.")) -> None:
    """Stop a user from logging in (open sessions end at their next request)."""
    from leadledger.services.auth import disable_user

    with user_errors():
        disable_user(state.engine(), username, utcnow())
    out.print(f"Disabled user {username}.")


@key_app.command("create")
def key_create(
    name: str = typer.Argument(..., help="What the key is for, e.g. website-forms (two active per name)."),
    role: str = typer.Option(..., "--role", help=ROLE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (includes the secret)."),
) -> None:
    """Create an API key and print its secret ONCE (only its SHA-256 is stored)."""
    from leadledger.services.auth import create_api_key

    with user_errors():
        row, secret = create_api_key(state.engine(), name, role, cli_actor(), utcnow())
    if as_json:
        print_json({**row, "secret": secret})
        return
    err.print(f"Created key {row['name']} (prefix {row['prefix']}, role {row['role']}). "
              "Store the secret now: it is not shown again.", highlight=False)
    out.print(secret, highlight=False)


@key_app.command("list")
def key_list(
    all_keys: bool = typer.Option(False, "--all", help="Include revoked keys."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List keys: name, prefix, role, created, last used (secrets are never stored)."""
    from leadledger.services.auth import list_keys

    with user_errors():
        rows = list_keys(state.engine(), include_revoked=all_keys)
    if as_json:
        print_json(rows)
        return
    out.print(table(
        "API keys", ["name", "prefix", "role", "created", "by", "last used", "revoked"],
        [(r["name"], r["prefix"], r["role"], r["created_at"], r["created_by"], r["last_used_at"] or "",
          r["revoked_at"] or "") for r in rows],
    ))


@key_app.command("revoke")
def key_revoke(
    prefix: str = typer.Argument(None, help="The key's prefix (from `key list`)."),
    name: str = typer.Option(None, "--name", help="Revoke every active key with this name instead."),
) -> None:
    """Revoke one key by prefix, or all keys of a name."""
    from leadledger.services.auth import revoke_key

    with user_errors():
        n = revoke_key(state.engine(), utcnow(), prefix=prefix, name=name)
    out.print(f"Revoked {n} key(s).")


def register(app: typer.Typer) -> None:
    """Attach `user` and `key`."""
    app.add_typer(user_app, name="user")
    app.add_typer(key_app, name="key")

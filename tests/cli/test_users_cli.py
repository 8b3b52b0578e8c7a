"""`leadledger user …`, `leadledger key …` and `move --as-role` over a real database."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from leadledger.cli import app
from leadledger.services.auth import authenticate_key, authenticate_user, key_hash
from leadledger.store.db import make_engine
from leadledger.store.schema import api_keys, stage_changes, users
from tests.builders import add_account, add_contact

runner = CliRunner()


@pytest.fixture
def cli_db(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An initialised database selected through the environment."""
    monkeypatch.setenv("LEADLEDGER_DATABASE_URL", db_url)
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["init"]).exit_code == 0
    return db_url


def test_user_add_from_stdin_hashes_with_argon2(cli_db: str) -> None:
    r = runner.invoke(app, ["user", "add", "alice", "--role", "sales", "--password-stdin"],
                      input="correct horse battery\n")
    assert r.exit_code == 0 and "alice" in r.output and "sales" in r.output
    engine = make_engine(cli_db)
    with engine.connect() as conn:
        stored = conn.execute(select(users.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    now = datetime.now(UTC)
    assert authenticate_user(engine, "alice", "correct horse battery", now).role == "sales"  # type: ignore[union-attr]
    assert authenticate_user(engine, "alice", "wrong password!!", now) is None
    again = runner.invoke(app, ["user", "add", "alice", "--role", "sales", "--password-stdin"],
                          input="another long password\n")
    assert again.exit_code == 1 and "already exists" in again.output
    short = runner.invoke(app, ["user", "add", "bob", "--role", "sales", "--password-stdin"], input="short\n")
    assert short.exit_code == 1 and "at least 10 characters" in short.output
    bad_role = runner.invoke(app, ["user", "add", "carol", "--role", "boss", "--password-stdin"],
                             input="long enough pass\n")
    assert bad_role.exit_code == 1 and "unknown role" in bad_role.output
    engine.dispose()


def test_key_create_shows_the_secret_once_stores_only_its_hash_and_rotates(cli_db: str) -> None:
    r = runner.invoke(app, ["key", "create", "website", "--role", "ingest-only", "--json"])
    assert r.exit_code == 0, r.output
    created = json.loads(r.output)
    secret = created["secret"]
    assert secret.startswith(f"ll_{created['prefix']}_") and len(secret) > 40
    engine = make_engine(cli_db)
    with engine.connect() as conn:
        row = conn.execute(select(api_keys)).one()
    assert row.key_hash == key_hash(secret) and secret not in str(tuple(row))
    assert row.created_by.startswith("cli:")
    listed = runner.invoke(app, ["key", "list", "--json"])
    assert secret not in listed.output and created["prefix"] in listed.output
    assert runner.invoke(app, ["key", "create", "website", "--role", "ingest-only"]).exit_code == 0
    third = runner.invoke(app, ["key", "create", "website", "--role", "ingest-only"])
    assert third.exit_code == 1 and "revoke the older one first" in third.output
    now = datetime.now(UTC)
    assert authenticate_key(engine, secret, now) is not None
    revoked = runner.invoke(app, ["key", "revoke", created["prefix"]])
    assert revoked.exit_code == 0 and "Revoked 1" in revoked.output
    assert authenticate_key(engine, secret, now) is None
    assert runner.invoke(app, ["key", "create", "website", "--role", "ingest-only"]).exit_code == 0
    assert runner.invoke(app, ["key", "revoke", "--name", "website"]).output.startswith("Revoked 2")
    assert runner.invoke(app, ["key", "revoke", "nosuchprefix"]).exit_code == 1
    engine.dispose()


def test_move_acts_as_the_os_user_with_admin_unless_as_role(cli_db: str) -> None:
    engine = make_engine(cli_db)
    with engine.begin() as c:
        add_contact(c, "dana@acme.com", add_account(c, "acme.com"))
    r = runner.invoke(app, ["move", "dana@acme.com", "nurture", "--reason", "later", "--as-role", "sales"])
    assert r.exit_code == 1 and "owned by marketing" in r.output
    r = runner.invoke(app, ["move", "dana@acme.com", "nurture", "--reason", "later"])
    assert r.exit_code == 0, r.output
    with engine.connect() as conn:
        actor = conn.execute(select(stage_changes.c.actor).order_by(stage_changes.c.id.desc())).first()
    assert actor is not None and actor.actor.startswith("cli:")
    engine.dispose()

"""Shared fixtures: a fixed clock, the built-in policy, and real databases (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from leadledger.domain.policy import Policy
from leadledger.policyfile import builtin_policy_text, parse_policy
from leadledger.services.setup import init_database
from leadledger.store.db import make_engine, normalize_url

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
PG_ENV = "LEADLEDGER_TEST_PG_URL"

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture
def now() -> datetime:
    """The tests' fixed clock."""
    return NOW


@pytest.fixture(scope="session")
def lead_first() -> Policy:
    """The built-in Lead-First policy."""
    return parse_policy(builtin_policy_text("lead-first"), "lead-first")


@pytest.fixture(scope="session")
def prospect_first() -> Policy:
    """The built-in Prospect-First policy."""
    return parse_policy(builtin_policy_text("prospect-first"), "prospect-first")


@pytest.fixture
def pg_server_url() -> str:
    """The PostgreSQL server the suite may create databases on; skipping is refused in CI."""
    url = os.environ.get(PG_ENV)
    if not url:
        if os.environ.get("LEADLEDGER_REQUIRE_PG") == "1":
            pytest.fail(f"{PG_ENV} is not set but LEADLEDGER_REQUIRE_PG=1: PostgreSQL tests must run")
        pytest.skip(f"{PG_ENV} not set")
    return normalize_url(url)


def fresh_pg_database(server_url: str) -> Iterator[str]:
    """Create a throwaway database on the server, yield its URL, drop it afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    base, _, _ = server_url.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, empty database URL on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/leadledger.db"
    else:
        yield from fresh_pg_database(request.getfixturevalue("pg_server_url"))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An initialised database (Lead-First policy) on each backend."""
    eng = make_engine(db_url)
    init_database(eng, model="lead-first", now=NOW)
    yield eng
    eng.dispose()


# Monthly marketing spend per demo source, so the demo has a CAC (the demo itself records no spend).
DEMO_SPEND = {
    "content_download": 2_500, "event_badge_scan": 6_000, "form_fill": 1_500, "free_trial": 2_000,
    "list_import": 1_200, "newsletter": 600, "outbound": 4_000, "partner_referral": 1_000, "webinar": 3_000,
}


@pytest.fixture(scope="session")
def demo_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The demo (seed 7, scale 0.1, clock NOW) on SQLite with a year of spend; shared, so read-only."""
    from leadledger.services.demo import load_demo
    from leadledger.services.importing import import_csv

    folder = tmp_path_factory.mktemp("demo")
    eng = make_engine(f"sqlite:///{folder}/demo.db")
    init_database(eng, model="lead-first", now=NOW)
    load_demo(eng, now=NOW, seed=7, scale=0.1)
    spend = folder / "spend.csv"
    this_month = NOW.year * 12 + NOW.month - 1
    months = [f"{i // 12}-{i % 12 + 1:02d}" for i in range(this_month - 12, this_month)]  # the last 12
    spend.write_text("source,month,amount\n" + "".join(
        f"{s},{m},{a * (1 + 0.02 * k)}\n" for s, a in DEMO_SPEND.items() for k, m in enumerate(months)
    ))
    import_csv(eng, "spend", spend, now=NOW)
    yield eng
    eng.dispose()

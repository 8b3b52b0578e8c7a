"""Schemathesis against the app's own OpenAPI: bounded examples per operation, never a 5xx."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from tests.api.conftest import make_api, seed_contact
from tests.conftest import NOW

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import schemathesis

EXAMPLES = 25  # per operation; ≈ 30 operations, so the whole run stays well under a minute
# Operations whose work is a full report: still fuzzed, with fewer examples (each is a real query).
HEAVY = ("/reports/", "/audit")
KEY: dict[str, str] = {}


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A SQLite database with a few records and an admin key the fuzzer sends."""
    from leadledger.services.setup import init_database
    from leadledger.store.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('fuzz')}/fuzz.db")
    init_database(engine, model="lead-first", now=NOW)
    api = make_api(engine, rate_limit_per_minute=0)  # the fuzzer is not to be throttled
    seed_contact(api)
    KEY["admin"] = api.keys["admin"]
    yield api.client.app
    engine.dispose()


def _operations() -> list[Any]:
    """Every operation of the schema (built once at collection, so each gets its own test id)."""
    from leadledger.api.app import create_app

    app = create_app("sqlite:///:memory:")  # only to read the OpenAPI document
    return [r.ok() for r in schemathesis.openapi.from_asgi("/openapi.json", app).get_all_operations()]


OPERATIONS = [(op.method.upper(), op.path) for op in _operations()]


# schemathesis' own pytest plugin (schema.parametrize / from_fixture) does not run under pytest 9
# (AttributeError: 'Function' object has no attribute '_nodeid'), so each operation's strategy is
# driven by hypothesis directly: the same generation, one pytest test per operation.
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_no_server_error(fuzz_app: Any, method: str, path: str) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)
    operation = next(r.ok() for r in schema.get_all_operations()
                     if r.ok().method.upper() == method and r.ok().path == path)
    examples = 2 if path.startswith(HEAVY) else EXAMPLES
    headers = {"Authorization": f"Bearer {KEY['admin']}"}

    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def run(case: Any) -> None:
        response = case.call(headers=headers)
        assert response.status_code < 500, (method, path, response.status_code, response.text[:500])
        if response.status_code >= 400:  # every error in the one shape
            body = response.json()
            assert set(body["error"]) == {"status", "code", "message", "details"}, body

    run()


def test_docs_record_the_fuzz_command() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text(encoding="utf-8")
    assert "tests/api/test_fuzz.py" in doc

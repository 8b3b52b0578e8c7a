"""Every cell of docs/security.md's two matrices, checked through the real HTTP API."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from leadledger.domain.permissions import MATRIX, Permission, Role, may_move
from leadledger.store.db import make_engine, normalize_url
from leadledger.store.schema import contacts
from tests.api.conftest import Api, make_api, seed_contact
from tests.conftest import BACKENDS, NOW, PG_ENV, fresh_pg_database

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"


def _table(heading: str) -> tuple[list[str], list[tuple[str, list[bool]]]]:
    """(role columns, [(row label, ✓ per role)]) of the first table under `heading`."""
    text = DOC.read_text(encoding="utf-8").split(f"## {heading}", 1)[1]
    lines = [ln for ln in text.splitlines() if ln.startswith("|")]
    roles = [c.strip() for c in lines[0].strip("|").split("|")][1:]
    rows = []
    for ln in lines[2:]:
        cells = [c.strip() for c in ln.strip("|").split("|")]
        if len(cells) != len(roles) + 1 or not set(cells[1:]) <= {"✓", "—"}:
            break
        rows.append((cells[0].strip("`"), [c == "✓" for c in cells[1:]]))
    return roles, rows


PERM_ROLES, PERM_ROWS = _table("Roles × permissions")
MOVE_ROLES, MOVE_ROWS = _table("Roles × stage changes")
PERM_CELLS = [(p, r, ok) for p, oks in PERM_ROWS for r, ok in zip(PERM_ROLES, oks, strict=True)]
MOVE_CELLS = [(m, r, ok) for m, oks in MOVE_ROWS for r, ok in zip(MOVE_ROLES, oks, strict=True)]


def test_the_doc_tables_are_complete_and_match_the_code(lead_first: Any) -> None:
    assert PERM_ROLES == MOVE_ROLES == [r.value for r in Role]
    assert {p for p, _ in PERM_ROWS} == {p.value for p in Permission}
    for p, r, ok in PERM_CELLS:
        assert (Permission(p) in MATRIX[Role(r)]) == ok, (p, r)
    assert len(MOVE_ROWS) >= 10
    for move, r, ok in MOVE_CELLS:
        src, dst = (s.strip() for s in move.split("→"))
        assert (may_move(lead_first, r, src, dst) is None) == ok, (move, r)


@pytest.fixture(scope="module", params=BACKENDS)
def matrix_api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """One database per backend for the whole matrix (each cell restores what it changes)."""
    from leadledger.services.setup import init_database

    if request.param == "sqlite":
        urls: Iterator[str] = iter([f"sqlite:///{tmp_path_factory.mktemp('matrix')}/m.db"])
    else:
        server = os.environ.get(PG_ENV)
        if not server:
            if os.environ.get("LEADLEDGER_REQUIRE_PG") == "1":
                pytest.fail(f"{PG_ENV} is not set but LEADLEDGER_REQUIRE_PG=1")
            pytest.skip(f"{PG_ENV} not set")
        urls = fresh_pg_database(normalize_url(server))
    url = next(urls)
    engine = make_engine(url)
    init_database(engine, model="lead-first", now=NOW)
    api = make_api(engine)
    api.cid = seed_contact(api, owner="Sam Seller")  # type: ignore[attr-defined]
    yield api
    engine.dispose()
    for _ in urls:  # drops the PostgreSQL database
        pass


def _request(api: Api, permission: str, role: str) -> Any:
    cid = api.cid  # type: ignore[attr-defined]
    match permission:
        case "read:personal":
            return api.call("GET", f"/contacts/{cid}", role=role)
        case "read:reports":
            return api.call("GET", "/policy", role=role)
        case "write:records":
            return api.call("POST", "/accounts", role=role, json={"domain": "matrix.io", "name": "Matrix"})
        case "write:evidence":
            return api.call("POST", f"/contacts/{cid}/evidence", role=role,
                            json={"field": "timeline", "value": "Q3", "confirmed_at": "2026-01-01T00:00:00Z"})
        case "ingest:events":
            return api.call("POST", "/events", role=role, json={
                "event_id": f"m-{role}", "contact_id": cid, "type": "page_view",
                "occurred_at": "2026-05-01T00:00:00Z"})
        case "move:stage":  # an unknown stage: past the role check, the gate refuses it (422)
            return api.call("POST", f"/contacts/{cid}/stage-changes", role=role, json={"to_stage": "nowhere"})
        case "manage:auth":
            return api.call("GET", "/keys", role=role)
    raise AssertionError(f"no request for {permission}")


@pytest.mark.parametrize(("permission", "role", "allowed"), PERM_CELLS,
                         ids=[f"{p}-{r}" for p, r, _ in PERM_CELLS])
def test_permission_cell(matrix_api: Api, permission: str, role: str, allowed: bool) -> None:
    r = _request(matrix_api, permission, role)
    if allowed:
        assert r.status_code in (200, 201, 422) and r.status_code != 403, r.text
        if permission == "move:stage":
            assert r.json()["error"]["code"] == "transition_refused"
    else:
        assert r.status_code == 403 and permission in r.json()["error"]["message"], r.text


@pytest.mark.parametrize(("move", "role", "allowed"), MOVE_CELLS, ids=[f"{m}-{r}" for m, r, _ in MOVE_CELLS])
def test_stage_change_cell(matrix_api: Api, move: str, role: str, allowed: bool) -> None:
    src, dst = (s.strip() for s in move.split("→"))
    cid = matrix_api.cid  # type: ignore[attr-defined]
    with matrix_api.engine.begin() as conn:
        conn.execute(update(contacts).where(contacts.c.id == cid).values(stage=src))
    r = matrix_api.call("POST", f"/contacts/{cid}/stage-changes", role=role,
                        json={"to_stage": dst, "reason": "matrix test"})
    if allowed:  # the role may ask; the gate then decides (201 or 422 listing what is missing)
        assert r.status_code in (201, 422), r.text
    else:
        assert r.status_code == 403, r.text
    assert re.fullmatch(r"\d{3}", str(r.status_code))

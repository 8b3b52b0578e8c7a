"""An API client over a fresh database (SQLite and PostgreSQL) with one key per role."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.conftest import NOW

with warnings.catch_warnings():  # starlette's TestClient warns about its httpx transport
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from leadledger.api.app import create_app
from leadledger.domain.permissions import ROLES
from leadledger.services.auth import create_api_key


@dataclass
class Api:
    """A TestClient plus the secret of one key per role."""

    client: TestClient
    keys: dict[str, str]
    engine: Engine

    def headers(self, role: str) -> dict[str, str]:
        """Authorization for `role`'s key."""
        return {"Authorization": f"Bearer {self.keys[role]}"}

    def call(self, method: str, path: str, role: str = "admin", **kw: Any) -> Any:
        """One request as `role`."""
        headers = {**self.headers(role), **kw.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **kw)


_made: dict[int, int] = {}


def make_api(engine: Engine, **app_options: Any) -> Api:
    """An app over `engine` and a fresh key per role (`test-<role>`, then `test-<role>-2`, …)."""
    app = create_app(engine, secret_key="test-secret", **app_options)
    n = _made[id(engine)] = _made.get(id(engine), 0) + 1
    tag = "" if n == 1 else f"-{n}"
    keys = {role: create_api_key(engine, f"test-{role}{tag}", role, "test", NOW)[1] for role in ROLES}
    return Api(TestClient(app, raise_server_exceptions=False), keys, engine)


@pytest.fixture
def api(engine: Engine) -> Iterator[Api]:
    """The API over a fresh database on each backend."""
    a = make_api(engine)
    with a.client:
        yield a


def seed_contact(api: Api, email: str = "dana@acme.com", **extra: Any) -> int:
    """An account and a contact through the API; returns the contact id."""
    r = api.call("POST", "/accounts", json={"domain": "acme.com", "name": "Acme", "employees": 500,
                                            "industry": "software", "country": "US"})
    assert r.status_code in (200, 201), r.text
    body = {"email": email, "first_name": "Dana", "last_name": "Lee", "company": "Acme",
            "source": "webinar", "account_domain": "acme.com", **extra}
    r = api.call("POST", "/contacts", json=body)
    assert r.status_code in (200, 201), r.text
    return int(r.json()["id"])

"""Every endpoint but the public few refuses a missing or a wrong key (walks app.routes)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from starlette.routing import Route

from tests.api.conftest import Api

PUBLIC = {("GET", "/healthz"), ("POST", "/auth/login"), ("GET", "/openapi.json"), ("GET", "/docs")}
PUBLIC_PREFIXES = ("/docs/assets", "/static", "/login")  # static files and the dashboard's login page


def endpoints(routes: Any) -> Iterator[tuple[str, str]]:
    """(method, path) of every endpoint, including routers included into the app (FastAPI ≥ 0.16x
    keeps those as `_IncludedRouter` entries that expand to their effective routes)."""
    for route in routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if callable(contexts):
            for ctx in contexts():
                for method in ctx.methods or ():
                    yield method, ctx.path
        elif isinstance(route, APIRoute | Route):
            for method in route.methods or ():
                yield method, route.path


def _protected(api: Api) -> list[tuple[str, str]]:
    out = []
    for method, path in sorted(set(endpoints(api.client.app.routes))):  # type: ignore[attr-defined]
        if method in ("HEAD", "OPTIONS") or (method, path) in PUBLIC or path.startswith(PUBLIC_PREFIXES):
            continue
        out.append((method, re.sub(r"\{[^}]+\}", "1", path)))
    return out


@pytest.mark.parametrize("credentials", [
    {}, {"Authorization": "Bearer ll_000000000000_not-a-real-key"}, {"X-API-Key": "wrong"},
    {"Cookie": "leadledger_session=forged.value.sig"},
])
def test_every_endpoint_refuses_a_missing_or_wrong_key(api: Api, credentials: dict[str, str]) -> None:
    routes = _protected(api)
    assert len(routes) >= 20  # the record, event, report and key endpoints at least
    api.client.cookies.clear()
    for method, path in routes:
        r = api.client.request(method, path, headers=credentials, json={}, follow_redirects=False)
        hops = 0
        while r.status_code in (302, 303, 307) and hops < 3:  # dashboard pages send browsers to log in
            location = r.headers["location"]
            assert location.startswith("/"), (method, path, location)
            if location.startswith("/login"):
                break
            r = api.client.get(location, headers=credentials, follow_redirects=False)
            hops += 1
        if r.status_code == 401:
            assert r.json()["error"]["code"] == "unauthorized", (method, path)
        else:
            assert r.status_code in (302, 303, 307) and r.headers["location"].startswith("/login"), (
                method, path, r.status_code, r.text[:200])


def test_a_revoked_key_is_refused_at_once(api: Api) -> None:
    assert api.call("GET", "/contacts", role="read-only").status_code == 200
    prefix = api.keys["read-only"].split("_")[1]
    assert api.call("DELETE", f"/keys/{prefix}").status_code == 204
    r = api.call("GET", "/contacts", role="read-only")
    assert r.status_code == 401 and "revoked" in r.json()["error"]["message"]


def test_public_endpoints_answer_without_a_key(api: Api) -> None:
    assert api.client.get("/healthz").json()["status"] == "ok"
    assert api.client.get("/openapi.json").json()["info"]["title"] == "leadledger"
    docs = api.client.get("/docs")
    assert docs.status_code == 200 and "/docs/assets/swagger-ui-bundle.js" in docs.text
    assert api.client.get("/docs/assets/swagger-ui-bundle.js").status_code == 200

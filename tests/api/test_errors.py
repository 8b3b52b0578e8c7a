"""One JSON error shape for every error status the API produces."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api, make_api, seed_contact


def _shape(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"error"}
    err = body["error"]
    assert set(err) == {"status", "code", "message", "details"}
    assert err["status"] == status and isinstance(err["message"], str) and err["message"]
    assert isinstance(err["details"], list) and isinstance(err["code"], str)
    return err


def test_every_error_status_has_the_one_shape(api: Api) -> None:
    cid = seed_contact(api)
    _shape(api.client.get("/contacts"), 401)
    _shape(api.client.get("/contacts", headers={"X-API-Key": "ll_000000000000_wrong"}), 401)
    _shape(api.call("GET", "/contacts", role="ingest-only"), 403)
    _shape(api.call("GET", "/contacts/424242"), 404)
    _shape(api.call("GET", "/no/such/endpoint"), 404)
    _shape(api.call("DELETE", "/contacts"), 405)
    api.call("POST", "/keys", json={"name": "rot", "role": "sales"})
    api.call("POST", "/keys", json={"name": "rot", "role": "sales"})
    third = api.call("POST", "/keys", json={"name": "rot", "role": "sales"})
    assert "revoke" in _shape(third, 409)["message"]
    small = make_api(api.engine, max_body_bytes=100)
    _shape(small.call("POST", "/contacts", json={"email": "x" * 200}), 413)
    bad_json = {"content-type": "application/json"}
    _shape(api.call("POST", "/contacts", content=b"{not json", headers=bad_json), 422)
    _shape(api.call("POST", f"/contacts/{cid}/stage-changes", json={"to_stage": "sql"}), 422)
    limited = make_api(api.engine, rate_limit_per_minute=1, rate_burst=1)
    limited.call("GET", "/auth/me")
    _shape(limited.call("GET", "/auth/me"), 429)


def test_an_unexpected_crash_is_a_500_in_the_shape_without_internals(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from leadledger.services import browse

    def boom(*_: object, **__: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(browse, "contact", boom)
    err = _shape(api.call("GET", "/contacts/1"), 500)
    assert "secret" not in err["message"] and err["code"] == "internal_error"

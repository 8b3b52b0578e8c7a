"""The verified-key cache: a key revoked through the API stops at once; one revoked elsewhere within
the cache's lifetime; a cached key is not looked up again."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import Engine

import leadledger.api.deps as deps
from leadledger.services.auth import revoke_key
from tests.api.conftest import make_api
from tests.conftest import NOW


def test_a_key_revoked_elsewhere_stops_within_the_cache_lifetime(engine: Engine) -> None:
    api = make_api(engine, key_cache_seconds=0.3)
    with api.client:
        assert api.call("GET", "/contacts", role="read-only").status_code == 200
        prefix = api.keys["read-only"].split("_")[1]
        revoke_key(engine, NOW + timedelta(seconds=1), prefix=prefix)  # as the CLI would
        time.sleep(0.35)
        r = api.call("GET", "/contacts", role="read-only")
        assert r.status_code == 401 and "revoked" in r.json()["error"]["message"]


def test_a_cached_key_skips_the_lookup_and_zero_disables_the_cache(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = deps.authenticate_key

    def counting(*args: object, **kw: object) -> object:
        calls.append("lookup")
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(deps, "authenticate_key", counting)
    for seconds, expected in ((60.0, 1), (0.0, 3)):
        calls.clear()
        api = make_api(engine, key_cache_seconds=seconds)
        with api.client:
            for _ in range(3):
                assert api.call("GET", "/contacts", role="read-only").status_code == 200
        assert len(calls) == expected, (seconds, calls)


def test_a_wrong_secret_with_a_valid_prefix_is_never_served_from_the_cache(engine: Engine) -> None:
    api = make_api(engine)
    with api.client:
        good = api.keys["admin"]
        assert api.call("GET", "/contacts").status_code == 200
        forged = good[:-4] + ("aaaa" if not good.endswith("aaaa") else "bbbb")
        r = api.client.get("/contacts", headers={"Authorization": f"Bearer {forged}"})
        assert r.status_code == 401

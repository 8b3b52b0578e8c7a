"""Events: idempotent by event_id, per-item results, acknowledged after commit, batch limits."""

from __future__ import annotations

from sqlalchemy import func, select

from leadledger.store.schema import contact_activity, events
from tests.api.conftest import Api, make_api, seed_contact


def _batch(n: int, email: str = "dana@acme.com", prefix: str = "ev") -> dict[str, object]:
    return {"events": [{"event_id": f"{prefix}-{i}", "email": email, "type": "page_view",
                        "occurred_at": f"2026-05-{1 + i % 28:02d}T10:00:00Z"} for i in range(n)]}


def _stored(api: Api) -> int:
    with api.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(events)).scalar_one())


def test_same_batch_twice_second_all_duplicate_nothing_written_twice(api: Api) -> None:
    seed_contact(api)
    body = _batch(50)
    first = api.call("POST", "/events:batch", json=body, role="ingest-only")
    assert first.status_code == 200 and first.json()["counts"] == {"created": 50}
    assert _stored(api) == 50  # answered after the commit: the rows are there
    with api.engine.connect() as conn:
        n_before = conn.execute(select(contact_activity.c.page_view_n)).scalar_one()
    second = api.call("POST", "/events:batch", json=body, role="ingest-only")
    assert second.status_code == 200 and second.json()["counts"] == {"duplicate": 50}
    assert [i["status"] for i in second.json()["items"]] == ["duplicate"] * 50
    assert _stored(api) == 50
    with api.engine.connect() as conn:  # the activity aggregates did not count them again
        assert conn.execute(select(contact_activity.c.page_view_n)).scalar_one() == n_before == 50


def test_per_item_results_in_order_with_reasons(api: Api) -> None:
    cid = seed_contact(api)
    body = {"events": [
        {"event_id": "a", "email": "dana@acme.com", "type": "reply", "occurred_at": "2026-05-01T10:00:00Z"},
        {"event_id": "a", "email": "dana@acme.com", "type": "reply", "occurred_at": "2026-05-01T10:00:00Z"},
        {"event_id": "b", "email": "nobody@acme.com", "type": "reply", "occurred_at": "2026-05-01T10:00:00Z"},
        {"event_id": "c", "contact_id": cid, "type": "page_vew", "occurred_at": "2026-05-01T10:00:00Z"},
        {"event_id": "d", "contact_id": cid, "type": "demo_request", "occurred_at": "2026-05-02T10:00:00Z"},
    ]}
    items = api.call("POST", "/events:batch", json=body).json()["items"]
    assert [i["status"] for i in items] == ["created", "duplicate", "rejected", "rejected", "created"]
    assert "no contact with email nobody@acme.com" in items[2]["errors"][0]["reason"]
    assert "did you mean page_view" in items[3]["errors"][0]["reason"]
    assert _stored(api) == 2


def test_single_event_201_then_200_duplicate(api: Api) -> None:
    cid = seed_contact(api)
    ev = {"event_id": "one", "contact_id": cid, "type": "form_fill", "occurred_at": "2026-05-03T09:00:00Z"}
    r1 = api.call("POST", "/events", json=ev)
    r2 = api.call("POST", "/events", json=ev)
    assert (r1.status_code, r1.json()["status"]) == (201, "created")
    assert (r2.status_code, r2.json()["status"]) == (200, "duplicate")
    assert _stored(api) == 1
    r3 = api.call("POST", "/events", json={**ev, "event_id": "two", "contact_id": None})
    assert r3.status_code == 422 and r3.json()["error"]["details"][0]["field"] == "email"


def test_batch_over_5000_is_refused_and_nothing_is_written(api: Api) -> None:
    seed_contact(api)
    r = api.call("POST", "/events:batch", json=_batch(5001))
    assert r.status_code == 422 and "events" in r.json()["error"]["message"]
    assert _stored(api) == 0


def test_body_over_the_limit_is_413(api: Api) -> None:
    small = make_api(api.engine, max_body_bytes=2_000)
    r = small.call("POST", "/events:batch", json=_batch(100))
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    assert "2,000 bytes" in r.json()["error"]["message"]
    assert _stored(api) == 0


def test_rate_limit_per_key_is_429_with_retry_after(api: Api) -> None:
    limited = make_api(api.engine, rate_limit_per_minute=60, rate_burst=3)
    codes = [limited.call("GET", "/auth/me", role="read-only").status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]
    r = limited.call("GET", "/auth/me", role="read-only")
    assert r.json()["error"]["code"] == "rate_limited" and int(r.headers["Retry-After"]) >= 1
    assert limited.call("GET", "/auth/me", role="admin").status_code == 200  # per key, not global

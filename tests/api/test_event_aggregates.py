"""Events over the API keep the activity aggregates exactly as a rebuild from the raw events would:
batches of a few types (only their columns are added to), repeats of stored ids, mixed new and
duplicate items, single events, two-way and not."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import select

from leadledger.store import activity
from leadledger.store.schema import contact_activity
from tests.api.conftest import Api, seed_contact


def _aggregates(api: Api) -> dict[int, dict[str, Any]]:
    with api.engine.connect() as conn:
        return {r.contact_id: dict(r._mapping) for r in conn.execute(select(contact_activity))}


def _event(i: int, email: str, etype: str, day: int, **extra: Any) -> dict[str, Any]:
    return {"event_id": f"agg-{i}", "email": email, "type": etype,
            "occurred_at": f"2026-04-{day:02d}T{i % 24:02d}:15:00Z", **extra}


def test_api_ingest_matches_a_rebuild_from_the_raw_events(api: Api) -> None:
    seed_contact(api, "a@acme.com")
    seed_contact(api, "b@acme.com")
    r = api.call("POST", "/events:batch", json={"events": [
        _event(i, "a@acme.com" if i % 3 else "b@acme.com", ("page_view", "email_open")[i % 2], 1 + i % 20)
        for i in range(40)]})
    assert r.status_code == 200 and r.json()["counts"] == {"created": 40}
    # A second batch: other types, 10 ids already stored, one reply marked one-way, a new contact row.
    seed_contact(api, "c@acme.com")
    second = [_event(i, "a@acme.com", "page_view", 2) for i in range(30, 40)]
    second += [_event(100 + i, ("b@acme.com", "c@acme.com")[i % 2], ("reply", "meeting_held", "call")[i % 3],
                      3 + i, **({"two_way": False} if i == 0 else {})) for i in range(12)]
    r = api.call("POST", "/events:batch", json={"events": second})
    assert r.status_code == 200 and r.json()["counts"] == {"created": 12, "duplicate": 10}
    one = api.call("POST", "/events", json=_event(500, "c@acme.com", "demo_request", 25))
    assert one.status_code == 201
    incremental = _aggregates(api)
    assert incremental[1]["page_view_n"] + incremental[1]["email_open_n"] == 26  # a@: i % 3 != 0

    with api.engine.begin() as conn:
        anchor, half_life = activity.decay_params(conn)
        activity.rebuild(conn, half_life, anchor)
    rebuilt = _aggregates(api)
    assert incremental.keys() == rebuilt.keys() == {1, 2, 3}
    for cid, row in rebuilt.items():
        for col, want in row.items():
            got = incremental[cid][col]
            if isinstance(want, float):
                assert math.isclose(got, want, rel_tol=1e-9), (cid, col, got, want)
            else:
                assert got == want, (cid, col, got, want)

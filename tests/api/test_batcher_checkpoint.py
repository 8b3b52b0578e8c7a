"""SQLite: the event writer leaves WAL checkpoints to its own thread and gives the pooled connection
back with SQLite's automatic checkpoint restored; PostgreSQL has no checkpointer."""

from __future__ import annotations

import time

from tests.api.conftest import Api, seed_contact


def test_checkpoints_run_after_commits_off_the_writer(api: Api) -> None:
    seed_contact(api)
    batcher = api.client.app.state.event_batcher  # type: ignore[attr-defined]
    body = {"events": [{"event_id": f"wal-{i}", "email": "dana@acme.com", "type": "page_view",
                        "occurred_at": "2026-05-01T10:00:00Z"} for i in range(20)]}
    assert api.call("POST", "/events:batch", json=body).json()["counts"] == {"created": 20}
    if api.engine.dialect.name != "sqlite":
        assert batcher.checkpointer is None
        return
    deadline = time.monotonic() + 5
    while batcher.checkpointer.runs == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert batcher.checkpointer.runs >= 1
    raw = api.engine.raw_connection()
    try:  # every pooled connection checkpoints automatically again outside the writer's transaction
        assert raw.cursor().execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
    finally:
        raw.close()

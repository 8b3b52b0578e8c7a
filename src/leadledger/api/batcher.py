"""Group commit for events: requests arriving together share one transaction.

A single `POST /events` costs one SQLite commit plus a handful of statements; at hundreds of
requests a second those per-request costs, not the rows, are the limit. A writer thread takes
what is queued (up to `max_items`, waiting at most `max_wait` for more once the first request is
in), stores it in one transaction through `services.ingest.ingest_events_in`, and only then answers
each request with its own items' results: acknowledged after the commit, as before.

SQLite: the writer's commits do not checkpoint the WAL themselves. A 5,000-event commit appends
≈ 13 MB to the WAL, so SQLite's automatic checkpoint (every 1,000 pages) ran inside nearly every
such commit — copying the pages into the database file and fsyncing it, 130-180 ms of waiting
per batch while holding the write lock. `WalCheckpointer` runs the same PASSIVE checkpoint on its
own thread after commits instead. Durability is unchanged: a commit is in the WAL (written, under
`synchronous=NORMAL` as before) when the request is answered; the checkpoint only moves pages
from the WAL into the main file, and a crash before it loses nothing (SQLite replays the WAL).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine

from leadledger.services.ingest import IngestResult, ingest_events_in
from leadledger.store.db import utcnow

log = logging.getLogger("leadledger.api")
AUTOCHECKPOINT_PAGES = 1000  # SQLite's default, restored on the connection after each group


@dataclass
class _Pending:
    items: Sequence[dict[str, Any]]
    future: Future[IngestResult] = field(default_factory=Future)


class WalCheckpointer:
    """SQLite: PASSIVE WAL checkpoints on a thread of their own, at most every `interval` seconds,
    after the writer said it committed (so an idle server does nothing)."""

    def __init__(self, engine: Engine, interval: float = 0.25) -> None:
        self.engine = engine
        self.interval = interval
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()
        self.runs = 0

    def poke(self) -> None:
        """The writer committed: checkpoint soon."""
        if self._thread is None or not self._thread.is_alive():
            with self._start:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._run, name="leadledger-checkpoint",
                                                     daemon=True)
                    self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            try:
                raw = self.engine.raw_connection()
                try:  # PASSIVE: never waits for readers or the writer; the next run copies what is left
                    cur = raw.cursor()
                    cur.execute("PRAGMA wal_checkpoint(PASSIVE)")
                    cur.fetchall()
                    cur.close()
                finally:
                    raw.close()
                self.runs += 1
            except Exception:  # a failed checkpoint only leaves the WAL longer; the next one retries
                log.exception("WAL checkpoint failed")
            time.sleep(self.interval)


class EventBatcher:
    """One writer thread that commits queued event requests together."""

    def __init__(self, engine: Engine, lock: threading.Lock, *, max_items: int = 10_000,
                 max_wait: float = 0.004, clock: Callable[[], datetime] = utcnow) -> None:
        self.engine = engine
        self.lock = lock
        self.max_items = max_items
        self.max_wait = max_wait
        self.clock = clock
        self._queue: queue.Queue[_Pending] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()
        self._sqlite = engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:")
        self.checkpointer = WalCheckpointer(engine) if self._sqlite else None

    def submit(self, items: Sequence[dict[str, Any]]) -> Future[IngestResult]:
        """Queue one request's events; the future resolves after their transaction committed."""
        pending = _Pending(items)
        self._ensure_thread()
        self._queue.put(pending)
        return pending.future

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._start:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="leadledger-events", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            group = [self._queue.get()]
            size = len(group[0].items)
            deadline = time.monotonic() + self.max_wait
            while size < self.max_items:
                try:
                    nxt = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if size + len(nxt.items) > self.max_items:
                    self._flush(group)
                    group, size = [nxt], len(nxt.items)
                    deadline = time.monotonic() + self.max_wait
                    continue
                group.append(nxt)
                size += len(nxt.items)
            self._flush(group)

    def _flush(self, group: list[_Pending]) -> None:
        items = [it for p in group for it in p.items]
        try:
            with self.lock, self.engine.connect() as conn:
                result = self._store(conn, items)
        except Exception as e:  # every waiting request learns of it (as a 500), none hangs
            log.exception("event batch of %d items failed", len(items))
            for p in group:
                p.future.set_exception(e)
            return
        if len(group) == 1:  # a lone request (every batch call): its results as they are
            group[0].future.set_result(result)
            return
        offset = 0
        for p in group:
            n = len(p.items)
            mine = [
                type(r)(index=r.index - offset, status=r.status, key=r.key, id=r.id, errors=r.errors)
                for r in result.items[offset : offset + n]
            ]
            p.future.set_result(IngestResult(kind="events", items=mine))
            offset += n

    def _store(self, conn: Connection, items: list[dict[str, Any]]) -> IngestResult:
        """One transaction; on SQLite without the commit-time checkpoint (see the module docstring)."""
        if self.checkpointer is None:
            with conn.begin():
                return ingest_events_in(conn, items, now=self.clock())
        # On the DB-API connection: a PRAGMA through `conn` would open SQLAlchemy's transaction.
        raw: Any = conn.connection.driver_connection
        raw.execute("PRAGMA wal_autocheckpoint=0")
        try:
            with conn.begin():
                result = ingest_events_in(conn, items, now=self.clock())
        finally:  # the pooled connection goes back as other users expect it
            raw.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")
        self.checkpointer.poke()
        return result

"""Group commit for events: requests arriving together share one transaction.

A single `POST /events` costs one SQLite commit plus a handful of statements; at hundreds of
requests a second those per-request costs, not the rows, are the limit. A writer thread takes
what is queued (up to `max_items`, waiting at most `max_wait` for more once the first request is
in), stores it in one transaction through `services.ingest.ingest_events`, and only then answers
each request with its own items' results: acknowledged after the commit, as before.
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

from sqlalchemy import Engine

from leadledger.services.ingest import IngestResult, ingest_events
from leadledger.store.db import utcnow

log = logging.getLogger("leadledger.api")


@dataclass
class _Pending:
    items: Sequence[dict[str, Any]]
    future: Future[IngestResult] = field(default_factory=Future)


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
            with self.lock:
                result = ingest_events(self.engine, items, now=self.clock())
        except Exception as e:  # every waiting request learns of it (as a 500), none hangs
            log.exception("event batch of %d items failed", len(items))
            for p in group:
                p.future.set_exception(e)
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

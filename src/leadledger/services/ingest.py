"""Records and events from the API: the CSV import's parsing, checks and loaders, one result per item."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Connection, Engine, select

from leadledger.services.auth import Actor
from leadledger.services.importing.base import ChunkResult, Context
from leadledger.services.importing.contact_ids import BYTES_PER_ROW
from leadledger.services.importing.core import LOADERS
from leadledger.services.importing.events import FUTURE_SLACK, _hint
from leadledger.services.importing.events import TYPES as EVENT_TYPES
from leadledger.services.importing.fields import KINDS
from leadledger.services.importing.mapping import ColumnPlan, load_mapping, plan_columns
from leadledger.services.importing.prepare import prepare_frame
from leadledger.services.importing.validate import LINE
from leadledger.store.activity import decay_params, default_two_way, naive_weigher
from leadledger.store.db import to_db, without_foreign_key_checks
from leadledger.store.events import contact_emails_by_id, contact_ids_by_email, store_event_rows
from leadledger.store.policies import load_active_policy
from leadledger.store.schema import accounts, contacts, events, opportunities

API_KINDS = ("accounts", "contacts", "events", "opportunities", "evidence")
KEY_SQL = {
    "accounts": (accounts.c.domain, accounts.c.id),
    "contacts": (contacts.c.email, contacts.c.id),
    "opportunities": (opportunities.c.external_id, opportunities.c.id),
    "events": (events.c.event_id, events.c.seq),
}
KEY_FIELD = {
    "accounts": "domain", "contacts": "email", "opportunities": "opportunity_id", "events": "event_id",
}
IN_CHUNK = 5_000


@dataclass(frozen=True, slots=True)
class ItemResult:
    """What happened to one item: created, updated, unchanged, duplicate or rejected (with why)."""

    index: int
    status: str
    key: str | None = None
    id: int | None = None
    errors: tuple[dict[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        d: dict[str, Any] = {"index": self.index, "status": self.status}
        if self.key is not None:
            d["key"] = self.key
        if self.id is not None:
            d["id"] = self.id
        if self.errors:
            d["errors"] = list(self.errors)
        return d


@dataclass(slots=True)
class IngestResult:
    """Per-item results and totals of one call (committed before it is returned)."""

    kind: str
    items: list[ItemResult] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """How many items ended in each status."""
        out: dict[str, int] = {}
        for i in self.items:
            out[i.status] = out.get(i.status, 0) + 1
        return out


def _text(value: Any) -> str:
    """An item's value as the CSV text the import parses."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"), default=str)
    if isinstance(value, list | tuple):
        return ",".join(_text(v) for v in value)
    return str(value)


@cache
def _plan(kind: str) -> ColumnPlan:
    names = list(KINDS[kind].names)
    return plan_columns(load_mapping(None, kind), names, Path("api"))


def _frame(kind: str, items: Sequence[dict[str, Any]]) -> pl.DataFrame:
    names = KINDS[kind].names
    data: dict[str, Any] = {LINE: list(range(1, len(items) + 1))}
    for i, name in enumerate(names):
        data[f"c{i}"] = [_text(it.get(name)) for it in items]
    return pl.DataFrame(data, schema={LINE: pl.Int64, **{f"c{i}": pl.String for i in range(len(names))}})


def _existing(conn: Any, kind: str, keys: list[str]) -> dict[str, int]:
    key_col, id_col = KEY_SQL[kind]
    found: dict[str, int] = {}
    uniq = list(dict.fromkeys(k for k in keys if k))
    for i in range(0, len(uniq), IN_CHUNK):
        chunk = uniq[i : i + IN_CHUNK]
        found.update((k, int(v)) for k, v in conn.execute(select(key_col, id_col).where(key_col.in_(chunk))))
    return found


def ingest(engine: Engine, kind: str, items: Sequence[dict[str, Any]], *, actor: Actor, now: datetime
           ) -> IngestResult:
    """Validate and store `items` of `kind` in ONE transaction, exactly as a CSV import would.

    Natural keys upsert (contacts by email, accounts by domain, opportunities by id); events are
    idempotent by event_id (a re-sent id is a `duplicate`, never stored twice); evidence is
    confirmed by the acting user or key, whatever the item says.
    """
    if kind not in API_KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    if kind == "evidence":
        items = [{**it, "confirmed_by": actor.label, "confirmed_at": it.get("confirmed_at") or now}
                 for it in items]
    plan = _plan(kind)
    raw = _frame(kind, items)
    naive_now = to_db(now) or now
    results: dict[int, ItemResult] = {}
    with engine.connect() as conn, without_foreign_key_checks(conn), conn.begin():
        ctx = Context(conn=conn, policy=load_active_policy(conn), now=naive_now, file_name=actor.label,
                      plan=plan, size_bytes=len(items) * BYTES_PER_ROW)
        loader = LOADERS[kind](ctx)
        good, rejects, _ = prepare_frame(raw, plan, loader)
        key_name = KEY_FIELD.get(kind)
        keys = good[key_name].to_list() if key_name and not good.is_empty() else []
        before = _existing(conn, kind, keys) if key_name else {}
        loaded = loader.load(good) if not good.is_empty() else ChunkResult()
        loader.finish()
        rejects = pl.concat([rejects, loaded.rejects])
        for line, fld, value, reason in rejects.iter_rows():
            prior = results.get(line)
            err = {"field": fld, "value": value or "", "reason": reason}
            results[line] = ItemResult(index=line - 1, status="rejected",
                                       errors=(*(prior.errors if prior else ()), err))
        after = _existing(conn, kind, keys) if key_name else {}
        _statuses(kind, good, before, after, results)
    return IngestResult(kind=kind, items=[results[i] for i in sorted(results)])


def _statuses(kind: str, good: pl.DataFrame, before: dict[str, int], after: dict[str, int],
              results: dict[int, ItemResult]) -> None:
    key_name = KEY_FIELD.get(kind)
    seen: set[str] = set()
    for row in good.iter_rows(named=True):
        line = row[LINE]
        if line in results:
            continue
        if key_name is None:  # evidence: stored (or already on file), no single key
            results[line] = ItemResult(index=line - 1, status="stored")
            continue
        key = row[key_name]
        if kind == "events":
            status = "duplicate" if key in before or key in seen else "created"
        else:
            status = "updated" if key in before else "created"
        seen.add(key)
        results[line] = ItemResult(index=line - 1, status=status, key=key, id=after.get(key))


def ingest_events(engine: Engine, items: Sequence[dict[str, Any]], *, now: datetime) -> IngestResult:
    """Events from the API in ONE transaction, with the import's rules, through `store.events`.

    The rules are the CSV import's (`importing.events`): a known event type (with its did-you-mean
    hint), not more than a day in the future, an existing contact, a JSON object for properties,
    the type's default direction; repeats of a stored or earlier event_id are `duplicate`. The
    rows go through the ingest path of `store.events` (staging table, de-duplication by id,
    activity aggregates), which costs a few milliseconds where the column-wise CSV pipeline
    costs tens per call.
    """
    with engine.begin() as conn:
        return ingest_events_in(conn, items, now=now)


def ingest_events_in(conn: Connection, items: Sequence[dict[str, Any]], *, now: datetime) -> IngestResult:
    """`ingest_events` inside the caller's transaction (the API's group-commit writer)."""
    results: dict[int, ItemResult] = {}
    limit = now + FUTURE_SLACK
    weight = naive_weigher(*decay_params(conn))
    for it in items:  # the contact by email (the natural key), else by id
        it["email"] = str(it.get("email") or "").strip().lower()
    ids = contact_ids_by_email(conn, sorted({it["email"] for it in items if it["email"]}))
    wanted = sorted({it["contact_id"] for it in items if not it["email"] and it.get("contact_id")})
    known = contact_emails_by_id(conn, wanted)
    for it in items:
        if not it["email"] and it.get("contact_id") in known:
            it["email"] = known[it["contact_id"]]
            ids[it["email"]] = it["contact_id"]
    rows: list[tuple[Any, ...]] = []
    first_index: dict[str, int] = {}
    for index, it in enumerate(items):
        problem = _event_problem(it, ids, limit)
        if problem is not None:
            results[index] = ItemResult(index=index, status="rejected", key=it.get("event_id"),
                                        errors=(problem,))
            continue
        event_id = str(it["event_id"])
        if event_id in first_index:
            results[index] = ItemResult(index=index, status="duplicate", key=event_id)
            continue
        first_index[event_id] = index
        occurred: datetime = it["occurred_at"]
        two_way = it.get("two_way")
        props = it.get("properties")
        offset = occurred.utcoffset()  # naive UTC: what to_db gives, without astimezone's cost
        ts = occurred.replace(tzinfo=None) - offset if offset else occurred.replace(tzinfo=None)
        rows.append((event_id, ids[it["email"]], it["type"],
                     ts.isoformat(sep=" "), default_two_way(it["type"]) if two_way is None else two_way,
                     json.dumps(props, separators=(",", ":"), default=str) if props is not None else None,
                     weight(ts)))
    if rows:
        new = store_event_rows(conn, rows)
        for event_id, index in first_index.items():
            created = event_id in new
            results[index] = ItemResult(index=index, status="created" if created else "duplicate",
                                        key=event_id, id=new.get(event_id))
    return IngestResult(kind="events", items=[results[i] for i in sorted(results)])


def _event_problem(it: dict[str, Any], ids: dict[str, int], limit: datetime) -> dict[str, str] | None:
    email = str(it.get("email") or "").strip().lower()
    etype = str(it.get("type") or "")
    occurred = it.get("occurred_at")
    if etype not in EVENT_TYPES:
        return {"field": "type", "value": etype, "reason": f"unknown event type '{etype}'{_hint(etype)}"}
    if not isinstance(occurred, datetime):
        return {"field": "occurred_at", "value": str(occurred), "reason": "not a date/time"}
    if occurred.tzinfo is None:
        it["occurred_at"] = occurred = occurred.replace(tzinfo=limit.tzinfo)
    if occurred > limit:
        return {"field": "occurred_at", "value": occurred.isoformat(),
                "reason": "occurred_at is more than 1 day in the future"}
    if not email and it.get("contact_id") is not None:
        return {"field": "contact_id", "value": str(it["contact_id"]),
                "reason": f"no contact with id {it['contact_id']}"}
    if not email:
        return {"field": "email", "value": "", "reason": "missing: an event needs email or contact_id"}
    if email not in ids:
        return {"field": "email", "value": email,
                "reason": f"no contact with email {email} — import contacts first"}
    return None


def _lookup(conn: Any, key: Any, values: list[Any]) -> dict[Any, int]:
    """{email or id: contact id} for the values that name a contact (chunked IN lists)."""
    found: dict[Any, int] = {}
    for i in range(0, len(values), IN_CHUNK):
        chunk = values[i : i + IN_CHUNK]
        found.update((k, int(c)) for k, c in conn.execute(select(key, contacts.c.id).where(key.in_(chunk))))
    return found
